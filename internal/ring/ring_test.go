package ring

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"
)

func mustNew(tb testing.TB, shards, vnodes int) *Ring {
	tb.Helper()
	r, err := New(shards, vnodes)
	if err != nil {
		tb.Fatalf("New(%d, %d): got error %v, want nil", shards, vnodes, err)
	}
	return r
}

// TestGolden pins the placement of fixed keys. A failure here means keys
// persisted under an earlier build would now be looked for on the wrong
// shard: fix the code, never the table.
func TestGolden(t *testing.T) {
	tests := []struct {
		shards, vnodes int
		key            string
		want           int
	}{
		{3, 64, "", 0},
		{3, 64, "user1", 2},
		{3, 64, "user2", 2},
		{3, 64, "user:1000", 0},
		{3, 64, "a", 0},
		{3, 64, "b", 1},
		{3, 64, "c", 2},
		{3, 64, "key:0", 2},
		{3, 64, "key:1", 2},
		{3, 64, "key:99999", 2},
		{3, 64, "hello", 0},
		{3, 64, "world", 2},
		{3, 64, "\x00", 1},
		{3, 64, "\x00\x00\x00\x00", 2},
		{3, 64, "\xff\xfe\xfd", 2},
		{3, 64, "\x01\x02\x03\x04\x05\x06\x07\x08", 1},
		{3, 64, "session:8f14e45fceea167a", 0},
		{3, 64, "order/2024/06/01/42", 0},
		{3, 64, "ünïcödé", 2},
		{3, 64, "the quick brown fox jumps over the lazy dog", 0},
		{3, 64, "0", 2},
		{3, 64, "11", 1},
		{5, 16, "", 0},
		{5, 16, "user1", 3},
		{5, 16, "user:1000", 2},
		{5, 16, "key:1", 4},
		{5, 16, "hello", 1},
		{5, 16, "\xff\xfe\xfd", 4},
		{5, 16, "\x01\x02\x03\x04\x05\x06\x07\x08", 1},
		{5, 16, "order/2024/06/01/42", 4},
	}
	rings := map[[2]int]*Ring{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d/%q", tt.shards, tt.vnodes, tt.key), func(t *testing.T) {
			size := [2]int{tt.shards, tt.vnodes}
			r := rings[size]
			if r == nil {
				r = mustNew(t, tt.shards, tt.vnodes)
				rings[size] = r
			}
			if got := r.Lookup([]byte(tt.key)); got != tt.want {
				t.Errorf("Lookup(%q): got %d, want %d", tt.key, got, tt.want)
			}
			if got := r.LookupString(tt.key); got != tt.want {
				t.Errorf("LookupString(%q): got %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

// TestPointName pins the byte strings that place the points. They must never
// change.
func TestPointName(t *testing.T) {
	tests := []struct {
		shard, vnode int
		want         string
	}{
		{0, 0, "shard-0-vnode-0"},
		{2, 7, "shard-2-vnode-7"},
		{10, 63, "shard-10-vnode-63"},
		{4095, 4095, "shard-4095-vnode-4095"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(pointName(nil, tt.shard, tt.vnode)); got != tt.want {
				t.Errorf("pointName(%d, %d): got %q, want %q", tt.shard, tt.vnode, got, tt.want)
			}
		})
	}
}

func TestLookupStringAgrees(t *testing.T) {
	tests := []struct{ shards, vnodes int }{
		{1, 1},
		{3, 64},
		{5, 16},
		{64, 64},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.shards, tt.vnodes), func(t *testing.T) {
			r := mustNew(t, tt.shards, tt.vnodes)
			for i := range 10_000 {
				key := fmt.Sprintf("key:%d", i)
				got, want := r.LookupString(key), r.Lookup([]byte(key))
				if got != want {
					t.Fatalf("LookupString(%q): got %d, want %d (Lookup)", key, got, want)
				}
				if got < 0 || got >= tt.shards {
					t.Fatalf("Lookup(%q): got %d, want a shard in [0, %d)", key, got, tt.shards)
				}
			}
		})
	}
}

// TestLookupRule checks Lookup against the rule it implements, computed the
// slow way: the owner of the first point with hash >= the key's hash,
// wrapping round, including keys that hash exactly onto a point and keys
// beyond the last point.
func TestLookupRule(t *testing.T) {
	r := mustNew(t, 5, 16)
	want := func(h uint64) int {
		for i, p := range r.hashes {
			if p >= h {
				return int(r.owners[i])
			}
		}
		return int(r.owners[0])
	}
	last := r.hashes[len(r.hashes)-1]
	tests := []struct {
		name string
		hash uint64
	}{
		{"zero", 0},
		{"first point", r.hashes[0]},
		{"just after first point", r.hashes[0] + 1},
		{"middle point", r.hashes[len(r.hashes)/2]},
		{"last point", last},
		{"after last point", last + 1},
		{"max", ^uint64(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := r.owner(tt.hash), want(tt.hash); got != want {
				t.Errorf("owner(%#x): got %d, want %d", tt.hash, got, want)
			}
		})
	}
}

func TestPointsSorted(t *testing.T) {
	r := mustNew(t, 64, 64)
	if got, want := len(r.hashes), 64*64; got != want {
		t.Fatalf("points: got %d, want %d", got, want)
	}
	for i := 1; i < len(r.hashes); i++ {
		a, b := r.hashes[i-1], r.hashes[i]
		if a > b || a == b && r.owners[i-1] > r.owners[i] {
			t.Fatalf("points %d and %d out of order: got (%#x, %d) before (%#x, %d)",
				i-1, i, a, r.owners[i-1], b, r.owners[i])
		}
	}
}

func TestDistribution(t *testing.T) {
	const keys = 100_000
	tests := []struct {
		shards, vnodes int
		min, max       float64 // bounds on each shard's share of the keys
	}{
		{3, 64, 0.25, 0.42},
		{8, 64, 0.08, 0.18},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.shards, tt.vnodes), func(t *testing.T) {
			r := mustNew(t, tt.shards, tt.vnodes)
			counts := make([]int, tt.shards)
			for i := range keys {
				counts[r.LookupString(fmt.Sprintf("key:%d", i))]++
			}
			for s, n := range counts {
				share := float64(n) / keys
				t.Logf("shard %d: %d keys, share %.4f", s, n, share)
				if share < tt.min || share > tt.max {
					t.Errorf("shard %d share: got %.4f, want between %.2f and %.2f", s, share, tt.min, tt.max)
				}
			}
		})
	}
}

