package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/wal"
	"github.com/redis/go-redis/v9"
)

// configGet returns one parameter's value.
func configGet(t *testing.T, rc *redis.Client, name string) string {
	t.Helper()
	v, err := rc.ConfigGet(context.Background(), name).Result()
	if err != nil {
		t.Fatalf("CONFIG GET %s: %v", name, err)
	}
	return v[name]
}

func configSet(t *testing.T, rc *redis.Client, pairs ...string) {
	t.Helper()
	args := []any{"CONFIG", "SET"}
	for _, p := range pairs {
		args = append(args, p)
	}
	if err := rc.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("CONFIG SET %q: %v", pairs, err)
	}
}

// TestConfigSetMaxmemory lowers maxmemory under data already held: writes
// are refused at once with noeviction, and evict keys once the policy
// allows it; raising it lets writes in again.
func TestConfigSetMaxmemory(t *testing.T) {
	ctx := context.Background()
	ts := start(t, func(c *Config) { c.Router.Shards = 2 })
	rc := newClient(t, ts, nil)
	val := strings.Repeat("v", 500)
	for i := range 200 {
		if err := rc.Set(ctx, fmt.Sprint("k", i), val, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	configSet(t, rc, "maxmemory", "10kb")
	if got := configGet(t, rc, "maxmemory"); got != "10240" {
		t.Fatalf("got maxmemory %s, want 10240", got)
	}
	if err := rc.Set(ctx, "new", val, 0).Err(); err == nil || err.Error() != command.OOMError {
		t.Fatalf("SET over the new maxmemory: got %v, want %q", err, command.OOMError)
	}
	configSet(t, rc, "maxmemory-policy", "allkeys-random", "maxmemory-samples", "10")
	if err := rc.Set(ctx, "new", val, 0).Err(); err != nil {
		t.Fatalf("SET with allkeys-random: %v", err)
	}
	if n := rc.DBSize(ctx).Val(); n >= 200 {
		t.Fatalf("got %d keys after eviction, want fewer than 200", n)
	}
	configSet(t, rc, "maxmemory", "0", "maxmemory-policy", "noeviction")
	for i := range 50 {
		if err := rc.Set(ctx, fmt.Sprint("again", i), val, 0).Err(); err != nil {
			t.Fatalf("SET after maxmemory 0: %v", err)
		}
	}
}

// TestConfigSetTimeout closes a client that was already idle when the
// timeout was set.
func TestConfigSetTimeout(t *testing.T) {
	ts := start(t, nil)
	idle := ts.dial(t)
	if got := idle.raw("PING"); got != "+PONG\r\n" {
		t.Fatalf("got %q", got)
	}
	rc := newClient(t, ts, nil)
	configSet(t, rc, "timeout", "1")
	idle.expectClosed()
	configSet(t, rc, "timeout", "0")
	if got := configGet(t, rc, "timeout"); got != "0" {
		t.Fatalf("got timeout %s, want 0", got)
	}

	// A client parked in a blocking command is not an idle one: once an
	// idle client has been closed by the timeout, it is still waiting, and
	// is served.
	parked := ts.dial(t)
	parked.send(respCmd("BLPOP", "list", "0"))
	waitBlocked(t, ts, 1)
	idle = ts.dial(t)
	idle.raw("PING")
	configSet(t, rc, "timeout", "1")
	idle.expectClosed()
	configSet(t, rc, "timeout", "0")
	rc.RPush(context.Background(), "list", "v")
	if got, err := readRESP(parked.rd); err != nil || got != "*2\r\n$4\r\nlist\r\n$1\r\nv\r\n" {
		t.Fatalf("parked client: got %q, %v, want the element", got, err)
	}
	if got := configGet(t, rc, "timeout"); got != "0" {
		t.Fatalf("got timeout %s, want 0", got)
	}
}

// TestConfigSetSlowlog turns the slow log on for every command, then off,
// and keeps the password of CONFIG SET requirepass out of it.
func TestConfigSetSlowlog(t *testing.T) {
	ctx := context.Background()
	ts := start(t, nil)
	rc := newClient(t, ts, nil)
	configSet(t, rc, "slowlog-log-slower-than", "0", "slowlog-max-len", "3")
	for i := range 5 {
		rc.Set(ctx, "a", i, 0)
	}
	rc.Do(ctx, "CONFIG", "SET", "requirepass", "secret", "requirepass", "x") // duplicate: refused, but logged
	entries, err := rc.SlowLogGet(ctx, 10).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("got %d entries %v, want 3 (slowlog-max-len)", len(entries), entries)
	}
	if got := strings.Join(entries[0].Args, " "); got != "CONFIG SET requirepass (redacted) requirepass (redacted)" {
		t.Errorf("got newest entry %q, want the password redacted", got)
	}
	// As redis-server 7.0.15: the CONFIG SET that turns the log off is
	// not logged itself.
	rc.Do(ctx, "SLOWLOG", "RESET")
	configSet(t, rc, "slowlog-log-slower-than", "-1")
	if got := rc.SlowLogGet(ctx, 10).Val(); len(got) != 1 || strings.Join(got[0].Args, " ") != "SLOWLOG RESET" {
		t.Errorf("after SLOWLOG RESET, then the log turned off: got %v, want SLOWLOG RESET alone", got)
	}
	rc.Do(ctx, "SLOWLOG", "RESET")
	rc.Set(ctx, "b", "1", 0)
	if n := rc.Do(ctx, "SLOWLOG", "LEN").Val(); n != int64(0) {
		t.Errorf("got SLOWLOG LEN %v with the log off, want 0", n)
	}
}

// TestConfigSetRequirepass sets a password: new clients must AUTH, those
// connected stay in; removing it lets an unauthenticated client in.
func TestConfigSetRequirepass(t *testing.T) {
	ts := start(t, nil)
	old := ts.dial(t)
	// Served once before the password is set: the server has taken it in
	// (a dial alone may still wait in the listen queue).
	if got := old.raw("PING"); got != "+PONG\r\n" {
		t.Fatalf("a client before the password: got %q", got)
	}
	rc := newClient(t, ts, nil)
	configSet(t, rc, "requirepass", "pw")
	if got := old.raw("PING"); got != "+PONG\r\n" {
		t.Errorf("a client connected before: got %q, want it still served", got)
	}
	fresh := ts.dial(t)
	if got := fresh.raw("PING"); got != "-"+msgNoAuth+"\r\n" {
		t.Errorf("a new client: got %q, want NOAUTH", got)
	}
	if got := fresh.raw("AUTH", "pw"); got != "+OK\r\n" {
		t.Errorf("AUTH: got %q", got)
	}
	other := ts.dial(t)
	if got := other.raw("PING"); got != "-"+msgNoAuth+"\r\n" {
		t.Errorf("got %q, want NOAUTH", got)
	}
	if got := fresh.raw("CONFIG", "SET", "requirepass", ""); got != "+OK\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := other.raw("PING"); got != "+PONG\r\n" {
		t.Errorf("after the password was removed: got %q, want PONG", got)
	}
}

