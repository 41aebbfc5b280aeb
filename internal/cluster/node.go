package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/pause"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

// Frame kinds between nodes.
const (
	frameRaft    = 1 // a Raft message for the group named in the frame
	frameForward = 2 // a client request forwarded to the group's leader
	frameReply   = 3 // the answer to a forwarded request
	frameSnap    = 4 // a part of a Raft message too large for one frame
)

// snapChunk is the size of the parts a large Raft message (a snapshot) is
// sent in, so that it never needs one huge frame and other groups' messages
// interleave with it.
const snapChunk = 1 << 20

// Transport is what a Node needs of the connections to its peers: sending
// frames, whether a peer is connected, and each peer's advertised client
// address (exchanged when they connect). It is safe for concurrent use.
type Transport interface {
	peer.Sender
	Connected(id string) bool
	Meta(id string) string
}

// NodeConfig sets up a Node.
type NodeConfig struct {
	// NodeID is this node's ID in Table.
	NodeID string
	// Addr is the client address this node advertises.
	Addr  string
	Table *placement.Table
	// Group is the template of every local replica's configuration; ID,
	// ReplicaID, Peers, Storage, State and Send are filled in per group.
	Group GroupConfig
	// OpenStorage opens the log of this node's replica of data group g, or
	// of the metadata group for g == MetaStorage, and returns what it
	// holds.
	OpenStorage func(g int) (Storage, State, error)
	// Replicas keeps the replica id of each group this node holds across
	// restarts; nil keeps them in memory only.
	Replicas ReplicaStore
	// Joined marks a node that joined a running cluster: Table is the
	// table it was admitted with, and there is no founding table of its
	// own to check against the cluster's.
	Joined bool
	// OnTable, when set, is called with every newer table the node adopts
	// (the node's peers change with it), from the goroutine adopting it,
	// one call at a time per table; it must not block for long.
	OnTable func(*placement.Table)
	// DownAfter is how long a node may be out of reach before its replicas
	// are re-created on the other nodes (30 s).
	DownAfter time.Duration
	// ManualPlacement turns off the automatic steps toward a healthy,
	// balanced table: replicas then move only when told to.
	ManualPlacement bool
	// SnapshotRate bounds the bytes per second of snapshots this node
	// sends, all groups together, so that a replica catching up leaves
	// room for the clients; 0 for no bound.
	SnapshotRate int64
	// Vnodes is the number of virtual nodes per group that slots are
	// placed with when the table does not record it (64).
	Vnodes int
	// Retry is how long a request keeps looking for its group's leader
	// (through elections) before it fails (3 s).
	Retry  time.Duration
	Logger *slog.Logger
	// NotifyKeyspaceEvents are the classes of keyspace events this node
	// publishes for the groups it leads (notify-keyspace-events), to the
	// subscribers of every node (pubsub.go).
	NotifyKeyspaceEvents notify.Class
	// Scripts holds this node's script cache and function libraries and
	// runs the scripts of its groups' entries (Group.Scripts is set from
	// it); nil makes one with script.DefaultConfig().
	Scripts *script.Engine
	// Functions are the codes of the function libraries an older version
	// kept in this node's data directory, when they were each node's: they
	// become the cluster's first libraries if it has none (functions.go).
	Functions []string
}

// MetaStorage is the group number NodeConfig.OpenStorage is given for the
// metadata group.
const MetaStorage = -1