func TestAddShardMovement(t *testing.T) {
	const keys = 100_000
	tests := []struct {
		shards, vnodes int
		min, max       float64 // bounds on the fraction of keys that move
	}{
		{3, 64, 0.17, 0.33}, // ideal 1/4
		{8, 64, 0.07, 0.16}, // ideal 1/9
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d->%dx%d", tt.shards, tt.shards+1, tt.vnodes), func(t *testing.T) {
			before := mustNew(t, tt.shards, tt.vnodes)
			after := mustNew(t, tt.shards+1, tt.vnodes)
			moved := 0
			for i := range keys {
				key := fmt.Sprintf("key:%d", i)
				from, to := before.LookupString(key), after.LookupString(key)
				if from == to {
					continue
				}
				moved++
				if to != tt.shards {
					t.Fatalf("key %q moved from shard %d: got shard %d, want %d (the new shard)", key, from, to, tt.shards)
				}
			}
			frac := float64(moved) / keys
			t.Logf("%d of %d keys moved (%.4f, ideal %.4f)", moved, keys, frac, 1/float64(tt.shards+1))
			if frac < tt.min || frac > tt.max {
				t.Errorf("moved fraction: got %.4f, want between %.2f and %.2f", frac, tt.min, tt.max)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name           string
		shards, vnodes int
		want           error
	}{
		{"one by one", 1, 1, nil},
		{"largest", MaxShards, MaxPoints / MaxShards, nil},
		{"zero shards", 0, 64, ErrShards},
		{"negative shards", -1, 64, ErrShards},
		{"too many shards", MaxShards + 1, 1, ErrShards},
		{"zero vnodes", 3, 0, ErrVnodes},
		{"negative vnodes", 3, -5, ErrVnodes},
		{"too many vnodes", 1, MaxVnodes + 1, ErrVnodes},
		{"both invalid", 0, 0, ErrShards},
		{"too many points", MaxShards, MaxPoints/MaxShards + 1, ErrTooLarge},
		{"most shards and vnodes", MaxShards, MaxVnodes, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.shards, tt.vnodes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New(%d, %d): got error %v, want %v", tt.shards, tt.vnodes, err, tt.want)
			}
			if tt.want != nil {
				if r != nil {
					t.Errorf("New(%d, %d): got ring %p, want nil", tt.shards, tt.vnodes, r)
				}
				return
			}
			if got := r.Shards(); got != tt.shards {
				t.Errorf("Shards: got %d, want %d", got, tt.shards)
			}
			if got := r.Vnodes(); got != tt.vnodes {
				t.Errorf("Vnodes: got %d, want %d", got, tt.vnodes)
			}
			if got, want := len(r.hashes), tt.shards*tt.vnodes; got != want {
				t.Errorf("points: got %d, want %d", got, want)
			}
		})
	}
}

