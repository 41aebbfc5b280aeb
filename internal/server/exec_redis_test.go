package server

import "testing"

// execRefusedRedisCases are replies recorded from redis-server 7.0.15, run
// in order on one connection: an EXEC refused before it runs (its own wrong
// number of arguments, a user not allowed to run it) answers EXECABORT with
// the reason and discards the transaction and the watched keys, in MULTI
// or not; DISCARD and MULTI refused in MULTI doom the transaction.
var execRefusedRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"SET", "a", "1"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"SET", "a", "2"}, "+QUEUED\r\n"},
	{[]string{"EXEC", "x"}, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"},
	{[]string{"GET", "a"}, "$1\r\n1\r\n"},
	{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
	{[]string{"EXEC", "x"}, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"},
	{[]string{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
	{[]string{"DISCARD", "x"}, "-ERR wrong number of arguments for 'discard' command\r\n"},
	{[]string{"MULTI", "x"}, "-ERR wrong number of arguments for 'multi' command\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"DISCARD", "x"}, "-ERR wrong number of arguments for 'discard' command\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"MULTI", "x"}, "-ERR wrong number of arguments for 'multi' command\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	{[]string{"WATCH", "a"}, "+OK\r\n"},
	{[]string{"EXEC", "x"}, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"SET", "a", "3"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*1\r\n+OK\r\n"},
	{[]string{"GET", "a"}, "$1\r\n3\r\n"},
	{[]string{"WATCH", "a"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"EXEC", "x"}, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"},
	{[]string{"SET", "a", "4"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"SET", "a", "5"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*1\r\n+OK\r\n"},
	{[]string{"GET", "a"}, "$1\r\n5\r\n"},
	{[]string{"ACL", "SETUSER", "noexec", "on", ">p", "+@all", "-exec", "~*"}, "+OK\r\n"},
	{[]string{"AUTH", "noexec", "p"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"SET", "a", "6"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n"},
	{[]string{"DISCARD"}, "-ERR DISCARD without MULTI\r\n"},
	{[]string{"GET", "a"}, "$1\r\n5\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of: NOPERM this user has no permissions to run the 'exec' command\r\n"},
	{[]string{"AUTH", "default", "x"}, "+OK\r\n"},
}

func TestMultiExecRefusedRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range execRefusedRedisCases {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
}

// TestExecRefusedContext checks EXEC refused by the subscribed context and
// before authentication against the replies of redis-server 7.0.15.
func TestExecRefusedContext(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.raw("SUBSCRIBE", "ch")
	want := "-EXECABORT Transaction discarded because of: Can't execute 'exec': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
	if got := c.raw("EXEC"); got != want {
		t.Errorf("EXEC while subscribed: got %q, want %q", got, want)
	}

	ts = start(t, func(c *Config) { c.RequirePass = testPass })
	c = ts.dial(t)
	want = "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
	if got := c.raw("EXEC"); got != want {
		t.Errorf("EXEC before AUTH: got %q, want %q", got, want)
	}
}
