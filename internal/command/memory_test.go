package command

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// usageOf runs MEMORY USAGE key and returns the integer it answers, failing
// the test on any other reply.
func usageOf(t *testing.T, h *harness, key string) int64 {
	t.Helper()
	got := h.do("memory", "usage", key)
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(got, ":"), "\r\n"), 10, 64)
	if !strings.HasPrefix(got, ":") || err != nil {
		t.Fatalf("MEMORY USAGE %s: got %q, want an integer", key, got)
	}
	return n
}

func TestMemoryCommandErrors(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"memory"}, "-ERR wrong number of arguments for 'memory' command\r\n"},
		{[]string{"memory", "usage"}, "-ERR wrong number of arguments for 'memory|usage' command\r\n"},
		{[]string{"memory", "help", "x"}, "-ERR wrong number of arguments for 'memory|help' command\r\n"},
		{[]string{"memory", "bogus"}, "-ERR unknown subcommand 'bogus'. Try MEMORY HELP.\r\n"},
		// STATS and the other server-wide subcommands are answered by the
		// server, never by a shard.
		{[]string{"memory", "stats"}, "-ERR unknown subcommand 'stats'. Try MEMORY HELP.\r\n"},
		// Options are checked before the key is looked up, as in Redis.
		{[]string{"memory", "usage", "missing"}, nullBulk},
		{[]string{"memory", "usage", "missing", "samples"}, "-ERR syntax error\r\n"},
		{[]string{"memory", "usage", "missing", "samples", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"memory", "usage", "missing", "samples", "99999999999999999999"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"memory", "usage", "missing", "samples", "-1"}, "-ERR syntax error\r\n"},
		{[]string{"memory", "usage", "missing", "foo"}, "-ERR syntax error\r\n"},
		{[]string{"memory", "usage", "missing", "samples", "5", "foo"}, "-ERR syntax error\r\n"},
		{[]string{"memory", "usage", "missing", "samples", "0"}, nullBulk},
		{[]string{"memory", "usage", "missing", "SAMPLES", "5", "samples", "0"}, nullBulk},
	})
	help := h.do("memory", "help")
	if !strings.HasPrefix(help, "*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n") ||
		!strings.HasSuffix(help, "+HELP\r\n+    Prints this help.\r\n") {
		t.Errorf("MEMORY HELP: got %q", help)
	}
	h.proto(3)
	if got := h.do("memory", "usage", "missing"); got != "_\r\n" {
		t.Errorf("RESP3 MEMORY USAGE of a missing key: got %q, want _", got)
	}
}

func TestMemoryUsageTypes(t *testing.T) {
	h := newHarness(t, 3)
	long := strings.Repeat("x", 1000)
	h.do("set", "str", "v")
	h.do("set", "long", long)
	h.do("hset", "hash", "f", "v")
	h.do("sadd", "intset", "1", "2", "3")
	h.do("sadd", "set", "a", "b", "c")

	str := usageOf(t, h, "str")
	if str < int64(len("str")+len("v")) {
		t.Errorf("MEMORY USAGE of a short string: got %d, want at least its key and value", str)
	}
	if got := usageOf(t, h, "long"); got < str+int64(len(long))-1 {
		t.Errorf("MEMORY USAGE of a 1000-byte string: got %d, want at least %d", got, str+int64(len(long))-1)
	}
	if got := h.do("memory", "usage", "str", "samples", "0"); got != strInt(str) {
		t.Errorf("MEMORY USAGE SAMPLES 0: got %q, want %d", got, str)
	}

	// Every encoding of both collections, growing with its elements.
	for _, tc := range []struct {
		key, enc string
		add      func(i int) []string
	}{
		{"hash", "listpack", func(i int) []string { return []string{"hset", "hash", "field:" + strconv.Itoa(i), "value"} }},
		{"bighash", "hashtable", func(i int) []string { return []string{"hset", "bighash", "field:" + strconv.Itoa(i), long} }},
		{"intset", "intset", func(i int) []string { return []string{"sadd", "intset", strconv.Itoa(10 + i)} }},
		{"set", "listpack", func(i int) []string { return []string{"sadd", "set", "m" + strconv.Itoa(i)} }},
		{"bigset", "hashtable", func(i int) []string { return []string{"sadd", "bigset", "member:" + strconv.Itoa(i) + long} }},
		{"zset", "listpack", func(i int) []string { return []string{"zadd", "zset", strconv.Itoa(i), "m" + strconv.Itoa(i)} }},
		{"bigzset", "skiplist", func(i int) []string { return []string{"zadd", "bigzset", "1.5", "member:" + strconv.Itoa(i) + long} }},
	} {
		h.do(tc.add(0)...)
		before := usageOf(t, h, tc.key)
		if before < int64(len(tc.key)) {
			t.Errorf("MEMORY USAGE %s: got %d, want at least the key's length", tc.key, before)
		}
		for i := 1; i <= 100; i++ {
			h.do(tc.add(i)...)
		}
		if enc := h.do("object", "encoding", tc.key); enc != strBulk(tc.enc) {
			t.Fatalf("OBJECT ENCODING %s: got %q, want %s", tc.key, enc, tc.enc)
		}
		after := usageOf(t, h, tc.key)
		if after <= before {
			t.Errorf("MEMORY USAGE %s (%s) after 100 more elements: got %d, want more than %d", tc.key, tc.enc, after, before)
		}
		if (tc.enc == "hashtable" || tc.enc == "skiplist") && after < 100*int64(len(long)) {
			t.Errorf("MEMORY USAGE %s of 100 elements of 1000 bytes: got %d", tc.key, after)
		}
	}

	// Deleting elements gives memory back; an expired key is missing.
	before := usageOf(t, h, "set")
	for i := range 90 {
		h.do("srem", "set", "m"+strconv.Itoa(i))
	}
	if after := usageOf(t, h, "set"); after >= before {
		t.Errorf("MEMORY USAGE after SREM of 90 members: got %d, want less than %d", after, before)
	}
	before = usageOf(t, h, "bigzset")
	h.do("zremrangebyrank", "bigzset", "0", "89")
	if after := usageOf(t, h, "bigzset"); after >= before-90*int64(len(long)) {
		t.Errorf("MEMORY USAGE after removing 90 members of 1000 bytes: got %d, was %d", after, before)
	}
	h.do("pexpire", "hash", "10")
	h.advance(time.Second)
	if got := h.do("memory", "usage", "hash"); got != nullBulk {
		t.Errorf("MEMORY USAGE of an expired key: got %q, want nil", got)
	}
	if got := h.do("exists", "hash"); got != strInt(0) {
		t.Errorf("EXISTS after MEMORY USAGE of an expired key: got %q", got)
	}
}