func TestLookupAllocs(t *testing.T) {
	r := mustNew(t, 8, 64)
	key := []byte("user:1000")
	skey := "user:1000"
	tests := []struct {
		name string
		f    func()
	}{
		{"Lookup", func() { r.Lookup(key) }},
		{"LookupString", func() { r.LookupString(skey) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(1000, tt.f); got != 0 {
				t.Errorf("allocs per run: got %v, want 0", got)
			}
		})
	}
}

func TestConcurrentLookup(t *testing.T) {
	r := mustNew(t, 8, 64)
	want := make([]int, 1000)
	for i := range want {
		want[i] = r.LookupString(fmt.Sprintf("key:%d", i))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, w := range want {
				if got := r.Lookup(fmt.Appendf(nil, "key:%d", i)); got != w {
					t.Errorf("Lookup(key:%d): got %d, want %d", i, got, w)
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchKeys returns 1024 pseudo-random keys of n bytes each, the same on
// every run.
func benchKeys(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	keys := make([][]byte, 1024)
	for i := range keys {
		k := make([]byte, n)
		for j := range k {
			k[j] = byte(rng.Uint32())
		}
		keys[i] = k
	}
	return keys
}

func BenchmarkLookup3x64(b *testing.B)  { benchmarkLookup(b, 3, 64) }
func BenchmarkLookup8x64(b *testing.B)  { benchmarkLookup(b, 8, 64) }
func BenchmarkLookup64x64(b *testing.B) { benchmarkLookup(b, 64, 64) }

func benchmarkLookup(b *testing.B, shards, vnodes int) {
	r := mustNew(b, shards, vnodes)
	for _, n := range []int{8, 32, 256} {
		keys := benchKeys(n)
		b.Run(fmt.Sprintf("key=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Lookup(keys[i%len(keys)])
				i++
			}
		})
	}
}

func BenchmarkLookupString(b *testing.B) {
	r := mustNew(b, 8, 64)
	keys := make([]string, 1024)
	for i, k := range benchKeys(32) {
		keys[i] = string(k)
	}
	b.SetBytes(32)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.LookupString(keys[i%len(keys)])
		i++
	}
}

func BenchmarkNew(b *testing.B) {
	for _, size := range [][2]int{{3, 64}, {64, 64}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(size[0], size[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// searchSort is owner written with sort.Search, for BenchmarkSearch.
func searchSort(r *Ring, h uint64) int {
	i := sort.Search(len(r.hashes), func(i int) bool { return r.hashes[i] >= h })
	if i == len(r.hashes) {
		i = 0
	}
	return int(r.owners[i])
}

// searchSlices is owner written with slices.BinarySearch, for BenchmarkSearch.
func searchSlices(r *Ring, h uint64) int {
	i, _ := slices.BinarySearch(r.hashes, h)
	if i == len(r.hashes) {
		i = 0
	}
	return int(r.owners[i])
}

// BenchmarkSearch compares the hand-written binary search of owner with the
// standard library's. Each variant is called directly, as Lookup calls owner.
func BenchmarkSearch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	hashes := make([]uint64, 1024)
	for i := range hashes {
		hashes[i] = rng.Uint64()
	}
	for _, size := range [][2]int{{3, 64}, {64, 64}} {
		r := mustNew(b, size[0], size[1])
		name := fmt.Sprintf("%dx%d/", size[0], size[1])
		b.Run(name+"loop", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.owner(hashes[i%len(hashes)])
				i++
			}
		})
		b.Run(name+"sort.Search", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				searchSort(r, hashes[i%len(hashes)])
				i++
			}
		})
		b.Run(name+"slices.BinarySearch", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				searchSlices(r, hashes[i%len(hashes)])
				i++
			}
		})
	}
}

// TestOwnerMatchesFullSearch checks that the bucketed search gives the
// shard a binary search over every point gives: for random hashes, every
// point's hash and its neighbours, and both ends of the circle.
func TestOwnerMatchesFullSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, size := range [][2]int{{1, 1}, {3, 64}, {5, 3}, {64, 64}, {4096, 256}} {
		r := mustNew(t, size[0], size[1])
		hs := []uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1}
		for _, h := range r.hashes {
			hs = append(hs, h-1, h, h+1)
		}
		for range 100000 {
			hs = append(hs, rng.Uint64())
		}
		for _, h := range hs {
			if got, want := r.owner(h), searchSlices(r, h); got != want {
				t.Fatalf("%dx%d: owner(%#x) = %d, a search over every point says %d", size[0], size[1], h, got, want)
			}
		}
	}
}
