package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// testCluster is real data-cluster processes on 127.0.0.1, three unless
// started by startClusterN.
type testCluster struct {
	t     *testing.T
	bin   string
	addrs []string // client addresses, by node
	mets  []string // metrics addresses, by node
	args  [][]string
	procs []*proc
}

// nodesLine returns the line of CLUSTER NODES, asked of rc, of the node
// whose client address is addr; "" when it has none or the command fails.
func nodesLine(rc *redis.Client, addr string) string {
	nodes, err := rc.ClusterNodes(context.Background()).Result()
	if err != nil {
		return ""
	}
	for l := range strings.Lines(nodes) {
		if strings.Contains(l, " "+addr+"@") {
			return l
		}
	}
	return ""
}

func startCluster(t *testing.T, bin string, extra ...string) *testCluster {
	t.Helper()
	return startClusterN(t, bin, 3, extra...)
}

// startClusterN starts a cluster of count nodes, n1..n<count>.
func startClusterN(t *testing.T, bin string, count int, extra ...string) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, bin: bin}
	var peers []string
	for i := range count {
		tc.addrs = append(tc.addrs, testutil.FreeAddr(t))
		tc.mets = append(tc.mets, testutil.FreeAddr(t))
		peers = append(peers, fmt.Sprintf("n%d=%s", i+1, testutil.FreeAddr(t)))
	}
	initial := strings.Join(peers, ",")
	base := t.TempDir()
	for i := range count {
		tc.args = append(tc.args, []string{"--addr", tc.addrs[i], "--node-id", fmt.Sprintf("n%d", i+1),
			"--peer-addr", strings.SplitN(peers[i], "=", 2)[1], "--initial-cluster", initial,
			"--data-dir", fmt.Sprintf("%s/n%d", base, i+1), "--fsync", "always", "--metrics-addr", tc.mets[i]})
		tc.args[i] = append(tc.args[i], extra...)
		tc.procs = append(tc.procs, startBinary(t, bin, tc.args[i]...))
	}
	// A failing test shows what the nodes logged (leader changes, slow
	// fsyncs), the last part of each.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, p := range tc.procs {
			l := p.stderr.String()
			t.Logf("node %d's log (last %d of %d bytes):\n%s", i+1, min(len(l), 8192), len(l), l[max(0, len(l)-8192):])
		}
	})
	for i := range count {
		tc.waitOK(i)
	}
	return tc
}

// waitOK waits until node i reports cluster_state:ok.
func (tc *testCluster) waitOK(i int) {
	tc.t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[i]})
	defer rc.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := rc.ClusterInfo(context.Background()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("node %d not ok: %q %v; stderr %s", i+1, info, err, tc.procs[i].stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart starts node i again with its flags and data dir.
func (tc *testCluster) restart(i int) {
	tc.t.Helper()
	tc.procs[i] = startBinary(tc.t, tc.bin, tc.args[i]...)
	tc.waitOK(i)
}

// leaderHeaviest returns the node that leads the most groups.
func (tc *testCluster) leaderHeaviest() int {
	count := tc.leaderCounts()
	return slices.Index(count, slices.Max(count))
}

// leaderLightest returns the node that leads the fewest groups.
func (tc *testCluster) leaderLightest() int {
	count := tc.leaderCounts()
	return slices.Index(count, slices.Min(count))
}

// leaderCounts returns how many groups each of the first three nodes
// leads, as node 1's INFO reports it.
func (tc *testCluster) leaderCounts() []int {
	tc.t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[0]})
	defer rc.Close()
	info, err := rc.Info(context.Background()).Result()
	if err != nil {
		tc.t.Fatal(err)
	}
	count := make([]int, 3)
	for _, m := range regexp.MustCompile(`leader=n(\d)`).FindAllStringSubmatch(info, -1) {
		if i, _ := strconv.Atoi(m[1]); i >= 1 && i <= 3 {
			count[i-1]++
		}
	}
	return count
}

