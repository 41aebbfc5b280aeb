package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/anishathalye/porcupine"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// memTransport is a node's end of an in-memory peer.Network.
type memTransport struct {
	peer.Sender
	meta map[string]string
}

func (m memTransport) Connected(string) bool { return true }
func (m memTransport) Meta(id string) string { return m.meta[id] }

// testNodes is a three-node cluster in one process over a peer.Network.
type testNodes struct {
	t     testing.TB
	net   *peer.Network
	nodes []*Node
}

// logWork sums, over every replica of every node, the in-memory log trims
// and the snapshots taken and installed, for a test's log.
func (tn *testNodes) logWork() string {
	var trims, taken, installed int64
	for _, n := range tn.nodes {
		for g := range n.Groups() {
			if gr := n.Group(g); gr != nil {
				st := gr.Stats()
				trims, taken, installed = trims+st.Trims.Load(), taken+st.Snapshots.Load(), installed+st.Installed.Load()
			}
		}
	}
	return fmt.Sprintf("log trims %d, snapshots taken %d, installed %d", trims, taken, installed)
}

func testSeed(t testing.TB) int64 {
	seed := time.Now().UnixNano()
	if s := os.Getenv("CLUSTER_TEST_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	t.Logf("seed %d (CLUSTER_TEST_SEED to repeat)", seed)
	return seed
}

func newTestNodes(t testing.TB, seed int64, edit func(*GroupConfig)) *testNodes {
	return startTestNodes(t, seed, edit, 1, true)
}

// startTestNodes starts three nodes; the third is given a table of epoch
// lastEpoch. With wait, it waits until every node says cluster_state:ok.
func startTestNodes(t testing.TB, seed int64, edit func(*GroupConfig), lastEpoch uint64, wait bool) *testNodes {
	t.Helper()
	return startTestNodesShards(t, seed, edit, lastEpoch, wait, 3)
}

// startTestNodesShards is startTestNodes with that many shard groups.
func startTestNodesShards(t testing.TB, seed int64, edit func(*GroupConfig), lastEpoch uint64, wait bool, shards int) *testNodes {
	t.Helper()
	keepLogs(t)
	nodes := []placement.Node{{ID: "n1", PeerAddr: "p1:1"}, {ID: "n2", PeerAddr: "p2:1"}, {ID: "n3", PeerAddr: "p3:1"}}
	table, err := placement.New(1, nodes, shards, 3, 64)
	if err != nil {
		t.Fatal(err)
	}
	other, err := placement.New(lastEpoch, nodes, shards, 3, 64)
	if err != nil {
		t.Fatal(err)
	}
	gc := DefaultGroupConfig()
	gc.Tick = 10 * time.Millisecond
	gc.WriteTimeout = 2 * time.Second
	if edit != nil {
		edit(&gc)
	}
	tn := &testNodes{t: t, net: peer.NewNetwork(seed)}
	meta := map[string]string{"n1": "127.0.0.1:1", "n2": "127.0.0.1:2", "n3": "127.0.0.1:3"}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, nd := range nodes {
		tab := table
		if i == 2 {
			tab = other
		}
		n, err := NewNode(NodeConfig{NodeID: nd.ID, Addr: meta[nd.ID], Table: tab, Group: gc,
			Retry: 300 * time.Millisecond,
			OpenStorage: func(int) (Storage, State, error) {
				return &MemStorage{}, State{}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		n.SetTransport(memTransport{tn.net.Join(nd.ID, n), meta})
		tn.nodes = append(tn.nodes, n)
		wg.Go(func() { n.Run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		tn.net.Close()
	})
	if wait {
		eventually(t, "every group to have a leader", func() bool {
			for _, n := range tn.nodes {
				if !n.State() {
					return false
				}
			}
			return true
		})
		// Leaders move to their preferred replicas soon after the first
		// election; wait for that, so that tests do not run through it.
		eventually(t, "leaders to spread", func() bool {
			seen := map[int]bool{}
			for g := range tn.nodes[0].Groups() {
				seen[tn.nodes[0].Leader(tn.nodes[0].v(), g)] = true
			}
			return len(seen) == len(tn.nodes)
		})
		// Leaders spread by the first elections may still not be the
		// preferred ones, which they hand over to: wait until every
		// replica, of the metadata group too, knows its preferred leader
		// as the leader.
		eventually(t, "leaders on their preferred replicas", func() bool { return onPreferredAll(tn.nodes...) })
	}
	return tn
}

// onPreferredAll reports whether every group of nodes, the metadata group
// too, has its preferred replica as leader as each node sees it.
func onPreferredAll(nodes ...*Node) bool {
	for _, n := range nodes {
		for g := range n.Groups() {
			if !onPreferred(n.Group(g)) {
				return false
			}
		}
		if !onPreferred(n.Group(n.meta)) {
			return false
		}
	}
	return true
}

// onPreferred reports whether replica g (nil: none here) knows its group's
// preferred replica, when it has one, as the leader.
func onPreferred(g *Group) bool {
	if g == nil {
		return true
	}
	p := g.preferred()
	return p == 0 || g.Leader() == p
}

// The placement table is recorded in the metadata group; a node whose own
// table differs from the recorded one does not serve.
func TestNodesAgreeOnPlacement(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	for i, n := range tn.nodes {
		got, err := n.call(n.meta, Read, []string{"GET", placementKey})
		if want := describe(n.Table()); err != nil || bulkValue(string(got)) != want {
			t.Fatalf("n%d reads placement %q, %v, want %q", i+1, got, err, want)
		}
	}

	// Whichever table is recorded first stays: the nodes whose table it is
	// serve, the other does not, however long it runs.
	odd := startTestNodes(t, testSeed(t), nil, 2, false)
	var recorded string
	eventually(t, "a table to be recorded", func() bool {
		got, err := odd.nodes[0].call(odd.nodes[0].meta, Read, []string{"GET", placementKey})
		recorded = bulkValue(string(got))
		return err == nil && recorded != ""
	})
	var differ []int
	for i, n := range odd.nodes {
		if describe(n.Table()) == recorded {
			eventually(t, fmt.Sprintf("n%d to agree", i+1), n.State)
		} else {
			differ = append(differ, i)
		}
	}
	if len(differ) == 0 {
		t.Fatal("every node's table matched the recorded one; one was made to differ")
	}
	for _, i := range differ {
		if odd.nodes[i].State() || odd.nodes[i].agreed.Load() {
			t.Fatalf("n%d, whose table differs from the recorded one, agreed", i+1)
		}
		if _, err := odd.do(i, Write, "SET", "k", "v"); err == nil {
			t.Fatalf("n%d, whose table differs from the recorded one, served a key", i+1)
		}
	}
}

// do runs one command through node i and waits for its reply.
func (tn *testNodes) do(i int, mode Mode, args ...string) (string, error) {
	cmd := make([][]byte, len(args))
	for j, a := range args {
		cmd[j] = []byte(a)
	}
	n := tn.nodes[i]
	g := n.Table().GroupOfKey(cmd[1])
	ch := make(chan struct {
		s   string
		err error
	}, 1)
	n.Do(g, &Request{Cmds: [][][]byte{cmd}, Proto: 2, Mode: mode, Done: func(reply []byte, _ []int, err error) {
		ch <- struct {
			s   string
			err error
		}{string(reply), err}
	}})
	r := <-ch
	return r.s, r.err
}

func TestNodesServeAnyKeyFromAnyNode(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	for i := range 60 {
		k := fmt.Sprintf("k%d", i)
		if r, err := tn.do(i%3, Write, "SET", k, "v"+k); err != nil || r != "+OK\r\n" {
			t.Fatalf("SET %s through n%d: got %q, %v", k, i%3+1, r, err)
		}
		want := fmt.Sprintf("$%d\r\nv%s\r\n", len(k)+1, k)
		if r, err := tn.do((i+1)%3, Read, "GET", k); err != nil || r != want {
			t.Fatalf("GET %s through n%d: got %q, %v, want %q", k, (i+1)%3+1, r, err, want)
		}
	}
	// Leaders end up one per node.
	eventually(t, "leaders to spread", func() bool {
		seen := map[int]bool{}
		for g := range tn.nodes[0].Groups() {
			seen[tn.nodes[0].Leader(tn.nodes[0].v(), g)] = true
		}
		return len(seen) == 3
	})
}

// Writes forwarded to a group's leader keep their outcome when leadership
// moves on: the old leader applies what its successor commits and answers
// the node that forwarded them, which waits for that answer rather than
// ending them as of unknown outcome. Leadership of one group is handed from
// replica to replica while clients INCR a counter through every node: no
// INCR may end UNKNOWN, and the counter ends at the number acknowledged.
func TestForwardedWritesKeepOutcomeAcrossTransfers(t *testing.T) {
	seed := testSeed(t)
	tn := newTestNodes(t, seed, nil)
	const key = "ctr"
	g := tn.nodes[0].Table().GroupOfKey([]byte(key))
	var (
		mu                      sync.Mutex
		acked, unknown, refused int
		stop                    = make(chan struct{})
		wg                      sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := tn.do(i%3, Write, "INCR", key)
				mu.Lock()
				switch {
				case err == nil:
					acked++
				case errors.Is(err, ErrUnknown):
					unknown++
				default:
					refused++ // never applied: ErrTryAgain, ErrBusy…
				}
				mu.Unlock()
			}
		})
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return acked
	}
	// leader returns the index of the node whose replica of g leads it in
	// its own view, -1 for none.
	leader := func() int {
		for i, n := range tn.nodes {
			if loc := n.local(g); loc != nil && loc.Leader() == loc.cfg.ReplicaID {
				return i
			}
		}
		return -1
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	const transfers = 20
	for range transfers {
		before := count()
		eventually(t, "writes between transfers", func() bool { return count() >= before+20 })
		var l int
		eventually(t, "a leader", func() bool { l = leader(); return l >= 0 })
		to := (l + 1 + rng.IntN(2)) % 3
		from, lead := tn.nodes[l].local(g), tn.nodes[to].local(g).cfg.ReplicaID
		term := from.Status().Term
		from.Step(&raftpb.Message{Type: raftpb.MsgTransferLeader.Enum(), From: new(lead), To: new(from.cfg.ReplicaID)})
		eventually(t, "leadership to move", func() bool {
			st := tn.nodes[to].local(g).Status()
			return st.Term > term
		})
	}
	close(stop)
	wg.Wait()
	r, err := tn.do(0, Read, "GET", key)
	if err != nil {
		t.Fatalf("seed %d: GET %s: %v", seed, key, err)
	}
	want := fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(acked)), acked)
	t.Logf("%d transfers: %d INCR acknowledged, %d refused, %d of unknown outcome", transfers, acked, refused, unknown)
	if unknown > 0 {
		t.Errorf("seed %d: %d INCR ended UNKNOWN across leadership transfers", seed, unknown)
	}
	if r != want {
		t.Errorf("seed %d: %s holds %q after %d acknowledged INCR, want %q", seed, key, r, acked, want)
	}
}

// A follower that missed more than the compacted log catches up from a
// snapshot larger than one frame, sent in parts.
func TestNodesSnapshotInParts(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), func(c *GroupConfig) { c.SnapshotEntries, c.CompactKeep = 100, 10 })
	tn.net.Isolate("n3")
	val := strings.Repeat("x", 2048)
	for i := range 1500 { // about 3 MiB of data
		// A leader on n3 is cut off: its writes end with an unknown
		// outcome until the others elect a new one; SET can be repeated.
		for try := 0; ; try++ {
			_, err := tn.do(i%2, Write, "SET", fmt.Sprintf("big%d", i), val)
			if err == nil {
				break
			}
			if try == 20 {
				t.Fatalf("SET big%d: %v", i, err)
			}
		}
	}
	tn.net.Heal()
	eventually(t, "n3 to catch up", func() bool {
		for g := range tn.nodes[2].Groups() {
			if tn.nodes[2].Group(g).Status().Applied < tn.nodes[0].Group(g).Status().Applied {
				return false
			}
		}
		return true
	})
	// Read on n3's own replicas (its Keys count is published after each
	// round of applying, a moment after Applied).
	for i := range 1500 {
		r, err := tn.do(2, Stale, "GET", fmt.Sprintf("big%d", i))
		if err != nil || bulkValue(r) != val {
			t.Fatalf("big%d on n3 after catching up: got %.20q, %v", i, r, err)
		}
	}
}

