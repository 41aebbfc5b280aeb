package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// scrape fetches /metrics and returns every sample by its series, as
// printed: `name{label="value",...}`.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sum adds the samples of every series whose name is name, whatever their
// labels.
func sum(m map[string]float64, name string) float64 {
	var s float64
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			s += v
		}
	}
	return s
}

// reply reads one RESP2 reply: a string for simple strings, errors (with
// their '-'), integers and bulk strings, nil for a null, []any for arrays.
func reply(rd *bufio.Reader) (any, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return line, nil
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = reply(rd); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %q", line)
}

// call sends one RESP command and returns its reply.
func (c *client) call(args ...string) any {
	c.t.Helper()
	c.send(respCmd(args...))
	r, err := reply(c.rd)
	if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	return r
}

// infoFields parses INFO's text into its fields.
func infoFields(info string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(info, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
			out[k] = v
		}
	}
	return out
}

// subFields parses "a=1,b=2".
func subFields(s string) map[string]int64 {
	out := map[string]int64{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseFloat(v, 64)
		out[k] = int64(n)
	}
	return out
}

// TestMetricsMove scrapes /metrics before and after known traffic over both
// protocols and checks that every series moved by what the traffic did.
func TestMetricsMove(t *testing.T) {
	ts := start(t, nil)
	hs := httptest.NewServer(ts.MetricsHandler())
	defer hs.Close()
	c := ts.dial(t)
	if got := c.call("PING"); got != "PONG" {
		t.Fatalf("PING: got %v", got)
	}
	before := scrape(t, hs.URL)

	for i := range 20 {
		c.call("SET", fmt.Sprint("m", i), "v")
	}
	for i := range 5 {
		c.call("SET", fmt.Sprint("e", i), "v", "EX", "100")
	}
	for i := range 7 {
		c.call("GET", fmt.Sprint("m", i))
	}
	for i := range 3 {
		c.call("GET", fmt.Sprint("nosuch", i))
	}
	if got := c.call("GET"); got != "-ERR wrong number of arguments for 'get' command" {
		t.Fatalf("GET without key: got %v", got)
	}
	if got := c.call("SET", "bad", "v", "EX", "x"); got != "-ERR value is not an integer or out of range" {
		t.Fatalf("SET EX x: got %v", got)
	}
	c.call("SET", "gone", "v", "PX", "1")
	time.Sleep(20 * time.Millisecond)
	if got := c.call("GET", "gone"); got != nil {
		t.Fatalf("GET of an expired key: got %v", got)
	}
	c.call("MSET", "a", "1", "b", "2", "c", "3") // across shards: run while holding them
	c.call("DEL", "a", "b", "c")
	lc := ts.dial(t)
	lc.send("SET l1 v\nGET l1\nDELETE l1\nLIST\n")
	for range 4 {
		lc.line()
	}
	after := scrape(t, hs.URL)

	tests := []struct {
		series string
		delta  float64
	}{
		{`datacluster_commands_total{command="set"}`, 20 + 5 + 1 + 1 + 1},
		{`datacluster_command_duration_seconds_count{command="set"}`, 28},
		{`datacluster_command_duration_seconds_bucket{command="set",le="+Inf"}`, 28},
		{`datacluster_commands_failed_total{command="set"}`, 1},
		{`datacluster_commands_total{command="get"}`, 7 + 3 + 1 + 1},
		{`datacluster_commands_rejected_total{command="get"}`, 1},
		{`datacluster_commands_total{command="mset"}`, 1},
		{`datacluster_commands_total{command="del"}`, 1},
		{`datacluster_commands_total{command="delete"}`, 1},
		{`datacluster_commands_total{command="list"}`, 1},
		{`datacluster_commands_total{command="ping"}`, 0},
		{`datacluster_keys`, 20 + 5},
		{`datacluster_expires`, 5},
		{`datacluster_expired_keys_total`, 1},
		{`datacluster_evicted_keys_total`, 0},
		{`datacluster_keyspace_hits_total`, 7 + 1},
		{`datacluster_keyspace_misses_total`, 3 + 1},
		{`datacluster_busy_total`, 0},
		{`datacluster_shard_queue_depth`, 0},
		{`datacluster_connected_clients`, 1},
		{`datacluster_connections_received_total`, 1},
	}
	for _, tt := range tests {
		if got := sum(after, tt.series) - sum(before, tt.series); got != tt.delta {
			t.Errorf("%s moved by %v, want %v", tt.series, got, tt.delta)
		}
	}
	if sum(after, "datacluster_command_duration_seconds_sum") <= sum(before, "datacluster_command_duration_seconds_sum") {
		t.Error("the duration sums did not grow")
	}
	for _, s := range []string{"go_goroutines", "process_cpu_seconds_total", `datacluster_busy_total{stage="router"}`,
		`datacluster_busy_total{stage="shard"}`, `datacluster_keys{shard="2"}`} {
		if _, ok := after[s]; !ok {
			t.Errorf("no series %s", s)
		}
	}
}