// Node is one member of a cluster: its replicas of the shard groups, and the
// routing of client requests to each group's leader, here or on another
// node. Its methods are safe for concurrent use.
type Node struct {
	cfg NodeConfig
	log *slog.Logger
	// pause is CLIENT PAUSE on this node: it holds this node's clients'
	// commands, and its leaders' expiries (GroupConfig.Paused), not the
	// proposals other nodes' clients make to groups this node leads.
	pause pause.Pauser
	hub   *pubsub.Hub // the subscriptions of this node's clients (pubsub.go)
	// cmdStats, slow and lat count and time the commands this node's
	// replicas of the data groups run (INFO commandstats and latencystats,
	// SLOWLOG, LATENCY): writes as each replica applies them, reads where
	// they are served. The Server sets their bounds; until then they log
	// and track nothing.
	cmdStats *cmdstat.Table
	slow     *slowlog.Log
	lat      *latency.Monitor
	// notify publishes the keyspace events of the groups' replicas on this
	// node to the subscribers of every node, as PUBLISH does. Any node
	// serves any key, so a subscriber on any node receives the events of
	// every key: a group's keyspace publishes the events of an entry only
	// on the replica that proposed it (the group's leader when it did;
	// GroupConfig.Notify), as that replica applies it and before it answers
	// the write, and of a read on the replica that answers it; that node
	// publishes them to its own subscribers and to every other node's
	// (framePublish). Each event is thus sent once, also when leadership
	// moves while the entry commits, with PUBLISH's guarantees: at most
	// once, lost to a node cut off meanwhile or when the proposing replica
	// stops before it applies the entry. A replica that restarts does not
	// publish the entries it replays. The events of one group come in the
	// order of its log while its leader stays; those of different groups
	// are not ordered with each other. notify-keyspace-events is a node's
	// own setting, as in Redis Cluster (config.go).
	notify *notify.Notifier
	view   atomic.Pointer[view] // the placement table this node follows
	hints  []atomic.Uint64      // leader replica id last heard of, by group
	tr     Transport

	// all holds this node's replica of every group, nil where it holds
	// none: the data groups by number, then the metadata group (index
	// meta). Replicas come and go as the table moves them (reconcile.go).
	all  []atomic.Pointer[Group]
	meta int // metaIndex
	// agreed is set once the metadata group holds the placement table and
	// this node follows it (meta.go).
	agreed atomic.Bool
	// loading is set while the node loads a single server's data (load.go).
	loading atomic.Bool
	// started is when the node was made, LASTSAVE's time before any
	// snapshot; sv its SAVE and BGSAVE runs (save.go).
	started time.Time
	sv      saves

	// Replicas started and stopped while the node runs, under repMu.
	repMu   sync.Mutex
	runCtx  context.Context
	cancels []context.CancelFunc // by group, for the replicas running
	store   ReplicaStore
	held    map[int]uint64 // the replica id of each group held, as saved in store

	// lastSeen is when each peer was last connected, by ID, and heard when
	// its last frame of heartbeats came, which it sends every half tick
	// (reconcile.go, heartbeat.go).
	seenMu   sync.Mutex
	lastSeen map[string]time.Time
	heard    map[string]time.Time

	fwdMu   sync.Mutex
	fwd     map[uint64]*forwarded // requests sent to other nodes, by id
	fwdNext uint64

	fwdIn chan inbound // forwarded requests to hand to local groups
	// fwdBufs are buffers for the replies of requests forwarded here,
	// back from the transport once it has sent them (replyForward).
	fwdBufs chan []byte

	failed chan error // a replica whose storage failed; see Failed

	// Heartbeats waiting for the next frame to each node, by node ID
	// (heartbeat.go), and how many were queued and frames sent.
	hbMu     sync.Mutex
	hbs      map[string][]byte
	hbQueued atomic.Int64
	hbFrames atomic.Int64

	partsMu  sync.Mutex
	parts    map[partKey]*partial // large messages being received, by sender and group
	snapPace pacer                // the pace of snapshots sent
	partSeq  atomic.Uint64
	closed   atomic.Bool
	moving   atomic.Bool // a mover runs (mover.go)
	migStats MigrationStats
	wg       sync.WaitGroup

	waits waits // clients parked in blocking commands on this node (block.go)

	// The version of the cluster's function libraries that Scripts holds
	// (functions.go); fnMu serialises their adoption, fnChange the changes
	// this node makes.
	fnMu      sync.Mutex
	fnChange  sync.Mutex
	fnVersion atomic.Uint64

	// Client-side caching (tracking.go): whether the groups this node
	// leads relay their changes, and the nodes whose clients track.
	trackOn atomic.Bool
	tracks  trackNodes
	// evict is the node's --maxmemory and policy (evict.go).
	evict atomic.Pointer[keyspace.Eviction]
}

// view is a placement table with what the node derives from it. Node
// indexes are valid only within one view: take one (Node.v) and use it
// throughout a reply.
type view struct {
	table *placement.Table
	nodes []placement.Node // table.Nodes(), kept: the table hands out copies
	self  int              // this node's index, -1 when the table lacks it
	// reps are the nodes holding each group, at metaIndex the metadata
	// group's, preferred leader first, then the others, then those
	// leaving; rids their replica ids, alike. Groups beyond the table's
	// have none.
	reps    [][]int
	rids    [][]uint64
	ngroups int // data groups
}

// Where a node keeps its replicas: the data groups by number, the metadata
// group after the most data groups a table may have.
const (
	metaIndex = placement.MaxShards
	maxGroups = metaIndex + 1
)

func newView(t *placement.Table, self string) *view {
	groups := t.Groups()
	v := &view{table: t, nodes: t.Nodes(), self: t.NodeIndex(self), ngroups: len(groups),
		reps: make([][]int, maxGroups), rids: make([][]uint64, maxGroups)}
	for i, g := range append(groups, t.MetaGroup()) {
		if g.ID == placement.Meta {
			i = metaIndex
		}
		v.reps[i] = append(slices.Clone(g.Replicas), g.Leaving...)
		v.rids[i] = append(slices.Clone(g.IDs), g.LeavingIDs...)
	}
	return v
}

