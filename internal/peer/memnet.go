package peer

import (
	"bytes"
	"container/heap"
	"math/rand/v2"
	"sync"
	"time"
)

// memQueueLen bounds the frames waiting for one member of a Network.
const memQueueLen = 4096

// Network is an in-memory network of members that send each other frames,
// for tests of the layers above the transport. It can partition its
// members, isolate one, lose frames at random and delay them at random.
//
// Each member has a delivery goroutine that calls its Handler, so frames
// from one sender to one receiver arrive in the order they were sent unless
// a delay is set, which also reorders them. Random choices come from one
// generator seeded by NewNetwork's seed, drawn when a frame is sent: a test
// that sends the same frames in the same order, from one goroutine, sees
// the same frames lost and the same delays on every run. Delays are measured
// on the real clock.
//
// The Sender a member gets from Join copies each frame's data, never blocks,
// and returns false when the receiver is not another member, when the
// sender has left, or when 4096 frames already wait for the receiver. A
// frame lost to a partition or to the drop rate counts as sent (true), as on
// a real network.
//
// The methods of a Network and of the Senders it returns are safe for
// concurrent use. A Handler may call Send, and the Network's setters, but
// not Leave or Close.
type Network struct {
	mu       sync.Mutex
	rng      *rand.Rand
	members  map[string]*member
	group    map[string]int // partition group of each member; nil when not partitioned
	isolated map[string]bool
	muted    map[string]bool // frames from and to them are lost, while Reachable holds
	dropRate float64
	maxDelay time.Duration
	seq      uint64 // orders the frames of equal delivery times
	stats    NetStats
	closed   bool

	wg sync.WaitGroup // the delivery goroutines
}

// NetStats counts the frames of a Network.
type NetStats struct {
	// Sent counts the frames Send accepted (returned true for).
	Sent uint64
	// Delivered counts the frames handed to a Handler.
	Delivered uint64
	// Dropped counts the frames lost: refused by a full queue, cut by a
	// partition or isolation, lost at random, or pending when their
	// receiver left.
	Dropped uint64
}

// member is one node of a Network: its Handler and the frames waiting for
// it. All its fields but id, h and the channels are guarded by Network.mu.
type member struct {
	n       *Network
	id      string
	h       Handler
	pending deliveries
	left    bool
	wake    chan struct{} // 1-buffered: pending changed
	done    chan struct{} // closed when the member leaves
	stopped chan struct{} // closed when the delivery goroutine ended
}

// delivery is a frame waiting for its receiver.
type delivery struct {
	from string
	f    Frame
	at   time.Time // not before; zero without delay
	seq  uint64
}

// NewNetwork returns an empty network whose random choices derive from seed.
func NewNetwork(seed int64) *Network {
	return &Network{
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		members:  make(map[string]*member),
		isolated: make(map[string]bool),
		muted:    make(map[string]bool),
	}
}

// Join adds the member id, whose frames go to h, and returns the Sender it
// sends with. It panics if id is already a member. After Close, the Sender
// returned refuses every frame.
func (n *Network) Join(id string, h Handler) Sender {
	m := &member{n: n, id: id, h: h, wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		m.left = true
		close(m.done)
		close(m.stopped)
		return m
	}
	if n.members[id] != nil {
		panic("peer: " + id + " joined the network twice")
	}
	n.members[id] = m
	n.wg.Go(func() {
		defer close(m.stopped)
		m.run()
	})
	return m
}

// Leave removes the member id, as if its node had stopped: frames waiting
// for it are dropped and its Sender refuses every frame. It returns once its
// Handler is no longer running. id may join again.
func (n *Network) Leave(id string) {
	n.mu.Lock()
	m := n.members[id]
	if m != nil {
		n.leave(m)
		delete(n.members, id)
	}
	n.mu.Unlock()
	if m != nil {
		<-m.stopped
	}
}

// leave stops m. n.mu is held.
func (n *Network) leave(m *member) {
	m.left = true
	n.stats.Dropped += uint64(len(m.pending))
	m.pending = nil
	close(m.done)
}

// Close stops every delivery goroutine and waits for them; frames not yet
// delivered are dropped.
func (n *Network) Close() {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		for id, m := range n.members {
			n.leave(m)
			delete(n.members, id)
		}
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// Partition splits the network: only members of the same group reach each
// other, and a member named in no group reaches no one. It replaces any
// earlier partition; isolated members stay isolated.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.group = make(map[string]int)
	for i, g := range groups {
		for _, id := range g {
			n.group[id] = i
		}
	}
}

