package arena

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

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
// drive the index through long runs, equal hashes of different keys,
// unsplittable tables, tables that grow past maxTableSize, and homes
// crowded at either end of a table ("low bits only" puts every key of a
// table at its first position, the index's worst case). The slowest are
// left out of the conformance run, whose key sets are larger.
var weakHashes = []hashCase{
	{"constant", func([]byte) uint32 { return 0x9e3779b9 }, true},
	{"constant at the end", func([]byte) uint32 { return 0xffffffff }, true},
	{"16 values", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xf0000001 }, true},
	{"65536 values", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xff0000ff }, false},
	{"high bits only", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0xffff0000 }, false},
	{"low bits only", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) & 0x0000ffff }, false},
	{"low bits set", func(k []byte) uint32 { return crc32.ChecksumIEEE(k) | 0x0000ffff }, false},
	{"crc32", crc32.ChecksumIEEE, false},
}

func newWithHash(fn func([]byte) uint32) *Engine {
	e := New()
	e.hashFunc = fn
	return e
}

func TestConformanceWeakHash(t *testing.T) {
	if testing.Short() || raceEnabled {
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

// scaled returns n, or a tenth of it under the race detector.
func scaled(n int) int {
	if raceEnabled {
		return n / 10
	}
	return n
}

// span is the place of one entry in a chunk.
type span struct{ off, size int }

// checkInvariants fails t unless e's internal structures agree with each
// other.
func checkInvariants(t *testing.T, e *Engine) {
	t.Helper()

	// Slots and pages.
	if want := (int(e.nslots) + pageSize - 1) / pageSize; len(e.pages) != want {
		t.Fatalf("pages: got %d, want %d for %d slots", len(e.pages), want, e.nslots)
	}
	pageBytes := int64(0)
	for _, p := range e.pages {
		pageBytes += 8 * int64(cap(p))
	}
	if pageBytes != e.pageBytes {
		t.Fatalf("page bytes: got %d, want %d", e.pageBytes, pageBytes)
	}
	live := 0
	spans := make(map[int][]span)
	for i := range e.nslots {
		if pg, j := int(i/pageSize), int(i%pageSize); j >= len(e.pages[pg]) {
			t.Fatalf("slot %d: beyond page %d of length %d", i, pg, len(e.pages[pg]))
		}
		s := *e.slot(i)
		if s == 0 {
			continue
		}
		live++
		if s&expFlag != 0 {
			pos := uint32(s)
			if s&^expFlag != uint64(pos) || int(pos) >= len(e.exps) || e.exps[pos].slot != i {
				t.Fatalf("slot %d: expiry position %#x does not point back", i, s)
			}
		} else if s>>32 == 0 {
			t.Fatalf("slot %d: location %#x has no chunk", i, s)
		}
		loc := e.locOf(s)
		c, off := splitLoc(loc)
		if c < 0 || c >= len(e.chunks) || e.chunks[c].b == nil {
			t.Fatalf("slot %d: location %#x in no chunk", i, loc)
		}
		ch := &e.chunks[c]
		size := entrySize(ch.b[off:])
		if off+size > len(ch.b) {
			t.Fatalf("slot %d: entry at %d of %d bytes past the end of chunk %d (%d bytes)", i, off, size, c, len(ch.b))
		}
		if ch.huge && (off != 0 || size <= hugeEntry) {
			t.Fatalf("slot %d: entry at %d of %d bytes in a huge chunk", i, off, size)
		}
		if !ch.huge && size > hugeEntry {
			t.Fatalf("slot %d: entry of %d bytes in a shared chunk", i, size)
		}
		if ch.evac && (!e.sweeping || i < e.sweepPos) {
			t.Fatalf("slot %d: in chunk %d marked for evacuation, sweeping %v at %d", i, c, e.sweeping, e.sweepPos)
		}
		spans[c] = append(spans[c], span{off, size})
		k, _ := e.entry(loc)
		if got, _, _, _, ok := e.find(k, e.hash(k)); !ok || got != i {
			t.Fatalf("slot %d key %q: index gives %d, %v", i, k, got, ok)
		}
	}
	if e.nslots > 0 && *e.slot(e.nslots - 1) == 0 {
		t.Fatalf("last slot %d is free", e.nslots-1)
	}
	if live != e.live {
		t.Fatalf("live slots: got %d, want Len %d", live, e.live)
	}
	for pos, x := range e.exps {
		if x.slot >= e.nslots || *e.slot(x.slot) != expFlag|uint64(pos) {
			t.Fatalf("expiry record %d: slot %d does not point back", pos, x.slot)
		}
		if x.at == storage.NoExpiry {
			t.Fatalf("expiry record %d: no expiry", pos)
		}
	}
	free := make(map[uint32]bool)
	for _, i := range e.free {
		if i < e.nslots && *e.slot(i) == 0 {
			if free[i] {
				t.Fatalf("free slot %d listed twice", i)
			}
			free[i] = true
		}
	}
	if want := int(e.nslots) - live; len(free) != want {
		t.Fatalf("free list: got %d valid slots, want %d", len(free), want)
	}

	// Chunks.
	var chunkBytes, chunkLive, hugeBytes int64
	spare := make(map[uint32]bool)
	for _, c := range e.spare {
		spare[c] = true
	}
	if len(spare) != len(e.spare) {
		t.Fatalf("spare chunk numbers listed twice: %v", e.spare)
	}
	for c := range e.chunks {
		ch := &e.chunks[c]
		if ch.b == nil {
			if !spare[uint32(c)] || ch.live != 0 || ch.huge || ch.evac {
				t.Fatalf("free chunk %d: got %+v, spare %v", c, *ch, spare[uint32(c)])
			}
			continue
		}
		if spare[uint32(c)] {
			t.Fatalf("chunk %d in use and spare", c)
		}
		sp := spans[c]
		slices.SortFunc(sp, func(a, b span) int { return cmp.Compare(a.off, b.off) })
		sum, end := 0, 0
		for _, s := range sp {
			if s.off < end {
				t.Fatalf("chunk %d: entries overlap at %d", c, s.off)
			}
			end = s.off + s.size
			sum += s.size
		}
		if sum != ch.live {
			t.Fatalf("chunk %d: live bytes: got %d, want %d", c, ch.live, sum)
		}
		switch {
		case ch.huge:
			if len(sp) != 1 || ch.evac || c == e.cur {
				t.Fatalf("huge chunk %d: %d entries, evac %v, current %v", c, len(sp), ch.evac, c == e.cur)
			}
			hugeBytes += int64(cap(ch.b))
		default:
			if ch.live == 0 && c != e.cur {
				t.Fatalf("chunk %d: empty and kept", c)
			}
			if ch.evac && (c == e.cur || !e.sweeping) {
				t.Fatalf("chunk %d: marked, current %v, sweeping %v", c, c == e.cur, e.sweeping)
			}
			chunkBytes += int64(cap(ch.b))
			chunkLive += int64(ch.live)
		}
	}
	if len(spare) != 0 && slices.Max(e.spare) >= uint32(len(e.chunks)) {
		t.Fatalf("spare chunk number beyond %d chunks: %v", len(e.chunks), e.spare)
	}
	if e.cur != noChunk && (e.cur >= len(e.chunks) || e.chunks[e.cur].b == nil || e.chunks[e.cur].huge) {
		t.Fatalf("current chunk %d is not a shared chunk", e.cur)
	}
	if chunkBytes != e.chunkBytes || chunkLive != e.chunkLive || hugeBytes != e.hugeBytes {
		t.Fatalf("chunk bytes %d, live %d, huge %d: want %d, %d, %d",
			e.chunkBytes, e.chunkLive, e.hugeBytes, chunkBytes, chunkLive, hugeBytes)
	}

	// Index.
	if len(e.dir) != 1<<e.depth {
		t.Fatalf("directory: got %d entries, want %d", len(e.dir), 1<<e.depth)
	}
	entries := 0
	indexBytes := int64(unsafe.Sizeof((*table)(nil))) * int64(len(e.dir))
	for k := 0; k < len(e.dir); {
		tb := e.dir[k]
		width := 1 << (e.depth - tb.depth)
		if k%width != 0 {
			t.Fatalf("table at directory entry %d with depth %d is misaligned", k, tb.depth)
		}
		for j := k; j < k+width; j++ {
			if e.dir[j] != tb {
				t.Fatalf("directory entries %d..%d: entry %d points elsewhere", k, k+width-1, j)
			}
		}
		indexBytes += tableBytes + 8*int64(len(tb.e))
		if len(tb.e) <= int(tb.size) || tb.e[len(tb.e)-1] != 0 {
			t.Fatalf("table of %d positions and %d entries: no empty overflow end", tb.size, len(tb.e))
		}
		n := 0
		prev := uint64(0)
		for pos, x := range tb.e {
			if x == 0 {
				continue
			}
			n++
			if x <= prev {
				t.Fatalf("entry %#x at %d after %#x: not sorted", x, pos, prev)
			}
			prev = x
			h, s := uint32(x>>32), uint32(x)-1
			if got := e.dir[h>>(32-e.depth)]; got != tb {
				t.Fatalf("hash %#x is in the wrong table", h)
			}
			if s >= e.nslots || *e.slot(s) == 0 {
				t.Fatalf("entry %#x points at a free slot", x)
			}
			if k, _ := e.entry(e.locOf(*e.slot(s))); e.hash(k) != h {
				t.Fatalf("entry %#x points at a slot whose key has another hash", x)
			}
			home := tb.home(h)
			if home > pos {
				t.Fatalf("entry %#x at %d before its home %d", x, pos, home)
			}
			for i := home; i < pos; i++ {
				if tb.e[i] == 0 {
					t.Fatalf("entry %#x at %d unreachable from its home %d", x, pos, home)
				}
			}
		}
		if n != tb.n {
			t.Fatalf("table count: got %d, want %d", tb.n, n)
		}
		if 8*n > 7*int(tb.size) {
			t.Fatalf("table with %d entries for %d positions is overfull", n, tb.size)
		}
		entries += n
		k += width
	}
	if entries != e.live {
		t.Fatalf("index entries: got %d, want %d", entries, e.live)
	}
	if indexBytes != e.indexBytes {
		t.Fatalf("index bytes: got %d, want %d", e.indexBytes, indexBytes)
	}

}

// model is what an engine is expected to hold.
type model map[string]entry

type entry struct {
	value string
	exp   int64
}

// checkModel fails t unless e holds exactly m, through Lookup and Scan.
func checkModel(t *testing.T, e *Engine, m model) {
	t.Helper()
	for k, w := range m {
		v, exp, ok := e.Lookup([]byte(k))
		if !ok || string(v) != w.value || exp != w.exp {
			t.Fatalf("Lookup(%q): got %d bytes, %d, %v; want %d bytes, %d, true", k, len(v), exp, ok, len(w.value), w.exp)
		}
	}
	got := make(model)
	e.Scan(0, func(k, v []byte, _ storage.Object, exp int64) bool {
		got[string(k)] = entry{string(v), exp}
		return true
	})
	if !maps.Equal(got, m) || e.Len() != len(m) {
		t.Fatalf("Scan: got %d entries, Len %d, want %d", len(got), e.Len(), len(m))
	}
}

// value returns n bytes that depend on seed.
func value(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed + i*7)
	}
	return b
}

