package cluster

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Client-side caching on a cluster node (CLIENT TRACKING).
//
// A client on node X reads keys of any group, served on X or forwarded to
// the group's leader, and must be told when any of them changes through
// any node, by any write path. Every change of a group's keyspace goes
// through its log, and the replica that leads the group applies it like
// the others: its keyspace reports each key changed (writes, expiry
// entries, FLUSHALL, scripts, transactions, the deletions of a slot
// migration) to a relay (GroupConfig.Track, a tracking.NewRelay
// table), which, on the leader only, sends the key in a frameInvalidate to
// every node whose clients track keys, X included when it is the leader's
// own node, where the Server's tracking.Table sends the invalidations as on
// a single server. A flush is sent as a null key: each group flushed sends
// one, so a FLUSHALL gives one null invalidation per group.
//
// It costs nothing while no client tracks: the groups relay only while
// Node.trackOn is set, which is while this node's clients track or another
// node said, in a frameTrack, that its clients do. A node repeats that
// every trackRefresh while its clients track (so that nodes that start or
// join later learn of it), says when they stop, and the word of a node
// not repeated for trackExpire lapses.
//
// The leader sends the invalidation of a write while it applies the entry,
// before it answers the node that forwarded the write: on the same link,
// so X learns of a change before the writer's reply (NOLOOP and a client's
// own writes rely on it: X knows the keys its clients' writes in flight
// touch, and names the writer to the table). A read is remembered once its
// reply is given to the client; an invalidation that came for the key
// while the read was in flight is sent again after that reply (the value
// read may be the one before the change), so no change is missed; a
// client may be told of a change twice. Like PUBLISH's frames, the
// invalidations of a node cut off meanwhile, or sent during a change of
// leader, may be lost.
const (
	frameTrack      = 7 // a node's clients track keys (1) or stopped (0)
	frameInvalidate = 8 // a key changed, in a group the sender leads: a flag (1: flush, no key), then the key
)

// trackRefresh is how often a node whose clients track says so again;
// trackExpire is how long other nodes keep its word.
const (
	trackRefresh = time.Second
	trackExpire  = 3 * trackRefresh
)

// trackNodes is the nodes whose clients track keys, by ID, with when they
// last said so. Its methods are safe for concurrent use.
type trackNodes struct {
	mu   sync.Mutex
	seen map[string]time.Time
	ids  atomic.Pointer[[]string] // the keys of seen, for the groups' goroutines
	self atomic.Bool              // this node's clients track
	said bool                     // the last word this node sent was on; under mu
	srv  atomic.Pointer[Server]   // the server of this node's clients
}

// set records the word of node id: on or not.
func (tn *trackNodes) set(id string, on bool, now time.Time) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if tn.seen == nil {
		tn.seen = map[string]time.Time{}
	}
	if on {
		tn.seen[id] = now
	} else {
		delete(tn.seen, id)
	}
	tn.publishLocked(now)
}

// publishLocked drops lapsed words and publishes the IDs. tn.mu is held.
func (tn *trackNodes) publishLocked(now time.Time) {
	ids := make([]string, 0, len(tn.seen))
	for id, at := range tn.seen {
		if now.Sub(at) > trackExpire {
			delete(tn.seen, id)
			continue
		}
		ids = append(ids, id)
	}
	tn.ids.Store(&ids)
}

// trackAny updates trackOn: whether the groups this node leads must relay
// their changes.
func (n *Node) trackAny() {
	ids := n.tracks.ids.Load()
	n.trackOn.Store(n.tracks.self.Load() || ids != nil && len(*ids) > 0)
}

// trackSay tells every other node whether this node's clients track, when
// that changed or force is set, and updates trackOn.
func (n *Node) trackSay(force bool) {
	on := n.tracks.self.Load()
	n.tracks.mu.Lock()
	changed := on != n.tracks.said
	n.tracks.said = on
	n.tracks.publishLocked(time.Now())
	n.tracks.mu.Unlock()
	n.trackAny()
	if !changed && !(force && on) || n.tr == nil {
		return
	}
	b := byte(0)
	if on {
		b = 1
	}
	v := n.v()
	for i, nd := range v.nodes {
		if i != v.self {
			n.tr.Send(nd.ID, peer.Frame{Kind: frameTrack, Data: []byte{b}})
		}
	}
}

