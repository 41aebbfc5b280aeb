package cluster

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/script"
)

// scriptGroup starts a group of three replicas that run scripts with one
// engine, whose scripts are busy after busy (0 for Redis's default) and
// can call redis.gate(n): true once the test has opened gate n.
func scriptGroup(t *testing.T, busy time.Duration, edit func(*GroupConfig)) (*testGroup, *script.Engine, func(n int32)) {
	t.Helper()
	var gate atomic.Int32
	cfg := script.DefaultConfig()
	if busy > 0 {
		cfg.BusyThreshold = busy
	}
	cfg.Lib = map[string]lua.LGFunction{
		"gate": func(L *lua.LState) int {
			L.Push(lua.LBool(gate.Load() >= int32(L.CheckInt(1))))
			return 1
		},
	}
	eng := script.New(cfg)
	tg := newTestGroup(t, func(c *GroupConfig) {
		c.Scripts = eng
		if edit != nil {
			edit(c)
		}
	})
	// A test that fails with a script waiting opens every gate, so that
	// the group can stop.
	t.Cleanup(func() { gate.Store(1 << 30) })
	return tg, eng, func(n int32) { gate.Store(n) }
}

// state returns what replica id holds under keys, read on its own: each
// key's type and value, a set's members sorted.
func (tg *testGroup) state(id uint64, keys ...string) string {
	tg.t.Helper()
	var b strings.Builder
	for _, k := range keys {
		typ := tg.mustDo(id, Stale, "TYPE", k)
		b.WriteString(k + " " + strings.Trim(typ, "+\r\n") + " ")
		switch typ {
		case "+string\r\n":
			b.WriteString(tg.mustDo(id, Stale, "GET", k))
		case "+list\r\n":
			b.WriteString(tg.mustDo(id, Stale, "LRANGE", k, "0", "-1"))
		case "+set\r\n":
			m := strings.Split(tg.mustDo(id, Stale, "SMEMBERS", k), "\r\n")
			slices.Sort(m)
			b.WriteString(strings.Join(m, ","))
		case "+hash\r\n":
			b.WriteString(tg.mustDo(id, Stale, "HGETALL", k))
		}
		b.WriteString(tg.mustDo(id, Stale, "PEXPIRETIME", k) + "\n")
	}
	return b.String()
}

// sameEverywhere waits until every replica holds what the leader l holds
// under keys, and returns it.
func (tg *testGroup) sameEverywhere(l uint64, keys ...string) string {
	tg.t.Helper()
	want := tg.state(l, keys...)
	for id := range tg.reps {
		var got string
		deadline := time.Now().Add(10 * time.Second)
		for got = tg.state(id, keys...); got != want && time.Now().Before(deadline); got = tg.state(id, keys...) {
			time.Sleep(5 * time.Millisecond)
		}
		if got != want {
			tg.t.Fatalf("replica %d holds\n%s\nthe leader %d holds\n%s", id, got, l, want)
		}
	}
	return want
}

