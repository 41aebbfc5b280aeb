package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
)

// streamLimits sets the node limits of streams for one test.
func streamLimits(t *testing.T, bytes, entries int64) {
	t.Helper()
	old := object.CurrentLimits()
	l := old
	l.StreamNodeMaxBytes, l.StreamNodeMaxEntries = bytes, entries
	object.SetLimits(l)
	t.Cleanup(func() { object.SetLimits(old) })
}

// TestStreamRedisReplies replays the scripts recorded from redis-server
// (stream_redis_test.go), with Redis's node limits and with nodes of two
// entries, so that ranges, deletions and trimming cross nodes.
func TestStreamRedisReplies(t *testing.T) {
	for _, entries := range []int64{100, 2} {
		t.Run(fmt.Sprint(entries), func(t *testing.T) {
			streamLimits(t, 4096, entries)
			basic := streamBasicCases
			if entries != 100 {
				// XINFO STREAM counts nodes, and "~" trims whole nodes.
				basic = slices.DeleteFunc(slices.Clone(basic), func(s step) bool {
					return s.args[0] == "xinfo" || slices.Contains(s.args, "~")
				})
			}
			newHarness(t, 3).check(basic)
			newHarness(t, 3).check(streamGroupCases)
			h := newHarness(t, 3)
			h.proto(3)
			h.check(streamRESP3Cases)
		})
	}
}

// TestStreamClock checks what depends on the time: ids of XADD * (never
// going back with the clock), idle times, and the minimum idle time of
// XPENDING, XCLAIM and XAUTOCLAIM.
func TestStreamClock(t *testing.T) {
	h := newHarness(t, 1)
	ms := h.now
	id := func(ms int64, seq int) string { return strBulk(fmt.Sprintf("%d-%d", ms, seq)) }
	h.check([]step{
		{[]string{"xadd", "s", "*", "a", "1"}, id(ms, 0)},
		{[]string{"xadd", "s", "*", "a", "2"}, id(ms, 1)},
	})
	h.now -= 5000 // the clock goes back: ids go on from the last one
	h.check([]step{{[]string{"xadd", "s", "*", "a", "3"}, id(ms, 2)}})
	h.now = ms + 10
	h.check([]step{
		{[]string{"xadd", "s", "*", "a", "4"}, id(ms+10, 0)},
		{[]string{"xgroup", "create", "s", "g", "0"}, "+OK\r\n"},
	})
	h.do("xreadgroup", "group", "g", "alice", "count", "2", "streams", "s", ">")
	h.advance(100 * time.Millisecond)
	h.do("xreadgroup", "group", "g", "bob", "streams", "s", ">")
	h.advance(50 * time.Millisecond)
	pend := func(id string, cons string, idle, count int) string {
		return fmt.Sprintf("*4\r\n%s$%d\r\n%s\r\n:%d\r\n:%d\r\n", strBulk(id), len(cons), cons, idle, count)
	}
	h.check([]step{
		{[]string{"xpending", "s", "g", "-", "+", "10"}, "*4\r\n" +
			pend(fmt.Sprint(ms, "-0"), "alice", 150, 1) + pend(fmt.Sprint(ms, "-1"), "alice", 150, 1) +
			pend(fmt.Sprint(ms, "-2"), "bob", 50, 1) + pend(fmt.Sprint(ms+10, "-0"), "bob", 50, 1)},
		{[]string{"xpending", "s", "g", "idle", "100", "-", "+", "10"}, "*2\r\n" +
			pend(fmt.Sprint(ms, "-0"), "alice", 150, 1) + pend(fmt.Sprint(ms, "-1"), "alice", 150, 1)},
		{[]string{"xinfo", "consumers", "s", "g"}, "*2\r\n*6\r\n$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:2\r\n$4\r\nidle\r\n:150\r\n" +
			"*6\r\n$4\r\nname\r\n$3\r\nbob\r\n$7\r\npending\r\n:2\r\n$4\r\nidle\r\n:50\r\n"},
		// Only alice's entries have been idle for 100 ms.
		{[]string{"xclaim", "s", "g", "carol", "100", fmt.Sprint(ms, "-1"), fmt.Sprint(ms, "-2"), "justid"}, "*1\r\n" + id(ms, 1)},
		{[]string{"xautoclaim", "s", "g", "carol", "100", "0", "justid"}, "*3\r\n$3\r\n0-0\r\n*1\r\n" + id(ms, 0) + "*0\r\n"},
		// JUSTID counts no delivery.
		{[]string{"xpending", "s", "g", "-", "+", "10", "carol"}, "*2\r\n" +
			pend(fmt.Sprint(ms, "-0"), "carol", 0, 1) + pend(fmt.Sprint(ms, "-1"), "carol", 0, 1)},
		// TIME and IDLE set the delivery time; RETRYCOUNT the count.
		{[]string{"xclaim", "s", "g", "dave", "0", fmt.Sprint(ms, "-2"), "idle", "500", "retrycount", "9", "justid"}, "*1\r\n" + id(ms, 2)},
		{[]string{"xpending", "s", "g", "-", "+", "10", "dave"}, "*1\r\n" + pend(fmt.Sprint(ms, "-2"), "dave", 500, 9)},
	})
}

