package router

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

var busy = []byte("BUSY\n")

func newRouter(t *testing.T, edit func(*Config)) *Router {
	t.Helper()
	cfg := DefaultConfig()
	if edit != nil {
		edit(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

// keyOn returns a key that the ring places on shard want.
func keyOn(t *testing.T, r *Router, want int, prefix string) string {
	t.Helper()
	for i := range 100000 {
		k := fmt.Sprintf("%s%d", prefix, i)
		if r.Ring().LookupString(k) == want {
			return k
		}
	}
	t.Fatalf("no key found for shard %d", want)
	return ""
}

// outString returns the replies waiting in p's Out.
func outString(p *Pipeline) string { return string(bytes.Join(p.Out().Buffers(), nil)) }

// run sends the commands through a fresh pipeline and returns the replies.
func run(p *Pipeline, cmds ...[][]byte) string {
	for _, c := range cmds {
		p.Do(command.Line.Lookup(c[0]), c)
	}
	p.Flush()
	out := outString(p)
	p.Out().Reset()
	return out
}

func TestPipelineOrder(t *testing.T) {
	r := newRouter(t, nil)
	p := r.NewPipeline(busy)
	var cmds [][][]byte
	want := ""
	for i := range 100 {
		k := fmt.Sprintf("k%d", i)
		cmds = append(cmds, args("SET", k, fmt.Sprint(i)), args("GET", k))
		want += "OK\n" + fmt.Sprint(i) + "\n"
	}
	cmds = append(cmds, args("GET", "nosuch"), args("DELETE", "k0"), args("GET", "k0"))
	want += "ERR key not found\nOK\nERR key not found\n"
	if got := run(p, cmds...); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// LIST runs across all shards in order with the batched commands.
	got := run(p, args("SET", "a", "1"), args("LIST"), args("DELETE", "a"))
	if want := "OK\n"; got[:3] != want || got[len(got)-3:] != "OK\n" {
		t.Fatalf("got %q", got)
	}
}

// TestBusyShard holds a shard, fills its queue and checks that the next
// command is refused at once, with no effect.
func TestBusyShard(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.ShardQueue = 2 })
	k0, k0x, k0y := keyOn(t, r, 0, "a"), keyOn(t, r, 0, "x"), keyOn(t, r, 0, "y")
	k1 := keyOn(t, r, 1, "b")

	holder := r.NewPipeline(busy)
	set := make([]bool, len(r.Shards()))
	set[0] = true
	if _, ok := holder.Hold(set); !ok {
		t.Fatal("Hold failed on an idle router")
	}

	p := r.NewPipeline(busy)
	done := make(chan string)
	go func() {
		done <- run(p, args("SET", k0, "1"), args("SET", k0x, "2"), args("SET", k0y, "3"), args("SET", k1, "4"))
	}()
	// Wait until the first two commands are queued behind the hold.
	deadline := time.Now().Add(10 * time.Second)
	for r.Shards()[0].Pending() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("shard 0 has %d pending, want 2", r.Shards()[0].Pending())
		}
		time.Sleep(time.Millisecond)
	}
	if _, s := r.Busy(); s != 1 {
		t.Fatalf("shard busy count %d, want 1", s)
	}
	holder.Release()
	got := <-done
	// k0y was refused; every other command ran.
	if want := "OK\nOK\nBUSY\nOK\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := run(p, args("GET", k0y), args("GET", k0)); got != "ERR key not found\n1\n" {
		t.Fatalf("after BUSY: got %q", got)
	}
}

// TestBusyRouter fills the router's capacity and checks the commands beyond
// it are refused.
func TestBusyRouter(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.RouterQueue = 3 })
	k0, k0x, k0y := keyOn(t, r, 0, "a"), keyOn(t, r, 0, "x"), keyOn(t, r, 0, "y")
	holder := r.NewPipeline(busy)
	set := make([]bool, len(r.Shards()))
	set[0] = true
	if _, ok := holder.Hold(set); !ok { // takes one unit of the router
		t.Fatal("Hold failed")
	}
	p := r.NewPipeline(busy)
	done := make(chan string)
	go func() {
		done <- run(p, args("SET", k0, "1"), args("SET", k0x, "2"), args("SET", k0y, "3"))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for r.InFlight() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d, want 3", r.InFlight())
		}
		time.Sleep(time.Millisecond)
	}
	if rb, _ := r.Busy(); rb != 1 {
		t.Fatalf("router busy count %d, want 1", rb)
	}
	holder.Release()
	if got, want := <-done, "OK\nOK\nBUSY\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if r.InFlight() != 0 {
		t.Fatalf("in flight %d after the replies, want 0", r.InFlight())
	}
}

