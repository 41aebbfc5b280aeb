package cluster

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// waitClients waits until srv has n clients connected.
func waitClients(t *testing.T, srv *Server, n int) {
	t.Helper()
	count := func() int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.conns)
	}
	testutil.Await(t, 10*time.Second, func() bool { return count() == n },
		func() string { return fmt.Sprintf("%d clients connected, want %d", count(), n) })
}

// bulk reads one bulk string reply (a verbatim string in RESP2), and
// returns an error reply as it is.
func (c *rawConn) bulk() string {
	c.t.Helper()
	line, err := c.rd.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if line[0] != '$' || line == "$-1\r\n" {
		return line
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	b := make([]byte, n+2)
	if _, err := io.ReadFull(c.rd, b); err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return string(b[:n])
}

// call sends a command and reads its bulk or one-line reply.
func (c *rawConn) call(args ...string) string {
	c.t.Helper()
	c.send(args...)
	return c.bulk()
}

// TestNodeClientRedis checks a node's CLIENT replies against those recorded
// from redis-server 7.0.15 (the single server checks the same), each on a
// fresh connection that is the node's only client.
func TestNodeClientRedis(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	srv, addr := serveNodeServer(t, tn, 0)
	for _, tc := range testutil.ClientRedisCases {
		t.Run(strings.Join(tc.Args, " "), func(t *testing.T) {
			waitClients(t, srv, 0)
			c := dialRaw(t, addr)
			c.send(tc.Args...)
			c.expect(tc.Want)
			c.nc.Close()
		})
	}
	t.Run("HELP", func(t *testing.T) {
		var w resp.Writer
		server.ClientHelp(&w)
		c := dialRaw(t, addr)
		c.send("CLIENT", "HELP")
		c.expect(string(w.Bytes()))
	})
}

// clientFields are the keys of a CLIENT LIST line, in Redis 7's order
// (lib-name and lib-ver are 7.2's).
var clientFields = []string{"id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub",
	"multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events",
	"cmd", "user", "redir", "resp", "lib-name", "lib-ver"}

// TestNodeClientList checks what CLIENT SETNAME, SETINFO, HELLO SETNAME,
// SUBSCRIBE and MULTI show in a node's CLIENT LIST and INFO, the filters of
// LIST, and INFO's clients section.
func TestNodeClientList(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	srv, addr := serveNodeServer(t, tn, 1)
	a, b, sub := dialRaw(t, addr), dialRaw(t, addr), dialRaw(t, addr)
	idA, idB, idSub := a.call("CLIENT", "ID"), b.call("CLIENT", "ID"), sub.call("CLIENT", "ID")
	idA, idB, idSub = strings.Trim(idA, ":\r\n"), strings.Trim(idB, ":\r\n"), strings.Trim(idSub, ":\r\n")
	for _, cmd := range [][]string{{"CLIENT", "SETNAME", "app-a"}, {"CLIENT", "SETINFO", "lib-name", "go-redis"},
		{"CLIENT", "SETINFO", "LIB-VER", "9.0"}, {"CLIENT", "NO-EVICT", "on"}, {"CLIENT", "NO-TOUCH", "on"}} {
		if got := a.call(cmd...); got != "+OK\r\n" {
			t.Fatalf("%q: got %q, want +OK", cmd, got)
		}
	}
	if got := a.call("CLIENT", "GETNAME"); got != "app-a" {
		t.Fatalf("GETNAME: got %q, want app-a", got)
	}
	b.send("HELLO", "2", "SETNAME", "app-b")
	b.reply()
	sub.send("SUBSCRIBE", "ch1", "ch2")
	sub.reply()
	sub.reply()
	b.send("MULTI")
	b.expect("+OK\r\n")
	b.send("SET", "k", "v")
	b.expect("+QUEUED\r\n")

	info := a.call("CLIENT", "INFO")
	fa := testutil.ClientLine(t, info, idA)
	var keys []string
	for _, kv := range strings.Fields(info) {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	if !slices.Equal(keys, clientFields) {
		t.Fatalf("CLIENT INFO's fields: got %q, want %q", keys, clientFields)
	}
	list := a.call("CLIENT", "LIST")
	fb, fs := testutil.ClientLine(t, list, idB), testutil.ClientLine(t, list, idSub)
	tests := []struct {
		who   string
		f     map[string]string
		field string
		want  string
	}{
		{"a", fa, "name", "app-a"},
		{"a", fa, "lib-name", "go-redis"},
		{"a", fa, "lib-ver", "9.0"},
		{"a", fa, "flags", "eT"},
		{"a", fa, "cmd", "client|info"},
		{"a", fa, "multi", "-1"},
		{"a", fa, "fd", "-1"},
		{"a", fa, "rbs", "16384"},
		{"a", fa, "redir", "-1"},
		{"b", fb, "name", "app-b"},
		{"b", fb, "flags", "x"},
		{"b", fb, "multi", "1"},
		{"b", fb, "multi-mem", "29"}, // redis-server 7.0.15 shows 29 for SET k v
		{"b", fb, "cmd", "set"},
		{"sub", fs, "flags", "P"},
		{"sub", fs, "sub", "2"},
		{"sub", fs, "cmd", "subscribe"},
	}
	for _, tt := range tests {
		if got := tt.f[tt.field]; got != tt.want {
			t.Errorf("%s's %s: got %q, want %q", tt.who, tt.field, got, tt.want)
		}
	}
	if n := strings.Count(list, "\n"); n != 3 {
		t.Errorf("CLIENT LIST: %d lines, want 3:\n%s", n, list)
	}
	if ids := strings.Index(list, "id="+idA+" ") < strings.Index(list, "id="+idB+" "); !ids {
		t.Errorf("CLIENT LIST not ordered by id:\n%s", list)
	}
	for _, f := range []struct {
		args []string
		want []string
	}{
		{[]string{"TYPE", "pubsub"}, []string{idSub}},
		{[]string{"TYPE", "normal"}, []string{idA, idB}},
		{[]string{"ID", idB, idSub, "999"}, []string{idB, idSub}},
		{[]string{"TYPE", "replica"}, nil},
	} {
		got := a.call(append([]string{"CLIENT", "LIST"}, f.args...)...)
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
			if id, ok := strings.CutPrefix(strings.Fields(l + " x")[0], "id="); ok {
				ids = append(ids, id)
			}
		}
		if !slices.Equal(ids, f.want) {
			t.Errorf("CLIENT LIST %q: got ids %q, want %q", f.args, ids, f.want)
		}
	}
	clients := a.call("INFO", "clients")
	for _, want := range []string{"connected_clients:3\r\n", "maxclients:0\r\n", "blocked_clients:0\r\n"} {
		if !strings.Contains(clients, want) {
			t.Errorf("INFO clients: %q lacks %q", clients, want)
		}
	}
	b.send("RESET")
	b.expect("+RESET\r\n")
	if got := b.call("CLIENT", "GETNAME"); got != "$-1\r\n" {
		t.Errorf("GETNAME after RESET: got %q, want nil", got)
	}
	_ = srv
}

// TestNodeClientKill kills a node's clients by every filter, and checks
// the killed client is gone and the others are not.
func TestNodeClientKill(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	srv, addr := serveNodeServer(t, tn, 2)
	self := dialRaw(t, addr)
	self.call("CLIENT", "ID")
	gone := func(c *rawConn) bool {
		c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.rd.ReadByte()
		return err == io.EOF
	}
	id := func(c *rawConn) string { return strings.Trim(c.call("CLIENT", "ID"), ":\r\n") }
	user := self.call("ACL", "SETUSER", "killme", "on", "nopass", "+@all", "~*")
	if user != "+OK\r\n" {
		t.Fatalf("ACL SETUSER: %q", user)
	}
	tests := []struct {
		name string
		kill func(victim *rawConn) []string
		want string
	}{
		{"id", func(v *rawConn) []string { return []string{"ID", id(v)} }, ":1\r\n"},
		{"addr", func(v *rawConn) []string { return []string{"ADDR", v.nc.LocalAddr().String()} }, ":1\r\n"},
		{"old style", func(v *rawConn) []string { return []string{v.nc.LocalAddr().String()} }, "+OK\r\n"},
		{"laddr and id", func(v *rawConn) []string { return []string{"LADDR", addr, "ID", id(v)} }, ":1\r\n"},
		{"user", func(v *rawConn) []string {
			v.send("AUTH", "killme", "x")
			v.expect("+OK\r\n")
			return []string{"USER", "killme"}
		}, ":1\r\n"},
		{"type pubsub", func(v *rawConn) []string {
			v.send("SUBSCRIBE", "c")
			v.reply()
			return []string{"TYPE", "pubsub"}
		}, ":1\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitClients(t, srv, 1)
			victim, bystander := dialRaw(t, addr), dialRaw(t, addr)
			// Answered, so known to the node before it is named: a
			// client connected but not yet taken in is no one to kill.
			victim.call("PING")
			args := append([]string{"CLIENT", "KILL"}, tt.kill(victim)...)
			self.send(args...)
			self.expect(tt.want)
			if !gone(victim) {
				t.Fatalf("%q: the client is still connected", args)
			}
			if got := bystander.call("PING"); got != "+PONG\r\n" {
				t.Fatalf("%q: another client got %q", args, got)
			}
			bystander.nc.Close()
		})
	}
	t.Run("skipme no", func(t *testing.T) {
		waitClients(t, srv, 1)
		other := dialRaw(t, addr)
		other.call("PING")
		self.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no")
		self.expect(":2\r\n")
		if !gone(self) || !gone(other) {
			t.Fatal("SKIPME no: a client is still connected")
		}
	})
}

