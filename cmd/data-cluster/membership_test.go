package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// admin runs `data-cluster cluster args...` in the process and returns its
// exit status and output.
func (tc *testCluster) admin(args ...string) (int, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"cluster"}, args...), &out, &errOut)
	return code, out.String() + errOut.String()
}

// status returns CLUSTER STATUS as node i reports it.
func (tc *testCluster) status(i int) clusterStatus {
	tc.t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[i]})
	defer rc.Close()
	s, err := rc.Do(context.Background(), "CLUSTER", "STATUS").Text()
	if err != nil {
		tc.t.Fatalf("CLUSTER STATUS on n%d: %v", i+1, err)
	}
	var st clusterStatus
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		tc.t.Fatalf("CLUSTER STATUS on n%d: %v: %q", i+1, err, s)
	}
	return st
}

// holders returns the nodes holding a replica of data group g in st.
func holders(st clusterStatus, g int) []string {
	var ids []string
	for _, r := range st.Groups[g].Replicas {
		ids = append(ids, r.Node)
	}
	slices.Sort(ids)
	return ids
}

// writer is clients writing distinct keys through a go-redis
// ClusterClient that follows the cluster's changes, counting what was
// acknowledged.
type writer struct {
	tc     *testCluster
	cancel context.CancelFunc
	wg     sync.WaitGroup
	n      atomic.Int64
	mu     sync.Mutex
	acked  []string
}

// write starts three clients writing keys prefix<client>:<i> until stop.
func (tc *testCluster) write(prefix string) *writer {
	w := &writer{tc: tc}
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: slices.Clone(tc.addrs), ClusterStateReloadInterval: 200 * time.Millisecond,
		MaxRedirects: 20, ReadTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = func() {
		cancel()
		w.wg.Wait()
		rc.Close()
	}
	tc.t.Cleanup(w.cancel)
	for c := range 3 {
		w.wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 1_000_000; i++ {
				k := fmt.Sprintf("%s%d:%d", prefix, c, i)
				if rc.Set(ctx, k, k, 0).Err() == nil {
					w.mu.Lock()
					w.acked = append(w.acked, k)
					w.mu.Unlock()
					w.n.Add(1)
				}
			}
		})
	}
	return w
}

// more waits for that many more acknowledged writes.
func (w *writer) more(count int64) {
	w.tc.t.Helper()
	target := w.n.Load() + count
	waitFor(w.tc.t, fmt.Sprintf("%d more writes", count), func() bool { return w.n.Load() >= target })
}

// stop stops the clients and checks that every acknowledged write reads
// back through the nodes at addrs.
func (w *writer) stop(addrs []string) {
	w.tc.t.Helper()
	w.cancel()
	check := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: 20})
	defer check.Close()
	for _, k := range w.acked {
		if v, err := check.Get(context.Background(), k).Result(); err != nil || v != k {
			w.tc.t.Fatalf("acknowledged write %s reads %q, %v", k, v, err)
		}
	}
	w.tc.t.Logf("%d acknowledged writes read back", len(w.acked))
}