// TestHoldOrder checks that holders of overlapping shard sets never
// deadlock: many pipelines hold random sets at once.
func TestHoldOrder(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.Shards = 4 })
	done := make(chan bool)
	for g := range 8 {
		go func() {
			p := r.NewPipeline(busy)
			set := make([]bool, 4)
			for i := range 200 {
				for s := range set {
					set[s] = (i+g+s)%3 != 0
				}
				if _, ok := p.Hold(set); ok {
					p.Release()
				}
			}
			done <- true
		}()
	}
	for range 8 {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("holders deadlocked")
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Shards = 0 },
		func(c *Config) { c.Vnodes = 0 },
		func(c *Config) { c.ShardQueue = 0 },
		func(c *Config) { c.RouterQueue = -1 },
	}
	for i, edit := range bad {
		cfg := DefaultConfig()
		edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("case %d: got no error", i)
		}
	}
}

func benchmarkRoundTrip(b *testing.B, batch int) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := r.NewPipeline(busy)
	spec := command.Line.Lookup([]byte("SET"))
	cmds := make([][][]byte, batch)
	for i := range cmds {
		cmds[i] = args("SET", fmt.Sprintf("key:%d", i), "value")
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cmds {
			p.Do(spec, c)
		}
		p.Flush()
		p.Out().Reset()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/cmd")
}

// benchmarkGet runs batches of GETs of size-byte values, from keys on
// every shard, and takes the replies as a connection does, with the
// connection's bound on the replies held.
func benchmarkGet(b *testing.B, batch, size int) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := r.NewPipeline(busy)
	set, get := command.Redis.Lookup([]byte("set")), command.Redis.Lookup([]byte("get"))
	cmds := make([][][]byte, batch)
	for i := range cmds {
		k := fmt.Sprintf("key:%d", i)
		p.Do(set, args("SET", k, strings.Repeat("v", size)))
		cmds[i] = args("GET", k)
	}
	p.Flush()
	p.Out().Reset()
	// Bound the replies held as a connection does (server.conn.start).
	p.SetDrain(max(16<<10, (1<<20)/len(r.Shards())), func() bool {
		p.Out().Reset()
		return true
	})
	b.SetBytes(int64(batch * size))
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cmds {
			p.Do(get, c)
		}
		p.Flush()
		p.Out().Reset()
	}
}

func BenchmarkGet16x16(b *testing.B)   { benchmarkGet(b, 16, 16) }
func BenchmarkGet16x4k(b *testing.B)   { benchmarkGet(b, 16, 4<<10) }
func BenchmarkGet16x100k(b *testing.B) { benchmarkGet(b, 16, 100_000) }

func BenchmarkRoundTrip1(b *testing.B)  { benchmarkRoundTrip(b, 1) }
func BenchmarkRoundTrip16(b *testing.B) { benchmarkRoundTrip(b, 16) }
func BenchmarkRoundTrip64(b *testing.B) { benchmarkRoundTrip(b, 64) }

// TestPipelineDrain checks Flush with a bound on the replies it holds: a
// shard stops its batch at the bound, the drain gets the replies so far in
// request order, the rest runs after, every reply comes once and in order,
// and no drain holds much more than the bound per shard.
func TestPipelineDrain(t *testing.T) {
	const bound = 1000
	r := newRouter(t, nil)
	p := r.NewPipeline(busy)
	var got []byte
	drains, most := 0, 0
	p.SetDrain(bound, func() bool {
		drains++
		most = max(most, p.Out().Len())
		got = append(got, outString(p)...)
		p.Out().Reset()
		return true
	})
	big := func(i int) string { return fmt.Sprintf("%03d", i) + string(make([]byte, 297)) }
	var cmds [][][]byte
	want := ""
	for i := range 60 {
		k := keyOn(t, r, i%3, fmt.Sprintf("s%d-", i))
		p.Do(command.Line.Lookup([]byte("SET")), args("SET", k, big(i)))
		cmds = append(cmds, args("GET", k))
		want += big(i) + "\n"
	}
	p.Flush()
	p.Out().Reset()
	for _, c := range cmds {
		p.Do(command.Line.Lookup(c[0]), c)
	}
	p.Flush()
	got = append(got, outString(p)...)
	if string(got) != want {
		t.Fatalf("got %d bytes of replies, want %d, in order", len(got), len(want))
	}
	// Three shards hold at most the bound plus one reply each.
	limit := 3 * (bound + 301)
	if most > limit {
		t.Errorf("a drain held %d bytes, want at most %d", most, limit)
	}
	if min := len(want) / limit; drains < min {
		t.Errorf("drained %d times, want at least %d", drains, min)
	}
}