// followTracking repeats this node's word every trackRefresh until ctx is
// done, and lets lapsed words of others go.
func (n *Node) followTracking(done <-chan struct{}) {
	t := time.NewTicker(trackRefresh)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		n.trackSay(true)
	}
}

// tracked receives a frameTrack.
func (n *Node) tracked(from string, data []byte) {
	if len(data) != 1 {
		n.log.Warn("undecodable tracking frame", "from", from)
		return
	}
	n.tracks.set(from, data[0] == 1, time.Now())
	n.trackAny()
}

// relayChange sends the change of key (nil: every key) in a group this
// node leads to the nodes whose clients track. It runs on the group's
// goroutine.
func (n *Node) relayChange(key []byte) {
	data := make([]byte, 0, 1+len(key))
	if key == nil {
		data = append(data, 1)
	} else {
		data = append(append(data, 0), key...)
	}
	if n.tracks.self.Load() {
		n.invalidated(data)
	}
	if ids := n.tracks.ids.Load(); ids != nil && n.tr != nil {
		for _, id := range *ids {
			n.tr.Send(id, peer.Frame{Kind: frameInvalidate, Data: data})
		}
	}
}

// invalidated receives a frameInvalidate (or this node's own).
func (n *Node) invalidated(data []byte) {
	s := n.tracks.srv.Load()
	if s == nil || len(data) == 0 {
		return
	}
	if data[0] == 1 {
		s.flights.flushed()
		s.track.Flushed()
		return
	}
	key := data[1:]
	s.track.Changed(key, s.flights.changed(key))
	s.track.Broadcast()
}

// flights are the keys that this node's tracking clients read or write
// with requests in flight. Safe for concurrent use.
type flights struct {
	mu   sync.Mutex
	keys map[string]*flight
	gen  uint64 // counts flushes
}

type flight struct {
	reads   int
	changes uint64 // invalidations received while reads were in flight
	writes  int
	writer  int64 // the client of the last write sent
}

// begin records reads and writes of client id about to be sent and
// returns the state to check them against at end.
func (f *flights) begin(id int64, reads, writes [][]byte) (marks []uint64, gen uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = map[string]*flight{}
	}
	get := func(k []byte) *flight {
		fl := f.keys[string(k)]
		if fl == nil {
			fl = &flight{}
			f.keys[string(k)] = fl
		}
		return fl
	}
	for _, k := range reads {
		fl := get(k)
		fl.reads++
		marks = append(marks, fl.changes)
	}
	for _, k := range writes {
		fl := get(k)
		fl.writes++
		fl.writer = id
	}
	return marks, f.gen
}

// end drops what begin recorded and returns the reads changed meanwhile.
func (f *flights) end(reads, writes [][]byte, marks []uint64, gen uint64) (changed [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	flushed := f.gen != gen
	for i, k := range reads {
		fl := f.keys[string(k)]
		if fl.changes != marks[i] || flushed {
			changed = append(changed, k)
		}
		fl.reads--
		f.drop(k, fl)
	}
	for _, k := range writes {
		fl := f.keys[string(k)]
		fl.writes--
		f.drop(k, fl)
	}
	return changed
}

func (f *flights) drop(k []byte, fl *flight) {
	if fl.reads == 0 && fl.writes == 0 {
		delete(f.keys, string(k))
	}
}

// changed notes an invalidation of key and returns the client whose write
// in flight made it, 0 when none.
func (f *flights) changed(key []byte) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.keys[string(key)]
	if fl == nil {
		return 0
	}
	fl.changes++
	if fl.writes > 0 {
		return fl.writer
	}
	return 0
}

// flushed notes a flush of every key.
func (f *flights) flushed() {
	f.mu.Lock()
	f.gen++
	f.mu.Unlock()
}

// Subscribed reports whether the client is in Pub/Sub mode
// (tracking.Target). It is called from groups' goroutines: it reads the
// counts the connection publishes (countSubs), not its subscriptions.
func (c *clientConn) Subscribed() bool {
	return c.subN[0].Load()+c.subN[1].Load()+c.subN[2].Load() > 0
}

var _ tracking.Target = (*clientConn)(nil)

// trackTarget finds a redirect target for the tracking table.
func (s *Server) trackTarget(id int64) tracking.Target {
	if c := s.connByID(id); c != nil {
		return c
	}
	return nil
}

