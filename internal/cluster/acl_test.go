package cluster

import (
	"bufio"
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestClusterACL creates a user on one node of three and checks that it
// authenticates on the others at once, that its permissions hold there
// (for a key whose group may be led on any node), and that ACL DELUSER on
// a third node closes its connections everywhere.
func TestClusterACL(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addrs := make([]string, 3)
	for i := range addrs {
		addrs[i] = serveNode(t, tn, i, ServerConfig{})
	}
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addrs[0], Protocol: 2})
	defer admin.Close()
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-pw", "~app:*", "+@read", "+@write", "-@dangerous").Err(); err != nil {
		t.Fatalf("ACL SETUSER on node 0: %v", err)
	}
	if err := admin.Do(ctx, "ACL", "SETUSER", "app", "+acl|whoami").Err(); err != nil {
		t.Fatalf("second ACL SETUSER on node 0: %v", err)
	}
	if err := admin.Do(ctx, "ACL", "SETUSER", "bad", "nosuch").Err(); err == nil ||
		err.Error() != "ERR Error in ACL SETUSER modifier 'nosuch': Syntax error" {
		t.Fatalf("a bad rule: got %v", err)
	}

	app := redis.NewClient(&redis.Options{Addr: addrs[1], Username: "app", Password: "app-pw", Protocol: 2, MaxRetries: -1, PoolSize: 1})
	defer app.Close()
	if who, err := app.Do(ctx, "ACL", "WHOAMI").Text(); err != nil || who != "app" {
		t.Fatalf("ACL WHOAMI on node 1: got %q, %v, want app", who, err)
	}
	for i := range 20 {
		k := "app:" + strings.Repeat("k", i+1) // keys in several slots, groups led anywhere
		if err := app.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("SET %s as app on node 1: %v", k, err)
		}
	}
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"GET", "other"}, "NOPERM this user has no permissions to access one of the keys used as arguments"},
		{[]any{"FLUSHALL"}, "NOPERM this user has no permissions to run the 'flushall' command"},
		{[]any{"ACL", "USERS"}, "NOPERM this user has no permissions to run the 'acl|users' command"},
	} {
		if err := app.Do(ctx, tc.args...).Err(); err == nil || err.Error() != tc.want {
			t.Errorf("%v as app on node 1: got %v, want %q", tc.args, err, tc.want)
		}
	}
	wrong := redis.NewClient(&redis.Options{Addr: addrs[2], Username: "app", Password: "nope", Protocol: 2, MaxRetries: -1})
	defer wrong.Close()
	if err := wrong.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("a wrong password on node 2: got %v", err)
	}

	// Every node lists the same users.
	want, err := admin.Do(ctx, "ACL", "LIST").StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	on2 := redis.NewClient(&redis.Options{Addr: addrs[2], Protocol: 2})
	defer on2.Close()
	// Node 2 read the users for the failed AUTH above.
	if got, err := on2.Do(ctx, "ACL", "LIST").StringSlice(); err != nil || !slices.Equal(got, want) {
		t.Fatalf("ACL LIST on node 2: got %q, %v, want node 0's %q", got, err, want)
	}

	// Deleted on node 2: app's connection on node 1 is closed, and app
	// can no longer log in on node 0.
	held, err := net.Dial("tcp", addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(held, "*3\r\n$4\r\nAUTH\r\n$3\r\napp\r\n$6\r\napp-pw\r\n")
	rd := bufio.NewReader(held)
	if l, err := rd.ReadString('\n'); l != "+OK\r\n" {
		t.Fatalf("AUTH app on node 1: got %q, %v", l, err)
	}
	if n, err := on2.Do(ctx, "ACL", "DELUSER", "app").Int(); err != nil || n != 1 {
		t.Fatalf("ACL DELUSER on node 2: got %d, %v, want 1", n, err)
	}
	again := redis.NewClient(&redis.Options{Addr: addrs[0], Username: "app", Password: "app-pw", Protocol: 2, MaxRetries: -1})
	defer again.Close()
	if err := again.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("app on node 0 after DELUSER: got %v, want WRONGPASS", err)
	}
	// Node 1 closes app's connection when it applies the change.
	if rest, err := io.ReadAll(rd); err != nil || len(rest) != 0 {
		t.Errorf("app's connection on node 1 after DELUSER: read %q, %v; want it closed", rest, err)
	}
	if len(want) != 2 {
		t.Errorf("ACL LIST on node 0: got %q, want default and app", want)
	}
}
