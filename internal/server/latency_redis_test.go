package server

import (
	"strconv"
	"strings"
	"testing"
)

// latencyRedisCases are replies recorded from redis-server 7.0.15, run in
// order on one connection.
var latencyRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"LATENCY", "HELP"}, "*17\r\n+LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+DOCTOR\r\n+    Return a human readable latency analysis report.\r\n+GRAPH <event>\r\n+    Return an ASCII latency graph for the <event> class.\r\n+HISTORY <event>\r\n+    Return time-latency samples for the <event> class.\r\n+LATEST\r\n+    Return the latest latency samples for all events.\r\n+RESET [<event> ...]\r\n+    Reset latency data of one or more <event> classes.\r\n+    (default: reset all data for all event classes)\r\n+HISTOGRAM [COMMAND ...]\r\n+    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.\r\n+    If no commands are specified then all histograms are replied.\r\n+HELP\r\n+    Prints this help.\r\n"},
	{[]string{"LATENCY"}, "-ERR wrong number of arguments for 'latency' command\r\n"},
	{[]string{"LATENCY", "LATEST", "x"}, "-ERR wrong number of arguments for 'latency|latest' command\r\n"},
	{[]string{"LATENCY", "HELP", "x"}, "-ERR wrong number of arguments for 'latency|help' command\r\n"},
	{[]string{"LATENCY", "DOCTOR", "x"}, "-ERR wrong number of arguments for 'latency|doctor' command\r\n"},
	{[]string{"LATENCY", "RESET"}, ":0\r\n"},
	{[]string{"LATENCY", "LATEST"}, "*0\r\n"},
	{[]string{"LATENCY", "HISTORY", "nosuch"}, "*0\r\n"},
	{[]string{"LATENCY", "GRAPH", "nosuch"}, "-ERR No samples available for event 'nosuch'\r\n"},
	{[]string{"LATENCY", "RESET", "nosuch", "other"}, ":0\r\n"},
	{[]string{"LATENCY", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try LATENCY HELP.\r\n"},
	{[]string{"LATENCY", "HISTOGRAM", "nosuch"}, "*0\r\n"},
	{[]string{"CONFIG", "SET", "latency-tracking", "maybe"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking') - argument must be 'yes' or 'no'\r\n"},
	{[]string{"CONFIG", "SET", "latency-monitor-threshold", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument must be between 0 and 9223372036854775807 inclusive\r\n"},
	{[]string{"CONFIG", "SET", "latency-monitor-threshold", "x"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument couldn't be parsed into an integer\r\n"},
	{[]string{"CONFIG", "SET", "latency-monitor-threshold", "99999999999999999999"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument couldn't be parsed into an integer\r\n"},
	{[]string{"CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters\r\n"},
	{[]string{"CONFIG", "SET", "latency-tracking-info-percentiles", "101"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]\r\n"},
	{[]string{"CONFIG", "SET", "latency-tracking-info-percentiles", "-1"}, "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]\r\n"},
	// Redis lists these three in its dictionary's order; ours is fixed.
	{[]string{"CONFIG", "GET", "latency*"}, "*6\r\n$25\r\nlatency-monitor-threshold\r\n$1\r\n0\r\n$16\r\nlatency-tracking\r\n$3\r\nyes\r\n$33\r\nlatency-tracking-info-percentiles\r\n$10\r\n50 99 99.9\r\n"},
	{[]string{"LATENCY", "DOCTOR"}, "$288\r\nI'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n\r\n"},
	// The errors of the commands before count in INFO errorstats.
	{[]string{"CONFIG", "RESETSTAT"}, "+OK\r\n"},
	{[]string{"SET", "s", "v"}, "+OK\r\n"},
	{[]string{"INCR", "s"}, "-ERR value is not an integer or out of range\r\n"},
	{[]string{"LPUSH", "s", "x"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"NOSUCH"}, "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"},
	{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"INCR", "s"}, "+QUEUED\r\n"},
	{[]string{"SET", "t", "1"}, "+QUEUED\r\n"},
	{[]string{"LPUSH", "s", "y"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "*3\r\n-ERR value is not an integer or out of range\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"EVAL", "return {err=\"MYERR bad\"}", "0"}, "-MYERR bad\r\n"},
	{[]string{"EVAL", "return redis.error_reply(\"x\")", "0"}, "-ERR x\r\n"},
	{[]string{"INFO", "errorstats"}, "$91\r\n# Errorstats\r\nerrorstat_ERR:count=5\r\nerrorstat_MYERR:count=1\r\nerrorstat_WRONGTYPE:count=2\r\n\r\n"},
}

func TestLatencyRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range latencyRedisCases {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
	info := infoFields(c.call("INFO", "stats").(string))
	if info["total_error_replies"] != "8" {
		t.Errorf("total_error_replies: got %q, want 8 (as redis-server 7.0.15)", info["total_error_replies"])
	}
	cmd := infoFields(c.call("INFO", "commandstats").(string))
	for name, want := range map[string]map[string]int64{
		"incr":  {"calls": 2, "failed_calls": 2, "rejected_calls": 0},
		"lpush": {"calls": 2, "failed_calls": 2},
		"eval":  {"calls": 2, "failed_calls": 2},
		"get":   {"calls": 0, "rejected_calls": 1},
		"exec":  {"calls": 1, "failed_calls": 0},
	} {
		got := subFields(cmd["cmdstat_"+name])
		for k, v := range want {
			if got[k] != v {
				t.Errorf("cmdstat_%s %s: got %d, want %d", name, k, got[k], v)
			}
		}
	}
	c.raw("CONFIG", "RESETSTAT")
	if got := c.raw("INFO", "errorstats"); got != "$14\r\n# Errorstats\r\n\r\n" {
		t.Errorf("errorstats after CONFIG RESETSTAT: got %q", got)
	}
}

// slowEval is a script that runs for at least ms milliseconds by Redis's
// clock: a command that is slow on purpose.
func slowEval(ms int) []string {
	return []string{"EVAL", "local t=redis.call('time'); local s=t[1]*1000000+t[2]; " +
		"while true do local n=redis.call('time'); if n[1]*1000000+n[2]-s >= " + strconv.Itoa(ms*1000) + " then break end end", "0"}
}

func TestLatencyEvents(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.raw(slowEval(5)...)
	if got := c.raw("LATENCY", "LATEST"); got != "*0\r\n" {
		t.Fatalf("an event with the monitor off: %q", got)
	}
	c.raw("CONFIG", "SET", "latency-monitor-threshold", "3")
	c.raw(slowEval(5)...)
	c.raw("PING") // fast, under the threshold
	latest := c.call("LATENCY", "LATEST").([]any)
	if len(latest) != 1 {
		t.Fatalf("latest: got %v, want one event", latest)
	}
	ev := latest[0].([]any)
	ms, _ := strconv.Atoi(ev[2].(string))
	if ev[0] != "command" || ms < 5 || ev[3] != ev[2] {
		t.Fatalf("latest: got %v, want command taking 5 ms or more", ev)
	}
	hist := c.call("LATENCY", "HISTORY", "command").([]any)
	if len(hist) != 1 || hist[0].([]any)[1] != ev[2] {
		t.Fatalf("history: got %v", hist)
	}
	graph := c.call("LATENCY", "GRAPH", "command").(string)
	if !strings.HasPrefix(graph, "command - high "+ev[2].(string)+" ms, low "+ev[2].(string)+" ms") {
		t.Fatalf("graph: %q", graph)
	}
	doctor := c.call("LATENCY", "DOCTOR").(string)
	if !strings.Contains(doctor, "1. command: 1 latency spikes") {
		t.Fatalf("doctor: %q", doctor)
	}
	if got := c.raw("LATENCY", "RESET", "COMMAND"); got != ":1\r\n" {
		t.Fatalf("reset: got %q, want :1", got)
	}
	if got := c.raw("LATENCY", "LATEST"); got != "*0\r\n" {
		t.Fatalf("latest after reset: %q", got)
	}
}

func TestLatencyHistogramAndStats(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for range 10 {
		c.raw("SET", "k", "v")
		c.raw("GET", "k")
	}
	c.raw(slowEval(3)...)
	h := c.call("LATENCY", "HISTOGRAM", "set", "GET", "nosuch", "eval").([]any)
	if len(h) != 6 || h[0] != "set" || h[2] != "get" || h[4] != "eval" {
		t.Fatalf("histogram: got %v, want set, get and eval", h)
	}
	for i := 0; i < len(h); i += 2 {
		m := h[i+1].([]any)
		if len(m) != 4 || m[0] != "calls" || m[2] != "histogram_usec" {
			t.Fatalf("%s: got %v", h[i], m)
		}
		calls, _ := strconv.ParseInt(m[1].(string), 10, 64)
		want := int64(10)
		if h[i] == "eval" {
			want = 1
		}
		if calls != want {
			t.Errorf("%s calls: got %d, want %d", h[i], calls, want)
		}
		// Bounds grow, counts grow, and the last counts every call.
		pts := m[3].([]any)
		var prevUS, prevN int64 = -1, 0
		for j := 0; j < len(pts); j += 2 {
			us, _ := strconv.ParseInt(pts[j].(string), 10, 64)
			n, _ := strconv.ParseInt(pts[j+1].(string), 10, 64)
			if us <= prevUS || n <= prevN {
				t.Fatalf("%s: histogram %v does not grow", h[i], pts)
			}
			prevUS, prevN = us, n
		}
		if prevN != calls || h[i] == "eval" && prevUS < 3000 {
			t.Errorf("%s: histogram %v ends at %d µs with %d calls, want all %d", h[i], pts, prevUS, prevN, calls)
		}
	}
	all := c.call("LATENCY", "HISTOGRAM").([]any)
	if len(all) < 6 {
		t.Errorf("histogram of every command: got %v", all)
	}

	c.raw("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.99 100")
	stats := infoFields(c.call("INFO", "latencystats").(string))
	for _, name := range []string{"set", "get", "eval", "latency"} {
		v := stats["latency_percentiles_usec_"+name]
		parts := strings.Split(v, ",")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "p50=") || !strings.HasPrefix(parts[1], "p99.99=") || !strings.HasPrefix(parts[2], "p100=") {
			t.Fatalf("%s: got %q", name, v)
		}
		var prev float64
		for _, p := range parts {
			_, num, _ := strings.Cut(p, "=")
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f < prev || f <= 0 || !strings.Contains(num, ".") || len(num)-strings.Index(num, ".") != 4 {
				t.Fatalf("%s: percentile %q of %q", name, p, v)
			}
			prev = f
		}
	}
	if all := c.call("INFO").(string); strings.Contains(all, "# Latencystats") || !strings.Contains(all, "# Errorstats") {
		t.Errorf("plain INFO must show errorstats and not latencystats, as Redis")
	}
	if all := c.call("INFO", "all").(string); !strings.Contains(all, "# Latencystats") {
		t.Errorf("INFO all lacks latencystats")
	}
	c.raw("CONFIG", "SET", "latency-tracking", "no")
	c.raw("CONFIG", "RESETSTAT")
	c.raw("GET", "k")
	if got := c.raw("INFO", "latencystats"); got != "$16\r\n# Latencystats\r\n\r\n" {
		t.Errorf("latencystats with tracking off: got %q", got)
	}
	if got := c.raw("LATENCY", "HISTOGRAM"); got != "*0\r\n" {
		t.Errorf("histogram after RESETSTAT with tracking off: got %q", got)
	}
}
