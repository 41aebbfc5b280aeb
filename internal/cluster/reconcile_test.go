package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// reachTransport is a node's end of a peer.Network whose Connected tells
// the truth: a peer stopped, isolated or partitioned away is not.
type reachTransport struct {
	peer.Sender
	net   *peer.Network
	self  string
	addrs map[string]string
}

func (r reachTransport) Connected(id string) bool { return r.net.Reachable(r.self, id) }
func (r reachTransport) Meta(id string) string    { return r.addrs[id] }

// memCluster is a cluster of nodes in one process whose logs survive a
// node's stop, so that nodes can be stopped and started again.
type memCluster struct {
	t     *testing.T
	seed  int64
	net   *peer.Network
	table *placement.Table
	cfg   NodeConfig // the template of every node's
	addrs map[string]string

	mu     sync.Mutex
	nodes  map[string]*Node
	stops  map[string]func()
	stores map[string]map[int]*MemStorage
	reps   map[string]*memReplicas
	joined []joinedNode
}

// newMemCluster starts nodes n1..n<count> holding shards groups of three
// replicas, or of one on each node when there are fewer. edit, when not nil, changes the nodes' configuration.
func newMemCluster(t *testing.T, seed int64, count, shards int, edit func(*NodeConfig)) *memCluster {
	t.Helper()
	keepLogs(t)
	var nodes []placement.Node
	c := &memCluster{t: t, seed: seed, net: peer.NewNetwork(seed), addrs: map[string]string{},
		nodes: map[string]*Node{}, stops: map[string]func(){}, stores: map[string]map[int]*MemStorage{}, reps: map[string]*memReplicas{}}
	for i := range count {
		id := fmt.Sprintf("n%d", i+1)
		nodes = append(nodes, placement.Node{ID: id, PeerAddr: fmt.Sprintf("p%d:1", i+1)})
		c.addrs[id] = fmt.Sprintf("127.0.0.1:%d", i+1)
	}
	var err error
	if c.table, err = placement.New(1, nodes, shards, min(3, count), 64); err != nil {
		t.Fatal(err)
	}
	gc := DefaultGroupConfig()
	gc.Tick = 10 * time.Millisecond
	gc.WriteTimeout = 500 * time.Millisecond
	gc.SnapshotEntries, gc.CompactKeep = 200, 20
	c.cfg = NodeConfig{Table: c.table, Group: gc, Retry: 2 * time.Second, DownAfter: time.Hour}
	if edit != nil {
		edit(&c.cfg)
	}
	for _, nd := range nodes {
		c.start(nd.ID)
	}
	t.Cleanup(func() {
		c.mu.Lock()
		stops := slices.Collect(mapsValues(c.stops))
		c.mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		c.net.Close()
	})
	c.waitTable("every group to have a leader", func(*placement.Table) bool {
		for _, id := range c.running() {
			if !c.node(id).State() {
				return false
			}
		}
		return true
	})
	// Leaders hand over to their preferred replicas soon after the first
	// elections, and a write in flight then may end unknown: wait for
	// that, as newTestNodes does, so that tests do not run through it.
	eventually(t, "leaders on their preferred replicas", func() bool {
		var nodes []*Node
		for _, id := range c.running() {
			nodes = append(nodes, c.node(id))
		}
		return onPreferredAll(nodes...)
	})
	return c
}

func mapsValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// join starts node id, new to the cluster, admitted through node via.
func (c *memCluster) join(id, via string) {
	c.t.Helper()
	addr := "p" + id + ":1"
	t, err := c.node(via).Admit(id, addr)
	if err != nil {
		c.t.Fatalf("seed %d: admitting %s: %v", c.seed, id, err)
	}
	c.mu.Lock()
	c.addrs[id] = "127.0.0.1:" + fmt.Sprint(100+len(c.addrs))
	c.joined = append(c.joined, joinedNode{id, t})
	c.mu.Unlock()
	c.start(id)
}

type joinedNode struct {
	id    string
	table *placement.Table
}

