package command

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/rdb"
)

// bulk returns the string of a bulk reply, failing on any other reply.
func bulk(t *testing.T, reply string) string {
	t.Helper()
	head, rest, ok := strings.Cut(reply, "\r\n")
	if !ok || !strings.HasPrefix(head, "$") {
		t.Fatalf("got %q, want a bulk string", reply)
	}
	n, err := strconv.Atoi(head[1:])
	if err != nil || n < 0 || len(rest) != n+2 {
		t.Fatalf("got %q, want a bulk string", reply)
	}
	return rest[:n]
}

// redisPayload returns a payload redis-server 7.0 dumped (see
// internal/rdb/testdata/record.sh).
func redisPayload(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../rdb/testdata/redis-7.0/" + name + ".hex")
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

func TestDumpRestoreErrors(t *testing.T) {
	h := newHarness(t, 3)
	hello := redisPayload(t, "s-raw")
	damaged := hello[:len(hello)-1] + "x"
	garbage := string(rdb.AppendFooter([]byte{rdb.TypeHashListpack, 3, 1, 2, 3}, 0, rdb.Version))
	newer := string(rdb.AppendFooter([]byte(hello[:len(hello)-10]), 0, 12))
	h.check([]step{
		{[]string{"dump", "missing"}, "$-1\r\n"},
		{[]string{"set", "k", "v"}, "+OK\r\n"},
		{[]string{"restore", "k", "0", hello}, "-BUSYKEY Target key name already exists.\r\n"},
		// Options are read before the key is looked at, the TTL after.
		{[]string{"restore", "k", "0", hello, "bogus"}, "-ERR syntax error\r\n"},
		{[]string{"restore", "k", "x", hello}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"restore", "new", "x", hello}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"restore", "new", "-1", hello}, "-ERR Invalid TTL value, must be >= 0\r\n"},
		{[]string{"restore", "new", "0", damaged}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"restore", "new", "0", "short"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"restore", "new", "0", newer}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"restore", "new", "0", garbage}, "-ERR Bad data format\r\n"},
		{[]string{"restore", "new", "0", hello, "idletime", "-1"}, "-ERR Invalid IDLETIME value, must be >= 0\r\n"},
		{[]string{"restore", "new", "0", hello, "idletime", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"restore", "new", "0", hello, "freq", "256"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"restore", "new", "0", hello, "freq", "-1"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"restore", "new", "0", hello, "idletime", "5", "freq", "5"}, "-ERR syntax error\r\n"},
		{[]string{"restore", "new", "0", hello, "freq", "5", "idletime", "5"}, "-ERR syntax error\r\n"},
		{[]string{"restore", "new", "0", hello, "idletime"}, "-ERR syntax error\r\n"},
		{[]string{"exists", "new"}, ":0\r\n"},
		{[]string{"restore", "new", "0", hello, "IDLETIME", "10"}, "+OK\r\n"},
		{[]string{"restore", "new", "0", hello, "REPLACE", "FREQ", "10", "absttl"}, "+OK\r\n"},
		{[]string{"get", "new"}, "$5\r\nhello\r\n"},
		{[]string{"restore", "k", "0", hello, "replace"}, "+OK\r\n"},
		{[]string{"get", "k"}, "$5\r\nhello\r\n"},
		{[]string{"ttl", "k"}, ":-1\r\n"},
	})
}

func TestRestoreTTL(t *testing.T) {
	h := newHarness(t, 3)
	hello := redisPayload(t, "s-raw")
	now := strconv.FormatInt(h.now, 10)
	past := strconv.FormatInt(h.now-1, 10)
	later := strconv.FormatInt(h.now+5000, 10)
	h.check([]step{
		{[]string{"restore", "rel", "5000", hello}, "+OK\r\n"},
		{[]string{"pexpiretime", "rel"}, ":" + later + "\r\n"},
		{[]string{"restore", "abs", later, hello, "ABSTTL"}, "+OK\r\n"},
		{[]string{"pexpiretime", "abs"}, ":" + later + "\r\n"},
		// An absolute TTL not after now restores nothing; with REPLACE
		// it deletes what the key held.
		{[]string{"restore", "gone", now, hello, "absttl"}, "+OK\r\n"},
		{[]string{"exists", "gone"}, ":0\r\n"},
		{[]string{"set", "old", "v"}, "+OK\r\n"},
		{[]string{"restore", "old", past, hello, "absttl", "replace"}, "+OK\r\n"},
		{[]string{"exists", "old"}, ":0\r\n"},
		{[]string{"restore", "huge", "9223372036854775807", hello}, "+OK\r\n"},
		{[]string{"pexpiretime", "huge"}, ":9223372036854775807\r\n"},
	})
	h.advance(5 * time.Second)
	h.check([]step{
		{[]string{"exists", "rel", "abs"}, ":2\r\n"},
	})
	h.advance(time.Millisecond)
	h.check([]step{
		{[]string{"exists", "rel", "abs"}, ":0\r\n"},
	})
}