// Clients read and write registers through every node while the network
// partitions, heals, drops and delays messages; the history must be
// linearizable, with read leases (the default) and with a ReadIndex round
// for every batch of reads (--read-lease=false).
func TestNodesLinearizableUnderFaults(t *testing.T) {
	for _, lease := range []bool{true, false} {
		t.Run(fmt.Sprintf("lease=%v", lease), func(t *testing.T) {
			linearizableUnderFaults(t, func(c *GroupConfig) { underFaults(c); c.ReadLease = lease }, nodeDoer)
		})
	}
}

// doer returns, for client c of a linearizability test, how it runs a
// command through node i: the reply as sent to clients, or an error.
type doer func(t *testing.T, tn *testNodes, c int) func(i int, mode Mode, args ...string) (string, error)

// nodeDoer runs commands with Node.Do.
func nodeDoer(_ *testing.T, tn *testNodes, _ int) func(int, Mode, ...string) (string, error) {
	return tn.do
}

func linearizableUnderFaults(t *testing.T, edit func(*GroupConfig), via doer) {
	seed := testSeed(t)
	tn := newTestNodes(t, seed, edit)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		ops []porcupine.Operation
		wg  sync.WaitGroup
	)
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	for c := range 6 {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(c)))
		do := via(t, tn, c)
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 5000; i++ {
				node := rng.IntN(3)
				in := regIn{key: fmt.Sprintf("r{%d}", rng.IntN(5))}
				call := now()
				var out string
				if rng.IntN(2) == 0 {
					in.write, in.value = true, fmt.Sprintf("%d.%d", c, i)
					_, err := do(node, Write, "SET", in.key, in.value)
					if err != nil {
						mu.Lock()
						ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Output: "", Call: call, Return: 1 << 62})
						mu.Unlock()
						continue
					}
				} else {
					r, err := do(node, Read, "GET", in.key)
					if err != nil {
						continue
					}
					out = bulkValue(r)
				}
				ret := now()
				mu.Lock()
				ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Output: out, Call: call, Return: ret})
				mu.Unlock()
			}
		})
	}
	tn.nemesis(ctx, rand.New(rand.NewPCG(uint64(seed), 99)))
	wg.Wait()
	ok := 0
	for _, op := range ops {
		if op.Return != 1<<62 {
			ok++
		}
	}
	t.Logf("%d operations, %d with a known outcome; %s", len(ops), ok, tn.logWork())
	if ok < 50 {
		t.Fatalf("only %d operations completed: the cluster did not serve between faults", ok)
	}
	if res := porcupine.CheckOperations(regModel, ops); !res {
		t.Fatalf("seed %d: history is not linearizable", seed)
	}
}