// TestPipelineSplicesReplies checks that a large reply reaches Out without
// being copied: Out's pieces are the bytes the shard wrote, in the shard's
// buffer, and the shard writes its next replies elsewhere until Out is
// reset, so that a second Flush before the write leaves the first's
// replies as they were.
func TestPipelineSplicesReplies(t *testing.T) {
	r := newRouter(t, nil)
	p := r.NewPipeline(busy)
	val := func(c byte) string { return strings.Repeat(string(c), 100_000) }
	k1, k2 := keyOn(t, r, 0, "a"), keyOn(t, r, 0, "b")
	if got := run(p, args("SET", k1, val('1')), args("SET", k2, val('2'))); got != "OK\nOK\n" {
		t.Fatalf("SET: got %q", got)
	}
	get := command.Line.Lookup([]byte("GET"))

	p.Do(get, args("GET", k1))
	p.Do(get, args("GET", "small"))
	p.Flush()
	out := p.Out()
	if got, want := out.Spliced(), len(val('1'))+1; got != want {
		t.Fatalf("spliced %d bytes, want %d", got, want)
	}
	if got, want := out.W.Len(), len("ERR key not found\n"); got != want {
		t.Errorf("copied %d bytes into Out, want only the short reply's %d", got, want)
	}
	lent := [][]byte{out.Buffers()[0]}
	if len(lent[0]) != len(val('1'))+1 || testutil.Aliases(lent[0], out.W.Bytes()) {
		t.Fatalf("Out's first piece is not the reply in the shard's buffer")
	}

	// Another round before Out is written: the shard must not overwrite
	// the replies Out still references.
	p.Do(get, args("GET", k2))
	p.Flush()
	want := val('1') + "\nERR key not found\n" + val('2') + "\n"
	if got := outString(p); got != want {
		t.Fatalf("after a second Flush got %d bytes, want %d; the first reply was overwritten", len(got), len(want))
	}
	lent = append(lent, out.Buffers()[2])
	out.Reset()

	// Once Out is sent, its buffers serve the shard again.
	p.Do(get, args("GET", k1))
	p.Flush()
	if v := out.Buffers(); len(v) != 1 || !testutil.Aliases(v[0], lent[0]) && !testutil.Aliases(v[0], lent[1]) {
		t.Errorf("the shard's buffer that Out held was not used again")
	}
	if got := outString(p); got != val('1')+"\n" {
		t.Errorf("got %d bytes, want %d", len(got), len(val('1'))+1)
	}
	out.Reset()
}

// TestPipelineMutedDrain checks Flush with a drain that keeps Out (as a
// connection does with CLIENT REPLY OFF): the replies Out references are
// copied before the shard's buffer is compacted, so they stay intact.
func TestPipelineMutedDrain(t *testing.T) {
	r := newRouter(t, nil)
	p := r.NewPipeline(busy)
	p.SetDrain(1000, func() bool { return true })
	val := func(i int) string { return fmt.Sprintf("%04d", i) + strings.Repeat("v", 1996) }
	var (
		want string
		keys []string
	)
	for i := range 10 {
		k := keyOn(t, r, i%2, fmt.Sprintf("m%d-", i))
		run(p, args("SET", k, val(i)))
		keys = append(keys, k)
		want += val(i) + "\n"
	}
	for _, k := range keys {
		p.Do(command.Line.Lookup([]byte("GET")), args("GET", k))
	}
	p.Flush()
	if got := outString(p); got != want {
		t.Fatalf("got %d bytes, want %d, in order and intact", len(got), len(want))
	}
	p.Out().Reset()
}