// TestMetricsBusy checks that every BUSY a client gets is counted once, by
// stage, by shard and as a rejected call of its command.
func TestMetricsBusy(t *testing.T) {
	ts := start(t, func(c *Config) {
		c.Router.ShardQueue = 2
		c.Router.RouterQueue = 4
	})
	hs := httptest.NewServer(ts.MetricsHandler())
	defer hs.Close()
	before := scrape(t, hs.URL)
	c := ts.dial(t)
	const n = 2000
	var b strings.Builder
	for i := range n {
		b.WriteString(respCmd("SET", fmt.Sprint("b", i), "v"))
	}
	c.send(b.String())
	busy := 0
	for range n {
		r, err := reply(c.rd)
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := r.(string); strings.HasPrefix(s, "-BUSY") {
			busy++
		}
	}
	if busy == 0 {
		t.Fatal("no BUSY in a burst of 2000 against queues of 2 and 4")
	}
	after := scrape(t, hs.URL)
	d := func(s string) float64 { return sum(after, s) - sum(before, s) }
	if got := d("datacluster_busy_total"); got != float64(busy) {
		t.Errorf("busy_total moved by %v, want %d", got, busy)
	}
	if got, want := d("datacluster_shard_busy_total"), d(`datacluster_busy_total{stage="shard"}`); got != want {
		t.Errorf("shard_busy_total moved by %v, busy_total{stage=shard} by %v", got, want)
	}
	if got := d(`datacluster_commands_rejected_total{command="set"}`); got != float64(busy) {
		t.Errorf("rejected sets: got %v, want %d", got, busy)
	}
	if got := d(`datacluster_commands_total{command="set"}`); got != float64(n-busy) {
		t.Errorf("sets run: got %v, want %d", got, n-busy)
	}
	info := infoFields(c.call("INFO", "shards", "stats").(string))
	var shardBusy int64
	for i := range 3 {
		shardBusy += subFields(info[fmt.Sprint("shard", i)])["busy"]
	}
	if want, _ := strconv.ParseInt(info["busy_shard"], 10, 64); shardBusy != want {
		t.Errorf("INFO: shards' busy add up to %d, busy_shard is %d", shardBusy, want)
	}
}