// TestConfigSetAllOrNothing checks that a bad pair leaves every setting as
// it was, good pairs before it included.
func TestConfigSetAllOrNothing(t *testing.T) {
	ctx := context.Background()
	ts := start(t, nil)
	rc := newClient(t, ts, nil)
	before, err := rc.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]any{
		{"maxmemory", "1mb", "timeout", "5", "slowlog-max-len", "-1"},
		{"hash-max-listpack-entries", "1", "maxclients", "x"},
		{"requirepass", "pw", "protected-mode", "no", "loglevel", "loud"},
		{"appendfsync", "always", "nosuch", "1"},
		{"maxmemory-policy", "allkeys-lru", "port", "1"},
	} {
		if err := rc.Do(ctx, append([]any{"CONFIG", "SET"}, bad...)...).Err(); err == nil {
			t.Fatalf("CONFIG SET %v: want an error", bad)
		}
	}
	after, err := rc.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s: got %q after failed CONFIG SETs, want %q", k, after[k], v)
		}
	}
	if object.CurrentLimits().HashMaxListpackEntries != object.DefaultLimits().HashMaxListpackEntries {
		t.Errorf("the collection limits changed")
	}
}

// TestConfigSetMaxclients lowers maxclients below the clients connected:
// they stay, and the next one is refused.
func TestConfigSetMaxclients(t *testing.T) {
	ts := start(t, nil)
	a, b := ts.dial(t), ts.dial(t)
	for _, c := range []*client{a, b} {
		c.raw("PING")
	}
	if got := a.raw("CONFIG", "SET", "maxclients", "1"); got != "+OK\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := b.raw("PING"); got != "+PONG\r\n" {
		t.Errorf("a connected client after maxclients 1: got %q, want PONG", got)
	}
	c := ts.dial(t)
	if got := c.line(); got != strings.TrimSuffix(string(ReplyMaxClients), "\n") {
		t.Errorf("a new client: got %q, want %q", got, ReplyMaxClients)
	}
}

// TestConfigSetProtoMaxBulkLen lowers the longest bulk string accepted.
func TestConfigSetProtoMaxBulkLen(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	if got := c.raw("CONFIG", "SET", "proto-max-bulk-len", "1mb"); got != "+OK\r\n" {
		t.Fatalf("got %q", got)
	}
	c.send(fmt.Sprintf("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", 2<<20))
	if got := c.line(); got != "-ERR Protocol error: invalid bulk length\r" {
		t.Errorf("got %q, want the protocol error", got)
	}
	c.expectClosed()
}

// TestConfigSetLogLevel maps Redis's levels onto the logger's.
func TestConfigSetLogLevel(t *testing.T) {
	lv := new(slog.LevelVar)
	ts := start(t, func(c *Config) { c.LogLevel = lv })
	rc := newClient(t, ts, nil)
	for _, tc := range []struct {
		set, get string
		level    slog.Level
	}{
		{"warning", "warning", slog.LevelWarn},
		{"debug", "debug", slog.LevelDebug},
		{"verbose", "verbose", slog.LevelDebug + 2},
		{"notice", "notice", slog.LevelInfo},
		{"warn", "warning", slog.LevelWarn},
		{"error", "warning", slog.LevelError},
		{"INFO", "notice", slog.LevelInfo},
	} {
		configSet(t, rc, "loglevel", tc.set)
		if got := configGet(t, rc, "loglevel"); got != tc.get {
			t.Errorf("loglevel %s: CONFIG GET says %s, want %s", tc.set, got, tc.get)
		}
		if lv.Level() != tc.level {
			t.Errorf("loglevel %s: logger level %v, want %v", tc.set, lv.Level(), tc.level)
		}
	}
}

