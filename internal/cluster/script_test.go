package cluster

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestServerScripts runs scripts and functions on cluster nodes: their keys
// must share a slot, what they write reaches every replica of the group
// (read back from each node's own replica), random numbers and TIME
// included, and the script cache is each node's own, as in Redis Cluster
// (the libraries are the cluster's: see functions_test.go).
func TestServerScripts(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	ctx := context.Background()
	rc1 := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, 0, ServerConfig{}), Protocol: 2})
	defer rc1.Close()
	rc2 := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, 1, ServerConfig{}), Protocol: 2})
	defer rc2.Close()

	const body = "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[2]) return {redis.call('get', KEYS[1]), redis.call('get', KEYS[2])}"
	for i, rc := range []*redis.Client{rc1, rc2} {
		got, err := rc.Eval(ctx, body, []string{"{u}a", "{u}n"}, "v").StringSlice()
		if err != nil || len(got) != 2 || got[0] != "v" || got[1] != string(rune('1'+i)) {
			t.Fatalf("EVAL through node %d: got %q, %v", i+1, got, err)
		}
	}
	for _, tc := range []struct {
		args []any
		want string // an error's text, or its prefix when it ends with "…"
	}{
		{[]any{"eval", "return 1", "2", "a", "b"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"eval", "return redis.call('get', 'other')", "1", "{u}a"}, "ERR Script attempted to access keys that do not hash to the same slot script: …"},
		{[]any{"eval", "return redis.call('get', 'x')", "0"}, "ERR Script attempted to access a non local key in a cluster node script: …"},
		{[]any{"eval", "return redis.pcall('get', 'x')", "0"}, "ERR Script attempted to access a non local key in a cluster node"},
		{[]any{"eval_ro", "return redis.call('set', KEYS[1], 'x')", "1", "{u}a"}, "ERR Write commands are not allowed from read-only scripts. script: …"},
		{[]any{"evalsha", "ffffffffffffffffffffffffffffffffffffffff", "0"}, "NOSCRIPT No matching script. Please use EVAL."},
		{[]any{"eval", "return 1", "x"}, "ERR value is not an integer or out of range"},
		{[]any{"eval", "return 1", "01", "{u}a"}, "ERR value is not an integer or out of range"},
		// A script on a group runs as a dry run whose writes are proposed
		// afterwards: it publishes nothing, and asks its node nothing.
		{[]any{"eval", "return redis.call('publish', 'ch', 'm')", "1", "{u}a"}, "ERR This Redis command is not allowed from script script: …"},
		{[]any{"eval", "return redis.call('info')", "0"}, "ERR This Redis command is not allowed from script script: …"},
		{[]any{"eval", "return redis.call('select', '1')", "0"}, "ERR SELECT is not allowed in cluster mode script: …"},
		{[]any{"eval", "return redis.call('select', 'x')", "0"}, "ERR value is not an integer or out of range script: …"},
		{[]any{"eval", "#!lua flags=no-cluster\nreturn 1", "0"}, "ERR Can not run script on cluster, 'no-cluster' flag is set."},
		{[]any{"eval", "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", "1", "{u}a"}, "ERR Write commands are not allowed from read-only scripts. script: …"},
		{[]any{"eval_ro", "#!lua\nreturn 1", "0"}, "ERR Can not execute a script with write flag using *_ro command."},
		{[]any{"eval", "#!lua flags=bogus\nreturn 1", "0"}, "ERR Unexpected flag in script shebang: bogus"},
	} {
		err := rc1.Do(ctx, tc.args...).Err()
		if pre, ok := strings.CutSuffix(tc.want, "…"); ok && err != nil && strings.HasPrefix(err.Error(), pre) {
			continue
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
	if got, err := rc1.Eval(ctx, "return redis.call('ping')", nil).Text(); err != nil || got != "PONG" {
		t.Errorf("EVAL without keys: got %q, %v", got, err)
	}
	if got, err := rc1.Eval(ctx, "return {redis.call('select', '0'), #redis.call('command', 'info', 'get')}", []string{"{u}a"}).Slice(); err != nil || len(got) != 2 || got[0] != "OK" || got[1] != int64(1) {
		t.Errorf("SELECT and COMMAND from a script: got %v, %v", got, err)
	}
	for _, cmd := range []string{"eval", "eval_ro"} {
		if got, err := rc2.Do(ctx, cmd, "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "{u}a").Text(); err != nil || got != "v" {
			t.Errorf("%s of a no-writes script: got %q, %v", cmd, got, err)
		}
	}

	// SCRIPT LOAD is each node's.
	sha, err := rc1.ScriptLoad(ctx, "return redis.call('incr', KEYS[1])").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rc1.EvalSha(ctx, sha, []string{"{u}n"}).Int(); err != nil || n != 3 {
		t.Fatalf("EVALSHA on the node that loaded it: got %d, %v", n, err)
	}
	if err := rc2.EvalSha(ctx, sha, []string{"{u}n"}).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT") {
		t.Fatalf("EVALSHA on another node: got %v, want NOSCRIPT", err)
	}
	lib := "#!lua name=lib\nredis.register_function('addto', function(keys, args) redis.call('rpush', keys[1], args[1]) return redis.call('llen', keys[1]) end)\n" +
		"redis.register_function{function_name='len', callback=function(keys) return redis.call('llen', keys[1]) end, flags={'no-writes'}}\n" +
		"redis.register_function{function_name='local', callback=function() return 1 end, flags={'no-cluster'}}\n" +
		"redis.register_function('rnd', function(keys) redis.call('set', keys[1], math.random(1000000000)) return redis.call('get', keys[1]) end)"
	if err := rc1.FunctionLoad(ctx, lib).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if n, err := rc1.FCall(ctx, "addto", []string{"{u}l"}, i).Int(); err != nil || n != i+1 {
			t.Fatalf("FCALL addto: got %d, %v", n, err)
		}
	}
	if n, err := rc1.FCallRO(ctx, "len", []string{"{u}l"}).Int(); err != nil || n != 3 {
		t.Fatalf("FCALL_RO len: got %d, %v", n, err)
	}
	if err := rc1.FCall(ctx, "local", nil).Err(); err == nil || err.Error() != "ERR Can not run script on cluster, 'no-cluster' flag is set." {
		t.Fatalf("FCALL of a no-cluster function: got %v", err)
	}
	if err := rc2.FCall(ctx, "nosuch", []string{"{u}l"}, "x").Err(); err == nil || err.Error() != "ERR Function not found" {
		t.Fatalf("FCALL of a function no library has: got %v", err)
	}

	rnd, err := rc1.FCall(ctx, "rnd", []string{"{u}f"}).Text()
	if err != nil {
		t.Fatalf("FCALL rnd: %v", err)
	}
	wantF := "$" + strconv.Itoa(len(rnd)) + "\r\n" + rnd + "\r\n"

	// A script's random numbers and TIME are drawn alike on every replica.
	r, err := rc1.Eval(ctx, "local t = redis.call('time') local v = math.random(1000000000) .. ':' .. math.random() .. ':' .. t[1] .. '.' .. t[2] redis.call('set', KEYS[1], v) return v", []string{"{u}r"}).Text()
	if err != nil {
		t.Fatal(err)
	}
	wantR := "$" + strconv.Itoa(len(r)) + "\r\n" + r + "\r\n"

	// Every replica applied the scripts' writes.
	for i := range tn.nodes {
		eventually(t, "the scripts' writes on every replica", func() bool {
			a, _ := tn.do(i, Stale, "GET", "{u}a")
			n, _ := tn.do(i, Stale, "GET", "{u}n")
			l, _ := tn.do(i, Stale, "LLEN", "{u}l")
			rr, _ := tn.do(i, Stale, "GET", "{u}r")
			f, _ := tn.do(i, Stale, "GET", "{u}f")
			return a == "$1\r\nv\r\n" && n == "$1\r\n3\r\n" && l == ":3\r\n" && rr == wantR && f == wantF
		})
	}
}

