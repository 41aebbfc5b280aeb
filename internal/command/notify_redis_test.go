package command

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/notify"
)

// notifyScript is run, command after command, against redis-server 7.0.15
// with notify-keyspace-events set to the script's classes, and the events
// each command published on the __keyevent@0__ channels were recorded:
// "event key", in order. "sleep ms" is no command: it moves the clock on
// (the recording slept, with active expiry off, so that keys expire only
// lazily). TestNotifyRedis runs the script in the harness, three shards
// held at once, and wants the same events.
type notifyStep struct {
	args   []string
	events []string
}

// dumpHello is DUMP of the string "hello" from redis-server 7.0.15.
const dumpHello = "\x00\x05hello\n\x00cr\xdfve4 \n"

// notifyScript lists the commands; notifyCases (recorded) their events.
var notifyScript = [][]string{
	// strings
	{"set", "k", "v"},
	{"set", "k", "v2", "nx"},
	{"set", "k", "v3", "xx"},
	{"set", "nokey", "v", "xx"},
	{"set", "k", "v", "ex", "100"},
	{"set", "k", "v", "keepttl"},
	{"set", "k", "w", "get"},
	{"set", "k", "v", "ex", "0"},
	{"setnx", "k2", "a"},
	{"setnx", "k2", "b"},
	{"setex", "k3", "100", "v"},
	{"psetex", "k4", "100000", "v"},
	{"getset", "k", "x"},
	{"getdel", "k"},
	{"getdel", "k"},
	{"getex", "k2", "ex", "100"},
	{"getex", "k2", "persist"},
	{"getex", "k2"},
	{"getex", "k3", "pxat", "1"},
	{"getex", "nokey", "ex", "10"},
	{"mset", "a", "1", "b", "2"},
	{"msetnx", "a", "1", "c", "3"},
	{"msetnx", "c", "3", "d", "4"},
	{"append", "a", "x"},
	{"append", "newa", "y"},
	{"setrange", "a", "0", "zz"},
	{"setrange", "a", "0", ""},
	{"setrange", "nosr", "0", ""},
	{"setrange", "nosr", "2", "x"},
	{"incr", "n"},
	{"decr", "n"},
	{"incrby", "n", "5"},
	{"decrby", "n", "2"},
	{"incrbyfloat", "f", "1.5"},
	{"incr", "a"},
	{"set", "e", "v", "px", "10"},
	{"sleep", "20"},
	{"get", "e"},
	{"set", "e2", "v", "px", "10"},
	{"sleep", "20"},
	{"set", "e2", "w"},
	// generic
	{"del", "a", "b", "nokey"},
	{"unlink", "c"},
	{"set", "r1", "v"},
	{"rename", "r1", "r2"},
	{"rename", "r2", "r2"},
	{"renamenx", "r2", "r3"},
	{"set", "r4", "x"},
	{"renamenx", "r3", "r4"},
	{"rename", "r3", "r4"},
	{"copy", "r4", "r5"},
	{"copy", "r4", "r5"},
	{"copy", "r4", "r5", "replace"},
	{"expire", "r5", "100"},
	{"pexpire", "r5", "100000"},
	{"expireat", "r5", "4000000000"},
	{"pexpireat", "r5", "4000000000000"},
	{"expire", "r5", "100", "nx"},
	{"persist", "r5"},
	{"persist", "r5"},
	{"expire", "r5", "0"},
	{"expire", "nokey", "10"},
	{"pexpireat", "r4", "1"},
	{"restore", "rk", "0", dumpHello},
	{"restore", "rk", "0", dumpHello, "replace"},
	{"restore", "rk2", "100000", dumpHello},
	{"touch", "rk"},
	// lists
	{"lpush", "l", "a", "b", "c"},
	{"rpush", "l", "d"},
	{"lpushx", "nol", "a"},
	{"rpushx", "l", "e"},
	{"lpushx", "l", "f"},
	{"lpop", "l"},
	{"rpop", "l"},
	{"lpop", "l", "2"},
	{"lpop", "nol"},
	{"rpush", "l", "p", "q", "r"},
	{"lset", "l", "0", "X"},
	{"linsert", "l", "before", "X", "Y"},
	{"linsert", "l", "after", "nosuch", "z"},
	{"lrem", "l", "0", "Y"},
	{"lrem", "l", "0", "nosuch"},
	{"ltrim", "l", "0", "1"},
	{"ltrim", "l", "5", "10"},
	{"rpush", "src", "a", "b", "c"},
	{"lmove", "src", "dst", "left", "right"},
	{"lmove", "src", "dst", "right", "left"},
	{"rpoplpush", "src", "dst"},
	{"lmove", "dst", "dst", "left", "left"},
	{"rpush", "l1", "a", "b"},
	{"lmpop", "2", "nol", "l1", "left", "count", "1"},
	{"lmpop", "2", "nol", "l1", "right", "count", "5"},
	{"rpush", "l2", "a", "b"},
	{"blpop", "nol", "l2", "0"},
	{"brpop", "l2", "0"},
	{"rpush", "l3", "a"},
	{"blmove", "l3", "l4", "left", "left", "0"},
	{"brpoplpush", "l4", "l3", "0"},
	{"blmpop", "0", "1", "l3", "left"},
	{"rpop", "dst", "5"},
	// hashes
	{"hset", "h", "f", "v", "f2", "v2"},
	{"hset", "h", "f", "v"},
	{"hmset", "h", "f3", "v"},
	{"hsetnx", "h", "f", "x"},
	{"hsetnx", "h", "f4", "x"},
	{"hdel", "h", "f", "nosuch"},
	{"hdel", "h", "nosuch"},
	{"hincrby", "h", "n", "1"},
	{"hincrbyfloat", "h", "fl", "1.5"},
	{"hdel", "h", "f2", "f3", "f4", "n", "fl"},
	// sets
	{"sadd", "s", "a", "b", "c"},
	{"sadd", "s", "a"},
	{"srem", "s", "a"},
	{"srem", "s", "zz"},
	{"spop", "s"},
	{"spop", "s", "5"},
	{"spop", "nos"},
	{"sadd", "s1", "a", "b", "c"},
	{"spop", "s1", "1"},
	{"spop", "s1", "0"},
	{"smove", "s1", "s2", "nosuch"},
	{"sadd", "s2", "m"},
	{"smove", "s2", "s1", "m"},
	{"sadd", "s3", "only"},
	{"smove", "s3", "s1", "only"},
	{"sinterstore", "si", "s1", "s2"},
	{"sunionstore", "su", "s1", "s2"},
	{"sdiffstore", "sd", "s1", "s2"},
	{"sinterstore", "su", "s1", "nos"},
	{"sdiffstore", "nos2", "nos", "s1"},
	{"sadd", "sp", "1", "2", "3"},
	{"spop", "sp", "2"},
	// sorted sets
	{"zadd", "z", "1", "a", "2", "b", "3", "c"},
	{"zadd", "z", "1", "a"},
	{"zadd", "z", "5", "a"},
	{"zadd", "z", "incr", "5", "a"},
	{"zadd", "z", "nx", "9", "a"},
	{"zadd", "z", "xx", "ch", "9", "a"},
	{"zincrby", "z", "1", "b"},
	{"zrem", "z", "nosuch"},
	{"zrem", "z", "a"},
	{"zadd", "z", "4", "d", "5", "e", "6", "f"},
	{"zremrangebyscore", "z", "100", "200"},
	{"zremrangebyscore", "z", "0", "3"},
	{"zremrangebyrank", "z", "0", "0"},
	{"zadd", "zl", "0", "a", "0", "b", "0", "c"},
	{"zremrangebylex", "zl", "[a", "[a"},
	{"zremrangebylex", "zl", "[x", "[z"},
	{"zpopmin", "z"},
	{"zpopmax", "z", "5"},
	{"zpopmin", "z"},
	{"zadd", "z1", "1", "a", "2", "b"},
	{"zadd", "z2", "1", "b", "2", "c"},
	{"zmpop", "2", "noz", "z1", "min", "count", "1"},
	{"bzpopmin", "noz", "z1", "0"},
	{"bzpopmax", "z2", "0"},
	{"bzmpop", "0", "1", "z2", "max"},
	{"zadd", "z1", "1", "a", "2", "b"},
	{"zadd", "z2", "1", "b", "2", "c"},
	{"zunionstore", "zu", "2", "z1", "z2"},
	{"zinterstore", "zi", "2", "z1", "z2"},
	{"zdiffstore", "zd", "2", "z1", "z2"},
	{"zrangestore", "zr", "z1", "0", "-1"},
	{"zinterstore", "zu", "2", "z1", "noz"},
	{"zrangestore", "zr", "z1", "5", "6"},
	{"zdiffstore", "nozd", "1", "noz"},
	// streams
	{"xadd", "x", "1-0", "f", "v"},
	{"xadd", "x", "2-0", "f", "v"},
	{"xadd", "x", "maxlen", "1", "3-0", "f", "v"},
	{"xadd", "nox", "nomkstream", "*", "f", "v"},
	{"xadd", "x", "4-0", "f", "v"},
	{"xtrim", "x", "maxlen", "1"},
	{"xtrim", "x", "maxlen", "1"},
	{"xdel", "x", "4-0", "9-0"},
	{"xdel", "x", "9-0"},
	{"xsetid", "x", "10-0"},
	{"xadd", "x", "11-0", "f", "v"},
	{"xgroup", "create", "x", "g", "0"},
	{"xgroup", "create", "x2", "g", "$", "mkstream"},
	{"xgroup", "setid", "x", "g", "0"},
	{"xgroup", "createconsumer", "x", "g", "c1"},
	{"xgroup", "createconsumer", "x", "g", "c1"},
	{"xgroup", "delconsumer", "x", "g", "c1"},
	{"xreadgroup", "group", "g", "c2", "streams", "x", ">"},
	{"xreadgroup", "group", "g", "c2", "streams", "x", ">"},
	{"xclaim", "x", "g", "c3", "0", "11-0"},
	{"xautoclaim", "x", "g", "c4", "0", "0"},
	{"xack", "x", "g", "11-0"},
	{"xgroup", "destroy", "x", "g"},
	{"xgroup", "destroy", "x", "g"},
	// geo
	{"geoadd", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
	{"geoadd", "geo", "13.361389", "38.115556", "Palermo"},
	{"geosearchstore", "gs", "geo", "fromlonlat", "15", "37", "byradius", "200", "km", "asc"},
	{"georadius", "geo", "15", "37", "200", "km", "store", "gr"},
	{"georadiusbymember", "geo", "Palermo", "1", "km", "storedist", "grd"},
	{"geosearchstore", "gs", "geo", "fromlonlat", "0", "0", "byradius", "1", "km"},
	// bits
	{"setbit", "b", "1", "1"},
	{"setbit", "b", "1", "1"},
	{"bitfield", "b", "set", "u8", "0", "255"},
	{"bitfield", "b", "get", "u8", "0"},
	{"bitfield", "b", "incrby", "u8", "0", "1", "overflow", "fail", "incrby", "u8", "0", "-10"},
	{"bitop", "and", "bo", "b", "b"},
	{"bitop", "not", "bo", "nob"},
	// hyperloglog
	{"pfadd", "hl", "a"},
	{"pfadd", "hl", "a"},
	{"pfadd", "hl2"},
	{"pfmerge", "hl3", "hl", "hl2"},
	{"pfcount", "hl", "hl3"},
	// a lazily expired key met by each kind of command
	{"rpush", "le", "a"},
	{"pexpire", "le", "10"},
	{"sleep", "20"},
	{"rpush", "le", "b"},
	{"sadd", "se", "a"},
	{"pexpire", "se", "10"},
	{"sleep", "20"},
	{"sadd", "se", "b"},
	{"flushall"},
}

// notifyNewScript is run with the classes of new keys and of reads that
// miss on top of the others (notifyNewClasses).
var notifyNewScript = [][]string{
	{"get", "nokey"},
	{"mget", "nokey", "nokey2"},
	{"set", "k", "v"},
	{"set", "k", "v2"},
	{"get", "k"},
	{"hget", "noh", "f"},
	{"lrange", "nol", "0", "-1"},
	{"smembers", "nos"},
	{"zrange", "noz", "0", "-1"},
	{"xrange", "nox", "-", "+"},
	{"exists", "nokey"},
	{"type", "nokey"},
	{"ttl", "nokey"},
	{"strlen", "nokey"},
	{"getrange", "nokey", "0", "1"},
	{"getbit", "nokey", "0"},
	{"incr", "n"},
	{"incrbyfloat", "f", "1"},
	{"append", "a", "x"},
	{"setrange", "sr", "1", "x"},
	{"setbit", "sb", "1", "1"},
	{"mset", "m1", "a", "m2", "b"},
	{"lpush", "l", "a"},
	{"lpush", "l", "b"},
	{"sadd", "s", "a"},
	{"hset", "h", "f", "v"},
	{"hincrby", "h2", "f", "1"},
	{"zadd", "z", "1", "a"},
	{"zincrby", "z2", "1", "a"},
	{"xadd", "x", "1-0", "f", "v"},
	{"xgroup", "create", "x2", "g", "$", "mkstream"},
	{"pfadd", "hl", "a"},
	{"rename", "k", "k2"},
	{"copy", "k2", "k3"},
	{"restore", "rk", "0", dumpHello},
	{"sunionstore", "su", "s"},
	{"zunionstore", "zu", "1", "z"},
	{"lmove", "l", "l2", "left", "left"},
	{"smove", "s", "s2", "a"},
	{"getdel", "nokey"},
	{"getex", "nokey"},
	{"hgetall", "noh"},
	{"flushall"},
}

// notifyNewClasses is what notify-keyspace-events was set to while
// recording notifyNewCases.
const notifyNewClasses = "KEAnm"

// TestNotifyRedisNewMiss is TestNotifyRedis for notifyNewScript.
func TestNotifyRedisNewMiss(t *testing.T) {
	if addr := os.Getenv("NOTIFY_REDIS_ADDR"); addr != "" {
		recordNotify(t, addr, notifyNewClasses, notifyNewScript)
		return
	}
	if len(notifyNewCases) != len(notifyNewScript) {
		t.Fatalf("%d recorded steps for %d commands", len(notifyNewCases), len(notifyNewScript))
	}
	checkNotify(t, notifyNewClasses, notifyNewCases)
}

// notifyClasses is what notify-keyspace-events was set to while recording.
const notifyClasses = "KEA"

// TestNotifyRedis runs notifyScript and compares its events with those
// recorded from redis-server 7.0.15. With NOTIFY_REDIS_ADDR set to a
// redis-server's address it records them instead and prints the table
// (every key of that server is flushed).
func TestNotifyRedis(t *testing.T) {
	if addr := os.Getenv("NOTIFY_REDIS_ADDR"); addr != "" {
		recordNotify(t, addr, notifyClasses, notifyScript)
		return
	}
	if len(notifyCases) != len(notifyScript) {
		t.Fatalf("%d recorded steps for %d commands", len(notifyCases), len(notifyScript))
	}
	checkNotify(t, notifyClasses, notifyCases)
}

// checkNotify runs steps in a harness of three shards with classes on
// and compares the events.
func checkNotify(t *testing.T, classes string, steps []notifyStep) {
	t.Helper()
	h := newHarness(t, 3)
	var got []string
	h.notify(classes, func(event string, key []byte) { got = append(got, event+" "+string(key)) })
	for i, st := range steps {
		if st.args[0] == "sleep" {
			ms, _ := strconv.Atoi(st.args[1])
			h.advance(time.Duration(ms) * time.Millisecond)
			continue
		}
		got = got[:0]
		h.do(st.args...)
		if strings.Join(got, ", ") != strings.Join(st.events, ", ") {
			t.Errorf("step %d %q: got events %q, want %q", i, st.args, got, st.events)
		}
	}
}

// notify makes the harness's keyspaces publish the events of classes,
// calling fn for each with the event and key of its keyevent message; it
// checks that every event comes on both channels.
func (h *harness) notify(classes string, fn func(event string, key []byte)) *notify.Notifier {
	h.t.Helper()
	c, ok := notify.Parse([]byte(classes))
	if !ok {
		h.t.Fatalf("classes %q", classes)
	}
	var space string // the keyspace message waiting for its keyevent one
	n := notify.NewNotifier(func(channel, msg []byte) {
		ch := string(channel)
		switch {
		case strings.HasPrefix(ch, "__keyspace@0__:"):
			if space != "" {
				h.t.Errorf("keyspace event %q not followed by its keyevent event", space)
			}
			space = string(msg) + " " + strings.TrimPrefix(ch, "__keyspace@0__:")
		case strings.HasPrefix(ch, "__keyevent@0__:"):
			ev := strings.TrimPrefix(ch, "__keyevent@0__:")
			if c&notify.Keyspace != 0 && space != ev+" "+string(msg) {
				h.t.Errorf("keyevent event %q after keyspace event %q", ev+" "+string(msg), space)
			}
			space = ""
			fn(ev, msg)
		default:
			h.t.Errorf("event on channel %q", ch)
		}
	})
	n.Set(c)
	for _, db := range h.dbs {
		db.SetNotifier(n)
	}
	return n
}

// recordNotify runs script against a redis-server with classes on and
// prints the events as a Go table.
func recordNotify(t *testing.T, addr, classes string, script [][]string) {
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	send := func(c net.Conn, args ...string) {
		var sb strings.Builder
		fmt.Fprintf(&sb, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&sb, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := io.WriteString(c, sb.String()); err != nil {
			t.Fatal(err)
		}
	}
	// readArray reads one reply, returning the elements of an array of
	// bulk strings.
	readArray := func(r *bufio.Reader) []string {
		var sb strings.Builder
		if err := readRawReply(r, &sb); err != nil {
			t.Fatal(err)
		}
		var out []string
		lines := strings.Split(sb.String(), "\r\n")
		for i := 0; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], "$") && i+1 < len(lines) {
				out = append(out, lines[i+1])
				i++
			}
		}
		return out
	}
	cmd, cr := dial()
	do := func(args ...string) string {
		send(cmd, args...)
		var sb strings.Builder
		if err := readRawReply(cr, &sb); err != nil {
			t.Fatal(err)
		}
		return sb.String()
	}
	do("flushall")
	do("debug", "set-active-expire", "0")
	defer do("debug", "set-active-expire", "1")
	do("config", "set", "notify-keyspace-events", classes)
	defer do("config", "set", "notify-keyspace-events", "")
	sub, sr := dial()
	send(sub, "psubscribe", "__keyevent@0__:*")
	readArray(sr)
	send(sub, "subscribe", "sentinel")
	readArray(sr)
	var out strings.Builder
	for i, args := range script {
		if args[0] == "sleep" {
			ms, _ := strconv.Atoi(args[1])
			time.Sleep(time.Duration(ms) * time.Millisecond)
			fmt.Fprintf(&out, "\t{%s, nil},\n", goStrings(args))
			continue
		}
		do(args...)
		do("publish", "sentinel", strconv.Itoa(i))
		var events []string
		for {
			m := readArray(sr)
			if m[0] == "message" {
				break
			}
			events = append(events, strings.TrimPrefix(m[2], "__keyevent@0__:")+" "+m[3])
		}
		ev := "nil"
		if len(events) > 0 {
			ev = "[]string" + goStrings(events)
		}
		fmt.Fprintf(&out, "\t{%s, %s},\n", goStrings(args), ev)
	}
	fmt.Println(out.String())
}

