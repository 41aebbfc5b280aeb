package router

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

var respBusy = []byte("-BUSY server is busy, try again later\r\n")

// do sends one command of table t (command.Redis or command.Line) through p
// and returns its reply.
func do(p *Pipeline, t command.Table, a ...string) string {
	argv := args(a...)
	p.Do(t.Lookup(argv[0]), argv)
	p.Flush()
	out := outString(p)
	p.Out().Reset()
	return out
}

// parseArray parses a RESP2 array of bulk strings.
func parseArray(t *testing.T, reply string) []string {
	t.Helper()
	fail := func() []string { t.Fatalf("not an array of bulk strings: %.200q", reply); return nil }
	line := func() string {
		i := strings.Index(reply, "\r\n")
		if i < 0 {
			fail()
		}
		l := reply[:i]
		reply = reply[i+2:]
		return l
	}
	h := line()
	if h == "" || h[0] != '*' {
		return fail()
	}
	n, err := strconv.Atoi(h[1:])
	if err != nil {
		return fail()
	}
	out := make([]string, 0, n)
	for range n {
		h := line()
		if h == "" || h[0] != '$' {
			return fail()
		}
		l, err := strconv.Atoi(h[1:])
		if err != nil || len(reply) < l+2 {
			return fail()
		}
		out = append(out, reply[:l])
		reply = reply[l+2:]
	}
	if reply != "" {
		fail()
	}
	return out
}

// fill sets n keys named prefix0, prefix1, … and returns them. It sends
// them in batches that fit the shards' queues.
func fill(t testing.TB, p *Pipeline, prefix string, n int) []string {
	t.Helper()
	spec := command.Line.Lookup([]byte("SET"))
	keys := make([]string, n)
	for i := range keys {
		keys[i] = prefix + strconv.Itoa(i)
		p.Do(spec, args("SET", keys[i], "v"))
		if p.Pending() == min(256, int(p.r.shardQueue)) || i == n-1 {
			p.Flush()
			if strings.Contains(outString(p), "BUSY") {
				t.Fatal("BUSY while filling")
			}
			p.Out().Reset()
		}
	}
	return keys
}

// wait waits for ch for at most 10 seconds and fails the test if nothing
// came: a command that should run is stalled.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	return testutil.Receive(t, ch, 10*time.Second, what)
}

// countOnce fails t unless every key of want appears exactly once in got.
func countOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	n := make(map[string]int, len(got))
	for _, k := range got {
		n[k]++
	}
	for _, k := range want {
		if n[k] != 1 {
			t.Errorf("%s: key %q reported %d times, want once", what, k, n[k])
		}
	}
}

// TestGatherDoesNotStall holds the last shard, so that KEYS must wait for it,
// and checks that commands on the first shard still run meanwhile: KEYS does
// not keep a shard while it waits for another. With every shard held at
// once, the SET below would wait for KEYS, which waits for the last shard.
func TestGatherDoesNotStall(t *testing.T) {
	const shards = 4
	r := newRouter(t, func(c *Config) { c.Shards = shards })
	keys := fill(t, r.NewPipeline(busy), "key", 200)

	_, release, err := r.HoldShard(context.Background(), shards-1)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	releaseOnce := func() { once.Do(release) }
	t.Cleanup(releaseOnce)

	keysDone := make(chan string, 1)
	go func() { keysDone <- do(r.NewPipeline(respBusy), command.Redis, "KEYS", "*") }()

	// Wait until KEYS is queued at the held shard: it has read the others.
	deadline := time.Now().Add(10 * time.Second)
	for r.Shards()[shards-1].Pending() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("KEYS never reached the last shard")
		}
		time.Sleep(time.Millisecond)
	}

	k0 := keyOn(t, r, 0, "new")
	setDone := make(chan string, 1)
	go func() {
		p := r.NewPipeline(respBusy)
		setDone <- do(p, command.Redis, "SET", k0, "x") + do(p, command.Redis, "GET", keys[0])
	}()
	if got, want := wait(t, setDone, "SET and GET while KEYS waits"), "+OK\r\n$1\r\nv\r\n"; got != want {
		t.Fatalf("SET and GET while KEYS waits: got %q, want %q", got, want)
	}
	select {
	case got := <-keysDone:
		t.Fatalf("KEYS returned while a shard was held: %.200q", got)
	default:
	}

	releaseOnce()
	got := parseArray(t, wait(t, keysDone, "KEYS after the release"))
	countOnce(t, "KEYS *", got, keys)
	if len(got) != len(keys) && len(got) != len(keys)+1 {
		t.Errorf("KEYS *: got %d keys, want %d (or one more, the key set meanwhile)", len(got), len(keys))
	}
}

