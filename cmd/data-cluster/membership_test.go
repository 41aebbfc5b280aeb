package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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

// TestClusterMembership runs the cluster's changes of shape on real
// processes through the admin command line, while a client writes: a
// replica moved by hand, a killed node's replicas re-created on the
// others, its return, and a node removed. Every write acknowledged is read
// back at the end.
func TestClusterMembership(t *testing.T) {
	tc := startClusterN(t, buildBinary(t), 4, "--node-down-after", "2s", "--snapshot-count", "1000")
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: tc.addrs, ClusterStateReloadInterval: 200 * time.Millisecond,
		MaxRedirects: 20, ReadTimeout: 5 * time.Second})
	defer rc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		acked []string
		n     atomic.Int64
		wg    sync.WaitGroup
	)
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 1_000_000; i++ {
				k := fmt.Sprintf("m%d:%d", w, i)
				if rc.Set(ctx, k, k, 0).Err() == nil {
					mu.Lock()
					acked = append(acked, k)
					mu.Unlock()
					n.Add(1)
				}
			}
		})
	}
	written := func(more int64) {
		t.Helper()
		target := n.Load() + more
		waitFor(t, fmt.Sprintf("%d more writes", more), func() bool { return n.Load() >= target })
	}
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
	if h := holders(tc.status(2), g); slices.Contains(h, from) || !slices.Contains(h, to) {
		t.Fatalf("group %d on %v after moving from %s to %s", g, h, from, to)
	}
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
	st = tc.status(1)
	if len(st.Nodes) != 3 {
		t.Fatalf("after removing n4: %d nodes", len(st.Nodes))
	}
	written(500)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	check := redis.NewClusterClient(&redis.ClusterOptions{Addrs: tc.addrs[:3], MaxRedirects: 20})
	defer check.Close()
	for _, k := range acked {
		if v, err := check.Get(context.Background(), k).Result(); err != nil || v != k {
			t.Fatalf("acknowledged write %s reads %q, %v", k, v, err)
		}
	}
	t.Logf("%d acknowledged writes read back", len(acked))
}
