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

// authUnwatchRedisCases are replies recorded from redis-server 7.0.15, run
// in order on one connection: UNWATCH and AUTH are queued in MULTI and run
// by EXEC, AUTH changing the connection's user there.
var authUnwatchRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"SET", "a", "1"}, "+OK\r\n"},
	{[]string{"WATCH", "a"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"UNWATCH"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*1\r\n+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"AUTH", "x"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*1\r\n-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"AUTH", "x", "y"}, "+QUEUED\r\n"},
	{[]string{"PING"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*2\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+PONG\r\n"},
	{[]string{"ACL", "SETUSER", "u", "on", ">p", "+@all", "~*"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"ACL", "WHOAMI"}, "+QUEUED\r\n"},
	{[]string{"AUTH", "u", "p"}, "+QUEUED\r\n"},
	{[]string{"ACL", "WHOAMI"}, "+QUEUED\r\n"},
	{[]string{"AUTH", "u", "wrong"}, "+QUEUED\r\n"},
	{[]string{"ACL", "WHOAMI"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*5\r\n$7\r\ndefault\r\n+OK\r\n$1\r\nu\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n$1\r\nu\r\n"},
	{[]string{"ACL", "WHOAMI"}, "$1\r\nu\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"AUTH", "default", "x"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*1\r\n+OK\r\n"},
	{[]string{"ACL", "WHOAMI"}, "$7\r\ndefault\r\n"},
}

func TestMultiAuthUnwatchRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range authUnwatchRedisCases {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
}

// TestMultiUnwatchQueued checks that an UNWATCH queued in MULTI leaves the
// watched keys to EXEC, which checks them first, and that with a password
// set AUTH runs in EXEC, as in redis-server 7.0.15.
func TestMultiUnwatchQueued(t *testing.T) {
	ts := start(t, func(c *Config) { c.RequirePass = testPass })
	c, other := ts.dial(t), ts.dial(t)
	for _, cl := range []*client{c, other} {
		if got := cl.raw("AUTH", testPass); got != "+OK\r\n" {
			t.Fatalf("AUTH: got %q", got)
		}
	}
	steps := []struct {
		c    *client
		args []string
		want string
	}{
		{c, []string{"SET", "w", "1"}, "+OK\r\n"},
		{c, []string{"WATCH", "w"}, "+OK\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"UNWATCH"}, "+QUEUED\r\n"},
		{c, []string{"SET", "w", "mine"}, "+QUEUED\r\n"},
		{other, []string{"SET", "w", "other"}, "+OK\r\n"},
		{c, []string{"EXEC"}, "*-1\r\n"},
		{c, []string{"GET", "w"}, "$5\r\nother\r\n"},
		{c, []string{"MULTI"}, "+OK\r\n"},
		{c, []string{"AUTH", "wrong"}, "+QUEUED\r\n"},
		{c, []string{"AUTH", testPass}, "+QUEUED\r\n"},
		{c, []string{"EXEC"}, "*2\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n"},
	}
	for i, s := range steps {
		if got := s.c.raw(s.args...); got != s.want {
			t.Errorf("%d %q: got %q, want %q", i, s.args, got, s.want)
		}
	}
}

// execDeniedRedisCases are replies recorded from redis-server 7.0.15, run
// in order on one connection: EXEC checks each queued command against the
// user's rules again, here those of a user an AUTH queued before it logged
// in as, and answers Redis's error for one they no longer allow.
var execDeniedRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"SET", "a", "0"}, "+OK\r\n"},
	{[]string{"ACL", "SETUSER", "nokey", "on", ">p", "+@all", "~b", "&c"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"AUTH", "nokey", "p"}, "+QUEUED\r\n"},
	{[]string{"SET", "a", "1"}, "+QUEUED\r\n"},
	{[]string{"PUBLISH", "ch", "x"}, "+QUEUED\r\n"},
	{[]string{"GET", "b"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*4\r\n+OK\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to touch the specified keys\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to access one of the channels used as arguments\r\n$-1\r\n"},
	{[]string{"AUTH", "default", "x"}, "+OK\r\n"},
	{[]string{"ACL", "SETUSER", "noget", "on", ">p", "+@all", "-get", "~*"}, "+OK\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"GET", "a"}, "+QUEUED\r\n"},
	{[]string{"AUTH", "noget", "p"}, "+QUEUED\r\n"},
	{[]string{"GET", "a"}, "+QUEUED\r\n"},
	{[]string{"SET", "a", "2"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*4\r\n$1\r\n0\r\n+OK\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n+OK\r\n"},
	{[]string{"ACL", "WHOAMI"}, "$5\r\nnoget\r\n"},
}

func TestMultiExecDeniedRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range execDeniedRedisCases {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
}