// underFaults sets up the groups of a test under the nemesis: a write
// whose leader is lost waits WriteTimeout for its outcome, so it is short,
// leaving the few seconds of faults time to serve. The in-memory log is
// kept small and snapshots go by growth, so that replicas cut off catch up
// from snapshots built from the keyspace past the stored ones (memLog)
// while the checkers watch.
func underFaults(c *GroupConfig) {
	c.WriteTimeout = 500 * time.Millisecond
	c.SnapshotEntries, c.SnapshotMinBytes, c.MaxLogBytes = 50, 1, 512
}

// nemesis injects one fault after another, each followed by healing, on
// the schedule rng draws, until ctx is done: a node isolated, a node
// partitioned from the other two, 20 % of frames dropped, or frames delayed
// up to 20 ms.
func (tn *testNodes) nemesis(ctx context.Context, rng *rand.Rand) {
	ids := []string{"n1", "n2", "n3"}
	for ctx.Err() == nil {
		switch rng.IntN(4) {
		case 0:
			tn.net.Isolate(ids[rng.IntN(3)])
		case 1:
			a := rng.IntN(3)
			tn.net.Partition([]string{ids[a]}, []string{ids[(a+1)%3], ids[(a+2)%3]})
		case 2:
			tn.net.SetDropRate(0.2)
		case 3:
			tn.net.SetDelay(20 * time.Millisecond)
		}
		sleepCtx(ctx, time.Duration(100+rng.IntN(400))*time.Millisecond)
		tn.net.Heal()
		tn.net.SetDropRate(0)
		tn.net.SetDelay(0)
		sleepCtx(ctx, time.Duration(100+rng.IntN(300))*time.Millisecond)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// bulkValue returns the value of a RESP bulk reply, "" for nil.
func bulkValue(r string) string {
	if v, _, ok := parseBulk([]byte(r)); ok {
		return string(v)
	}
	return ""
}

// byKey partitions a history into one per key, which porcupine checks
// apart.
func byKey(key func(input any) string) func([]porcupine.Operation) [][]porcupine.Operation {
	return func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := key(op.Input)
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	}
}

type regIn struct {
	key   string
	write bool
	value string
}

var regModel = porcupine.Model{
	Partition: byKey(func(in any) string { return in.(regIn).key }),
	Init:      func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regIn)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
}