func TestInvariants(t *testing.T) {
	hashes := append([]hashCase{{name: "maphash"}}, weakHashes...)
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 7))
			e := newWithHash(h.fn)
			m := make(model)
			keys := 3000
			if h.tooSlow || h.name == "high bits only" {
				keys = 300
			}
			for i := range scaled(40000) {
				k := fmt.Sprint("key", r.IntN(keys))
				switch p := r.IntN(100); {
				case p < 50:
					n := r.IntN(100)
					switch r.IntN(50) {
					case 0:
						n = 200 + r.IntN(5000)
					case 1:
						n = hugeEntry - 10 + r.IntN(20)
					}
					w := entry{string(value(n, i)), int64(r.IntN(3))}
					e.Set([]byte(k), []byte(w.value), w.exp)
					m[k] = w
				case p < 90:
					e.Delete([]byte(k))
					delete(m, k)
				case p < 99:
					exp := int64(r.IntN(3))
					if w, ok := m[k]; ok {
						w.exp = exp
						m[k] = w
					}
					e.SetExpire([]byte(k), exp)
				default:
					e.Clear()
					clear(m)
				}
				if i%1000 == 0 {
					checkInvariants(t, e)
					checkModel(t, e, m)
				}
			}
			checkInvariants(t, e)
			checkModel(t, e, m)
		})
	}
}

