package object

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// withLimits runs fn with the limits l in force.
func withLimits(t *testing.T, l Limits) {
	old := CurrentLimits()
	SetLimits(l)
	t.Cleanup(func() { SetLimits(old) })
}

func seedOf(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return seed
}

// TestHashModel compares a Hash with a map over random operations, under
// limits small enough that hashes change encoding as they grow.
func TestHashModel(t *testing.T) {
	for _, l := range []Limits{DefaultLimits(), {HashMaxListpackEntries: 4, HashMaxListpackValue: 3}} {
		t.Run(fmt.Sprint(l.HashMaxListpackEntries), func(t *testing.T) {
			withLimits(t, l)
			seed := seedOf(t)
			r := rand.New(rand.NewPCG(seed, 1))
			for round := range 50 {
				h := NewHash()
				model := map[string]string{}
				var order []string
				for op := range 400 {
					f := fmt.Sprint("f", r.IntN(40))
					if r.IntN(10) == 0 {
						f = string(make([]byte, r.IntN(100)))
					}
					switch r.IntN(3) {
					case 0, 1:
						v := strconv.Itoa(r.IntN(1 << uint(r.IntN(40))))
						_, had := model[f]
						if added := h.Set([]byte(f), []byte(v)); added == had {
							t.Fatalf("seed %d round %d op %d: Set(%q) added %v, want %v", seed, round, op, f, added, !had)
						}
						if !had {
							order = append(order, f)
						}
						model[f] = v
					case 2:
						_, had := model[f]
						if got := h.Delete([]byte(f)); got != had {
							t.Fatalf("seed %d round %d op %d: Delete(%q) got %v, want %v", seed, round, op, f, got, had)
						}
						delete(model, f)
						order = slices.DeleteFunc(order, func(x string) bool { return x == f })
					}
					if h.Len() != len(model) {
						t.Fatalf("seed %d round %d op %d: Len %d, want %d", seed, round, op, h.Len(), len(model))
					}
				}
				got := map[string]string{}
				var gotOrder []string
				h.Range(func(f, v []byte) bool {
					got[string(f)] = string(v)
					gotOrder = append(gotOrder, string(f))
					return true
				})
				if !maps.Equal(got, model) {
					t.Fatalf("seed %d round %d: Range gave %v, want %v", seed, round, got, model)
				}
				for i, f := range gotOrder {
					if af, av := h.At(i); string(af) != f || string(av) != model[f] {
						t.Fatalf("seed %d round %d: At(%d) = %q, want %q", seed, round, i, af, f)
					}
					if v, ok := h.Get([]byte(f)); !ok || string(v) != model[f] {
						t.Fatalf("seed %d round %d: Get(%q) = %q %v", seed, round, f, v, ok)
					}
				}
				if h.Encoding() == EncListpack && !slices.Equal(gotOrder, order) {
					t.Fatalf("seed %d round %d: listpack order %q, want insertion order %q", seed, round, gotOrder, order)
				}
				c := h.Clone().(*Hash)
				c.Set([]byte("clone-only"), []byte("x"))
				if h.Has([]byte("clone-only")) {
					t.Fatalf("seed %d: a clone shares its fields", seed)
				}
			}
		})
	}
}

