package acl

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
)

// dryRunCases are ACL DRYRUN ks … for a user "on nopass %R~r* %W~w* ~b*
// &c* +@all", recorded from redis-server 7.0.15: each command's keys
// found by its key specs and checked for read or write.
var dryRunCases = []struct {
	args []string
	want string
}{
	{[]string{"get", "r1"}, "OK"},
	{[]string{"get", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"set", "w1", "v"}, "OK"},
	{[]string{"set", "w1", "v", "get"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"set", "r1", "v"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"append", "w1", "x"}, "OK"},
	{[]string{"bitfield", "r1", "get", "u8", "0"}, "OK"},
	{[]string{"bitfield", "w1", "get", "u8", "0"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"bitfield", "w1", "set", "u8", "0", "1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"bitfield", "r1", "incrby", "u8", "0", "1"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"bitfield_ro", "r1", "get", "u8", "0"}, "OK"},
	{[]string{"mget", "r1", "r2", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"mset", "w1", "v", "w2", "v", "r1", "v"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"sinterstore", "w1", "r1", "r2"}, "OK"},
	{[]string{"sinterstore", "r1", "r1", "r2"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"sunionstore", "w1", "r1", "w2"}, "This user has no permissions to access the 'w2' key"},
	{[]string{"smove", "r1", "w1", "m"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"smove", "b1", "w1", "m"}, "OK"},
	{[]string{"smove", "b1", "b2", "m"}, "OK"},
	{[]string{"lmove", "b1", "w1", "left", "right"}, "OK"},
	{[]string{"rename", "b1", "w1"}, "OK"},
	{[]string{"rename", "b1", "b2"}, "OK"},
	{[]string{"copy", "r1", "w1"}, "OK"},
	{[]string{"copy", "b1", "w1"}, "OK"},
	{[]string{"zunionstore", "w1", "2", "r1", "r2"}, "OK"},
	{[]string{"zunionstore", "w1", "2", "r1", "w2"}, "This user has no permissions to access the 'w2' key"},
	{[]string{"zunion", "2", "r1", "r2"}, "OK"},
	{[]string{"zunion", "2", "r1", "w2"}, "This user has no permissions to access the 'w2' key"},
	{[]string{"zinterstore", "w1", "2", "r1", "r2", "weights", "1", "2"}, "OK"},
	{[]string{"zrangestore", "w1", "r1", "0", "-1"}, "OK"},
	{[]string{"zrangestore", "w1", "w2", "0", "-1"}, "This user has no permissions to access the 'w2' key"},
	{[]string{"eval", "return", "2", "r1", "w1"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"eval", "return", "1", "b1"}, "OK"},
	{[]string{"eval_ro", "return", "2", "r1", "r2"}, "OK"},
	{[]string{"xread", "streams", "r1", "r2", "0", "0"}, "OK"},
	{[]string{"xread", "count", "1", "streams", "r1", "w1", "0", "0"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"xreadgroup", "group", "g", "c", "streams", "r1", "0"}, "OK"},
	{[]string{"xreadgroup", "group", "g", "c", "streams", "b1", "0"}, "OK"},
	{[]string{"blpop", "r1", "w1", "0"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"blmove", "b1", "w1", "left", "right", "0"}, "OK"},
	{[]string{"lmpop", "2", "r1", "r2", "left"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"lmpop", "2", "b1", "b2", "left"}, "OK"},
	{[]string{"zmpop", "1", "w1", "min"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"sintercard", "2", "r1", "r2"}, "OK"},
	{[]string{"georadius", "r1", "0", "0", "1", "km"}, "OK"},
	{[]string{"georadius", "r1", "0", "0", "1", "km", "store", "w1"}, "OK"},
	{[]string{"georadius", "r1", "0", "0", "1", "km", "store", "b1"}, "OK"},
	{[]string{"georadius", "b1", "0", "0", "1", "km", "storedist", "w1"}, "OK"},
	{[]string{"geosearchstore", "w1", "r1", "frommember", "m", "byradius", "1", "km"}, "OK"},
	{[]string{"geosearchstore", "w1", "b1", "frommember", "m", "byradius", "1", "km"}, "OK"},
	{[]string{"pfcount", "r1", "r2"}, "OK"},
	{[]string{"pfmerge", "w1", "r1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"pfmerge", "b1", "r1"}, "OK"},
	{[]string{"sort", "r1"}, "OK"},
	{[]string{"sort", "r1", "store", "w1"}, "OK"},
	{[]string{"sort_ro", "r1"}, "OK"},
	{[]string{"object", "encoding", "r1"}, "OK"},
	{[]string{"object", "encoding", "w1"}, "OK"},
	{[]string{"exists", "r1", "w1"}, "OK"},
	{[]string{"type", "w1"}, "OK"},
	{[]string{"ttl", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"del", "r1"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"del", "w1"}, "OK"},
	{[]string{"unlink", "w1", "b1"}, "OK"},
	{[]string{"expire", "w1", "10"}, "OK"},
	{[]string{"touch", "r1", "w1"}, "OK"},
	{[]string{"dump", "r1"}, "OK"},
	{[]string{"restore", "w1", "0", "x"}, "OK"},
	{[]string{"getdel", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"getdel", "b1"}, "OK"},
	{[]string{"getex", "r1"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"getex", "b1", "ex", "10"}, "OK"},
	{[]string{"incr", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"incr", "b1"}, "OK"},
	{[]string{"hget", "r1", "f"}, "OK"},
	{[]string{"hset", "w1", "f", "v"}, "OK"},
	{[]string{"hincrby", "w1", "f", "1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"hincrby", "b1", "f", "1"}, "OK"},
	{[]string{"lpush", "w1", "x"}, "OK"},
	{[]string{"lpushx", "w1", "x"}, "OK"},
	{[]string{"rpoplpush", "b1", "w1"}, "OK"},
	{[]string{"lrange", "r1", "0", "-1"}, "OK"},
	{[]string{"linsert", "w1", "before", "a", "b"}, "OK"},
	{[]string{"lpos", "r1", "a"}, "OK"},
	{[]string{"srandmember", "r1"}, "OK"},
	{[]string{"spop", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"spop", "b1"}, "OK"},
	{[]string{"sadd", "w1", "m"}, "OK"},
	{[]string{"smembers", "r1"}, "OK"},
	{[]string{"sismember", "w1", "m"}, "OK"},
	{[]string{"zadd", "w1", "1", "m"}, "OK"},
	{[]string{"zincrby", "w1", "1", "m"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"zincrby", "b1", "1", "m"}, "OK"},
	{[]string{"zscore", "r1", "m"}, "OK"},
	{[]string{"zrange", "r1", "0", "-1"}, "OK"},
	{[]string{"xadd", "w1", "*", "f", "v"}, "OK"},
	{[]string{"xadd", "b1", "*", "f", "v"}, "OK"},
	{[]string{"xlen", "r1"}, "OK"},
	{[]string{"xrange", "r1", "-", "+"}, "OK"},
	{[]string{"xtrim", "w1", "maxlen", "1"}, "OK"},
	{[]string{"xtrim", "b1", "maxlen", "1"}, "OK"},
	{[]string{"xdel", "w1", "0-1"}, "OK"},
	{[]string{"xack", "w1", "g", "0-1"}, "OK"},
	{[]string{"xack", "b1", "g", "0-1"}, "OK"},
	{[]string{"xclaim", "b1", "g", "c", "0", "0-1"}, "OK"},
	{[]string{"xgroup", "create", "w1", "g", "$"}, "OK"},
	{[]string{"xgroup", "create", "b1", "g", "$"}, "OK"},
	{[]string{"xgroup", "createconsumer", "w1", "g", "c"}, "OK"},
	{[]string{"xinfo", "stream", "r1"}, "OK"},
	{[]string{"xinfo", "stream", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"xsetid", "w1", "0-1"}, "OK"},
	{[]string{"xpending", "r1", "g"}, "OK"},
	{[]string{"xpending", "b1", "g"}, "OK"},
	{[]string{"xautoclaim", "b1", "g", "c", "0", "0"}, "OK"},
	{[]string{"setrange", "w1", "0", "x"}, "OK"},
	{[]string{"setbit", "w1", "0", "1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"getbit", "r1", "0"}, "OK"},
	{[]string{"bitop", "and", "w1", "r1", "r2"}, "OK"},
	{[]string{"bitop", "and", "w1", "r1", "w2"}, "This user has no permissions to access the 'w2' key"},
	{[]string{"bitcount", "r1"}, "OK"},
	{[]string{"bitpos", "r1", "1"}, "OK"},
	{[]string{"strlen", "w1"}, "OK"},
	{[]string{"getrange", "r1", "0", "1"}, "OK"},
	{[]string{"substr", "r1", "0", "1"}, "OK"},
	{[]string{"lcs", "r1", "r2"}, "OK"},
	{[]string{"lcs", "r1", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"msetnx", "w1", "v", "b1", "v"}, "OK"},
	{[]string{"psetex", "w1", "100", "v"}, "OK"},
	{[]string{"setnx", "w1", "v"}, "OK"},
	{[]string{"setex", "w1", "10", "v"}, "OK"},
	{[]string{"incrbyfloat", "w1", "1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"decrby", "b1", "1"}, "OK"},
	{[]string{"hgetall", "r1"}, "OK"},
	{[]string{"hrandfield", "r1"}, "OK"},
	{[]string{"hscan", "r1", "0"}, "OK"},
	{[]string{"sscan", "r1", "0"}, "OK"},
	{[]string{"zscan", "r1", "0"}, "OK"},
	{[]string{"hsetnx", "w1", "f", "v"}, "OK"},
	{[]string{"hdel", "w1", "f"}, "OK"},
	{[]string{"hdel", "b1", "f"}, "OK"},
	{[]string{"hexists", "w1", "f"}, "OK"},
	{[]string{"lrem", "w1", "1", "x"}, "OK"},
	{[]string{"lrem", "b1", "1", "x"}, "OK"},
	{[]string{"ltrim", "w1", "0", "1"}, "OK"},
	{[]string{"lset", "b1", "0", "x"}, "OK"},
	{[]string{"lindex", "r1", "0"}, "OK"},
	{[]string{"llen", "w1"}, "OK"},
	{[]string{"rpush", "w1", "x"}, "OK"},
	{[]string{"rpop", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"rpop", "b1"}, "OK"},
	{[]string{"zrem", "w1", "m"}, "OK"},
	{[]string{"zrem", "b1", "m"}, "OK"},
	{[]string{"zpopmin", "b1"}, "OK"},
	{[]string{"zremrangebyscore", "b1", "0", "1"}, "OK"},
	{[]string{"zcard", "w1"}, "OK"},
	{[]string{"zrandmember", "r1"}, "OK"},
	{[]string{"zdiff", "2", "r1", "r2"}, "OK"},
	{[]string{"zdiffstore", "w1", "2", "r1", "r2"}, "OK"},
	{[]string{"zinter", "2", "r1", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"sdiff", "r1", "r2"}, "OK"},
	{[]string{"sdiffstore", "w1", "r1", "r2"}, "OK"},
	{[]string{"smismember", "r1", "a"}, "OK"},
	{[]string{"geoadd", "w1", "0", "0", "m"}, "OK"},
	{[]string{"geodist", "r1", "a", "b"}, "OK"},
	{[]string{"geohash", "r1", "a"}, "OK"},
	{[]string{"geopos", "r1", "a"}, "OK"},
	{[]string{"geosearch", "r1", "frommember", "m", "byradius", "1", "km", "asc"}, "OK"},
	{[]string{"publish", "c1", "m"}, "OK"},
	{[]string{"publish", "d", "m"}, "This user has no permissions to access the 'd' channel"},
	{[]string{"spublish", "c1", "m"}, "OK"},
	{[]string{"spublish", "d", "m"}, "This user has no permissions to access the 'd' channel"},
	{[]string{"subscribe", "c1", "c2"}, "OK"},
	{[]string{"subscribe", "c1", "d"}, "This user has no permissions to access the 'd' channel"},
	{[]string{"ssubscribe", "c1", "d"}, "This user has no permissions to access the 'd' channel"},
	{[]string{"psubscribe", "c*"}, "OK"},
	{[]string{"psubscribe", "c1*"}, "This user has no permissions to access the 'c1*' channel"},
	{[]string{"pubsub", "channels"}, "OK"},
	{[]string{"watch", "r1"}, "OK"},
	{[]string{"watch", "w1"}, "OK"},
	{[]string{"pexpireat", "w1", "1"}, "OK"},
	{[]string{"persist", "w1"}, "OK"},
	{[]string{"persist", "b1"}, "OK"},
	{[]string{"expiretime", "w1"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"randomkey"}, "OK"},
	{[]string{"keys", "*"}, "OK"},
	{[]string{"scan", "0"}, "OK"},
	{[]string{"dbsize"}, "OK"},
	{[]string{"flushall"}, "OK"},
	{[]string{"memory", "usage", "r1"}, "OK"},
	{[]string{"memory", "usage", "w1"}, "OK"},
	{[]string{"hstrlen", "r1", "f"}, "OK"},
	{[]string{"getset", "w1", "v"}, "This user has no permissions to access the 'w1' key"},
	{[]string{"getset", "b1", "v"}, "OK"},
	{[]string{"migrate", "127.0.0.1", "1", "r1", "0", "10"}, "This user has no permissions to access the 'r1' key"},
	{[]string{"migrate", "127.0.0.1", "1", "", "0", "10", "keys", "r1", "r2"}, "This user has no permissions to access the 'r1' key"},
}

func TestCheckKeysRedis(t *testing.T) {
	tb := New()
	if err := tb.SetUser("ks", []string{"on", "nopass", "%R~r*", "%W~w*", "~b*", "&c*", "+@all"}); err != nil {
		t.Fatal(err)
	}
	r := tb.User("ks").Rules()
	for _, tc := range dryRunCases {
		spec := command.Redis[tc.args[0]]
		if spec == nil {
			continue // a command not served here
		}
		args := make([][]byte, len(tc.args))
		for i, a := range tc.args {
			args[i] = []byte(a)
		}
		got := "OK"
		if d, ok := r.Check(args, spec.Flags&command.NoAuth != 0); !ok {
			switch d.Reason {
			case DeniedKey:
				got = "This user has no permissions to access the '" + d.Object + "' key"
			case DeniedChannel:
				got = "This user has no permissions to access the '" + d.Object + "' channel"
			default:
				got = "This user has no permissions to run the '" + d.Object + "' command"
			}
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
}
