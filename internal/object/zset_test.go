package object

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// zmodel is what a ZSet must hold: members and scores, sorted on demand.
type zmodel map[string]float64

func (m zmodel) sorted() []zentry {
	out := make([]zentry, 0, len(m))
	for k, v := range m {
		out = append(out, zentry{v, k})
	}
	slices.SortFunc(out, func(a, b zentry) int {
		if c := cmp.Compare(a.score, b.score); c != 0 {
			return c
		}
		return strings.Compare(a.member, b.member)
	})
	return out
}

// zcheck compares every way of reading z with the model.
func zcheck(t *testing.T, where string, z *ZSet, m zmodel, r *rand.Rand) {
	t.Helper()
	want := m.sorted()
	if z.Len() != len(want) {
		t.Fatalf("%s: Len got %d, want %d", where, z.Len(), len(want))
	}
	var got []zentry
	z.Range(func(mb []byte, s float64) bool {
		got = append(got, zentry{s, string(mb)})
		return true
	})
	if !slices.Equal(got, want) {
		t.Fatalf("%s: Range got %v, want %v", where, got, want)
	}
	if z.t != nil {
		var walk func(nd *znode, root bool) (leaves, inner, n int)
		walk = func(nd *znode, root bool) (leaves, inner, n int) {
			if nd.leaf() {
				if len(nd.ids) != nd.n || len(nd.scores) != nd.n || cap(nd.ids) != zLeafMax || cap(nd.scores) != zLeafMax || !root && nd.n == 0 {
					t.Fatalf("%s: leaf of %d entries counts %d, capacity %d", where, len(nd.ids), nd.n, cap(nd.ids))
				}
				for i, id := range nd.ids {
					if z.t.slot(id).score != nd.scores[i] {
						t.Fatalf("%s: leaf entry %d scores %v, its slot %v", where, i, nd.scores[i], z.t.slot(id).score)
					}
				}
				return 1, 0, nd.n
			}
			if len(nd.kids) < 2 || len(nd.kids) != len(nd.keys) || len(nd.kids) > zKidsMax {
				t.Fatalf("%s: inner node of %d children, %d keys", where, len(nd.kids), len(nd.keys))
			}
			inner = 1
			for _, k := range nd.kids {
				l, i, c := walk(k, false)
				leaves, inner, n = leaves+l, inner+i, n+c
			}
			if n != nd.n {
				t.Fatalf("%s: inner node counts %d, holds %d", where, nd.n, n)
			}
			return leaves, inner, n
		}
		if leaves, inner, _ := walk(z.t.root, true); leaves != z.t.leaves || inner != z.t.inner {
			t.Fatalf("%s: %d leaves and %d inner nodes, counted %d and %d", where, leaves, inner, z.t.leaves, z.t.inner)
		}
		indexed := 0
		for _, v := range z.t.index.slots {
			if v != 0 {
				indexed++
			}
		}
		if indexed != z.t.members || z.t.index.n != z.t.members || z.t.nslots-len(z.t.free) != z.t.members {
			t.Fatalf("%s: %d members, %d indexed, %d slots of which %d free", where, z.t.members, indexed, z.t.nslots, len(z.t.free))
		}
	}
	if len(want) == 0 {
		return
	}
	for range 5 {
		i := r.IntN(len(want))
		mb, s := z.At(i)
		if string(mb) != want[i].member || s != want[i].score {
			t.Fatalf("%s: At(%d) got %q %v, want %v", where, i, mb, s, want[i])
		}
		if rank, ok := z.Rank([]byte(want[i].member)); !ok || rank != i {
			t.Fatalf("%s: Rank(%q) got %d %v, want %d", where, want[i].member, rank, ok, i)
		}
		if s, ok := z.Score([]byte(want[i].member)); !ok || s != want[i].score {
			t.Fatalf("%s: Score(%q) got %v %v, want %v", where, want[i].member, s, ok, want[i].score)
		}
		bound := float64(r.IntN(60)) - 10
		n := z.Count(func(_ []byte, s float64) bool { return s >= bound })
		wantN := 0
		for _, e := range want {
			if e.score < bound {
				wantN++
			}
		}
		if n != wantN {
			t.Fatalf("%s: Count(< %v) got %d, want %d", where, bound, n, wantN)
		}
		var asc, desc []zentry
		z.Ascend(i, func(mb []byte, s float64) bool {
			asc = append(asc, zentry{s, string(mb)})
			return len(asc) < 7
		})
		if w := want[i:min(i+7, len(want))]; !slices.Equal(asc, w) {
			t.Fatalf("%s: Ascend(%d) got %v, want %v", where, i, asc, w)
		}
		z.Descend(i, func(mb []byte, s float64) bool {
			desc = append(desc, zentry{s, string(mb)})
			return len(desc) < 300
		})
		w := slices.Clone(want[max(i-299, 0) : i+1])
		slices.Reverse(w)
		if !slices.Equal(desc, w) {
			t.Fatalf("%s: Descend(%d) got %d entries, want %d", where, i, len(desc), len(w))
		}
	}
}