// goStrings writes ss as the body of a Go []string literal.
func goStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
		if s == dumpHello {
			q[i] = "dumpHello"
		}
	}
	return "{" + strings.Join(q, ", ") + "}"
}

// notifyCases are notifyScript with the events redis-server 7.0.15 published
// for each command, recorded by TestNotifyRedis with NOTIFY_REDIS_ADDR set.
var notifyCases = []notifyStep{
	{[]string{"set", "k", "v"}, []string{"set k"}},
	{[]string{"set", "k", "v2", "nx"}, nil},
	{[]string{"set", "k", "v3", "xx"}, []string{"set k"}},
	{[]string{"set", "nokey", "v", "xx"}, nil},
	{[]string{"set", "k", "v", "ex", "100"}, []string{"set k", "expire k"}},
	{[]string{"set", "k", "v", "keepttl"}, []string{"set k"}},
	{[]string{"set", "k", "w", "get"}, []string{"set k"}},
	{[]string{"set", "k", "v", "ex", "0"}, nil},
	{[]string{"setnx", "k2", "a"}, []string{"set k2"}},
	{[]string{"setnx", "k2", "b"}, nil},
	{[]string{"setex", "k3", "100", "v"}, []string{"set k3", "expire k3"}},
	{[]string{"psetex", "k4", "100000", "v"}, []string{"set k4", "expire k4"}},
	{[]string{"getset", "k", "x"}, []string{"set k"}},
	{[]string{"getdel", "k"}, []string{"del k"}},
	{[]string{"getdel", "k"}, nil},
	{[]string{"getex", "k2", "ex", "100"}, []string{"expire k2"}},
	{[]string{"getex", "k2", "persist"}, []string{"persist k2"}},
	{[]string{"getex", "k2"}, nil},
	{[]string{"getex", "k3", "pxat", "1"}, []string{"del k3"}},
	{[]string{"getex", "nokey", "ex", "10"}, nil},
	{[]string{"mset", "a", "1", "b", "2"}, []string{"set a", "set b"}},
	{[]string{"msetnx", "a", "1", "c", "3"}, nil},
	{[]string{"msetnx", "c", "3", "d", "4"}, []string{"set c", "set d"}},
	{[]string{"append", "a", "x"}, []string{"append a"}},
	{[]string{"append", "newa", "y"}, []string{"append newa"}},
	{[]string{"setrange", "a", "0", "zz"}, []string{"setrange a"}},
	{[]string{"setrange", "a", "0", ""}, nil},
	{[]string{"setrange", "nosr", "0", ""}, nil},
	{[]string{"setrange", "nosr", "2", "x"}, []string{"setrange nosr"}},
	{[]string{"incr", "n"}, []string{"incrby n"}},
	{[]string{"decr", "n"}, []string{"incrby n"}},
	{[]string{"incrby", "n", "5"}, []string{"incrby n"}},
	{[]string{"decrby", "n", "2"}, []string{"incrby n"}},
	{[]string{"incrbyfloat", "f", "1.5"}, []string{"incrbyfloat f"}},
	{[]string{"incr", "a"}, nil},
	{[]string{"set", "e", "v", "px", "10"}, []string{"set e", "expire e"}},
	{[]string{"sleep", "20"}, nil},
	{[]string{"get", "e"}, []string{"expired e"}},
	{[]string{"set", "e2", "v", "px", "10"}, []string{"set e2", "expire e2"}},
	{[]string{"sleep", "20"}, nil},
	{[]string{"set", "e2", "w"}, []string{"expired e2", "set e2"}},
	{[]string{"del", "a", "b", "nokey"}, []string{"del a", "del b"}},
	{[]string{"unlink", "c"}, []string{"del c"}},
	{[]string{"set", "r1", "v"}, []string{"set r1"}},
	{[]string{"rename", "r1", "r2"}, []string{"rename_from r1", "rename_to r2"}},
	{[]string{"rename", "r2", "r2"}, nil},
	{[]string{"renamenx", "r2", "r3"}, []string{"rename_from r2", "rename_to r3"}},
	{[]string{"set", "r4", "x"}, []string{"set r4"}},
	{[]string{"renamenx", "r3", "r4"}, nil},
	{[]string{"rename", "r3", "r4"}, []string{"rename_from r3", "rename_to r4"}},
	{[]string{"copy", "r4", "r5"}, []string{"copy_to r5"}},
	{[]string{"copy", "r4", "r5"}, nil},
	{[]string{"copy", "r4", "r5", "replace"}, []string{"copy_to r5"}},
	{[]string{"expire", "r5", "100"}, []string{"expire r5"}},
	{[]string{"pexpire", "r5", "100000"}, []string{"expire r5"}},
	{[]string{"expireat", "r5", "4000000000"}, []string{"expire r5"}},
	{[]string{"pexpireat", "r5", "4000000000000"}, []string{"expire r5"}},
	{[]string{"expire", "r5", "100", "nx"}, nil},
	{[]string{"persist", "r5"}, []string{"persist r5"}},
	{[]string{"persist", "r5"}, nil},
	{[]string{"expire", "r5", "0"}, []string{"del r5"}},
	{[]string{"expire", "nokey", "10"}, nil},
	{[]string{"pexpireat", "r4", "1"}, []string{"del r4"}},
	{[]string{"restore", "rk", "0", dumpHello}, []string{"restore rk"}},
	{[]string{"restore", "rk", "0", dumpHello, "replace"}, []string{"restore rk"}},
	{[]string{"restore", "rk2", "100000", dumpHello}, []string{"restore rk2"}},
	{[]string{"touch", "rk"}, nil},
	{[]string{"lpush", "l", "a", "b", "c"}, []string{"lpush l"}},
	{[]string{"rpush", "l", "d"}, []string{"rpush l"}},
	{[]string{"lpushx", "nol", "a"}, nil},
	{[]string{"rpushx", "l", "e"}, []string{"rpush l"}},
	{[]string{"lpushx", "l", "f"}, []string{"lpush l"}},
	{[]string{"lpop", "l"}, []string{"lpop l"}},
	{[]string{"rpop", "l"}, []string{"rpop l"}},
	{[]string{"lpop", "l", "2"}, []string{"lpop l"}},
	{[]string{"lpop", "nol"}, nil},
	{[]string{"rpush", "l", "p", "q", "r"}, []string{"rpush l"}},
	{[]string{"lset", "l", "0", "X"}, []string{"lset l"}},
	{[]string{"linsert", "l", "before", "X", "Y"}, []string{"linsert l"}},
	{[]string{"linsert", "l", "after", "nosuch", "z"}, nil},
	{[]string{"lrem", "l", "0", "Y"}, []string{"lrem l"}},
	{[]string{"lrem", "l", "0", "nosuch"}, nil},
	{[]string{"ltrim", "l", "0", "1"}, []string{"ltrim l"}},
	{[]string{"ltrim", "l", "5", "10"}, []string{"ltrim l", "del l"}},
	{[]string{"rpush", "src", "a", "b", "c"}, []string{"rpush src"}},
	{[]string{"lmove", "src", "dst", "left", "right"}, []string{"rpush dst", "lpop src"}},
	{[]string{"lmove", "src", "dst", "right", "left"}, []string{"lpush dst", "rpop src"}},
	{[]string{"rpoplpush", "src", "dst"}, []string{"lpush dst", "rpop src", "del src"}},
	{[]string{"lmove", "dst", "dst", "left", "left"}, []string{"lpush dst", "lpop dst"}},
	{[]string{"rpush", "l1", "a", "b"}, []string{"rpush l1"}},
	{[]string{"lmpop", "2", "nol", "l1", "left", "count", "1"}, []string{"lpop l1"}},
	{[]string{"lmpop", "2", "nol", "l1", "right", "count", "5"}, []string{"rpop l1", "del l1"}},
	{[]string{"rpush", "l2", "a", "b"}, []string{"rpush l2"}},
	{[]string{"blpop", "nol", "l2", "0"}, []string{"lpop l2"}},
	{[]string{"brpop", "l2", "0"}, []string{"rpop l2", "del l2"}},
	{[]string{"rpush", "l3", "a"}, []string{"rpush l3"}},
	{[]string{"blmove", "l3", "l4", "left", "left", "0"}, []string{"lpush l4", "lpop l3", "del l3"}},
	{[]string{"brpoplpush", "l4", "l3", "0"}, []string{"lpush l3", "rpop l4", "del l4"}},
	{[]string{"blmpop", "0", "1", "l3", "left"}, []string{"lpop l3", "del l3"}},
	{[]string{"rpop", "dst", "5"}, []string{"rpop dst", "del dst"}},
	{[]string{"hset", "h", "f", "v", "f2", "v2"}, []string{"hset h"}},
	{[]string{"hset", "h", "f", "v"}, []string{"hset h"}},
	{[]string{"hmset", "h", "f3", "v"}, []string{"hset h"}},
	{[]string{"hsetnx", "h", "f", "x"}, nil},
	{[]string{"hsetnx", "h", "f4", "x"}, []string{"hset h"}},
	{[]string{"hdel", "h", "f", "nosuch"}, []string{"hdel h"}},
	{[]string{"hdel", "h", "nosuch"}, nil},
	{[]string{"hincrby", "h", "n", "1"}, []string{"hincrby h"}},
	{[]string{"hincrbyfloat", "h", "fl", "1.5"}, []string{"hincrbyfloat h"}},
	{[]string{"hdel", "h", "f2", "f3", "f4", "n", "fl"}, []string{"hdel h", "del h"}},
	{[]string{"sadd", "s", "a", "b", "c"}, []string{"sadd s"}},
	{[]string{"sadd", "s", "a"}, nil},
	{[]string{"srem", "s", "a"}, []string{"srem s"}},
	{[]string{"srem", "s", "zz"}, nil},
	{[]string{"spop", "s"}, []string{"spop s"}},
	{[]string{"spop", "s", "5"}, []string{"spop s", "del s"}},
	{[]string{"spop", "nos"}, nil},
	{[]string{"sadd", "s1", "a", "b", "c"}, []string{"sadd s1"}},
	{[]string{"spop", "s1", "1"}, []string{"spop s1"}},
	{[]string{"spop", "s1", "0"}, nil},
	{[]string{"smove", "s1", "s2", "nosuch"}, nil},
	{[]string{"sadd", "s2", "m"}, []string{"sadd s2"}},
	{[]string{"smove", "s2", "s1", "m"}, []string{"srem s2", "del s2", "sadd s1"}},
	{[]string{"sadd", "s3", "only"}, []string{"sadd s3"}},
	{[]string{"smove", "s3", "s1", "only"}, []string{"srem s3", "del s3", "sadd s1"}},
	{[]string{"sinterstore", "si", "s1", "s2"}, nil},
	{[]string{"sunionstore", "su", "s1", "s2"}, []string{"sunionstore su"}},
	{[]string{"sdiffstore", "sd", "s1", "s2"}, []string{"sdiffstore sd"}},
	{[]string{"sinterstore", "su", "s1", "nos"}, []string{"del su"}},
	{[]string{"sdiffstore", "nos2", "nos", "s1"}, nil},
	{[]string{"sadd", "sp", "1", "2", "3"}, []string{"sadd sp"}},
	{[]string{"spop", "sp", "2"}, []string{"spop sp"}},
	{[]string{"zadd", "z", "1", "a", "2", "b", "3", "c"}, []string{"zadd z"}},
	{[]string{"zadd", "z", "1", "a"}, nil},
	{[]string{"zadd", "z", "5", "a"}, []string{"zadd z"}},
	{[]string{"zadd", "z", "incr", "5", "a"}, []string{"zincr z"}},
	{[]string{"zadd", "z", "nx", "9", "a"}, nil},
	{[]string{"zadd", "z", "xx", "ch", "9", "a"}, []string{"zadd z"}},
	{[]string{"zincrby", "z", "1", "b"}, []string{"zincr z"}},
	{[]string{"zrem", "z", "nosuch"}, nil},
	{[]string{"zrem", "z", "a"}, []string{"zrem z"}},
	{[]string{"zadd", "z", "4", "d", "5", "e", "6", "f"}, []string{"zadd z"}},
	{[]string{"zremrangebyscore", "z", "100", "200"}, nil},
	{[]string{"zremrangebyscore", "z", "0", "3"}, []string{"zremrangebyscore z"}},
	{[]string{"zremrangebyrank", "z", "0", "0"}, []string{"zremrangebyrank z"}},
	{[]string{"zadd", "zl", "0", "a", "0", "b", "0", "c"}, []string{"zadd zl"}},
	{[]string{"zremrangebylex", "zl", "[a", "[a"}, []string{"zremrangebylex zl"}},
	{[]string{"zremrangebylex", "zl", "[x", "[z"}, nil},
	{[]string{"zpopmin", "z"}, []string{"zpopmin z"}},
	{[]string{"zpopmax", "z", "5"}, []string{"zpopmax z", "del z"}},
	{[]string{"zpopmin", "z"}, nil},
	{[]string{"zadd", "z1", "1", "a", "2", "b"}, []string{"zadd z1"}},
	{[]string{"zadd", "z2", "1", "b", "2", "c"}, []string{"zadd z2"}},
	{[]string{"zmpop", "2", "noz", "z1", "min", "count", "1"}, []string{"zpopmin z1"}},
	{[]string{"bzpopmin", "noz", "z1", "0"}, []string{"zpopmin z1", "del z1"}},
	{[]string{"bzpopmax", "z2", "0"}, []string{"zpopmax z2"}},
	{[]string{"bzmpop", "0", "1", "z2", "max"}, []string{"zpopmax z2", "del z2"}},
	{[]string{"zadd", "z1", "1", "a", "2", "b"}, []string{"zadd z1"}},
	{[]string{"zadd", "z2", "1", "b", "2", "c"}, []string{"zadd z2"}},
	{[]string{"zunionstore", "zu", "2", "z1", "z2"}, []string{"zunionstore zu"}},
	{[]string{"zinterstore", "zi", "2", "z1", "z2"}, []string{"zinterstore zi"}},
	{[]string{"zdiffstore", "zd", "2", "z1", "z2"}, []string{"zdiffstore zd"}},
	{[]string{"zrangestore", "zr", "z1", "0", "-1"}, []string{"zrangestore zr"}},
	{[]string{"zinterstore", "zu", "2", "z1", "noz"}, []string{"del zu"}},
	{[]string{"zrangestore", "zr", "z1", "5", "6"}, []string{"del zr"}},
	{[]string{"zdiffstore", "nozd", "1", "noz"}, nil},
	{[]string{"xadd", "x", "1-0", "f", "v"}, []string{"xadd x"}},
	{[]string{"xadd", "x", "2-0", "f", "v"}, []string{"xadd x"}},
	{[]string{"xadd", "x", "maxlen", "1", "3-0", "f", "v"}, []string{"xadd x", "xtrim x"}},
	{[]string{"xadd", "nox", "nomkstream", "*", "f", "v"}, nil},
	{[]string{"xadd", "x", "4-0", "f", "v"}, []string{"xadd x"}},
	{[]string{"xtrim", "x", "maxlen", "1"}, []string{"xtrim x"}},
	{[]string{"xtrim", "x", "maxlen", "1"}, nil},
	{[]string{"xdel", "x", "4-0", "9-0"}, []string{"xdel x"}},
	{[]string{"xdel", "x", "9-0"}, nil},
	{[]string{"xsetid", "x", "10-0"}, []string{"xsetid x"}},
	{[]string{"xadd", "x", "11-0", "f", "v"}, []string{"xadd x"}},
	{[]string{"xgroup", "create", "x", "g", "0"}, []string{"xgroup-create x"}},
	{[]string{"xgroup", "create", "x2", "g", "$", "mkstream"}, []string{"xgroup-create x2"}},
	{[]string{"xgroup", "setid", "x", "g", "0"}, []string{"xgroup-setid x"}},
	{[]string{"xgroup", "createconsumer", "x", "g", "c1"}, []string{"xgroup-createconsumer x"}},
	{[]string{"xgroup", "createconsumer", "x", "g", "c1"}, nil},
	{[]string{"xgroup", "delconsumer", "x", "g", "c1"}, []string{"xgroup-delconsumer x"}},
	{[]string{"xreadgroup", "group", "g", "c2", "streams", "x", ">"}, []string{"xgroup-createconsumer x"}},
	{[]string{"xreadgroup", "group", "g", "c2", "streams", "x", ">"}, nil},
	{[]string{"xclaim", "x", "g", "c3", "0", "11-0"}, []string{"xgroup-createconsumer x"}},
	{[]string{"xautoclaim", "x", "g", "c4", "0", "0"}, []string{"xgroup-createconsumer x"}},
	{[]string{"xack", "x", "g", "11-0"}, nil},
	{[]string{"xgroup", "destroy", "x", "g"}, []string{"xgroup-destroy x"}},
	{[]string{"xgroup", "destroy", "x", "g"}, nil},
	{[]string{"geoadd", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"}, []string{"zadd geo"}},
	{[]string{"geoadd", "geo", "13.361389", "38.115556", "Palermo"}, nil},
	{[]string{"geosearchstore", "gs", "geo", "fromlonlat", "15", "37", "byradius", "200", "km", "asc"}, []string{"geosearchstore gs"}},
	{[]string{"georadius", "geo", "15", "37", "200", "km", "store", "gr"}, []string{"georadiusstore gr"}},
	{[]string{"georadiusbymember", "geo", "Palermo", "1", "km", "storedist", "grd"}, []string{"georadiusstore grd"}},
	{[]string{"geosearchstore", "gs", "geo", "fromlonlat", "0", "0", "byradius", "1", "km"}, []string{"del gs"}},
	{[]string{"setbit", "b", "1", "1"}, []string{"setbit b"}},
	{[]string{"setbit", "b", "1", "1"}, nil},
	{[]string{"bitfield", "b", "set", "u8", "0", "255"}, []string{"setbit b"}},
	{[]string{"bitfield", "b", "get", "u8", "0"}, nil},
	{[]string{"bitfield", "b", "incrby", "u8", "0", "1", "overflow", "fail", "incrby", "u8", "0", "-10"}, []string{"setbit b"}},
	{[]string{"bitop", "and", "bo", "b", "b"}, []string{"set bo"}},
	{[]string{"bitop", "not", "bo", "nob"}, []string{"del bo"}},
	{[]string{"pfadd", "hl", "a"}, []string{"pfadd hl"}},
	{[]string{"pfadd", "hl", "a"}, nil},
	{[]string{"pfadd", "hl2"}, []string{"pfadd hl2"}},
	{[]string{"pfmerge", "hl3", "hl", "hl2"}, []string{"pfadd hl3"}},
	{[]string{"pfcount", "hl", "hl3"}, nil},
	{[]string{"rpush", "le", "a"}, []string{"rpush le"}},
	{[]string{"pexpire", "le", "10"}, []string{"expire le"}},
	{[]string{"sleep", "20"}, nil},
	{[]string{"rpush", "le", "b"}, []string{"expired le", "rpush le"}},
	{[]string{"sadd", "se", "a"}, []string{"sadd se"}},
	{[]string{"pexpire", "se", "10"}, []string{"expire se"}},
	{[]string{"sleep", "20"}, nil},
	{[]string{"sadd", "se", "b"}, []string{"expired se", "sadd se"}},
	{[]string{"flushall"}, nil},
}

// notifyNewCases are notifyNewScript with the events redis-server 7.0.15
// published for each command, recorded by TestNotifyRedisNewMiss.
var notifyNewCases = []notifyStep{
	{[]string{"get", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"mget", "nokey", "nokey2"}, []string{"keymiss nokey", "keymiss nokey2"}},
	{[]string{"set", "k", "v"}, []string{"new k", "set k"}},
	{[]string{"set", "k", "v2"}, []string{"set k"}},
	{[]string{"get", "k"}, nil},
	{[]string{"hget", "noh", "f"}, []string{"keymiss noh"}},
	{[]string{"lrange", "nol", "0", "-1"}, []string{"keymiss nol"}},
	{[]string{"smembers", "nos"}, []string{"keymiss nos"}},
	{[]string{"zrange", "noz", "0", "-1"}, []string{"keymiss noz"}},
	{[]string{"xrange", "nox", "-", "+"}, []string{"keymiss nox"}},
	{[]string{"exists", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"type", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"ttl", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"strlen", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"getrange", "nokey", "0", "1"}, []string{"keymiss nokey"}},
	{[]string{"getbit", "nokey", "0"}, []string{"keymiss nokey"}},
	{[]string{"incr", "n"}, []string{"new n", "incrby n"}},
	{[]string{"incrbyfloat", "f", "1"}, []string{"new f", "incrbyfloat f"}},
	{[]string{"append", "a", "x"}, []string{"new a", "append a"}},
	{[]string{"setrange", "sr", "1", "x"}, []string{"new sr", "setrange sr"}},
	{[]string{"setbit", "sb", "1", "1"}, []string{"new sb", "setbit sb"}},
	{[]string{"mset", "m1", "a", "m2", "b"}, []string{"new m1", "set m1", "new m2", "set m2"}},
	{[]string{"lpush", "l", "a"}, []string{"new l", "lpush l"}},
	{[]string{"lpush", "l", "b"}, []string{"lpush l"}},
	{[]string{"sadd", "s", "a"}, []string{"new s", "sadd s"}},
	{[]string{"hset", "h", "f", "v"}, []string{"new h", "hset h"}},
	{[]string{"hincrby", "h2", "f", "1"}, []string{"new h2", "hincrby h2"}},
	{[]string{"zadd", "z", "1", "a"}, []string{"new z", "zadd z"}},
	{[]string{"zincrby", "z2", "1", "a"}, []string{"new z2", "zincr z2"}},
	{[]string{"xadd", "x", "1-0", "f", "v"}, []string{"new x", "xadd x"}},
	{[]string{"xgroup", "create", "x2", "g", "$", "mkstream"}, []string{"new x2", "xgroup-create x2"}},
	{[]string{"pfadd", "hl", "a"}, []string{"new hl", "pfadd hl"}},
	{[]string{"rename", "k", "k2"}, []string{"new k2", "rename_from k", "rename_to k2"}},
	{[]string{"copy", "k2", "k3"}, []string{"new k3", "copy_to k3"}},
	{[]string{"restore", "rk", "0", dumpHello}, []string{"new rk", "restore rk"}},
	{[]string{"sunionstore", "su", "s"}, []string{"new su", "sunionstore su"}},
	{[]string{"zunionstore", "zu", "1", "z"}, []string{"new zu", "zunionstore zu"}},
	{[]string{"lmove", "l", "l2", "left", "left"}, []string{"new l2", "lpush l2", "lpop l"}},
	{[]string{"smove", "s", "s2", "a"}, []string{"srem s", "del s", "new s2", "sadd s2"}},
	{[]string{"getdel", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"getex", "nokey"}, []string{"keymiss nokey"}},
	{[]string{"hgetall", "noh"}, []string{"keymiss noh"}},
	{[]string{"flushall"}, nil},
}
