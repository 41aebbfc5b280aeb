// Package storagetest provides Run, the conformance suite that every
// storage.Engine implementation must pass, and the bodies of the benchmarks
// every engine runs (BenchSetInsert, BenchLookup, …).
//
// An engine package runs both from its own tests:
//
//	func newEngine() storage.Engine { return memory.New() }
//
//	func TestConformance(t *testing.T) { storagetest.Run(t, newEngine) }
//
//	func BenchmarkLookup1M(b *testing.B) { storagetest.BenchLookup(b, newEngine, 1<<20) }
//
// The benchmarks call the engine through storage.Engine, which costs a few
// nanoseconds per call over its concrete type, alike for every engine.
//
// Beyond what the storage.Engine documentation states, the suite pins down
// three points of Scan:
//
//   - the entry for which fn returns false counts as visited, and the
//     returned cursor continues after it;
//   - a call in which fn never returns false visits everything left and
//     returns 0;
//   - on an engine that has not changed, a cursor always continues with the
//     same entries.
package storagetest

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// Run runs the conformance suite, one subtest per property. newEngine must
// return a new, empty engine on every call; each subtest makes its own.
func Run(t *testing.T, newEngine func() storage.Engine) {
	tests := []struct {
		name string
		fn   func(*testing.T, func() storage.Engine)
	}{
		{"LookupMissing", testLookupMissing},
		{"SetLookupReplace", testSetLookupReplace},
		{"SetCopies", testSetCopies},
		{"EmptyAndBinary", testEmptyAndBinary},
		{"HandedOut", testHandedOut},
		{"Delete", testDelete},
		{"SetExpire", testSetExpire},
		{"WriteAt", testWriteAt},
		{"Counts", testCounts},
		{"ScanQuiet", testScanQuiet},
		{"ScanChurn", testScanChurn},
		{"SampleExpiring", testSampleExpiring},
		{"RandomKey", testRandomKey},
		{"Clear", testClear},
		{"MemoryUsage", testMemoryUsage},
		{"Model", testModel},
		{"Objects", testObjects},
		{"FreezeObjects", testFreezeObjects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newEngine) })
	}
}

// entry is what a key is expected to hold.
type entry struct {
	value string
	exp   int64
}

// check fails t unless e holds exactly the entries of want, as seen through
// Lookup, Len, ExpiresLen and a full Scan.
func check(t *testing.T, e storage.Engine, want map[string]entry) {
	t.Helper()
	expires := 0
	for k, w := range want {
		checkLookup(t, e, k, w)
		if w.exp != storage.NoExpiry {
			expires++
		}
	}
	if got := e.Len(); got != len(want) {
		t.Errorf("Len: got %d, want %d", got, len(want))
	}
	if got := e.ExpiresLen(); got != expires {
		t.Errorf("ExpiresLen: got %d, want %d", got, expires)
	}
	if got := scanAll(t, e); !maps.Equal(got, want) {
		t.Errorf("Scan: got %d entries, want %d: %s", len(got), len(want), diff(got, want))
	}
}

// checkLookup fails t unless key holds w.
func checkLookup(t *testing.T, e storage.Engine, key string, w entry) {
	t.Helper()
	v, exp, ok := e.Lookup([]byte(key))
	if !ok || string(v) != w.value || exp != w.exp {
		t.Errorf("Lookup(%q): got %q, %d, %v; want %q, %d, true", key, abbrev(string(v)), exp, ok, abbrev(w.value), w.exp)
	}
}

// checkMissing fails t if key is present.
func checkMissing(t *testing.T, e storage.Engine, key string) {
	t.Helper()
	if v, exp, ok := e.Lookup([]byte(key)); ok {
		t.Errorf("Lookup(%q): got %q, %d, true; want absent", key, abbrev(string(v)), exp)
	}
}

// scanAll runs a complete iteration in one call and returns what it saw,
// failing t if a key is visited twice.
func scanAll(t *testing.T, e storage.Engine) map[string]entry {
	t.Helper()
	got := make(map[string]entry)
	cursor := e.Scan(0, func(k, v []byte, _ storage.Object, exp int64) bool {
		if _, dup := got[string(k)]; dup {
			t.Errorf("Scan visited %q twice", k)
		}
		got[string(k)] = entry{string(v), exp}
		return true
	})
	if cursor != 0 {
		t.Errorf("Scan with fn always true: got cursor %d, want 0", cursor)
	}
	return got
}

