package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/testutil"
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

// TestClusterACLFile starts two nodes with aclfiles of different users and
// checks that one file's users become every node's (the first to seed
// them wins, the other is not merged in), that ACL LOAD on a node gives
// its file's users to every node, all or none, and that ACL SAVE writes
// the cluster's users to the node's file.
func TestClusterACLFile(t *testing.T) {
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "n0.acl"), filepath.Join(dir, "n1.acl")}
	write := func(f, text string) {
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(files[0], "user default on nopass ~* &* +@all\nuser alice on >a-pw ~* +@all\n")
	write(files[1], "user default on nopass ~* &* +@all\nuser bob on >b-pw ~* +@all\n")
	tn := newTestNodes(t, testSeed(t), nil)
	addrs := []string{
		serveNode(t, tn, 0, ServerConfig{ACLFile: files[0]}),
		serveNode(t, tn, 1, ServerConfig{ACLFile: files[1]}),
		serveNode(t, tn, 2, ServerConfig{}),
	}
	ctx := context.Background()
	plain := redis.NewClient(&redis.Options{Addr: addrs[2], Protocol: 2})
	defer plain.Close()
	users := func() []string {
		u, _ := plain.Do(ctx, "ACL", "USERS").StringSlice()
		return u
	}
	testutil.Await(t, 20*time.Second, func() bool { return len(users()) == 2 },
		func() string { return fmt.Sprintf("node 2's users stayed %q, want default and a file's user", users()) })
	seeded := users()
	if !slices.Equal(seeded, []string{"alice", "default"}) && !slices.Equal(seeded, []string{"bob", "default"}) {
		t.Fatalf("users after start: got %q, want one file's", seeded)
	}

	n1 := redis.NewClient(&redis.Options{Addr: addrs[1], Protocol: 2})
	defer n1.Close()
	write(files[1], "user default on nopass ~* &* +@all\nuser carol on >c-pw ~* +@all\n")
	if err := n1.Do(ctx, "ACL", "LOAD").Err(); err != nil {
		t.Fatalf("ACL LOAD on node 1: %v", err)
	}
	// Node 2 checks the users linearizably before it answers WRONGPASS.
	if err := plain.Do(ctx, "AUTH", "carol", "c-pw").Err(); err != nil {
		t.Fatalf("AUTH carol on node 2 after ACL LOAD on node 1: %v", err)
	}
	for _, gone := range []string{"alice", "bob"} {
		if err := plain.Do(ctx, "AUTH", gone, "x").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
			t.Fatalf("AUTH %s after ACL LOAD: got %v, want WRONGPASS", gone, err)
		}
	}

	// A node that starts with an aclfile once the cluster has users
	// leaves them as they are.
	late := filepath.Join(dir, "late.acl")
	write(late, "user default on nopass ~* &* +@all\nuser zed on >z-pw ~* +@all\n")
	srv := NewServer(tn.nodes[2], ServerConfig{ACLFile: late})
	done := srv.seedACL()
	srv.Shutdown(ctx)
	if !done {
		t.Fatal("a late node's seeding did not finish")
	}
	// AUTH reads the users linearizably first.
	if err := plain.Do(ctx, "AUTH", "zed", "z-pw").Err(); err == nil {
		t.Fatal("a late node's aclfile replaced the cluster's users")
	}

	write(files[1], "user default on nopass ~* &* +@all\nuser dave on >d-pw ~* +@all\nuser erin on +nosuch\n")
	err := n1.Do(ctx, "ACL", "LOAD").Err()
	if err == nil || !strings.Contains(err.Error(), files[1]+":3: Error in applying operation '+nosuch'") {
		t.Fatalf("ACL LOAD of a bad file: got %v, want its line named", err)
	}
	if err := plain.Do(ctx, "AUTH", "dave", "d-pw").Err(); err == nil {
		t.Fatal("a bad file's users were loaded in part")
	}

	n0 := redis.NewClient(&redis.Options{Addr: addrs[0], Protocol: 2})
	defer n0.Close()
	if err := n1.Do(ctx, "ACL", "SETUSER", "frank", "on", ">f-pw", "~f:*", "+get").Err(); err != nil {
		t.Fatal(err)
	}
	if err := n0.Do(ctx, "ACL", "SAVE").Err(); err != nil {
		t.Fatalf("ACL SAVE on node 0: %v", err)
	}
	saved, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	list, _ := n0.Do(ctx, "ACL", "LIST").StringSlice()
	if want := strings.Join(list, "\n") + "\n"; string(saved) != want || !strings.Contains(want, "user frank") {
		t.Fatalf("node 0's file after ACL SAVE: got %q, want %q, with frank", saved, want)
	}
	for _, cmd := range []string{"LOAD", "SAVE"} {
		if err := plain.Do(ctx, "ACL", cmd).Err(); err == nil || err.Error() != "ERR "+server.ErrNoACLFile.Error() {
			t.Errorf("ACL %s on a node without an aclfile: got %v", cmd, err)
		}
	}
}

