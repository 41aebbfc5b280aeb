package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// respCmd encodes args as a RESP array.
func respCmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// readN reads exactly len(want) bytes and compares them.
func (c *client) expect(want string) {
	c.t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.rd, got); err != nil {
		c.t.Fatalf("read: %v (got %q, want %q)", err, got, want)
	}
	if string(got) != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

func newClient(t *testing.T, ts *testServer, edit func(*redis.Options)) *redis.Client {
	t.Helper()
	opt := &redis.Options{Addr: ts.addr}
	if edit != nil {
		edit(opt)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	return rc
}

func TestRESPConnectionCommands(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	steps := []struct{ send, want string }{
		{respCmd("PING"), "+PONG\r\n"},
		{respCmd("ping", "hi"), "$2\r\nhi\r\n"},
		{respCmd("PING", "a", "b"), "-ERR wrong number of arguments for 'ping' command\r\n"},
		{respCmd("ECHO", "x y"), "$3\r\nx y\r\n"},
		{respCmd("SELECT", "0"), "+OK\r\n"},
		{respCmd("SELECT", "1"), "-ERR DB index is out of range\r\n"},
		{respCmd("SELECT", "x"), "-ERR value is not an integer or out of range\r\n"},
		{respCmd("SELECT", "00"), "-ERR value is not an integer or out of range\r\n"},
		{respCmd("SELECT", "+0"), "-ERR value is not an integer or out of range\r\n"},
		{respCmd("SELECT", "-0"), "-ERR value is not an integer or out of range\r\n"},
		{respCmd("SELECT", "4294967296"), "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"},
		{respCmd("NOSUCH", "a", "b"), "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"},
		{respCmd("GET"), "-ERR wrong number of arguments for 'get' command\r\n"},
		{respCmd("CLIENT", "SETNAME", "bad name"), "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
		{respCmd("CLIENT", "SETNAME", "me"), "+OK\r\n"},
		{respCmd("CLIENT", "GETNAME"), "$2\r\nme\r\n"},
		{respCmd("CLIENT", "NOPE"), "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"},
		{respCmd("HELLO", "4"), "-NOPROTO unsupported protocol version\r\n"},
		{respCmd("HELLO", "three"), "-ERR Protocol version is not an integer or out of range\r\n"},
		{respCmd("HELLO", "3", "BOGUS"), "-ERR Syntax error in HELLO option 'BOGUS'\r\n"},
		{respCmd("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{respCmd("COMMAND", "GETKEYS", "PING", "x"), "-ERR The command has no key arguments\r\n"},
		{respCmd("COMMAND", "GETKEYS", "PING"), "-ERR wrong number of arguments for 'command|getkeys' command\r\n"}, // as Redis 7.0
		{respCmd("CONFIG", "GET", "save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
		{respCmd("CONFIG", "GET", "appendonly"), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
		{respCmd("FUNCTION", "FLUSH"), "+OK\r\n"},
		{respCmd("AUTH", "pw"), "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"},
		{respCmd("EXEC"), "-ERR EXEC without MULTI\r\n"},
		{respCmd("DISCARD"), "-ERR DISCARD without MULTI\r\n"},
		{respCmd("MULTI"), "+OK\r\n"},
		{respCmd("MULTI"), "-ERR MULTI calls can not be nested\r\n"},
		{respCmd("WATCH", "k"), "-ERR WATCH inside MULTI is not allowed\r\n"},
		{respCmd("DISCARD"), "+OK\r\n"},
	}
	for _, s := range steps {
		c.send(s.send)
		c.expect(s.want)
	}
	// The inline form also works on a RESP connection, as in Redis.
	c.send("PING\r\n")
	c.expect("+PONG\r\n")
	c.send(respCmd("QUIT"))
	c.expect("+OK\r\n")
	c.expectClosed()
}

func TestRESPProtocolErrors(t *testing.T) {
	ts := start(t, nil)
	tests := []struct{ send, want string }{
		{"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'\r\n"},
		{"*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*2\r\n$4\r\nECHO\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
	}
	for _, tt := range tests {
		c := ts.dial(t)
		c.send(tt.send)
		c.expect(tt.want)
		c.expectClosed()
	}
	// Others are served throughout.
	rc := newClient(t, ts, nil)
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestHello3(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("CLIENT", "ID"))
	id := strings.TrimSuffix(strings.TrimPrefix(c.line(), ":"), "\r")
	c.send(respCmd("HELLO", "3", "SETNAME", "app"))
	c.expect("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n" +
		"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:" + id + "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n" +
		"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
	c.send(respCmd("CLIENT", "GETNAME") + respCmd("GET", "nosuch") + respCmd("CONFIG", "GET", "timeout"))
	c.expect("$3\r\napp\r\n_\r\n%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n")
	c.send(respCmd("HELLO"))
	c.expect("%7\r\n") // HELLO without a version keeps RESP3
	for l := c.line(); l != "*0\r"; l = c.line() {
	}
	c.send(respCmd("HELLO", "2"))
	c.expect("*14\r\n")
	for l := c.line(); l != "*0\r"; l = c.line() {
	}
	c.send(respCmd("GET", "nosuch"))
	c.expect("$-1\r\n")
}

func TestGoRedisConnect(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		rc := newClient(t, ts, func(o *redis.Options) { o.Protocol = proto; o.ClientName = "tester" })
		if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatalf("RESP%d SET: %v", proto, err)
		}
		if v, err := rc.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Fatalf("RESP%d GET: %q %v", proto, v, err)
		}
		if _, err := rc.Get(ctx, "nosuch").Result(); !errors.Is(err, redis.Nil) {
			t.Fatalf("RESP%d GET missing: %v, want redis.Nil", proto, err)
		}
		name, err := rc.ClientGetName(ctx).Result()
		if err != nil || name != "tester" {
			t.Fatalf("RESP%d CLIENT GETNAME: %q %v", proto, name, err)
		}
		id, err := rc.ClientID(ctx).Result()
		if err != nil || id <= 0 {
			t.Fatalf("RESP%d CLIENT ID: %d %v", proto, id, err)
		}
		info, err := rc.ClientInfo(ctx).Result()
		if err != nil || info.ID != id || info.Name != "tester" {
			t.Fatalf("RESP%d CLIENT INFO: %+v %v", proto, info, err)
		}
		list, err := rc.ClientList(ctx).Result()
		if err != nil || !strings.Contains(list, fmt.Sprintf("id=%d ", id)) {
			t.Fatalf("RESP%d CLIENT LIST: %q %v", proto, list, err)
		}
		if n, err := rc.DBSize(ctx).Result(); err != nil || n != 1 {
			t.Fatalf("RESP%d DBSIZE: %d %v", proto, n, err)
		}
		tm, err := rc.Time(ctx).Result()
		if err != nil || time.Since(tm).Abs() > time.Minute {
			t.Fatalf("RESP%d TIME: %v %v", proto, tm, err)
		}
		cnt, err := rc.Do(ctx, "COMMAND", "COUNT").Int()
		if err != nil || cnt < 50 {
			t.Fatalf("RESP%d COMMAND COUNT: %d %v", proto, cnt, err)
		}
		cmds, err := rc.Command(ctx).Result()
		if err != nil || cmds["get"] == nil || cmds["get"].Arity != 2 || cmds["mset"].LastKeyPos != -1 || cmds["mset"].StepCount != 2 {
			t.Fatalf("RESP%d COMMAND INFO: %+v %v", proto, cmds, err)
		}
		cfg, err := rc.ConfigGet(ctx, "max*").Result()
		if err != nil || cfg["maxmemory"] != "0" || cfg["maxclients"] != "10000" {
			t.Fatalf("RESP%d CONFIG GET: %v %v", proto, cfg, err)
		}
		if err := rc.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInfo(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	for i := range 30 {
		rc.Set(ctx, fmt.Sprint("k", i), "v", 0)
	}
	rc.Set(ctx, "ttl", "v", time.Hour)
	rc.Get(ctx, "k1")
	rc.Get(ctx, "nosuch")
	info, err := rc.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Server\r\n", "redis_version:7.2.0\r\n", "# Clients\r\n", "connected_clients:1\r\n",
		"# Memory\r\n", "used_memory:", "# Stats\r\n", "total_commands_processed:", "keyspace_hits:1\r\n",
		"keyspace_misses:1\r\n", "# Keyspace\r\n", "db0:keys=31,expires=1,avg_ttl=", "# Shards\r\n", "shard0:keys="} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q:\n%s", want, info)
		}
	}
	only, err := rc.Info(ctx, "keyspace").Result()
	if err != nil || strings.Contains(only, "# Server") || !strings.Contains(only, "db0:keys=31") {
		t.Fatalf("INFO keyspace: %q %v", only, err)
	}
}

func TestMultiExec(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	// A transaction over keys on several shards.
	cmds, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 20 {
			p.Set(ctx, fmt.Sprint("tx", i), i, 0)
		}
		p.Incr(ctx, "tx0")
		p.MGet(ctx, "tx0", "tx1", "tx19")
		p.Ping(ctx)
		p.DBSize(ctx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := cmds[20].(*redis.IntCmd).Val(); v != 1 {
		t.Fatalf("INCR in EXEC: got %d, want 1", v)
	}
	if v := cmds[21].(*redis.SliceCmd).Val(); fmt.Sprint(v) != "[1 1 19]" {
		t.Fatalf("MGET in EXEC: got %v", v)
	}
	if v := cmds[22].(*redis.StatusCmd).Val(); v != "PONG" {
		t.Fatalf("PING in EXEC: got %q", v)
	}
	if v := cmds[23].(*redis.IntCmd).Val(); v != 20 {
		t.Fatalf("DBSIZE in EXEC: got %d", v)
	}

	// A queued command with the wrong arity aborts EXEC.
	c := ts.dial(t)
	c.send(respCmd("MULTI") + respCmd("SET", "a") + respCmd("SET", "a", "1") + respCmd("EXEC") + respCmd("GET", "a"))
	c.expect("+OK\r\n-ERR wrong number of arguments for 'set' command\r\n+QUEUED\r\n" +
		"-EXECABORT Transaction discarded because of previous errors.\r\n$-1\r\n")
	// A command that fails at run time does not stop the others.
	c.send(respCmd("MULTI") + respCmd("SET", "s", "x") + respCmd("INCR", "s") + respCmd("SET", "t", "y") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n")
}

func TestWatch(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	other := newClient(t, ts, nil)
	rc.Set(ctx, "w1", "1", 0)

	// Untouched: EXEC runs.
	err := rc.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "w1", "2", 0)
			return nil
		})
		return err
	}, "w1", "w2")
	if err != nil {
		t.Fatalf("untouched WATCH: %v", err)
	}
	// Touched by another client between WATCH and EXEC: aborted.
	for _, touch := range []func(){
		func() { other.Set(ctx, "w1", "x", 0) },
		func() { other.Del(ctx, "w1") },
		func() { other.Expire(ctx, "w1", time.Hour) },
		func() { other.Set(ctx, "w2", "new", 0) }, // a key that did not exist
		func() { other.FlushDB(ctx) },
	} {
		rc.Set(ctx, "w1", "1", 0)
		err := rc.Watch(ctx, func(tx *redis.Tx) error {
			touch()
			_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "w1", "mine", 0)
				return nil
			})
			return err
		}, "w1", "w2")
		if !errors.Is(err, redis.TxFailedErr) {
			t.Fatalf("WATCH after a change: got %v, want TxFailedErr", err)
		}
		if v, _ := rc.Get(ctx, "w1").Result(); v == "mine" {
			t.Fatal("the aborted transaction wrote")
		}
		rc.Del(ctx, "w2")
	}
	// A watched key that expires aborts too.
	rc.Set(ctx, "w3", "1", 50*time.Millisecond)
	err = rc.Watch(ctx, func(tx *redis.Tx) error {
		time.Sleep(150 * time.Millisecond)
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "w3", "mine", 0)
			return nil
		})
		return err
	}, "w3")
	if !errors.Is(err, redis.TxFailedErr) {
		t.Fatalf("WATCH of an expiring key: got %v, want TxFailedErr", err)
	}
}

