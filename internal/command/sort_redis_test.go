package command

import (
	"os"
	"testing"
)

// Replies recorded from redis-server 7.0.15 for SORT and SORT_RO: numeric
// and ALPHA sorts of lists, sets and sorted sets, DESC, LIMIT with the
// offsets and counts Redis clamps, BY nosort, BY and GET patterns of
// strings and hash fields, STORE, and the errors. Sets are small intsets
// where their order shows, since the order of Redis's hash tables is its
// own. Numbers out of a double's range were recorded on a server of their
// own: Redis 7.0 does not clear errno before its strtod, so once one has
// failed with ERANGE every numeric SORT after it fails too.

var sortCases = []step{
	{[]string{"rpush", "l", "3", "1", "2", "10", "-5", "1.5"}, ":6\r\n"},
	{[]string{"sort", "l"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l", "desc"}, "*6\r\n$2\r\n10\r\n$1\r\n3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$1\r\n1\r\n$2\r\n-5\r\n"},
	{[]string{"sort", "l", "alpha"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n"},
	{[]string{"sort", "l", "alpha", "desc"}, "*6\r\n$1\r\n3\r\n$1\r\n2\r\n$2\r\n10\r\n$3\r\n1.5\r\n$1\r\n1\r\n$2\r\n-5\r\n"},
	{[]string{"sort", "l", "ASC", "DESC", "asc"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort_ro", "l"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort_ro", "l", "limit", "1", "2"}, "*2\r\n$1\r\n1\r\n$3\r\n1.5\r\n"},
	{[]string{"sort", "l", "limit", "0", "0"}, "*0\r\n"},
	{[]string{"sort", "l", "limit", "2", "100"}, "*4\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l", "limit", "-5", "2"}, "*2\r\n$2\r\n-5\r\n$1\r\n1\r\n"},
	{[]string{"sort", "l", "limit", "1", "-1"}, "*5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l", "limit", "6", "1"}, "*0\r\n"},
	{[]string{"sort", "l", "limit", "100", "1"}, "*0\r\n"},
	{[]string{"sort", "l", "limit", "9223372036854775807", "9223372036854775807"}, "*0\r\n"},
	{[]string{"sort", "l", "limit", "-9223372036854775808", "-9223372036854775808"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l", "limit", "1", "2", "limit", "3", "1"}, "*1\r\n$1\r\n2\r\n"},
	{[]string{"sort", "l", "limit", "x", "1"}, "-ERR value is not an integer or out of range\r\n"},
	{[]string{"sort", "l", "limit", "1", "x"}, "-ERR value is not an integer or out of range\r\n"},
	{[]string{"sort", "l", "limit", "1"}, "-ERR syntax error\r\n"},
	{[]string{"sort", "l", "limit"}, "-ERR syntax error\r\n"},
	{[]string{"sort", "l", "nosuch"}, "-ERR syntax error\r\n"},
	{[]string{"sort", "l", "by"}, "-ERR syntax error\r\n"},
	{[]string{"sort", "l", "get"}, "-ERR syntax error\r\n"},
	{[]string{"sort", "l", "store"}, "-ERR syntax error\r\n"},
	{[]string{"sort_ro", "l", "store", "d"}, "-ERR syntax error\r\n"},
	{[]string{"sort_ro", "l", "store"}, "-ERR syntax error\r\n"},
	{[]string{"rpush", "bad", "1", "x", "2"}, ":3\r\n"},
	{[]string{"sort", "bad"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"sort", "bad", "alpha"}, "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n"},
	{[]string{"sort", "bad", "limit", "0", "1"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"rpush", "num", "1 ", "2"}, ":2\r\n"},
	{[]string{"sort", "num"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"rpush", "num2", " 3", "0x10", "inf", "-inf", "1e3", "", "2"}, ":7\r\n"},
	{[]string{"sort", "num2"}, "*7\r\n$4\r\n-inf\r\n$0\r\n\r\n$1\r\n2\r\n$2\r\n 3\r\n$4\r\n0x10\r\n$3\r\n1e3\r\n$3\r\ninf\r\n"},
	{[]string{"rpush", "nan", "nan", "1"}, ":2\r\n"},
	{[]string{"sort", "nan"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"rpush", "nul", "1\x00x", "2"}, ":2\r\n"},
	{[]string{"sort", "nul"}, "*2\r\n$3\r\n1\x00x\r\n$1\r\n2\r\n"},
	{[]string{"rpush", "ties", "1.0", "1", "01", "b"}, ":4\r\n"},
	{[]string{"del", "ties"}, ":1\r\n"},
	{[]string{"rpush", "ties", "1.0", "1", "01", "1e0"}, ":4\r\n"},
	{[]string{"sort", "ties"}, "*4\r\n$2\r\n01\r\n$1\r\n1\r\n$3\r\n1.0\r\n$3\r\n1e0\r\n"},
	{[]string{"sort", "ties", "desc"}, "*4\r\n$3\r\n1e0\r\n$3\r\n1.0\r\n$1\r\n1\r\n$2\r\n01\r\n"},
	{[]string{"rpush", "an", "b", "a\x00z", "a\x00b", "a"}, ":4\r\n"},
	{[]string{"sort", "an", "alpha", "store", "and"}, ":4\r\n"},
	{[]string{"lrange", "and", "0", "-1"}, "*4\r\n$1\r\na\r\n$3\r\na\x00b\r\n$3\r\na\x00z\r\n$1\r\nb\r\n"},
	{[]string{"sadd", "s", "5", "3", "9", "1"}, ":4\r\n"},
	{[]string{"sort", "s"}, "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n9\r\n"},
	{[]string{"sort", "s", "desc"}, "*4\r\n$1\r\n9\r\n$1\r\n5\r\n$1\r\n3\r\n$1\r\n1\r\n"},
	{[]string{"sort", "s", "by", "nosort"}, "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n9\r\n"},
	{[]string{"sort", "s", "by", "nosort", "desc"}, "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n9\r\n"},
	{[]string{"sort", "s", "by", "nosort", "limit", "1", "2"}, "*2\r\n$1\r\n3\r\n$1\r\n5\r\n"},
	{[]string{"sort", "s", "by", "nosort", "store", "sd"}, ":4\r\n"},
	{[]string{"lrange", "sd", "0", "-1"}, "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n9\r\n"},
	{[]string{"sadd", "sa", "pear", "apple", "fig"}, ":3\r\n"},
	{[]string{"sort", "sa", "alpha"}, "*3\r\n$5\r\napple\r\n$3\r\nfig\r\n$4\r\npear\r\n"},
	{[]string{"sort", "sa"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"sort", "sa", "by", "nosort", "store", "sd2"}, ":3\r\n"},
	{[]string{"lrange", "sd2", "0", "-1"}, "*3\r\n$5\r\napple\r\n$3\r\nfig\r\n$4\r\npear\r\n"},
	{[]string{"sort", "sa", "by", "nosort", "desc", "store", "sd3"}, ":3\r\n"},
	{[]string{"lrange", "sd3", "0", "-1"}, "*3\r\n$4\r\npear\r\n$3\r\nfig\r\n$5\r\napple\r\n"},
	{[]string{"zadd", "z", "1", "c", "2", "a", "3", "b"}, ":3\r\n"},
	{[]string{"sort", "z", "alpha"}, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"},
	{[]string{"sort", "z", "alpha", "desc"}, "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"},
	{[]string{"sort", "z", "by", "nosort"}, "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n"},
	{[]string{"sort", "z", "by", "nosort", "desc"}, "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"},
	{[]string{"sort", "z", "by", "nosort", "limit", "1", "1"}, "*1\r\n$1\r\na\r\n"},
	{[]string{"sort", "z", "by", "nosort", "desc", "limit", "1", "5"}, "*2\r\n$1\r\na\r\n$1\r\nc\r\n"},
	{[]string{"sort", "z", "by", "nosort", "limit", "3", "1"}, "*0\r\n"},
	{[]string{"sort", "z", "by", "nosort", "limit", "-1", "2"}, "*2\r\n$1\r\nc\r\n$1\r\na\r\n"},
	{[]string{"zadd", "zn", "1", "30", "2", "10", "3", "20"}, ":3\r\n"},
	{[]string{"sort", "zn"}, "*3\r\n$2\r\n10\r\n$2\r\n20\r\n$2\r\n30\r\n"},
	{[]string{"sort", "zn", "by", "nosort", "desc", "limit", "0", "2"}, "*2\r\n$2\r\n20\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l", "by", "nosort"}, "*6\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n10\r\n$2\r\n-5\r\n$3\r\n1.5\r\n"},
	{[]string{"sort", "l", "by", "nosort", "desc"}, "*6\r\n$3\r\n1.5\r\n$2\r\n-5\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n3\r\n"},
	{[]string{"sort", "l", "by", "nosort", "limit", "1", "2"}, "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"},
	{[]string{"sort", "l", "by", "nosort", "desc", "limit", "1", "2"}, "*2\r\n$2\r\n-5\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l", "by", "nosort", "limit", "10", "2"}, "*0\r\n"},
	{[]string{"sort", "l", "by", "nosort", "desc", "limit", "-3", "-1"}, "*6\r\n$3\r\n1.5\r\n$2\r\n-5\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n3\r\n"},
	{[]string{"sort", "l", "by", "nosort", "by", "w_*"}, "*6\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n10\r\n$2\r\n-5\r\n$3\r\n1.5\r\n"},
	{[]string{"sort", "l", "by", "w_*", "by", "nosort"}, "*6\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n10\r\n$2\r\n-5\r\n$3\r\n1.5\r\n"},
	{[]string{"del", "l2"}, ":0\r\n"},
	{[]string{"rpush", "l2", "a", "b", "c", "d"}, ":4\r\n"},
	{[]string{"mset", "w_a", "3", "w_b", "1", "w_c", "2", "o_a", "A", "o_b", "B", "o_d", "D"}, "+OK\r\n"},
	{[]string{"sort", "l2", "by", "w_*"}, "*4\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"},
	{[]string{"sort", "l2", "by", "w_*", "desc"}, "*4\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nd\r\n"},
	{[]string{"sort", "l2", "by", "w_*", "get", "o_*"}, "*4\r\n$1\r\nD\r\n$1\r\nB\r\n$-1\r\n$1\r\nA\r\n"},
	{[]string{"sort", "l2", "by", "w_*", "get", "#", "get", "o_*"}, "*8\r\n$1\r\nd\r\n$1\r\nD\r\n$1\r\nb\r\n$1\r\nB\r\n$1\r\nc\r\n$-1\r\n$1\r\na\r\n$1\r\nA\r\n"},
	{[]string{"sort", "l2", "by", "w_*", "get", "o_*", "limit", "1", "2"}, "*2\r\n$1\r\nB\r\n$-1\r\n"},
	{[]string{"sort", "l2", "get", "nostar"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"sort", "l2", "by", "w_*", "alpha", "get", "#"}, "*4\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "o_*", "get", "#", "get", "nostar"}, "*12\r\n$1\r\nA\r\n$1\r\na\r\n$-1\r\n$1\r\nB\r\n$1\r\nb\r\n$-1\r\n$-1\r\n$1\r\nc\r\n$-1\r\n$1\r\nD\r\n$1\r\nd\r\n$-1\r\n"},
	{[]string{"hset", "h_a", "f", "z", "n", "2"}, ":2\r\n"},
	{[]string{"hset", "h_b", "f", "y", "n", "1"}, ":2\r\n"},
	{[]string{"hset", "h_c", "f", "x", "n", "3"}, ":2\r\n"},
	{[]string{"sort", "l2", "by", "h_*->n", "get", "h_*->f", "get", "#"}, "*8\r\n$-1\r\n$1\r\nd\r\n$1\r\ny\r\n$1\r\nb\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nc\r\n"},
	{[]string{"sort", "l2", "by", "h_*->f", "alpha", "get", "#"}, "*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"},
	{[]string{"sort", "l2", "by", "h_*->nofield", "get", "h_*->"}, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "h_*->f"}, "*4\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n$-1\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "o_*->f"}, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "h_*"}, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"sort", "l2", "by", "o_*", "alpha", "get", "#"}, "*4\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nd\r\n"},
	{[]string{"sort", "l2", "by", "o_*", "alpha", "desc", "get", "#"}, "*4\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"},
	{[]string{"sort", "l2", "by", "o_*"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"set", "w_d", "x"}, "+OK\r\n"},
	{[]string{"sort", "l2", "by", "w_*"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "pre*post"}, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"set", "preapost", "P"}, "+OK\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "pre*post"}, "*4\r\n$1\r\nP\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "*"}, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "**"}, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"},
	{[]string{"sort", "l2", "alpha", "store", "dst"}, ":4\r\n"},
	{[]string{"lrange", "dst", "0", "-1"}, "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"},
	{[]string{"type", "dst"}, "+list\r\n"},
	{[]string{"sort", "l2", "alpha", "get", "o_*", "store", "dst"}, ":4\r\n"},
	{[]string{"lrange", "dst", "0", "-1"}, "*4\r\n$1\r\nA\r\n$1\r\nB\r\n$0\r\n\r\n$1\r\nD\r\n"},
	{[]string{"set", "dst", "str"}, "+OK\r\n"},
	{[]string{"expire", "dst", "100"}, ":1\r\n"},
	{[]string{"sort", "l", "store", "dst"}, ":6\r\n"},
	{[]string{"ttl", "dst"}, ":-1\r\n"},
	{[]string{"lrange", "dst", "0", "-1"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort", "nokey", "store", "dst"}, ":0\r\n"},
	{[]string{"exists", "dst"}, ":0\r\n"},
	{[]string{"sort", "nokey", "store", "dst"}, ":0\r\n"},
	{[]string{"rpush", "dst", "x"}, ":1\r\n"},
	{[]string{"sort", "l", "limit", "10", "10", "store", "dst"}, ":0\r\n"},
	{[]string{"exists", "dst"}, ":0\r\n"},
	{[]string{"sort", "l", "store", "dst", "store", "dst2"}, ":6\r\n"},
	{[]string{"exists", "dst"}, ":0\r\n"},
	{[]string{"lrange", "dst2", "0", "-1"}, "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"},
	{[]string{"sort", "l2", "store", "l2", "alpha", "desc"}, ":4\r\n"},
	{[]string{"lrange", "l2", "0", "-1"}, "*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"},
	{[]string{"sort", "bad", "store", "dst3"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"exists", "dst3"}, ":0\r\n"},
	{[]string{"sort", "nokey"}, "*0\r\n"},
	{[]string{"sort", "nokey", "by", "nosort"}, "*0\r\n"},
	{[]string{"sort_ro", "nokey", "alpha", "limit", "0", "5"}, "*0\r\n"},
	{[]string{"set", "str", "1"}, "+OK\r\n"},
	{[]string{"sort", "str"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"sort", "str", "by", "nosort"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"sort", "h_a"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"sort", "str", "limit", "x", "1"}, "-ERR value is not an integer or out of range\r\n"},
	{[]string{"sort", "str", "bad"}, "-ERR syntax error\r\n"},
	{[]string{"sort", "str", "store", "dst4"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"exists", "dst4"}, ":0\r\n"},
	{[]string{"sort", "l2", "alpha", "store", "h_a"}, ":4\r\n"},
	{[]string{"type", "h_a"}, "+list\r\n"},
	{[]string{"rpush", "tiny", "1e-310", "1"}, ":2\r\n"},
	{[]string{"sort", "tiny"}, "-ERR One or more scores can't be converted into double\r\n"},
	{[]string{"rpush", "huge", "1e400", "1"}, ":2\r\n"},
	{[]string{"sort", "huge"}, "-ERR One or more scores can't be converted into double\r\n"},
}

// sortCases3 follow sortCases, with RESP3 replies.
var sortCases3 = []step{
	{[]string{"sort", "l2", "alpha", "get", "o_*", "get", "#"}, "*8\r\n$1\r\nA\r\n$1\r\na\r\n$1\r\nB\r\n$1\r\nb\r\n_\r\n$1\r\nc\r\n$1\r\nD\r\n$1\r\nd\r\n"},
	{[]string{"sort", "nokey"}, "*0\r\n"},
	{[]string{"sort", "l2", "alpha", "store", "dst5"}, ":4\r\n"},
}

func TestSortRedis(t *testing.T) {
	for _, shards := range []int{1, 4} {
		h := newHarness(t, shards)
		h.check(sortCases)
		h.proto(3)
		h.check(sortCases3)
	}
}

// sortNotifyScript is recorded as notifyScript is, with the classes of
// notifyNewClasses: SORT publishes sortstore for a stored list, and del
// when it deletes an empty result's destination; it reads keys (keymiss)
// through its patterns too.
var sortNotifyScript = [][]string{
	{"rpush", "l", "b", "a"},
	{"sort", "l", "alpha", "store", "d"},
	{"sort", "l", "alpha", "store", "d"},
	{"sort", "l", "alpha", "limit", "5", "1", "store", "d"},
	{"sort", "l", "alpha", "limit", "5", "1", "store", "d"},
	{"set", "w_a", "1"},
	{"sort", "l", "by", "w_*", "get", "o_*"},
	{"sort_ro", "nokey"},
}

// TestSortNotifyRedis is TestNotifyRedis for sortNotifyScript.
func TestSortNotifyRedis(t *testing.T) {
	if addr := os.Getenv("NOTIFY_REDIS_ADDR"); addr != "" {
		recordNotify(t, addr, notifyNewClasses, sortNotifyScript)
		return
	}
	if len(sortNotifyCases) != len(sortNotifyScript) {
		t.Fatalf("%d recorded steps for %d commands", len(sortNotifyCases), len(sortNotifyScript))
	}
	checkNotify(t, notifyNewClasses, sortNotifyCases)
}

// sortNotifyCases are the events of sortNotifyScript, recorded by
// TestSortNotifyRedis with NOTIFY_REDIS_ADDR set.
var sortNotifyCases = []notifyStep{
	{[]string{"rpush", "l", "b", "a"}, []string{"new l", "rpush l"}},
	{[]string{"sort", "l", "alpha", "store", "d"}, []string{"new d", "sortstore d"}},
	{[]string{"sort", "l", "alpha", "store", "d"}, []string{"sortstore d"}},
	{[]string{"sort", "l", "alpha", "limit", "5", "1", "store", "d"}, []string{"del d"}},
	{[]string{"sort", "l", "alpha", "limit", "5", "1", "store", "d"}, nil},
	{[]string{"set", "w_a", "1"}, []string{"new w_a", "set w_a"}},
	{[]string{"sort", "l", "by", "w_*", "get", "o_*"}, []string{"keymiss w_b", "keymiss o_b", "keymiss o_a"}},
	{[]string{"sort_ro", "nokey"}, []string{"keymiss nokey"}},
}