// TestCompaction overwrites and deletes entries many times over and checks
// that the chunks stay within a bound of the live bytes, that every entry
// survives being moved, and that slot numbers do not change.
func TestCompaction(t *testing.T) {
	tests := []struct {
		name     string
		keys     int
		rounds   int
		size     func(r *rand.Rand) int
		deleteTo int // keys left at the end
	}{
		{"same size", scaled(20000), 10, func(*rand.Rand) int { return 16 }, scaled(2000)},
		{"growing", scaled(5000), 10, func(r *rand.Rand) int { return 10 + r.IntN(200) }, scaled(100)},
		{"mixed with large", scaled(2000), 10, func(r *rand.Rand) int {
			if r.IntN(10) == 0 {
				return 1000 + r.IntN(20000)
			}
			return r.IntN(50)
		}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			e := New()
			m := make(model)
			slotOf := make(map[string]uint32)
			maxGarbage := func() {
				t.Helper()
				// Garbage stays below a quarter of the chunk bytes between
				// sweeps; during one, the chunks it empties may fill with
				// garbage too, up to its budget.
				if g := e.garbage(); g > 2*maxChunk+minSweepGarbage && g > e.chunkLive {
					for c, ch := range e.chunks {
						t.Logf("chunk %d: cap %d len %d live %d evac %v huge %v cur %v", c, cap(ch.b), len(ch.b), ch.live, ch.evac, ch.huge, c == e.cur)
					}
					t.Fatalf("garbage %d of %d chunk bytes (%d live), sweeping %v at %d of %d, reclaim %d, sweeps %d", g, e.chunkBytes, e.chunkLive, e.sweeping, e.sweepPos, e.nslots, e.reclaim, e.sweeps)
				}
			}
			for round := range tt.rounds {
				for _, i := range r.Perm(tt.keys) {
					k := fmt.Sprint("key:", i)
					v := value(tt.size(r), round+i)
					e.Set([]byte(k), v, int64(i%3))
					m[k] = entry{string(v), int64(i % 3)}
					maxGarbage()
				}
				if round == 0 {
					for k := range m {
						i, _, _, _, _ := e.find([]byte(k), e.hash([]byte(k)))
						slotOf[k] = i
					}
				}
				checkInvariants(t, e)
			}
			for k, i := range slotOf {
				if got, _, _, _, _ := e.find([]byte(k), e.hash([]byte(k))); got != i {
					t.Fatalf("key %q: slot %d after compaction, want %d", k, got, i)
				}
			}
			checkModel(t, e, m)
			full := e.MemoryUsage()

			for _, i := range r.Perm(tt.keys)[tt.deleteTo:] {
				k := fmt.Sprint("key:", i)
				e.Delete([]byte(k))
				delete(m, k)
				maxGarbage()
			}
			checkInvariants(t, e)
			checkModel(t, e, m)
			if e.sweeps == 0 {
				t.Errorf("no sweep ran")
			}
			if got := e.chunkBytes; got > 2*e.chunkLive+minSweepGarbage+maxChunk {
				t.Errorf("after deleting all but %d keys: %d chunk bytes for %d live", tt.deleteTo, got, e.chunkLive)
			}
			if got := e.MemoryUsage(); got > full/2 {
				t.Errorf("MemoryUsage after deleting all but %d of %d keys: got %d, want at most half of %d", tt.deleteTo, tt.keys, got, full)
			}
		})
	}
}