// TestHashEncodings checks the conversions Redis makes: past the number of
// entries, or for a field or value longer than the limit, and never back.
func TestHashEncodings(t *testing.T) {
	withLimits(t, Limits{HashMaxListpackEntries: 3, HashMaxListpackValue: 5})
	h := NewHash()
	for i := range 3 {
		h.Set([]byte(strconv.Itoa(i)), []byte("v"))
	}
	if got := h.Encoding(); got != EncListpack {
		t.Fatalf("3 entries: got %s, want listpack", got)
	}
	h.Set([]byte("3"), []byte("v"))
	if got := h.Encoding(); got != EncHashtable {
		t.Fatalf("4 entries: got %s, want hashtable", got)
	}
	for i := range 4 {
		h.Delete([]byte(strconv.Itoa(i)))
	}
	h.Set([]byte("a"), []byte("b"))
	if got := h.Encoding(); got != EncHashtable {
		t.Fatalf("after shrinking: got %s, want hashtable", got)
	}
	long := NewHash()
	long.Set([]byte("f"), []byte("123456"))
	if got := long.Encoding(); got != EncHashtable {
		t.Fatalf("value of 6 bytes: got %s, want hashtable", got)
	}
	// Replacing a value in a listpack, shorter and longer.
	lp := NewHash()
	lp.Set([]byte("a"), []byte("1"))
	lp.Set([]byte("b"), []byte("22"))
	lp.Set([]byte("a"), []byte("333"))
	lp.Set([]byte("b"), []byte(""))
	if v, _ := lp.Get([]byte("a")); string(v) != "333" {
		t.Fatalf("got a = %q, want 333", v)
	}
	if v, ok := lp.Get([]byte("b")); !ok || string(v) != "" {
		t.Fatalf("got b = %q %v, want empty", v, ok)
	}
}

// TestSetModel compares a Set with a map over random operations, with
// integer and other members, under small and default limits.
func TestSetModel(t *testing.T) {
	for _, l := range []Limits{DefaultLimits(), {SetMaxIntsetEntries: 5, SetMaxListpackEntries: 4, SetMaxListpackValue: 4}} {
		t.Run(fmt.Sprint(l.SetMaxIntsetEntries), func(t *testing.T) {
			withLimits(t, l)
			seed := seedOf(t)
			r := rand.New(rand.NewPCG(seed, 2))
			member := func() string {
				switch r.IntN(6) {
				case 0:
					return fmt.Sprint("m", r.IntN(30))
				case 1:
					return strconv.FormatInt(r.Int64()-1<<62, 10)
				case 2:
					return []string{"007", "-0", "+1", " 1", "1.0", "", "9223372036854775808"}[r.IntN(7)]
				}
				return strconv.Itoa(r.IntN(200) - 100)
			}
			for round := range 50 {
				s := NewSet()
				model := map[string]bool{}
				for op := range 300 {
					m := member()
					if len(model) > 0 && r.IntN(6) == 0 {
						m = setPopCheck(t, fmt.Sprintf("seed %d round %d op %d", seed, round, op), s, model, r)
					} else if r.IntN(3) < 2 {
						if got := s.Add([]byte(m)); got == model[m] {
							t.Fatalf("seed %d round %d op %d: Add(%q) = %v, member before %v", seed, round, op, m, got, model[m])
						}
						model[m] = true
					} else {
						if got := s.Remove([]byte(m)); got != model[m] {
							t.Fatalf("seed %d round %d op %d: Remove(%q) = %v, want %v", seed, round, op, m, got, model[m])
						}
						delete(model, m)
					}
					if s.Len() != len(model) {
						t.Fatalf("seed %d round %d op %d: Len %d, want %d", seed, round, op, s.Len(), len(model))
					}
					if got := s.Has([]byte(m)); got != model[m] {
						t.Fatalf("seed %d round %d op %d: Has(%q) = %v", seed, round, op, m, got)
					}
				}
				got := map[string]bool{}
				i := 0
				var prev int64
				s.Range(func(m []byte) bool {
					got[string(m)] = true
					if a := s.At(nil, i); string(a) != string(m) {
						t.Fatalf("seed %d: At(%d) = %q, Range gave %q", seed, i, a, m)
					}
					if s.Encoding() == EncIntset {
						v, _ := strconv.ParseInt(string(m), 10, 64)
						if i > 0 && v <= prev {
							t.Fatalf("seed %d: intset not sorted: %d after %d", seed, v, prev)
						}
						prev = v
					}
					i++
					return true
				})
				if !maps.Equal(got, model) {
					t.Fatalf("seed %d round %d: Range gave %v, want %v", seed, round, got, model)
				}
			}
		})
	}
}