// TestStreamReadGroupHistory checks XREADGROUP with an id against
// redis-server 7.0.15: it gives the consumer's pending entries after that
// id, not from it, and counts a delivery of each, restarting its idle
// time, so that the same id given again does not come back.
func TestStreamReadGroupHistory(t *testing.T) {
	h := newHarness(t, 1)
	entry := func(id string) string { return "*2\r\n" + strBulk(id) + "*2\r\n$1\r\na\r\n$1\r\n1\r\n" }
	read := func(ids ...string) string {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(entry(id))
		}
		return fmt.Sprintf("*1\r\n*2\r\n$1\r\ns\r\n*%d\r\n%s", len(ids), b.String())
	}
	pend := func(id string, idle, count int) string {
		return fmt.Sprintf("*4\r\n%s$1\r\nc\r\n:%d\r\n:%d\r\n", strBulk(id), idle, count)
	}
	h.check([]step{
		{[]string{"xadd", "s", "1-1", "a", "1"}, strBulk("1-1")},
		{[]string{"xadd", "s", "2-1", "a", "1"}, strBulk("2-1")},
		{[]string{"xadd", "s", "3-1", "a", "1"}, strBulk("3-1")},
		{[]string{"xgroup", "create", "s", "g", "0"}, "+OK\r\n"},
		{[]string{"xreadgroup", "group", "g", "c", "count", "3", "streams", "s", ">"}, read("1-1", "2-1", "3-1")},
	})
	h.advance(100 * time.Millisecond)
	h.check([]step{
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", "1-1"}, read("2-1", "3-1")},
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", "3-1"}, read()},
	})
	h.advance(50 * time.Millisecond)
	h.check([]step{
		{[]string{"xpending", "s", "g", "-", "+", "10"}, "*3\r\n" + pend("1-1", 150, 1) + pend("2-1", 50, 2) + pend("3-1", 50, 2)},
		// "1" is 1-0, which 1-1 comes after.
		{[]string{"xreadgroup", "group", "g", "c", "count", "1", "streams", "s", "1"}, read("1-1")},
		{[]string{"xpending", "s", "g", "-", "+", "1"}, "*1\r\n" + pend("1-1", 0, 2)},
	})
}

// TestStreamReadGroupLargestID checks XREADGROUP given the largest id,
// which Redis 7.0.15 reads as ">": new entries, at once and for a client
// that waits.
func TestStreamReadGroupLargestID(t *testing.T) {
	const largest = "18446744073709551615-18446744073709551615"
	h := newHarness(t, 1)
	read := func(id string) string {
		return "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n" + strBulk(id) + "*2\r\n$1\r\na\r\n$1\r\n1\r\n"
	}
	h.check([]step{
		{[]string{"xadd", "s", "1-1", "a", "1"}, strBulk("1-1")},
		{[]string{"xgroup", "create", "s", "g", "0"}, "+OK\r\n"},
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", largest}, read("1-1")},
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", largest}, "*-1\r\n"},
		// The largest id of 18446744073709551615 ms is another id.
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", "18446744073709551615"}, "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n"},
		{[]string{"xpending", "s", "g"}, "*4\r\n:1\r\n$3\r\n1-1\r\n$3\r\n1-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n"},
		{[]string{"xadd", "s", "2-1", "a", "1"}, strBulk("2-1")},
	})
	if got, want := h.serve("s", "xreadgroup", "group", "g", "c", "block", "0", "streams", "s", largest), read("2-1"); got != want {
		t.Errorf("waiting xreadgroup served: got %q, want %q", got, want)
	}
}