// TestServerScriptBusy runs a script past the busy threshold of the node of
// its group's leader (CONFIG SET there): a client of another node gets
// Redis's BUSY text for the group's keys, SCRIPT KILL on a node that runs
// no script answers NOTBUSY, and SCRIPT KILL on the leader's node stops it.
func TestServerScriptBusy(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	ctx := context.Background()
	const key = "{b}k"
	n0 := tn.nodes[0]
	lead := n0.Leader(n0.v(), n0.Table().GroupOfKey([]byte(key)))
	other := (lead + 1) % len(tn.nodes)
	rl := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, lead, ServerConfig{}), Protocol: 2, MaxRetries: -1})
	defer rl.Close()
	ro := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, other, ServerConfig{}), Protocol: 2, MaxRetries: -1})
	defer ro.Close()
	if err := rl.ConfigSet(ctx, "busy-reply-threshold", "20").Err(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rl.Eval(ctx, "while true do end", []string{key}).Err() }()
	const busy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	eventually(t, "BUSY from another node", func() bool {
		err := ro.Get(ctx, key).Err()
		return err != nil && err.Error() == busy
	})
	if err := ro.ScriptKill(ctx).Err(); err == nil || err.Error() != "NOTBUSY No scripts in execution right now." {
		t.Fatalf("SCRIPT KILL on a node that runs no script: got %v", err)
	}
	if err := rl.ScriptKill(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT KILL on the leader's node: %v", err)
	}
	if err := <-done; err == nil || !strings.HasPrefix(err.Error(), "ERR Script killed by user with SCRIPT KILL...") {
		t.Fatalf("the killed script: got %v", err)
	}
	if err := ro.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("SET after the kill: %v", err)
	}
}