// setPopCheck pops a random member of s, checks it against At and the
// model, from which it removes it, and returns it.
func setPopCheck(t *testing.T, where string, s *Set, model map[string]bool, r *rand.Rand) string {
	t.Helper()
	i := r.IntN(s.Len())
	want := string(s.At(nil, i))
	got := s.Pop(i)
	if string(got) != want || !model[want] {
		t.Fatalf("%s: Pop(%d) = %q, want %q (a member: %v)", where, i, got, want, model[want])
	}
	delete(model, want)
	// The popped bytes are no longer the set's.
	s.Add([]byte("popped:other"))
	s.Remove([]byte("popped:other"))
	if string(got) != want {
		t.Fatalf("%s: Pop(%d)'s member changed to %q after a write", where, i, got)
	}
	return want
}

// TestSetPopTable empties tables by pops at random positions, checking
// each member popped and, now and then, every member left and the index.
func TestSetPopTable(t *testing.T) {
	seed := seedOf(t)
	r := rand.New(rand.NewPCG(seed, 4))
	for _, n := range []int{1, 2, 300, 20000} {
		s := newTableSet(0)
		model := map[string]bool{}
		for len(model) < n {
			m := fmt.Sprint("member:", r.IntN(4*n))
			s.Add([]byte(m))
			model[m] = true
		}
		for op := 0; len(model) > 0; op++ {
			where := fmt.Sprintf("seed %d size %d pop %d", seed, n, op)
			setPopCheck(t, where, s, model, r)
			if s.Len() != len(model) || s.t().index.n != len(model) {
				t.Fatalf("%s: Len %d, indexed %d, want %d", where, s.Len(), s.t().index.n, len(model))
			}
			if op%max(n/10, 1) != 0 {
				continue
			}
			for m := range model {
				if !s.Has([]byte(m)) {
					t.Fatalf("%s: Has(%q) = false for a member", where, m)
				}
			}
		}
	}
}

// TestSetEncodings checks Redis's conversions: integers stay an intset up
// to its limit, then a table; a short string moves a small intset to a
// listpack, a long one to a table.
func TestSetEncodings(t *testing.T) {
	withLimits(t, Limits{SetMaxIntsetEntries: 4, SetMaxListpackEntries: 3, SetMaxListpackValue: 5})
	tests := []struct {
		members []string
		want    string
	}{
		{[]string{"1", "2", "3", "4"}, EncIntset},
		{[]string{"1", "2", "3", "4", "5"}, EncHashtable},
		{[]string{"1", "a"}, EncListpack},
		{[]string{"1", "2", "3", "a"}, EncHashtable},
		{[]string{"1", "abcdef"}, EncHashtable},
		{[]string{"a", "b", "c"}, EncListpack},
		{[]string{"a", "b", "c", "d"}, EncHashtable},
		{[]string{"70000", "-5", "1" + "000000000000"}, EncIntset},
	}
	for _, tt := range tests {
		s := NewSet()
		for _, m := range tt.members {
			s.Add([]byte(m))
		}
		if got := s.Encoding(); got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.members, got, tt.want)
		}
		if s.Len() != len(tt.members) {
			t.Errorf("%q: Len %d", tt.members, s.Len())
		}
	}
	if got := NewSetFor([]byte("x"), 10).Encoding(); got != EncHashtable {
		t.Errorf("NewSetFor a string and 10 members: got %s, want hashtable", got)
	}
	if got := NewSetFor([]byte("1"), 4).Encoding(); got != EncIntset {
		t.Errorf("NewSetFor an integer and 4 members: got %s, want intset", got)
	}
}

// TestParseInt checks that only canonical integers count as integers, as
// Redis's string2ll decides.
func TestParseInt(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1": true, "9223372036854775807": true, "-9223372036854775808": true,
		"": false, "-": false, "-0": false, "01": false, "+1": false, " 1": false, "1 ": false,
		"9223372036854775808": false, "1e3": false,
	} {
		if _, got := parseInt([]byte(s)); got != want {
			t.Errorf("parseInt(%q): got %v, want %v", s, got, want)
		}
	}
}