// TestNodeClientPause pauses a node's clients: WRITE holds writes and lets
// reads through, ALL holds both, a held client shows flag b, CLIENT UNPAUSE
// releases them, and a held client can be killed. Another node's clients
// are not held.
func TestNodeClientPause(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	srv, addr := serveNodeServer(t, tn, 0)
	_, addr2 := serveNodeServer(t, tn, 1)
	admin, cl, elsewhere := dialRaw(t, addr), dialRaw(t, addr), dialRaw(t, addr2)
	clID := strings.Trim(cl.call("CLIENT", "ID"), ":\r\n")
	if got := cl.call("SET", "p", "1"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	held := func() bool {
		return strings.Contains(testutil.ClientLine(t, admin.call("CLIENT", "LIST"), clID)["flags"], "b")
	}
	waitHeld := func() {
		testutil.Await(t, 10*time.Second, held, func() string { return "the client is not held by the pause" })
	}
	admin.send("CLIENT", "PAUSE", "100000", "WRITE")
	admin.expect("+OK\r\n")
	if got := cl.call("GET", "p"); got != "1" {
		t.Fatalf("GET during PAUSE WRITE: got %q, want 1", got)
	}
	if got := elsewhere.call("SET", "p", "2"); got != "+OK\r\n" {
		t.Fatalf("SET on another node during the pause: got %q", got)
	}
	cl.send("SET", "p", "3")
	waitHeld()
	if got := admin.call("GET", "p"); got != "2" {
		t.Fatalf("GET while a SET is held: got %q, want 2", got)
	}
	admin.send("CLIENT", "UNPAUSE")
	admin.expect("+OK\r\n")
	cl.expect("+OK\r\n")
	if got := cl.call("GET", "p"); got != "3" {
		t.Fatalf("GET after UNPAUSE: got %q, want 3", got)
	}

	// ALL holds every command, CLIENT LIST too: the held client is found
	// in process.
	admin.send("CLIENT", "PAUSE", "100000", "ALL")
	admin.expect("+OK\r\n")
	cl.send("GET", "p")
	heldConn(t, srv, clID)
	admin.send("CLIENT", "UNPAUSE") // held too, as in Redis 7.0
	srv.node.pause.Unpause()
	cl.expect("$1\r\n3\r\n")
	admin.expect("+OK\r\n")
}

// heldConn waits until client id of srv is held by a pause, and returns it.
func heldConn(t *testing.T, srv *Server, id string) *clientConn {
	t.Helper()
	var c *clientConn
	testutil.Await(t, 10*time.Second, func() bool {
		for _, o := range srv.clients() {
			if strconv.FormatInt(o.id, 10) == id && o.paused.Load() {
				c = o
				return true
			}
		}
		return false
	}, func() string { return "client " + id + " is not held by the pause" })
	return c
}

// TestNodeClientPauseKill kills a client held by an ALL pause: it ends
// without running its command.
func TestNodeClientPauseKill(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	srv, addr := serveNodeServer(t, tn, 0)
	cl := dialRaw(t, addr)
	clID := strings.Trim(cl.call("CLIENT", "ID"), ":\r\n")
	srv.node.pause.Pause(time.Hour, true)
	defer srv.node.pause.Unpause()
	cl.send("SET", "pk", "1")
	heldConn(t, srv, clID).kill()
	cl.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := cl.rd.ReadByte(); err != io.EOF {
		t.Fatalf("held client after kill: %v, want EOF", err)
	}
	srv.node.pause.Unpause()
	other := dialRaw(t, addr)
	if got := other.call("EXISTS", "pk"); got != ":0\r\n" {
		t.Fatalf("the killed client's SET ran: EXISTS answered %q", got)
	}
}

// TestGroupPausedExpiry checks that a leader whose node is paused (CLIENT
// PAUSE) proposes no expiry, however many ticks pass, and expires the key
// once the pause ends.
func TestGroupPausedExpiry(t *testing.T) {
	var paused atomic.Bool
	paused.Store(true)
	tg := newTestGroup(t, func(c *GroupConfig) { c.Paused = &paused })
	l := tg.leader()
	if got := tg.mustDo(l, Write, "SET", "k", "v", "PX", "1"); got != "+OK\r\n" {
		t.Fatalf("SET: %q", got)
	}
	testutil.Await(t, 10*time.Second, func() bool { return tg.mustDo(l, Read, "PTTL", "k") == ":-2\r\n" },
		func() string { return "the key never expired" })
	// Two followers get one heartbeat per leader tick: after ten more
	// heartbeats the leader has ticked at least four times since.
	hb := tg.net.heartbeats.Load()
	testutil.Await(t, 10*time.Second, func() bool { return tg.net.heartbeats.Load() >= hb+10 },
		func() string { return "the leader stopped ticking" })
	if keys := tg.reps[l].Status().Keys; keys != 1 {
		t.Fatalf("keys while paused: got %d, want 1 (the expired key not removed)", keys)
	}
	paused.Store(false)
	testutil.Await(t, 10*time.Second, func() bool { return tg.reps[l].Status().Keys == 0 },
		func() string { return "the expired key was not removed after the pause" })
}