// indexes returns the indexes of the table's groups, the metadata group's
// last.
func (v *view) indexes() []int {
	gs := make([]int, 0, v.ngroups+1)
	for g := range v.ngroups {
		gs = append(gs, g)
	}
	return append(gs, metaIndex)
}

// nodeOf returns the index of the node that holds replica id of group g,
// or -1.
func (v *view) nodeOf(g int, id uint64) int {
	if id == 0 {
		return -1
	}
	if i := slices.Index(v.rids[g], id); i >= 0 {
		return v.reps[g][i]
	}
	return -1
}

// group returns the table's description of group g, the metadata group
// for g == meta, and a group with no replica for one not in the table.
func (v *view) group(g, meta int) placement.Group {
	switch {
	case g == meta:
		return v.table.MetaGroup()
	case g < v.ngroups:
		return v.table.Group(g)
	}
	return placement.Group{ID: g}
}

// forwarded is a request waiting for another node's answer.
type forwarded struct {
	r        *Request
	to       string // the ID of the node it was sent to
	group    int
	timer    *time.Timer
	deadline time.Time // when timer fires
}

type partial struct {
	id  uint64
	buf []byte
}

type partKey struct {
	from  string
	group uint32
}

type inbound struct {
	from string
	f    peer.Frame
}

// NewNode opens this node's replicas. Call SetTransport, then Run.
//
// On the node's first start (its metadata log is empty) it bootstraps the
// replicas cfg.Table gives it with their founding peers. Later it opens the
// replicas its logs hold; the table the metadata group holds then tells it
// which to add or remove (reconcile.go).
func NewNode(cfg NodeConfig) (*Node, error) {
	n := &Node{cfg: cfg, log: cfg.Logger, started: time.Now(), fwd: make(map[uint64]*forwarded), hbs: make(map[string][]byte), failed: make(chan error, 1),
		fwdIn: make(chan inbound, 4096), fwdBufs: make(chan []byte, fwdBufsKept), parts: make(map[partKey]*partial), lastSeen: make(map[string]time.Time),
		heard: make(map[string]time.Time), hub: pubsub.NewHub(), cmdStats: cmdstat.NewTable(), slow: slowlog.New(-1, 0), lat: latency.New(0, false)}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.notify = notify.NewNotifier(func(channel, msg []byte) { n.Publish(false, channel, msg) })
	n.notify.Set(cfg.NotifyKeyspaceEvents)
	if n.cfg.Retry <= 0 {
		n.cfg.Retry = 3 * time.Second
	}
	if n.cfg.Scripts == nil {
		n.cfg.Scripts = script.New(script.DefaultConfig())
	}
	n.cfg.Group.Scripts = n.cfg.Scripts
	if n.cfg.DownAfter <= 0 {
		n.cfg.DownAfter = 30 * time.Second
	}
	if n.cfg.Vnodes <= 0 {
		n.cfg.Vnodes = 64
	}
	v := newView(cfg.Table, cfg.NodeID)
	if v.self < 0 {
		return nil, fmt.Errorf("cluster: node %q is not in the cluster", cfg.NodeID)
	}
	n.view.Store(v)
	n.meta = metaIndex
	n.all = make([]atomic.Pointer[Group], maxGroups)
	n.hints = make([]atomic.Uint64, maxGroups)
	n.cancels = make([]context.CancelFunc, maxGroups)

	store := cfg.Replicas
	if store == nil {
		store = &memReplicas{}
	}
	n.store = store
	held, err := loadHeld(store, len(cfg.Table.Groups()))
	if err != nil {
		return nil, err
	}
	// The metadata group's log is empty only on the node's first start:
	// its replicas then bootstrap the groups the founding table gives it.
	mst, mstate, err := cfg.OpenStorage(MetaStorage)
	if err != nil {
		return nil, err
	}
	founder := mstate.empty()
	if founder || len(held) == 0 {
		// First start, or a data dir from before replicas could move:
		// the founding table's replicas, under their founding ids.
		held = map[int]uint64{}
		for _, g := range v.indexes() {
			if id, ok := v.group(g, n.meta).Holds(v.self); ok {
				held[g] = id
			}
		}
		if err := saveHeld(store, held); err != nil {
			return nil, err
		}
	}
	for g := range maxGroups {
		id, ok := held[g]
		if !ok {
			continue
		}
		st, state := mst, mstate
		if g != n.meta {
			if st, state, err = cfg.OpenStorage(g); err != nil {
				return nil, err
			}
		}
		var peers []uint64
		if founder {
			peers = v.group(g, n.meta).IDs
		}
		grp, err := n.newReplica(g, id, peers, false, st, state)
		if err != nil {
			return nil, err
		}
		n.all[g].Store(grp)
	}
	n.held = held
	return n, nil
}