func TestClusterServesAnyKey(t *testing.T) {
	// A limit no test reaches: that the flags reach every node.
	tc := startCluster(t, buildBinary(t), "--maxmemory", "1gb", "--maxmemory-policy", "allkeys-lru")
	ctx := context.Background()
	var plain []*redis.Client
	for i, a := range tc.addrs {
		rc := redis.NewClient(&redis.Options{Addr: a})
		defer rc.Close()
		plain = append(plain, rc)
		mem := rc.Info(ctx, "memory").Val()
		if !strings.Contains(mem, "maxmemory:1073741824\r\n") || !strings.Contains(mem, "maxmemory_policy:allkeys-lru\r\n") {
			t.Fatalf("node %d: INFO memory without --maxmemory's values: %q", i+1, mem)
		}
	}
	for i := range 30 {
		k := fmt.Sprintf("key:%d", i)
		if err := plain[i%3].Set(ctx, k, "v"+k, 0).Err(); err != nil {
			t.Fatalf("SET %s on node %d: %v", k, i%3+1, err)
		}
		if got, err := plain[(i+1)%3].Get(ctx, k).Result(); err != nil || got != "v"+k {
			t.Fatalf("GET %s on node %d: got %q, %v, want %q", k, (i+1)%3+1, got, err, "v"+k)
		}
	}
	// A node's DBSIZE counts the keys of the slots it is the master of, as
	// on a Redis Cluster node: the nodes' add up to the cluster's.
	waitFor(t, "the nodes' DBSIZE to add up to 30", func() bool {
		var sum int64
		for _, rc := range plain {
			n, err := rc.DBSize(ctx).Result()
			if err != nil {
				return false
			}
			sum += n
		}
		return sum == 30
	})
	if err := plain[0].MSet(ctx, "a", "1", "b", "2").Err(); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("MSET across slots: got %v, want CROSSSLOT", err)
	}
	if err := plain[0].MSet(ctx, "{u}a", "1", "{u}b", "2").Err(); err != nil {
		t.Fatalf("MSET in one slot: %v", err)
	}
	// The slow log and latency flags reach the nodes (here their defaults),
	// whose replicas count what they run.
	if v := plain[1].ConfigGet(ctx, "*").Val(); v["slowlog-log-slower-than"] != "10000" || v["slowlog-max-len"] != "128" ||
		v["latency-tracking"] != "yes" || v["latency-tracking-info-percentiles"] != "50 99 99.9" {
		t.Errorf("node 2's slow log and latency parameters: %v %v %v %v", v["slowlog-log-slower-than"], v["slowlog-max-len"],
			v["latency-tracking"], v["latency-tracking-info-percentiles"])
	}
	if s := plain[1].Info(ctx, "commandstats").Val(); !strings.Contains(s, "cmdstat_set:calls=") {
		t.Errorf("node 2's INFO commandstats lacks SET:\n%s", s)
	}
	// Hashes and sets, and MEMORY USAGE of them, through any node.
	if err := plain[0].HSet(ctx, "h", "f1", "v1", "f2", "v2").Err(); err != nil {
		t.Fatalf("HSET: %v", err)
	}
	if err := plain[1].SAdd(ctx, "s", 1, 2, 3).Err(); err != nil {
		t.Fatalf("SADD: %v", err)
	}
	if m, err := plain[2].HGetAll(ctx, "h").Result(); err != nil || len(m) != 2 || m["f2"] != "v2" {
		t.Fatalf("HGETALL through another node: %v, %v", m, err)
	}
	// Sorted sets: a write through one node, reads through another, and a
	// ZUNIONSTORE of keys in one slot, applied alike on every replica.
	if err := plain[1].ZAdd(ctx, "{z}a", redis.Z{Score: 2.5, Member: "x"}, redis.Z{Score: -1, Member: "y"}).Err(); err != nil {
		t.Fatalf("ZADD: %v", err)
	}
	if err := plain[0].ZAdd(ctx, "{z}b", redis.Z{Score: 1, Member: "x"}).Err(); err != nil {
		t.Fatalf("ZADD: %v", err)
	}
	if n, err := plain[2].ZUnionStore(ctx, "{z}u", &redis.ZStore{Keys: []string{"{z}a", "{z}b"}}).Result(); err != nil || n != 2 {
		t.Fatalf("ZUNIONSTORE in one slot: %d, %v", n, err)
	}
	if zs, err := plain[0].ZRangeWithScores(ctx, "{z}u", 0, -1).Result(); err != nil || len(zs) != 2 || zs[1].Member != "x" || zs[1].Score != 3.5 {
		t.Fatalf("ZRANGE WITHSCORES through another node: %v, %v", zs, err)
	}
	// Lists: pushes through one node, pops and reads through others, an
	// LMOVE and an LMPOP of keys in one slot.
	if err := plain[2].RPush(ctx, "{q}jobs", "j1", "j2", "j3").Err(); err != nil {
		t.Fatalf("RPUSH: %v", err)
	}
	if v, err := plain[0].LMove(ctx, "{q}jobs", "{q}done", "LEFT", "RIGHT").Result(); err != nil || v != "j1" {
		t.Fatalf("LMOVE in one slot: %q, %v", v, err)
	}
	if key, vs, err := plain[1].LMPop(ctx, "right", 5, "{q}none", "{q}jobs").Result(); err != nil || key != "{q}jobs" || !slices.Equal(vs, []string{"j3", "j2"}) {
		t.Fatalf("LMPOP in one slot: %q %q, %v", key, vs, err)
	}
	if vs, err := plain[2].LRange(ctx, "{q}done", 0, -1).Result(); err != nil || !slices.Equal(vs, []string{"j1"}) {
		t.Fatalf("LRANGE through another node: %q, %v", vs, err)
	}
	if n, err := plain[0].Exists(ctx, "{q}jobs").Result(); err != nil || n != 0 {
		t.Fatalf("an emptied list exists: %d, %v", n, err)
	}
	// Blocking pops: a timeout, then waiters on two nodes served through
	// a third, each with its own element (whether a push comes before
	// or after a waiter parks, it is served exactly once).
	if vs, err := plain[0].BLPop(ctx, 100*time.Millisecond, "{q}empty").Result(); err != redis.Nil {
		t.Fatalf("BLPOP of an empty list with a timeout: %q, %v, want nil", vs, err)
	}
	popped := make(chan string, 2)
	for _, c := range plain[:2] {
		go func() {
			vs, err := c.BLPop(ctx, 20*time.Second, "{q}wait").Result()
			if err != nil || len(vs) != 2 {
				popped <- fmt.Sprintf("error %v %q", err, vs)
				return
			}
			popped <- vs[1]
		}()
	}
	if err := plain[2].RPush(ctx, "{q}wait", "w1", "w2").Err(); err != nil {
		t.Fatalf("RPUSH to waiters: %v", err)
	}
	got := []string{<-popped, <-popped}
	slices.Sort(got)
	if !slices.Equal(got, []string{"w1", "w2"}) {
		t.Fatalf("BLPOP through two nodes: %q, want w1 and w2 once each", got)
	}
	for _, k := range []string{"h", "s", "key:1", "{z}u", "{q}done"} {
		if n, err := plain[2].MemoryUsage(ctx, k).Result(); err != nil || n <= 0 {
			t.Fatalf("MEMORY USAGE %s: %d, %v", k, n, err)
		}
	}
	if err := plain[0].Get(ctx, "h").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		t.Fatalf("GET of a hash: %v, want WRONGTYPE", err)
	}
	if s, err := plain[1].ClusterKeySlot(ctx, "foo").Result(); err != nil || s != 12182 {
		t.Fatalf("CLUSTER KEYSLOT foo: got %d, %v, want 12182", s, err)
	}
	// A transaction runs as one entry of its group's log.
	cmds, err := plain[1].TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "{u}n")
		p.Incr(ctx, "{u}n")
		p.Get(ctx, "{u}a")
		return nil
	})
	if err != nil || cmds[1].(*redis.IntCmd).Val() != 2 || cmds[2].(*redis.StringCmd).Val() != "1" {
		t.Fatalf("MULTI/EXEC: %v %v", cmds, err)
	}

	// A cluster-aware client learns the map from CLUSTER SLOTS.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: tc.addrs})
	defer cc.Close()
	for i := range 100 {
		k := fmt.Sprintf("cc:%d", i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("ClusterClient SET: %v", err)
		}
	}
	for i := range 100 {
		if got, err := cc.Get(ctx, fmt.Sprintf("cc:%d", i)).Int(); err != nil || got != i {
			t.Fatalf("ClusterClient GET cc:%d: got %d, %v", i, got, err)
		}
	}
	// What a cluster-aware client adds up over the masters counts every key
	// once: go-redis's DBSize, and a SCAN on each master.
	waitFor(t, "the ClusterClient's DBSIZE and SCANs to count every key once", func() bool {
		all, err := plain[0].Do(ctx, "LIST").StringSlice()
		if err != nil {
			return false
		}
		cc.ReloadState(ctx)
		n, err := cc.DBSize(ctx).Result()
		if err != nil || n != int64(len(all)) {
			return false
		}
		var mu sync.Mutex
		var scanned []string
		err = cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			iter := m.Scan(ctx, 0, "", 10).Iterator()
			for iter.Next(ctx) {
				mu.Lock()
				scanned = append(scanned, iter.Val())
				mu.Unlock()
			}
			return iter.Err()
		})
		slices.Sort(scanned)
		return err == nil && slices.Equal(scanned, all)
	})
	//lint:ignore SA1019 CLUSTER SLOTS is what go-redis's ClusterClient reads the topology from
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, s := range slots {
		covered += s.End - s.Start + 1
		if len(s.Nodes) != 3 || len(s.Nodes[0].ID) != 40 {
			t.Fatalf("CLUSTER SLOTS entry %+v: want 3 nodes with 40-character ids", s)
		}
	}
	if covered != 16384 {
		t.Fatalf("CLUSTER SLOTS covers %d slots, want 16384", covered)
	}
	shards, err := plain[0].ClusterShards(ctx).Result()
	if err != nil || len(shards) != 3 {
		t.Fatalf("CLUSTER SHARDS: got %d shards, %v, want 3", len(shards), err)
	}
	for _, sh := range shards {
		if len(sh.Nodes) != 3 || sh.Nodes[0].Role != "master" || sh.Nodes[1].Role != "replica" {
			t.Fatalf("CLUSTER SHARDS entry %+v: want the master first, then 2 replicas", sh)
		}
	}
	// Metrics: each replica's Raft state and the traffic to each peer.
	resp, err := http.Get("http://" + tc.mets[0] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`datacluster_raft_is_leader{group="0"}`, `datacluster_raft_applied_index{group="2"}`,
		`datacluster_peer_sent_bytes_total{peer="n2"}`, `datacluster_raft_proposals_total{group="1"}`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	if resp, err := http.Get("http://" + tc.mets[1] + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	// Heartbeats between the nodes travel coalesced: frames carry the
	// heartbeats and answers of several groups.
	hb := regexp.MustCompile(`heartbeats_coalesced:(\d+)\r\nheartbeat_frames:(\d+)`)
	var queued, frames int
	deadline := time.Now().Add(10 * time.Second)
	for frames < 40 {
		if time.Now().After(deadline) {
			t.Fatalf("INFO shows %d heartbeat frames after 10 s, want 40", frames)
		}
		info, err := plain[0].Info(ctx).Result()
		m := hb.FindStringSubmatch(info)
		if err != nil || m == nil {
			t.Fatalf("INFO lacks the heartbeat counters: %v\n%s", err, info)
		}
		queued, _ = strconv.Atoi(m[1])
		frames, _ = strconv.Atoi(m[2])
		time.Sleep(20 * time.Millisecond) // polling a counter
	}
	if queued <= frames {
		t.Fatalf("%d heartbeats in %d frames: not coalesced", queued, frames)
	}
	// The line protocol on any node sees the whole cluster.
	nc, err := net.Dial("tcp", tc.addrs[2])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "SET line:1 x\nGET key:7\nDELETE key:7\nGET key:7\n")
	want := "OK\nvkey:7\nOK\nERR key not found\n"
	buf := make([]byte, len(want))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := readFull(nc, buf); err != nil || string(buf) != want {
		t.Fatalf("line protocol: got %q, %v, want %q", buf, err, want)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// A node restarted after a stop gets back the groups it leads by
// preference: their leaders hand them over while plain clients INCR
// counters through the other two nodes, so writes forwarded to a group's
// old leader are in flight as it hands over. None may end UNKNOWN from the
// restart on, and each counter ends between its increments acknowledged
// and those plus the ones of unknown outcome (those in flight to the node
// as it stopped).
func TestClusterHandoverEndsNoWrite(t *testing.T) {
	tc := startCluster(t, buildBinary(t))
	victim := tc.leaderHeaviest()
	const clients = 4
	keys := []string{"ctr{a}", "ctr{b}", "ctr{c}", "ctr{d}", "ctr{e}", "ctr{f}"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu                 sync.Mutex
		acked, unknown     = map[string]int64{}, map[string]int64{}
		stopped, restarted atomic.Bool
		sinceStop          [clients]atomic.Int64 // by client, acknowledged since the stop
		afterRestart       atomic.Int64          // acknowledged since the restart began
		unknownAfter       int
		lastUnknown        string
		wg                 sync.WaitGroup
	)
	for c := range clients {
		node := (victim + 1 + c%2) % 3
		rc := redis.NewClient(&redis.Options{Addr: tc.addrs[node], MaxRetries: -1, ReadTimeout: 5 * time.Second})
		defer rc.Close()
		wg.Go(func() {
			for i := c; ctx.Err() == nil && i < 1_000_000; i++ {
				k := keys[i%len(keys)]
				err := rc.Incr(ctx, k).Err()
				mu.Lock()
				switch {
				case err == nil:
					acked[k]++
					if stopped.Load() {
						sinceStop[c].Add(1)
					}
					if restarted.Load() {
						afterRestart.Add(1)
					}
				case strings.HasPrefix(err.Error(), "UNKNOWN"):
					unknown[k]++
					if restarted.Load() {
						unknownAfter++
						lastUnknown = fmt.Sprintf("INCR %s through node %d: %v", k, node+1, err)
					}
				}
				// Any other error says the INCR never ran.
				mu.Unlock()
			}
		})
	}
	waitFor(t, "writes before the stop", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return acked[keys[0]] > 50
	})
	tc.procs[victim].stop(t, syscall.SIGTERM)
	stopped.Store(true)
	// The writes in flight at the stop have ended once each client has
	// had one acknowledged since.
	waitFor(t, "every client's writes to go on without the node", func() bool {
		for i := range sinceStop {
			if sinceStop[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	restarted.Store(true)
	tc.restart(victim)
	waitFor(t, fmt.Sprintf("node %d to lead again", victim+1), func() bool { return tc.leaderCounts()[victim] > 0 })
	target := afterRestart.Load() + 300
	waitFor(t, "writes after the handover", func() bool { return afterRestart.Load() >= target })
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if unknownAfter > 0 {
		t.Errorf("%d INCR ended UNKNOWN after node %d restarted, while leaders handed their groups over; the last: %s",
			unknownAfter, victim+1, lastUnknown)
	}
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[victim]})
	defer rc.Close()
	var total int64
	for _, k := range keys {
		v, err := rc.Get(context.Background(), k).Int64()
		if err != nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		if v < acked[k] || v > acked[k]+unknown[k] {
			t.Errorf("%s ends at %d, want between %d acknowledged and %d with the %d of unknown outcome",
				k, v, acked[k], acked[k]+unknown[k], unknown[k])
		}
		total += acked[k]
	}
	t.Logf("%d INCR acknowledged, %d after the restart began; %d of unknown outcome while node %d stopped",
		total, afterRestart.Load(), func() (n int64) {
			for _, u := range unknown {
				n += u
			}
			return n
		}(), victim+1)
}

// TestClusterKill9 kills the node leading the most groups under write load,
// restarts it, then pauses the node leading the most groups past an election
// timeout; it checks that writes flow again each time, that no acknowledged
// write is lost, and that the history of reads and writes on a few
// registers, through every node, is linearizable.
func TestClusterKill9(t *testing.T) {
	tc := startCluster(t, buildBinary(t))
	seed := time.Now().UnixNano()
	if s := os.Getenv("CLUSTER_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Logf("seed %d (CLUSTER_TEST_SEED to repeat)", seed)
	victim := tc.leaderHeaviest()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		acked   = map[string]string{}
		ops     []porcupine.Operation
		killed  atomic.Bool
		afterOK atomic.Int64 // writes acknowledged after the kill
		start   = time.Now()
		wg      sync.WaitGroup
	)
	now := func() int64 { return int64(time.Since(start)) }
	const clients = 6
	for c := range clients {
		node := c % 3
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(c)))
		rc := redis.NewClient(&redis.Options{Addr: tc.addrs[node], MaxRetries: -1,
			ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
		defer rc.Close()
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 100000; i++ {
				if killed.Load() && node == victim {
					return
				}
				// Unique keys for the lost-write check.
				k, v := fmt.Sprintf("w:%d:%d", c, i), fmt.Sprintf("%d", rng.Uint64())
				if rc.Set(ctx, k, v, 0).Err() == nil {
					mu.Lock()
					acked[k] = v
					mu.Unlock()
					if killed.Load() {
						afterOK.Add(1)
					}
				}
				// Registers for the linearizability check.
				reg := fmt.Sprintf("reg{%d}", rng.IntN(4))
				in := regInput{key: reg}
				call := now()
				var out regOutput
				if rng.IntN(2) == 0 {
					in.write, in.value = true, fmt.Sprintf("%d-%d", c, i)
					err := rc.Set(ctx, reg, in.value, 0).Err()
					if err != nil {
						// Unknown outcome: it may take effect at any time.
						mu.Lock()
						ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: 1 << 62})
						mu.Unlock()
						continue
					}
				} else {
					v, err := rc.Get(ctx, reg).Result()
					if err != nil && !errors.Is(err, redis.Nil) {
						continue // a failed read says nothing
					}
					out.value = v
				}
				ret := now()
				mu.Lock()
				ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
				mu.Unlock()
			}
		})
	}
	// A cluster-aware client too, with its slot map reloaded often so that
	// it stops dialling the dead node soon (go-redis issue 3979). It
	// writes unique keys only: it retries on errors, so a write it saw
	// fail may still land later, which a register history would misread.
	var ccAfter atomic.Int64
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: tc.addrs, ClusterStateReloadInterval: 200 * time.Millisecond,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer cc.Close()
	wg.Go(func() {
		for i := 0; ctx.Err() == nil && i < 100000; i++ {
			k, v := fmt.Sprintf("cc:%d", i), strconv.Itoa(i)
			if cc.Set(ctx, k, v, 0).Err() == nil {
				mu.Lock()
				acked[k] = v
				mu.Unlock()
				if killed.Load() {
					ccAfter.Add(1)
				}
			}
		}
	})
	waitFor(t, "writes before the kill", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) > 300 })
	tc.procs[victim].stop(t, syscall.SIGKILL)
	killedAt := time.Now()
	killed.Store(true)
	waitFor(t, "writes to flow again", func() bool { return afterOK.Load() > 50 })
	waitFor(t, "the cluster client's writes to flow again", func() bool { return ccAfter.Load() > 50 })
	t.Logf("writes flowed again within %v of the kill", time.Since(killedAt).Round(time.Millisecond))
	// Another node shows the dead one as Redis Cluster shows a failed
	// node: flagged fail with its link down in CLUSTER NODES, out of
	// CLUSTER SLOTS (it leads nothing now and is a failed replica), while
	// cluster_state stays ok; and as connected again once it is back.
	watcher := redis.NewClient(&redis.Options{Addr: tc.addrs[(victim+1)%3]})
	defer watcher.Close()
	victimLine := func() string { return nodesLine(watcher, tc.addrs[victim]) }
	_, victimPort, _ := net.SplitHostPort(tc.addrs[victim])
	inSlots := func() bool {
		// CLUSTER SLOTS itself (go-redis's ClusterSlots is deprecated):
		// each range is its start, its end, then a node per entry, its
		// port second.
		ranges, err := watcher.Do(context.Background(), "cluster", "slots").Slice()
		if err != nil {
			return true
		}
		for _, r := range ranges {
			entries, _ := r.([]any)
			for _, e := range entries[min(2, len(entries)):] {
				if nd, _ := e.([]any); len(nd) > 1 && fmt.Sprint(nd[1]) == victimPort {
					return true
				}
			}
		}
		return false
	}
	waitFor(t, "the dead node to show as failed", func() bool {
		l := victimLine()
		info, err := watcher.ClusterInfo(context.Background()).Result()
		return strings.Contains(l, ",fail ") && strings.Contains(l, " disconnected") && !inSlots() &&
			err == nil && strings.Contains(info, "cluster_state:ok")
	})
	// WAIT over the nodes' links: with one node of three down, a write has
	// one copy besides its leader's; once the node is back, two.
	if err := watcher.Set(context.Background(), "wait-key", "1", 0).Err(); err != nil {
		t.Fatalf("seed %d: SET with a node down: %v", seed, err)
	}
	if n, err := watcher.Do(context.Background(), "wait", "2", "100").Int(); err != nil || n != 1 {
		t.Fatalf("seed %d: WAIT 2 100 with a node down: got %d, %v, want 1", seed, n, err)
	}
	tc.restart(victim)
	waitFor(t, "writes after the restart", func() bool { return afterOK.Load() > 300 })
	waitFor(t, "the restarted node to show as connected", func() bool {
		l := victimLine()
		return l != "" && !strings.Contains(l, "fail") && strings.Contains(l, " connected") && inSlots()
	})
	waitFor(t, "WAIT 2 to count the restarted node's copy", func() bool {
		n, err := watcher.Do(context.Background(), "wait", "2", "1000").Int()
		return err == nil && n == 2
	})
	// Pause the node leading the most groups for longer than an election
	// timeout (SIGSTOP): the others elect new leaders and go on; when it
	// resumes it must not act on its old leadership.
	paused := tc.leaderHeaviest()
	if err := tc.procs[paused].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	other := redis.NewClient(&redis.Options{Addr: tc.addrs[(paused+1)%3]})
	defer other.Close()
	pausedLeads := fmt.Sprintf("leader=n%d,", paused+1)
	waitFor(t, "the others to elect leaders in place of the paused node", func() bool {
		info, err := other.Info(context.Background()).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok") && !strings.Contains(info, pausedLeads)
	})
	before := afterOK.Load()
	waitFor(t, "writes to flow during the pause", func() bool { return afterOK.Load() > before+100 })
	// The paused node keeps its connections, but sends nothing: the
	// others show it failed all the same, and well once it resumes.
	pausedLine := func() string { return nodesLine(other, tc.addrs[paused]) }
	waitFor(t, "the paused node to show as failed", func() bool { return strings.Contains(pausedLine(), ",fail ") })
	if err := tc.procs[paused].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	before = afterOK.Load()
	waitFor(t, "writes after the pause", func() bool { return afterOK.Load() > before+100 })
	waitFor(t, "the resumed node to show as well", func() bool {
		l := pausedLine()
		return l != "" && !strings.Contains(l, "fail")
	})
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d acknowledged writes, %d register operations", len(acked), len(ops))
	checkAcked := func(when string) {
		for i, a := range tc.addrs {
			rc := redis.NewClient(&redis.Options{Addr: a})
			for k, v := range acked {
				got, err := rc.Get(context.Background(), k).Result()
				if err != nil || got != v {
					rc.Close()
					t.Fatalf("seed %d, %s: acknowledged %s=%s reads %q, %v on node %d", seed, when, k, v, got, err, i+1)
				}
			}
			rc.Close()
		}
	}
	checkAcked("after the kill and restart")
	// Every acknowledged write survives all the nodes dying at once: each
	// comes back from its own log and snapshot.
	for _, p := range tc.procs {
		p.stop(t, syscall.SIGKILL)
	}
	for i := range tc.procs {
		tc.procs[i] = startBinary(t, tc.bin, tc.args[i]...)
	}
	for i := range tc.procs {
		tc.waitOK(i)
	}
	checkAcked("after killing every node at once")
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, 60*time.Second)
	if res != porcupine.Ok {
		f, _ := os.CreateTemp("", "cluster-history-*.html")
		if f != nil {
			porcupine.Visualize(registerModel, info, f)
			f.Close()
			t.Logf("history written to %s", f.Name())
		}
		t.Fatalf("seed %d: history is not linearizable (%v)", seed, res)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A register per key: GET returns the last value SET ("" for none).
type regInput struct {
	key   string
	write bool
	value string
}

type regOutput struct{ value string }

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(regInput).key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.write {
			return true, in.value
		}
		return output.(regOutput).value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.write {
			return "set " + in.value
		}
		return "get " + output.(regOutput).value
	},
}

