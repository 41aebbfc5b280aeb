package server

import (
	"strings"
	"testing"
)

// TestWaitAndRole checks WAIT and ROLE on a server without replicas, with
// Redis 7.0.15's replies (recorded from redis-server): WAIT for no replica
// answers 0 at once, WAIT for one blocks until its timeout, CLIENT UNBLOCK
// or EXEC's no-blocking rule, and answers 0.
func TestWaitAndRole(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ROLE"}, "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"},
		{[]string{"ROLE", "x"}, "-ERR wrong number of arguments for 'role' command\r\n"},
		{[]string{"WAIT", "1"}, "-ERR wrong number of arguments for 'wait' command\r\n"},
		{[]string{"WAIT", "a", "0"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"WAIT", "99999999999999999999", "0"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "a"}, "-ERR timeout is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "1.5"}, "-ERR timeout is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "+5"}, "-ERR timeout is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "05"}, "-ERR timeout is not an integer or out of range\r\n"},
		{[]string{"WAIT", "1", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"WAIT", "0", "-1"}, "-ERR timeout is negative\r\n"},
		{[]string{"WAIT", "0", "0"}, ":0\r\n"},
		{[]string{"WAIT", "-1", "0"}, ":0\r\n"},
		{[]string{"WAIT", "1", "10"}, ":0\r\n"}, // after 10 ms
		{[]string{"EVAL", "return redis.call('wait', 0, 0)", "0"}, "-ERR This Redis command is not allowed from script script: 09c741d9d86c54b89b6c904a627c276a73679c40, on @user_script:1.\r\n"},
	} {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}

	// Inside EXEC, WAIT does not block.
	c.send(respCmd("MULTI") + respCmd("SET", "k", "v") + respCmd("WAIT", "5", "0") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:0\r\n")

	// A WAIT without a timeout blocks until CLIENT UNBLOCK: TIMEOUT
	// answers the count (0), ERROR Redis's UNBLOCKED error.
	admin := ts.dial(t)
	for _, tc := range []struct{ reason, want string }{
		{"TIMEOUT", ":0\r\n"},
		{"ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"},
	} {
		id := c.clientID()
		c.send(respCmd("WAIT", "1", "0"))
		waitBlocked(t, ts, 1)
		admin.send(respCmd("CLIENT", "LIST", "ID", id))
		admin.line() // the bulk string's length
		if l := admin.line(); !strings.Contains(l, " flags=b ") || !strings.Contains(l, " cmd=wait ") {
			t.Fatalf("CLIENT LIST of a client in WAIT: got %q, want flags=b and cmd=wait", l)
		}
		admin.line()
		admin.send(respCmd("CLIENT", "UNBLOCK", id, tc.reason))
		admin.expect(":1\r\n")
		c.expect(tc.want)
		waitBlocked(t, ts, 0)
		c.send(respCmd("PING"))
		c.expect("+PONG\r\n")
	}

	// A client that goes away while it waits is let go.
	gone := ts.dial(t)
	gone.send(respCmd("WAIT", "1", "0"))
	waitBlocked(t, ts, 1)
	gone.nc.Close()
	waitBlocked(t, ts, 0)
}