// TestZSetModel compares a ZSet with a map over random operations, under
// limits that keep it a listpack, that convert it as it grows, and that
// make it a tree deep enough for several levels of inner nodes.
func TestZSetModel(t *testing.T) {
	cases := []struct {
		limits       Limits
		members, ops int
	}{
		{DefaultLimits(), 60, 400},
		{Limits{ZSetMaxListpackEntries: 4, ZSetMaxListpackValue: 3}, 40, 400},
		{Limits{ZSetMaxListpackEntries: 0, ZSetMaxListpackValue: 0}, 30000, 60000},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.limits.ZSetMaxListpackEntries), func(t *testing.T) {
			withLimits(t, c.limits)
			seed := seedOf(t)
			r := rand.New(rand.NewPCG(seed, 2))
			rounds := 20
			if c.members > 1000 {
				rounds = 2
			}
			for round := range rounds {
				z := NewZSet()
				m := zmodel{}
				for op := range c.ops {
					where := fmt.Sprintf("seed %d round %d op %d", seed, round, op)
					member := fmt.Sprint("m", r.IntN(c.members))
					if r.IntN(10) == 0 {
						member = member[:1+r.IntN(len(member))]
					}
					score := float64(r.IntN(40))
					switch r.IntN(20) {
					case 0:
						score = math.Inf(1 - 2*r.IntN(2))
					case 1:
						score = r.Float64()
					}
					switch x := r.IntN(10); {
					case x < 6:
						_, had := m[member]
						if added := z.Set([]byte(member), score); added == had {
							t.Fatalf("%s: Set(%q) added %v, want %v", where, member, added, !had)
						}
						m[member] = score
					case x < 9 && len(m) > 0 && r.IntN(3) == 0:
						zpopCheck(t, where, z, m, r.IntN(2) == 0)
					case x < 9:
						_, had := m[member]
						if got := z.Remove([]byte(member)); got != had {
							t.Fatalf("%s: Remove(%q) got %v, want %v", where, member, got, had)
						}
						delete(m, member)
					case c.members > 1000 && r.IntN(1000) != 0:
						// Cloning a large set is rare, or the test is slow.
					default:
						if r.IntN(2) == 0 {
							z = z.Clone().(*ZSet)
						} else {
							z.Compact()
						}
					}
					if c.members < 1000 || op%2000 == 0 || op == c.ops-1 {
						zcheck(t, where, z, m, r)
					}
				}
				// Empty it in random order, which merges nodes of a tree.
				left := slices.Collect(maps.Keys(m))
				r.Shuffle(len(left), func(i, j int) { left[i], left[j] = left[j], left[i] })
				for i, member := range left {
					if !z.Remove([]byte(member)) {
						t.Fatalf("seed %d round %d: Remove(%q) of a member got false", seed, round, member)
					}
					delete(m, member)
					if i%max(len(left)/10, 1) == 0 {
						zcheck(t, fmt.Sprintf("seed %d round %d removal %d", seed, round, i), z, m, r)
					}
				}
				zcheck(t, fmt.Sprintf("seed %d round %d emptied", seed, round), z, m, r)
			}
		})
	}
}