// TestRestoreRedisPayloads restores what redis-server 7.0 dumped and reads
// the values back through commands.
func TestRestoreRedisPayloads(t *testing.T) {
	h := newHarness(t, 3)
	tests := []struct {
		name string
		read []string
		want string
	}{
		{"s-i32", []string{"get"}, "$8\r\n-1234567\r\n"},
		{"h-lp", []string{"hget", "", "big"}, "$13\r\n1234567890123\r\n"},
		{"h-ht", []string{"hget", "", "field:300"}, "$9\r\nvalue:300\r\n"},
		{"st-intlzf", []string{"sismember", "", "500"}, ":1\r\n"},
		{"st-ht", []string{"scard"}, ":3\r\n"},
		{"z-lp", []string{"zscore", "", "e"}, "$3\r\ninf\r\n"},
		{"z-sl", []string{"zrange", "", "0", "0", "withscores"}, "*2\r\n$2\r\nm1\r\n$3\r\n1.5\r\n"},
		{"l-big", []string{"lindex", "", "1999"}, "$12\r\nelement-2000\r\n"},
		{"l-plain", []string{"lindex", "", "1"}, "$34\r\nthis is a long element of 34 bytes\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.do("restore", tt.name, "0", redisPayload(t, tt.name)); got != "+OK\r\n" {
				t.Fatalf("RESTORE: got %q", got)
			}
			args := append([]string{tt.read[0], tt.name}, tt.read[min(2, len(tt.read)):]...)
			if got := h.do(args...); got != tt.want {
				t.Fatalf("%q: got %q, want %q", args, got, tt.want)
			}
		})
	}
}

// TestDumpRestoreRoundTrip dumps values of every type and encoding and
// restores them under another key: the copy dumps to the same payload and
// reads the same.
func TestDumpRestoreRoundTrip(t *testing.T) {
	h := newHarness(t, 3)
	var many []string
	for i := range 1000 {
		many = append(many, fmt.Sprint(i*7), fmt.Sprintf("v%d", i))
	}
	setup := [][]string{
		{"set", "str", "hello"},
		{"set", "int", "-70000"},
		{"set", "long", strings.Repeat("x", 100000)},
		{"hset", "hash", "a", "1", "b", "two"},
		append([]string{"hset", "bighash"}, many...),
		{"sadd", "intset", "1", "2", "-3"},
		{"sadd", "lpset", "a", "b", "1"},
		append([]string{"sadd", "bigset"}, many...),
		{"zadd", "zset", "1", "a", "-2.5", "b", "inf", "c"},
		{"rpush", "list", "a", "b", "12"},
		append([]string{"rpush", "biglist"}, many...),
		{"zadd", "bigzset", "0", "x"},
	}
	for i := range 500 {
		setup = append(setup, []string{"zadd", "bigzset", fmt.Sprint(float64(i) / 3), fmt.Sprintf("m%d", i)})
	}
	for _, s := range setup {
		if got := h.do(s...); strings.HasPrefix(got, "-") {
			t.Fatalf("%.40q: %s", s, got)
		}
	}
	reads := map[string][]string{
		"str": {"get"}, "int": {"get"}, "long": {"strlen"},
		"hash": {"hgetall"}, "bighash": {"hlen"}, "intset": {"smembers"}, "lpset": {"smembers"},
		"bigset": {"scard"}, "zset": {"zrange", "0", "-1", "withscores"}, "bigzset": {"zrange", "0", "-1", "withscores"},
		"list": {"lrange", "0", "-1"}, "biglist": {"lrange", "0", "-1"},
	}
	for key, read := range reads {
		t.Run(key, func(t *testing.T) {
			p := bulk(t, h.do("dump", key))
			copyKey := key + ":copy"
			if got := h.do("restore", copyKey, "0", p); got != "+OK\r\n" {
				t.Fatalf("RESTORE: got %q", got)
			}
			if got := bulk(t, h.do("dump", copyKey)); got != p {
				t.Errorf("DUMP of the copy differs: got %x, want %x", got[:min(len(got), 64)], p[:min(len(p), 64)])
			}
			// A list pushed by one command may be a listpack past the size
			// one pushed element by element converts at (see the list
			// rules in the README): its copy is a quicklist.
			if got, want := h.do("object", "encoding", copyKey), h.do("object", "encoding", key); got != want && key != "biglist" {
				t.Errorf("OBJECT ENCODING: got %q, want %q", got, want)
			}
			a := append([]string{read[0], key}, read[1:]...)
			b := append([]string{read[0], copyKey}, read[1:]...)
			if got, want := h.do(b...), h.do(a...); got != want {
				t.Errorf("%s: got %.100q, want %.100q", read[0], got, want)
			}
		})
	}
}

// TestDumpListNodes checks that DUMP splits a list into nodes as
// list-max-listpack-size bounds Redis's.
func TestDumpListNodes(t *testing.T) {
	defer object.SetLimits(object.CurrentLimits())
	l := object.DefaultLimits()
	l.ListMaxListpackSize = 2
	object.SetLimits(l)
	h := newHarness(t, 1)
	h.do("rpush", "l", "a", "b", "c", "d", "e")
	if got, want := bulk(t, h.do("dump", "l")), redisPayload(t, "l-multi"); got != want {
		t.Fatalf("got %x, want Redis's %x", got, want)
	}
}
