package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// aclSteps are commands on three connections and their replies, recorded
// from redis-server 7.0.15. anyOrder marks replies that list single
// commands, which Redis orders as its hash table of commands does: they
// are compared as sets of words.
var aclSteps = []struct {
	conn     int
	args     []string
	want     string
	anyOrder bool
}{
	{0, []string{"ACL", "SETUSER", "alice", "on", ">pw", "~k*", "%R~r*", "%W~w*", "&c*", "-@all", "+get", "+set", "+publish", "+psubscribe", "+acl|whoami", "+multi", "+exec", "+echo|hi"}, "+OK\r\n", false},
	{0, []string{"ACL", "SETUSER", "bob", "on", "nopass", "allkeys", "allchannels", "+@all", "-@dangerous", "-config|set"}, "+OK\r\n", false},
	{0, []string{"ACL", "GETUSER", "alice"}, "*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\npasswords\r\n*1\r\n$64\r\n30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4\r\n$8\r\ncommands\r\n$70\r\n-@all +publish +echo|hi +set +get +psubscribe +exec +multi +acl|whoami\r\n$4\r\nkeys\r\n$15\r\n~k* %R~r* %W~w*\r\n$8\r\nchannels\r\n$3\r\n&c*\r\n$9\r\nselectors\r\n*0\r\n", true},
	{0, []string{"ACL", "GETUSER", "bob"}, "*12\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$6\r\nnopass\r\n$9\r\npasswords\r\n*0\r\n$8\r\ncommands\r\n$17\r\n+@all -@dangerous\r\n$4\r\nkeys\r\n$2\r\n~*\r\n$8\r\nchannels\r\n$2\r\n&*\r\n$9\r\nselectors\r\n*0\r\n", false},
	{0, []string{"ACL", "GETUSER", "nosuch"}, "$-1\r\n", false},
	{0, []string{"ACL", "USERS"}, "*3\r\n$5\r\nalice\r\n$3\r\nbob\r\n$7\r\ndefault\r\n", false},
	{0, []string{"ACL", "LIST"}, "*3\r\n$184\r\nuser alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~k* %R~r* %W~w* resetchannels &c* -@all +publish +echo|hi +set +get +psubscribe +exec +multi +acl|whoami\r\n$42\r\nuser bob on nopass ~* &* +@all -@dangerous\r\n$34\r\nuser default on nopass ~* &* +@all\r\n", true},
	{0, []string{"ACL", "WHOAMI"}, "$7\r\ndefault\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "get", "k1"}, "+OK\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "get", "x"}, "$50\r\nThis user has no permissions to access the 'x' key\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "set", "r1", "v"}, "$51\r\nThis user has no permissions to access the 'r1' key\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "get", "w1"}, "$51\r\nThis user has no permissions to access the 'w1' key\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "set", "w1", "v"}, "+OK\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "publish", "d", "m"}, "$54\r\nThis user has no permissions to access the 'd' channel\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "del", "k1"}, "$53\r\nThis user has no permissions to run the 'del' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "client", "list"}, "$61\r\nThis user has no permissions to run the 'client|list' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "bob", "config", "set", "maxmemory", "0"}, "$60\r\nThis user has no permissions to run the 'config|set' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "bob", "config", "get", "maxmemory"}, "$60\r\nThis user has no permissions to run the 'config|get' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "bob", "flushall"}, "$58\r\nThis user has no permissions to run the 'flushall' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "nosuch", "get", "k"}, "-ERR User 'nosuch' not found\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "nosuch"}, "-ERR Command 'nosuch' not found\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "get"}, "-ERR wrong number of arguments for 'get' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "config", "resetstat", "x"}, "-ERR wrong number of arguments for 'config|resetstat' command\r\n", false},
	{0, []string{"ACL", "DRYRUN", "alice", "CONFIG", "GET"}, "-ERR wrong number of arguments for 'config|get' command\r\n", false},
	{0, []string{"ACL", "SETUSER", "alice", "~x", "nosuch"}, "-ERR Error in ACL SETUSER modifier 'nosuch': Syntax error\r\n", false},
	{0, []string{"ACL", "DELUSER", "default"}, "-ERR The 'default' user cannot be removed\r\n", false},
	{0, []string{"ACL", "DELUSER", "nosuch"}, ":0\r\n", false},
	{0, []string{"ACL", "GENPASS", "0"}, "-ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096\r\n", false},
	{0, []string{"ACL", "GENPASS", "x"}, "-ERR value is not an integer or out of range\r\n", false},
	{0, []string{"ACL", "CAT", "nosuch"}, "-ERR Unknown category 'nosuch'\r\n", false},
	{0, []string{"ACL", "CAT", "a", "b"}, "-ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP.\r\n", false},
	{0, []string{"ACL", "LOG", "x"}, "-ERR value is not an integer or out of range\r\n", false},
	{0, []string{"ACL", "LOG", "1", "2"}, "-ERR unknown subcommand or wrong number of arguments for 'LOG'. Try ACL HELP.\r\n", false},
	{0, []string{"ACL", "LOAD"}, "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n", false},
	{0, []string{"ACL", "SAVE"}, "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n", false},
	{0, []string{"ACL", "NOSUCH"}, "-ERR unknown subcommand 'NOSUCH'. Try ACL HELP.\r\n", false},
	{0, []string{"ACL", "GETUSER"}, "-ERR wrong number of arguments for 'acl|getuser' command\r\n", false},
	{0, []string{"ACL", "WHOAMI", "x"}, "-ERR wrong number of arguments for 'acl|whoami' command\r\n", false},
	{1, []string{"GET", "k"}, "$-1\r\n", false},
	{1, []string{"AUTH", "alice", "wrong"}, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", false},
	{1, []string{"AUTH", "alice", "pw"}, "+OK\r\n", false},
	{1, []string{"ACL", "WHOAMI"}, "$5\r\nalice\r\n", false},
	{1, []string{"GET", "k1"}, "$-1\r\n", false},
	{1, []string{"GET", "x"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n", false},
	{1, []string{"SET", "r1", "v"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n", false},
	{1, []string{"GET", "r1"}, "$-1\r\n", false},
	{1, []string{"SET", "w1", "v"}, "+OK\r\n", false},
	{1, []string{"GET", "w1"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n", false},
	{1, []string{"SET", "k1", "v"}, "+OK\r\n", false},
	{1, []string{"GET", "k1"}, "$1\r\nv\r\n", false},
	{1, []string{"PUBLISH", "c1", "m"}, ":0\r\n", false},
	{1, []string{"PUBLISH", "d", "m"}, "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n", false},
	{1, []string{"DEL", "k1"}, "-NOPERM this user has no permissions to run the 'del' command\r\n", false},
	{1, []string{"ECHO", "hi"}, "$2\r\nhi\r\n", false},
	{1, []string{"ECHO", "ho"}, "-NOPERM this user has no permissions to run the 'echo' command\r\n", false},
	{1, []string{"CLIENT", "SETNAME", "x"}, "-NOPERM this user has no permissions to run the 'client|setname' command\r\n", false},
	{1, []string{"ACL", "USERS"}, "-NOPERM this user has no permissions to run the 'acl|users' command\r\n", false},
	{1, []string{"MULTI"}, "+OK\r\n", false},
	{1, []string{"DEL", "k1"}, "-NOPERM this user has no permissions to run the 'del' command\r\n", false},
	{1, []string{"GET", "k1"}, "+QUEUED\r\n", false},
	{1, []string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n", false},
	{1, []string{"PSUBSCRIBE", "c1*"}, "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n", false},
	{1, []string{"PSUBSCRIBE", "c*"}, "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n", false},
	{2, []string{"AUTH", "bob", "x"}, "+OK\r\n", false},
	{2, []string{"ACL", "WHOAMI"}, "$3\r\nbob\r\n", false},
	{2, []string{"FLUSHALL"}, "-NOPERM this user has no permissions to run the 'flushall' command\r\n", false},
	{2, []string{"CONFIG", "SET", "maxmemory", "0"}, "-NOPERM this user has no permissions to run the 'config|set' command\r\n", false},
	{2, []string{"GET", "anything"}, "$-1\r\n", false},
	{0, []string{"ACL", "DELUSER", "alice", "bob"}, ":2\r\n", false},
}

func TestACLRedis(t *testing.T) {
	ts := start(t, nil)
	conns := map[int]*client{}
	for i, st := range aclSteps {
		c := conns[st.conn]
		if c == nil {
			c = ts.dial(t)
			conns[st.conn] = c
		}
		c.send(respCmd(st.args...))
		got := readReply(t, c.rd)
		if got == st.want || st.anyOrder && sameWords(got, st.want) {
			continue
		}
		t.Fatalf("step %d %q: got %q, want %q", i, st.args, got, st.want)
	}
}

// readReply reads one whole RESP reply, raw.
func readReply(t *testing.T, rd *bufio.Reader) string {
	t.Helper()
	l, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	switch l[0] {
	case '$', '=':
		n := atoiT(t, l[1:len(l)-2])
		if n < 0 {
			return l
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			t.Fatalf("read: %v", err)
		}
		return l + string(b)
	case '*', '%', '~', '>':
		n := atoiT(t, l[1:len(l)-2])
		if l[0] == '%' {
			n *= 2
		}
		for range max(n, 0) {
			l += readReply(t, rd)
		}
	}
	return l
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("bad length %q", s)
	}
	return n
}

func sameWords(a, b string) bool {
	wa, wb := strings.Fields(a), strings.Fields(b)
	slices.Sort(wa)
	slices.Sort(wb)
	return slices.Equal(wa, wb)
}

// aclLogEntries returns ACL LOG's entries as maps of their fields.
func aclLogEntries(t *testing.T, rc *redis.Client) []map[string]any {
	t.Helper()
	v, err := rc.Do(context.Background(), "ACL", "LOG").Slice()
	if err != nil {
		t.Fatalf("ACL LOG: %v", err)
	}
	var out []map[string]any
	for _, e := range v {
		fields := e.([]any)
		m := map[string]any{}
		for i := 0; i+1 < len(fields); i += 2 {
			m[fields[i].(string)] = fields[i+1]
		}
		out = append(out, m)
	}
	return out
}

// TestACLUnknownSubcommand checks that an unknown subcommand is answered
// as such before any permission check, as in Redis 7.0.15.
func TestACLUnknownSubcommand(t *testing.T) {
	ts := start(t, nil)
	admin := newClient(t, ts, nil)
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "nn", "on", "nopass", "-@all", "+acl|whoami").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	for _, st := range []struct {
		args []string
		want string
	}{
		{[]string{"AUTH", "nn", "x"}, "+OK\r\n"},
		{[]string{"ACL", "FOO"}, "-ERR unknown subcommand 'FOO'. Try ACL HELP.\r\n"},
		{[]string{"CLIENT", "foo"}, "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"},
		{[]string{"CLIENT", "LIST"}, "-NOPERM this user has no permissions to run the 'client|list' command\r\n"},
		{[]string{"ACL", "DRYRUN", "nn", "client", "foo"}, "-NOPERM this user has no permissions to run the 'acl|dryrun' command\r\n"},
	} {
		c.send(respCmd(st.args...))
		if got := readReply(t, c.rd); got != st.want {
			t.Errorf("%q: got %q, want %q", st.args, got, st.want)
		}
	}
	if err := admin.Do(context.Background(), "ACL", "DRYRUN", "nn", "client", "foo").Err(); err == nil || err.Error() != "ERR Command 'client' not found" {
		t.Errorf("ACL DRYRUN nn client foo: got %v", err)
	}
}

func TestACLLog(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	admin := newClient(t, ts, func(o *redis.Options) { o.Protocol = 2 })
	if err := admin.Do(ctx, "ACL", "SETUSER", "eve", "on", ">pw", "~k*", "&c*", "+get", "+publish", "+multi", "+exec").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	for _, st := range []struct{ cmd []string }{
		{[]string{"HELLO", "2", "AUTH", "nosuch", "x"}},
		{[]string{"AUTH", "eve", "nope"}},
		{[]string{"AUTH", "eve", "pw"}},
		{[]string{"GET", "x"}},
		{[]string{"GET", "x"}},
		{[]string{"SET", "k", "v"}},
		{[]string{"PUBLISH", "d", "m"}},
		{[]string{"MULTI"}},
		{[]string{"DEL", "k"}},
		{[]string{"DISCARD"}},
	} {
		c.send(respCmd(st.cmd...))
		readReply(t, c.rd)
	}
	got := aclLogEntries(t, admin)
	want := []struct {
		count                             int64
		reason, context, object, username string
	}{
		{1, "command", "multi", "discard", "eve"},
		{1, "command", "multi", "del", "eve"},
		{1, "channel", "toplevel", "d", "eve"},
		{1, "command", "toplevel", "set", "eve"},
		{2, "key", "toplevel", "x", "eve"},
		{1, "auth", "toplevel", "AUTH", "eve"},
		{1, "auth", "toplevel", "HELLO", "nosuch"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g["count"] != w.count || g["reason"] != w.reason || g["context"] != w.context ||
			g["object"] != w.object || g["username"] != w.username {
			t.Errorf("entry %d: got %v, want %+v", i, g, w)
		}
		info, _ := g["client-info"].(string)
		if !strings.Contains(info, " user=") || !strings.HasPrefix(info, "id=") {
			t.Errorf("entry %d: client-info %q is not a CLIENT LIST line", i, info)
		}
		if _, ok := g["age-seconds"].(string); !ok {
			t.Errorf("entry %d: age-seconds %#v, want a double as a bulk string", i, g["age-seconds"])
		}
	}
	if v, err := admin.Do(ctx, "ACL", "LOG", "2").Slice(); err != nil || len(v) != 2 {
		t.Errorf("ACL LOG 2: got %d entries, %v, want 2", len(v), err)
	}
	if err := admin.Do(ctx, "ACL", "LOG", "RESET").Err(); err != nil {
		t.Fatal(err)
	}
	if got := aclLogEntries(t, admin); len(got) != 0 {
		t.Errorf("after RESET: got %v, want no entries", got)
	}
}

func TestACLDelUserDisconnects(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	if err := admin.Do(ctx, "ACL", "SETUSER", "tmp", "on", "nopass", "+@all", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	c.send(respCmd("AUTH", "tmp", "any"))
	c.expect("+OK\r\n")
	c.send(respCmd("CLIENT", "INFO"))
	if info := readReply(t, c.rd); !strings.Contains(info, " user=tmp ") {
		t.Fatalf("CLIENT INFO: got %q, want user=tmp", info)
	}
	if n, err := admin.Do(ctx, "ACL", "DELUSER", "tmp", "nosuch").Int(); err != nil || n != 1 {
		t.Fatalf("ACL DELUSER: got %d, %v, want 1", n, err)
	}
	c.expectClosed()
	// The default user's connection stays.
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after DELUSER: %v", err)
	}
	// A disabled user cannot authenticate.
	if err := admin.Do(ctx, "ACL", "SETUSER", "off1", "off", ">pw", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	d := ts.dial(t)
	d.send(respCmd("AUTH", "off1", "pw"))
	d.expect("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
}

func TestACLLineProtocol(t *testing.T) {
	ts := start(t, nil)
	admin := newClient(t, ts, nil)
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "ro", "on", ">pw", "%R~*", "+get", "+set").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	for _, st := range []struct{ send, want string }{
		{"SET k v", "OK"},
		{"AUTH ro nope", "WRONGPASS invalid username-password pair or user is disabled."},
		{"AUTH ro pw", "OK"},
		{"GET k", "v"},
		{"SET k w", "NOPERM this user has no permissions to access one of the keys used as arguments"},
		{"DELETE k", "NOPERM this user has no permissions to run the 'delete' command"},
		{"GET k", "v"},
	} {
		if got := c.do(st.send); got != st.want {
			t.Errorf("%s: got %q, want %q", st.send, got, st.want)
		}
	}
}

// TestACLChangesApplyAtOnce checks that ACL SETUSER changes what a
// connection already authenticated may do, EXEC included.
func TestACLChangesApplyAtOnce(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	if err := admin.Do(ctx, "ACL", "SETUSER", "x", "on", "nopass", "~*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	c.send(respCmd("AUTH", "x", "p"))
	c.expect("+OK\r\n")
	c.send(respCmd("MULTI"))
	c.expect("+OK\r\n")
	c.send(respCmd("SET", "k", "1"))
	c.expect("+QUEUED\r\n")
	c.send(respCmd("GET", "k"))
	c.expect("+QUEUED\r\n")
	if err := admin.Do(ctx, "ACL", "SETUSER", "x", "-set").Err(); err != nil {
		t.Fatal(err)
	}
	c.send(respCmd("EXEC"))
	c.expect("*2\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. " +
		"This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n$-1\r\n")
	c.send(respCmd("SET", "k", "1"))
	c.expect("-NOPERM this user has no permissions to run the 'set' command\r\n")
}

// TestACLFileLoadSave runs ACL SAVE and ACL LOAD against --aclfile: SAVE
// writes ACL LIST, a bad file changes nothing and answers Redis's error,
// a good one replaces the users and closes their connections.
func TestACLFileLoadSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.acl")
	if err := os.WriteFile(path, []byte("user default on nopass ~* &* +@all\nuser alice on >pw ~k* +get\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := start(t, func(c *Config) { c.ACLFile = path })
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	alice := ts.dial(t)
	alice.send(respCmd("AUTH", "alice", "pw"))
	alice.expect("+OK\r\n")

	if err := admin.Do(ctx, "ACL", "SETUSER", "bob", "on", "nopass", "+@all", "-@dangerous").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "ACL", "SAVE").Err(); err != nil {
		t.Fatalf("ACL SAVE: %v", err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	list, err := admin.Do(ctx, "ACL", "LIST").StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(list, "\n") + "\n"; string(saved) != want {
		t.Fatalf("saved %q, want ACL LIST %q", saved, want)
	}

	if err := os.WriteFile(path, []byte("user default on nopass ~* &* +@all\nuser carol foo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = admin.Do(ctx, "ACL", "LOAD").Err()
	want := "ERR " + path + ":2: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	if err == nil || err.Error() != want {
		t.Fatalf("ACL LOAD of a bad file: got %v, want %q", err, want)
	}
	if users, _ := admin.Do(ctx, "ACL", "USERS").StringSlice(); !slices.Equal(users, []string{"alice", "bob", "default"}) {
		t.Fatalf("users after a failed LOAD: got %q", users)
	}
	alice.send(respCmd("GET", "k1"))
	alice.expect("$-1\r\n")

	if err := os.WriteFile(path, []byte("user default on nopass ~* &* +@all\nuser carol on >c ~* +@read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "ACL", "LOAD").Err(); err != nil {
		t.Fatalf("ACL LOAD: %v", err)
	}
	if users, _ := admin.Do(ctx, "ACL", "USERS").StringSlice(); !slices.Equal(users, []string{"carol", "default"}) {
		t.Fatalf("users after LOAD: got %q", users)
	}
	alice.expectClosed()
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("the default user's connection after LOAD: %v", err)
	}
}

// TestACLScripts checks the commands a script calls against the caller's
// permissions, with Redis 7.0.15's replies and log context.
func TestACLScripts(t *testing.T) {
	ts := start(t, nil)
	admin := newClient(t, ts, func(o *redis.Options) { o.Protocol = 2 })
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "lu", "on", "nopass", "~k*", "&c*", "+eval", "+get", "+set", "+publish").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	c.send(respCmd("AUTH", "lu", "x"))
	c.expect("+OK\r\n")
	for _, st := range []struct{ script, want string }{
		{"return redis.call('del','k1')", "-ERR The user executing the script can't run this command or subcommand script: c3b74f3007a98f0c42fee4958cccfc76c0078f51, on @user_script:1.\r\n"},
		{"return redis.call('get','x')", "-ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: db94c2918043c41a85e5c7f5b637c7a9c9c7119c, on @user_script:1.\r\n"},
		{"return redis.pcall('get','x')", "-ERR The user executing the script can't access at least one of the keys mentioned in the command arguments\r\n"},
		{"return redis.call('get','k1')", "$-1\r\n"},
		// acl_check_cmd asks without a denial in the log.
		{"return {redis.acl_check_cmd('get','k1'), redis.acl_check_cmd('del','k1'), redis.acl_check_cmd('get','x'), redis.acl_check_cmd('publish','c1','m'), redis.acl_check_cmd('publish','d','m')}", "*5\r\n:1\r\n$-1\r\n$-1\r\n:1\r\n$-1\r\n"},
	} {
		c.send(respCmd("EVAL", st.script, "0"))
		if got := readReply(t, c.rd); got != st.want {
			t.Errorf("%s: got %q, want %q", st.script, got, st.want)
		}
	}
	entries := aclLogEntries(t, admin)
	if len(entries) != 2 || entries[0]["context"] != "lua" || entries[0]["reason"] != "key" || entries[0]["object"] != "x" ||
		entries[0]["count"] != int64(2) || entries[1]["reason"] != "command" || entries[1]["object"] != "del" {
		t.Errorf("ACL LOG: got %v, want the key x denied twice and del once, in context lua", entries)
	}
}

func TestClientKillUser(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	if err := admin.Do(ctx, "ACL", "SETUSER", "k", "on", "nopass", "+@all", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	c.send(respCmd("AUTH", "k", "x"))
	c.expect("+OK\r\n")
	if err := admin.Do(ctx, "CLIENT", "KILL", "USER", "nosuch").Err(); err == nil || err.Error() != "ERR No such user 'nosuch'" {
		t.Fatalf("CLIENT KILL USER nosuch: got %v", err)
	}
	if n, err := admin.Do(ctx, "CLIENT", "KILL", "USER", "k").Int(); err != nil || n != 1 {
		t.Fatalf("CLIENT KILL USER k: got %d, %v, want 1", n, err)
	}
	c.expectClosed()
}

// TestACLSubscribersRechecked checks that a subscribed client whose user
// loses one of its channels is closed, as in Redis 7.0, and that one whose
// channels are all still allowed stays.
func TestACLSubscribersRechecked(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	if err := admin.Do(ctx, "ACL", "SETUSER", "sub", "on", "nopass", "&news.*", "&sport", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	subscribe := func(kind, ch string) *client {
		c := ts.dial(t)
		c.send(respCmd("AUTH", "sub", "x"))
		c.expect("+OK\r\n")
		c.send(respCmd(kind, ch))
		c.expect(fmt.Sprintf("*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n:1\r\n", len(kind), strings.ToLower(kind), len(ch), ch))
		return c
	}
	keeps := subscribe("SUBSCRIBE", "news.today")
	loses := subscribe("SUBSCRIBE", "sport")
	pattern := subscribe("PSUBSCRIBE", "news.*")
	if err := admin.Do(ctx, "ACL", "SETUSER", "sub", "resetchannels", "&news.*").Err(); err != nil {
		t.Fatal(err)
	}
	loses.expectClosed()
	// The others still answer.
	for _, c := range []*client{keeps, pattern} {
		c.send(respCmd("PING"))
		c.expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	}
	if err := admin.Do(ctx, "ACL", "SETUSER", "sub", "resetchannels", "&news.today").Err(); err != nil {
		t.Fatal(err)
	}
	pattern.expectClosed()
	keeps.send(respCmd("PING"))
	keeps.expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
}

// TestACLRequirePass checks that CONFIG SET requirepass is the default
// user's password, as in Redis: ACL GETUSER shows its hash, AUTH takes
// it, and "" makes the default user nopass again.
func TestACLRequirePass(t *testing.T) {
	ts := start(t, nil)
	admin := ts.dial(t)
	admin.send(respCmd("CONFIG", "SET", "requirepass", "pw"))
	admin.expect("+OK\r\n")
	admin.send(respCmd("ACL", "LIST"))
	admin.expect("*1\r\n$93\r\nuser default on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* &* +@all\r\n")
	c := ts.dial(t)
	c.send(respCmd("GET", "k"))
	c.expect("-NOAUTH Authentication required.\r\n")
	c.send(respCmd("AUTH", "pw"))
	c.expect("+OK\r\n")
	c.send(respCmd("CONFIG", "SET", "requirepass", ""))
	c.expect("+OK\r\n")
	c.send(respCmd("ACL", "GETUSER", "default"))
	if got := readReply(t, c.rd); !strings.Contains(got, "$6\r\nnopass\r\n") {
		t.Fatalf("ACL GETUSER default after requirepass \"\": got %q, want nopass", got)
	}
	d := ts.dial(t)
	d.send(respCmd("GET", "k"))
	d.expect("$-1\r\n")
}
