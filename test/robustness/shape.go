package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Changes of the cluster's shape while the nemesis injects faults: an
// operator asking for another number of shard groups, so that slots move
// between groups key by key under the workloads and the faults. The
// histories' checks then cover keys that moved.

// Bounds of the reshaper.
const (
	minShards, maxShards = 2, 5
	// reshapeTimeout bounds the wait, once the faults are over, for the
	// last change asked to end.
	reshapeTimeout = 2 * time.Minute
)

// ShapeStats counts the changes of the number of groups a run asked for.
type ShapeStats struct {
	Asked    int // CLUSTER SETSHARDS sent
	Accepted int // answered +OK
	Refused  int // refused because a change was under way
	Failed   int // another error, or no answer
	Final    int // groups at the end
}

// reshape asks a random node, every 4 to 10 s, for a number of groups
// drawn from minShards..maxShards, until ctx is done. The draws come from
// the run's seed.
func (r *runner) reshape(ctx context.Context, st *ShapeStats) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), 3))
	c := newClient(r.addrs(), r.cfg.OpTimeout)
	defer c.close()
	last := 3
	for {
		sleepCtx(ctx, time.Duration(4000+rng.IntN(6001))*time.Millisecond)
		if ctx.Err() != nil {
			return
		}
		n := minShards + rng.IntN(maxShards-minShards+1)
		if n == last {
			n = minShards + (n-minShards+1)%(maxShards-minShards+1)
		}
		node := rng.IntN(len(r.addrs()))
		rs, _, err := c.do(node, protoRESP, []string{"CLUSTER", "SETSHARDS", strconv.Itoa(n)})
		st.Asked++
		switch rp := first(rs); {
		case err != nil:
			st.Failed++
			r.logf("shape: %d groups asked of %s: %v", n, r.cl.nodes[node].id, err)
		case !rp.isErr():
			st.Accepted++
			last = n
			r.logf("shape: %d groups asked of %s: accepted", n, r.cl.nodes[node].id)
		case strings.Contains(rp.str, "already changing"):
			st.Refused++
			r.logf("shape: %d groups asked of %s: refused, %s", n, r.cl.nodes[node].id, rp.str)
		default:
			st.Failed++
			r.logf("shape: %d groups asked of %s: %s", n, r.cl.nodes[node].id, rp.str)
		}
	}
}

// waitShape waits until every node follows a table of the same epoch with
// the groups it wants and no migration, and returns the number of groups.
func (r *runner) waitShape(timeout time.Duration) (int, error) {
	c := newClient(r.addrs(), r.cfg.OpTimeout)
	defer c.close()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		groups, epoch, done := -1, uint64(0), true
		for i := range r.addrs() {
			rs, _, err := c.do(i, protoRESP, []string{"CLUSTER", "STATUS"})
			var st struct {
				Epoch     uint64            `json:"epoch"`
				Shards    int               `json:"shards"`
				Reshaping bool              `json:"reshaping"`
				Groups    []json.RawMessage `json:"groups"`
			}
			if rp := first(rs); err != nil || rp.isErr() || json.Unmarshal([]byte(rp.str), &st) != nil {
				last = fmt.Sprintf("CLUSTER STATUS on %s: %v %s", r.cl.nodes[i].id, err, rp.str)
				done = false
				break
			}
			if st.Reshaping || len(st.Groups) != st.Shards || (groups >= 0 && (st.Epoch != epoch || len(st.Groups) != groups)) {
				last = fmt.Sprintf("%s at epoch %d: %d groups, %d wanted, reshaping %v", r.cl.nodes[i].id, st.Epoch, len(st.Groups), st.Shards, st.Reshaping)
				done = false
				break
			}
			groups, epoch = len(st.Groups), st.Epoch
		}
		if done {
			return groups, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the number of groups did not settle within %v: %s", timeout, last)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition
	}
}