// TestSweepStep checks that a sweep over many slots is spread over many
// calls, and that the chunks it marked are gone when it ends.
func TestSweepStep(t *testing.T) {
	e := New()
	n := scaled(200000)
	for i := range n {
		e.Set(fmt.Appendf(nil, "key:%d", i), []byte("value"), 0)
	}
	// Deleting every other key leaves every chunk half garbage.
	calls := 0
	for i := 0; i < n && !e.sweeping; i += 2 {
		e.Delete(fmt.Appendf(nil, "key:%d", i))
	}
	if !e.sweeping {
		t.Fatalf("no sweep after deleting half the keys")
	}
	var marked []int
	for c := range e.chunks {
		if e.chunks[c].evac {
			marked = append(marked, c)
		}
	}
	if len(marked) == 0 {
		t.Fatalf("sweep running with no marked chunk")
	}
	for e.sweeping {
		before := e.sweepPos
		e.Set([]byte("churn"), []byte("v"), 0)
		e.Delete([]byte("churn"))
		calls++
		if moved := e.sweepPos - before; moved > 4*stepSlots {
			t.Fatalf("one Set and Delete visited %d slots, want at most %d", moved, 4*stepSlots)
		}
	}
	if calls < n/2/(4*stepSlots) {
		t.Errorf("sweep over %d slots ended after %d calls", e.nslots, calls)
	}
	for _, c := range marked {
		if e.chunks[c].evac {
			t.Fatalf("chunk %d still marked after the sweep", c)
		}
	}
	checkInvariants(t, e)
}