// TestScriptEffectsSameOnEveryReplica runs a script whose writes depend on
// what differs between replicas: the order in which one replica's set
// iterates (planted: rebuilt on that replica alone in another order), TIME,
// math.random, SPOP and SRANDMEMBER. Every replica ends up holding what the
// leader holds: the script ran once, and its writes were replicated.
func TestScriptEffectsSameOnEveryReplica(t *testing.T) {
	tg, _, _ := scriptGroup(t, 0, nil)
	l := tg.leader()
	tg.mustDo(l, Write, "SADD", "{s}", "a", "b", "c", "d", "e", "f")
	tg.sameEverywhere(l, "{s}")
	// Each follower's copy of the set iterates in another order than the
	// leader's: as a replica rebuilt from a snapshot may.
	for id := range tg.reps {
		if id == l {
			continue
		}
		tg.mustDo(id, Stale, "DEL", "{s}")
		if id%2 == 0 {
			tg.mustDo(id, Stale, "SADD", "{s}", "f", "e", "d", "c", "b", "a")
		} else {
			tg.mustDo(id, Stale, "SADD", "{s}", "c", "a", "e", "b", "f", "d")
		}
		if a, b := tg.mustDo(id, Stale, "SMEMBERS", "{s}"), tg.mustDo(l, Stale, "SMEMBERS", "{s}"); a == b {
			t.Fatalf("replica %d's set iterates as the leader's: %q", id, a)
		}
	}
	const body = `
local m = redis.call('smembers', KEYS[1])
redis.call('rpush', KEYS[2], unpack(m))
redis.call('set', KEYS[3], m[1])
local t = redis.call('time')
redis.call('set', KEYS[4], math.random(1000000000) .. ':' .. t[1] .. '.' .. t[2], 'px', 100000 + math.random(1000))
redis.call('sadd', KEYS[5], redis.call('srandmember', KEYS[1]), redis.call('spop', KEYS[1]))
redis.call('hset', KEYS[6], 'popped', table.concat(redis.call('spop', KEYS[1], 2), ','))
return redis.call('scard', KEYS[1])`
	for _, want := range []string{":3\r\n", ":0\r\n"} {
		got, err := tg.do(l, Write, "EVAL", body, "6", "{s}", "{s}list", "{s}first", "{s}rand", "{s}picked", "{s}h")
		if err != nil || got != want {
			t.Fatalf("EVAL: got %q, %v, want %q", got, err, want)
		}
		tg.sameEverywhere(l, "{s}", "{s}list", "{s}first", "{s}rand", "{s}picked", "{s}h")
	}
}

// TestScriptEffectsKeptBeforeError runs scripts that fail after writing:
// what they wrote before the error stays, on every replica, as in Redis,
// and the client gets the error.
func TestScriptEffectsKeptBeforeError(t *testing.T) {
	tg, _, _ := scriptGroup(t, 0, nil)
	l := tg.leader()
	got, err := tg.do(l, Write, "EVAL", "redis.call('set', KEYS[1], 'kept') redis.call('incr', KEYS[2]) return redis.call('lpush', KEYS[1], 'x')", "2", "{k}", "{k}n")
	if err != nil || !strings.HasPrefix(got, "-WRONGTYPE Operation against a key holding the wrong kind of value") {
		t.Fatalf("EVAL: got %q, %v", got, err)
	}
	got, err = tg.do(l, Write, "EVAL", "redis.call('rpush', KEYS[1], 'a') error('boom')", "1", "l")
	if err != nil || !strings.HasPrefix(got, "-ERR user_script:1: boom") {
		t.Fatalf("EVAL: got %q, %v", got, err)
	}
	want := tg.sameEverywhere(l, "{k}", "{k}n", "l")
	if !strings.Contains(want, "{k} string $4\r\nkept\r\n") || !strings.Contains(want, "{k}n string $1\r\n1\r\n") ||
		!strings.Contains(want, "l list *1\r\n$1\r\na\r\n") {
		t.Fatalf("after the failed scripts:\n%s", want)
	}
}

// TestScriptEffectsLostTerm runs a script on a leader cut off from its
// followers: its effects entry never commits, and neither that replica nor
// any other keeps anything of it, even once the replica rejoins.
func TestScriptEffectsLostTerm(t *testing.T) {
	tg, _, _ := scriptGroup(t, 0, func(c *GroupConfig) { c.ElectionTicks = 50 })
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "{k}", "before")
	tg.sameEverywhere(l, "{k}")
	const lost = "{k} string $6\r\nbefore\r\n:-1\r\n\n{k}n none :-2\r\n\n"
	tg.net.isolate(l, true)
	got, err := tg.do(l, Write, "EVAL", "redis.call('set', KEYS[1], 'script') return redis.call('incr', KEYS[2])", "2", "{k}", "{k}n")
	if !errors.Is(err, ErrUnknown) {
		t.Fatalf("EVAL on a cut off leader: got %q, %v, want %v", got, err, ErrUnknown)
	}
	if got := tg.state(l, "{k}", "{k}n"); got != lost {
		t.Fatalf("the cut off leader holds\n%s", got)
	}
	l2 := tg.leader(l)
	tg.mustDo(l2, Write, "SET", "after", "1")
	tg.net.isolate(l, false)
	eventually(t, "the old leader follows", func() bool {
		r, _ := tg.do(l, Stale, "GET", "after")
		return r == "$1\r\n1\r\n"
	})
	if got := tg.sameEverywhere(l2, "{k}", "{k}n"); got != lost {
		t.Fatalf("after the old leader rejoined:\n%s", got)
	}
}