// Heartbeats between two nodes travel together: with two dozen groups, a
// frame carries many groups' heartbeats and answers, and the groups keep
// their leaders on them alone.
func TestNodesCoalesceHeartbeats(t *testing.T) {
	const shards = 24
	// A tick of 25 ms, not 10: an idle cluster's terms must not change,
	// and on a loaded machine a pause of 100 ms under -race is no rarity.
	tn := startTestNodesShards(t, testSeed(t), func(gc *GroupConfig) { gc.Tick = 25 * time.Millisecond }, 1, true, shards)
	eventually(t, "every group to be led by its preferred replica", func() bool {
		n := tn.nodes[0]
		for g := range n.Groups() {
			if v := n.v(); n.Leader(v, g) != v.reps[g][0] {
				return false
			}
		}
		return true
	})
	terms := func() []uint64 {
		var ts []uint64
		for _, n := range tn.nodes {
			for g := range n.Groups() {
				ts = append(ts, n.Group(g).Status().Term)
			}
		}
		return ts
	}
	before := terms()
	q0, f0 := tn.nodes[0].hbQueued.Load(), tn.nodes[0].hbFrames.Load()
	// 200 frames from n1: about a hundred ticks of an idle cluster.
	eventually(t, "200 frames of heartbeats", func() bool { return tn.nodes[0].hbFrames.Load()-f0 >= 200 })
	q, f := tn.nodes[0].hbQueued.Load()-q0, tn.nodes[0].hbFrames.Load()-f0
	// n1 leads a third of the groups and follows the rest: per half tick
	// it owes each other node about a third of the groups' records.
	t.Logf("n1 sent %d heartbeats and answers in %d frames", q, f)
	if per := float64(q) / float64(f); per < 3 {
		t.Fatalf("%d heartbeats in %d frames: %.1f a frame, want several", q, f, per)
	}
	if after := terms(); !slices.Equal(before, after) {
		t.Fatalf("terms changed while the cluster was idle: %v then %v", before, after)
	}
	for _, n := range tn.nodes {
		if !n.State() {
			t.Fatal("a node lost a group's leader while the cluster was idle")
		}
	}
}

