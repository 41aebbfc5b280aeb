package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestServerMultiSubcommands checks that a node refuses an unknown
// subcommand, or a subcommand with the wrong number of arguments, before
// it runs or is queued, as Redis does: inside MULTI the refusal dooms the
// transaction.
func TestServerMultiSubcommands(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	c := dialRaw(t, serveNode(t, tn, 0, ServerConfig{}))
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"OBJECT", "FOO"}, "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"},
		{[]string{"SET", "{t}z", "1"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"GET", "{t}z"}, "$-1\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"OBJECT", "ENCODING"}, "-ERR wrong number of arguments for 'object|encoding' command\r\n"},
		{[]string{"XINFO", "STREAM"}, "-ERR wrong number of arguments for 'xinfo|stream' command\r\n"},
		{[]string{"SET", "{t}z", "1"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"GET", "{t}z"}, "$-1\r\n"},
		{[]string{"CONFIG", "RESETSTAT", "x"}, "-ERR wrong number of arguments for 'config|resetstat' command\r\n"},
		{[]string{"CLIENT", "CACHING", "x", "x"}, "-ERR wrong number of arguments for 'client|caching' command\r\n"},
		{[]string{"CLUSTER", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n"},
		{[]string{"CLUSTER", "INFO", "x"}, "-ERR wrong number of arguments for 'cluster|info' command\r\n"},
		// The node's own subcommands have arities too.
		{[]string{"CLUSTER", "MOVE", "1"}, "-ERR wrong number of arguments for 'cluster|move' command\r\n"},
		{[]string{"CLUSTER", "REBALANCE", "x"}, "-ERR wrong number of arguments for 'cluster|rebalance' command\r\n"},
		{[]string{"CLUSTER", "KEYSLOT", "a"}, ":15495\r\n"},
		// Keys in different slots, recorded from a Redis Cluster 7.0.15
		// node serving every slot: within one command, refused when
		// queued; across commands, queued, then refused by EXEC, which
		// discards the transaction.
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"MSET", "a", "1", "b", "2"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
		{[]string{"SET", "{x}1", "a"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"SET", "{x}1", "a"}, "+QUEUED\r\n"},
		{[]string{"SET", "{y}1", "b"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
		{[]string{"EXISTS", "{x}1", "{x}1"}, ":0\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"EXEC"}, "*0\r\n"},
		// Commands without keys that touch no key run on the node, in
		// their places, once the group's part ran.
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"SET", "{x}1", "d"}, "+QUEUED\r\n"},
		{[]string{"PING"}, "+QUEUED\r\n"},
		{[]string{"ECHO", "hi"}, "+QUEUED\r\n"},
		{[]string{"SELECT", "1"}, "+QUEUED\r\n"},
		{[]string{"PUBLISH", "nobody", "m"}, "+QUEUED\r\n"},
		{[]string{"GET", "{x}1"}, "+QUEUED\r\n"},
		{[]string{"SELECT", "0"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*7\r\n+OK\r\n+PONG\r\n$2\r\nhi\r\n-ERR SELECT is not allowed in cluster mode\r\n:0\r\n$1\r\nd\r\n+OK\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"PING", "p"}, "+QUEUED\r\n"},
		{[]string{"ECHO", "e"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*2\r\n$1\r\np\r\n$1\r\ne\r\n"},
		// A shard channel is a key: SPUBLISH's shares the slot.
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"SET", "{x}1", "e"}, "+QUEUED\r\n"},
		{[]string{"SPUBLISH", "{x}news", "m"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*2\r\n+OK\r\n:0\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"SET", "{x}1", "f"}, "+QUEUED\r\n"},
		{[]string{"SPUBLISH", "{y}news", "m"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
		{[]string{"GET", "{x}1"}, "$1\r\ne\r\n"},
		// PING's arity is checked when it runs, as in Redis.
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"PING", "p", "q"}, "+QUEUED\r\n"},
		{[]string{"ECHO", "e"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*2\r\n-ERR wrong number of arguments for 'ping' command\r\n$1\r\ne\r\n"},
		// UNWATCH is queued and answered by EXEC, as in Redis 7.0 (AUTH
		// too: TestServerMultiAuth); other commands without keys are
		// refused.
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"UNWATCH"}, "+QUEUED\r\n"},
		{[]string{"SET", "{x}1", "c"}, "+QUEUED\r\n"},
		{[]string{"UNWATCH"}, "+QUEUED\r\n"},
		{[]string{"GET", "{x}1"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*4\r\n+OK\r\n+OK\r\n+OK\r\n$1\r\nc\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"UNWATCH"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*1\r\n+OK\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"UNWATCH", "x"}, "-ERR wrong number of arguments for 'unwatch' command\r\n"},
		{[]string{"DBSIZE"}, "-" + errMultiKeyless + "\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	}
	for _, s := range steps {
		c.send(s.args...)
		c.expect(s.want)
	}
	c.send("CLUSTER", "STATUS")
	if r := c.bulk(); !strings.HasPrefix(r, "{") {
		t.Errorf("CLUSTER STATUS: got %q, want the node's status in JSON", r)
	}
}

// TestServerMultiExecRefused checks that an EXEC refused before it runs
// answers EXECABORT with the reason and discards the transaction and the
// watched keys at once, in MULTI or not, as Redis does.
func TestServerMultiExecRefused(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	c, other := dialRaw(t, addr), dialRaw(t, addr)
	abort := "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
	steps := []struct {
		c    *rawConn
		args []string
		want string
	}{
		{c, []string{"SET", "{t}a", "1"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"SET", "{t}a", "2"}, "+QUEUED\r\n"},
		{c, []string{"EXEC", "x"}, abort},
		{c, []string{"GET", "{t}a"}, "$1\r\n1\r\n"},
		{c, []string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
		{c, []string{"EXEC", "x"}, abort},
		// The watch is dropped: the change below does not abort the next
		// transaction.
		{c, []string{"WATCH", "{t}a"}, "+OK\r\n"},
		{c, []string{"EXEC", "x"}, abort},
		{other, []string{"SET", "{t}a", "3"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"SET", "{t}a", "4"}, "+QUEUED\r\n"},
		{c, []string{"EXEC"}, "*1\r\n+OK\r\n"},
		// A queued UNWATCH does not save a transaction whose watched key
		// changed: EXEC checks the keys before anything runs.
		{c, []string{"WATCH", "{t}a"}, "+OK\r\n"},
		{other, []string{"SET", "{t}a", "5"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"UNWATCH"}, "+QUEUED\r\n"},
		{c, []string{"SET", "{t}a", "6"}, "+QUEUED\r\n"},
		{c, []string{"EXEC"}, "*-1\r\n"},
		{c, []string{"GET", "{t}a"}, "$1\r\n5\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"DISCARD", "x"}, "-ERR wrong number of arguments for 'discard' command\r\n"},
		{c, []string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		// A user not allowed EXEC.
		{c, []string{"ACL", "SETUSER", "noexec", "on", ">p", "+@all", "-exec", "~*"}, "+OK\r\n"},
		{c, []string{"AUTH", "noexec", "p"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"EXEC"}, "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n"},
		{c, []string{"DISCARD"}, "-ERR DISCARD without MULTI\r\n"},
	}
	for _, s := range steps {
		s.c.send(s.args...)
		s.c.expect(s.want)
	}
}

// TestServerMultiAuth checks AUTH queued inside MULTI on a node: EXEC runs
// it in its place and checks each command again against the user of that
// point, as Redis 7.0 does (the replies recorded from redis-server
// 7.0.15), logs its failures and denials in the multi context, and an
// EXEC aborted by a watched key runs no AUTH either.
func TestServerMultiAuth(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	c, other := dialRaw(t, addr), dialRaw(t, addr)
	denied := "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. " +
		"This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n"
	steps := []struct {
		c    *rawConn
		args []string
		want string
	}{
		{c, []string{"ACL", "SETUSER", "lim", "on", ">pw", "~*", "+@all", "-set"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"SET", "{x}1", "a"}, "+QUEUED\r\n"},
		{c, []string{"AUTH", "lim", "pw"}, "+QUEUED\r\n"},
		{c, []string{"SET", "{x}1", "b"}, "+QUEUED\r\n"},
		{c, []string{"GET", "{x}1"}, "+QUEUED\r\n"},
		{c, []string{"AUTH", "lim", "wrong"}, "+QUEUED\r\n"},
		{c, []string{"UNWATCH"}, "+QUEUED\r\n"},
		{c, []string{"EXEC"}, "*6\r\n+OK\r\n+OK\r\n" + denied + "$1\r\na\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n"},
		{c, []string{"ACL", "WHOAMI"}, "$3\r\nlim\r\n"},
		{c, []string{"SET", "{x}1", "c"}, "-NOPERM this user has no permissions to run the 'set' command\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"AUTH", "default", "x"}, "+QUEUED\r\n"},
		{c, []string{"EXEC"}, "*1\r\n+OK\r\n"},
		{c, []string{"ACL", "WHOAMI"}, "$7\r\ndefault\r\n"},
		// A watched key changed: nothing runs, AUTH neither.
		{c, []string{"WATCH", "{x}1"}, "+OK\r\n"},
		{other, []string{"SET", "{x}1", "d"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"AUTH", "lim", "pw"}, "+QUEUED\r\n"},
		{c, []string{"GET", "{x}1"}, "+QUEUED\r\n"},
		{c, []string{"EXEC"}, "*-1\r\n"},
		{c, []string{"ACL", "WHOAMI"}, "$7\r\ndefault\r\n"},
		{c, []string{"GET", "{x}1"}, "$1\r\nd\r\n"},
	}
	for _, s := range steps {
		s.c.send(s.args...)
		s.c.expect(s.want)
	}
	// The EXEC's denial and failed AUTH, newest first, in the multi
	// context; nothing from the aborted one.
	c.send("ACL", "LOG")
	log := strings.Join(c.reply(), " ")
	for _, want := range []string{"reason command context multi object set username lim", "reason auth context multi object AUTH username lim"} {
		if !strings.Contains(log, want) {
			t.Errorf("ACL LOG lacks %q: %s", want, log)
		}
	}
}

// TestServerMultiPublish checks that a PUBLISH in a node's transaction goes
// out once the transaction ran, after its writes, and not at all when a
// watched key aborts the transaction.
func TestServerMultiPublish(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()
	other := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer other.Close()
	sub := rc.Subscribe(ctx, "news")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	next := func() *redis.Message {
		t.Helper()
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	cmds, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Publish(ctx, "news", "first")
		p.Set(ctx, "{n}k", "1", 0)
		p.Ping(ctx)
		return nil
	})
	if err != nil || cmds[0].(*redis.IntCmd).Val() != 1 || cmds[2].(*redis.StatusCmd).Val() != "PONG" {
		t.Fatalf("MULTI PUBLISH SET PING EXEC: %v, %v", cmds, err)
	}
	if m := next(); m.Payload != "first" {
		t.Fatalf("message %q, want first", m.Payload)
	}
	// Published once the transaction ran: its write is there.
	if v, err := other.Get(ctx, "{n}k").Result(); err != nil || v != "1" {
		t.Fatalf("GET after the message: %q, %v, want 1", v, err)
	}

	err = rc.Watch(ctx, func(tx *redis.Tx) error {
		if err := other.Set(ctx, "{n}k", "2", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Publish(ctx, "news", "aborted")
			p.Set(ctx, "{n}k", "3", 0)
			return nil
		})
		return err
	}, "{n}k")
	if err != redis.TxFailedErr {
		t.Fatalf("transaction on a changed watched key: %v, want it aborted", err)
	}
	if err := other.Publish(ctx, "news", "marker").Err(); err != nil {
		t.Fatal(err)
	}
	if m := next(); m.Payload != "marker" {
		t.Fatalf("message %q after an aborted transaction, want marker (its PUBLISH must not run)", m.Payload)
	}

	// SPUBLISH to a shard channel of the transaction's slot.
	ssub := other.SSubscribe(ctx, "{n}shard")
	defer ssub.Close()
	if _, err := ssub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{n}k", "4", 0)
		p.SPublish(ctx, "{n}shard", "sharded")
		return nil
	}); err != nil {
		t.Fatalf("MULTI SET SPUBLISH EXEC: %v", err)
	}
	if m, err := ssub.ReceiveMessage(ctx); err != nil || m.Payload != "sharded" {
		t.Fatalf("shard message: %v, %v", m, err)
	}
}

// Scripts with keys run in a node's transaction, atomically with its other
// commands and alike on every replica, as in Redis Cluster; EVALSHA of an
// unknown script answers NOSCRIPT in its place, and one without keys is
// refused when queued.
func TestServerMultiScripts(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	c := dialRaw(t, addr)
	incr := "return redis.call('INCRBY', KEYS[1], ARGV[1])"
	c.send("SCRIPT", "LOAD", incr)
	sha := c.bulk()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"SET", "{s}n", "10"}, "+OK\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"INCR", "{s}n"}, "+QUEUED\r\n"},
		{[]string{"EVAL", "return redis.call('GET', KEYS[1])", "1", "{s}n"}, "+QUEUED\r\n"},
		{[]string{"EVALSHA", sha, "1", "{s}n", "5"}, "+QUEUED\r\n"},
		{[]string{"EVALSHA", strings.Repeat("0", 40), "1", "{s}n"}, "+QUEUED\r\n"},
		{[]string{"PING"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "*5\r\n:11\r\n$2\r\n11\r\n:16\r\n-NOSCRIPT No matching script. Please use EVAL.\r\n+PONG\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"EVAL", "return 1", "0"}, "-" + errMultiKeyless + "\r\n"},
		{[]string{"DISCARD"}, "+OK\r\n"},
		// A script's keys must share the transaction's slot.
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"GET", "{s}n"}, "+QUEUED\r\n"},
		{[]string{"EVAL", "return 1", "1", "{other}k"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-CROSSSLOT Keys in request don't hash to the same slot\r\n"},
	}
	for _, s := range steps {
		c.send(s.args...)
		c.expect(s.want)
	}
	// A watched key changed: neither the script nor the rest runs.
	c.send("WATCH", "{s}n")
	c.expect("+OK\r\n")
	other := dialRaw(t, serveNode(t, tn, 1, ServerConfig{}))
	other.send("SET", "{s}n", "100")
	other.expect("+OK\r\n")
	for _, s := range []struct{ args []string }{{[]string{"MULTI"}}, {[]string{"EVALSHA", sha, "1", "{s}n", "1"}}} {
		c.send(s.args...)
		c.reply()
	}
	c.send("EXEC")
	c.expect("*-1\r\n")
	// Every replica holds what the transaction's script wrote.
	c.send("MULTI")
	c.expect("+OK\r\n")
	c.send("EVALSHA", sha, "1", "{s}n", "7")
	c.expect("+QUEUED\r\n")
	c.send("EXEC")
	c.expect("*1\r\n:107\r\n")
	for i := range tn.nodes {
		rc := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, i, ServerConfig{}), Protocol: 2, PoolSize: 1})
		defer rc.Close()
		eventually(t, fmt.Sprintf("node %d's replica to read 107", i), func() bool {
			conn := rc.Conn()
			defer conn.Close()
			got, err := conn.Pipelined(context.Background(), func(p redis.Pipeliner) error {
				p.ReadOnly(context.Background())
				p.Get(context.Background(), "{s}n")
				return nil
			})
			return err == nil && got[1].(*redis.StringCmd).Val() == "107"
		})
	}
}