// TestGatherExactlyOnce reads the keys in parts of 1, 3 and the default size
// while other keys are set and deleted on every shard, and checks that every
// key present for the whole command is reported exactly once, that expired
// keys are not, and that LIST is sorted without repeats.
func TestGatherExactlyOnce(t *testing.T) {
	for _, part := range []int{1, 3, DefaultGatherPart} {
		t.Run(fmt.Sprint("part", part), func(t *testing.T) {
			r := newRouter(t, func(c *Config) {
				c.Shards = 4
				c.GatherPart = part
				c.Shard = shard.DefaultConfig()
				c.Shard.ExpireInterval = time.Hour // expired keys stay in the engines
			})
			p := r.NewPipeline(respBusy)
			stable := fill(t, p, "stable:", 300)
			// Keys that expire in 1 ms, after the first stable ones in
			// slot order.
			for i := range 50 {
				k := "expired:" + strconv.Itoa(i)
				if got := do(p, command.Redis, "SET", k, "v", "PX", "1"); got != "+OK\r\n" {
					t.Fatalf("SET PX: got %q", got)
				}
			}
			// More stable keys, after the expired ones in slot order.
			stable = append(stable, fill(t, p, "stable2:", 100)...)
			time.Sleep(5 * time.Millisecond) // past their expiry
			var inEngines int64
			for _, s := range r.Shards() {
				inEngines += s.Keys()
			}
			if inEngines != 450 {
				t.Fatalf("got %d keys in the engines, want 450, the expired ones included", inEngines)
			}

			stop := make(chan struct{})
			churned := make(chan int)
			go func() {
				cp := r.NewPipeline(respBusy)
				n := 0
				for {
					select {
					case <-stop:
						churned <- n
						return
					default:
					}
					k := "churn:" + strconv.Itoa(n%37)
					if n%2 == 0 {
						do(cp, command.Redis, "SET", k, "v")
					} else {
						do(cp, command.Redis, "DEL", k)
					}
					n++
				}
			}()

			for range 3 {
				got := parseArray(t, do(p, command.Redis, "KEYS", "*"))
				countOnce(t, "KEYS *", got, stable)
				for _, k := range got {
					if strings.HasPrefix(k, "expired:") {
						t.Errorf("KEYS *: expired key %q reported", k)
					}
				}
				got = parseArray(t, do(p, command.Redis, "KEYS", "stable2:*"))
				countOnce(t, "KEYS stable2:*", got, stable[300:])
				if len(got) != 100 {
					t.Errorf("KEYS stable2:*: got %d keys, want 100", len(got))
				}
				list := parseArray(t, do(p, command.Redis, "LIST"))
				countOnce(t, "LIST", list, stable)
				if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
					t.Errorf("LIST: not sorted without repeats: %q", list)
				}
				line := strings.TrimSuffix(do(p, command.Line, "LIST"), "\n")
				lineKeys := strings.Split(line, ",")
				countOnce(t, "line LIST", lineKeys, stable)
				if !slices.IsSorted(lineKeys) {
					t.Errorf("line LIST: not sorted: %q", line)
				}
			}
			close(stop)
			t.Logf("%d writes ran meanwhile", wait(t, churned, "the writer"))

			// Quiet now: the exact replies, as before.
			for i := range 37 {
				do(p, command.Redis, "DEL", "churn:"+strconv.Itoa(i))
			}
			want := slices.Clone(stable)
			slices.Sort(want)
			if got, want := do(p, command.Line, "LIST"), strings.Join(want, ",")+"\n"; got != want {
				t.Errorf("line LIST: got %.200q, want %.200q", got, want)
			}
		})
	}
}