func TestHugeValues(t *testing.T) {
	big := value(3*maxChunk, 1)      // larger than any chunk
	large := value(hugeEntry+100, 2) // just over the huge threshold
	steps := []struct {
		key, value []byte
		wantHuge   bool
	}{
		{[]byte("a"), big, true},
		{[]byte("b"), large, true},
		{[]byte("a"), big[:len(big)-1000], true}, // in place
		{[]byte("a"), []byte("small"), false},
		{[]byte("b"), big, true},
		{[]byte("c"), value(hugeEntry-10, 3), false},
		{[]byte("c"), large, true},
		{[]byte("c"), large[:len(large)/3], false},
		{bytes.Repeat([]byte("k"), hugeEntry), []byte("v"), true},
	}
	e := New()
	m := make(model)
	for i, s := range steps {
		e.Set(s.key, s.value, 0)
		m[string(s.key)] = entry{string(s.value), 0}
		_, _, loc, _, _ := e.find(s.key, e.hash(s.key))
		c, _ := splitLoc(loc)
		if got := e.chunks[c].huge; got != s.wantHuge {
			t.Errorf("step %d: %d-byte key, %d-byte value: got huge %v, want %v", i, len(s.key), len(s.value), got, s.wantHuge)
		}
		checkInvariants(t, e)
		checkModel(t, e, m)
	}
	for _, s := range steps {
		e.Delete(s.key)
	}
	checkInvariants(t, e)
	if e.hugeBytes != 0 || e.live != 0 {
		t.Errorf("after deleting all: got %d huge bytes, %d live; want 0", e.hugeBytes, e.live)
	}
}

