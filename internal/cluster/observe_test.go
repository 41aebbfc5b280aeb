package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestServerObserve checks what a node answers of MEMORY STATS, MEMORY
// DOCTOR, COMMAND DOCS and COMMAND GETKEYSANDFLAGS: the node's own figures,
// and the same COMMAND entries as a single server.
func TestServerObserve(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 1, ServerConfig{})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()
	pipe := rc.Pipeline()
	for i := range 20 {
		pipe.Set(ctx, fmt.Sprintf("key:%02d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// The keys are this node's replicas' (INFO keyspace's): a follower's
	// counts the last writes once their commit reaches it, after the
	// leader answered them.
	fields := map[string]any{}
	eventually(t, "MEMORY STATS to count the 20 keys in this node's replicas", func() bool {
		st, err := rc.Do(ctx, "MEMORY", "STATS").Slice()
		if err != nil || len(st) != 56 || st[0] != "peak.allocated" {
			t.Fatalf("MEMORY STATS: got %d elements (%v), want Redis's 28 fields", len(st), err)
		}
		for i := 0; i+1 < len(st); i += 2 {
			fields[st[i].(string)] = st[i+1]
		}
		return fields["keys.count"] == int64(20)
	})
	if fields["total.allocated"].(int64) <= 0 {
		t.Errorf("MEMORY STATS: total.allocated %v, want some bytes", fields["total.allocated"])
	}
	if s, err := rc.Do(ctx, "MEMORY", "DOCTOR").Text(); err != nil || len(s) < 50 {
		t.Errorf("MEMORY DOCTOR: %q %v", s, err)
	}
	if err := rc.Do(ctx, "MEMORY", "STATS", "x").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'memory|stats' command" {
		t.Errorf("MEMORY STATS x: got %v", err)
	}
	if n, err := rc.Do(ctx, "MEMORY", "USAGE", "key:01").Int(); err != nil || n <= 0 {
		t.Errorf("MEMORY USAGE: got %d %v", n, err)
	}
	docs, err := rc.Do(ctx, "COMMAND", "DOCS", "get").Slice()
	if err != nil || len(docs) != 2 || docs[0] != "get" {
		t.Fatalf("COMMAND DOCS get: %v %v", docs, err)
	}
	kf, err := rc.Do(ctx, "COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v").Slice()
	if err != nil || fmt.Sprint(kf) != "[[k [OW update]]]" {
		t.Errorf("COMMAND GETKEYSANDFLAGS SET k v: got %v %v", kf, err)
	}
}

// infoFields parses an INFO reply into its sections' titles, in order,
// and its fields.
func infoFields(t *testing.T, s string) (titles []string, fields map[string]string) {
	t.Helper()
	fields = map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# "):
			titles = append(titles, line[2:])
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("INFO line %q is not field:value", line)
			}
			fields[k] = v
		}
	}
	return titles, fields
}

// TestNodeInfo checks INFO on a node: its sections in Redis's order and
// chosen by argument, the memory its replicas' keyspaces take, the
// commands and connections counted, and the keys with an expiry.
func TestNodeInfo(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 1, ServerConfig{WholeKeyspace: true})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()
	info := func(args ...any) (titles []string, fields map[string]string) {
		t.Helper()
		s, err := rc.Do(ctx, append([]any{"INFO"}, args...)...).Text()
		if err != nil {
			t.Fatalf("INFO %v: %v", args, err)
		}
		return infoFields(t, s)
	}

	titles, f := info()
	if got := strings.Join(titles, ","); got != "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Errorstats,Cluster,Raft,Keyspace" {
		t.Errorf("INFO's sections: %s", got)
	}
	_, port, _ := net.SplitHostPort(addr)
	for k, want := range map[string]string{"redis_mode": "cluster", "tcp_port": port, "node_id": tn.nodes[1].cfg.NodeID,
		"role": "master", "cluster_enabled": "1", "maxmemory": "0", "maxmemory_policy": "noeviction", "loading": "0",
		"rdb_bgsave_in_progress": "0", "aof_rewrite_in_progress": "0"} {
		if f[k] != want {
			t.Errorf("INFO %s: %q, want %q", k, f[k], want)
		}
	}
	if _, ok := f["db0"]; ok {
		t.Errorf("INFO shows db0 on an empty keyspace: %q", f["db0"])
	}
	if titles, _ := info("all"); strings.Join(titles, ",") != "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Commandstats,Errorstats,Cluster,Raft,Keyspace" {
		// (no Latencystats: this node's latency-tracking is off)
		t.Errorf("INFO all: sections %v", titles)
	}
	if titles, f := info("memory", "RAFT"); strings.Join(titles, ",") != "Memory,Raft" || f["used_memory"] == "" || f["group0"] == "" {
		t.Errorf("INFO memory RAFT: sections %v, fields %v", titles, f)
	}
	if titles, _ := info("nosuch"); len(titles) != 0 {
		t.Errorf("INFO nosuch: sections %v, want none", titles)
	}

	// used_memory is the replicas' keyspaces: 20 values of 10 kB on every
	// replica of their groups, and this node holds one of each group.
	_, f = info("memory")
	before, _ := strconv.ParseInt(f["used_memory"], 10, 64)
	value := strings.Repeat("v", 10000)
	for i := range 20 {
		if err := rc.Set(ctx, fmt.Sprintf("big:%02d", i), value, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if err := rc.Set(ctx, fmt.Sprintf("ttl:%d", i), "x", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "used_memory to count 200 kB more and the keys with an expiry", func() bool {
		_, f := info("memory", "keyspace")
		used, _ := strconv.ParseInt(f["used_memory"], 10, 64)
		return used >= before+200000 && f["db0"] == "keys=23,expires=3,avg_ttl=0"
	})

	// Each command run counts, INFO's own included, as in Redis's delta.
	_, f = info("stats")
	n1, _ := strconv.ParseInt(f["total_commands_processed"], 10, 64)
	for range 5 {
		if err := rc.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	_, f = info("stats")
	n2, _ := strconv.ParseInt(f["total_commands_processed"], 10, 64)
	if n2-n1 != 6 {
		t.Errorf("total_commands_processed went from %d to %d over 5 PINGs and an INFO, want +6", n1, n2)
	}
	// A closed connection's commands stay counted: three PINGs on a
	// connection of their own, then INFO once it has closed.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte(strings.Repeat("*1\r\n$4\r\nPING\r\n", 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(nc, make([]byte, 3*len("+PONG\r\n"))); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	infos := int64(0)
	eventually(t, "the other connection to close", func() bool {
		infos++
		_, f = info("stats", "clients")
		return f["connected_clients"] == "1"
	})
	n3, _ := strconv.ParseInt(f["total_commands_processed"], 10, 64)
	if want := n2 + 3 + infos; n3 != want {
		t.Errorf("total_commands_processed %d after a closed connection's 3 PINGs and %d INFOs, want %d", n3, infos, want)
	}
	if conns, _ := strconv.Atoi(f["total_connections_received"]); conns < 2 {
		t.Errorf("total_connections_received %d, want 2 at least", conns)
	}

	// instantaneous_ops_per_sec follows the commands of the last samples.
	eventually(t, "instantaneous_ops_per_sec to show the PINGs", func() bool {
		pipe := rc.Pipeline()
		for range 100 {
			pipe.Ping(ctx)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, f := info("stats")
		ops, _ := strconv.Atoi(f["instantaneous_ops_per_sec"])
		return ops > 0
	})
}
