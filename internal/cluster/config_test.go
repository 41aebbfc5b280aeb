package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/object"
)

// TestServerConfig checks CONFIG on a cluster node: each node answers for
// itself, CONFIG SET changes that node only, all pairs or none, with
// Redis's texts, and CONFIG REWRITE writes the node's file.
func TestServerConfig(t *testing.T) {
	defer object.SetLimits(object.DefaultLimits())
	tn := newTestNodes(t, testSeed(t), nil)
	path := filepath.Join(t.TempDir(), "node.conf")
	if err := os.WriteFile(path, []byte("# node 0\nmaxclients 100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := defaultSettings().ServerConfig
	cfg.MaxClients, cfg.ConfigFile = 100, path
	a := serveNode(t, tn, 0, cfg)
	b := serveNode(t, tn, 1, ServerConfig{MaxClients: 100})
	ctx := context.Background()
	ra := redis.NewClient(&redis.Options{Addr: a, Protocol: 2})
	defer ra.Close()
	rb := redis.NewClient(&redis.Options{Addr: b, Protocol: 2})
	defer rb.Close()

	if v := ra.ConfigGet(ctx, "maxclients").Val(); v["maxclients"] != "100" {
		t.Fatalf("CONFIG GET maxclients: got %v", v)
	}
	if err := ra.ConfigSet(ctx, "maxclients", "7").Err(); err != nil {
		t.Fatal(err)
	}
	if v := ra.ConfigGet(ctx, "maxclients").Val()["maxclients"]; v != "7" {
		t.Errorf("node a: got maxclients %s, want 7", v)
	}
	if v := rb.ConfigGet(ctx, "maxclients").Val()["maxclients"]; v != "100" {
		t.Errorf("node b: got maxclients %s, want 100 (CONFIG SET acts on one node)", v)
	}
	if err := ra.ConfigSet(ctx, "lua-time-limit", "250").Err(); err != nil {
		t.Fatal(err)
	}
	if v := ra.ConfigGet(ctx, "busy-reply-threshold").Val()["busy-reply-threshold"]; v != "250" {
		t.Errorf("node a: got busy-reply-threshold %s, want 250", v)
	}
	if v := rb.ConfigGet(ctx, "busy-reply-threshold").Val()["busy-reply-threshold"]; v != "5000" {
		t.Errorf("node b: got busy-reply-threshold %s, want 5000", v)
	}
	if err := ra.ConfigSet(ctx, "busy-reply-threshold", "5000").Err(); err != nil {
		t.Fatal(err)
	}

	errs := []struct {
		args []any
		want string
	}{
		{[]any{"maxclients", "0"}, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 1048576 inclusive"},
		{[]any{"timeout", "5", "nosuch", "1"}, "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{[]any{"cluster-enabled", "no"}, "ERR CONFIG SET failed (possibly related to argument 'cluster-enabled') - can't set immutable config"},
		{[]any{"timeout", "5", "TIMEOUT", "6"}, "ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter"},
		{[]any{"timeout", "5", "protected-mode", "maybe"}, "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'"},
		{[]any{"client-output-buffer-limit", "pubsub 1 2"}, "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."},
	}
	for _, e := range errs {
		err := ra.Do(ctx, append([]any{"CONFIG", "SET"}, e.args...)...).Err()
		if err == nil || err.Error() != e.want {
			t.Errorf("CONFIG SET %v: got %v, want %q", e.args, err, e.want)
		}
	}
	if v := ra.ConfigGet(ctx, "timeout").Val()["timeout"]; v != "0" {
		t.Errorf("timeout after refused CONFIG SETs: got %s, want 0", v)
	}
	if err := ra.Do(ctx, "CONFIG", "RESETSTAT").Err(); err != nil {
		t.Errorf("CONFIG RESETSTAT: %v", err)
	}
	if err := rb.Do(ctx, "CONFIG", "REWRITE").Err(); err == nil || err.Error() != "ERR The server is running without a config file" {
		t.Errorf("CONFIG REWRITE without a file: got %v", err)
	}

	// The password and the idle timeout apply to node a's clients.
	idle, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprintf(idle, "*1\r\n$4\r\nPING\r\n")
	rd := bufio.NewReader(idle)
	if l, _ := rd.ReadString('\n'); l != "+PONG\r\n" {
		t.Fatalf("PING: got %q", l)
	}
	if err := ra.ConfigSet(ctx, "requirepass", "pw").Err(); err != nil {
		t.Fatal(err)
	}
	fresh := redis.NewClient(&redis.Options{Addr: a, Protocol: 2, MaxRetries: -1})
	defer fresh.Close()
	if err := fresh.Ping(ctx).Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Errorf("a new client after requirepass: got %v, want NOAUTH", err)
	}
	if err := ra.ConfigSet(ctx, "timeout", "1").Err(); err != nil {
		t.Fatal(err)
	}
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if rest, err := io.ReadAll(rd); err != nil || len(rest) != 0 {
		t.Errorf("idle client: got %q, %v; want it closed by the timeout", rest, err)
	}
	// The timeout closed ra's idle connection too: a new one needs the
	// password.
	rp := redis.NewClient(&redis.Options{Addr: a, Protocol: 2, Password: "pw"})
	defer rp.Close()
	if err := rp.Do(ctx, "CONFIG", "SET", "timeout", "0", "hash-max-listpack-entries", "9").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rp.Do(ctx, "CONFIG", "REWRITE").Err(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# node 0\nmaxclients 7\n# Generated by CONFIG REWRITE\nrequirepass pw\nhash-max-listpack-entries 9\n"
	if string(got) != want {
		t.Errorf("rewritten file:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(rp.Do(ctx, "CONFIG", "HELP").String(), "REWRITE") {
		t.Errorf("CONFIG HELP does not list REWRITE")
	}
}