// abbrev shortens long values in failure messages.
func abbrev(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// diff describes the first few differences between got and want.
func diff(got, want map[string]entry) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch w := want[k]; {
		case !ok:
			lines = append(lines, fmt.Sprintf("key %q: got none, want %q, %d", k, abbrev(w.value), w.exp))
		case g != w:
			lines = append(lines, fmt.Sprintf("key %q: got %q, %d, want %q, %d", k, abbrev(g.value), g.exp, abbrev(w.value), w.exp))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("key %q: got %q, %d, want none", k, abbrev(got[k].value), got[k].exp))
		}
	}
	if len(lines) > 5 {
		lines = append(lines[:5], fmt.Sprintf("and %d more", len(lines)-5))
	}
	return strings.Join(lines, "; ")
}

func set(e storage.Engine, key, value string, exp int64) {
	e.Set([]byte(key), []byte(value), exp)
}

func testLookupMissing(t *testing.T, newEngine func() storage.Engine) {
	tests := []struct {
		name    string
		present []string
		key     string
	}{
		{"empty engine", nil, "a"},
		{"empty engine empty key", nil, ""},
		{"other key", []string{"a"}, "b"},
		{"case differs", []string{"a"}, "A"},
		{"prefix", []string{"abc"}, "ab"},
		{"extension", []string{"ab"}, "abc"},
		{"trailing zero byte", []string{"a"}, "a\x00"},
		{"empty key", []string{"a"}, ""},
		{"many others", manyKeys(1000), "key-1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			for _, k := range tt.present {
				set(e, k, "v", storage.NoExpiry)
			}
			checkMissing(t, e, tt.key)
			if got := e.Len(); got != len(tt.present) {
				t.Errorf("Len: got %d, want %d", got, len(tt.present))
			}
		})
	}
	t.Run("nil key", func(t *testing.T) {
		e := newEngine()
		if _, _, ok := e.Lookup(nil); ok {
			t.Errorf("Lookup(nil): got ok true, want false")
		}
	})
}

func manyKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	return keys
}

// op is one write in a table-driven test.
type op struct {
	key, value string
	exp        int64
}