// forgettingStorage records Forget.
type forgettingStorage struct {
	MemStorage
	forgot int
}

func (s *forgettingStorage) Forget() { s.forgot++ }

// TestNodeForgetsRecoveredState: once a replica is built on what its log
// recovered, nothing keeps the recovered snapshot (its data is a second
// copy of the keyspace), and the log is told it may forget it.
func TestNodeForgetsRecoveredState(t *testing.T) {
	nodes := []placement.Node{{ID: "n1", PeerAddr: "p1:1"}, {ID: "n2", PeerAddr: "p2:1"}, {ID: "n3", PeerAddr: "p3:1"}}
	table, err := placement.New(1, nodes, 3, 3, 64)
	if err != nil {
		t.Fatal(err)
	}
	var opened []*forgettingStorage
	var snaps []weak.Pointer[raftpb.Snapshot]
	n, err := NewNode(NodeConfig{NodeID: "n1", Addr: "127.0.0.1:1", Table: table, Group: DefaultGroupConfig(),
		OpenStorage: func(int) (Storage, State, error) {
			s := &forgettingStorage{}
			opened = append(opened, s)
			snap := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(5)), Term: new(uint64(1)),
				ConfState: &raftpb.ConfState{}}}
			snaps = append(snaps, weak.Make(snap))
			return s, State{HardState: &raftpb.HardState{Term: new(uint64(1)), Commit: new(uint64(5))}, Snapshot: snap}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(opened) != 4 { // the metadata group and three shard groups
		t.Fatalf("%d storages opened, want 4", len(opened))
	}
	for i, s := range opened {
		if s.forgot != 1 {
			t.Errorf("storage %d: Forget called %d times, want once", i, s.forgot)
		}
	}
	runtime.GC()
	for i, w := range snaps {
		if w.Value() != nil {
			t.Errorf("storage %d: the recovered snapshot is still referenced once its replica is built", i)
		}
	}
	runtime.KeepAlive(n)
}