// zpopCheck pops the lowest member of z, or the highest when last, and
// checks it and its score against the model, from which it removes it.
func zpopCheck(t *testing.T, where string, z *ZSet, m zmodel, last bool) {
	t.Helper()
	var w zentry
	first := true
	for k, v := range m {
		e := zentry{v, k}
		if first || last && keyLess(&w, &e) || !last && keyLess(&e, &w) {
			w, first = e, false
		}
	}
	zpopWant(t, where, z, last, w)
	delete(m, w.member)
}

// zpopWant pops the lowest member of z, or the highest when last, and
// checks that it is w.
func zpopWant(t *testing.T, where string, z *ZSet, last bool, w zentry) {
	t.Helper()
	mb, s := z.Pop(last)
	if got := (zentry{s, string(mb)}); got != w {
		t.Fatalf("%s: Pop(%v) got %v, want %v", where, last, got, w)
	}
	// The popped bytes are no longer the set's.
	held := string(mb)
	z.Set([]byte("\xffpop"), 1)
	z.Remove([]byte("\xffpop"))
	if string(mb) != held {
		t.Fatalf("%s: Pop(%v)'s member changed to %q after a write", where, last, mb)
	}
}

// TestZSetPopModel empties sets of every encoding by pops from both ends,
// checking each against the model and the tree's structure as it shrinks
// and merges nodes.
func TestZSetPopModel(t *testing.T) {
	for _, limits := range []Limits{DefaultLimits(), {ZSetMaxListpackEntries: 0, ZSetMaxListpackValue: 0}} {
		t.Run(fmt.Sprint(limits.ZSetMaxListpackEntries), func(t *testing.T) {
			withLimits(t, limits)
			seed := seedOf(t)
			r := rand.New(rand.NewPCG(seed, 3))
			for _, n := range []int{1, 2, 100, 3000, 30000, 100000} {
				z := NewZSet()
				m := zmodel{}
				for len(m) < n {
					member := fmt.Sprint("m", r.IntN(4*n))
					score := float64(r.IntN(n/4 + 1))
					z.Set([]byte(member), score)
					m[member] = score
				}
				order := m.sorted()
				for i := 0; len(m) > 0; i++ {
					where := fmt.Sprintf("seed %d size %d pop %d", seed, n, i)
					last := r.IntN(2) == 0
					w := order[0]
					if last {
						w, order = order[len(order)-1], order[:len(order)-1]
					} else {
						order = order[1:]
					}
					zpopWant(t, where, z, last, w)
					delete(m, w.member)
					if n < 200 || i%(n/20) == 0 || len(m) < 3 {
						zcheck(t, where, z, m, r)
					}
				}
			}
		})
	}
}

