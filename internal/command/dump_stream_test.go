package command

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
)

// radixNodes matches the radix-tree-nodes of an XINFO STREAM reply: Redis
// counts the nodes of its radix tree, which this server does not have.
var radixNodes = regexp.MustCompile(`radix-tree-nodes\r\n:\d+\r\n`)

// radixKeys matches the radix-tree-keys and radix-tree-nodes of an XINFO
// STREAM reply.
var radixKeys = regexp.MustCompile(`radix-tree-(keys|nodes)\r\n:\d+\r\n`)

// xinfoFull returns a stream's XINFO STREAM FULL, its radix-tree-nodes
// left out.
func xinfoFull(h *harness, key string) string {
	h.t.Helper()
	return radixNodes.ReplaceAllString(h.do("xinfo", "stream", key, "full"), "radix-tree-nodes\r\n:?\r\n")
}

// withStreamNodeMaxEntries sets stream-node-max-entries to n until the
// test ends.
func withStreamNodeMaxEntries(t *testing.T, n int64) {
	old := object.CurrentLimits()
	t.Cleanup(func() { object.SetLimits(old) })
	l := old
	l.StreamNodeMaxEntries = n
	object.SetLimits(l)
}

// TestRestoreRedisStreams restores the streams redis-server 7.0 dumped
// and compares their XINFO STREAM FULL with Redis's own (recorded beside
// the payloads, with the same delivery and seen times, which the payload
// carries); then dumps each and restores the dump under another key, which
// must read the same.
func TestRestoreRedisStreams(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int64 // stream-node-max-entries when Redis made it
	}{
		{"x-del", 100}, {"x-fields", 100}, {"x-nodes", 2}, {"x-big", 100}, {"x-empty", 100}, {"x-groups", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withStreamNodeMaxEntries(t, tt.maxEntries)
			h := newHarness(t, 3)
			b, err := os.ReadFile("../rdb/testdata/redis-7.0/" + tt.name + ".xinfo")
			if err != nil {
				t.Fatal(err)
			}
			want := radixNodes.ReplaceAllString(string(b), "radix-tree-nodes\r\n:?\r\n")
			if got := h.do("restore", tt.name, "0", redisPayload(t, tt.name)); got != "+OK\r\n" {
				t.Fatalf("RESTORE: got %q", got)
			}
			if got := xinfoFull(h, tt.name); got != want {
				t.Fatalf("XINFO STREAM FULL:\ngot  %q\nwant %q", got, want)
			}
			// The copy's name is as long as the original's, so that
			// replies naming it compare once it is replaced.
			p := bulk(t, h.do("dump", tt.name))
			cp := "y" + tt.name[1:]
			if got := h.do("restore", cp, "0", p); got != "+OK\r\n" {
				t.Fatalf("RESTORE of our DUMP: got %q", got)
			}
			if got := xinfoFull(h, cp); got != want {
				t.Fatalf("XINFO STREAM FULL of the copy:\ngot  %q\nwant %q", got, want)
			}
			for _, read := range [][]string{{"xrange", "", "-", "+"}, {"xpending", "", "g1", "-", "+", "100"}, {"xinfo", "groups", ""}, {"type", ""}} {
				args := func(key string) []string {
					a := append([]string(nil), read...)
					for i := range a {
						if a[i] == "" {
							a[i] = key
						}
					}
					return a
				}
				got := strings.ReplaceAll(h.do(args(cp)...), cp, tt.name)
				if want := h.do(args(tt.name)...); got != want {
					t.Errorf("%q: got %.200q, want %.200q", read, got, want)
				}
			}
		})
	}
}

// TestDumpRestoreStream dumps a stream made by commands (deleted entries,
// groups, consumers, claims, acknowledgements) and restores it: the copy
// answers as the original does and dumps to the same payload.
func TestDumpRestoreStream(t *testing.T) {
	h := newHarness(t, 1)
	setup := [][]string{
		{"xadd", "s", "1-1", "a", "1", "b", "two"},
		{"xadd", "s", "1-2", "a", "-7", "b", "three"},
		{"xadd", "s", "2-0", "other", strings.Repeat("v", 5000)},
		{"xadd", "s", "3-0", "a", "9223372036854775807", "b", ""},
		{"xadd", "s", "4-0", "a", "x"},
		{"xgroup", "create", "s", "g1", "0"},
		{"xgroup", "create", "s", "123", "$"},
		{"xgroup", "createconsumer", "s", "g1", "idle"},
		{"xreadgroup", "group", "g1", "c1", "count", "2", "streams", "s", ">"},
		{"xreadgroup", "group", "g1", "c2", "streams", "s", ">"},
		{"xack", "s", "g1", "1-2"},
		{"xclaim", "s", "g1", "c1", "0", "3-0"},
		{"xdel", "s", "2-0", "4-0"},
	}
	for _, s := range setup {
		if got := h.do(s...); strings.HasPrefix(got, "-") {
			t.Fatalf("%.40q: %s", s, got)
		}
	}
	h.advance(1500)
	p := bulk(t, h.do("dump", "s"))
	if got := h.do("restore", "t", "0", p); got != "+OK\r\n" {
		t.Fatalf("RESTORE: got %q", got)
	}
	if got := bulk(t, h.do("dump", "t")); got != p {
		t.Errorf("DUMP of the copy: got %x, want %x", got, p)
	}
	for _, read := range [][]string{
		{"xinfo", "stream", "", "full"}, {"xrange", "", "-", "+"}, {"xpending", "", "g1"},
		{"xpending", "", "g1", "-", "+", "10"}, {"xinfo", "groups", ""}, {"xinfo", "consumers", "", "g1"}, {"xlen", ""},
	} {
		args := func(key string) []string {
			a := append([]string(nil), read...)
			for i := range a {
				if a[i] == "" {
					a[i] = key
				}
			}
			return a
		}
		// The copy's entries are in nodes of their own: XDEL left
		// the original's as they were.
		got, want := h.do(args("t")...), h.do(args("s")...)
		got, want = radixKeys.ReplaceAllString(got, ""), radixKeys.ReplaceAllString(want, "")
		if got != want {
			t.Errorf("%q: got %.300q, want %.300q", read, got, want)
		}
	}
	// The copy takes new entries and reads as the original does.
	for _, k := range []string{"s", "t"} {
		if got := h.do("xadd", k, "*", "f", "v"); !strings.HasPrefix(got, "$") {
			t.Fatalf("XADD %s: %q", k, got)
		}
	}
	got := strings.Replace(h.do("xreadgroup", "group", "g1", "c3", "streams", "t", ">"), "$1\r\nt\r\n", "$1\r\ns\r\n", 1)
	if want := h.do("xreadgroup", "group", "g1", "c3", "streams", "s", ">"); got != want {
		t.Errorf("XREADGROUP: got %q, want %q", got, want)
	}
}
