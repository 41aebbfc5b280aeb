package hll

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// Bytes and counts below were recorded from redis-server 7.0.15.

func elems(prefix string, from, to int) [][]byte {
	var out [][]byte
	for i := from; i <= to; i++ {
		out = append(out, []byte(prefix+strconv.Itoa(i)))
	}
	return out
}

func build(t *testing.T, sparseMax int64, es [][]byte) *Sketch {
	t.Helper()
	var s Sketch
	s.Load(New())
	for _, e := range es {
		if _, err := s.Add(e, sparseMax); err != nil {
			t.Fatal(err)
		}
	}
	s.Invalidate()
	return &s
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestNew(t *testing.T) {
	want := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"
	if got := string(New()); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if n, err := Count(New()); n != 0 || err != nil {
		t.Fatalf("got %d, %v, want 0", n, err)
	}
}

func TestRedisBytes(t *testing.T) {
	abc := build(t, DefaultSparseMaxBytes, elems("", 0, -1))
	for _, e := range []string{"a", "b", "c"} {
		abc.Add([]byte(e), DefaultSparseMaxBytes)
	}
	abc.Invalidate()
	if got, want := string(abc.Bytes()), "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"; got != want {
		t.Errorf("a b c: got %q, want %q", got, want)
	}
	if got, want := string(Decode(nil, abc.Bytes())), "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"; got != want {
		t.Errorf("decode: got %q, want %q", got, want)
	}
	tests := []struct {
		name   string
		n      int
		enc    byte
		length int
		sha    string
		count  uint64
		cached string // sha256 once the count is cached
	}{
		{"e1..e200", 200, Sparse, 512, "d03bb716b351e29e7ae8fa334fba7f6ebea70d23cd82e8dd0dc9263d3a4ebc58", 200, ""},
		{"e1..e3000", 3000, Dense, DenseSize, "859ccced9f2265e145b0cca35c441ad7ac2e7383514a2b6054b4932414bfa862", 2979,
			"327bda18bdc7253e9dfd4ee716fd341d5930393da1ee1963c5e50240af59a94b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build(t, DefaultSparseMaxBytes, elems("e", 1, tt.n))
			b := s.Bytes()
			if b[4] != tt.enc || len(b) != tt.length || sum(b) != tt.sha {
				t.Fatalf("got encoding %d, %d bytes, sha %s, want %d, %d, %s", b[4], len(b), sum(b), tt.enc, tt.length, tt.sha)
			}
			n, err := Count(b)
			if n != tt.count || err != nil {
				t.Fatalf("count: got %d, %v, want %d", n, err, tt.count)
			}
			if tt.cached != "" {
				SetCached(b, n)
				if sum(b) != tt.cached {
					t.Fatalf("cached: got sha %s, want %s", sum(b), tt.cached)
				}
			}
		})
	}
}

// TestCounts checks PFCOUNT of the decimal numbers 1..n.
func TestCounts(t *testing.T) {
	want := []struct {
		n    int
		card uint64
	}{
		{1, 1}, {2, 2}, {10, 10}, {100, 100}, {1000, 1001}, {2000, 2006}, {5000, 4985},
		{10000, 9988}, {20000, 19891}, {50000, 50353}, {100000, 99562},
	}
	var s Sketch
	s.Load(New())
	next := 1
	for _, w := range want {
		for ; next <= w.n; next++ {
			s.Add([]byte(strconv.Itoa(next)), DefaultSparseMaxBytes)
		}
		got, err := Count(s.Bytes())
		if got != w.card || err != nil {
			t.Errorf("1..%d: got %d, %v, want %d", w.n, got, err, w.card)
		}
	}
}

func TestSparseMax(t *testing.T) {
	for _, limit := range []int64{0, 20, 100, 3000, 1 << 20} {
		s := build(t, limit, elems("e", 1, 200))
		b := s.Bytes()
		if b[4] == Sparse && int64(len(b)) > limit {
			t.Errorf("limit %d: sparse string of %d bytes", limit, len(b))
		}
		if n, _ := Count(b); n != 200 {
			t.Errorf("limit %d: got count %d, want 200", limit, n)
		}
	}
}

// hdr is a sparse header with a stale cache.
const hdr = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"

func TestDamaged(t *testing.T) {
	tests := []struct {
		name  string
		v     string
		valid bool
	}{
		{"short", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", false},
		{"magic", "HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff", false},
		{"encoding 2", "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff", false},
		{"dense too short", "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x00", false},
		{"one register short", hdr + "\x7f\xfe", true},
		{"one register over", hdr + "\x7f\xff\x9f", true},
		{"cut xzero", hdr + "\x7f", true},
		{"no opcodes", hdr, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := []byte(tt.v)
			if Valid(v) != tt.valid {
				t.Fatalf("Valid: got %v, want %v", !tt.valid, tt.valid)
			}
			if !tt.valid {
				return
			}
			if _, err := Count(v); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Count: got %v, want ErrCorrupt", err)
			}
			var m Max
			if err := m.Merge(v); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Merge: got %v, want ErrCorrupt", err)
			}
			var s Sketch
			s.Load(v)
			if err := s.ToDense(); !errors.Is(err, ErrCorrupt) || string(s.Bytes()) != tt.v {
				t.Errorf("ToDense: got %v, %q, want ErrCorrupt and no change", err, s.Bytes())
			}
		})
	}
}

// TestDamagedAdd checks PFADD on damaged strings as Redis answers: a
// change before the damage succeeds, one past it fails.
func TestDamagedAdd(t *testing.T) {
	var s Sketch
	s.Load([]byte(hdr + "\x7f\xfe"))
	changed, err := s.Add([]byte("a"), DefaultSparseMaxBytes)
	if !changed || err != nil {
		t.Fatalf("got %v, %v, want a change", changed, err)
	}
	if got, want := string(s.Bytes()), hdr+"q\xa6\x84NV"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	s.Load([]byte(hdr))
	if _, err := s.Add([]byte("a"), DefaultSparseMaxBytes); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("no opcodes: got %v, want ErrCorrupt", err)
	}
}

func TestMergeEstimate(t *testing.T) {
	a := build(t, DefaultSparseMaxBytes, elems("a", 1, 1500))
	b := build(t, 0, elems("b", 1, 1500))
	all := build(t, 0, append(elems("a", 1, 1500), elems("b", 1, 1500)...))
	var m Max
	if err := m.Merge(a.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	want, _ := Count(all.Bytes())
	if got := m.Estimate(); got != want {
		t.Fatalf("got %d, want %d", got, want)
	}
}

func BenchmarkAddDense(b *testing.B) {
	var s Sketch
	s.Load(New())
	s.ToDense()
	es := make([][]byte, 1024)
	for i := range es {
		es[i] = fmt.Appendf(nil, "element:%d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(es[i%len(es)], DefaultSparseMaxBytes)
		i++
	}
}

func BenchmarkCountDense(b *testing.B) {
	var s Sketch
	s.Load(New())
	s.ToDense()
	b.ReportAllocs()
	for b.Loop() {
		Count(s.Bytes())
	}
}