// TestInfoCrossCheck reads INFO after known traffic and checks it against
// DBSIZE and against itself.
func TestInfoCrossCheck(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	for i := range 40 {
		rc.Set(ctx, fmt.Sprint("k", i), "v", 0)
	}
	for i := range 10 {
		rc.Set(ctx, fmt.Sprint("t", i), "v", 100*time.Second)
	}
	for i := range 15 {
		rc.Get(ctx, fmt.Sprint("k", i))
	}
	rc.Do(ctx, "GET")
	rc.Do(ctx, "SET", "x", "v", "PX", "-5")
	dbsize, err := rc.DBSize(ctx).Result()
	if err != nil || dbsize != 50 {
		t.Fatalf("DBSIZE: %d %v", dbsize, err)
	}

	// avg_ttl is sampled by the shards' expiry cycles, every 100ms.
	var info map[string]string
	for i := 0; ; i++ {
		text, err := rc.Info(ctx, "everything").Result()
		if err != nil {
			t.Fatal(err)
		}
		info = infoFields(text)
		if subFields(info["db0"])["avg_ttl"] > 0 {
			break
		}
		if i == 500 {
			t.Fatalf("avg_ttl stays 0: %q", info["db0"])
		}
		time.Sleep(10 * time.Millisecond)
	}
	db0 := subFields(info["db0"])
	if db0["keys"] != dbsize || db0["expires"] != 10 {
		t.Errorf("db0: %q, want keys=%d,expires=10", info["db0"], dbsize)
	}
	if ttl := db0["avg_ttl"]; ttl <= 0 || ttl > 100000 {
		t.Errorf("avg_ttl %d: want within (0, 100000] ms", ttl)
	}
	var shardKeys, shardExpires int64
	for i := range 3 {
		f := subFields(info[fmt.Sprint("shard", i)])
		shardKeys += f["keys"]
		shardExpires += f["expires"]
		if _, ok := f["busy"]; !ok {
			t.Errorf("shard%d: no busy count in %q", i, info[fmt.Sprint("shard", i)])
		}
	}
	if shardKeys != dbsize || shardExpires != 10 {
		t.Errorf("shards hold %d keys, %d with expiry; want %d, 10", shardKeys, shardExpires, dbsize)
	}
	tests := []struct {
		cmd                             string
		calls, usecPositive, rej, fails int64
	}{
		{"set", 51, 1, 0, 1}, // PX -5 fails
		{"get", 15, 1, 1, 0},
		{"dbsize", 1, 1, 0, 0},
	}
	for _, tt := range tests {
		f := subFields(info["cmdstat_"+tt.cmd])
		if f["calls"] != tt.calls || f["rejected_calls"] != tt.rej || f["failed_calls"] != tt.fails {
			t.Errorf("cmdstat_%s: %q, want calls=%d rejected_calls=%d failed_calls=%d",
				tt.cmd, info["cmdstat_"+tt.cmd], tt.calls, tt.rej, tt.fails)
		}
		if !strings.Contains(info["cmdstat_"+tt.cmd], ",usec_per_call=") {
			t.Errorf("cmdstat_%s: %q lacks usec_per_call", tt.cmd, info["cmdstat_"+tt.cmd])
		}
		want := fmt.Sprintf(",usec_per_call=%.2f,", float32(f["usec"])/float32(f["calls"]))
		if !strings.Contains(info["cmdstat_"+tt.cmd], want) {
			t.Errorf("cmdstat_%s: %q, want usec_per_call from usec and calls (%s)", tt.cmd, info["cmdstat_"+tt.cmd], want)
		}
	}
	if hits, _ := strconv.Atoi(info["keyspace_hits"]); hits != 15 {
		t.Errorf("keyspace_hits %d, want 15", hits)
	}
	// The default sections leave commandstats out, as Redis does.
	if def, _ := rc.Info(ctx).Result(); strings.Contains(def, "cmdstat_") || !strings.Contains(def, "# Keyspace") {
		t.Errorf("INFO without arguments:\n%s", def)
	}
	// CONFIG RESETSTAT starts INFO's counts again; the metrics go on.
	hs := httptest.NewServer(ts.MetricsHandler())
	defer hs.Close()
	if err := rc.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	text, _ := rc.Info(ctx, "commandstats").Result()
	if strings.Contains(text, "cmdstat_set") || !strings.Contains(text, "cmdstat_config:calls=1,") {
		t.Errorf("INFO commandstats after CONFIG RESETSTAT:\n%s", text)
	}
	if got := scrape(t, hs.URL)[`datacluster_commands_total{command="set"}`]; got != 51 {
		t.Errorf("commands_total{set} after CONFIG RESETSTAT: got %v, want 51", got)
	}
}