func TestBinaryKeys(t *testing.T) {
	e := New()
	m := make(model)
	// Lengths on both sides of the varint widths.
	lengths := []int{0, 1, 2, 127, 128, 129, 255, 256, 16383, 16384, 16385}
	for i, kl := range lengths {
		for j, vl := range lengths {
			k := value(kl, i*31+j)
			if kl > 0 {
				k[0] = byte(i)
				k[kl-1] = byte(j)
			}
			k = append(k, byte(kl), byte(vl))
			v := value(vl, i+j)
			e.Set(k, v, int64(i-j))
			m[string(k)] = entry{string(v), int64(i - j)}
		}
	}
	for b := range 256 {
		k := []byte{byte(b)}
		e.Set(k, k, 0)
		m[string(k)] = entry{string(k), 0}
	}
	checkInvariants(t, e)
	checkModel(t, e, m)
	for k := range m {
		for _, other := range []string{k + "\x00", k[:len(k)/2], "\x00" + k} {
			if _, ok := m[other]; ok {
				continue
			}
			if _, _, ok := e.Lookup([]byte(other)); ok {
				t.Fatalf("Lookup(%q): got present, want absent", other)
			}
		}
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
		{"empty", 10, 0, false},
		{"longer", 10, 11, true},
		{"shorter length width", 200, 5, false},
		{"much shorter", 2000, 1, false},
		{"huge shorter", 2 * hugeEntry, 2*hugeEntry - 100, false},
		{"huge to less than half", 4 * hugeEntry, 2*hugeEntry - 100, true},
		{"huge longer", 2 * hugeEntry, 2*hugeEntry + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			key := []byte("k")
			e.Set([]byte("before"), []byte("x"), 0)
			e.Set(key, value(tt.old, 1), 0)
			e.Set([]byte("after"), []byte("y"), 0)
			_, _, before, _, _ := e.find(key, e.hash(key))
			v := value(tt.new, 2)
			e.Set(key, v, 0)
			_, _, after, _, _ := e.find(key, e.hash(key))
			if moved := after != before; moved != tt.wantMoved {
				t.Errorf("replace %d bytes with %d: got moved %v, want %v", tt.old, tt.new, moved, tt.wantMoved)
			}
			checkModel(t, e, model{"k": {string(v), 0}, "before": {"x", 0}, "after": {"y", 0}})
			checkInvariants(t, e)
			// Compaction rewrites the length at its own width.
			if e.cur != noChunk {
				e.retire()
			}
			for c := range e.chunks {
				if ch := &e.chunks[c]; ch.b != nil && !ch.huge {
					ch.evac = true
					e.reclaim += int64(cap(ch.b) - ch.live)
				}
			}
			e.sweeping, e.sweepPos = true, 0
			e.step(0)
			checkModel(t, e, model{"k": {string(v), 0}, "before": {"x", 0}, "after": {"y", 0}})
			checkInvariants(t, e)
		})
	}
}

func TestVarint(t *testing.T) {
	for _, v := range []int{0, 1, 127, 128, 300, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, MaxEntrySize} {
		for w := uvarintLen(v); w <= 5; w++ {
			b := make([]byte, w+1)
			putUvarintWidth(b, v, w)
			if got, gw := uvarint(b); got != v || gw != w {
				t.Errorf("varint %d in %d bytes: got %d in %d", v, w, got, gw)
			}
		}
	}
}

// TestGrowAndShrink fills an engine far past one index table, then empties
// it, and checks that slots, pages, chunks and index tables are given back.
func TestGrowAndShrink(t *testing.T) {
	e := New()
	n := scaled(100000)
	for i := range n {
		e.Set(fmt.Appendf(nil, "key:%d", i), []byte("value"), int64(i%2))
	}
	checkInvariants(t, e)
	if e.depth == 0 {
		t.Errorf("index depth after %d keys: got 0, want > 0", n)
	}
	for _, tb := range e.dir {
		if tb.size > maxTableSize {
			t.Fatalf("table size: got %d, want at most %d", tb.size, maxTableSize)
		}
	}
	if per := float64(e.indexBytes) / float64(n); per > 12 {
		t.Errorf("index bytes per key: got %.1f, want at most 12", per)
	}
	full := e.MemoryUsage()

	// Deleting from the front leaves free slots that later inserts reuse.
	for i := range n / 2 {
		e.Delete(fmt.Appendf(nil, "key:%d", i))
	}
	checkInvariants(t, e)
	if e.nslots != uint32(n) {
		t.Errorf("slots after deleting the first half: got %d, want %d", e.nslots, n)
	}
	for i := range n / 2 {
		e.Set(fmt.Appendf(nil, "new:%d", i), nil, 0)
	}
	if e.nslots != uint32(n) {
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
	if e.nslots != 0 || len(e.pages) != 0 || e.live != 0 || e.chunkLive != 0 {
		t.Errorf("empty engine: got %d slots, %d pages, %d live, %d live bytes; want 0",
			e.nslots, len(e.pages), e.live, e.chunkLive)
	}
	for _, tb := range e.dir {
		if tb.size != minTableSize {
			t.Fatalf("table size when empty: got %d, want %d", tb.size, minTableSize)
		}
	}
	if empty := e.MemoryUsage(); empty > full/10 {
		t.Errorf("MemoryUsage when emptied: got %d, want at most a tenth of %d", empty, full)
	}
}

// TestUnsplittable checks that a table whose keys all share the next hash
// bit grows instead of splitting, so the directory stays small.
func TestUnsplittable(t *testing.T) {
	if raceEnabled {
		t.Skip("slow: every key of these hashes collides")
	}
	tests := []struct {
		name string
		fn   func([]byte) uint32
	}{
		{"constant", func([]byte) uint32 { return 0x9e3779b9 }},
		{"constant at the end", func([]byte) uint32 { return 0xffffffff }},
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
			if got := e.dir[0].size; got <= maxTableSize {
				t.Errorf("table size: got %d, want more than %d", got, maxTableSize)
			}
			checkInvariants(t, e)
			for i := range n {
				if _, _, ok := e.Lookup(fmt.Appendf(nil, "k%d", i)); !ok {
					t.Fatalf("Lookup(k%d): got absent, want present", i)
				}
			}
			for i := range n {
				e.Delete(fmt.Appendf(nil, "k%d", i))
			}
			checkInvariants(t, e)
		})
	}
}