// TestScriptEffectsReadOnly runs scripts that write nothing, EVAL_RO and
// EVAL of a script that only reads, with Read and Write requests: they are
// answered and propose no entry.
func TestScriptEffectsReadOnly(t *testing.T) {
	tg, _, _ := scriptGroup(t, 0, nil)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "k", "v")
	before := tg.reps[l].stats.Proposals.Load()
	for _, tc := range []struct {
		mode Mode
		args []string
		want string
	}{
		{Read, []string{"EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"}, "$1\r\nv\r\n"},
		{Write, []string{"EVAL", "return redis.call('get', KEYS[1])", "1", "k"}, "$1\r\nv\r\n"},
		{Read, []string{"EVAL_RO", "return redis.call('set', KEYS[1], 'x')", "1", "k"}, "-ERR Write commands are not allowed from read-only scripts. script: "},
		{Write, []string{"EVAL", "return redis.call('set', KEYS[1])", "1", "k"}, "-ERR Wrong number of args calling Redis command from script script: "},
	} {
		got, err := tg.do(l, tc.mode, tc.args...)
		if err != nil || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%v: got %q, %v, want %q", tc.args, got, err, tc.want)
		}
	}
	if after := tg.reps[l].stats.Proposals.Load(); after != before {
		t.Errorf("scripts that wrote nothing proposed %d entries", after-before)
	}
}

