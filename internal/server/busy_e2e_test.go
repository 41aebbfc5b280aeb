package server

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const (
	busyEval = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
	busyFunc = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
)

// busyServer starts a server of 3 shards whose scripts are busy as soon
// as the engine looks (threshold 0), and whose scripts can call
// redis.gate(n): true once the test has opened gate n (see open).
func busyServer(t *testing.T) (*testServer, func(n int32)) { return busyServerWith(t, nil) }

// busyServerWith is busyServer with the defaults also changed by edit.
func busyServerWith(t *testing.T, edit func(*Config)) (*testServer, func(n int32)) {
	var gate atomic.Int32
	ts := start(t, func(c *Config) {
		if edit != nil {
			edit(c)
		}
		c.Router.Shards = 3
		c.Scripts.BusyThreshold = 0
		c.Scripts.Lib = map[string]lua.LGFunction{
			"gate": func(L *lua.LState) int {
				L.Push(lua.LBool(gate.Load() >= int32(L.CheckInt(1))))
				return 1
			},
		}
	})
	// A test that fails with a script waiting opens every gate, so that
	// the server can shut down.
	t.Cleanup(func() { gate.Store(1 << 30) })
	return ts, func(n int32) { gate.Store(n) }
}

// otherShard returns a key on another shard than each of keys.
func otherShard(ts *testServer, keys ...string) string {
	r := ts.Router().Ring()
	for i := 0; ; i++ {
		k := "o" + strings.Repeat("x", i)
		ok := true
		for _, key := range keys {
			if r.Lookup([]byte(k)) == r.Lookup([]byte(key)) {
				ok = false
			}
		}
		if ok {
			return k
		}
	}
}

// waitReply sends args on c until the reply is want, failing after 10 s:
// it waits for a script to become busy, an event the test cannot be told
// of otherwise.
func waitReply(t *testing.T, c *client, want string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.raw(args...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q: got %q, want %q", args, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestScriptBusy runs a script that loops until the test opens a gate or
// kills it, and checks what other clients get meanwhile: BUSY with Redis's
// text for its shard's commands (alone, in a pipeline, spanning shards),
// service as usual on the other shards, and SCRIPT KILL stopping it.
func TestScriptBusy(t *testing.T) {
	ts, open := busyServer(t)
	a, b, c := ts.dial(t), ts.dial(t), ts.dial(t)
	other := otherShard(ts, "k")
	const loop = "while not redis.gate(1) do end return 'done'"
	a.send(respCmd("EVAL", loop, "1", "k"))
	waitReply(t, b, busyEval, "GET", "k")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SET", other, "v"}, "+OK\r\n"},
		{[]string{"GET", other}, "$1\r\nv\r\n"},
		{[]string{"MGET", "k", other}, busyEval},
		{[]string{"EVAL", "return redis.call('get', KEYS[1])", "1", other}, "$1\r\nv\r\n"},
		{[]string{"EVAL", "return 1", "0"}, busyEval},
		{[]string{"FUNCTION", "KILL"}, busyEval},
		{[]string{"PING"}, "+PONG\r\n"},
	} {
		if got := b.raw(tc.args...); got != tc.want {
			t.Errorf("%q while busy: got %q, want %q", tc.args, got, tc.want)
		}
	}
	// A pipeline: the busy shard's command is refused, the others run.
	b.send(respCmd("GET", other) + respCmd("INCR", "k") + respCmd("GET", other))
	for _, want := range []string{"$1\r\nv\r\n", busyEval, "$1\r\nv\r\n"} {
		if got, err := readRESP(b.rd); err != nil || got != want {
			t.Errorf("pipeline: got %q (%v), want %q", got, err, want)
		}
	}
	if got := c.raw("FUNCTION", "STATS"); !strings.Contains(got, "$4\r\nname\r\n$42\r\nf_") {
		t.Errorf("FUNCTION STATS while busy: got %q", got)
	}
	if got := c.raw("SCRIPT", "KILL"); got != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: got %q", got)
	}
	if got, _ := readRESP(a.rd); !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL... script: ") {
		t.Fatalf("the killed script answered %q", got)
	}
	if got := b.raw("INCR", "k"); got != ":1\r\n" {
		t.Fatalf("INCR after the kill: got %q", got)
	}
	open(1)
	if got := a.raw("EVAL", loop, "1", "k"); got != "$4\r\ndone\r\n" {
		t.Fatalf("the script with the gate open: got %q", got)
	}
}