// TestWatchIncrement runs the classic optimistic-locking loop from many
// clients at once: no increment may be lost.
func TestWatchIncrement(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	const clients, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			rc := redis.NewClient(&redis.Options{Addr: ts.addr})
			defer rc.Close()
			for range each {
				for try := 0; ; try++ {
					if try == 1000 {
						errs <- errors.New("too many retries")
						return
					}
					err := rc.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, "counter").Int()
						if err != nil && !errors.Is(err, redis.Nil) {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "counter", n+1, 0)
							return nil
						})
						return err
					}, "counter")
					if err == nil {
						break
					}
					if !errors.Is(err, redis.TxFailedErr) {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rc := newClient(t, ts, nil)
	if n, err := rc.Get(ctx, "counter").Int(); err != nil || n != clients*each {
		t.Fatalf("counter: got %d %v, want %d", n, err, clients*each)
	}
}

// TestRESPBusy checks BUSY on RESP: a burst against tiny queues gets one
// reply per command, BUSY errors among them, and a refused SET left no trace.
func TestRESPBusy(t *testing.T) {
	ts := start(t, func(c *Config) {
		c.Router.ShardQueue = 2
		c.Router.RouterQueue = 4
	})
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	p := rc.Pipeline()
	const n = 2000
	for i := range n {
		p.Set(ctx, fmt.Sprint("b", i), i, 0)
	}
	cmds, _ := p.Exec(ctx)
	busy := 0
	for i, c := range cmds {
		err := c.Err()
		switch {
		case err == nil:
			if v, err := rc.Get(ctx, fmt.Sprint("b", i)).Result(); err != nil || v != fmt.Sprint(i) {
				t.Fatalf("acknowledged b%d: got %q %v", i, v, err)
			}
		case strings.HasPrefix(err.Error(), "BUSY "):
			busy++
			if _, err := rc.Get(ctx, fmt.Sprint("b", i)).Result(); !errors.Is(err, redis.Nil) {
				t.Fatalf("refused b%d exists: %v", i, err)
			}
		default:
			t.Fatalf("b%d: %v", i, err)
		}
	}
	if busy == 0 {
		t.Fatal("no BUSY in a burst of 2000 against queues of 2 and 4")
	}
}

func TestClientKill(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	victim := ts.dial(t)
	victim.send(respCmd("CLIENT", "ID"))
	line := victim.line()
	id := strings.TrimSuffix(strings.TrimPrefix(line, ":"), "\r")
	n, err := admin.ClientKillByFilter(ctx, "ID", id).Result()
	if err != nil || n != 1 {
		t.Fatalf("CLIENT KILL ID %s: %d %v", id, n, err)
	}
	victim.expectClosed()
	if err := admin.ClientKill(ctx, "1.2.3.4:5").Err(); err == nil || err.Error() != "ERR No such client" {
		t.Fatalf("CLIENT KILL unknown addr: %v", err)
	}
}
