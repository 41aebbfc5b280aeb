package server

import (
	"strings"
	"testing"
)

// configRedisCases are CONFIG replies recorded from redis-server 7.0.15, each
// sent on a fresh server with the defaults. Where data-cluster chooses to
// differ the case says so in diff, and the README's compatibility table
// lists it.
var configRedisCases = []struct {
	args []string
	want string
	diff string // data-cluster's reply where it differs on purpose
}{
	{[]string{"CONFIG", "SET", "maxmemory", "abc"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "1.5mb"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", " 1"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory-samples", "0"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "maxmemory-samples", "x"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory-policy", "foo"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory-policy", ""}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n", ""},
	{[]string{"CONFIG", "SET", "timeout", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n", ""},
	{[]string{"CONFIG", "SET", "timeout", "99999999999"}, "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n", ""},
	{[]string{"CONFIG", "SET", "timeout", ""}, "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer\r\n", ""},
	{[]string{"CONFIG", "SET", "maxclients", "0"}, "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 1048576 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "maxclients", "99999999999"}, "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 1048576 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "client-query-buffer-limit", "1"}, "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 4611686018427387904 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "client-query-buffer-limit", "-5mb"}, "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be a memory value\r\n", ""},
	{[]string{"CONFIG", "SET", "proto-max-bulk-len", "1"}, "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 1099511627776 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "proto-max-bulk-len", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value\r\n", ""},
	{[]string{"CONFIG", "SET", "slowlog-log-slower-than", "-2"}, "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive\r\n", ""},
	{[]string{"CONFIG", "SET", "slowlog-log-slower-than", "1.5"}, "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument couldn't be parsed into an integer\r\n", ""},
	{[]string{"CONFIG", "SET", "slowlog-log-slower-than", "99999999999999999999"}, "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument couldn't be parsed into an integer\r\n", ""},
	{[]string{"CONFIG", "SET", "slowlog-max-len", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 1048576 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "appendfsync", "sometimes"}, "-ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no\r\n", ""},
	{[]string{"CONFIG", "SET", "loglevel", "loud"}, "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning\r\n", ""},
	{[]string{"CONFIG", "SET", "protected-mode", "maybe"}, "-ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'\r\n", ""},
	{[]string{"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2"}, "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.\r\n", ""},
	{[]string{"CONFIG", "SET", "client-output-buffer-limit", "foo 1 2 3"}, "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration.\r\n", ""},
	{[]string{"CONFIG", "SET", "client-output-buffer-limit", "pubsub x 2 3"}, "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration.\r\n", ""},
	{[]string{"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 2kb 3"}, "+OK\r\n", ""},
	{[]string{"CONFIG", "SET", "nosuch", "1"}, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n", ""},
	{[]string{"CONFIG", "SET", "NoSuch", "1", "maxmemory", "1"}, "-ERR Unknown option or number of arguments for CONFIG SET - 'NoSuch'\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "1", "nosuch", "2"}, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n", ""},
	{[]string{"CONFIG", "SET", "Databases", "2"}, "-ERR CONFIG SET failed (possibly related to argument 'Databases') - can't set immutable config\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "1", "databases", "2"}, "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "1", "MAXMEMORY", "2"}, "-ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter\r\n", ""},
	{[]string{"CONFIG", "SET", "HASH-MAX-ZIPLIST-ENTRIES", "x"}, "-ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "5", "maxmemory-samples", "0"}, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive\r\n",
		"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "maxmemory"}, "-ERR wrong number of arguments for 'config|set' command\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "1", "timeout"}, "-ERR wrong number of arguments for 'config|set' command\r\n", ""},
	{[]string{"CONFIG", "GET"}, "-ERR wrong number of arguments for 'config|get' command\r\n", ""},
	{[]string{"CONFIG", "REWRITE"}, "-ERR The server is running without a config file\r\n", ""},
	{[]string{"CONFIG", "REWRITE", "x"}, "-ERR wrong number of arguments for 'config|rewrite' command\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", "1MB"}, "+OK\r\n", ""},
	{[]string{"CONFIG", "SET", "maxmemory", ""}, "+OK\r\n", ""},
	{[]string{"CONFIG", "SET", "loglevel", "VERBOSE"}, "+OK\r\n", ""},
	{[]string{"CONFIG", "SET", "save", ""}, "+OK\r\n", ""},
	{[]string{"CONFIG", "GET", "maxmemory"}, "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", ""},
	{[]string{"CONFIG", "GET", "client-output-buffer-limit"}, "*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n",
		"*2\r\n$26\r\nclient-output-buffer-limit\r\n$76\r\nnormal 1073741824 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60\r\n"},
	{[]string{"CONFIG", "GET", "hash-max-ziplist-entries"}, "*2\r\n$24\r\nhash-max-ziplist-entries\r\n$3\r\n128\r\n", ""},
	{[]string{"CONFIG", "HELP"}, "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET <pattern>\r\n+    Return parameters matching the glob-like <pattern> and their values.\r\n+SET <directive> <value>\r\n+    Set the configuration <directive> to <value>.\r\n+RESETSTAT\r\n+    Reset statistics reported by the INFO command.\r\n+REWRITE\r\n+    Rewrite the configuration file.\r\n+HELP\r\n+    Prints this help.\r\n", ""},
}

func TestConfigRedisReplies(t *testing.T) {
	for _, tc := range configRedisCases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ts := start(t, nil)
			c := ts.dial(t)
			want := tc.want
			if tc.diff != "" {
				want = tc.diff
			}
			if got := c.raw(tc.args...); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