// TestCompactShrinks checks that a listpack or intset emptied by removals
// gives its buffer back, as Redis's do, so that MemoryUsage goes down with
// the elements, and that the collection stays in its encoding.
func TestCompactShrinks(t *testing.T) {
	withLimits(t, DefaultLimits())
	intset, lpSet, lpHash := NewSet(), NewSet(), NewHash()
	for i := range 120 {
		intset.Add([]byte(strconv.Itoa(i * 1000000)))
		lpSet.Add([]byte("member:" + strconv.Itoa(i)))
		lpHash.Set([]byte("field:"+strconv.Itoa(i)), []byte("value"))
	}
	for _, tc := range []struct {
		name   string
		obj    interface{ MemoryUsage() int64 }
		remove func(i int)
		enc    func() string
		want   string
	}{
		{"intset", intset, func(i int) { intset.Remove([]byte(strconv.Itoa(i * 1000000))) }, intset.Encoding, EncIntset},
		{"set listpack", lpSet, func(i int) { lpSet.Remove([]byte("member:" + strconv.Itoa(i))) }, lpSet.Encoding, EncListpack},
		{"hash listpack", lpHash, func(i int) { lpHash.Delete([]byte("field:" + strconv.Itoa(i))) }, lpHash.Encoding, EncListpack},
	} {
		full := tc.obj.MemoryUsage()
		for i := range 110 {
			tc.remove(i)
		}
		if got := tc.obj.MemoryUsage(); got > full/2 {
			t.Errorf("%s: MemoryUsage after removing 110 of 120 elements: got %d, want at most %d", tc.name, got, full/2)
		}
		for i := range 120 {
			tc.remove(i)
		}
		if got := tc.enc(); got != tc.want {
			t.Errorf("%s: encoding once empty: got %s, want %s", tc.name, got, tc.want)
		}
	}
	if intset.Len() != 0 || lpSet.Len() != 0 || lpHash.Len() != 0 {
		t.Errorf("lengths once emptied: got %d, %d, %d, want 0", intset.Len(), lpSet.Len(), lpHash.Len())
	}
}

// TestCompactGrowth checks that listpacks and intsets filled one element at
// a time keep little spare room (Redis's grow to the byte), where append
// would leave up to half of each buffer unused.
func TestCompactGrowth(t *testing.T) {
	withLimits(t, DefaultLimits())
	for n := 1; n <= 120; n++ {
		h, lp, is := NewHash(), NewSet(), NewSet()
		used := 0
		for i := range n {
			f, v := []byte("field:"+strconv.Itoa(i)), []byte("value:"+strconv.Itoa(i))
			h.Set(f, v)
			used += lpSize(len(f)) + lpSize(len(v))
			lp.Add([]byte("m" + strconv.Itoa(i)))
			is.Add([]byte(strconv.Itoa(i)))
		}
		if h.Encoding() != EncListpack || lp.Encoding() != EncListpack || is.Encoding() != EncIntset {
			t.Fatalf("%d elements: encodings %s, %s, %s", n, h.Encoding(), lp.Encoding(), is.Encoding())
		}
		for _, tc := range []struct {
			name      string
			cap, used int
		}{
			{"hash listpack", cap(h.lp()), used},
			{"set listpack", cap(lp.b()), len(lp.b())},
			{"intset", cap(is.b()), len(is.b())},
		} {
			if limit := tc.used*4/3 + 16; tc.cap > limit {
				t.Errorf("%s of %d elements: capacity %d for %d bytes, want at most %d", tc.name, n, tc.cap, tc.used, limit)
			}
		}
	}
}

