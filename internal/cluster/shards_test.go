package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/placement"
)

// shardsDone reports whether t has its wanted number of groups, with
// every slot where a new table of that many groups puts it.
func shardsDone(want int) func(*placement.Table) bool {
	return func(t *placement.Table) bool {
		if len(t.Groups()) != want {
			return false
		}
		_, moving := t.Migration()
		_, next := t.PlanShards(func(string) bool { return false })
		return !moving && !next
	}
}

// counters runs clients that each INCR keys of their own through random
// nodes until stop is closed, and returns a function that waits for them
// and checks that every counter holds what its acknowledged increments
// made it (one more when the last one's outcome is unknown).
func (c *memCluster) counters(stop <-chan struct{}, clients, keys int) func() {
	type counter struct {
		acked, unknown int
	}
	var wg sync.WaitGroup
	counts := make([][]counter, clients)
	for cl := range clients {
		counts[cl] = make([]counter, keys)
		wg.Go(func() {
			for i := 0; i < 1000000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ids := c.running()
				k := i % keys
				r, err := c.do(ids[(cl+i)%len(ids)], Write, "INCR", fmt.Sprintf("ctr:%d:%d", cl, k))
				switch {
				case errors.Is(err, ErrUnknown):
					counts[cl][k].unknown++
				case err != nil:
				case len(r) > 0 && r[0] == ':':
					counts[cl][k].acked++
				default:
					c.t.Errorf("seed %d: INCR answered %q", c.seed, r)
					return
				}
			}
		})
	}
	return func() {
		c.t.Helper()
		wg.Wait()
		total := 0
		for cl := range clients {
			for k := range keys {
				key := fmt.Sprintf("ctr:%d:%d", cl, k)
				var r string
				var err error
				for try := 0; try < 50; try++ {
					ids := c.running()
					if r, err = c.do(ids[try%len(ids)], Read, "GET", key); err == nil {
						break
					}
				}
				if err != nil {
					c.t.Fatalf("seed %d: reading %s: %v", c.seed, key, err)
				}
				got := 0
				if v := bulkValue(r); v != "" {
					got, _ = strconv.Atoi(v)
				}
				want := counts[cl][k]
				if got < want.acked || got > want.acked+want.unknown {
					c.t.Fatalf("seed %d: %s is %d, want %d acknowledged increments (+ up to %d unknown)",
						c.seed, key, got, want.acked, want.unknown)
				}
				total += want.acked
			}
		}
		c.t.Logf("%d acknowledged increments checked", total)
		if total < 100 {
			c.t.Fatalf("seed %d: only %d increments acknowledged: the cluster did not serve", c.seed, total)
		}
	}
}