// TestStreamReadGroupConsumer checks when XREADGROUP creates its
// consumer, or counts it as seen, against redis-server 7.0.15: on a
// stream it reads history from, or new entries from, and on no other,
// with or without NOACK or BLOCK.
func TestStreamReadGroupConsumer(t *testing.T) {
	h := newHarness(t, 1)
	consumer := func(name string, pending, idle int) string {
		return fmt.Sprintf("*6\r\n$4\r\nname\r\n%s$7\r\npending\r\n:%d\r\n$4\r\nidle\r\n:%d\r\n", strBulk(name), pending, idle)
	}
	h.check([]step{
		{[]string{"xgroup", "create", "s", "g", "$", "mkstream"}, "+OK\r\n"},
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", ">"}, "*-1\r\n"},
		{[]string{"xreadgroup", "group", "g", "c", "noack", "streams", "s", ">"}, "*-1\r\n"},
		{[]string{"xreadgroup", "group", "g", "c", "block", "10", "streams", "s", ">"}, "*-1\r\n"},
		{[]string{"xinfo", "consumers", "s", "g"}, "*0\r\n"},
		{[]string{"xinfo", "groups", "s"}, "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n" +
			"$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:0\r\n"},
		{[]string{"xadd", "t", "1-1", "a", "1"}, strBulk("1-1")},
		{[]string{"xgroup", "create", "t", "g", "$"}, "+OK\r\n"},
		{[]string{"xreadgroup", "group", "g", "c", "streams", "s", "t", ">", ">"}, "*-1\r\n"},
		{[]string{"xinfo", "consumers", "s", "g"}, "*0\r\n"},
		{[]string{"xinfo", "consumers", "t", "g"}, "*0\r\n"},
		// Only the stream that gave entries gets the consumer.
		{[]string{"xadd", "t", "2-1", "a", "1"}, strBulk("2-1")},
		{[]string{"xreadgroup", "group", "g", "c2", "streams", "s", "t", ">", ">"}, "*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{[]string{"xinfo", "consumers", "s", "g"}, "*0\r\n"},
		{[]string{"xinfo", "consumers", "t", "g"}, "*1\r\n" + consumer("c2", 1, 0)},
		// A read of history creates it, even with nothing to give.
		{[]string{"xreadgroup", "group", "g", "c3", "streams", "s", "0"}, "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n"},
		{[]string{"xinfo", "consumers", "s", "g"}, "*1\r\n" + consumer("c3", 0, 0)},
	})
	h.advance(100 * time.Millisecond)
	h.check([]step{
		{[]string{"xreadgroup", "group", "g", "c3", "streams", "s", ">"}, "*-1\r\n"},
		{[]string{"xinfo", "consumers", "s", "g"}, "*1\r\n" + consumer("c3", 0, 100)},
	})
}

// TestStreamInfoArgs checks XINFO's replies to extra or bad arguments
// against redis-server 7.0.15: the key is looked up first, so a missing
// key or one of another type answers whatever STREAM's options are.
func TestStreamInfoArgs(t *testing.T) {
	const (
		noKey   = "-ERR no such key\r\n"
		wrong   = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
		syntax  = "-ERR unknown subcommand or wrong number of arguments for 'stream'. Try XINFO HELP.\r\n"
		notInt  = "-ERR value is not an integer or out of range\r\n"
		entries = "*18\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n" +
			"$17\r\nlast-generated-id\r\n$3\r\n1-1\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n" +
			"$23\r\nrecorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$6\r\ngroups\r\n*0\r\n"
	)
	h := newHarness(t, 1)
	h.do("set", "str", "1")
	h.do("xadd", "s", "1-1", "a", "1")
	for _, c := range []step{
		{[]string{"xinfo", "stream", "nokey"}, noKey},
		{[]string{"xinfo", "stream", "nokey", "a"}, noKey},
		{[]string{"xinfo", "stream", "nokey", "a", "b"}, noKey},
		{[]string{"xinfo", "stream", "nokey", "a", "b", "c", "d"}, noKey},
		{[]string{"xinfo", "stream", "nokey", "full", "count"}, noKey},
		{[]string{"xinfo", "stream", "nokey", "full", "count", "x"}, noKey},
		{[]string{"xinfo", "stream", "nokey", "full", "count", "1", "x"}, noKey},
		{[]string{"xinfo", "stream", "str", "a"}, wrong},
		{[]string{"xinfo", "stream", "str", "a", "b"}, wrong},
		{[]string{"xinfo", "stream", "str", "full", "count", "x"}, wrong},
		{[]string{"xinfo", "stream", "s", "a"}, syntax},
		{[]string{"xinfo", "stream", "s", "a", "b", "c"}, syntax},
		{[]string{"xinfo", "stream", "s", "full", "count"}, syntax},
		{[]string{"xinfo", "stream", "s", "full", "x", "1"}, syntax},
		{[]string{"xinfo", "stream", "s", "full", "count", "1", "x"}, syntax},
		{[]string{"xinfo", "stream", "s", "full", "count", "x"}, notInt},
		{[]string{"xinfo", "stream", "s", "full", "count", "-1"}, entries},
		{[]string{"xinfo", "groups", "nokey", "x"}, "-ERR wrong number of arguments for 'xinfo|groups' command\r\n"},
		{[]string{"xinfo", "consumers", "nokey", "g"}, noKey},
		{[]string{"xinfo", "consumers", "str", "g"}, wrong},
	} {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			if got := h.do(c.args...); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestStreamIDParts checks ids whose parts Redis reads with strtoull,
// against redis-server 7.0.15: leading white space and a sign are taken,
// a "-" negating, while "-" and "+" alone keep their meanings in ranges.
func TestStreamIDParts(t *testing.T) {
	const bad = "-ERR Invalid stream ID specified as stream command argument\r\n"
	h := newHarness(t, 1)
	for i, c := range []struct{ id, want string }{
		{" 1", strBulk("1-0")},
		{"+2", strBulk("2-0")},
		{"\t\n\v\f\r3", strBulk("3-0")},
		{"0000000000000000000000004", strBulk("4-0")},
		{"5- 1", strBulk("5-1")},
		{" +6-  +3", strBulk("6-3")},
		{"1-00", strBulk("1-0")},
		{"7--0", strBulk("7-0")},
		{"7- -1", strBulk("7-18446744073709551615")},
		{"1--9223372036854775809", strBulk("1-9223372036854775807")},
		{"+18446744073709551615-0", strBulk("18446744073709551615-0")},
		{"7--1", bad},
		{"1--9223372036854775808", bad},
		{"-5", bad},
		{"8 ", bad},
		{"+", bad},
		{"-", bad},
		{" ", bad},
		{"++9", bad},
		{"+-9", bad},
		{" -9", bad},
		{"9- *", bad},
		{"18446744073709551616", bad},
	} {
		t.Run(c.id, func(t *testing.T) {
			if got := h.do("xadd", fmt.Sprint("k", i), c.id, "a", "1"); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	entry := func(id string) string { return "*2\r\n" + strBulk(id) + "*2\r\n$1\r\na\r\n$1\r\n1\r\n" }
	for _, id := range []string{"1-0", "5-1", "6-3"} {
		h.do("xadd", "s", id, "a", "1")
	}
	for _, c := range []step{
		{[]string{"xrange", "s", "+1", "+"}, "*3\r\n" + entry("1-0") + entry("5-1") + entry("6-3")},
		{[]string{"xrange", "s", "(+5", "+"}, "*2\r\n" + entry("5-1") + entry("6-3")},
		{[]string{"xrange", "s", "-", "(+6-3"}, "*2\r\n" + entry("1-0") + entry("5-1")},
		{[]string{"xrevrange", "s", "+", " 5"}, "*2\r\n" + entry("6-3") + entry("5-1")},
		{[]string{"xrange", "s", "- ", "+"}, bad},
		{[]string{"xrange", "s", "-", "+ "}, bad},
		{[]string{"xdel", "s", " 1"}, ":1\r\n"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			if got := h.do(c.args...); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestStreamTrimApprox checks trimming with "~": whole nodes only, within
// LIMIT, and the exact form for comparison.
func TestStreamTrimApprox(t *testing.T) {
	streamLimits(t, 4096, 10)
	h := newHarness(t, 1)
	for i := 1; i <= 100; i++ {
		h.do("xadd", "s", fmt.Sprint(i), "f", "v")
	}
	h.check([]step{
		{[]string{"xtrim", "s", "maxlen", "~", "55"}, ":40\r\n"}, // 4 nodes of 10
		{[]string{"xlen", "s"}, ":60\r\n"},
		{[]string{"xtrim", "s", "maxlen", "~", "0", "limit", "25"}, ":20\r\n"}, // two nodes fit in 25
		{[]string{"xtrim", "s", "minid", "~", "75"}, ":10\r\n"},
		{[]string{"xtrim", "s", "minid", "75"}, ":4\r\n"},
		{[]string{"xrange", "s", "-", "+", "count", "1"}, "*1\r\n*2\r\n$4\r\n75-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"},
		{[]string{"xadd", "s", "maxlen", "3", "101", "f", "v"}, "$5\r\n101-0\r\n"},
		{[]string{"xlen", "s"}, ":3\r\n"},
		{[]string{"xtrim", "s", "maxlen", "0"}, ":3\r\n"},
		{[]string{"exists", "s"}, ":1\r\n"}, // an empty stream stays
	})
}

// TestStreamMixedFields checks entries whose fields differ from their
// node's first entry, in both directions and across nodes.
func TestStreamMixedFields(t *testing.T) {
	streamLimits(t, 64, 3)
	h := newHarness(t, 1)
	var want []string
	for i := 1; i <= 20; i++ {
		args := []string{"xadd", "s", fmt.Sprint(i)}
		fields := i%4 + 1
		var fv []string
		for j := range fields {
			f, v := fmt.Sprint("f", j), strings.Repeat("v", i)
			if i%3 == 0 {
				f = fmt.Sprint("g", j)
			}
			args = append(args, f, v)
			fv = append(fv, strBulk(f), strBulk(v))
		}
		h.do(args...)
		want = append(want, fmt.Sprintf("*2\r\n%s*%d\r\n%s", strBulk(fmt.Sprint(i, "-0")), len(fv), strings.Join(fv, "")))
	}
	h.do("xdel", "s", "5", "6")
	want = append(want[:4], want[6:]...)
	fwd := fmt.Sprintf("*%d\r\n%s", len(want), strings.Join(want, ""))
	if got := h.do("xrange", "s", "-", "+"); got != fwd {
		t.Fatalf("xrange: got %q, want %q", got, fwd)
	}
	var rev []string
	for i := len(want) - 1; i >= 0; i-- {
		rev = append(rev, want[i])
	}
	if got, want := h.do("xrevrange", "s", "+", "-"), fmt.Sprintf("*%d\r\n%s", len(rev), strings.Join(rev, "")); got != want {
		t.Fatalf("xrevrange: got %q, want %q", got, want)
	}
	if got := h.do("xrevrange", "s", "10", "3", "count", "3"); got != "*3\r\n"+rev[len(rev)-8]+rev[len(rev)-7]+rev[len(rev)-6] {
		t.Fatalf("xrevrange 10 3: got %q", got)
	}
}

// TestStreamNoPanic runs every stream command with random arguments,
// options in random places and extreme ids and numbers included, with
// nodes of Redis's size and of two entries: each must reply, never panic.
func TestStreamNoPanic(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 29))
	words := []string{"s", "t", "str", "g", "h", "c", "d", "0", "1", "-1", "1-1", "2-0", "*", "5-*", "$", ">", "-", "+", "(1", "(0-0",
		"18446744073709551615-18446744073709551615", "18446744073709551615", "9223372036854775807", "-9223372036854775808",
		"maxlen", "minid", "~", "=", "limit", "nomkstream", "count", "block", "streams", "group", "noack", "create", "setid",
		"destroy", "createconsumer", "delconsumer", "mkstream", "entriesread", "idle", "time", "retrycount", "force", "justid",
		"lastid", "full", "stream", "groups", "consumers", "entriesadded", "maxdeletedid", "f", "v", ""}
	for _, entries := range []int64{100, 2} {
		streamLimits(t, 4096, entries)
		h := newHarness(t, 3)
		h.do("set", "str", "v")
		h.noPanic(r, seed, streamCommands, words, 20000, 9, func() {
			h.do("xadd", "s", "*", "f", "v")
			h.do("xgroup", "create", "s", "g", "0")
			h.do("xreadgroup", "group", "g", "c", "count", "1", "streams", "s", ">")
		})
	}
}

func BenchmarkStreamCommands(b *testing.B) {
	h := newHarness(&testing.T{}, 1)
	b.Run("xadd", func(b *testing.B) {
		for range b.N {
			h.do("xadd", "s", "*", "name", "user:123456789012", "action", "click", "page", "home", "ts", "123456789012", "n", "1")
		}
	})
	h.do("xgroup", "create", "s", "g", "0")
	b.Run("xreadgroup", func(b *testing.B) {
		for range b.N {
			h.do("xreadgroup", "group", "g", "c", "count", "1", "streams", "s", ">")
		}
	})
}