// TestGatherMatchesHeld checks that KEYS and LIST read in parts reply
// byte for byte as when they run with every shard held (inside EXEC).
func TestGatherMatchesHeld(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.Shards = 3; c.GatherPart = 7 })
	p := r.NewPipeline(respBusy)
	fill(t, p, "a", 50)
	fill(t, p, "b:", 50)
	do(p, command.Redis, "SET", "", "empty key")
	do(p, command.Redis, "SET", "x,y\xff", "binary")
	cases := []struct {
		table command.Table
		args  []string
	}{
		{command.Redis, []string{"KEYS", "*"}},
		{command.Redis, []string{"KEYS", "b:*"}},
		{command.Redis, []string{"KEYS", "a1?"}},
		{command.Redis, []string{"KEYS", "nomatch"}},
		{command.Redis, []string{"LIST"}},
		{command.Line, []string{"LIST"}},
	}
	all := []bool{true, true, true}
	for _, tt := range cases {
		got := do(p, tt.table, tt.args...)

		argv := args(tt.args...)
		dbs, ok := p.Hold(all)
		if !ok {
			t.Fatal("Hold failed on an idle router")
		}
		var c command.Ctx
		c.W = &p.Out().W
		c.Held(dbs, r.Ring())
		tt.table.Lookup(argv[0]).Run(&c, argv)
		p.Release()
		want := outString(p)
		p.Out().Reset()

		if got != want {
			t.Errorf("%q: got %.300q, want %.300q", tt.args, got, want)
		}
	}
	// An empty server.
	e := newRouter(t, nil).NewPipeline(busy)
	if got := do(e, command.Line, "LIST"); got != "\n" {
		t.Errorf("line LIST when empty: got %q, want %q", got, "\n")
	}
	if got := do(e, command.Redis, "KEYS", "*"); got != "*0\r\n" {
		t.Errorf("KEYS * when empty: got %q, want %q", got, "*0\r\n")
	}
}

// TestGatherBusy fills a shard's queue and checks that KEYS waits for room,
// then answers BUSY, counted once as a refusal by the shard; and that it gets
// its keys once the room is back.
func TestGatherBusy(t *testing.T) {
	r := newRouter(t, func(c *Config) { c.ShardQueue = 1 })
	r.gatherWait = 20 * time.Millisecond
	keys := fill(t, r.NewPipeline(busy), "key", 100)

	_, release, err := r.HoldShard(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(release) })
	// A SET waits in shard 1's queue behind the hold: the queue is full.
	setDone := make(chan string, 1)
	k1 := keyOn(t, r, 1, "q")
	go func() { setDone <- do(r.NewPipeline(busy), command.Line, "SET", k1, "v") }()
	deadline := time.Now().Add(10 * time.Second)
	for r.Shards()[1].Pending() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the SET never queued")
		}
		time.Sleep(time.Millisecond)
	}

	p := r.NewPipeline(respBusy)
	p.Do(command.Redis.Lookup([]byte("GET")), args("GET", keys[0])) // before KEYS, answered first
	p.Do(command.Redis.Lookup([]byte("KEYS")), args("KEYS", "*"))
	p.Flush()
	if got, want := outString(p), "$1\r\nv\r\n"+string(respBusy); got != want {
		t.Fatalf("GET and KEYS with a full queue: got %.200q, want %q", got, want)
	}
	p.Out().Reset()
	if rb, sb := r.Busy(); rb != 0 || sb != 1 {
		t.Errorf("busy counts: got router %d, shard %d, want 0, 1", rb, sb)
	}
	if got := r.Shards()[1].Busy(); got != 0 {
		t.Errorf("shard 1 counted %d refusals while KEYS waited, want 0", got)
	}
	if r.InFlight() != 1 { // the queued SET
		t.Errorf("in flight: got %d, want 1", r.InFlight())
	}

	// With room back, KEYS waits for it instead of answering BUSY.
	r.gatherWait = time.Minute
	keysDone := make(chan string, 1)
	go func() { keysDone <- do(p, command.Redis, "KEYS", "*") }()
	once.Do(release)
	if got := wait(t, setDone, "the queued SET"); got != "OK\n" {
		t.Errorf("queued SET: got %q", got)
	}
	got := parseArray(t, wait(t, keysDone, "KEYS"))
	countOnce(t, "KEYS *", got, keys)
}