// Wrong starts of a cluster node get one clear line and a non-zero exit.
func TestClusterFlagErrors(t *testing.T) {
	dir := t.TempDir()
	initial := "n1=127.0.0.1:17001,n2=127.0.0.1:17002,n3=127.0.0.1:17003"
	base := func(extra ...string) []string {
		return append([]string{"--addr", "127.0.0.1:0", "--node-id", "n1", "--peer-addr", "127.0.0.1:0",
			"--initial-cluster", initial, "--data-dir", filepath.Join(dir, "n1")}, extra...)
	}
	other := filepath.Join(dir, "other")
	if _, err := claimDataDir(other, "0123456789abcdef", "n2", false); err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(dir, "single")
	writeSingleServerDir(t, single, nil)
	badACL := filepath.Join(dir, "bad.acl")
	if err := os.WriteFile(badACL, []byte("user default on nopass ~* &* +@all\nuser alice on +nosuch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	goodACL := filepath.Join(dir, "good.acl")
	if err := os.WriteFile(goodACL, []byte("user default on nopass ~* &* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"id missing", base("--node-id", "n9"), exitUsage, `--node-id "n9" is not in --initial-cluster`},
		{"bad id", base("--node-id", "n 1"), exitUsage, "invalid value \"n 1\" for --node-id"},
		{"duplicate id", base("--initial-cluster", "n1=127.0.0.1:1,n1=127.0.0.1:2"), exitUsage, "duplicate"},
		{"duplicate address", base("--initial-cluster", "n1=127.0.0.1:1,n2=127.0.0.1:1"), exitUsage, "duplicate"},
		{"no data dir", base("--data-dir", ""), exitUsage, "--data-dir is required"},
		{"no peer addr", base("--peer-addr", ""), exitUsage, "--peer-addr is required"},
		{"too many replicas", base("--replicas", "4"), exitUsage, "replicas"},
		{"peer flags alone", []string{"--node-id", "n1", "--peer-addr", "127.0.0.1:1"}, exitUsage, "need --initial-cluster"},
		{"bad keyspace", base("--cluster-keyspace", "all"), exitUsage, `invalid value "all" for --cluster-keyspace: use node or cluster`},
		{"bad aclfile", base("--aclfile", badACL), exitUsage, "aclfile: " + badACL + ":2: Error in applying operation '+nosuch'"},
		{"no aclfile", base("--aclfile", filepath.Join(dir, "none.acl")), exitUsage, "Error loading ACLs, opening file"},
		{"aclfile and requirepass", base("--aclfile", goodACL, "--requirepass", "x"), exitUsage, "--requirepass cannot be used with --aclfile"},
		{"another node's dir", base("--data-dir", other), exitError, "belongs to another cluster or node"},
		{"a single server's dir, three founders", base("--data-dir", single), exitError, "holds a single server's data: to keep its keys, found a cluster of this node alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr testutil.SyncBuffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) || len(lines) != 1 {
				t.Fatalf("got exit %d and %q, want exit %d and one line with %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// With --tls-cert, --tls-key and --tls-ca the nodes talk mutual TLS, and a
// peer port refuses plain connections.
func TestClusterMutualTLS(t *testing.T) {
	cert, key, _ := writeCert(t, t.TempDir())
	tc := startCluster(t, buildBinary(t), "--tls-cert", cert, "--tls-key", key, "--tls-ca", cert)
	ctx := context.Background()
	a := redis.NewClient(&redis.Options{Addr: tc.addrs[0]})
	defer a.Close()
	b := redis.NewClient(&redis.Options{Addr: tc.addrs[2]})
	defer b.Close()
	for i := range 20 {
		k := fmt.Sprintf("tls:%d", i)
		if err := a.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if got, err := b.Get(ctx, k).Int(); err != nil || got != i {
			t.Fatalf("GET %s on another node: got %d, %v", k, got, err)
		}
	}
	peerAddr := tc.args[1][slices.Index(tc.args[1], "--peer-addr")+1]
	nc, err := net.Dial("tcp", peerAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "DCP hello in plain text\r\n")
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("a plain connection to a TLS peer port: %v, want it closed", err)
	}
	waitFor(t, "n2 to log the refusal", func() bool {
		return strings.Contains(tc.procs[1].stderr.String(), "tls handshake failed")
	})
}

// With --raft-log-memory small, the groups drop applied entries from memory
// without any snapshot taken (far fewer entries than --snapshot-count): a
// node that was down catches up from snapshots the leaders build from
// their keyspaces, sent over TCP, then holds every key.
func TestClusterCatchUpPastRaftLogMemory(t *testing.T) {
	tc := startCluster(t, buildBinary(t), "--raft-log-memory", "16kb")
	tc.procs[2].stop(t, syscall.SIGKILL)
	const keys = 4000
	val := strings.Repeat("v", 200) // about 800 KB in all, 50 times the bound
	tc.writeKeys(0, "mem:", val, keys)
	trimmed := regexp.MustCompile(`log_trims=[1-9]`)
	for i := range 2 {
		c := redis.NewClient(&redis.Options{Addr: tc.addrs[i]})
		waitFor(t, fmt.Sprintf("n%d to trim its in-memory log", i+1), func() bool {
			info, err := c.Do(context.Background(), "info").Text()
			return err == nil && trimmed.MatchString(info)
		})
		c.Close()
	}
	tc.restart(2)
	tc.checkCaughtUp(2, "mem:", val, keys)
}

// writeKeys sets keys prefix0…prefix<n-1> to val followed by their number
// through node i, in pipelines of 4 (a node's pipeline goes to each group
// as one log entry), each tried again on an error: a pipeline caught by an
// election may answer UNKNOWN or TRYAGAIN, and SETs of fixed values may
// run again.
func (tc *testCluster) writeKeys(i int, prefix, val string, n int) {
	tc.t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[i]})
	defer rc.Close()
	const batch = 4
	for k := 0; k < n; k += batch {
		var err error
		for try := 0; try < 20; try++ {
			pipe := rc.Pipeline()
			for j := k; j < min(k+batch, n); j++ {
				pipe.Set(ctx, prefix+strconv.Itoa(j), val+strconv.Itoa(j), 0)
			}
			if _, err = pipe.Exec(ctx); err == nil {
				break
			}
		}
		if err != nil {
			tc.t.Fatalf("SETs from %s%d: %v", prefix, k, err)
		}
	}
}

// checkCaughtUp checks that node i, restarted, comes to hold the n keys
// writeKeys wrote, having installed a snapshot.
func (tc *testCluster) checkCaughtUp(i int, prefix, val string, n int) {
	tc.t.Helper()
	info := tc.checkHolds(i, prefix, val, n)
	if !regexp.MustCompile(`installed=[1-9]`).MatchString(info) {
		tc.t.Fatalf("the restarted node installed no snapshot:\n%s", info)
	}
}

// checkHolds checks that node i comes to hold the n keys writeKeys wrote,
// and returns its INFO. Its READONLY reads are served by its own replicas.
func (tc *testCluster) checkHolds(i int, prefix, val string, n int) string {
	tc.t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[i], OnConnect: func(ctx context.Context, cn *redis.Conn) error {
		return cn.ReadOnly(ctx).Err()
	}})
	defer rc.Close()
	waitFor(tc.t, "the restarted node to hold every key", func() bool {
		got, err := rc.DBSize(ctx).Result()
		return err == nil && got == int64(n)
	})
	info, err := rc.Do(ctx, "info").Text()
	if err != nil {
		tc.t.Fatal(err)
	}
	for _, j := range []int{0, 1, n / 2, n - 1} {
		k := prefix + strconv.Itoa(j)
		if got, err := rc.Get(ctx, k).Result(); err != nil || got != val+strconv.Itoa(j) {
			tc.t.Fatalf("%s on the restarted node: got %q, %v", k, got, err)
		}
	}
	return info
}

// A node that was down while the others compacted their logs catches up
// from snapshots sent over TCP in parts, then holds every key.
func TestClusterSnapshotCatchUp(t *testing.T) {
	tc := startCluster(t, buildBinary(t), "--snapshot-count", "1000")
	tc.procs[2].stop(t, syscall.SIGKILL)
	// Small pipelines make thousands of entries per group, past several
	// snapshots of 1000.
	const keys = 24000
	val := strings.Repeat("v", 200) // about 5 MB in all: each group's snapshot takes parts
	tc.writeKeys(0, "snap:", val, keys)
	tc.restart(2)
	tc.checkCaughtUp(2, "snap:", val, keys)
}

// A node killed after its groups took snapshots restarts from its own
// snapshot files, read a part at a time, and the entries after them: it
// holds every key without a snapshot from a leader, and its log says what
// each replica recovered.
func TestClusterRestartFromSnapshotFiles(t *testing.T) {
	tc := startCluster(t, buildBinary(t), "--snapshot-count", "1000")
	const keys = 12000
	val := strings.Repeat("v", 200)
	tc.writeKeys(0, "own:", val, keys)
	// Every group past a snapshot on node 3: writes after the last one
	// are in its log only.
	saved := regexp.MustCompile(`msg="snapshot saved" group=(\d+)`)
	waitFor(t, "node 3's three groups to save snapshots", func() bool {
		groups := map[string]bool{}
		for _, m := range saved.FindAllStringSubmatch(tc.procs[2].stderr.String(), -1) {
			groups[m[1]] = true
		}
		return len(groups) == 3
	})
	tc.writeKeys(0, "own:", val, keys/10) // again, after the snapshots
	tc.procs[2].stop(t, syscall.SIGKILL)
	tc.restart(2)
	info := tc.checkHolds(2, "own:", val, keys)
	if regexp.MustCompile(`installed=[1-9]`).MatchString(info) {
		t.Fatalf("the restarted node needed a snapshot from a leader:\n%s", info)
	}
	recovered := regexp.MustCompile(`msg="replica recovered from its log" group=\d+ snapshot_index=[1-9]\d* snapshot_bytes=[1-9]\d* keys=[1-9]`)
	if got := len(recovered.FindAllString(tc.procs[2].stderr.String(), -1)); got != 3 {
		t.Fatalf("%d replicas recovered from a snapshot file, want 3; the node's log:\n%s", got, tc.procs[2].stderr.String())
	}
}
