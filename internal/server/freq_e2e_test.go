package server

import (
	"strconv"
	"testing"

	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// TestObjectFreqWithoutMaxmemory checks that an LFU policy counts accesses
// without a memory limit, as in Redis (redis-cli --hotkeys needs it), with
// redis-server 7.0.15's replies.
func TestObjectFreqWithoutMaxmemory(t *testing.T) {
	ts := start(t, func(c *Config) { c.MaxMemoryPolicy = keyspace.AllKeysLFU })
	c := ts.dial(t)
	c.raw("SET", "k", "v")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"OBJECT", "FREQ", "k"}, ":5\r\n"},
		{[]string{"OBJECT", "FREQ", "k"}, ":5\r\n"}, // reading it is no access
		{[]string{"OBJECT", "FREQ", "missing"}, "$-1\r\n"},
		{[]string{"OBJECT", "IDLETIME", "k"}, "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"},
	} {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
	for range 300 {
		c.raw("GET", "k")
	}
	if f, _ := strconv.Atoi(c.call("OBJECT", "FREQ", "k").(string)); f <= 5 {
		t.Errorf("OBJECT FREQ after 300 GETs: got %d, want more than 5", f)
	}
	if got := c.raw("SET", "big", "v"); got != "+OK\r\n" {
		t.Errorf("a write with no limit: got %q", got)
	}

	plain := start(t, nil).dial(t)
	plain.raw("SET", "k", "v")
	if got := plain.raw("OBJECT", "FREQ", "k"); got != "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n" {
		t.Errorf("OBJECT FREQ without LFU: got %q", got)
	}
}
