package memory

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

// hashCase is a hash function for the index; nil fn means maphash.
type hashCase struct {
	name    string
	fn      func([]byte) uint32
	tooSlow bool
}

// weakHashes are hash functions that collide far more than maphash does, to
// drive the index through long probe runs, equal hashes of different keys,
// unsplittable tables and tables that grow past maxTableSize. The slowest are
// left out of the conformance run, whose key sets are larger.
var weakHashes = []hashCase{
	{"constant", func([]byte) uint32 { return 0x9e3779b9 }, true},
	{"16 values", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xf0000001 }, true},
	{"65536 values", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xff0000ff }, false},
	{"high bits only", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xffff0000 }, false},
	{"low bits only", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0x0000ffff }, false},
	{"crc32", crc32.ChecksumIEEE, false},
}

func newWithHash(fn func([]byte) uint32) *Engine {
	e := New()
	e.hashFunc = fn
	return e
}

func TestConformanceWeakHash(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the conformance suite once per hash function")
	}
	for _, h := range weakHashes {
		if h.tooSlow {
			continue
		}
		t.Run(h.name, func(t *testing.T) {
			storagetest.Run(t, func() storage.Engine { return newWithHash(h.fn) })
		})
	}
}

// checkInvariants fails t unless e's internal structures agree with each
// other.
func checkInvariants(t *testing.T, e *Engine) {
	t.Helper()

	// Slots and pages.
	if want := (int(e.nslots) + pageSize - 1) / pageSize; len(e.pages) != want {
		t.Fatalf("pages: got %d, want %d for %d slots", len(e.pages), want, e.nslots)
	}
	live, expiring, data := 0, 0, int64(0)
	for i := range e.nslots {
		if pg, j := int(i/pageSize), int(i%pageSize); j >= len(e.pages[pg]) {
			t.Fatalf("slot %d: beyond page %d of length %d", i, pg, len(e.pages[pg]))
		}
		s := e.slot(i)
		if s.p == nil {
			if *s != (slot{}) {
				t.Fatalf("free slot %d: got %+v, want zero", i, *s)
			}
			continue
		}
		live++
		data += int64(s.size)
		if s.klen+s.vlen > s.size {
			t.Fatalf("slot %d: key %d + value %d bytes in allocation of %d", i, s.klen, s.vlen, s.size)
		}
		if s.exp != storage.NoExpiry {
			expiring++
			if int(s.epos) >= len(e.expiring) || e.expiring[s.epos] != i {
				t.Fatalf("slot %d: expiry position %d does not point back", i, s.epos)
			}
		}
		if got, _, ok := e.find(s.key(), e.hash(s.key())); !ok || got != i {
			t.Fatalf("slot %d key %q: index gives %d, %v", i, s.key(), got, ok)
		}
	}
	if e.nslots > 0 && e.slot(e.nslots-1).p == nil {
		t.Fatalf("last slot %d is free", e.nslots-1)
	}
	if live != e.live {
		t.Fatalf("live slots: got %d, want Len %d", live, e.live)
	}
	if expiring != len(e.expiring) {
		t.Fatalf("slots with expiry: got %d, want %d", expiring, len(e.expiring))
	}
	if data != e.data {
		t.Fatalf("data bytes: got %d, want %d", data, e.data)
	}
	free := make(map[uint32]bool)
	for _, i := range e.free {
		if i < e.nslots && e.slot(i).p == nil {
			if free[i] {
				t.Fatalf("free slot %d listed twice", i)
			}
			free[i] = true
		}
	}
	if want := int(e.nslots) - live; len(free) != want {
		t.Fatalf("free list: got %d valid slots, want %d", len(free), want)
	}

	// Index.
	if len(e.dir) != 1<<e.depth {
		t.Fatalf("directory: got %d entries, want %d", len(e.dir), 1<<e.depth)
	}
	entries := 0
	bytes := int64(8 * len(e.dir))
	for k := 0; k < len(e.dir); {
		tb := e.dir[k]
		span := 1 << (e.depth - tb.depth)
		if k%span != 0 {
			t.Fatalf("table at directory entry %d with depth %d is misaligned", k, tb.depth)
		}
		for j := k; j < k+span; j++ {
			if e.dir[j] != tb {
				t.Fatalf("directory entries %d..%d: entry %d points elsewhere", k, k+span-1, j)
			}
		}
		bytes += tableBytes + 8*int64(len(tb.e))
		mask := uint32(len(tb.e) - 1)
		n := 0
		for pos, x := range tb.e {
			if x == 0 {
				continue
			}
			n++
			h, s := uint32(x>>32), uint32(x)-1
			if got := e.dir[h>>(32-e.depth)]; got != tb {
				t.Fatalf("hash %#x is in the wrong table", h)
			}
			if s >= e.nslots || e.slot(s).p == nil || e.hash(e.slot(s).key()) != h {
				t.Fatalf("entry %#x points at a slot that does not match", x)
			}
			for i := h & mask; i != uint32(pos); i = (i + 1) & mask {
				if tb.e[i] == 0 {
					t.Fatalf("entry %#x at %d unreachable from its home %d", x, pos, h&mask)
				}
			}
		}
		if n != tb.n {
			t.Fatalf("table count: got %d, want %d", tb.n, n)
		}
		if 4*n > 3*len(tb.e) {
			t.Fatalf("table with %d entries of %d is overfull", n, len(tb.e))
		}
		entries += n
		k += span
	}
	if entries != e.live {
		t.Fatalf("index entries: got %d, want %d", entries, e.live)
	}
	if bytes != e.indexBytes {
		t.Fatalf("index bytes: got %d, want %d", e.indexBytes, bytes)
	}
}