// Isolate cuts the member id off from every other member, until Heal.
func (n *Network) Isolate(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated[id] = true
}

// Mute loses every frame from and to the member id, until Heal, while
// Reachable still reports it reachable: a member that stays connected but
// sends and takes nothing, as a process stopped with SIGSTOP does.
func (n *Network) Mute(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.muted[id] = true
}

// Heal undoes Partition, Isolate and Mute: every member reaches every other
// again.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.group = nil
	clear(n.isolated)
	clear(n.muted)
}

// SetDropRate makes the network lose each frame with probability p (0 to 1).
func (n *Network) SetDropRate(p float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dropRate = p
}

// SetDelay delays each frame by a random duration from 0 to max, which also
// reorders frames; 0 delivers frames at once and in order.
func (n *Network) SetDelay(max time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.maxDelay = max
}

// Stats returns the network's counters.
func (n *Network) Stats() NetStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Reachable reports whether from reaches to now: both are members, neither
// is isolated, and no partition separates them. It stands for a
// transport's "connected".
func (n *Network) Reachable(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.members[from] != nil && n.members[to] != nil && n.reachable(from, to)
}

// reachable reports whether from reaches to now. n.mu is held.
func (n *Network) reachable(from, to string) bool {
	if n.isolated[from] || n.isolated[to] {
		return false
	}
	if n.group == nil {
		return true
	}
	gf, okf := n.group[from]
	gt, okt := n.group[to]
	return okf && okt && gf == gt
}

// Send queues a copy of f for the member to. It returns false when to is
// not another member of the network, when the sender has left, or when 4096
// frames already wait for to. A frame lost to a partition or to the drop
// rate is accepted (true) and counted in Dropped, as a real network would
// lose it silently.
func (m *member) Send(to string, f Frame) bool {
	n := m.n
	n.mu.Lock()
	defer n.mu.Unlock()
	dst := n.members[to]
	if m.left || dst == nil || dst == m {
		return false
	}
	if len(dst.pending) >= memQueueLen {
		n.stats.Dropped++
		return false
	}
	n.stats.Sent++
	if !n.reachable(m.id, to) || n.muted[m.id] || n.muted[to] || n.dropRate > 0 && n.rng.Float64() < n.dropRate {
		n.stats.Dropped++
		return true
	}
	d := delivery{from: m.id, f: f, seq: n.seq}
	d.f.Data = append(bytes.Clone(f.Data), f.Tail...)
	d.f.Tail, d.f.Sent = nil, nil
	if f.Sent != nil {
		f.Sent()
	}
	n.seq++
	if n.maxDelay > 0 {
		d.at = time.Now().Add(time.Duration(n.rng.Int64N(int64(n.maxDelay) + 1)))
	}
	heap.Push(&dst.pending, d)
	select {
	case dst.wake <- struct{}{}:
	default:
	}
	return true
}

// run hands m's frames to its Handler as they become due, until m leaves.
// A frame whose sender can no longer reach m by then is dropped.
func (m *member) run() {
	n := m.n
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.mu.Lock()
		if m.left {
			n.mu.Unlock()
			return
		}
		if len(m.pending) == 0 {
			n.mu.Unlock()
			select {
			case <-m.wake:
			case <-m.done:
				return
			}
			continue
		}
		if at := m.pending[0].at; !at.IsZero() && time.Now().Before(at) {
			n.mu.Unlock()
			timer.Reset(time.Until(at))
			select {
			case <-timer.C:
			case <-m.wake: // an earlier frame may have come
			case <-m.done:
				return
			}
			continue
		}
		d := heap.Pop(&m.pending).(delivery)
		ok := n.reachable(d.from, m.id) && !n.muted[d.from] && !n.muted[m.id]
		if ok {
			n.stats.Delivered++
		} else {
			n.stats.Dropped++
		}
		n.mu.Unlock()
		if ok {
			m.h.Handle(d.from, d.f)
		}
	}
}

// deliveries is a min-heap of deliveries by time, then by sending order.
type deliveries []delivery

// Len implements heap.Interface.
func (h deliveries) Len() int { return len(h) }

// Less implements heap.Interface.
func (h deliveries) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}

// Swap implements heap.Interface.
func (h deliveries) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

// Push implements heap.Interface.
func (h *deliveries) Push(x any) { *h = append(*h, x.(delivery)) }

// Pop implements heap.Interface.
func (h *deliveries) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = delivery{}
	*h = old[:len(old)-1]
	return d
}

var _ Sender = (*member)(nil)