// TestMemoryUsageFollowsDeletes checks that MemoryUsage goes down as keys
// are deleted, well before compaction releases a chunk, so that eviction
// stops once it has deleted what it needs to.
func TestMemoryUsageFollowsDeletes(t *testing.T) {
	e := New()
	n := scaled(100000)
	for i := range n {
		e.Set(fmt.Appendf(nil, "key:%012d", i), fmt.Appendf(nil, "val:%012d", i), 0)
	}
	prev := e.MemoryUsage()
	for i := range n {
		e.Delete(fmt.Appendf(nil, "key:%012d", i))
		if i%100 == 99 {
			// Each entry takes 34 bytes; growing the free list may take back
			// a few of them.
			if got := e.MemoryUsage(); got > prev-100*20 {
				t.Fatalf("MemoryUsage after %d more deletes: got %d, want at most %d", 100, got, prev-100*20)
			}
			prev = e.MemoryUsage()
		}
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
	if got, _, _ := e.Lookup([]byte("b")); string(got) != "2" {
		t.Errorf("value after appending to a handed-out key: got %q, want %q", got, "2")
	}
}

// TestSetHandedOut sets values and keys the engine handed out, which point
// into its own chunks, including while a sweep moves entries.
func TestSetHandedOut(t *testing.T) {
	e := New()
	m := make(model)
	for i := range 5000 {
		k := fmt.Sprint("k", i)
		e.Set([]byte(k), value(20+i%50, i), 0)
		m[k] = entry{string(value(20+i%50, i)), 0}
	}
	r := rand.New(rand.NewPCG(3, 3))
	for range 50000 {
		src := fmt.Sprint("k", r.IntN(5000))
		dst := fmt.Sprint("k", r.IntN(5000))
		v, _, _ := e.Lookup([]byte(src))
		e.Set([]byte(dst), v, 0)
		m[dst] = m[src]
		if r.IntN(10) == 0 {
			k, _ := e.RandomKey()
			e.Set(k, k, 0)
			m[string(k)] = entry{string(k), 0}
		}
	}
	checkInvariants(t, e)
	checkModel(t, e, m)
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

func TestAllocs(t *testing.T) {
	e := New()
	const n = 10000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%012d", i)
		e.Set(keys[i], keys[i], 0)
	}
	v := []byte("val:000000000000")
	i := 0
	tests := []struct {
		name string
		fn   func()
	}{
		{"Lookup hit", func() { e.Lookup(keys[i%n]); i++ }},
		{"Lookup miss", func() { e.Lookup(v) }},
		{"Set existing", func() { e.Set(keys[i%n], v, 0); i++ }},
		{"SetExpire", func() { e.SetExpire(keys[i%n], 5); i++ }},
		{"Delete and Set", func() { e.Delete(keys[i%n]); e.Set(keys[i%n], v, 0); i++ }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(1000, tt.fn); got != 0 {
			t.Errorf("%s: got %v allocations, want 0", tt.name, got)
		}
	}
	// New keys allocate only when a chunk, page or table grows.
	more := make([][]byte, 100000)
	for i := range more {
		more[i] = fmt.Appendf(nil, "new:%012d", i)
	}
	j := 0
	if got := testing.AllocsPerRun(len(more)-1, func() { e.Set(more[j], v, 0); j++ }); got > 0.01 {
		t.Errorf("Set of a new key: got %v allocations, want at most 0.01", got)
	}
}

// TestPrefetchChangesNothing checks that Prefetch, given present, absent,
// expiring and repeated keys in groups of every size, leaves every lookup,
// the key count and the memory figure as they were.
func TestPrefetchChangesNothing(t *testing.T) {
	e := New()
	for i := range 5000 {
		k := []byte(fmt.Sprintf("key:%d", i))
		var at int64
		if i%3 == 0 {
			at = int64(1e15 + i)
		}
		e.Set(k, []byte(fmt.Sprintf("value:%d", i)), at)
	}
	mem, n := e.MemoryUsage(), e.Len()
	var keys [][]byte
	for i := range 5100 {
		keys = append(keys, []byte(fmt.Sprintf("key:%d", i))) // the last 100 absent
	}
	keys = append(keys, nil, []byte("key:7"), []byte("key:7"))
	for _, size := range []int{1, 2, prefetchGroup - 1, prefetchGroup, prefetchGroup + 1, len(keys)} {
		e.Prefetch(keys[:size])
	}
	if e.Len() != n || e.MemoryUsage() != mem {
		t.Fatalf("after Prefetch: len %d mem %d, want %d and %d", e.Len(), e.MemoryUsage(), n, mem)
	}
	for i := range 5100 {
		v, at, ok := e.Lookup([]byte(fmt.Sprintf("key:%d", i)))
		if i >= 5000 {
			if ok {
				t.Fatalf("absent key:%d found", i)
			}
			continue
		}
		wantAt := int64(0)
		if i%3 == 0 {
			wantAt = int64(1e15 + i)
		}
		if !ok || string(v) != fmt.Sprintf("value:%d", i) || at != wantAt {
			t.Fatalf("key:%d = %q %d %v", i, v, at, ok)
		}
	}
}

// elemObject is an Object that records the elements it is asked to read
// ahead for.
type elemObject struct{ asked [][]byte }

func (o *elemObject) Kind() storage.Kind    { return storage.KindSet }
func (o *elemObject) Len() int              { return 0 }
func (o *elemObject) MemoryUsage() int64    { return 8 }
func (o *elemObject) Clone() storage.Object { return &elemObject{} }
func (o *elemObject) PrefetchElements(elems [][]byte) uint64 {
	o.asked = append(o.asked, elems...)
	return 1
}

// TestPrefetchCollection checks that PrefetchCollection hands the elements
// to the object key holds, and to nothing for a string or an absent key,
// and leaves the key's usage, the key count and the memory figure alone.
func TestPrefetchCollection(t *testing.T) {
	e := New()
	uses := 0
	e.TrackUsage(func(old uint32, _ bool) uint32 { uses++; return old + 1 })
	obj := &elemObject{}
	e.SetObject([]byte("set"), obj, 0)
	e.Set([]byte("str"), []byte("v"), 0)
	mem, n, before := e.MemoryUsage(), e.Len(), uses
	usage, _ := e.KeyUsage([]byte("set"))
	elems := [][]byte{[]byte("a"), []byte("b")}
	e.PrefetchCollection([]byte("set"), elems)
	e.PrefetchCollection([]byte("str"), elems)
	e.PrefetchCollection([]byte("absent"), elems)
	if len(obj.asked) != 2 || string(obj.asked[0]) != "a" || string(obj.asked[1]) != "b" {
		t.Fatalf("the object was asked for %q, want [a b]", obj.asked)
	}
	if u, _ := e.KeyUsage([]byte("set")); u != usage || uses != before {
		t.Fatalf("usage %d after %d uses, want %d after %d", u, uses, usage, before)
	}
	if e.Len() != n || e.MemoryUsage() != mem {
		t.Fatalf("after PrefetchCollection: len %d mem %d, want %d and %d", e.Len(), e.MemoryUsage(), n, mem)
	}
}