// Growing from 3 groups to 5 and shrinking to 2 while clients write:
// slots move between groups key by key, every acknowledged increment is
// kept, and the register history stays linearizable.
func TestNodesSetShardsUnderLoad(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 4, 3, nil)
	// Keys written before any change, read back after every one. Each
	// step is tried again while its outcome is unknown or it found no
	// leader: all are idempotent.
	again := func(what string, step func() error) {
		t.Helper()
		var err error
		for try := 0; try < 50; try++ {
			if err = step(); err == nil || errors.Is(err, placement.ErrChange) {
				return
			}
		}
		t.Fatalf("seed %d: %s: %v", seed, what, err)
	}
	for i := range fixedKeys {
		again("writing the fixed keys", func() error {
			_, err := c.do("n1", Write, "SET", fmt.Sprintf("fixed:%d", i), strconv.Itoa(i))
			return err
		})
	}
	// Streams with a consumer group and entries pending for a consumer:
	// each moves whole with its slot.
	pending := map[string]string{}
	for i := range streamKeys {
		k := fmt.Sprintf("stream:%d", i)
		for j := range 3 {
			again("adding to "+k, func() error {
				_, err := c.do("n1", Write, "XADD", k, fmt.Sprintf("%d-1", j+1), "f", strconv.Itoa(j))
				return err
			})
		}
		again("a group on "+k, func() error { _, err := c.do("n1", Write, "XGROUP", "CREATE", k, "g", "0"); return err })
		again("reading "+k, func() error {
			_, err := c.do("n1", Write, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", k, ">")
			return err
		})
		again("the pending entries of "+k, func() error {
			r, err := c.do("n1", Read, "XPENDING", k, "g")
			pending[k] = r
			return err
		})
		if want := "*4\r\n:2\r\n$3\r\n1-1\r\n$3\r\n2-1\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n2\r\n"; pending[k] != want {
			t.Fatalf("seed %d: XPENDING %s: %q, want %q", seed, k, pending[k], want)
		}
	}
	stop := make(chan struct{})
	checkRegs := c.registers(stop, 3)
	checkCtrs := c.counters(stop, 3, 40)
	for _, shards := range []int{5, 2} {
		again(fmt.Sprintf("set shards %d", shards), func() error { return c.node("n2").SetShards(shards) })
		var second error
		again("a second change", func() error { second = c.node("n3").SetShards(7); return second })
		if !errors.Is(second, placement.ErrChange) {
			t.Fatalf("seed %d: a second change while one runs: %v, want ErrChange", seed, second)
		}
		c.waitTable(fmt.Sprintf("%d groups", shards), shardsDone(shards))
		for i := range fixedKeys {
			var r string
			again(fmt.Sprintf("reading fixed:%d after %d groups", i, shards), func() error {
				var err error
				r, err = c.do(c.running()[i%4], Read, "GET", fmt.Sprintf("fixed:%d", i))
				return err
			})
			if bulkValue(r) != strconv.Itoa(i) {
				t.Fatalf("seed %d: fixed:%d after %d groups: %q", seed, i, shards, r)
			}
		}
		for k, want := range pending {
			var r string
			again(fmt.Sprintf("XPENDING %s after %d groups", k, shards), func() error {
				var err error
				r, err = c.do(c.running()[len(k)%4], Read, "XPENDING", k, "g")
				return err
			})
			if r != want {
				t.Fatalf("seed %d: XPENDING %s after %d groups: %q, want %q", seed, k, shards, r, want)
			}
		}
	}
	close(stop)
	checkRegs()
	checkCtrs()
	// Every key is in the group its slot belongs to, and only there.
	tb := c.node("n1").Table()
	seen := map[string]int{}
	for g := range len(tb.Groups()) {
		ch := make(chan result, 1)
		c.node("n1").Do(g, &Request{Cmds: [][][]byte{{[]byte("KEYS"), []byte("*")}}, Proto: 2, Mode: Read,
			Done: func(reply []byte, _ []int, err error) { ch <- result{string(reply), err} }})
		r := <-ch
		keys, _, ok := parseBulkArray([]byte(r.s))
		if r.err != nil || !ok {
			t.Fatalf("seed %d: keys of group %d: %q, %v", seed, g, r.s, r.err)
		}
		for _, k := range keys {
			if owner := tb.GroupOfKey(k); owner != g {
				t.Fatalf("seed %d: key %s is in group %d, its slot is group %d's", seed, k, g, owner)
			}
			if prev, dup := seen[string(k)]; dup {
				t.Fatalf("seed %d: key %s in groups %d and %d", seed, k, prev, g)
			}
			seen[string(k)] = g
		}
	}
	if len(seen) < fixedKeys+streamKeys {
		t.Fatalf("seed %d: %d keys in all, want at least %d", seed, len(seen), fixedKeys)
	}
}

// fixedKeys is how many keys TestNodesSetShardsUnderLoad writes first,
// and streamKeys how many streams.
const (
	fixedKeys  = 2000
	streamKeys = 20
)

// Changing the number of groups back and forth while the network
// isolates, partitions, drops and delays: once it heals every change ends,
// no acknowledged increment is lost and the register history stays
// linearizable.
func TestNodesSetShardsUnderFaults(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 5, 3, func(cfg *NodeConfig) { cfg.Group.WriteTimeout = 300 * time.Millisecond })
	stop := make(chan struct{})
	checkRegs := c.registers(stop, 3)
	checkCtrs := c.counters(stop, 2, 30)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(uint64(seed), 13))
	faults := c.faults(ctx)
	changes, want := 0, 3
	for ctx.Err() == nil {
		next := 2 + rng.IntN(4)
		if err := c.node(c.running()[rng.IntN(5)]).SetShards(next); err == nil {
			changes++
			want = next
		}
		sleepCtx(ctx, time.Duration(200+rng.IntN(300))*time.Millisecond)
	}
	<-faults
	// A change whose outcome was unknown may be taken even now: the
	// table says which number the cluster heads for.
	final := c.waitTable("the groups wanted once the network healed", func(t *placement.Table) bool {
		return shardsDone(t.WantShards())(t)
	})
	want = final.WantShards()
	close(stop)
	checkRegs()
	checkCtrs()
	t.Logf("%d changes of the number of groups started under faults, %d groups at the end", changes, want)
	if changes == 0 {
		t.Fatalf("seed %d: no change started", seed)
	}
}