// TestServerScriptWakesAndNotifies runs a script that pushes to a list a
// client waits on and whose commands have keyspace events: the client is
// woken, and the events of the script's writes reach a subscriber once
// each (from the applied commands, not from the leader's run beforehand).
func TestServerScriptWakesAndNotifies(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	var addrs []string
	for i := range tn.nodes {
		_, addr := serveNodeServer(t, tn, i)
		addrs = append(addrs, addr)
		c := dialRaw(t, addr)
		c.send("CONFIG", "SET", "notify-keyspace-events", "El")
		c.expect("+OK\r\n")
	}
	sub := dialRaw(t, addrs[1])
	sub.send("SUBSCRIBE", "__keyevent@0__:rpush", "__keyevent@0__:lpop")
	sub.expect("*3\r\n$9\r\nsubscribe\r\n$20\r\n__keyevent@0__:rpush\r\n:1\r\n")
	sub.expect("*3\r\n$9\r\nsubscribe\r\n$19\r\n__keyevent@0__:lpop\r\n:2\r\n")
	waiter := dialRaw(t, addrs[2])
	waiter.send("BLPOP", "{q}wait", "10")
	w := dialRaw(t, addrs[0])
	// The waiter is blocked once a client of its node sees it listed.
	eventually(t, "the client blocked", func() bool { return tn.nodes[2].waits.n.Load() > 0 })
	w.send("EVAL", "redis.call('rpush', KEYS[1], 'a', 'b') redis.call('lpop', KEYS[2]) return redis.call('rpush', KEYS[2], 'x')", "2", "{q}l", "{q}wait")
	w.expect(":1\r\n")
	waiter.expect("*2\r\n$7\r\n{q}wait\r\n$1\r\nx\r\n")
	sub.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__keyevent@0__:rpush\r\n$4\r\n{q}l\r\n")
	sub.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__keyevent@0__:rpush\r\n$7\r\n{q}wait\r\n")
	// The waiter's pop comes next: events published by the leader's run
	// too would have come before it, twice each.
	sub.expect("*3\r\n$7\r\nmessage\r\n$19\r\n__keyevent@0__:lpop\r\n$7\r\n{q}wait\r\n")
}