// start runs node id from what its logs hold.
func (c *memCluster) start(id string) {
	c.t.Helper()
	c.mu.Lock()
	if c.stores[id] == nil {
		c.stores[id] = map[int]*MemStorage{}
		c.reps[id] = &memReplicas{}
	}
	stores := c.stores[id]
	cfg := c.cfg
	cfg.NodeID, cfg.Addr, cfg.Replicas = id, c.addrs[id], c.reps[id]
	for _, j := range c.joined {
		if j.id == id {
			cfg.Table, cfg.Joined = j.table, true
		}
	}
	cfg.Logger = slog.Default().With("node", id)
	c.mu.Unlock()
	cfg.OpenStorage = func(g int) (Storage, State, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if stores[g] == nil {
			stores[g] = &MemStorage{}
		}
		return stores[g], stores[g].State(), nil
	}
	n, err := NewNode(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	n.SetTransport(reachTransport{Sender: c.net.Join(id, n), net: c.net, self: id, addrs: c.addrs})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[id] = n
	c.stops[id] = func() {
		c.net.Leave(id)
		cancel()
		<-done
	}
}

// stop stops node id, whose logs stay for a later start.
func (c *memCluster) stop(id string) {
	c.mu.Lock()
	stop := c.stops[id]
	delete(c.stops, id)
	delete(c.nodes, id)
	c.mu.Unlock()
	stop()
}

// movesOf stops every node and describes what each replica's moves say
// of key's slot, for a test that fails on it.
func (c *memCluster) movesOf(key string) string {
	s := slot.Of([]byte(key))
	var b strings.Builder
	for _, id := range c.running() {
		n := c.node(id)
		t := n.Table()
		to, moving := t.Migrating(s)
		fmt.Fprintf(&b, "%s: table epoch %d gives slot %d to group %d (migrating %v to %d)\n", id, t.Epoch(), s, t.GroupOf(s), moving, to)
		c.stop(id) // the replicas' goroutines have ended: their moves can be read
		for g := range n.all {
			grp := n.local(g)
			if grp == nil || g == n.meta {
				continue
			}
			mv := &grp.mv
			to, away := mv.away[s]
			fmt.Fprintf(&b, "  group %d: away %v (to %d) importing %v strict %v owned %v epoch %d ended %d token %q\n",
				g, away, to, mv.importing[s], mv.strict, mv.owned[s], mv.epoch, mv.ended, mv.token)
		}
	}
	return b.String()
}

func (c *memCluster) node(id string) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// running returns the IDs of the nodes running, sorted.
func (c *memCluster) running() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// waitTable waits until cond holds of the table every running node
// follows (the same epoch on all), failing the test after 20 s.
func (c *memCluster) waitTable(what string, cond func(*placement.Table) bool) *placement.Table {
	c.t.Helper()
	var t *placement.Table
	deadline := time.Now().Add(20 * time.Second)
	for {
		t = nil
		same := true
		for _, id := range c.running() {
			nt := c.node(id).Table()
			if t != nil && nt.Epoch() != t.Epoch() {
				same = false
			}
			t = nt
		}
		if same && t != nil && cond(t) {
			return t
		}
		if time.Now().After(deadline) {
			var epochs []string
			for _, id := range c.running() {
				epochs = append(epochs, fmt.Sprintf("%s:%d", id, c.node(id).Table().Epoch()))
			}
			c.t.Fatalf("seed %d: timed out waiting for %s (epochs %v; %s)", c.seed, what, epochs, describeTable(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describeTable says where t stands, for a test that waited in vain: its
// groups, their replicas and the changes under way, and the next step
// planned.
func describeTable(t *placement.Table) string {
	if t == nil {
		return "no table"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d, %d groups (want %d) of %d replicas", t.Epoch(), len(t.Groups()), t.WantShards(), t.WantReplicas())
	for i, g := range t.Groups() {
		fmt.Fprintf(&b, "; group %d: %v", i, g.Replicas)
		if g.Moving() {
			b.WriteString(" (moving)")
		}
	}
	if m, ok := t.Migration(); ok {
		fmt.Fprintf(&b, "; migrating %v from group %d to %d (epoch %d)", m.Slots, m.From, m.To, m.Epoch)
	}
	none := func(string) bool { return false }
	if s, ok := t.PlanShards(none); ok {
		fmt.Fprintf(&b, "; next groups step: %v", s)
	}
	if s, ok := t.Plan(none); ok {
		fmt.Fprintf(&b, "; next replicas step: %v", s)
	}
	return b.String()
}

// settled reports whether no group of t is moving.
func settled(t *placement.Table) bool {
	if t.MetaGroup().Moving() {
		return false
	}
	for _, g := range t.Groups() {
		if g.Moving() {
			return false
		}
	}
	return true
}

// do runs one command through node id.
func (c *memCluster) do(id string, mode Mode, args ...string) (string, error) {
	n := c.node(id)
	if n == nil {
		return "", ErrStopped
	}
	cmd := make([][]byte, len(args))
	for j, a := range args {
		cmd[j] = []byte(a)
	}
	key := cmd[1]
	if spec := command.Redis.Lookup(cmd[0]); spec != nil {
		if keys := spec.Keys(cmd, nil); len(keys) > 0 {
			key = keys[0]
		}
	}
	ch := make(chan result, 1)
	n.Do(n.Table().GroupOfKey(key), &Request{Cmds: [][][]byte{cmd}, Proto: 2, Mode: mode, Done: func(reply []byte, _ []int, err error) {
		ch <- result{string(reply), err}
	}})
	r := <-ch
	if r.err == nil {
		r.err = replyErr(r.s)
	}
	return r.s, r.err
}

// replyErr returns the error of a request that the node answered with an
// error reply rather than failed as a whole: a command sent on to another
// group while its slot moves fails on its own (redirect.go). UNKNOWN is
// ErrUnknown; TRYAGAIN and CLUSTERDOWN were not run.
func replyErr(r string) error {
	switch {
	case strings.HasPrefix(r, "-UNKNOWN"):
		return ErrUnknown
	case strings.HasPrefix(r, "-TRYAGAIN"), strings.HasPrefix(r, "-CLUSTERDOWN"), strings.HasPrefix(r, "-BUSY"):
		return fmt.Errorf("%w: %s", ErrTryAgain, strings.TrimSpace(r))
	}
	return nil
}

type result struct {
	s   string
	err error
}

// holds reports which running nodes hold a local replica of group g.
func (c *memCluster) holds(g int) []string {
	var ids []string
	for _, id := range c.running() {
		if c.node(id).local(g) != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// waitHolders waits until the replicas of data groups 0..groups-1 run on
// the nodes t gives them.
func (c *memCluster) waitHolders(t *placement.Table, groups int) {
	c.t.Helper()
	for g := range groups {
		want := tableHolders(t, g)
		eventually(c.t, fmt.Sprintf("group %d's replicas to be on %v", g, want), func() bool {
			return slices.Equal(c.holds(g), want)
		})
	}
}

// tableHolders returns the nodes t gives a replica of data group g.
func tableHolders(t *placement.Table, g int) []string {
	nodes := t.Nodes()
	var ids []string
	for _, r := range t.Group(g).Replicas {
		ids = append(ids, nodes[r].ID)
	}
	slices.Sort(ids)
	return ids
}

// registers runs clients that write and read registers through random
// running nodes until stop is closed, and returns a function that waits
// for them and checks the history, with a final read of every register,
// for linearizability.
func (c *memCluster) registers(stop <-chan struct{}, clients int) func() {
	var (
		mu  sync.Mutex
		ops []porcupine.Operation
		wg  sync.WaitGroup
	)
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	// Registers set once before the clients start and never again: a
	// replica that came up from a snapshot without its keys shows them
	// lost, where the clients' registers, rewritten every few
	// milliseconds, hide it.
	for k := range 12 {
		in := regIn{key: fmt.Sprintf("c{%d}", k), write: true, value: "once"}
		call := now()
		var err error
		for try := 0; try < 50; try++ {
			ids := c.running()
			if _, err = c.do(ids[try%len(ids)], Write, "SET", in.key, in.value); err == nil {
				break
			}
		}
		if err != nil {
			c.t.Fatalf("seed %d: set %s: %v", c.seed, in.key, err)
		}
		ops = append(ops, porcupine.Operation{ClientId: clients, Input: in, Call: call, Return: now()})
	}
	for cl := range clients {
		rng := rand.New(rand.NewPCG(uint64(c.seed), uint64(cl)))
		wg.Go(func() {
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ids := c.running()
				node := ids[rng.IntN(len(ids))]
				in := regIn{key: fmt.Sprintf("r{%d}", rng.IntN(12))}
				call := now()
				var out string
				if rng.IntN(2) == 0 {
					in.write, in.value = true, fmt.Sprintf("%d.%d", cl, i)
					if _, err := c.do(node, Write, "SET", in.key, in.value); err != nil {
						mu.Lock()
						ops = append(ops, porcupine.Operation{ClientId: cl, Input: in, Call: call, Return: 1 << 62})
						mu.Unlock()
						continue
					}
				} else {
					r, err := c.do(node, Read, "GET", in.key)
					if err != nil {
						continue
					}
					out = bulkValue(r)
				}
				ret := now()
				mu.Lock()
				ops = append(ops, porcupine.Operation{ClientId: cl, Input: in, Output: out, Call: call, Return: ret})
				mu.Unlock()
			}
		})
	}
	return func() {
		c.t.Helper()
		wg.Wait()
		// Every register read once more at the end: a write lost in a
		// move shows as a read that no history explains.
		for k := range 24 {
			in := regIn{key: fmt.Sprintf("r{%d}", k)}
			if k >= 12 {
				in.key = fmt.Sprintf("c{%d}", k-12)
			}
			var r string
			var err error
			call := now()
			// A slot may still be moving once the network healed: its
			// commands answer TRYAGAIN until the move ends.
			for try, deadline := 0, time.Now().Add(20*time.Second); ; try++ {
				ids := c.running()
				if r, err = c.do(ids[try%len(ids)], Read, "GET", in.key); err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil {
				c.t.Fatalf("seed %d: final read of %s: %v\n%s", c.seed, in.key, err, c.movesOf(in.key))
			}
			ops = append(ops, porcupine.Operation{ClientId: clients, Input: in, Output: bulkValue(r), Call: call, Return: now()})
		}
		known := 0
		for _, op := range ops {
			if op.Return != 1<<62 {
				known++
			}
		}
		c.t.Logf("%d operations, %d with a known outcome", len(ops), known)
		if known < 100 {
			c.t.Fatalf("seed %d: only %d operations completed: the cluster did not serve during the moves", c.seed, known)
		}
		if !porcupine.CheckOperations(regModel, ops) {
			byKey := map[string][]porcupine.Operation{}
			for _, op := range ops {
				k := op.Input.(regIn).key
				byKey[k] = append(byKey[k], op)
			}
			for k, kops := range byKey {
				if !porcupine.CheckOperations(regModel, kops) {
					c.t.Logf("key %s: its %d operations are not linearizable", k, len(kops))
				}
			}
			c.t.Fatalf("seed %d: the register history is not linearizable", c.seed)
		}
		// And every replica, not only the leader, holds the registers set
		// once, once it has applied what its leader committed.
		for k := range 12 {
			key := fmt.Sprintf("c{%d}", k)
			g := c.node(c.running()[0]).Table().GroupOfKey([]byte(key))
			for _, id := range c.holds(g) {
				eventually(c.t, fmt.Sprintf("%s on %s's replica of group %d", key, id, g), func() bool {
					r, err := c.do(id, Stale, "GET", key)
					return err == nil && bulkValue(r) == "once"
				})
			}
		}
	}
}

// Moving every group's replica to a fourth node while clients write and
// read: each move adds a learner, catches it up, and swaps it in by a
// joint change; the history stays linearizable and the old replicas are
// dropped.
func TestNodesMoveReplicasUnderLoad(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 4, 3, func(cfg *NodeConfig) { cfg.ManualPlacement = true })
	stop := make(chan struct{})
	check := c.registers(stop, 4)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	for round := range 4 {
		for g := range 3 {
			tb := c.node("n1").Table()
			nodes := tb.Nodes()
			grp := tb.Group(g)
			from := nodes[grp.Replicas[rng.IntN(len(grp.Replicas))]].ID
			var to string
			for _, nd := range nodes {
				if _, held := grp.Holds(tb.NodeIndex(nd.ID)); !held {
					to = nd.ID
				}
			}
			via := c.running()[rng.IntN(4)]
			if err := c.node(via).MoveReplica(g, from, to); err != nil {
				// A write of unknown outcome may have taken effect: the
				// table then shows it once the nodes follow it.
				if !errors.Is(err, ErrUnknown) {
					t.Fatalf("seed %d round %d: move group %d from %s to %s: %v", seed, round, g, from, to, err)
				}
				if err := c.node(via).MoveReplica(g, from, to); err != nil && !errors.Is(err, placement.ErrChange) {
					t.Fatalf("seed %d round %d: move group %d from %s to %s again: %v", seed, round, g, from, to, err)
				}
			}
			after := c.waitTable(fmt.Sprintf("group %d's move from %s to %s", g, from, to), settled)
			want := tableHolders(after, g)
			if slices.Contains(want, from) || !slices.Contains(want, to) {
				t.Fatalf("seed %d: group %d holders %v after moving from %s to %s", seed, g, want, from, to)
			}
			eventually(t, fmt.Sprintf("group %d's replicas to be on %v", g, want), func() bool {
				return slices.Equal(c.holds(g), want)
			})
		}
	}
	close(stop)
	check()
	// Moves are refused while one runs, and to a node that holds the group.
	tb := c.node("n1").Table()
	grp := tb.Group(0)
	nodes := tb.Nodes()
	if err := c.node("n1").MoveReplica(0, nodes[grp.Replicas[0]].ID, nodes[grp.Replicas[1]].ID); !errors.Is(err, placement.ErrChange) {
		t.Fatalf("move to a node that holds the group: %v, want ErrChange", err)
	}
	if got := c.node("n1").Table().Epoch(); got != tb.Epoch() {
		t.Fatalf("a refused move changed the table: epoch %d, was %d", got, tb.Epoch())
	}
}

// A node that stays down past DownAfter has its replicas re-created on the
// others; when it comes back, its surplus copies are dropped and replicas
// spread over it again.
func TestNodesHealDownNode(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 4, 4, func(cfg *NodeConfig) { cfg.DownAfter = 300 * time.Millisecond })
	stop := make(chan struct{})
	check := c.registers(stop, 3)
	victim := c.node("n1").Table().Nodes()[c.node("n1").Table().Group(0).Replicas[0]].ID
	c.stop(victim)
	healed := c.waitTable(victim+"'s replicas to move to the others", func(t *placement.Table) bool {
		for g := range 4 {
			if slices.Contains(tableHolders(t, g), victim) {
				return false
			}
		}
		return settled(t)
	})
	for g := range 4 {
		if h := tableHolders(healed, g); len(h) != 3 || slices.Contains(h, victim) {
			t.Fatalf("seed %d: group %d on %v after healing", seed, g, h)
		}
	}
	c.start(victim)
	c.waitTable("replicas to spread over "+victim+" again", func(t *placement.Table) bool {
		_, more := t.Plan(func(string) bool { return false })
		back := false
		for g := range 4 {
			back = back || slices.Contains(tableHolders(t, g), victim)
		}
		return settled(t) && !more && back
	})
	c.waitHolders(c.node(victim).Table(), 4)
	close(stop)
	check()
}

// Removing a node drains it: its replicas, the metadata group's too, move
// to the others, then it leaves the table. Removing one more, which would
// leave too few nodes for three replicas, is refused.
func TestNodesRemoveNode(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 4, 3, nil)
	stop := make(chan struct{})
	check := c.registers(stop, 3)
	if err := c.node("n2").RemoveNode("n4"); err != nil {
		t.Fatal(err)
	}
	after := c.waitTable("n4 to leave the table", func(t *placement.Table) bool {
		return t.NodeIndex("n4") < 0 && settled(t)
	})
	meta := after.MetaGroup()
	if len(after.Nodes()) != 3 || len(meta.Replicas) != 3 {
		t.Fatalf("after removing n4: %d nodes, metadata group on %v", len(after.Nodes()), meta.Replicas)
	}
	eventually(t, "n4 to drop its replicas", func() bool {
		for g := range c.node("n4").all {
			if c.node("n4").local(g) != nil {
				return false
			}
		}
		return true
	})
	close(stop)
	check()
	epoch := after.Epoch()
	err := c.node("n1").RemoveNode("n3")
	if !errors.Is(err, placement.ErrChange) || !strings.Contains(err.Error(), "would leave 2 nodes") {
		t.Fatalf("removing a third node of three: %v", err)
	}
	if err := c.node("n1").MoveReplica(0, "n1", "n4"); !errors.Is(err, placement.ErrChange) {
		t.Fatalf("move to a removed node: %v", err)
	}
	if got := c.node("n1").Table().Epoch(); got != epoch {
		t.Fatalf("refused changes changed the table: epoch %d, was %d", got, epoch)
	}
}

// A move to a node that is down is refused before anything changes.
func TestNodesMoveToDownNode(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 4, 1, func(cfg *NodeConfig) { cfg.ManualPlacement = true })
	tb := c.node("n1").Table()
	grp := tb.Group(0)
	var spare string
	for _, nd := range tb.Nodes() {
		if _, held := grp.Holds(tb.NodeIndex(nd.ID)); !held {
			spare = nd.ID
		}
	}
	from := tb.Nodes()[grp.Replicas[0]].ID
	via := tb.Nodes()[grp.Replicas[1]].ID
	c.stop(spare)
	err := c.node(via).MoveReplica(0, from, spare)
	if !errors.Is(err, ErrNodeDown) {
		t.Fatalf("move to stopped %s: %v, want ErrNodeDown", spare, err)
	}
	if got := c.node(via).Table().Epoch(); got != tb.Epoch() {
		t.Fatalf("a refused move changed the table: epoch %d, was %d", got, tb.Epoch())
	}
}

// Nodes join under load: each is admitted through a member, holds nothing
// at first, and automatic placement spreads replicas and the metadata group
// over it; the history stays linearizable. Admitting a node that holds
// replicas again, or at another address, is refused.
func TestNodesJoin(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 3, 4, nil)
	stop := make(chan struct{})
	check := c.registers(stop, 3)
	c.join("n4", "n2")
	c.join("n5", "n3")
	final := c.waitTable("replicas to spread over five nodes", func(t *placement.Table) bool {
		_, more := t.Plan(func(string) bool { return false })
		if !settled(t) || more || len(t.Nodes()) != 5 || len(t.MetaGroup().Replicas) != 5 {
			return false
		}
		for i := range t.Nodes() {
			if t.ReplicasOf(i) < 2 { // the metadata group's and at least one data group's
				return false
			}
		}
		return true
	})
	c.waitHolders(final, 4)
	close(stop)
	check()
	epoch := final.Epoch()
	if _, err := c.node("n1").Admit("n4", "pn4:1"); !errors.Is(err, placement.ErrChange) {
		t.Fatalf("admitting n4, which holds replicas, again: %v", err)
	}
	if _, err := c.node("n1").Admit("n5", "elsewhere:1"); !errors.Is(err, placement.ErrChange) {
		t.Fatalf("admitting n5 at another address: %v", err)
	}
	if got := c.node("n1").Table().Epoch(); got != epoch {
		t.Fatalf("refused admissions changed the table: epoch %d, was %d", got, epoch)
	}
}

// Replicas move while the network isolates nodes, partitions them, drops
// and delays messages: a move may stall while its group cannot reach a
// majority, but none loses or invents a write, and every move ends once
// the network heals. The history is checked for linearizability.
// faults isolates a node, partitions the network, drops or delays
// messages, one fault at a time with healed spells between, until ctx is
// done; the channel it returns is closed once the network is healed.
func (c *memCluster) faults(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.net.Heal()
		rng := rand.New(rand.NewPCG(uint64(c.seed), 12))
		ids := c.running()
		for ctx.Err() == nil {
			switch rng.IntN(4) {
			case 0:
				c.net.Isolate(ids[rng.IntN(len(ids))])
			case 1:
				a, b := rng.IntN(len(ids)), rng.IntN(len(ids))
				var rest []string
				for i, id := range ids {
					if i != a && i != b {
						rest = append(rest, id)
					}
				}
				c.net.Partition([]string{ids[a], ids[b]}, rest)
			case 2:
				c.net.SetDropRate(0.2)
			case 3:
				c.net.SetDelay(20 * time.Millisecond)
			}
			sleepCtx(ctx, time.Duration(100+rng.IntN(300))*time.Millisecond)
			c.net.Heal()
			c.net.SetDropRate(0)
			c.net.SetDelay(0)
			sleepCtx(ctx, time.Duration(100+rng.IntN(200))*time.Millisecond)
		}
	}()
	return done
}

func TestNodesMoveUnderFaults(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 5, 3, func(cfg *NodeConfig) {
		cfg.ManualPlacement = true
		cfg.Group.WriteTimeout = 300 * time.Millisecond
	})
	stop := make(chan struct{})
	check := c.registers(stop, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	faults := c.faults(ctx)
	moves := 0
	for ctx.Err() == nil {
		tb := c.node("n1").Table()
		g := rng.IntN(3)
		grp := tb.Group(g)
		if grp.Moving() {
			sleepCtx(ctx, 50*time.Millisecond)
			continue
		}
		nodes := tb.Nodes()
		from := nodes[grp.Replicas[rng.IntN(len(grp.Replicas))]].ID
		var spare []string
		for _, nd := range nodes {
			if _, held := grp.Holds(tb.NodeIndex(nd.ID)); !held {
				spare = append(spare, nd.ID)
			}
		}
		to := spare[rng.IntN(len(spare))]
		if err := c.node(c.running()[rng.IntN(5)]).MoveReplica(g, from, to); err == nil {
			moves++
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	<-faults
	c.net.Heal()
	final := c.waitTable("every move to end once the network healed", settled)
	c.waitHolders(final, 3)
	close(stop)
	check()
	t.Logf("%d moves started under faults", moves)
	if moves == 0 {
		t.Fatalf("seed %d: no move started", seed)
	}
}

// nodesLine returns node id's line of n's CLUSTER NODES.
func nodesLine(t *testing.T, seed int64, n *Node, id string) string {
	t.Helper()
	name := placement.NodeName(id)
	for l := range strings.Lines(n.clusterNodes()) {
		if strings.HasPrefix(l, name+" ") {
			return l
		}
	}
	t.Fatalf("seed %d: %s missing from CLUSTER NODES:\n%s", seed, id, n.clusterNodes())
	return ""
}

// slotsReply returns n's CLUSTER SLOTS reply.
func slotsReply(n *Node) string {
	var w resp.Writer
	n.appendSlots(&w)
	return string(w.Bytes())
}

// watchN3 starts three in-memory nodes and returns what n1 shows of n3:
// its CLUSTER NODES line and n1's CLUSTER SLOTS reply, with n3's name.
func watchN3(t *testing.T) (seed int64, c *memCluster, n1 *Node, name string, line, slots func() string) {
	seed = testSeed(t)
	c = newMemCluster(t, seed, 3, 3, nil)
	n1 = c.node("n1")
	name = placement.NodeName("n3")
	line = func() string { return nodesLine(t, seed, n1, "n3") }
	slots = func() string { return slotsReply(n1) }
	return seed, c, n1, name, line, slots
}

// A node out of reach shows as Redis Cluster shows one: flagged fail? and
// then fail in CLUSTER NODES, its health fail in CLUSTER SHARDS once
// failed, and left out of CLUSTER SLOTS as a replica; all of it clears
// when it is back.
func TestNodesShowUnreachableNode(t *testing.T) {
	seed, c, n1, name, line, slots := watchN3(t)
	shards := func() string {
		var w resp.Writer
		n1.appendShards(&w)
		return string(w.Bytes())
	}
	eventually(t, "every group to have a leader", func() bool { return n1.State() })
	if l := line(); strings.Contains(l, "fail") || !strings.Contains(l, " connected") {
		t.Fatalf("seed %d: n3 up, CLUSTER NODES says %q", seed, l)
	}
	if !strings.Contains(slots(), name) || strings.Contains(shards(), "fail") {
		t.Fatalf("seed %d: n3 up, CLUSTER SLOTS or SHARDS leave it out or failed:\n%q\n%q", seed, slots(), shards())
	}
	c.stop("n3")
	eventually(t, "n3 to show as failed", func() bool {
		l := line()
		if strings.Contains(l, ",fail?") {
			if !strings.Contains(l, " disconnected") {
				t.Fatalf("seed %d: n3 fail? but its link %q", seed, l)
			}
			return false
		}
		return strings.Contains(l, ",fail ") && strings.Contains(l, " disconnected")
	})
	// n3's groups elect leaders among n1 and n2: then n3 is in no range
	// of CLUSTER SLOTS, and SHARDS lists it failed.
	eventually(t, "n3 to lead no group and leave CLUSTER SLOTS", func() bool {
		return n1.State() && !strings.Contains(slots(), name) && strings.Contains(shards(), "$6\r\nhealth\r\n$4\r\nfail\r\n")
	})
	c.start("n3")
	eventually(t, "n3 to show as connected again", func() bool {
		l := line()
		return !strings.Contains(l, "fail") && strings.Contains(l, " connected") && strings.Contains(slots(), name) && !strings.Contains(shards(), "fail")
	})
}

// A node that stays connected but sends and takes nothing (a process
// stopped with SIGSTOP) is flagged as one that is not connected is:
// "fail?", then "fail" and out of CLUSTER SLOTS, and clear again once it
// talks again.
func TestNodesShowSilentNode(t *testing.T) {
	seed, c, n1, name, line, slots := watchN3(t)
	eventually(t, "every group to have a leader and n3 to look well", func() bool {
		l := line()
		return n1.State() && !strings.Contains(l, "fail") && strings.Contains(l, " connected")
	})
	c.net.Mute("n3")
	sawMaybe := false
	eventually(t, "the silent n3 to show as failed", func() bool {
		l := line()
		sawMaybe = sawMaybe || strings.Contains(l, ",fail?")
		return strings.Contains(l, ",fail ")
	})
	if !sawMaybe {
		t.Errorf("seed %d: n3 went to fail without fail? first", seed)
	}
	eventually(t, "n3 to lead no group and leave CLUSTER SLOTS", func() bool {
		return n1.State() && !strings.Contains(slots(), name)
	})
	c.net.Heal()
	eventually(t, "n3 to look well again", func() bool {
		l := line()
		return !strings.Contains(l, "fail") && strings.Contains(slots(), name)
	})
}

// A node cut off from the others answers cluster_state:fail once its
// replicas lose their leaders, although it still knows who led last, and
// ok again once the cut heals.
func TestNodesStateWhenCutOff(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 3, 3, nil)
	n1 := c.node("n1")
	eventually(t, "every group to have a leader", func() bool { return n1.State() })
	c.net.Isolate("n1")
	// Over TCP, a node whose peers are stopped (SIGSTOP) stays connected
	// to them and keeps the leaders that answered its forwarded requests
	// as hints: the same here, for every group.
	v := n1.v()
	for g := range v.ngroups {
		for _, rid := range v.rids[g] {
			if i := v.nodeOf(g, rid); i >= 0 && i != v.self {
				n1.hints[g].Store(rid)
				break
			}
		}
	}
	eventually(t, "n1 to see its groups without a leader", func() bool {
		return !n1.State() && strings.Contains(n1.clusterInfo(), "cluster_state:fail\r\n") &&
			!strings.Contains(n1.clusterInfo(), "cluster_slots_ok:16384\r\n")
	})
	c.net.Heal()
	eventually(t, "n1 to see every group led again", func() bool {
		return n1.State() && strings.Contains(n1.clusterInfo(), "cluster_slots_ok:16384\r\n")
	})
}