func TestZSetEncodings(t *testing.T) {
	withLimits(t, Limits{ZSetMaxListpackEntries: 3, ZSetMaxListpackValue: 5})
	z := NewZSetFor(1, 1)
	for i, m := range []string{"a", "b", "c"} {
		z.Set([]byte(m), float64(i))
	}
	if got := z.Encoding(); got != EncListpack {
		t.Fatalf("3 members: got %s, want listpack", got)
	}
	z.Set([]byte("d"), 1)
	if got := z.Encoding(); got != EncSkiplist {
		t.Fatalf("4 members: got %s, want skiplist", got)
	}
	z.Remove([]byte("d"))
	if got := z.Encoding(); got != EncSkiplist {
		t.Fatalf("after a removal: got %s, want skiplist", got)
	}
	z.Compact()
	if got := z.Encoding(); got != EncListpack {
		t.Fatalf("compacted: got %s, want listpack", got)
	}
	z.Set([]byte("longmember"), 1)
	if got := z.Encoding(); got != EncSkiplist {
		t.Fatalf("long member: got %s, want skiplist", got)
	}
	if z := NewZSetFor(4, 1); z.Encoding() != EncSkiplist {
		t.Fatalf("NewZSetFor(4, 1): got %s, want skiplist", z.Encoding())
	}
	if z := NewZSetFor(2, 6); z.Encoding() != EncSkiplist {
		t.Fatalf("NewZSetFor(2, 6): got %s, want skiplist", z.Encoding())
	}
	if z := NewZSetEncoded("bad"); z != nil {
		t.Fatalf("NewZSetEncoded(bad): got %v, want nil", z)
	}
}

// TestZSetElements round-trips a sorted set through Elements and
// AddElements, as logs and snapshots carry it, and skips bad scores.
func TestZSetElements(t *testing.T) {
	z := NewZSet()
	z.Set([]byte("a"), 1.5)
	z.Set([]byte("b"), math.Inf(-1))
	var elems [][]byte
	Elements(z, func(e, v []byte) bool {
		elems = append(elems, append([]byte(nil), e...), v)
		return true
	})
	elems = append(elems, []byte("short"), []byte{1, 2}, []byte("nan"), ZScoreBytes(math.NaN()))
	c := New(storage.KindZSet).(*ZSet)
	AddElements(c, elems)
	if c.Len() != 2 {
		t.Fatalf("got %d members, want 2", c.Len())
	}
	if s, _ := c.Score([]byte("b")); !math.IsInf(s, -1) {
		t.Fatalf("score of b: got %v, want -inf", s)
	}
	RemoveElements(c, [][]byte{[]byte("a")})
	if m, _ := c.At(0); c.Len() != 1 || string(m) != "b" {
		t.Fatalf("after removing a: got %d members, first %q", c.Len(), m)
	}
	if !HasValues(storage.KindZSet) || HasValues(storage.KindSet) {
		t.Fatal("HasValues: wrong for zset or set")
	}
}

