package reply

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

func joined(q *Queue) string { return string(bytes.Join(q.Buffers(), nil)) }

func TestSpliceOrder(t *testing.T) {
	shard := []byte(strings.Repeat("a", 2000) + strings.Repeat("b", 2000) + "tiny" + strings.Repeat("c", 1500))
	a, b, tiny, c := shard[:2000], shard[2000:4000], shard[4000:4004], shard[4004:]
	var q Queue
	q.W.AppendRaw([]byte("+first\r\n"))
	q.Splice(a)
	q.Splice(b) // right after a in the same buffer: one piece with it
	q.W.AppendRaw([]byte("+mid\r\n"))
	q.Splice(tiny) // short: copied
	q.Splice(c)
	q.W.AppendRaw([]byte("+last\r\n"))

	want := "+first\r\n" + string(a) + string(b) + "+mid\r\n" + "tiny" + string(c) + "+last\r\n"
	if got := joined(&q); got != want {
		t.Fatalf("got %q…, want %q…", got[:20], want[:20])
	}
	if got, want := q.Len(), len(want); got != want {
		t.Errorf("Len: got %d, want %d", got, want)
	}
	if got, want := q.Spliced(), len(a)+len(b)+len(c); got != want {
		t.Errorf("Spliced: got %d, want %d", got, want)
	}
	v := q.Buffers()
	if got, want := len(v), 5; got != want {
		t.Fatalf("got %d pieces, want %d (own, a+b, own, c, own)", got, want)
	}
	if !testutil.Aliases(v[1], shard) || len(v[1]) != 4000 || !testutil.Aliases(v[3], shard) {
		t.Errorf("spliced pieces do not alias the buffer they were written in")
	}
	for _, i := range []int{0, 2, 4} {
		if testutil.Aliases(v[i], shard) {
			t.Errorf("piece %d aliases the shard's buffer, want a copy in W", i)
		}
	}
}

func TestMinSplice(t *testing.T) {
	tests := []struct {
		min, n  int
		spliced bool
	}{
		{0, DefaultMinSplice - 1, false},
		{0, DefaultMinSplice, true},
		{16 << 10, 8 << 10, false},
		{16 << 10, 16 << 10, true},
		{-1, DefaultMinSplice, true},
	}
	for _, tt := range tests {
		var q Queue
		q.SetMinSplice(tt.min)
		ref := q.Splice(make([]byte, tt.n))
		if got := q.Spliced() > 0; got != tt.spliced || ref != tt.spliced {
			t.Errorf("min %d, %d bytes: got spliced %v (reported %v), want %v", tt.min, tt.n, got, ref, tt.spliced)
		}
	}
}

// TestOwn checks that Own copies the spliced bytes into W in their
// places: the buffer they came from may then change.
func TestOwn(t *testing.T) {
	src := bytes.Repeat([]byte("x"), 3000)
	var q Queue
	q.W.AppendRaw([]byte("<"))
	q.Splice(src)
	q.W.AppendRaw([]byte(">"))
	want := "<" + string(src) + ">"
	q.Own()
	for i := range src {
		src[i] = 'y'
	}
	if got := joined(&q); got != want {
		t.Fatalf("after Own and a change of the source, got %d bytes %q…, want %q…", len(got), got[:4], want[:4])
	}
	if q.Spliced() != 0 || q.Len() != len(want) {
		t.Errorf("got Spliced %d Len %d, want 0 and %d", q.Spliced(), q.Len(), len(want))
	}
}

// TestKeepSpare checks that a kept buffer comes back through Spare once the
// queue is reset, and not before; those past the bound do not.
func TestKeepSpare(t *testing.T) {
	var q Queue
	buf := make([]byte, 5000, 8192)
	q.Splice(buf)
	e := q.Epoch()
	q.Keep(buf)
	if s := q.Spare(); s != nil {
		t.Fatalf("got a spare before Reset")
	}
	q.Reset()
	if q.Epoch() == e {
		t.Errorf("Reset left the epoch at %d", e)
	}
	if q.Len() != 0 || len(q.Buffers()) != 0 {
		t.Errorf("Reset left %d bytes", q.Len())
	}
	s := q.Spare()
	if len(s) != 0 || cap(s) != cap(buf) || unsafe.SliceData(s[:1]) != unsafe.SliceData(buf) {
		t.Fatalf("got spare of len %d cap %d, want the kept buffer emptied", len(s), cap(s))
	}
	if q.Spare() != nil {
		t.Errorf("got a second spare")
	}
	q.Keep(make([]byte, 0, spareBytes/2))
	q.Keep(make([]byte, 0, spareBytes/2))
	q.Keep(make([]byte, 0, 1)) // past the bound: given back
	q.Reset()
	if s := q.Spare(); cap(s) != spareBytes/2 {
		t.Errorf("got a spare of %d bytes, want %d", cap(s), spareBytes/2)
	}
	if s := q.Spare(); cap(s) != spareBytes/2 {
		t.Errorf("got a spare of %d bytes, want %d", cap(s), spareBytes/2)
	}
	if q.Spare() != nil {
		t.Errorf("a buffer past the bound came back as a spare")
	}
}

// TestSteadyStateAllocs checks that splicing and sending again and again
// allocates nothing once the queue's slices have grown.
func TestSteadyStateAllocs(t *testing.T) {
	var q Queue
	big := make([]byte, 4096)
	round := func() {
		q.W.AppendRaw([]byte("+OK\r\n"))
		q.Splice(big)
		q.W.AppendRaw([]byte("+OK\r\n"))
		q.Splice(big[:2048])
		if len(q.Buffers()) != 4 {
			t.Fatal("want 4 pieces")
		}
		q.Reset()
	}
	round()
	if n := testing.AllocsPerRun(100, round); n != 0 {
		t.Errorf("got %v allocations per round, want 0", n)
	}
}

func BenchmarkSplice16(b *testing.B)   { benchmarkSplice(b, 16) }
func BenchmarkSplice4k(b *testing.B)   { benchmarkSplice(b, 4<<10) }
func BenchmarkSplice100k(b *testing.B) { benchmarkSplice(b, 100_000) }

// benchmarkSplice assembles 16 replies of n bytes from two buffers,
// interleaved as two shards' replies are, and takes the pieces.
func benchmarkSplice(b *testing.B, n int) {
	bufs := [2][]byte{make([]byte, 8*n), make([]byte, 8*n)}
	var q Queue
	b.SetBytes(int64(16 * n))
	b.ReportAllocs()
	for b.Loop() {
		for i := range 16 {
			at := (i / 2) * n
			q.Splice(bufs[i%2][at : at+n])
		}
		_ = q.Buffers()
		q.Reset()
	}
}
