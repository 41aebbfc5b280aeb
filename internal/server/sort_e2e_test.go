package server

import "testing"

// TestSortPatterns checks SORT with BY and GET patterns over shards: the
// keys the patterns form live on any shard, so the command runs holding
// them all, in a pipeline, in a transaction, and in a script that holds
// every shard; a script that declares its keys may not use them.
func TestSortPatterns(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	c := ts.dial(t)
	c.send(respCmd("RPUSH", "l", "a", "b", "c") +
		respCmd("MSET", "w_a", "3", "w_b", "1", "w_c", "2", "o_a", "A", "o_b", "B", "o_c", "C") +
		respCmd("HSET", "h_b", "f", "x"))
	c.expect(":3\r\n+OK\r\n:1\r\n")
	const sorted = "*6\r\n$1\r\nb\r\n$1\r\nB\r\n$1\r\nc\r\n$1\r\nC\r\n$1\r\na\r\n$1\r\nA\r\n"
	c.send(respCmd("GET", "o_a") + respCmd("SORT", "l", "BY", "w_*", "GET", "#", "GET", "o_*") +
		respCmd("SORT_RO", "l", "ALPHA", "GET", "h_*->f") + respCmd("GET", "o_b"))
	c.expect("$1\r\nA\r\n" + sorted + "*3\r\n$-1\r\n$1\r\nx\r\n$-1\r\n$1\r\nB\r\n")
	c.send(respCmd("SORT", "l", "BY", "w_*", "GET", "o_*", "STORE", "dst") + respCmd("LRANGE", "dst", "0", "-1"))
	c.expect(":3\r\n*3\r\n$1\r\nB\r\n$1\r\nC\r\n$1\r\nA\r\n")

	c.send(respCmd("MULTI") + respCmd("SET", "w_a", "0") + respCmd("SORT", "l", "BY", "w_*") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")

	c.send(respCmd("EVAL", "return redis.call('sort', 'l', 'by', 'w_*', 'get', 'o_*')", "0"))
	c.expect("*3\r\n$1\r\nA\r\n$1\r\nB\r\n$1\r\nC\r\n")
	c.send(respCmd("EVAL", "return redis.pcall('sort', KEYS[1], 'by', 'w_*')", "1", "l") +
		respCmd("EVAL", "return redis.call('sort', KEYS[1], 'by', 'nosort', 'get', '#')", "1", "l"))
	c.expect("-" + errAllShards + "\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")
}

// TestSortPatternsACL checks that a user who may not read every key is
// refused SORT's BY and GET patterns, which read keys its key patterns
// cannot check, with Redis 7.0.15's errors (recorded from redis-server):
// the first such option in argument order is named; BY without '*' (no
// key read) is allowed; read access to * is enough. It holds in a script
// too, and in MULTI the refusal aborts the transaction. STORE's destination
// needs write access.
func TestSortPatternsACL(t *testing.T) {
	ts := start(t, nil)
	admin := ts.dial(t)
	admin.send(respCmd("RPUSH", "l", "3", "1", "2") + respCmd("MSET", "w_1", "10", "w_2", "20", "w_3", "30") +
		respCmd("ACL", "SETUSER", "limited", "on", "nopass", "~l*", "~w_*", "+@all") +
		respCmd("ACL", "SETUSER", "reader", "on", "nopass", "%R~*", "~l*", "+@all") +
		respCmd("ACL", "SETUSER", "writer", "on", "nopass", "%W~*", "~l*", "+@all"))
	admin.expect(":3\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n")
	const (
		byDenied  = "-ERR BY option of SORT denied due to insufficient ACL permissions.\r\n"
		getDenied = "-ERR GET option of SORT denied due to insufficient ACL permissions.\r\n"
		sorted    = "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
	)
	for _, tc := range []struct {
		user string
		args []string
		want string
	}{
		{"limited", []string{"SORT", "l", "BY", "w_*"}, byDenied},
		{"limited", []string{"SORT", "l", "BY", "nosort"}, "*3\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n"},
		{"limited", []string{"SORT", "l", "GET", "#"}, getDenied},
		{"limited", []string{"SORT", "l", "GET", "w_*"}, getDenied},
		{"limited", []string{"SORT", "l", "BY", "w_*", "GET", "#"}, byDenied},
		{"limited", []string{"SORT_RO", "l", "GET", "#"}, getDenied},
		{"limited", []string{"SORT", "l", "LIMIT", "0", "1", "GET", "#", "BY", "w_*"}, getDenied},
		{"limited", []string{"SORT", "l", "LIMIT", "x", "1", "GET", "#"}, "-ERR value is not an integer or out of range\r\n"},
		{"limited", []string{"SORT", "l", "FOO", "GET", "#"}, "-ERR syntax error\r\n"},
		{"limited", []string{"SORT", "l"}, sorted},
		// STORE's destination needs write access (Redis's sortGetKeys).
		{"limited", []string{"SORT", "l", "STORE", "other"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"},
		{"limited", []string{"SORT", "l", "STORE", "x", "LIMIT", "0", "1", "STORE", "other"}, "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"},
		{"limited", []string{"SORT", "l", "STORE", "l2"}, ":3\r\n"},
		{"limited", []string{"EVAL", "return redis.pcall('sort', 'l', 'get', '#')", "0"}, getDenied},
		{"reader", []string{"SORT", "l", "BY", "w_*", "GET", "#"}, sorted},
		{"reader", []string{"SORT", "l", "GET", "w_*"}, "*3\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n"},
		{"writer", []string{"SORT", "l", "GET", "#"}, getDenied},
		{"writer", []string{"SORT", "l", "BY", "w_*"}, byDenied},
	} {
		c := ts.dial(t)
		c.send(respCmd("AUTH", tc.user, "x"))
		c.expect("+OK\r\n")
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%s: %q: got %q, want %q", tc.user, tc.args, got, tc.want)
		}
	}
	c := ts.dial(t)
	c.send(respCmd("AUTH", "limited", "x") + respCmd("MULTI") + respCmd("SORT", "l", "GET", "#") + respCmd("EXEC"))
	c.expect("+OK\r\n+OK\r\n" + getDenied + "-EXECABORT Transaction discarded because of previous errors.\r\n")
}