// TestScriptEffectsPipeline sends a script in one request with writes
// before and after it: each command sees the ones before, and every
// replica ends up alike.
func TestScriptEffectsPipeline(t *testing.T) {
	tg, _, _ := scriptGroup(t, 0, nil)
	l := tg.leader()
	ch := make(chan string, 1)
	tg.reps[l].Submit(&Request{Cmds: [][][]byte{
		{[]byte("SET"), []byte("n"), []byte("10")},
		{[]byte("EVAL"), []byte("return redis.call('incrby', KEYS[1], ARGV[1])"), []byte("1"), []byte("n"), []byte("5")},
		{[]byte("INCR"), []byte("n")},
	}, Proto: 2, Mode: Write, Done: func(reply []byte, _ []int, err error) { ch <- string(reply) + errString(err) }})
	if got := <-ch; got != "+OK\r\n:15\r\n:16\r\n" {
		t.Fatalf("pipeline: got %q", got)
	}
	tg.sameEverywhere(l, "n")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// idleGroup returns a replica that runs scripts and is never started: a
// test calls its run goroutine's methods itself.
func idleGroup(t *testing.T) *Group {
	t.Helper()
	cfg := DefaultGroupConfig()
	cfg.ReplicaID, cfg.Peers = 1, []uint64{1}
	cfg.Storage, cfg.Send = &MemStorage{}, func(uint64, *raftpb.Message) bool { return true }
	cfg.Scripts = script.New(script.DefaultConfig())
	g, err := NewGroup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestScriptOldEntries applies entries written before scripts were
// replicated as their effects, which hold EVAL and FCALL themselves: a
// replica still runs them, at the entry's time and with its seed.
func TestScriptOldEntries(t *testing.T) {
	g := idleGroup(t)
	lib := "#!lua name=old\nredis.register_function('put', function(keys, args) return redis.call('set', keys[1], args[1]) end)"
	for i, cmds := range [][][][]byte{
		{{[]byte("eval"), []byte("redis.call('set', KEYS[1], redis.call('time')[1]) return redis.call('sadd', KEYS[2], 'a', 'b')"), []byte("2"), []byte("{o}t"), []byte("{o}s")}},
		{{[]byte("\x00fcall"), []byte(lib), []byte("fcall"), []byte("put"), []byte("1"), []byte("f"), []byte("v")}},
		{{[]byte("eval"), []byte("return redis.call('spop', KEYS[1])"), []byte("1"), []byte("{o}s")}},
	} {
		data := []byte{entryCommands}
		data = appendU64(data, 2) // from another replica
		data = appendU64(data, 7)
		data = appendU64(data, uint64(1_700_000_000_000))
		data = append(data, 2)
		data = appendCommands(data, cmds)
		g.apply(&raftpb.Entry{Index: new(uint64(i + 1)), Term: new(uint64(1)), Type: new(raftpb.EntryNormal), Data: data})
	}
	g.begin(2)
	for _, tc := range []struct{ key, want string }{{"{o}t", "1700000000"}, {"f", "v"}} {
		if v, ok := g.db.Get([]byte(tc.key)); !ok || string(v) != tc.want {
			t.Errorf("GET %s: got %q, %v, want %q", tc.key, v, ok, tc.want)
		}
	}
	for _, k := range []string{"{o}t", "{o}s", "f"} {
		if !g.db.Exists([]byte(k)) {
			t.Errorf("key %s missing", k)
		}
	}
}

// TestScriptBusyKeepsLeadership runs scripts for longer than the busy
// threshold and the election timeout: the group keeps its leader, its
// other requests are answered Redis's BUSY text meanwhile, SCRIPT KILL
// stops a script that wrote nothing, and a script that wrote is
// unkillable and its writes replicate once it ends.
func TestScriptBusyKeepsLeadership(t *testing.T) {
	tg, eng, open := scriptGroup(t, 20*time.Millisecond, nil)
	l := tg.leader()
	term := tg.reps[l].Status().Term
	const busy = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"

	run := func(body string, keys ...string) chan string {
		ch := make(chan string, 1)
		args := [][]byte{[]byte("EVAL"), []byte(body), []byte{byte('0' + len(keys))}}
		for _, k := range keys {
			args = append(args, []byte(k))
		}
		tg.reps[l].Submit(&Request{Cmds: [][][]byte{args}, Proto: 2, Mode: Write,
			Done: func(reply []byte, _ []int, err error) { ch <- string(reply) + errString(err) }})
		return ch
	}
	done := run("while not redis.gate(1) do end return 1", "k")
	eventually(t, "the script busy", eng.Busy)
	for _, mode := range []Mode{Read, Write} {
		if got, err := tg.do(l, mode, "GET", "k"); err != nil || got != busy {
			t.Fatalf("GET while busy: got %q, %v", got, err)
		}
	}
	// Three election timeouts pass, and the leader stays.
	start := time.Now()
	eventually(t, "three election timeouts", func() bool {
		return time.Since(start) > 3*time.Duration(tg.cfg.ElectionTicks)*tg.cfg.Tick
	})
	for id, g := range tg.reps {
		if s := g.Status(); s.Leader != l || s.Term != term {
			t.Fatalf("replica %d: leader %d term %d, want %d and %d", id, s.Leader, s.Term, l, term)
		}
	}
	if err := eng.Kill(false); err != nil {
		t.Fatalf("SCRIPT KILL: %v", err)
	}
	if got := <-done; got != "-ERR Script killed by user with SCRIPT KILL... script: " {
		if !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL...") {
			t.Fatalf("killed script: got %q", got)
		}
	}
	if got := tg.mustDo(l, Read, "GET", "k"); got != "$-1\r\n" {
		t.Fatalf("GET after the kill: got %q", got)
	}

	done = run("redis.call('set', KEYS[1], 'wrote') while not redis.gate(2) do end return redis.call('get', KEYS[1])", "k")
	eventually(t, "the script busy", eng.Busy)
	if err := eng.Kill(false); !errors.Is(err, script.ErrUnkillable) {
		t.Fatalf("SCRIPT KILL of a script that wrote: got %v", err)
	}
	if got, err := tg.do(l, Write, "SET", "other", "1"); err != nil || got != busy {
		t.Fatalf("SET while busy: got %q, %v", got, err)
	}
	open(2)
	if got := <-done; got != "$5\r\nwrote\r\n" {
		t.Fatalf("script: got %q", got)
	}
	tg.mustDo(l, Write, "SET", "other", "1")
	tg.sameEverywhere(l, "k", "other")
	if s := tg.reps[l].Status(); s.Leader != l || s.Term != term {
		t.Fatalf("leader %d term %d, want %d and %d", s.Leader, s.Term, l, term)
	}
}

// TestScriptEffectsUndo makes dry runs over a replica's keyspace and puts
// back what they changed: every key, its value, its encoding and its
// expiry are as before, keys the run created are gone, and a write
// without keys (FLUSHALL) is undone too.
func TestScriptEffectsUndo(t *testing.T) {
	g := idleGroup(t)
	do := func(cmds ...[]string) string {
		var args [][][]byte
		for _, c := range cmds {
			var a [][]byte
			for _, s := range c {
				a = append(a, []byte(s))
			}
			args = append(args, a)
		}
		g.run(args, 2, false, nil, time.Time{})
		return string(g.w.Bytes())
	}
	g.db.SetNow(time.Now().UnixMilli())
	do([]string{"SET", "{k}s", "v", "PX", "1000000"}, []string{"SADD", "{k}set", "c", "a", "b"},
		[]string{"RPUSH", "{k}l", "1", "2"}, []string{"HSET", "{k}h", "f", "v"}, []string{"SET", "other", "x"})
	keys := []string{"{k}s", "{k}set", "{k}l", "{k}h", "{k}new", "other"}
	snapshot := func() string {
		var cmds [][]string
		for _, k := range keys {
			cmds = append(cmds, []string{"DUMP", k}, []string{"PEXPIRETIME", k}, []string{"OBJECT", "ENCODING", k})
		}
		return do(cmds...)
	}
	before := snapshot()
	for _, body := range []string{
		"redis.call('set', KEYS[1], 'w') redis.call('sadd', KEYS[2], 'z', 1, 2, 3) redis.call('spop', KEYS[2]) redis.call('lpop', KEYS[3]) redis.call('del', KEYS[4]) redis.call('set', KEYS[5], 'n') redis.call('persist', KEYS[1]) return 1",
		"redis.call('set', KEYS[1], 'w') redis.call('flushall') redis.call('set', KEYS[5], 'n') return 1",
	} {
		fx := &effects{g: g, origin: 1, seq: 9, u: &undoLog{saved: map[string]savedKey{}}}
		g.fx = fx
		got := do([]string{"EVAL", body, "5", "{k}s", "{k}set", "{k}l", "{k}h", "{k}new"})
		g.fx = nil
		if got != ":1\r\n" {
			t.Fatalf("EVAL: got %q", got)
		}
		if len(fx.cmds) == 0 || snapshot() == before {
			t.Fatalf("the dry run changed nothing: %d commands", len(fx.cmds))
		}
		fx.u.undo(g)
		if after := snapshot(); after != before {
			t.Fatalf("after undo:\n%q\nbefore:\n%q", after, before)
		}
	}
}

// TestScriptEffectsBatch sends many scripts at once, which the leader runs
// in one dry run and logs as one entry each: each sees the ones before it,
// in the order they were sent, a script that only reads after some that
// wrote sees what they wrote, and every replica ends up alike.
func TestScriptEffectsBatch(t *testing.T) {
	tg, _, _ := scriptGroup(t, 0, nil)
	l := tg.leader()
	const n = 40
	replies := make([]chan string, n)
	for i := range replies {
		replies[i] = make(chan string, 1)
		body := "return redis.call('incr', KEYS[1])"
		if i%10 == 9 {
			body = "return tonumber(redis.call('get', KEYS[1]))"
		}
		tg.reps[l].Submit(&Request{Cmds: [][][]byte{{[]byte("EVAL"), []byte(body), []byte("1"), []byte("c")}}, Proto: 2, Mode: Write,
			Done: func(reply []byte, _ []int, err error) { replies[i] <- string(reply) + errString(err) }})
	}
	want := 0
	for i, ch := range replies {
		if i%10 != 9 {
			want++
		}
		if got := <-ch; got != ":"+strconv.Itoa(want)+"\r\n" {
			t.Fatalf("script %d: got %q, want :%d", i, got, want)
		}
	}
	if got := tg.sameEverywhere(l, "c"); !strings.Contains(got, "$2\r\n36\r\n") {
		t.Fatalf("c: %s", got)
	}
}