// TestClusterACLLog checks that a node's ACL LOG holds the denials of its
// own clients, with the client's CLIENT LIST line, and another node's
// does not.
func TestClusterACLLog(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addrs := []string{serveNode(t, tn, 0, ServerConfig{}), serveNode(t, tn, 1, ServerConfig{})}
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addrs[0], Protocol: 2})
	defer admin.Close()
	other := redis.NewClient(&redis.Options{Addr: addrs[1], Protocol: 2})
	defer other.Close()
	if err := admin.Do(ctx, "ACL", "SETUSER", "ro", "on", ">ro-pw", "~*", "+get").Err(); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, addrs[0])
	c.send("AUTH", "ro", "ro-pw")
	c.expect("+OK\r\n")
	c.send("CLIENT", "SETNAME", "denied")
	c.expect("-NOPERM this user has no permissions to run the 'client|setname' command\r\n")
	c.send("SET", "k", "v")
	c.expect("-NOPERM this user has no permissions to run the 'set' command\r\n")
	log, err := admin.Do(ctx, "ACL", "LOG").Slice()
	if err != nil || len(log) != 2 {
		t.Fatalf("ACL LOG on node 0: got %d entries, %v, want 2", len(log), err)
	}
	entry := map[string]any{}
	fields := log[0].([]any)
	for i := 0; i+1 < len(fields); i += 2 {
		entry[fields[i].(string)] = fields[i+1]
	}
	info, _ := entry["client-info"].(string)
	if entry["object"] != "set" || entry["username"] != "ro" || !strings.Contains(info, " cmd=set user=ro ") ||
		!strings.HasSuffix(info, " lib-name= lib-ver=") {
		t.Fatalf("ACL LOG's newest entry: got %v", entry)
	}
	if log, err := other.Do(ctx, "ACL", "LOG").Slice(); err != nil || len(log) != 0 {
		t.Fatalf("ACL LOG on node 1: got %v, %v, want no entry", log, err)
	}
}

// TestClusterACLScripts checks that the commands a script calls on a
// cluster node are checked against the caller's permissions, with the
// single server's errors, wherever the script's group is led: the script
// travels to the leader with the user's rules.
func TestClusterACLScripts(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer admin.Close()
	if err := admin.Do(ctx, "ACL", "SETUSER", "lu", "on", "nopass", "~{k}a*", "+eval", "+evalsha", "+get", "+set").Err(); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, addr)
	c.send("AUTH", "lu", "x")
	c.expect("+OK\r\n")
	const (
		noCommand = "-ERR The user executing the script can't run this command or subcommand"
		noKey     = "-ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
	)
	for _, st := range []struct{ script, want string }{
		{"return redis.call('del',KEYS[1])", noCommand + " script: "},
		{"return redis.call('get','{k}b')", noKey + " script: "},
		{"return redis.pcall('get','{k}b')", noKey + "\r\n"},
		{"return redis.pcall('sort',KEYS[1])", noCommand + "\r\n"},
		{"return redis.call('set',KEYS[1],'v')", "+OK\r\n"},
		{"return redis.call('get',KEYS[1])", "v"},
	} {
		c.send("EVAL", st.script, "1", "{k}a1")
		if got := c.bulk(); !strings.HasPrefix(got, st.want) {
			t.Errorf("%s as lu: got %q, want %q…", st.script, got, st.want)
		}
	}
	// The same script by the default user, who may do everything.
	if n, err := admin.Eval(ctx, "return redis.call('del',KEYS[1])", []string{"{k}a1"}).Int(); err != nil || n != 1 {
		t.Fatalf("the script as default: got %d, %v", n, err)
	}
	// EVALSHA is checked alike.
	sha, err := admin.ScriptLoad(ctx, "return redis.call('get','{k}b')").Result()
	if err != nil {
		t.Fatal(err)
	}
	c.send("EVALSHA", sha, "1", "{k}a1")
	if got := c.bulk(); !strings.HasPrefix(got, noKey+" script: ") {
		t.Errorf("EVALSHA as lu: got %q, want %q…", got, noKey)
	}
	// And a function.
	if err := admin.Do(ctx, "FUNCTION", "LOAD", "#!lua name=acllib\nredis.register_function('peek', function(keys) return redis.call('get', '{k}b') end)").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "ACL", "SETUSER", "lu", "+fcall").Err(); err != nil {
		t.Fatal(err)
	}
	c.send("FCALL", "peek", "1", "{k}a1")
	if got := c.bulk(); !strings.HasPrefix(got, noKey) {
		t.Errorf("FCALL as lu: got %q, want %q…", got, noKey)
	}
	if err := admin.Do(ctx, "FCALL", "peek", "1", "{k}a1").Err(); err != redis.Nil {
		t.Errorf("FCALL as default: got %v, want nil", err)
	}
}