// storageID is the number NodeConfig.OpenStorage is given for group g.
func (n *Node) storageID(g int) int {
	if g == n.meta {
		return MetaStorage
	}
	return g
}

// newReplica returns this node's replica id of group g over st, which
// recovered state; peers are the founding replicas when it bootstraps the
// group, none when it joins it.
func (n *Node) newReplica(g int, id uint64, peers []uint64, born bool, st Storage, state State) (*Group, error) {
	gc := n.cfg.Group
	gc.ID, gc.ReplicaID, gc.Peers, gc.Born = g, id, peers, born
	gc.Storage, gc.State, gc.Logger = st, state, n.log
	gc.Paused = &n.pause.On
	if g == n.meta {
		gc.Logger = n.log.With("meta", true)
	} else {
		gc.Stats, gc.Slow, gc.Latency = n.cmdStats, n.slow, n.lat
		gc.Notify = n.notify
		gc.Track, gc.TrackOn = n.relayChange, &n.trackOn
		gc.Eviction = n.groupEviction
	}
	v := n.v()
	if grp := v.group(g, n.meta); len(grp.IDs) > 0 {
		gc.Preferred = grp.IDs[0]
	}
	gc.Send = func(to uint64, m *raftpb.Message) bool { return n.sendRaft(g, to, m) }
	gc.OnLeader = func(lead uint64, heardLately func(uint64) bool) { n.leaderChanged(g, lead, heardLately) }
	gc.OnApply = func(cmds [][][]byte, reply []byte, ends []int) { n.waits.applied(g, cmds, reply, ends) }
	gc.OnStorageError = func(err error) {
		select {
		case n.failed <- fmt.Errorf("group %d: %w", g, err):
		default:
		}
	}
	grp, err := NewGroup(gc)
	if err != nil {
		return nil, err
	}
	if f, ok := st.(forgetter); ok {
		f.Forget()
	}
	if g := v.group(g, n.meta); slices.Contains(g.IDs, id) || slices.Contains(g.LeavingIDs, id) {
		grp.SetMembers(g.IDs, g.IDs[0])
	}
	return grp, nil
}

// forgetter is a Storage that keeps what it recovered until the replica
// built on it says it has it (raftlog.GroupLog.Forget).
type forgetter interface{ Forget() }

// SetTransport sets the connections to the peers; call it before Run.
func (n *Node) SetTransport(tr Transport) { n.tr = tr }

// v returns the view the node follows now.
func (n *Node) v() *view { return n.view.Load() }

// Table returns the placement table the node follows now.
func (n *Node) Table() *placement.Table { return n.v().table }

// Groups returns the number of data groups in the table the node follows
// now.
func (n *Node) Groups() int { return n.v().ngroups }

// NodeID returns this node's ID.
func (n *Node) NodeID() string { return n.cfg.NodeID }

// Failed receives an error when one of the node's replicas stopped because
// its storage failed to save. The node's groups share one log, so such a
// failure is the node's: after a failed fsync what the log holds is not
// known (the kernel may have dropped the pages), and like etcd the node
// should stop and recover from what is on disk.
func (n *Node) Failed() <-chan error { return n.failed }

// Group returns this node's replica of data group g, or nil.
func (n *Node) Group(g int) *Group { return n.all[g].Load() }

// local returns this node's replica of group g (data or meta), or nil.
func (n *Node) local(g int) *Group { return n.all[g].Load() }

// Run drives the node's replicas until ctx is done and waits for them.
func (n *Node) Run(ctx context.Context) {
	n.repMu.Lock()
	n.runCtx = ctx
	for g := range n.all {
		if grp := n.local(g); grp != nil {
			n.runReplica(g, grp)
		}
	}
	n.repMu.Unlock()
	n.wg.Go(func() { n.serveForwarded(ctx) })
	n.wg.Go(func() { n.sendHeartbeats(max(n.cfg.Group.Tick/2, time.Millisecond), ctx.Done()) })
	n.wg.Go(func() { n.agree(ctx) })
	n.wg.Go(func() { n.reconcileLoop(ctx) })
	n.wg.Go(func() { n.followFunctions(ctx) })
	n.wg.Go(func() { n.followTracking(ctx.Done()) })
	<-ctx.Done()
	n.closed.Store(true)
	n.wg.Wait()
	n.fwdMu.Lock()
	for id, f := range n.fwd {
		delete(n.fwd, id)
		f.timer.Stop()
		f.r.finish(nil, nil, ErrStopped)
	}
	n.fwdMu.Unlock()
}

