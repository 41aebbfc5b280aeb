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