func testSetLookupReplace(t *testing.T, newEngine func() storage.Engine) {
	long := string(bytes.Repeat([]byte("0123456789"), 100))
	tests := []struct {
		name string
		sets []op
		want map[string]entry
	}{
		{"new key", []op{{"k", "v", 0}}, map[string]entry{"k": {"v", 0}}},
		{"new key with expiry", []op{{"k", "v", 1700000000000}}, map[string]entry{"k": {"v", 1700000000000}}},
		{"negative expiry", []op{{"k", "v", -5}}, map[string]entry{"k": {"v", -5}}},
		{"replace value", []op{{"k", "v1", 0}, {"k", "v2", 0}}, map[string]entry{"k": {"v2", 0}}},
		{"replace with longer", []op{{"k", "v", 0}, {"k", long, 0}}, map[string]entry{"k": {long, 0}}},
		{"replace with shorter", []op{{"k", long, 0}, {"k", "v", 0}}, map[string]entry{"k": {"v", 0}}},
		{"replace with empty", []op{{"k", "v", 0}, {"k", "", 0}}, map[string]entry{"k": {"", 0}}},
		{"replace empty", []op{{"k", "", 0}, {"k", "v", 0}}, map[string]entry{"k": {"v", 0}}},
		{"replace same length", []op{{"k", "abc", 0}, {"k", "xyz", 0}}, map[string]entry{"k": {"xyz", 0}}},
		{"add expiry", []op{{"k", "v1", 0}, {"k", "v2", 5}}, map[string]entry{"k": {"v2", 5}}},
		{"drop expiry", []op{{"k", "v1", 5}, {"k", "v2", 0}}, map[string]entry{"k": {"v2", 0}}},
		{"change expiry", []op{{"k", "v1", 5}, {"k", "v2", 6}}, map[string]entry{"k": {"v2", 6}}},
		{"others untouched", []op{{"a", "1", 0}, {"b", "2", 7}, {"c", "3", 0}, {"b", long, 0}, {"c", "4", 8}},
			map[string]entry{"a": {"1", 0}, "b": {long, 0}, "c": {"4", 8}}},
		{"grow and shrink", []op{{"k", "v", 1}, {"k", long, 2}, {"k", long + long, 3}, {"k", "w", 4}, {"k", long, 0}},
			map[string]entry{"k": {long, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			for _, s := range tt.sets {
				set(e, s.key, s.value, s.exp)
			}
			check(t, e, tt.want)
		})
	}
}

func testSetCopies(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	key, value := []byte("key"), []byte("value")
	e.Set(key, value, 9)
	key[0], value[0] = 'X', 'X'
	checkLookup(t, e, "key", entry{"value", 9})
	checkMissing(t, e, "Xey")

	// Replacing must copy too, whether or not the new value fits in place.
	for _, v := range []string{"other", "a much longer value than before", "s"} {
		value := []byte(v)
		e.Set([]byte("key"), value, 0)
		value[0] = 'X'
		checkLookup(t, e, "key", entry{v, 0})
	}

	key = []byte("exp")
	e.Set(key, []byte("v"), 0)
	e.SetExpire(key, 3)
	key[0] = 'X'
	checkLookup(t, e, "exp", entry{"v", 3})
	check(t, e, map[string]entry{"key": {"s", 0}, "exp": {"v", 3}})
}

func testEmptyAndBinary(t *testing.T, newEngine func() storage.Engine) {
	binary := string([]byte{0, 1, 2, 0xff, 0xfe, '\r', '\n', 0})
	tests := []struct {
		name string
		sets []op
		want map[string]entry
	}{
		{"empty key", []op{{"", "v", 0}}, map[string]entry{"": {"v", 0}}},
		{"empty value", []op{{"k", "", 0}}, map[string]entry{"k": {"", 0}}},
		{"both empty", []op{{"", "", 4}}, map[string]entry{"": {"", 4}}},
		{"empty and zero byte keys differ", []op{{"", "a", 0}, {"\x00", "b", 0}, {"\x00\x00", "c", 0}},
			map[string]entry{"": {"a", 0}, "\x00": {"b", 0}, "\x00\x00": {"c", 0}}},
		{"binary key and value", []op{{binary, binary, 0}}, map[string]entry{binary: {binary, 0}}},
		{"binary keys differ in last byte", []op{{binary, "1", 0}, {binary[:len(binary)-1] + "\x01", "2", 0}},
			map[string]entry{binary: {"1", 0}, binary[:len(binary)-1] + "\x01": {"2", 0}}},
		{"replace empty key", []op{{"", "a", 0}, {"", "bb", 0}}, map[string]entry{"": {"bb", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			for _, s := range tt.sets {
				set(e, s.key, s.value, s.exp)
			}
			check(t, e, tt.want)
		})
	}
	t.Run("nil arguments", func(t *testing.T) {
		e := newEngine()
		e.Set(nil, nil, 0)
		check(t, e, map[string]entry{"": {"", 0}})
		if !e.Delete(nil) {
			t.Errorf("Delete(nil): got false, want true")
		}
		check(t, e, map[string]entry{})
	})
}

// testHandedOut checks that slices the engine hands out stay valid across
// calls that do not modify it, and that they may be passed back in.
func testHandedOut(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	for i := range 100 {
		set(e, fmt.Sprint("k", i), fmt.Sprint("value-", i), int64(i%3))
	}
	v, _, _ := e.Lookup([]byte("k7"))
	e.Lookup([]byte("k8"))
	e.Lookup([]byte("absent"))
	e.Len()
	e.ExpiresLen()
	e.Scan(0, func(_, _ []byte, _ storage.Object, _ int64) bool { return true })
	e.SampleExpiring(10, func([]byte, int64) {})
	e.RandomKey()
	e.MemoryUsage()
	if string(v) != "value-7" {
		t.Errorf("value of k7 after reads: got %q, want %q", v, "value-7")
	}

	// A value passed back in while it aliases the engine's copy.
	e.Set([]byte("k7"), v[2:], 0)
	checkLookup(t, e, "k7", entry{"lue-7", 0})
	v, _, _ = e.Lookup([]byte("k7"))
	e.Set([]byte("k8"), v, 0)
	checkLookup(t, e, "k8", entry{"lue-7", 0})
	v, _, _ = e.Lookup([]byte("k8"))
	e.Set([]byte("k8"), append(v[:len(v):len(v)], v...), 0)
	checkLookup(t, e, "k8", entry{"lue-7lue-7", 0})

	// A key from Scan used as both key and value.
	var k []byte
	e.Scan(0, func(key, _ []byte, _ storage.Object, _ int64) bool {
		k = key
		return false
	})
	name := string(k)
	e.Set(k, k, 0)
	checkLookup(t, e, name, entry{name, 0})

	// Keys from RandomKey used for every call that takes a key.
	k, _ = e.RandomKey()
	name = string(k)
	if !e.SetExpire(k, 42) {
		t.Fatalf("SetExpire(RandomKey() = %q): got false, want true", name)
	}
	k, _ = e.RandomKey()
	name = string(k)
	if !e.Delete(k) {
		t.Fatalf("Delete(RandomKey() = %q): got false, want true", name)
	}
	checkMissing(t, e, name)
	if got := e.Len(); got != 99 {
		t.Errorf("Len: got %d, want 99", got)
	}

	// A key from SampleExpiring.
	var sampled []byte
	e.SampleExpiring(1, func(key []byte, _ int64) { sampled = key })
	if sampled == nil {
		t.Fatalf("SampleExpiring(1): got no key, want one")
	}
	name = string(sampled)
	if !e.Delete(sampled) {
		t.Errorf("Delete(sampled key %q): got false, want true", name)
	}
	checkMissing(t, e, name)
}

func testDelete(t *testing.T, newEngine func() storage.Engine) {
	tests := []struct {
		name    string
		sets    []op
		deletes []string
		results []bool
		want    map[string]entry
	}{
		{"absent from empty", nil, []string{"k"}, []bool{false}, map[string]entry{}},
		{"absent", []op{{"a", "1", 0}}, []string{"b"}, []bool{false}, map[string]entry{"a": {"1", 0}}},
		{"present", []op{{"a", "1", 0}, {"b", "2", 0}}, []string{"a"}, []bool{true}, map[string]entry{"b": {"2", 0}}},
		{"twice", []op{{"a", "1", 0}}, []string{"a", "a"}, []bool{true, false}, map[string]entry{}},
		{"with expiry", []op{{"a", "1", 5}, {"b", "2", 6}}, []string{"a"}, []bool{true}, map[string]entry{"b": {"2", 6}}},
		{"last then first", []op{{"a", "1", 0}, {"b", "2", 0}, {"c", "3", 0}}, []string{"c", "a"}, []bool{true, true},
			map[string]entry{"b": {"2", 0}}},
		{"all", []op{{"a", "1", 1}, {"b", "2", 0}, {"c", "3", 3}}, []string{"b", "a", "c"}, []bool{true, true, true},
			map[string]entry{}},
		{"then set again", []op{{"a", "1", 5}}, []string{"a"}, []bool{true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			for _, s := range tt.sets {
				set(e, s.key, s.value, s.exp)
			}
			for i, k := range tt.deletes {
				if got := e.Delete([]byte(k)); got != tt.results[i] {
					t.Errorf("Delete(%q) #%d: got %v, want %v", k, i+1, got, tt.results[i])
				}
				checkMissing(t, e, k)
			}
			if tt.want == nil {
				// The key comes back without the old expiry.
				set(e, "a", "2", storage.NoExpiry)
				tt.want = map[string]entry{"a": {"2", 0}}
			}
			check(t, e, tt.want)
		})
	}
}

func testSetExpire(t *testing.T, newEngine func() storage.Engine) {
	tests := []struct {
		name   string
		sets   []op
		key    string
		exp    int64
		result bool
		want   map[string]entry
	}{
		{"absent from empty", nil, "k", 5, false, map[string]entry{}},
		{"absent", []op{{"a", "1", 0}}, "k", 5, false, map[string]entry{"a": {"1", 0}}},
		{"absent with NoExpiry", []op{{"a", "1", 0}}, "k", storage.NoExpiry, false, map[string]entry{"a": {"1", 0}}},
		{"add", []op{{"a", "1", 0}}, "a", 5, true, map[string]entry{"a": {"1", 5}}},
		{"change", []op{{"a", "1", 4}}, "a", 5, true, map[string]entry{"a": {"1", 5}}},
		{"same", []op{{"a", "1", 5}}, "a", 5, true, map[string]entry{"a": {"1", 5}}},
		{"remove", []op{{"a", "1", 4}}, "a", storage.NoExpiry, true, map[string]entry{"a": {"1", 0}}},
		{"remove when none", []op{{"a", "1", 0}}, "a", storage.NoExpiry, true, map[string]entry{"a": {"1", 0}}},
		{"others untouched", []op{{"a", "1", 4}, {"b", "2", 0}, {"c", "3", 6}}, "a", storage.NoExpiry, true,
			map[string]entry{"a": {"1", 0}, "b": {"2", 0}, "c": {"3", 6}}},
		{"empty key", []op{{"", "1", 0}}, "", 9, true, map[string]entry{"": {"1", 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			for _, s := range tt.sets {
				set(e, s.key, s.value, s.exp)
			}
			if got := e.SetExpire([]byte(tt.key), tt.exp); got != tt.result {
				t.Errorf("SetExpire(%q, %d): got %v, want %v", tt.key, tt.exp, got, tt.result)
			}
			check(t, e, tt.want)
		})
	}
}

// testCounts follows Len and ExpiresLen through a sequence of operations.
func testCounts(t *testing.T, newEngine func() storage.Engine) {
	steps := []struct {
		do                 string
		key                string
		exp                int64
		wantLen, wantExpir int
	}{
		{"set", "a", 0, 1, 0},
		{"set", "b", 10, 2, 1},
		{"set", "c", 11, 3, 2},
		{"set", "b", 12, 3, 2},                  // replace expiry with expiry
		{"set", "b", 0, 3, 1},                   // replace expiry with none
		{"set", "a", 13, 3, 2},                  // replace none with expiry
		{"expire", "a", 14, 3, 2},               // change
		{"expire", "b", 15, 3, 3},               // add
		{"expire", "c", storage.NoExpiry, 3, 2}, // remove
		{"expire", "zz", 16, 3, 2},              // absent
		{"delete", "a", 0, 2, 1},                // with expiry
		{"delete", "c", 0, 1, 1},                // without
		{"delete", "a", 0, 1, 1},                // absent
		{"set", "d", 17, 2, 2},
		{"clear", "", 0, 0, 0},
		{"set", "a", 18, 1, 1},
		{"delete", "a", 0, 0, 0},
		{"clear", "", 0, 0, 0},
	}
	e := newEngine()
	for i, s := range steps {
		switch s.do {
		case "set":
			set(e, s.key, "v", s.exp)
		case "expire":
			e.SetExpire([]byte(s.key), s.exp)
		case "delete":
			e.Delete([]byte(s.key))
		case "clear":
			e.Clear()
		}
		if got := e.Len(); got != s.wantLen {
			t.Errorf("step %d (%s %q %d): Len: got %d, want %d", i, s.do, s.key, s.exp, got, s.wantLen)
		}
		if got := e.ExpiresLen(); got != s.wantExpir {
			t.Errorf("step %d (%s %q %d): ExpiresLen: got %d, want %d", i, s.do, s.key, s.exp, got, s.wantExpir)
		}
	}
}

// fragmented returns an engine holding n keys ("k0", ...) whose history of
// inserts and deletes has left holes, with every third key expiring, and the
// expected contents.
func fragmented(newEngine func() storage.Engine, n int, r *rand.Rand) (storage.Engine, map[string]entry) {
	e := newEngine()
	want := make(map[string]entry)
	for i := range 2 * n {
		set(e, fmt.Sprint("tmp", i), "x", 0)
		if i < n {
			k := fmt.Sprint("k", i)
			exp := int64(0)
			if i%3 == 0 {
				exp = int64(1000 + i)
			}
			v := fmt.Sprint("v", i, "-", r.IntN(1000))
			set(e, k, v, exp)
			want[k] = entry{v, exp}
		}
	}
	for _, i := range r.Perm(2 * n) {
		e.Delete([]byte(fmt.Sprint("tmp", i)))
	}
	return e, want
}

func testScanQuiet(t *testing.T, newEngine func() storage.Engine) {
	t.Run("empty", func(t *testing.T) {
		e := newEngine()
		calls := 0
		if got := e.Scan(0, func(_, _ []byte, _ storage.Object, _ int64) bool { calls++; return true }); got != 0 || calls != 0 {
			t.Errorf("Scan on empty engine: got cursor %d after %d calls, want 0 after 0", got, calls)
		}
	})
	const n = 1000
	for _, stop := range []int{1, 2, 3, 10, 99, n - 1, n, n + 1} {
		t.Run(fmt.Sprintf("stop after %d", stop), func(t *testing.T) {
			e, want := fragmented(newEngine, n, rand.New(rand.NewPCG(1, uint64(stop))))
			got := make(map[string]entry)
			visits := make(map[string]int)
			cursor, calls := uint64(0), 0
			for {
				calls++
				if calls > 2*n+2 {
					t.Fatalf("iteration not complete after %d calls", calls)
				}
				seen, stopped := 0, false
				cursor = e.Scan(cursor, func(k, v []byte, _ storage.Object, exp int64) bool {
					visits[string(k)]++
					got[string(k)] = entry{string(v), exp}
					seen++
					stopped = seen == stop
					return !stopped
				})
				if !stopped && cursor != 0 {
					t.Fatalf("Scan ended with fn never returning false: got cursor %d, want 0", cursor)
				}
				if cursor == 0 {
					break
				}
			}
			for k, c := range visits {
				if c != 1 {
					t.Errorf("key %q: got %d visits, want 1", k, c)
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("Scan: got %d entries, want %d: %s", len(got), len(want), diff(got, want))
			}
			if atLeast := (n + stop - 1) / stop; calls < atLeast {
				t.Errorf("got %d Scan calls, want at least %d", calls, atLeast)
			}
		})
	}
	t.Run("resume from every cursor", func(t *testing.T) {
		// Every cursor returned along the way must, on its own, continue the
		// same iteration: restarting from it twice gives the same entries.
		e, _ := fragmented(newEngine, 100, rand.New(rand.NewPCG(2, 2)))
		cursor := uint64(0)
		for {
			var first, again []string
			next := e.Scan(cursor, func(k, _ []byte, _ storage.Object, _ int64) bool {
				first = append(first, string(k))
				return len(first) < 7
			})
			next2 := e.Scan(cursor, func(k, _ []byte, _ storage.Object, _ int64) bool {
				again = append(again, string(k))
				return len(again) < 7
			})
			if next != next2 || !slices.Equal(first, again) {
				t.Fatalf("Scan(%d) twice: got %d %q and %d %q, want equal", cursor, next, first, next2, again)
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	})
}

func testScanChurn(t *testing.T, newEngine func() storage.Engine) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			// Stable keys are written between churn keys, so that an
			// engine which moves entries to fill holes moves stable ones.
			e, stable := newEngine(), make(map[string]entry)
			var churn []string
			next := 0
			for i := range 900 {
				k := fmt.Sprint("churn", next)
				next++
				set(e, k, "c", 0)
				churn = append(churn, k)
				if i%3 == 2 {
					k := fmt.Sprint("k", len(stable))
					w := entry{fmt.Sprint("v", i), int64(r.IntN(2))}
					set(e, k, w.value, w.exp)
					stable[k] = w
				}
			}
			visited := make(map[string]bool)
			cursor, calls := uint64(0), 0
			for {
				seen := 0
				cursor = e.Scan(cursor, func(k, _ []byte, _ storage.Object, _ int64) bool {
					visited[string(k)] = true
					seen++
					return seen < 5
				})
				if cursor == 0 {
					break
				}
				if calls++; calls > 100000 {
					t.Fatalf("iteration not complete after %d calls", calls)
				}
				// Between calls: delete many other keys, add many more,
				// and rewrite stable keys in place and out of place.
				r.Shuffle(len(churn), func(i, j int) { churn[i], churn[j] = churn[j], churn[i] })
				del := r.IntN(len(churn) + 1)
				if calls%50 == 0 {
					del = len(churn)
				}
				for _, k := range churn[:del] {
					if !e.Delete([]byte(k)) {
						t.Fatalf("Delete(%q): got false, want true", k)
					}
				}
				churn = churn[del:]
				for range r.IntN(40) {
					k := fmt.Sprint("churn", next)
					next++
					set(e, k, "c", int64(r.IntN(2)))
					churn = append(churn, k)
				}
				for range 3 {
					k := fmt.Sprint("k", r.IntN(300))
					w := stable[k]
					w.value = string(bytes.Repeat([]byte("s"), r.IntN(100)))
					w.exp = int64(r.IntN(2))
					set(e, k, w.value, w.exp)
					stable[k] = w
				}
			}
			for k := range stable {
				if !visited[k] {
					t.Errorf("key %q present throughout: got no visit, want at least one", k)
				}
			}
			for _, k := range churn {
				e.Delete([]byte(k))
			}
			check(t, e, stable)
		})
	}
}

func testSampleExpiring(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	calls := 0
	e.SampleExpiring(10, func([]byte, int64) { calls++ })
	if calls != 0 {
		t.Errorf("SampleExpiring on empty engine: got %d keys, want 0", calls)
	}
	expiring := make(map[string]int64)
	for i := range 200 {
		k := fmt.Sprint("k", i)
		switch {
		case i%3 == 0:
			expiring[k] = int64(5000 + i)
			set(e, k, "v", expiring[k])
		case i%3 == 1:
			set(e, k, "v", 0)
		default:
			// Had an expiry once.
			set(e, k, "v", 1)
			e.SetExpire([]byte(k), storage.NoExpiry)
		}
	}
	for i := 200; i < 260; i++ {
		// Deleted keys that had expiries.
		k := fmt.Sprint("k", i)
		set(e, k, "v", 7)
		e.Delete([]byte(k))
	}
	set(e, "plain", "v", 0)
	if e.ExpiresLen() != len(expiring) {
		t.Fatalf("ExpiresLen: got %d, want %d", e.ExpiresLen(), len(expiring))
	}
	for _, n := range []int{-1, 0, 1, 2, 5, 67, 68, 1000} {
		t.Run(fmt.Sprint("n=", n), func(t *testing.T) {
			covered := make(map[string]bool)
			for range 3000 {
				got := 0
				e.SampleExpiring(n, func(k []byte, exp int64) {
					got++
					want, ok := expiring[string(k)]
					if !ok {
						t.Fatalf("SampleExpiring(%d): got key %q without expiry", n, k)
					}
					if exp != want {
						t.Fatalf("SampleExpiring(%d): key %q: got expiry %d, want %d", n, k, exp, want)
					}
					covered[string(k)] = true
				})
				if got > max(n, 0) {
					t.Fatalf("SampleExpiring(%d): got %d keys, want at most %d", n, got, n)
				}
				if len(covered) == len(expiring) {
					break
				}
			}
			want := len(expiring)
			if n <= 0 {
				want = 0
			}
			if len(covered) != want {
				t.Errorf("SampleExpiring(%d) over 3000 calls: got %d distinct keys, want %d", n, len(covered), want)
			}
		})
	}
}

func testRandomKey(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	if k, ok := e.RandomKey(); ok {
		t.Errorf("RandomKey on empty engine: got %q, true; want false", k)
	}
	set(e, "only", "v", 0)
	for range 100 {
		if k, ok := e.RandomKey(); !ok || string(k) != "only" {
			t.Fatalf("RandomKey with one key: got %q, %v; want %q, true", k, ok, "only")
		}
	}
	e.Delete([]byte("only"))
	if k, ok := e.RandomKey(); ok {
		t.Errorf("RandomKey after deleting the only key: got %q, true; want false", k)
	}

	tests := []struct {
		name string
		keep func(i int) bool // which of 1000 keys stay
	}{
		{"dense", func(int) bool { return true }},
		{"half", func(i int) bool { return i%2 == 0 }},
		{"sparse", func(i int) bool { return i == 17 || i == 500 || i == 998 }},
		{"first", func(i int) bool { return i == 0 }},
		{"last", func(i int) bool { return i == 999 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			want := make(map[string]bool)
			for i := range 1000 {
				set(e, fmt.Sprint("k", i), "v", 0)
			}
			for i := range 1000 {
				k := fmt.Sprint("k", i)
				if tt.keep(i) {
					want[k] = true
				} else {
					e.Delete([]byte(k))
				}
			}
			got := make(map[string]bool)
			for range 2000 {
				k, ok := e.RandomKey()
				if !ok || !want[string(k)] {
					t.Fatalf("RandomKey: got %q, %v; want a present key, true", k, ok)
				}
				got[string(k)] = true
			}
			if wantDistinct := min(len(want), 10); len(got) < wantDistinct {
				t.Errorf("RandomKey over 2000 calls: got %d distinct keys, want at least %d", len(got), wantDistinct)
			}
		})
	}
}

func testClear(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	e.Clear()
	check(t, e, map[string]entry{})
	for i := range 500 {
		set(e, fmt.Sprint("k", i), "value", int64(i%2))
	}
	e.Clear()
	check(t, e, map[string]entry{})
	checkMissing(t, e, "k1")
	if k, ok := e.RandomKey(); ok {
		t.Errorf("RandomKey after Clear: got %q, true; want false", k)
	}
	calls := 0
	e.SampleExpiring(10, func([]byte, int64) { calls++ })
	if calls != 0 {
		t.Errorf("SampleExpiring after Clear: got %d keys, want 0", calls)
	}
	if e.Delete([]byte("k1")) || e.SetExpire([]byte("k1"), 5) {
		t.Errorf("Delete or SetExpire after Clear: got true, want false")
	}
	set(e, "k1", "again", 3)
	set(e, "new", "n", 0)
	check(t, e, map[string]entry{"k1": {"again", 3}, "new": {"n", 0}})
}

func testMemoryUsage(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	empty := e.MemoryUsage()
	if empty < 0 {
		t.Errorf("MemoryUsage of empty engine: got %d, want >= 0", empty)
	}
	const n, size = 1000, 1024
	value := bytes.Repeat([]byte("v"), size)
	for i := range n {
		e.Set([]byte(fmt.Sprint("k", i)), value, 0)
	}
	full := e.MemoryUsage()
	if full <= empty+n*size/2 {
		t.Errorf("MemoryUsage holding %d bytes of values: got %d, want more than %d", n*size, full, empty+n*size/2)
	}
	e.Clear()
	if got := e.MemoryUsage(); got >= full {
		t.Errorf("MemoryUsage after Clear: got %d, want less than %d", got, full)
	}
}

// testModel compares the engine with a map over random operations.
func testModel(t *testing.T, newEngine func() storage.Engine) {
	const (
		ops      = 50000
		keySpace = 1500
		seed     = 20240601
	)
	r := rand.New(rand.NewPCG(seed, seed))
	e := newEngine()
	model := make(map[string]entry)
	key := func() string {
		i := r.IntN(keySpace)
		switch i % 7 {
		case 0:
			return fmt.Sprintf("k\x00%d\xff", i)
		case 1:
			return fmt.Sprintf("a-rather-longer-key-to-exercise-other-sizes-%d", i)
		default:
			if i == 2 {
				return ""
			}
			return fmt.Sprint("k", i)
		}
	}
	value := func() string {
		n := r.IntN(40)
		if r.IntN(20) == 0 {
			n = r.IntN(2000)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	expiry := func() int64 {
		if r.IntN(2) == 0 {
			return storage.NoExpiry
		}
		return 1 + r.Int64N(1e12)
	}
	for i := range ops {
		k := key()
		switch p := r.IntN(100); {
		case p < 40:
			w := entry{value(), expiry()}
			set(e, k, w.value, w.exp)
			model[k] = w
		case p < 60:
			_, want := model[k]
			if got := e.Delete([]byte(k)); got != want {
				t.Fatalf("op %d: Delete(%q): got %v, want %v", i, k, got, want)
			}
			delete(model, k)
		case p < 70:
			exp := expiry()
			w, want := model[k]
			if got := e.SetExpire([]byte(k), exp); got != want {
				t.Fatalf("op %d: SetExpire(%q): got %v, want %v", i, k, got, want)
			}
			if want {
				w.exp = exp
				model[k] = w
			}
		case p < 95:
			if w, ok := model[k]; ok {
				checkLookup(t, e, k, w)
			} else {
				checkMissing(t, e, k)
			}
		case p < 97:
			k, ok := e.RandomKey()
			if _, present := model[string(k)]; ok != (len(model) > 0) || ok && !present {
				t.Fatalf("op %d: RandomKey: got %q, %v; want a present key", i, k, ok)
			}
		case p < 99:
			e.SampleExpiring(r.IntN(30), func(k []byte, exp int64) {
				if w, ok := model[string(k)]; !ok || w.exp == storage.NoExpiry || w.exp != exp {
					t.Fatalf("op %d: SampleExpiring: got %q with expiry %d, want a key with that expiry", i, k, exp)
				}
			})
		default:
			if r.IntN(100) == 0 {
				e.Clear()
				clear(model)
			}
		}
		if t.Failed() {
			t.Fatalf("op %d failed (seed %d)", i, seed)
		}
		if i%2500 == 0 || i == ops-1 {
			check(t, e, model)
			if t.Failed() {
				t.Fatalf("op %d failed (seed %d)", i, seed)
			}
		}
	}
}

// testWriteAt checks WriteAt of engines that are RangeWriters: it writes
// within a string only, keeps the expiry, and changes nothing else.
func testWriteAt(t *testing.T, newEngine func() storage.Engine) {
	if _, ok := newEngine().(storage.RangeWriter); !ok {
		t.Skip("not a storage.RangeWriter")
	}
	tests := []struct {
		name  string
		key   string
		off   int
		data  string
		ok    bool
		value string // of "k" after
	}{
		{"middle", "k", 6, "WORLD", true, "hello WORLD"},
		{"start", "k", 0, "J", true, "Jello world"},
		{"to the end", "k", 10, "D", true, "hello worlD"},
		{"empty at the end", "k", 11, "", true, "hello world"},
		{"past the end", "k", 10, "DD", false, "hello world"},
		{"beyond", "k", 12, "x", false, "hello world"},
		{"negative", "k", -1, "x", false, "hello world"},
		{"absent", "missing", 0, "x", false, "hello world"},
		{"object", "obj", 0, "x", false, "hello world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			set(e, "k", "hello world", 7)
			set(e, "other", "other value", 0)
			e.SetObject([]byte("obj"), &testObject{id: 1, size: 10}, storage.NoExpiry)
			if got := e.(storage.RangeWriter).WriteAt([]byte(tt.key), tt.off, []byte(tt.data)); got != tt.ok {
				t.Errorf("WriteAt(%q, %d, %q) = %v, want %v", tt.key, tt.off, tt.data, got, tt.ok)
			}
			v, exp, ok := e.Lookup([]byte("k"))
			if !ok || string(v) != tt.value || exp != 7 {
				t.Errorf("k holds %q, expiry %d, %v; want %q, 7", v, exp, ok, tt.value)
			}
			if v, _, _ := e.Lookup([]byte("other")); string(v) != "other value" {
				t.Errorf("other holds %q", v)
			}
			if _, obj, _, ok := e.Find([]byte("obj")); !ok || obj == nil {
				t.Error("obj lost its object")
			}
			if _, _, ok := e.Lookup([]byte("missing")); ok {
				t.Error("WriteAt made a key")
			}
		})
	}
}