// A write sent through the node that leads its group, proposed there and
// cut off from the other nodes before it committed, ends with a definite
// outcome once the cut heals and that replica applies the next leader's
// entries: run again at the new leader (its INCR counted once), or not
// run at all. Before, it ended UNKNOWN when its time was up.
func TestNodesOverwrittenWriteHasOutcome(t *testing.T) {
	seed := testSeed(t)
	tn := newTestNodes(t, seed, nil)
	n0 := tn.nodes[0]
	g := n0.Table().GroupOfKey([]byte("counter"))
	li := n0.Leader(n0.v(), g)
	if li < 0 {
		t.Fatalf("seed %d: group %d has no leader", seed, g)
	}
	old := tn.nodes[li].Group(g)
	proposals := old.Stats().Proposals.Load()
	tn.net.Isolate(tn.nodes[li].cfg.NodeID)
	done := make(chan doResult, 1)
	go func() {
		r, err := tn.do(li, Write, "INCR", "counter")
		done <- doResult{r, err}
	}()
	eventually(t, "the cut-off leader to propose the INCR", func() bool { return old.Stats().Proposals.Load() > proposals })
	other := (li + 1) % 3
	eventually(t, "another node to lead the group", func() bool {
		l := tn.nodes[other].Leader(tn.nodes[other].v(), g)
		return l >= 0 && l != li
	})
	if r, err := tn.do(other, Write, "INCR", "counter"); err != nil || r != ":1\r\n" {
		t.Fatalf("seed %d: INCR through n%d while n%d is cut off: %q, %v", seed, other+1, li+1, r, err)
	}
	tn.net.Heal()
	r := testutil.Receive(t, done, 10*time.Second, "the cut-off leader's INCR, the cut healed")
	want := "$1\r\n1\r\n"
	switch {
	case r.err == nil && r.reply == ":2\r\n":
		want = "$1\r\n2\r\n" // run again at the new leader
	case errors.Is(r.err, ErrTryAgain):
	default:
		t.Fatalf("seed %d: the cut-off leader's INCR ended with %q, %v; want :2 or ErrTryAgain", seed, r.reply, r.err)
	}
	if got, err := tn.do(other, Read, "GET", "counter"); err != nil || got != want {
		t.Fatalf("seed %d: counter %q, %v after the INCR ended with %q, %v; want %q", seed, got, err, r.reply, r.err, want)
	}
	if n := old.Stats().Overwritten.Load(); n != 1 {
		t.Errorf("seed %d: overwritten writes counted on n%d: %d, want 1", seed, li+1, n)
	}
}
