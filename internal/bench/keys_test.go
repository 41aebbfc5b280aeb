package bench

import (
	"fmt"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/resp"
)

func TestAppendKey(t *testing.T) {
	for _, idx := range []uint64{0, 1, 9, 10, 42, 123456, 999999999999} {
		got := string(appendKey([]byte("x"), idx))
		want := fmt.Sprintf("xkey:%012d", idx)
		if got != want {
			t.Errorf("appendKey(%d): got %q, want %q", idx, got, want)
		}
		if len(got) != 1+keyLen {
			t.Errorf("appendKey(%d): length %d, want %d", idx, len(got), 1+keyLen)
		}
	}
}

func TestGeneratorSequential(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keyspace, cfg.Sequential = 10, true
	g := newGenerator(cfg, 1, 3)
	for _, seq := range []uint64{0, 1, 9, 10, 15, 1<<63 + 7} {
		if got, want := g.key(seq), seq%10; got != want {
			t.Errorf("key(%d): got %d, want %d", seq, got, want)
		}
	}
}

func TestGeneratorRandom(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keyspace = 10
	a, b, other := newGenerator(cfg, 7, 0), newGenerator(cfg, 7, 0), newGenerator(cfg, 7, 1)
	seen := map[uint64]bool{}
	same, differ := true, false
	for range 1000 {
		k := a.key(0)
		if k >= 10 {
			t.Fatalf("key %d outside [0, 10)", k)
		}
		seen[k] = true
		same = same && b.key(0) == k
		differ = differ || other.key(0) != k
	}
	if len(seen) != 10 {
		t.Errorf("1000 draws took %d of 10 keys", len(seen))
	}
	if !same {
		t.Error("one seed and connection gave two sequences")
	}
	if !differ {
		t.Error("two connections drew the same keys")
	}
}

func TestGeneratorReadPercent(t *testing.T) {
	const draws = 10000
	for _, tt := range []struct{ percent, lo, hi int }{
		{0, 0, 0}, {100, draws, draws}, {50, 4500, 5500}, {10, 700, 1300}, {95, 9300, 9700},
	} {
		cfg := DefaultConfig()
		cfg.ReadPercent = tt.percent
		g := newGenerator(cfg, 3, 0)
		reads := 0
		for range draws {
			if g.read() {
				reads++
			}
		}
		if reads < tt.lo || reads > tt.hi {
			t.Errorf("--read-percent %d: got %d reads of %d, want %d to %d", tt.percent, reads, draws, tt.lo, tt.hi)
		}
	}
}

// TestEncoderRESP parses the requests back with the server's parser.
func TestEncoderRESP(t *testing.T) {
	for _, size := range []int{1, 16, 1000} {
		e := newEncoder(RESP, size)
		b := e.appendGet(nil, 12)
		b = e.appendSet(b, 999999999999)
		value := string(slices.Repeat([]byte{'x'}, size))
		for _, want := range [][]string{{"GET", "key:000000000012"}, {"SET", "key:999999999999", value}} {
			args, n, err := resp.ReadCommand(b, nil, resp.DefaultLimits())
			if err != nil || n == 0 {
				t.Fatalf("size %d: got n %d, %v", size, n, err)
			}
			var got []string
			for _, a := range args {
				got = append(got, string(a))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("size %d: got %q, want %q", size, got, want)
			}
			b = b[n:]
		}
		if len(b) != 0 {
			t.Fatalf("size %d: %q left over", size, b)
		}
	}
}

func TestEncoderLine(t *testing.T) {
	e := newEncoder(Line, 3)
	got := string(e.appendSet(e.appendGet(nil, 5), 6))
	want := "GET key:000000000005\nSET key:000000000006 xxx\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