// TestZSetMemoryUsage compares MemoryUsage of trees with the heap they
// take, and checks that a ZSet fits a 48-byte size class.
func TestZSetMemoryUsage(t *testing.T) {
	if got := unsafe.Sizeof(ZSet{}); got > 48 {
		t.Errorf("ZSet: got %d bytes, want at most 48", got)
	}
	if testing.Short() {
		t.Skip("measures the heap")
	}
	members := make([][]byte, 300000)
	for i := range members {
		members[i] = []byte("element:" + strconv.Itoa(1000000+i*7))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{20000, 300000} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		z := NewZSetFor(n, 100)
		for i := range n {
			z.Set(members[i], float64(r.IntN(100000)))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		got := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		est := z.MemoryUsage()
		runtime.KeepAlive(z)
		t.Logf("%d members: MemoryUsage %d (%.1f B/member), heap %d (%.1f B/member)", n, est, float64(est)/float64(n), got, float64(got)/float64(n))
		if est < got*3/4 || est > got*5/4 {
			t.Errorf("tree of %d members: MemoryUsage %d, heap %d", n, est, got)
		}
	}
}

// TestZtreeWideIds checks a tree whose index keeps no hash bits, as it
// does past 16M members, and the empty member.
func TestZtreeWideIds(t *testing.T) {
	withLimits(t, Limits{})
	seed := seedOf(t)
	r := rand.New(rand.NewPCG(seed, 4))
	z := NewZSet()
	z.Set([]byte(""), 1)
	m := zmodel{"": 1}
	z.t.index.posBits = 32
	z.t.reindex()
	for op := range 3000 {
		member := fmt.Sprint("m", r.IntN(500))
		if r.IntN(3) == 0 {
			z.Remove([]byte(member))
			delete(m, member)
		} else {
			s := float64(r.IntN(50))
			z.Set([]byte(member), s)
			m[member] = s
		}
		if op%500 == 0 {
			zcheck(t, fmt.Sprintf("seed %d op %d", seed, op), z, m, r)
		}
	}
	zcheck(t, fmt.Sprintf("seed %d end", seed), z, m, r)
	if s, ok := z.Score(nil); !ok || s != 1 {
		t.Fatalf("the empty member: got %v %v, want 1 true", s, ok)
	}
}

// TestZSetScan checks that a scan of a tree returns every member present
// for the whole iteration while members are added (growing the index
// several times) and removed between calls, and that a listpack is
// returned whole.
func TestZSetScan(t *testing.T) {
	withLimits(t, DefaultLimits())
	seed := seedOf(t)
	r := rand.New(rand.NewPCG(seed, 5))
	z := NewZSetFor(1000, 10)
	stable := map[string]bool{}
	for i := range 1000 {
		m := fmt.Sprint("stable:", i)
		z.Set([]byte(m), float64(r.IntN(100)))
		stable[m] = true
	}
	for i := range 500 {
		z.Set([]byte(fmt.Sprint("gone:", i)), 1)
	}
	seen := map[string]bool{}
	cursor, calls, added, removed := uint64(0), 0, 0, 0
	for {
		cursor = z.Scan(cursor, 20, func(m []byte, _ float64) { seen[string(m)] = true })
		calls++
		if cursor == 0 {
			break
		}
		for range 40 {
			z.Set([]byte(fmt.Sprint("new:", added)), float64(r.IntN(100)))
			added++
		}
		if removed < 500 {
			for range 5 {
				z.Remove([]byte(fmt.Sprint("gone:", removed)))
				removed++
			}
		}
		if calls > 100000 {
			t.Fatalf("seed %d: no end after %d calls", seed, calls)
		}
	}
	for m := range stable {
		if !seen[m] {
			t.Fatalf("seed %d: %s, present throughout, not returned (%d calls, %d added)", seed, m, calls, added)
		}
	}
	if added < 2000 {
		t.Fatalf("seed %d: only %d members added during the scan, want the index to grow", seed, added)
	}
	lp := NewZSet()
	lp.Set([]byte("b"), 2)
	lp.Set([]byte("a"), 1)
	var got []string
	if next := lp.Scan(7, 1, func(m []byte, _ float64) { got = append(got, string(m)) }); next != 0 || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("listpack scan: got %v, next %d", got, next)
	}
}

// TestZSetCloneIndependent changes a clone of a tree and its original in
// different ways and checks each against its own model.
func TestZSetCloneIndependent(t *testing.T) {
	withLimits(t, DefaultLimits())
	seed := seedOf(t)
	r := rand.New(rand.NewPCG(seed, 6))
	z, m := NewZSetFor(1000, 10), zmodel{}
	for i := range 5000 {
		k := fmt.Sprint("m", i)
		s := float64(r.IntN(300))
		z.Set([]byte(k), s)
		m[k] = s
	}
	c := z.Clone().(*ZSet)
	cm := maps.Clone(m)
	for range 4000 {
		k := fmt.Sprint("m", r.IntN(6000))
		if r.IntN(2) == 0 {
			z.Remove([]byte(k))
			delete(m, k)
			s := float64(r.IntN(300))
			c.Set([]byte(k), s)
			cm[k] = s
		} else {
			c.Remove([]byte(k))
			delete(cm, k)
			s := float64(r.IntN(300))
			z.Set([]byte(k), s)
			m[k] = s
		}
	}
	zcheck(t, fmt.Sprintf("seed %d original", seed), z, m, r)
	zcheck(t, fmt.Sprintf("seed %d clone", seed), c, cm, r)
	if z.MemoryUsage() <= 0 || c.MemoryUsage() <= 0 {
		t.Fatal("no memory counted")
	}
}