// runReplica runs grp, this node's replica of group g, until the node
// stops or stopReplica stops it. repMu is held.
func (n *Node) runReplica(g int, grp *Group) {
	ctx, cancel := context.WithCancel(n.runCtx)
	n.cancels[g] = cancel
	n.wg.Go(func() { grp.Run(ctx) })
}

// Leader returns the index in v of the node believed to lead group g, or
// -1.
func (n *Node) Leader(v *view, g int) int {
	id := n.hints[g].Load()
	if loc := n.local(g); loc != nil && !loc.Removed() {
		// A replica just added knows no leader until it hears from it.
		if l := loc.Leader(); l != 0 || id == 0 {
			id = l
		}
	}
	return v.nodeOf(g, id)
}

// ClientAddr returns the advertised client address of node i of v, ""
// while unknown (i negative: no node, as Leader answers without a leader).
func (n *Node) ClientAddr(v *view, i int) string {
	if i < 0 || i >= len(v.nodes) {
		return ""
	}
	if i == v.self {
		return n.cfg.Addr
	}
	if n.tr == nil {
		return ""
	}
	return n.tr.Meta(v.nodes[i].ID)
}

func (n *Node) sendRaft(g int, to uint64, m *raftpb.Message) bool {
	v := n.v()
	ni := v.nodeOf(g, to)
	if ni < 0 || n.tr == nil {
		return false
	}
	dst := v.nodes[ni].ID
	if coalescable(m) {
		n.queueHeartbeat(dst, g, m)
		return true
	}
	b, err := marshalMessage(m)
	if err != nil {
		return false
	}
	if len(b) <= snapChunk {
		if m.GetType() == raftpb.MsgSnap {
			n.snapPace.wait(len(b), n.cfg.SnapshotRate)
		}
		return n.tr.Send(dst, peer.Frame{Kind: frameRaft, Group: uint32(g), Data: b})
	}
	// A large message goes in parts: message id u64 | total length u64 |
	// bytes.
	id := n.partSeq.Add(1)
	for off := 0; off < len(b); off += snapChunk {
		part := appendU64(make([]byte, 0, 16+snapChunk), id)
		part = appendU64(part, uint64(len(b)))
		part = append(part, b[off:min(off+snapChunk, len(b))]...)
		n.snapPace.wait(len(part), n.cfg.SnapshotRate)
		if n.closed.Load() || !n.tr.Send(dst, peer.Frame{Kind: frameSnap, Group: uint32(g), Data: part}) {
			return false // the receiver drops the partial message when the next one starts
		}
	}
	return true
}

// pacer spaces out the bytes sent by several goroutines so that they
// average at most a given rate: each send is given the moment the previous
// ones end at that rate, and waits for it.
type pacer struct {
	mu   sync.Mutex
	next time.Time
}

// wait waits until n more bytes may be sent at rate bytes per second (no
// wait for a rate of 0 or less).
func (p *pacer) wait(n int, rate int64) {
	if rate <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	start := p.next
	if start.Before(now) {
		start = now
	}
	p.next = start.Add(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
	p.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		time.Sleep(d)
	}
}

// maxMessage bounds a large message reassembled from parts (4 GiB).
const maxMessage = 4 << 30

// part adds one part of a large message from a peer and steps the message
// once it is whole. Parts of one message arrive in order on the peer's one
// connection; a part that does not continue the message under way starts a
// new one.
func (n *Node) part(from string, f peer.Frame) {
	d := binread.Reader{B: f.Data}
	id, total := d.U64(), d.U64()
	if d.Bad || total > maxMessage {
		n.log.Warn("bad message part", "from", from)
		return
	}
	k := partKey{from, f.Group}
	n.partsMu.Lock()
	p := n.parts[k]
	if p == nil || p.id != id {
		p = &partial{id: id, buf: make([]byte, 0, total)}
		n.parts[k] = p
	}
	if len(p.buf)+len(d.B) > int(total) {
		delete(n.parts, k)
		n.partsMu.Unlock()
		n.log.Warn("bad message part", "from", from)
		return
	}
	p.buf = append(p.buf, d.B...)
	buf := p.buf
	whole := len(buf) == int(total)
	if whole {
		delete(n.parts, k)
	}
	n.partsMu.Unlock()
	if whole {
		n.Handle(from, peer.Frame{Kind: frameRaft, Group: f.Group, Data: buf})
	}
}