// TestSlowlog runs commands with every command logged and reads them back.
func TestSlowlog(t *testing.T) {
	ts := start(t, func(c *Config) { c.SlowlogSlowerThan = 0 })
	ctx := context.Background()
	admin := newClient(t, ts, nil)
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "SLOWLOG", "RESET").Err(); err != nil {
		t.Fatal(err)
	}
	c := ts.dial(t)
	addr := c.nc.LocalAddr().String()
	long := strings.Repeat("x", 300)
	for _, args := range [][]string{
		{"CLIENT", "SETNAME", "slowpoke"},
		{"SET", "k", "v"},
		{"GET", "k"},
		{"set", "k", long},
		{"AUTH", "user", "pw"},
		{"MULTI"}, {"SET", "a", "1"}, {"INCR", "a"}, {"EXEC"},
	} {
		c.call(args...)
	}
	logs, err := admin.SlowLogGet(ctx, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		args       []string
		addr, name string
	}{
		{[]string{"INCR", "a"}, addr, "slowpoke"}, // EXEC itself is not logged
		{[]string{"SET", "a", "1"}, addr, "slowpoke"},
		{[]string{"MULTI"}, addr, "slowpoke"},
		{[]string{"AUTH", "(redacted)", "(redacted)"}, addr, "slowpoke"},
		{[]string{"set", "k", long[:128] + "... (172 more bytes)"}, addr, "slowpoke"},
		{[]string{"GET", "k"}, addr, "slowpoke"},
		{[]string{"SET", "k", "v"}, addr, "slowpoke"},
		{[]string{"CLIENT", "SETNAME", "slowpoke"}, addr, "slowpoke"},
		{[]string{"SLOWLOG", "RESET"}, "", ""},
	}
	if len(logs) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(logs), len(want), logs)
	}
	for i, w := range want {
		e := logs[i]
		if strings.Join(e.Args, " ") != strings.Join(w.args, " ") || w.addr != "" && e.ClientAddr != w.addr ||
			e.ClientName != w.name || e.Duration < 0 || time.Since(e.Time) > time.Minute {
			t.Errorf("entry %d: got %+v, want args %q from %s %q", i, e, w.args, w.addr, w.name)
		}
		if i > 0 && e.ID != logs[i-1].ID-1 {
			t.Errorf("entry %d: id %d after %d", i, e.ID, logs[i-1].ID)
		}
	}
	if n, err := admin.Do(ctx, "SLOWLOG", "LEN").Int(); err != nil || n != len(want)+1 {
		t.Errorf("SLOWLOG LEN: %d %v, want %d (the GET is logged too)", n, err, len(want)+1)
	}
	if got, err := admin.SlowLogGet(ctx, 2).Result(); err != nil || len(got) != 2 {
		t.Errorf("SLOWLOG GET 2: %d entries, %v", len(got), err)
	}
	if n, err := admin.Do(ctx, "SLOWLOG", "GET").Slice(); err != nil || len(n) != 10 {
		t.Errorf("SLOWLOG GET: %d entries, %v; want 10 by default", len(n), err)
	}
	errs := []struct {
		args []any
		want string
	}{
		{[]any{"SLOWLOG", "GET", "-2"}, "ERR count should be greater than or equal to -1"},
		{[]any{"SLOWLOG", "GET", "many"}, "ERR count should be greater than or equal to -1"},
		{[]any{"SLOWLOG", "LEN", "1"}, "ERR wrong number of arguments for 'slowlog|len' command"},
		{[]any{"SLOWLOG", "NOPE"}, "ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP."},
		{[]any{"SLOWLOG"}, "ERR wrong number of arguments for 'slowlog' command"},
	}
	for _, tt := range errs {
		if err := admin.Do(ctx, tt.args...).Err(); err == nil || err.Error() != tt.want {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
	if err := admin.Do(ctx, "SLOWLOG", "RESET").Err(); err != nil {
		t.Fatal(err)
	}
	// RESET is logged after it ran, as in Redis with a threshold of 0.
	if n, _ := admin.Do(ctx, "SLOWLOG", "LEN").Int(); n != 1 {
		t.Errorf("SLOWLOG LEN after RESET: %d, want 1", n)
	}
	cfg, err := admin.ConfigGet(ctx, "slowlog*").Result()
	if err != nil || cfg["slowlog-log-slower-than"] != "0" || cfg["slowlog-max-len"] != "128" {
		t.Errorf("CONFIG GET slowlog*: %v %v", cfg, err)
	}
}

// TestSlowlogHelp checks SLOWLOG HELP against the reply recorded from
// redis-server 7.0.15.
func TestSlowlogHelp(t *testing.T) {
	ts := start(t, nil)
	want := "*12\r\n+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET [<count>]\r\n" +
		"+    Return top <count> entries from the slowlog (default: 10, -1 mean all).\r\n+    Entries are made of:\r\n" +
		"+    id, timestamp, time in microseconds, arguments array, client IP and port,\r\n+    client name\r\n" +
		"+LEN\r\n+    Return the length of the slowlog.\r\n+RESET\r\n+    Reset the slowlog.\r\n+HELP\r\n+    Prints this help.\r\n"
	if got := ts.dial(t).raw("SLOWLOG", "HELP"); got != want {
		t.Errorf("SLOWLOG HELP: got %q, want %q", got, want)
	}
}

func TestSlowlogThresholdAndLength(t *testing.T) {
	tests := []struct {
		slowerThan int64
		maxLen     int
		want       int
	}{
		{-1, 128, 0},
		{int64(time.Hour / time.Microsecond), 128, 0},
		{0, 3, 3},
		{0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.slowerThan, "/", tt.maxLen), func(t *testing.T) {
			ts := start(t, func(c *Config) { c.SlowlogSlowerThan, c.SlowlogMaxLen = tt.slowerThan, tt.maxLen })
			c := ts.dial(t)
			for i := range 10 {
				c.call("SET", fmt.Sprint("k", i), "v")
			}
			if got := c.call("SLOWLOG", "LEN"); got != strconv.Itoa(tt.want) {
				t.Fatalf("SLOWLOG LEN: got %v, want %d", got, tt.want)
			}
		})
	}
}