func TestInvariants(t *testing.T) {
	hashes := append([]hashCase{{name: "maphash"}}, weakHashes...)
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			e := newWithHash(h.fn)
			keys := 3000
			if h.tooSlow || h.name == "high bits only" {
				keys = 300
			}
			for i := range 40000 {
				k := []byte(fmt.Sprint("key", r.IntN(keys)))
				switch p := r.IntN(100); {
				case p < 50:
					e.Set(k, bytes.Repeat([]byte{'v'}, r.IntN(100)), int64(r.IntN(3)))
				case p < 90:
					e.Delete(k)
				case p < 99:
					e.SetExpire(k, int64(r.IntN(3)))
				default:
					e.Clear()
				}
				if i%1000 == 0 {
					checkInvariants(t, e)
				}
			}
			checkInvariants(t, e)
		})
	}
}

// TestGrowAndShrink fills an engine far past one index table, then empties
// it, and checks that slots, pages and index tables are given back.
func TestGrowAndShrink(t *testing.T) {
	e := New()
	const n = 100000
	for i := range n {
		e.Set(fmt.Appendf(nil, "key:%d", i), []byte("value"), int64(i%2))
	}
	checkInvariants(t, e)
	if e.depth == 0 {
		t.Errorf("index depth after %d keys: got 0, want > 0", n)
	}
	for _, tb := range e.dir {
		if len(tb.e) > maxTableSize {
			t.Fatalf("table size: got %d, want at most %d", len(tb.e), maxTableSize)
		}
	}
	full := e.MemoryUsage()

	// Deleting from the front leaves free slots that later inserts reuse.
	for i := range n / 2 {
		e.Delete(fmt.Appendf(nil, "key:%d", i))
	}
	checkInvariants(t, e)
	if e.nslots != n {
		t.Errorf("slots after deleting the first half: got %d, want %d", e.nslots, n)
	}
	for i := range n / 2 {
		e.Set(fmt.Appendf(nil, "new:%d", i), nil, 0)
	}
	if e.nslots != n {
		t.Errorf("slots after refilling: got %d, want %d", e.nslots, n)
	}
	for i := range n / 2 {
		e.Delete(fmt.Appendf(nil, "new:%d", i))
	}

	// Deleting the rest from the back shrinks the slot array as it goes.
	for i := n - 1; i >= n/2; i-- {
		e.Delete(fmt.Appendf(nil, "key:%d", i))
		if i == 3*n/4 && e.nslots != uint32(i) {
			t.Errorf("slots after deleting from the back: got %d, want %d", e.nslots, i)
		}
	}
	checkInvariants(t, e)
	if e.nslots != 0 || len(e.pages) != 0 || e.live != 0 || e.data != 0 {
		t.Errorf("empty engine: got %d slots, %d pages, %d live, %d data bytes; want 0",
			e.nslots, len(e.pages), e.live, e.data)
	}
	for _, tb := range e.dir {
		if len(tb.e) != minTableSize {
			t.Fatalf("table size when empty: got %d, want %d", len(tb.e), minTableSize)
		}
	}
	if empty := e.MemoryUsage(); empty > full/10 {
		t.Errorf("MemoryUsage when emptied: got %d, want at most a tenth of %d", empty, full)
	}
}