// TestClusterMembership runs the cluster's changes of shape on real
// processes through the admin command line, while a client writes: a
// replica moved by hand, a killed node's replicas re-created on the
// others, its return, and a node removed. Every write acknowledged is read
// back at the end.
func TestClusterMembership(t *testing.T) {
	tc := startClusterN(t, buildBinary(t), 4, "--node-down-after", "2s", "--snapshot-count", "1000")
	w := tc.write("m")
	written := w.more
	written(500)

	// status lists every node and group.
	code, out := tc.admin("status", "--addr", tc.addrs[0])
	if code != 0 || !strings.Contains(out, "n4") || !strings.Contains(out, "GROUP") {
		t.Fatalf("cluster status: exit %d\n%s", code, out)
	}

	// A move by hand, waited for: from a node with the most replicas to
	// one with the fewest, which leaves the cluster balanced, so that
	// automatic placement does not move it back.
	st := tc.status(0)
	count := map[string]int{}
	for _, nd := range st.Nodes {
		count[nd.ID] = nd.Replicas
	}
	g, from, to := -1, "", ""
	for gi := range st.Groups {
		h := holders(st, gi)
		for _, a := range h {
			for _, nd := range st.Nodes {
				b := nd.ID
				if !slices.Contains(h, b) && count[a] > count[b] {
					g, from, to = gi, a, b
				}
			}
		}
	}
	if g < 0 {
		t.Fatalf("no move keeps the cluster balanced: %v", count)
	}
	code, out = tc.admin("move", "--addr", tc.addrs[1], "--wait-timeout", "60s", fmt.Sprint(g), from, to)
	if code != 0 {
		t.Fatalf("cluster move %d %s %s: exit %d\n%s", g, from, to, code, out)
	}
	// The move is done on the node that ran it; another node sees the
	// table that says so once it has applied it.
	var h []string
	testutil.Await(t, 20*time.Second, func() bool {
		h = holders(tc.status(2), g)
		return !slices.Contains(h, from) && slices.Contains(h, to)
	}, func() string { return fmt.Sprintf("group %d on %v after moving from %s to %s", g, h, from, to) })
	written(500)

	// Bad input changes nothing.
	epoch := tc.status(0).Epoch
	for _, bad := range [][]string{{"move", "0", "n1", "n9"}, {"move", "7", "n1", "n2"}, {"remove-node", "n9"}} {
		code, out := tc.admin(append(bad, "--addr", tc.addrs[0], "--no-wait")...)
		if code != 1 || !strings.Contains(out, "ERR") {
			t.Errorf("cluster %v: exit %d, want 1 with an error\n%s", bad, code, out)
		}
	}
	if code, out := tc.admin("move", "--addr", tc.addrs[0], "x", "n1", "n2"); code != 2 || !strings.Contains(out, "invalid group") {
		t.Errorf("cluster move x: exit %d, want 2 (usage)\n%s", code, out)
	}
	if e := tc.status(0).Epoch; e != epoch {
		t.Fatalf("refused changes moved the epoch from %d to %d", epoch, e)
	}

	// A node killed: after --node-down-after its replicas are on the others.
	victim := 3
	tc.procs[victim].stop(t, syscall.SIGKILL)
	killed := time.Now()
	waitFor(t, "n4's replicas to be re-created on the others", func() bool {
		st := tc.status(0)
		for g := range st.Groups {
			if slices.Contains(holders(st, g), "n4") || st.Groups[g].Moving || len(holders(st, g)) != 3 {
				return false
			}
		}
		return true
	})
	t.Logf("replicated three times again %v after n4 was killed", time.Since(killed).Round(time.Millisecond))
	written(500)

	// It comes back: replicas spread over it again.
	tc.restart(victim)
	waitFor(t, "replicas to spread over n4 again", func() bool {
		st := tc.status(0)
		for _, nd := range st.Nodes {
			if nd.ID == "n4" && nd.Replicas > 0 {
				return true
			}
		}
		return false
	})

	// Removed on purpose: drained first, then gone from the table.
	code, out = tc.admin("remove-node", "--addr", tc.addrs[0], "--wait-timeout", "90s", "n4")
	if code != 0 {
		t.Fatalf("cluster remove-node n4: exit %d\n%s", code, out)
	}
	// n1 answered that n4 left; n2 follows that table within a tick.
	waitFor(t, "n2 to follow the table without n4", func() bool { return len(tc.status(1).Nodes) == 3 })
	written(500)
	w.stop(tc.addrs[:3])
}

// join starts a node new to the cluster, id n<len+1>, with --join to node
// via's peer address, and returns its index.
func (tc *testCluster) join(via int, extra ...string) int {
	tc.t.Helper()
	i := len(tc.procs)
	tc.addrs = append(tc.addrs, testutil.FreeAddr(tc.t))
	tc.mets = append(tc.mets, "")
	args := []string{"--addr", tc.addrs[i], "--node-id", fmt.Sprintf("n%d", i+1), "--peer-addr", testutil.FreeAddr(tc.t),
		"--join", tc.peerAddr(via), "--data-dir", filepath.Join(tc.t.TempDir(), fmt.Sprintf("n%d", i+1)),
		"--fsync", "always"}
	tc.args = append(tc.args, append(args, extra...))
	tc.procs = append(tc.procs, startBinary(tc.t, tc.bin, tc.args[i]...))
	tc.waitOK(i)
	return i
}

// peerAddr returns node i's --peer-addr.
func (tc *testCluster) peerAddr(i int) string {
	return tc.args[i][slices.Index(tc.args[i], "--peer-addr")+1]
}

// TestClusterJoin grows a cluster of three real processes to five under
// writes: each new node asks a member to admit it, and automatic
// placement moves replicas and the metadata group onto it. A joined node
// restarts from its data dir; a second node under a taken id, and bad
// flags, are refused. Every acknowledged write reads back.
func TestClusterJoin(t *testing.T) {
	tc := startCluster(t, buildBinary(t), "--shards", "5", "--snapshot-count", "1000")
	w := tc.write("j")
	start := time.Now()
	n4 := tc.join(0)
	tc.join(1)
	waitFor(t, "replicas and the metadata group to spread over five nodes", func() bool {
		st := tc.status(4)
		if len(st.Nodes) != 5 || st.Meta == nil || len(st.Meta.Replicas) != 5 || st.Meta.Moving {
			return false
		}
		counts := map[string]int{}
		for g := range st.Groups {
			if st.Groups[g].Moving {
				return false
			}
			for _, r := range st.Groups[g].Replicas {
				counts[r.Node]++
			}
		}
		return len(counts) == 5 && slices.Max(slices.Collect(maps.Values(counts)))-slices.Min(slices.Collect(maps.Values(counts))) <= 1
	})
	t.Logf("grew from three nodes to five, balanced, in %v", time.Since(start).Round(time.Millisecond))

	// A joined node restarts from its data dir, without asking again.
	tc.procs[n4].stop(t, syscall.SIGKILL)
	tc.restart(n4)

	// A second node under a taken id is refused, and exits.
	taken := append(slices.Clone(tc.args[n4]), "--data-dir", t.TempDir())
	taken[slices.Index(taken, "--peer-addr")+1] = testutil.FreeAddr(t)
	taken[slices.Index(taken, "--addr")+1] = testutil.FreeAddr(t)
	cmd := exec.Command(tc.bin, taken...)
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "already in the cluster") {
		t.Fatalf("a second n4: exit %d (%v)\n%s", code, err, out)
	}
	// --join with --initial-cluster is a usage error.
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--node-id", "x", "--peer-addr", "127.0.0.1:1", "--data-dir", t.TempDir(),
		"--join", tc.peerAddr(0), "--initial-cluster", "x=127.0.0.1:1"}, io.Discard, &stderr); code != exitUsage ||
		!strings.Contains(stderr.String(), "exclude each other") {
		t.Fatalf("--join with --initial-cluster: exit %d: %s", code, stderr.String())
	}

	w.stop(tc.addrs)
}