// A cluster founded by one node grows to three copies of every group
// while clients write: two nodes join, SetReplicas asks for three
// replicas, and once they are there the founding node can stop with
// every key still served. Every acknowledged increment is kept and the
// register history stays linearizable.
func TestNodesSetReplicasFromOneNode(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 1, 3, nil)
	again := func(what string, step func() error) {
		t.Helper()
		var err error
		for try := 0; try < 50; try++ {
			if err = step(); err == nil {
				return
			}
		}
		t.Fatalf("seed %d: %s: %v", seed, what, err)
	}
	const keys = 500
	for i := range keys {
		again("writing the fixed keys", func() error {
			_, err := c.do("n1", Write, "SET", fmt.Sprintf("fixed:%d", i), strconv.Itoa(i))
			return err
		})
	}
	stop := make(chan struct{})
	checkRegs := c.registers(stop, 2)
	checkCtrs := c.counters(stop, 2, 20)
	c.join("n2", "n1")
	c.join("n3", "n1")
	if err := c.node("n2").SetReplicas(4); !errors.Is(err, placement.ErrChange) {
		t.Fatalf("seed %d: 4 replicas on 3 nodes: %v, want ErrChange", seed, err)
	}
	again("asking for 3 replicas", func() error { return c.node("n2").SetReplicas(3) })
	final := c.waitTable("3 replicas in every group", func(t *placement.Table) bool {
		for _, g := range t.Groups() {
			if len(g.Replicas) != 3 || g.Moving() {
				return false
			}
		}
		return true
	})
	c.waitHolders(final, len(final.Groups()))
	close(stop)
	checkRegs()
	checkCtrs()
	// Every group has a majority without the founder.
	c.stop("n1")
	for i := range keys {
		var r string
		again(fmt.Sprintf("reading fixed:%d without n1", i), func() error {
			var err error
			r, err = c.do(c.running()[i%2], Read, "GET", fmt.Sprintf("fixed:%d", i))
			return err
		})
		if bulkValue(r) != strconv.Itoa(i) {
			t.Fatalf("seed %d: fixed:%d without n1: %q", seed, i, r)
		}
	}
}

// A mover whose migration the table no longer has stops, rather than
// retrying its step for as long as its node leads the metadata group. A
// node that lost that lead and won it back while its mover retried kept
// moving an old migration whose groups were gone, and since a node runs one
// mover at a time, the table's migration never started.
func TestMoverStopsWhenMigrationGone(t *testing.T) {
	seed := testSeed(t)
	tn := newTestNodes(t, seed, nil)
	var lead *Node
	eventually(t, "a leader of the metadata group", func() bool {
		for _, n := range tn.nodes {
			if loc := n.local(n.meta); loc != nil && loc.Leader() == loc.cfg.ReplicaID {
				lead = n
				return true
			}
		}
		return false
	})
	if m, ok := lead.Table().Migration(); ok {
		t.Fatalf("seed %d: a new cluster migrates %+v", seed, m)
	}
	// Group 5 is not in the table: each step finds no leader for it, as
	// the stuck mover's did.
	gone := placement.Migration{From: 5, To: 0, Slots: []placement.Range{{Start: 0, End: 10}}, Epoch: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := lead.moverCall(ctx, gone, gone.From, Read, []string{string(cmdKeysIn), "0", "1"}); !errors.Is(err, errMigrationGone) {
		t.Fatalf("seed %d: a step of a migration the table does not have ended with %v, want %v", seed, err, errMigrationGone)
	}
}
