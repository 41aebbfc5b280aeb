package cluster

import (
	"strconv"
	"strings"
	"testing"
)

// TestWaitCountsCopies checks WAIT on a cluster node: it answers how many
// of the other replicas of the groups the client wrote to have logged its
// writes. With every node up both followers of a group of three have them;
// with one follower cut off, a write is still acknowledged (by a majority)
// and WAIT 2 answers 1 at its timeout or at CLIENT UNBLOCK, then 2 once
// the follower is back and has caught up.
func TestWaitCountsCopies(t *testing.T) {
	seed := testSeed(t)
	tn := newTestNodes(t, seed, nil)
	srv, addr := serveNodeServer(t, tn, 0)
	c := dialRaw(t, addr)
	admin := dialRaw(t, addr)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ROLE"}, "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"},
		{[]string{"WAIT", "a", "0"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "a"}, "-ERR timeout is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "-1"}, "-ERR timeout is negative\r\n"},
		// No write yet: every group's followers are counted, and with
		// every node up both have everything.
		{[]string{"WAIT", "2", "0"}, ":2\r\n"},
		{[]string{"SET", "k", "v1"}, "+OK\r\n"},
		{[]string{"WAIT", "2", "0"}, ":2\r\n"},
		{[]string{"WAIT", "0", "0"}, ":2\r\n"},
	} {
		c.send(tc.args...)
		c.expect(tc.want)
	}

	// Cut off a follower of k's group that is not the node the client
	// is on.
	lead := leaderNode(t, tn, "k")
	cut := 1
	if lead == 1 {
		cut = 2
	}
	id := "n" + strconv.Itoa(cut+1)
	tn.net.Isolate(id)
	c.send("SET", "k", "v2")
	c.expect("+OK\r\n")
	c.send("WAIT", "1", "0")
	c.expect(":1\r\n")
	c.send("WAIT", "2", "50")
	c.expect(":1\r\n")

	c.send("CLIENT", "ID")
	cid := strings.TrimSpace(strings.TrimPrefix(c.bulk(), ":"))
	for _, tc := range []struct{ reason, want string }{
		{"TIMEOUT", ":1\r\n"},
		{"ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"},
	} {
		c.send("WAIT", "2", "0")
		waitBlocked(t, srv, 1)
		admin.send("CLIENT", "UNBLOCK", cid, tc.reason)
		admin.expect(":1\r\n")
		c.expect(tc.want)
		waitBlocked(t, srv, 0)
	}

	// The follower comes back: a WAIT without a timeout answers once it
	// has caught up.
	c.send("WAIT", "2", "0")
	waitBlocked(t, srv, 1)
	tn.net.Heal()
	c.expect(":2\r\n")
	waitBlocked(t, srv, 0)
	if t.Failed() {
		t.Logf("seed %d, cut %s", seed, id)
	}
}