// TestClusterSetShards changes the number of shard groups of three real
// processes through the admin command line while a client writes: from 3
// to 5, a node restarted with its founding flags, then down to 2. Every
// acknowledged write is read back. The nodes forward for the client, or
// with --cluster-redirects answer it MOVED and ASK, which go-redis's
// ClusterClient follows.
func TestClusterSetShards(t *testing.T) {
	bin := buildBinary(t)
	t.Run("forwarding", func(t *testing.T) { testSetShards(t, bin) })
	t.Run("redirects", func(t *testing.T) { testSetShards(t, bin, "--cluster-redirects") })
}

func testSetShards(t *testing.T, bin string, extra ...string) {
	tc := startCluster(t, bin, append([]string{"--snapshot-count", "1000"}, extra...)...)
	w := tc.write("s")
	w.more(2000)

	code, out := tc.admin("set-shards", "--addr", tc.addrs[0], "--wait-timeout", "60s", "5")
	if code != 0 || !strings.Contains(out, "5 shard groups") || !strings.Contains(out, "moving") {
		t.Fatalf("cluster set-shards 5: exit %d\n%s", code, out)
	}
	// The command waited for the change as n1 saw it; n2 applies the
	// metadata group's entries on its own, a moment later.
	for deadline := time.Now().Add(20 * time.Second); ; {
		st := tc.status(1)
		if len(st.Groups) == 5 && !st.Reshaping && st.Migration == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after set-shards 5, n2 reports %d groups, reshaping %v", len(st.Groups), st.Reshaping)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 3 {
		tc.waitOK(i)
	}
	w.more(500)

	// A second change while none runs is taken; refused while one runs.
	if code, out := tc.admin("set-shards", "--addr", tc.addrs[2], "--no-wait", "2"); code != 0 {
		t.Fatalf("cluster set-shards 2: exit %d\n%s", code, out)
	}
	if code, out := tc.admin("set-shards", "--addr", tc.addrs[0], "--no-wait", "4"); code != 1 || !strings.Contains(out, "already changing") {
		t.Errorf("set-shards while one runs: exit %d, want 1\n%s", code, out)
	}
	// A node restarted meanwhile, with the flags it was founded with
	// (--shards 3), follows the table it finds in its log.
	tc.procs[1].stop(t, syscall.SIGKILL)
	tc.restart(1)
	code, out = tc.admin("set-shards", "--addr", tc.addrs[0], "--wait-timeout", "60s", "2")
	if code != 0 || !strings.Contains(out, "2 shard groups") {
		t.Fatalf("cluster set-shards 2 (waiting): exit %d\n%s", code, out)
	}
	for i := range 3 {
		tc.waitOK(i)
	}
	w.more(500)
	w.stop(tc.addrs)

	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[1]})
	defer rc.Close()
	shards, err := rc.ClusterShards(context.Background()).Result()
	if err != nil || len(shards) != 2 {
		t.Fatalf("CLUSTER SHARDS on n2: %d shards, %v", len(shards), err)
	}
	if code, out := tc.admin("set-shards", "--addr", tc.addrs[0], "--no-wait", "2000"); code != 1 || !strings.Contains(out, "ERR") {
		t.Errorf("set-shards 2000: exit %d, want 1\n%s", code, out)
	}
	// A client that is not cluster-aware is forwarded for, or told MOVED,
	// by a node that does not lead every group (two groups, three nodes:
	// the one leading fewest leads at most one).
	via := tc.leaderLightest()
	plain := redis.NewClient(&redis.Options{Addr: tc.addrs[via]})
	defer plain.Close()
	moved := 0
	for i := range 200 {
		err := plain.Set(context.Background(), fmt.Sprintf("plain:%d", i), "v", 0).Err()
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "MOVED "):
			moved++
		case err != nil:
			t.Fatalf("SET through n%d: %v", via+1, err)
		}
	}
	if redirects := slices.Contains(extra, "--cluster-redirects"); redirects != (moved > 0) {
		t.Fatalf("%d of 200 SETs through n%d answered MOVED (flags %v)", moved, via+1, extra)
	}
}