// connByID returns the connected client with id, or nil.
func (s *Server) connByID(id int64) *clientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.id == id {
			return c
		}
	}
	return nil
}

// trackChanged tells the node whether this server's clients track now.
func (s *Server) trackChanged() {
	on := s.track.Stats().Clients > 0
	if s.node.tracks.self.Swap(on) != on {
		s.node.trackSay(false)
	}
}

// clientTracking answers CLIENT TRACKING, CACHING, TRACKINGINFO and
// GETREDIR, reporting whether sub is one of them.
func (c *clientConn) clientTracking(w *resp.Writer, sub string, args [][]byte) bool {
	switch sub {
	case "tracking", "caching":
		if len(args) < 3 {
			w.AppendError("ERR wrong number of arguments for 'client|" + sub + "' command")
			return true
		}
		if sub == "caching" {
			c.trk.CachingCmd(w, args)
			return true
		}
		on := c.trk.Tracking(w, args, c.s.track, c.id, c, func(id int64) bool { return c.s.connByID(id) != nil })
		if on {
			c.openOutbox()
		}
		c.s.trackChanged()
	case "trackinginfo", "getredir":
		if len(args) != 2 {
			w.AppendError("ERR wrong number of arguments for 'client|" + sub + "' command")
			return true
		}
		if sub == "trackinginfo" {
			c.trk.Info(w, c.s.track, c.id)
		} else {
			w.AppendInt(c.trk.GetRedir())
		}
	default:
		return false
	}
	return true
}

// trackingOff turns the client's tracking off, as it closes.
func (c *clientConn) trackingOff() {
	if c.trk.On {
		c.trk.Off(c.s.track, c.id)
		c.s.trackChanged()
	}
}

// openOutbox gives the client an outbox, if it has none yet, through
// which its replies and the messages it is sent are written in order.
func (c *clientConn) openOutbox() {
	if c.ob.Load() == nil {
		c.ob.Store(pubsub.NewOutbox(c.writeOutbox, c.s.cfg().PubSubOutput, func(pending int64, why string) {
			c.s.log.Warn("closing client for overcoming of output buffer limits", "client", c.nc.RemoteAddr().String(),
				"class", "pubsub", "limit", why, "pending", pending)
			c.kill()
		}))
	}
}

// trackCmd notes the keys of a command about to be sent: those a
// tracking client reads, to remember once answered, and those it writes,
// to name it as their writer.
func (c *clientConn) trackCmd(spec *command.Spec, args [][]byte, write bool) {
	if !c.trk.On {
		return
	}
	id := c.trk.For(spec.Name, c.inMulti, c.id)
	if write {
		c.trkWrites = spec.Keys(args, c.trkWrites)
	} else if id != 0 {
		c.trkReads = spec.Keys(args, c.trkReads)
	}
}

// trackFlight is the part of flush around the requests: before they are
// sent (begin) and once their replies are in out (end), when it remembers
// the keys read, writes the replies out, sends again the invalidations
// that came while they were in flight (until after the write), and then
// those of the client's own writes.
type trackFlight struct {
	marks []uint64
	gen   uint64
	on    bool
}

func (c *clientConn) trackBegin() trackFlight {
	if !c.trk.On || len(c.trkReads)+len(c.trkWrites) == 0 {
		return trackFlight{}
	}
	marks, gen := c.s.flights.begin(c.id, c.trkReads, c.trkWrites)
	return trackFlight{marks: marks, gen: gen, on: true}
}

func (c *clientConn) trackEnd(tf trackFlight) {
	if !tf.on {
		return
	}
	// The keys read are remembered before their replies leave, and the
	// flight ends after: a client may act on a reply at once (another
	// client of its writes the key), and a change the table did not
	// know of yet would send no invalidation. One that comes between
	// Remember and the write is sent at once, perhaps before the reply,
	// and again after it, as a change in flight.
	c.s.track.Remember(c.id, c.trkReads)
	c.writeOut()
	changed := c.s.flights.end(c.trkReads, c.trkWrites, tf.marks, tf.gen)
	for _, k := range changed {
		c.s.track.Changed(k, 0)
	}
	c.s.track.SendPending(c.id)
	clear(c.trkReads)
	clear(c.trkWrites)
	c.trkReads, c.trkWrites = c.trkReads[:0], c.trkWrites[:0]
}