// TestStructSizes checks that Hash and Set fit the bytes MemoryUsage
// charges for them, a size class of the allocator.
func TestStructSizes(t *testing.T) {
	if got := unsafe.Sizeof(Hash{}); got > hashStructBytes {
		t.Errorf("Hash: got %d bytes, want at most %d", got, hashStructBytes)
	}
	if got := unsafe.Sizeof(Set{}); got > setStructBytes {
		t.Errorf("Set: got %d bytes, want at most %d", got, setStructBytes)
	}
}

// TestTableSetUnchanged checks that adding a member a table-encoded set
// holds, or giving a field the value it holds, changes nothing and
// allocates nothing, while a new value still replaces the old.
func TestTableSetUnchanged(t *testing.T) {
	withLimits(t, DefaultLimits())
	s, h := NewSet(), NewHash()
	for i := range 1000 {
		s.Add([]byte("member:" + strconv.Itoa(i)))
		h.Set([]byte("field:"+strconv.Itoa(i)), []byte("value"))
	}
	if s.Encoding() != EncHashtable || h.Encoding() != EncHashtable {
		t.Fatalf("encodings: got %s, %s, want hashtable", s.Encoding(), h.Encoding())
	}
	member, field, value := []byte("member:7"), []byte("field:7"), []byte("value")
	sBefore, hBefore := s.MemoryUsage(), h.MemoryUsage()
	if n := testing.AllocsPerRun(100, func() {
		if s.Add(member) || h.Set(field, value) {
			t.Fatal("an existing member or field reported as new")
		}
	}); n != 0 {
		t.Errorf("SADD of a member and HSET of the same value: %v allocations, want 0", n)
	}
	if s.MemoryUsage() != sBefore || h.MemoryUsage() != hBefore || s.Len() != 1000 || h.Len() != 1000 {
		t.Errorf("after unchanged adds: memory %d, %d (was %d, %d), lengths %d, %d", s.MemoryUsage(), h.MemoryUsage(), sBefore, hBefore, s.Len(), h.Len())
	}
	if h.Set(field, []byte("other")) {
		t.Error("HSET of a new value reported a new field")
	}
	if v, _ := h.Get(field); string(v) != "other" {
		t.Errorf("after HSET of a new value: got %q, want other", v)
	}
}

// TestTableWidePositions checks a table whose index keeps no hash bits,
// as it does past 16M elements, against a map over random operations, and
// that the index holds one slot per element.
func TestTableWidePositions(t *testing.T) {
	withLimits(t, DefaultLimits())
	seed := seedOf(t)
	r := rand.New(rand.NewPCG(seed, 7))
	h := NewHash()
	model := map[string]string{}
	for i := range 200 {
		f, v := fmt.Sprint("f", i), fmt.Sprint(i)
		h.Set([]byte(f), []byte(v))
		model[f] = v
	}
	if h.t() == nil {
		t.Fatal("200 fields: not a table")
	}
	h.t().index.posBits = 32
	h.t().reindex()
	for op := range 5000 {
		f := fmt.Sprint("f", r.IntN(400))
		if r.IntN(3) == 0 {
			_, had := model[f]
			if got := h.Delete([]byte(f)); got != had {
				t.Fatalf("seed %d op %d: Delete(%q) = %v, want %v", seed, op, f, got, had)
			}
			delete(model, f)
		} else {
			v := fmt.Sprint(r.IntN(1000))
			h.Set([]byte(f), []byte(v))
			model[f] = v
		}
		if h.Len() != len(model) || h.t().index.n != len(model) || h.t().index.posBits != 32 {
			t.Fatalf("seed %d op %d: Len %d, indexed %d, want %d (position bits %d)", seed, op, h.Len(), h.t().index.n, len(model), h.t().index.posBits)
		}
	}
	for f, v := range model {
		if got, ok := h.Get([]byte(f)); !ok || string(got) != v {
			t.Fatalf("seed %d: Get(%q) = %q %v, want %q", seed, f, got, ok, v)
		}
	}
}
