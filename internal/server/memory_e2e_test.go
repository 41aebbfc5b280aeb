package server

import (
	"strconv"
	"strings"
	"testing"
)

// TestMemoryUsageRESP drives MEMORY USAGE and MEMORY HELP over the raw
// protocol against a server of several shards: a figure for a key of every
// type and encoding that grows with the value, nil for a missing key in
// both protocol versions, and Redis's errors.
func TestMemoryUsageRESP(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	do := func(args ...string) string {
		t.Helper()
		c.send(respCmd(args...))
		return c.line()
	}
	usage := func(key string) int64 {
		t.Helper()
		got := do("MEMORY", "USAGE", key)
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(got, ":"), "\r"), 10, 64)
		if !strings.HasPrefix(got, ":") || err != nil {
			t.Fatalf("MEMORY USAGE %s: got %q, want an integer", key, got)
		}
		return n
	}

	long := strings.Repeat("x", 200)
	for _, cmd := range [][]string{
		{"SET", "str", "v"},
		{"SET", "int", "12345"},
		{"SET", "raw", strings.Repeat("r", 5000)},
		{"HSET", "hash:lp", "f1", "v1", "f2", "v2"},
		{"HSET", "hash:ht", "f1", long},
		{"SADD", "set:is", "1", "2", "3"},
		{"SADD", "set:lp", "a", "b", "c"},
		{"SADD", "set:ht", long},
	} {
		if got := do(cmd...); got[0] != ':' && got != "+OK\r" {
			t.Fatalf("%q: got %q", cmd, got)
		}
	}
	for key, enc := range map[string]string{"hash:lp": "listpack", "hash:ht": "hashtable", "set:is": "intset", "set:lp": "listpack", "set:ht": "hashtable"} {
		c.send(respCmd("OBJECT", "ENCODING", key))
		c.expect("$" + strconv.Itoa(len(enc)) + "\r\n" + enc + "\r\n")
	}
	sizes := map[string]int64{}
	for _, key := range []string{"str", "int", "raw", "hash:lp", "hash:ht", "set:is", "set:lp", "set:ht"} {
		sizes[key] = usage(key)
		if sizes[key] < int64(len(key)) {
			t.Errorf("MEMORY USAGE %s: got %d, want at least the key's length", key, sizes[key])
		}
	}
	if sizes["raw"] < 5000 {
		t.Errorf("MEMORY USAGE of a 5000-byte string: got %d", sizes["raw"])
	}
	if sizes["hash:ht"] < int64(len(long)) || sizes["set:ht"] < int64(len(long)) {
		t.Errorf("MEMORY USAGE of a table holding %d bytes: hash %d, set %d", len(long), sizes["hash:ht"], sizes["set:ht"])
	}
	// Collections grow, in every encoding, and SAMPLES changes nothing.
	for i := range 300 {
		do("HSET", "hash:ht", "field:"+strconv.Itoa(i), long)
		do("SADD", "set:is", strconv.Itoa(100+i))
	}
	if got := usage("hash:ht"); got < sizes["hash:ht"]+300*int64(len(long)) {
		t.Errorf("MEMORY USAGE of a hash after 300 fields of %d bytes: got %d, was %d", len(long), got, sizes["hash:ht"])
	}
	if got := usage("set:is"); got <= sizes["set:is"] {
		t.Errorf("MEMORY USAGE of a set after 300 members: got %d, was %d", got, sizes["set:is"])
	}
	n := usage("hash:ht")
	if got := do("MEMORY", "USAGE", "hash:ht", "SAMPLES", "0"); got != ":"+strconv.FormatInt(n, 10)+"\r" {
		t.Errorf("MEMORY USAGE SAMPLES 0: got %q, want :%d", got, n)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"MEMORY", "USAGE", "missing"}, "$-1\r"},
		{[]string{"MEMORY", "USAGE", "missing", "SAMPLES", "5"}, "$-1\r"},
		{[]string{"MEMORY"}, "-ERR wrong number of arguments for 'memory' command\r"},
		{[]string{"MEMORY", "USAGE"}, "-ERR wrong number of arguments for 'memory|usage' command\r"},
		{[]string{"MEMORY", "HELP", "x"}, "-ERR wrong number of arguments for 'memory|help' command\r"},
		{[]string{"MEMORY", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try MEMORY HELP.\r"},
		{[]string{"MEMORY", "USAGE", "str", "SAMPLES"}, "-ERR syntax error\r"},
		{[]string{"MEMORY", "USAGE", "str", "SAMPLES", "-1"}, "-ERR syntax error\r"},
		{[]string{"MEMORY", "USAGE", "str", "SAMPLES", "x"}, "-ERR value is not an integer or out of range\r"},
		{[]string{"MEMORY", "USAGE", "str", "LIMIT", "1"}, "-ERR syntax error\r"},
	} {
		if got := do(tc.args...); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
	c.send(respCmd("MEMORY", "HELP"))
	c.expect("*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n")
	for range 12 {
		c.line()
	}

	// In a transaction, and in RESP3.
	c.send(respCmd("MULTI") + respCmd("MEMORY", "USAGE", "str") + respCmd("MEMORY", "USAGE", "missing") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:" + strconv.FormatInt(sizes["str"], 10) + "\r\n$-1\r\n")
	c.send(respCmd("HELLO", "3"))
	for c.line() != "*0\r" { // HELLO's map ends with modules, an empty array
	}
	if got := do("MEMORY", "USAGE", "missing"); got != "_\r" {
		t.Errorf("RESP3 MEMORY USAGE of a missing key: got %q, want _", got)
	}
}