func TestReplaceInPlace(t *testing.T) {
	tests := []struct {
		name      string
		old, new  int // value lengths
		wantMoved bool
	}{
		{"same length", 10, 10, false},
		{"shorter", 10, 3, false},
		{"longer within size class", 10, 13, false},
		{"longer than allocation", 10, 100, true},
		{"much shorter small", 60, 0, false},
		{"much shorter large", 1000, 10, true},
		{"over half of large", 1000, 600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			key := []byte("k")
			e.Set(key, make([]byte, tt.old), 0)
			s := e.slot(0)
			before := s.p
			v := bytes.Repeat([]byte{'x'}, tt.new)
			e.Set(key, v, 0)
			if moved := s.p != before; moved != tt.wantMoved {
				t.Errorf("replace %d bytes with %d (allocation %d): got moved %v, want %v",
					tt.old, tt.new, s.size, moved, tt.wantMoved)
			}
			if got, _, _ := e.Lookup(key); !bytes.Equal(got, v) {
				t.Errorf("value: got %q, want %q", got, v)
			}
			checkInvariants(t, e)
		})
	}
}

func TestHandedOutCapacity(t *testing.T) {
	// Appending to a handed-out slice must never write into the engine.
	e := New()
	e.Set([]byte("a"), []byte("1"), 0)
	e.Set([]byte("b"), []byte("2"), 0)
	v, _, _ := e.Lookup([]byte("a"))
	_ = append(v, "overwrite"...)
	k, _ := e.RandomKey()
	_ = append(k, "overwrite"...)
	if got, _, _ := e.Lookup([]byte("a")); string(got) != "1" {
		t.Errorf("value after appending to a handed-out one: got %q, want %q", got, "1")
	}
}

func TestSampleExpiringDistinct(t *testing.T) {
	e := New()
	for i := range 97 {
		e.Set(fmt.Appendf(nil, "k%d", i), nil, int64(i+1))
	}
	for _, n := range []int{1, 2, 10, 96, 97, 98, 500} {
		for range 50 {
			seen := make(map[string]bool)
			e.SampleExpiring(n, func(k []byte, _ int64) {
				if seen[string(k)] {
					t.Fatalf("SampleExpiring(%d): key %q twice in one call", n, k)
				}
				seen[string(k)] = true
			})
			if want := min(n, 97); len(seen) != want {
				t.Fatalf("SampleExpiring(%d): got %d keys, want %d", n, len(seen), want)
			}
		}
	}
}

func TestScanCursorBeyondEnd(t *testing.T) {
	e := New()
	e.Set([]byte("a"), nil, 0)
	for _, c := range []uint64{1, 2, pageSize, 1 << 40, 1<<64 - 1} {
		calls := 0
		if got := e.Scan(c, func(_, _ []byte, _ storage.Object, _ int64) bool { calls++; return true }); got != 0 || calls != 0 {
			t.Errorf("Scan(%d): got cursor %d after %d calls, want 0 after 0", c, got, calls)
		}
	}
}

// TestUnsplittable checks that a table whose keys all share the next hash
// bit grows instead of splitting, so the directory stays small.
func TestUnsplittable(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]byte) uint32
	}{
		{"constant", func([]byte) uint32 { return 0x9e3779b9 }},
		{"top 20 bits zero", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xfff }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWithHash(tt.fn)
			const n = 2000
			for i := range n {
				e.Set(fmt.Appendf(nil, "k%d", i), nil, 0)
			}
			if e.depth != 0 {
				t.Errorf("depth: got %d, want 0", e.depth)
			}
			if got := len(e.dir[0].e); got <= maxTableSize {
				t.Errorf("table size: got %d, want more than %d", got, maxTableSize)
			}
			checkInvariants(t, e)
			for i := range n {
				if _, _, ok := e.Lookup(fmt.Appendf(nil, "k%d", i)); !ok {
					t.Fatalf("Lookup(k%d): got absent, want present", i)
				}
			}
		})
	}
}