// TestClientListKill kills clients by each of CLIENT KILL's forms and
// checks that the named client, and only it, is closed and gone from
// CLIENT LIST and the metrics.
func TestClientListKill(t *testing.T) {
	ts := start(t, nil)
	hs := httptest.NewServer(ts.MetricsHandler())
	defer hs.Close()
	tests := []struct {
		name string
		kill func(victim *client, id string) []string
		want any
	}{
		{"old style", func(v *client, _ string) []string { return []string{"CLIENT", "KILL", v.nc.LocalAddr().String()} }, "OK"},
		{"addr", func(v *client, _ string) []string {
			return []string{"CLIENT", "KILL", "ADDR", v.nc.LocalAddr().String()}
		}, "1"},
		{"id", func(_ *client, id string) []string { return []string{"CLIENT", "KILL", "ID", id} }, "1"},
		{"laddr and id", func(_ *client, id string) []string {
			return []string{"CLIENT", "KILL", "LADDR", ts.addr, "ID", id}
		}, "1"},
	}
	admin := ts.dial(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			victim := ts.dial(t)
			bystander := ts.dial(t)
			id := victim.call("CLIENT", "ID").(string)
			victim.call("CLIENT", "SETNAME", "victim")
			bystander.call("PING")
			list := admin.call("CLIENT", "LIST").(string)
			if !strings.Contains(list, "id="+id+" addr="+victim.nc.LocalAddr().String()) || !strings.Contains(list, " name=victim ") {
				t.Fatalf("CLIENT LIST lacks the victim:\n%s", list)
			}
			if got := sum(scrape(t, hs.URL), "datacluster_connected_clients"); got != 3 {
				t.Fatalf("connected_clients %v, want 3", got)
			}
			if got := admin.call(tt.kill(victim, id)...); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			victim.expectClosed()
			if got := bystander.call("PING"); got != "PONG" {
				t.Fatalf("bystander: got %v", got)
			}
			for i := 0; ; i++ {
				list = admin.call("CLIENT", "LIST").(string)
				if !strings.Contains(list, "id="+id+" ") {
					break
				}
				if i == 500 {
					t.Fatalf("killed client still listed:\n%s", list)
				}
				time.Sleep(10 * time.Millisecond)
			}
			bystander.nc.Close()
			for i := 0; sum(scrape(t, hs.URL), "datacluster_connected_clients") != 1; i++ {
				if i == 500 {
					t.Fatal("connected_clients does not come back to 1")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// clientLine returns the fields of client id's line in a CLIENT LIST reply.
func clientLine(t *testing.T, list, id string) map[string]string {
	t.Helper()
	return testutil.ClientLine(t, list, id)
}

// TestClientListFields checks the fields of CLIENT LIST that reflect a
// connection's state: cmd names the command running on the calling
// connection itself, and another's last command by its full name as Redis 7
// does ("config|get"); rbs and rbp give the read buffer's size, which grows
// with a command longer than it.
func TestClientListFields(t *testing.T) {
	ts := start(t, nil)
	self, other := ts.dial(t), ts.dial(t)
	selfID, otherID := self.call("CLIENT", "ID").(string), other.call("CLIENT", "ID").(string)
	other.call("SET", "big", strings.Repeat("v", 40000))
	other.call("CONFIG", "GET", "maxmemory")
	tests := []struct {
		name  string
		list  func() string
		id    string
		field string
		want  string
	}{
		{"own cmd in LIST", func() string { return self.call("CLIENT", "LIST").(string) }, selfID, "cmd", "client|list"},
		{"own cmd in INFO", func() string { return self.call("CLIENT", "INFO").(string) }, selfID, "cmd", "client|info"},
		{"own rbs", func() string { return self.call("CLIENT", "LIST").(string) }, selfID, "rbs", "16384"},
		{"own rbp", func() string { return self.call("CLIENT", "LIST").(string) }, selfID, "rbp", "16384"},
		{"other's last cmd", func() string { return self.call("CLIENT", "LIST").(string) }, otherID, "cmd", "config|get"},
		{"other's grown rbs", func() string { return self.call("CLIENT", "LIST").(string) }, otherID, "rbs", "65536"},
		{"other's rbp", func() string { return self.call("CLIENT", "LIST").(string) }, otherID, "rbp", "65536"},
		{"plain command", func() string {
			other.call("GET", "big")
			return self.call("CLIENT", "LIST").(string)
		}, otherID, "cmd", "get"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientLine(t, tt.list(), tt.id)[tt.field]; got != tt.want {
				t.Fatalf("%s: got %q, want %q", tt.field, got, tt.want)
			}
		})
	}
}

// TestClientHelp checks that CLIENT HELP lists every subcommand served,
// with Redis 7.2's texts for NO-EVICT and NO-TOUCH.
func TestClientHelp(t *testing.T) {
	ts := start(t, nil)
	help, ok := ts.dial(t).call("CLIENT", "HELP").([]any)
	if !ok {
		t.Fatalf("CLIENT HELP: got %v, want an array", help)
	}
	lines := make([]string, len(help))
	for i, l := range help {
		lines[i] = l.(string)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"NO-EVICT (ON|OFF)\n    Protect current client connection from eviction.",
		"NO-TOUCH (ON|OFF)\n    Will not touch LRU/LFU stats when this mode is on.",
		"HELP\n    Print this help.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("CLIENT HELP lacks %q:\n%s", want, text)
		}
	}
	for _, sub := range subcommands["client"] {
		if !strings.Contains(text, "\n"+strings.ToUpper(sub)) {
			t.Errorf("CLIENT HELP does not list %s:\n%s", strings.ToUpper(sub), text)
		}
	}
}

// TestCmdstatValue checks that usec_per_call is computed from the usec shown,
// as Redis computes it, however the nanoseconds round.
func TestCmdstatValue(t *testing.T) {
	tests := []struct {
		c    cmdstat.Counters
		want string
	}{
		{cmdstat.Counters{Calls: 1, Nanos: 5999}, "calls=1,usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0"},
		{cmdstat.Counters{Calls: 3, Nanos: 10_999, Failed: 1}, "calls=3,usec=10,usec_per_call=3.33,rejected_calls=0,failed_calls=1"},
		{cmdstat.Counters{Calls: 2, Nanos: 1999}, "calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0"},
		{cmdstat.Counters{Rejected: 4}, "calls=0,usec=0,usec_per_call=0.00,rejected_calls=4,failed_calls=0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := cmdstatValue(&tt.c); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRejectClientAndProtocolErrorAreLogged checks the log lines and
// counters of a refused client and of one closed for a protocol error.
func TestRejectClientAndProtocolErrorAreLogged(t *testing.T) {
	var logs testutil.SyncBuffer
	ts := start(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	hs := httptest.NewServer(ts.MetricsHandler())
	defer hs.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ts.rejectClient(sc, "max number of clients reached", []byte("-ERR max number of clients reached\r\n"))
	cc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(cc); err != nil || string(got) != "-ERR max number of clients reached\r\n" {
		t.Fatalf("rejected client read %q, %v", got, err)
	}
	if got := scrape(t, hs.URL)["datacluster_rejected_connections_total"]; got != 1 {
		t.Errorf("rejected_connections_total %v, want 1", got)
	}
	c := ts.dial(t)
	if info := infoFields(c.call("INFO", "stats").(string)); info["rejected_connections"] != "1" {
		t.Errorf("INFO rejected_connections: %q, want 1", info["rejected_connections"])
	}
	c.send("*1\r\n$x\r\n")
	c.expect("-ERR Protocol error: invalid bulk length\r\n")
	c.expectClosed()
	for _, want := range []string{
		`level=WARN msg="client rejected" client=` + cc.LocalAddr().String() + ` reason="max number of clients reached"`,
		`level=INFO msg="closing client: protocol error" client=` + c.nc.LocalAddr().String(),
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestLogLimiter checks that a burst of log lines of one kind yields one
// line, and the next one says how many were left out.
func TestLogLimiter(t *testing.T) {
	var buf testutil.SyncBuffer
	lg := slog.New(slog.NewTextHandler(&buf, nil))
	var l limiter
	for range 5 {
		l.log(lg, slog.LevelInfo, "burst")
	}
	if n := strings.Count(buf.String(), "burst"); n != 1 {
		t.Fatalf("got %d lines, want 1:\n%s", n, buf.String())
	}
	l.mu.Lock()
	l.last = l.last.Add(-2 * time.Second)
	l.mu.Unlock()
	l.log(lg, slog.LevelInfo, "burst")
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Fatalf("no count of the lines left out:\n%s", buf.String())
	}
}