// TestConfigSetAppendfsync changes the fsync policy of the data directory.
func TestConfigSetAppendfsync(t *testing.T) {
	ctx := context.Background()
	ts := start(t, func(c *Config) { c.Persistence.Dir = t.TempDir() })
	rc := newClient(t, ts, nil)
	for _, f := range []wal.Fsync{wal.FsyncAlways, wal.FsyncNo, wal.FsyncEverySec} {
		configSet(t, rc, "fsync", strings.ToUpper(f.String()))
		if got := ts.store.Fsync(); got != f {
			t.Errorf("got the store's fsync %v, want %v", got, f)
		}
		if got := configGet(t, rc, "appendfsync"); got != f.String() {
			t.Errorf("got appendfsync %s, want %v", got, f)
		}
		if err := rc.Set(ctx, "k", f.String(), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConfigSetOutputLimits sets the classes of client-output-buffer-limit.
func TestConfigSetOutputLimits(t *testing.T) {
	ts := start(t, nil)
	rc := newClient(t, ts, nil)
	configSet(t, rc, "client-output-buffer-limit", "normal 64mb 0 0 replica 1 2 3 pubsub 1mb 512kb 10")
	want := "normal 67108864 0 0 slave 268435456 67108864 60 pubsub 1048576 524288 10"
	if got := configGet(t, rc, "client-output-buffer-limit"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if cfg := ts.cfg(); cfg.NormalOutput.Hard != 64<<20 || cfg.PubSubOutput.Hard != 1<<20 {
		t.Errorf("got normal %+v, pubsub %+v", cfg.NormalOutput, cfg.PubSubOutput)
	}
	configSet(t, rc, "client-output-buffer-limit", "normal 0 0 0")
	if got := configGet(t, rc, "client-output-buffer-limit"); !strings.HasPrefix(got, "normal 0 0 0 ") {
		t.Errorf("got %q, want no normal limit", got)
	}
	configSet(t, rc, "client-output-buffer-limit", "normal 2mb 1mb 5")
	if got := configGet(t, rc, "client-output-buffer-limit"); !strings.HasPrefix(got, "normal 2097152 1048576 5 ") {
		t.Errorf("got %q, want the normal class's hard and soft limits", got)
	}
	if cfg := ts.cfg(); cfg.NormalOutput.Soft != 1<<20 || cfg.NormalOutput.SoftFor != 5*time.Second {
		t.Errorf("got normal %+v", cfg.NormalOutput)
	}
}

// TestConfigRewrite rewrites the file the server was started from:
// comments and unrelated lines stay, a changed line is rewritten in place,
// new parameters are appended, and the values read back are those set.
func TestConfigRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.conf")
	orig := "# data-cluster test configuration\n\nshards 2\n# memory\nmaxmemory 100mb\nmaxmemory-policy noeviction\nmax-clients 50\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := start(t, func(c *Config) {
		c.ConfigFile = path
		c.MaxMemory = 100 << 20
		c.MaxClients = 50
	})
	rc := newClient(t, ts, nil)
	configSet(t, rc, "maxmemory-policy", "allkeys-lru", "timeout", "7", "requirepass", "p w", "hash-max-ziplist-entries", "64")
	defer object.SetLimits(object.DefaultLimits())
	if err := rc.Do(context.Background(), "CONFIG", "REWRITE").Err(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# data-cluster test configuration\n\nshards 2\n# memory\nmaxmemory 100mb\nmaxmemory-policy allkeys-lru\nmax-clients 50\n" +
		"# Generated by CONFIG REWRITE\ntimeout 7\nrequirepass \"p w\"\nhash-max-listpack-entries 64\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if keyspace.AllKeysLRU.String() != "allkeys-lru" {
		t.Fatal("policy names changed")
	}
}

// TestConfigSetProtectedMode turns protected mode off and on again for a
// client from another host (CONFIG SET as a loopback client would send it).
func TestConfigSetProtectedMode(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 40000}
	ts := startOn(t, nil, func(ln net.Listener) net.Listener { return fakeAddrListener{ln, remote} })
	ts.dial(t).closedAfter(string(ReplyDenied))
	if err := ts.setConfig([][]byte{[]byte("protected-mode"), []byte("no")}); err != nil {
		t.Fatal(err)
	}
	if got := ts.dial(t).raw("PING"); got != "+PONG\r\n" {
		t.Fatalf("protected-mode no: got %q, want PONG", got)
	}
	if err := ts.setConfig([][]byte{[]byte("protected-mode"), []byte("yes")}); err != nil {
		t.Fatal(err)
	}
	ts.dial(t).closedAfter(string(ReplyDenied))
}