// Handle receives a frame from a peer (see peer.Handler).
func (n *Node) Handle(from string, f peer.Frame) {
	if int(f.Group) >= len(n.all) {
		n.log.Warn("frame for an unknown group", "from", from, "group", f.Group)
		return
	}
	switch f.Kind {
	case frameRaft:
		g := n.local(int(f.Group))
		if g == nil {
			return
		}
		m, err := unmarshalMessage(f.Data)
		if err != nil {
			n.log.Warn("undecodable raft message", "from", from, "err", err)
			return
		}
		g.Step(m)
	case frameForward:
		select {
		case n.fwdIn <- inbound{from, f}:
		default:
			n.replyForward(from, f.Group, f.Data, nil, nil, ErrBusy)
		}
	case frameReply:
		n.forwardAnswered(f)
	case frameSnap:
		n.part(from, f)
	case frameHeartbeats:
		n.seenMu.Lock()
		n.heard[from] = time.Now()
		n.seenMu.Unlock()
		n.heartbeats(from, f.Data)
	case framePublish:
		n.published(from, f.Data)
	case frameTrack:
		n.tracked(from, f.Data)
	case frameInvalidate:
		n.invalidated(f.Data)
	default:
		n.log.Warn("frame of an unknown kind", "from", from, "kind", f.Kind)
	}
}

// Do runs r on group g: on this node when it leads the group (or for a
// Stale request, holds a replica), otherwise on the leader's node. While the
// group has no leader, or its leader moves, Do keeps trying for up to
// NodeConfig.Retry; requests that were never run are retried, never those
// whose outcome is unknown.
func (n *Node) Do(g int, r *Request) {
	r.node, r.group, r.until = n, g, time.Now().Add(n.cfg.Retry)
	n.route(g, r)
}

// TryRead runs the read r at once on the calling goroutine when group g's
// replica on this node may answer it (Group.TryRead): it leads the group,
// or r is Stale. Otherwise it reports false, and r goes to Do.
func (n *Node) TryRead(g int, r *Request) bool {
	if g == n.meta || !n.agreed.Load() {
		return false
	}
	loc := n.local(g)
	if loc == nil || (r.Mode != Stale && loc.Leader() != loc.cfg.ReplicaID) {
		return false
	}
	return loc.TryRead(r)
}

// finish ends r with its replies or err. A request that Node.Do routes and
// that was never run (ErrNotLeader, ErrTryAgain) is routed again a tick
// later instead, until its time to find a leader is up.
func (r *Request) finish(reply []byte, ends []int, err error) {
	if n := r.node; n != nil && err == nil && n.follow(r, reply, ends) {
		return
	}
	if n := r.node; n != nil && (errors.Is(err, ErrNotLeader) || errors.Is(err, ErrTryAgain)) &&
		time.Now().Before(r.until) && !n.closed.Load() {
		time.AfterFunc(n.cfg.Group.Tick, func() { n.route(r.group, r) })
		return
	}
	r.answer(reply, ends, err)
}

// answer calls Done, with the replies in Buf when r asks for them there
// (Request.Own): copied, unless they are there already.
func (r *Request) answer(reply []byte, ends []int, err error) {
	if r.Own && err == nil && !startsBuf(reply, r.Buf) {
		r.Buf = append(r.Buf[:0], reply...)
		reply = r.Buf
	}
	r.Done(reply, ends, err)
}

// startsBuf reports whether b is buf[:len(b)].
func startsBuf(b, buf []byte) bool {
	if len(b) == 0 {
		return true
	}
	return len(b) <= cap(buf) && &b[0] == &buf[:1][0]
}

// route sends r once to where group g's leader is thought to be.
func (n *Node) route(g int, r *Request) {
	if g != n.meta && !n.agreed.Load() {
		// The placement table is not agreed yet (or this node's is not
		// the cluster's): no key is served meanwhile.
		r.finish(nil, nil, ErrTryAgain)
		return
	}
	loc := n.local(g)
	if loc != nil && (r.Mode == Stale || loc.Leader() == loc.cfg.ReplicaID) {
		loc.Submit(r)
		return
	}
	v := n.v()
	target := n.Leader(v, g)
	if target < 0 || target == v.self {
		// Ask another of the group's nodes; it answers with its leader.
		// A local replica that knows of none may be in an election, or
		// removed from the group and deaf to it.
		var others []int
		for _, ni := range v.reps[g] {
			if ni != v.self {
				others = append(others, ni)
			}
		}
		if len(others) == 0 || (loc != nil && target == v.self) {
			r.finish(nil, nil, ErrTryAgain)
			return
		}
		target = others[int(time.Now().UnixNano()%int64(len(others)))]
	}
	if target == v.self || !n.tr.Connected(v.nodes[target].ID) {
		// The leader we know of is unreachable: most likely it died and
		// an election is under way. Nothing was sent, so wait and retry.
		n.hints[g].Store(0)
		r.finish(nil, nil, ErrTryAgain)
		return
	}
	n.forward(v.nodes[target].ID, g, r)
}