// TestScriptBusyUnkillable checks that a busy script that wrote cannot be
// killed, that the shards of a script of several shards are all busy, and
// that the script's writes are there when it ends.
func TestScriptBusyUnkillable(t *testing.T) {
	ts, open := busyServer(t)
	a, b := ts.dial(t), ts.dial(t)
	k2 := otherShard(ts, "k")
	third := otherShard(ts, "k", k2)
	a.send(respCmd("EVAL", "redis.call('set', KEYS[1], 'x') redis.call('set', KEYS[2], 'y') while not redis.gate(1) do end return 'done'", "2", "k", k2))
	waitReply(t, b, busyEval, "GET", "k")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"GET", k2}, busyEval},
		{[]string{"SET", third, "z"}, "+OK\r\n"},
		{[]string{"SCRIPT", "KILL"}, "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"},
		{[]string{"FUNCTION", "KILL"}, "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"},
	} {
		if got := b.raw(tc.args...); got != tc.want {
			t.Errorf("%q while busy: got %q, want %q", tc.args, got, tc.want)
		}
	}
	open(1)
	if got, _ := readRESP(a.rd); got != "$4\r\ndone\r\n" {
		t.Fatalf("the script answered %q", got)
	}
	if got := b.raw("MGET", "k", k2, third); got != "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n" {
		t.Fatalf("MGET after the script: got %q", got)
	}
}

// TestFunctionBusy checks the replies that name FUNCTION KILL while a
// function is busy, and FUNCTION KILL stopping it.
func TestFunctionBusy(t *testing.T) {
	ts, _ := busyServer(t)
	a, b := ts.dial(t), ts.dial(t)
	b.raw("FUNCTION", "LOAD", "#!lua name=loop\nredis.register_function{function_name='loop', callback=function() while not redis.gate(1) do end end, flags={'no-writes'}}")
	a.send(respCmd("FCALL", "loop", "1", "k"))
	waitReply(t, b, busyFunc, "GET", "k")
	if got := b.raw("SCRIPT", "KILL"); got != busyFunc {
		t.Errorf("SCRIPT KILL of a function: got %q", got)
	}
	if got := b.raw("FUNCTION", "STATS"); !strings.Contains(got, "$7\r\ncommand\r\n*4\r\n$5\r\nFCALL\r\n$4\r\nloop\r\n$1\r\n1\r\n$1\r\nk\r\n") {
		t.Errorf("FUNCTION STATS: got %q", got)
	}
	if got := b.raw("FUNCTION", "KILL"); got != "+OK\r\n" {
		t.Fatalf("FUNCTION KILL: got %q", got)
	}
	if got, _ := readRESP(a.rd); got != "-ERR Script killed by user with SCRIPT KILL... script: loop, on @user_function:2.\r\n" {
		t.Fatalf("the killed function answered %q", got)
	}
	if got := b.raw("GET", "k"); got != "$-1\r\n" {
		t.Fatalf("GET after the kill: got %q", got)
	}
}

// TestBusyThresholdConfig checks CONFIG GET and SET of busy-reply-threshold
// and its older name, with Redis's replies.
func TestBusyThresholdConfig(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"CONFIG", "GET", "busy-reply-threshold"}, "*2\r\n$20\r\nbusy-reply-threshold\r\n$4\r\n5000\r\n"},
		{[]string{"CONFIG", "SET", "lua-time-limit", "100"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "busy-reply-threshold"}, "*2\r\n$20\r\nbusy-reply-threshold\r\n$3\r\n100\r\n"},
		{[]string{"CONFIG", "GET", "lua-time-limit"}, "*2\r\n$14\r\nlua-time-limit\r\n$3\r\n100\r\n"},
		{[]string{"CONFIG", "SET", "busy-reply-threshold", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'busy-reply-threshold') - argument must be between 0 and 9223372036854775807 inclusive\r\n"},
		{[]string{"CONFIG", "SET", "busy-reply-threshold", "abc"}, "-ERR CONFIG SET failed (possibly related to argument 'busy-reply-threshold') - argument couldn't be parsed into an integer\r\n"},
		{[]string{"CONFIG", "SET", "busy-reply-threshold", "0"}, "+OK\r\n"},
	} {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
	if got := ts.scripts.BusyThreshold(); got != 0 {
		t.Fatalf("threshold after CONFIG SET 0: %v", got)
	}
}