// TestGatherPanic checks that a Gather whose part panics answers an error,
// gives its shard back, and leaves the connection usable.
func TestGatherPanic(t *testing.T) {
	r := newRouter(t, nil)
	p := r.NewPipeline(respBusy)
	fill(t, p, "k", 10)
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	boom := &command.Spec{Name: "boom", Arity: 1, Kind: command.AllShards, Gather: &command.Gather{
		Part:  func(*command.Keys, *keyspace.DB, uint64, int, [][]byte) uint64 { panic("boom") },
		Reply: func(*resp.Writer, *command.Keys, [][]byte) {},
	}}
	p.Do(boom, args("boom"))
	p.Flush()
	if got, want := outString(p), "-ERR internal error while running 'boom'\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	p.Out().Reset()
	if got := parseArray(t, do(p, command.Redis, "KEYS", "k1")); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("KEYS after a panic: got %q", got)
	}
}

func benchmarkGather(b *testing.B, n int, table command.Table, cmd ...string) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := r.NewPipeline(busy)
	keys := fill(b, p, "key:", n)
	spec, argv := table.Lookup([]byte(cmd[0])), args(cmd...)
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		p.Do(spec, argv)
		p.Flush()
		size = p.Out().Len()
		p.Out().Reset()
	}
	b.SetBytes(int64(size))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
}

func BenchmarkKeys100k(b *testing.B) { benchmarkGather(b, 100_000, command.Redis, "KEYS", "*") }
func BenchmarkKeysMatch100k(b *testing.B) {
	benchmarkGather(b, 100_000, command.Redis, "KEYS", "key:1*")
}
func BenchmarkList100k(b *testing.B)     { benchmarkGather(b, 100_000, command.Redis, "LIST") }
func BenchmarkLineList100k(b *testing.B) { benchmarkGather(b, 100_000, command.Line, "LIST") }

// BenchmarkKeysHeld100k runs KEYS * with every shard held at once, as inside
// EXEC: what reading in parts costs is the difference with BenchmarkKeys100k.
func BenchmarkKeysHeld100k(b *testing.B) {
	r, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	p := r.NewPipeline(busy)
	fill(b, p, "key:", 100_000)
	spec, argv := command.Redis.Lookup([]byte("KEYS")), args("KEYS", "*")
	all := []bool{true, true, true}
	var c command.Ctx
	b.ReportAllocs()
	for b.Loop() {
		dbs, ok := p.Hold(all)
		if !ok {
			b.Fatal("Hold failed")
		}
		c.W = &p.Out().W
		c.Held(dbs, r.Ring())
		spec.Run(&c, argv)
		p.Release()
		p.Out().Reset()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100_000), "ns/key")
}

func TestGatherPartConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.GatherPart = -1
	if _, err := New(cfg); err == nil {
		t.Error("GatherPart -1: got no error")
	}
	cfg.GatherPart = 0 // the default
	r := newRouter(t, func(c *Config) { *c = cfg })
	if r.gatherPart != DefaultGatherPart {
		t.Errorf("GatherPart 0: got parts of %d, want %d", r.gatherPart, DefaultGatherPart)
	}
}