// PeerDown ends the requests forwarded to the node with ID id, whose
// connection was lost: their outcome is unknown for writes, and reads are
// retried. Wire it to the transport's disconnect notice.
func (n *Node) PeerDown(id string) {
	n.abandon(func(f *forwarded) bool { return f.to == id })
	// Connected again, the peer is not taken for silent before its first
	// frame of heartbeats (unreachable).
	n.seenMu.Lock()
	delete(n.heard, id)
	n.seenMu.Unlock()
}

// leaderChanged handles the requests forwarded for group g to a node that
// no longer leads it. Reads end, to be retried where the group's leader is
// now. A write may still be applied: the old leader keeps waiting for its
// entry, which its successor commits when the entry reached it (always, in
// a leadership transfer), and answers when it applies it; or "try again"
// once it applies a later leader's entries instead (Group.dropOverwritten),
// which this node then retries; or UNKNOWN when its own wait ends
// (GroupConfig.WriteTimeout). So a write forwarded to an old
// leader that handed its leadership over (this node's replica heard from it
// until just before, heardLately, and its node is still connected) waits
// for that answer, for one election timeout from now at most, rather than
// ending UNKNOWN at the election. One forwarded to a leader replaced by an
// election ends UNKNOWN at once: cut off or stopped, it would answer late
// if at all, and its client would wait past the election. (A replica that
// still heard from such a leader, which in a group of five can happen
// where it did not vote, makes its writes wait that timeout.)
func (n *Node) leaderChanged(g int, lead uint64, heardLately func(uint64) bool) {
	if lead == 0 {
		return
	}
	v := n.v()
	to := ""
	if ni := v.nodeOf(g, lead); ni >= 0 {
		to = v.nodes[ni].ID
	}
	// Asked before fwdMu is taken: the transport calls PeerDown, which
	// takes fwdMu, and may hold its own locks meanwhile.
	handedOver := map[string]bool{}
	for i, ni := range v.reps[g] {
		id := v.nodes[ni].ID
		if id != to && n.tr != nil && heardLately(v.rids[g][i]) && n.tr.Connected(id) {
			handedOver[id] = true
		}
	}
	grace := n.cfg.Group.Tick * time.Duration(n.cfg.Group.ElectionTicks)
	until := time.Now().Add(grace)
	n.abandon(func(f *forwarded) bool {
		if f.group != g || f.to == to {
			return false
		}
		if f.r.Mode != Write || !handedOver[f.to] {
			return true
		}
		if until.Before(f.deadline) {
			f.deadline = until
			f.timer.Reset(grace)
		}
		return false
	})
}

// abandon ends the forwarded requests that match, which is called with
// fwdMu held and may change those it keeps.
func (n *Node) abandon(match func(*forwarded) bool) {
	var lost []*forwarded
	n.fwdMu.Lock()
	for fid, f := range n.fwd {
		if match(f) {
			delete(n.fwd, fid)
			lost = append(lost, f)
		}
	}
	n.fwdMu.Unlock()
	for _, f := range lost {
		f.timer.Stop()
		if f.r.Mode == Write {
			f.r.finish(nil, nil, ErrUnknown)
		} else {
			f.r.finish(nil, nil, ErrTryAgain)
		}
	}
}

// modeAsked is the bit of a forwarded request's mode byte that carries
// Request.asked.
//
//	request frame: id u64 | mode u8 | proto u8 | commands (appendCommands)
const modeAsked = 0x80

// forward sends r to node target and arranges for its answer, or for
// ErrUnknown (writes) or ErrTryAgain (reads) when none comes in time.
func (n *Node) forward(target string, g int, r *Request) {
	n.fwdMu.Lock()
	n.fwdNext++
	id := n.fwdNext
	wait := n.cfg.Group.WriteTimeout + n.cfg.Group.Tick*time.Duration(n.cfg.Group.ElectionTicks)
	f := &forwarded{r: r, to: target, group: g, deadline: time.Now().Add(wait)}
	n.fwd[id] = f
	f.timer = time.AfterFunc(wait, func() { n.forwardTimedOut(id) })
	n.fwdMu.Unlock()

	b := make([]byte, 0, 64)
	b = appendU64(b, id)
	mode := byte(r.Mode)
	if r.asked {
		mode |= modeAsked
	}
	b = append(b, mode, byte(r.Proto))
	b = appendCommands(b, r.Cmds)
	if !n.tr.Send(target, peer.Frame{Kind: frameForward, Group: uint32(g), Data: b}) {
		if n.take(id) != nil {
			f.timer.Stop()
			r.finish(nil, nil, ErrTryAgain) // never sent: safe to retry
		}
	}
}

func (n *Node) take(id uint64) *forwarded {
	n.fwdMu.Lock()
	defer n.fwdMu.Unlock()
	f := n.fwd[id]
	delete(n.fwd, id)
	return f
}

func (n *Node) forwardTimedOut(id uint64) {
	f := n.take(id)
	if f == nil {
		return
	}
	if f.r.Mode == Write {
		f.r.finish(nil, nil, ErrUnknown)
	} else {
		f.r.finish(nil, nil, ErrTryAgain)
	}
}

// Forwarded-request statuses.
var statusErrs = []error{nil, ErrNotLeader, ErrBusy, ErrTryAgain, ErrUnknown, ErrStopped}

func statusOf(err error) byte {
	for i, e := range statusErrs {
		if e != nil && errors.Is(err, e) {
			return byte(i)
		}
	}
	if err != nil {
		return 4
	}
	return 0
}

// forwardAnswered hands a peer's answer to the waiting request.
//
//	reply frame: id u64 | status u8 | leader hint u64 | n uvarint | n × end uvarint | replies
func (n *Node) forwardAnswered(f peer.Frame) {
	d := binread.Reader{B: f.Data}
	id, status, hint := d.U64(), d.U8(), d.U64()
	cnt := d.Uvarint()
	if d.Bad || int(status) >= len(statusErrs) || cnt > uint64(len(d.B))+1 {
		n.log.Warn("undecodable forwarded reply")
		return
	}
	ends := make([]int, cnt)
	for i := range ends {
		ends[i] = int(d.Uvarint())
	}
	if d.Bad {
		return
	}
	if hint != 0 && int(f.Group) < len(n.hints) {
		n.hints[f.Group].Store(hint)
	}
	fw := n.take(id)
	if fw == nil {
		return
	}
	fw.timer.Stop()
	if err := statusErrs[status]; err != nil {
		fw.r.finish(nil, nil, err)
		return
	}
	if fw.r.Own {
		fw.r.Buf = d.B // the frame is this node's to keep
	}
	fw.r.finish(d.B, ends, nil)
}

// serveForwarded runs the requests other nodes forward here, on the
// node's own goroutine so that a peer's read loop never waits for a group.
func (n *Node) serveForwarded(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-n.fwdIn:
			n.serveOne(in)
		}
	}
}

func (n *Node) serveOne(in inbound) {
	d := binread.Reader{B: in.f.Data}
	d.U64() // the request's id, sent back as it came
	mb, proto := d.U8(), int(d.U8())
	mode, asked := Mode(mb&^modeAsked), mb&modeAsked != 0
	cmds := readCommands(&d)
	if d.Bad || mode > Acks {
		n.log.Warn("undecodable forwarded request", "from", in.from)
		return
	}
	idb := in.f.Data[:8]
	g := n.local(int(in.f.Group))
	if g == nil {
		n.replyForward(in.from, in.f.Group, idb, nil, nil, ErrNotLeader)
		return
	}
	// The replies are written into memory of the request's own (Own), a
	// buffer that an earlier reply frame gave back once sent, which the
	// frame then carries as it is.
	var buf []byte
	select {
	case buf = <-n.fwdBufs:
	default:
	}
	g.Submit(&Request{Cmds: cmds, Proto: proto, Mode: mode, asked: asked, Own: true, Buf: buf, Done: func(reply []byte, ends []int, err error) {
		n.replyForward(in.from, in.f.Group, idb, reply, ends, err)
	}})
}

// The buffers kept for the replies of forwarded requests: at most
// fwdBufsKept, of at most fwdBufMax bytes each.
const (
	fwdBufsKept = 16
	fwdBufMax   = 2 << 20
)

// recycle keeps b for the replies of a forwarded request to come.
func (n *Node) recycle(b []byte) {
	if cap(b) == 0 || cap(b) > fwdBufMax {
		return
	}
	select {
	case n.fwdBufs <- b[:0]:
	default:
	}
}

// replyForward answers a forwarded request; reply, when set, must be
// memory of the answer's own: the frame sends it as it is (peer.Frame.Tail),
// and it is recycled once sent.
func (n *Node) replyForward(to string, g uint32, idb []byte, reply []byte, ends []int, err error) {
	if len(idb) < 8 {
		return
	}
	var hint uint64
	if loc := n.local(int(g)); loc != nil && !loc.Removed() {
		hint = loc.Leader()
	} else {
		hint = n.hints[g].Load()
	}
	b := make([]byte, 0, 32+3*len(ends))
	b = append(b, idb[:8]...)
	b = append(b, statusOf(err))
	b = appendU64(b, hint)
	b = binary.AppendUvarint(b, uint64(len(ends)))
	for _, e := range ends {
		b = binary.AppendUvarint(b, uint64(e))
	}
	f := peer.Frame{Kind: frameReply, Group: g, Data: b, Tail: reply}
	if reply != nil {
		f.Sent = func() { n.recycle(reply) }
	}
	if !n.tr.Send(to, f) {
		n.recycle(reply)
	}
}
