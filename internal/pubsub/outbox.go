package pubsub

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"time"
)

// Limits bound what a subscriber's queue may hold, as Redis's
// client-output-buffer-limit for the pubsub class: past Hard bytes, or
// past Soft bytes for longer than SoftFor, the client is disconnected.
// Zero disables a bound.
type Limits struct {
	Hard, Soft int64
	SoftFor    time.Duration
}

// DefaultLimits are Redis's: 32mb 8mb 60.
func DefaultLimits() Limits {
	return Limits{Hard: 32 << 20, Soft: 8 << 20, SoftFor: 60 * time.Second}
}

// ErrClosed is what Put answers once the outbox is closed or dropped.
var ErrClosed = errors.New("pubsub: client output closed")

// Outbox is a subscribed connection's output: the replies of its own
// commands and the messages publishers deliver, in one queue, in the
// order they were put, which a goroutine of its own writes to the client.
// Put never waits for the client. Its methods are safe for concurrent use.
//
// A message for many subscribers is encoded once and shared: Share queues
// a reference to it, not a copy, so that a publish to a thousand
// subscribers does not copy its message a thousand times. Each outbox
// counts the shared bytes it holds as its own, as Redis counts a message
// in every subscriber's output buffer, so the limits bound each client
// exactly as with copies; the message's memory is freed once every outbox
// that holds it has written it. Messages shorter than MinShare bytes are
// copied all the same, a copy costing less than one more piece of a
// vectored write.
type Outbox struct {
	write func(*net.Buffers) error
	drop  func(pending int64, why string)
	lim   Limits

	mu        sync.Mutex
	q         net.Buffers // pending pieces, in order
	n         int64       // their bytes
	own       []byte      // the memory of the pieces copied (Put), appended to
	open      bool        // the last piece of q is the end of own: a copy extends it
	minShare  int
	softSince time.Time
	closed    bool // no more puts
	held      bool // the writer leaves the queue alone (Hold)
	wake      chan struct{}
	done      chan struct{}
	now       func() time.Time // the clock of the soft limit
}

// MinShare is the least length of a message that Share queues by
// reference rather than copies, unless SetMinShare says otherwise.
const MinShare = 1 << 10

// NewOutbox starts an outbox that writes with write (one call at a time,
// from its own goroutine; write must consume the pieces it is given, as
// net.Buffers.WriteTo does, or fail) and, when the client's queue passes
// lim, calls drop, which must close the connection.
func NewOutbox(write func(*net.Buffers) error, lim Limits, drop func(pending int64, why string)) *Outbox {
	o := &Outbox{write: write, drop: drop, lim: lim, minShare: MinShare, wake: make(chan struct{}, 1), done: make(chan struct{}), now: time.Now}
	go o.run()
	return o
}

// SetMinShare sets the least length of a message that Share references
// rather than copies. A TLS connection, whose every piece becomes a
// record of its own, sets it high.
func (o *Outbox) SetMinShare(n int) {
	o.mu.Lock()
	o.minShare = n
	o.mu.Unlock()
}

// Hold keeps the writer from taking what is queued until Release. A
// subscriber holds its outbox while it queues its subscriptions'
// confirmations and makes them in the hub: a client that acts on a
// confirmation (a publish from another connection) then finds the
// subscription made, as Redis replies only once it has subscribed, while
// the messages published meanwhile still follow the confirmations.
func (o *Outbox) Hold() {
	o.mu.Lock()
	o.held = true
	o.mu.Unlock()
}

// Release ends Hold: the writer takes what was queued meanwhile.
func (o *Outbox) Release() {
	o.mu.Lock()
	o.held = false
	o.mu.Unlock()
	o.poke()
}

// poke wakes the writer, unless a wake-up is already pending.
func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Put queues a copy of b, reporting ErrClosed when the outbox no longer
// takes anything (closed, or dropped for its limits).
func (o *Outbox) Put(b []byte) error { return o.put(b, false) }

// Share queues b itself, which must never change afterwards (a message
// encoded once for every subscriber): it is written from where it is. It
// reports ErrClosed as Put does.
func (o *Outbox) Share(b []byte) error { return o.put(b, true) }

func (o *Outbox) put(b []byte, shared bool) error {
	if len(b) == 0 {
		return nil
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return ErrClosed
	}
	if shared && len(b) >= o.minShare {
		o.q = append(o.q, b)
		o.open = false
	} else {
		at := len(o.own)
		o.own = append(o.own, b...)
		if i := len(o.q) - 1; o.open {
			// The last piece ends where b was copied; own may have moved.
			o.q[i] = o.own[at-len(o.q[i]):]
		} else {
			o.q = append(o.q, o.own[at:])
			o.open = true
		}
	}
	o.n += int64(len(b))
	n := o.n
	why := ""
	switch {
	case o.lim.Hard > 0 && n > o.lim.Hard:
		why = "hard"
	case o.lim.Soft > 0 && n > o.lim.Soft:
		now := o.now()
		if o.softSince.IsZero() {
			o.softSince = now
		} else if now.Sub(o.softSince) > o.lim.SoftFor {
			why = "soft"
		}
	default:
		o.softSince = time.Time{}
	}
	if why != "" {
		o.closed = true
		o.empty()
	}
	o.mu.Unlock()
	if why != "" {
		o.drop(n, why)
		o.poke() // the writer finds it closed and ends
		return ErrClosed
	}
	o.poke()
	return nil
}

// empty drops what is queued. The caller holds o.mu.
func (o *Outbox) empty() {
	clear(o.q)
	o.q, o.n, o.own, o.open = o.q[:0], 0, o.own[:0], false
}

// Pending returns the bytes queued and not yet taken by the writer (which
// takes them all at once: the bytes it is writing are the connection's
// omem), shared ones included.
func (o *Outbox) Pending() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// run writes what is queued until the outbox is closed and empty, or a
// write fails. It takes the queue whole, leaving the queue the pieces and
// copy buffer it wrote last, emptied: a shared message is referenced by an
// outbox only until its write completed.
func (o *Outbox) run() {
	defer close(o.done)
	var out net.Buffers
	var own []byte
	for range o.wake {
		// Let the publishers run on before taking the queue: under a
		// stream of messages a write then carries many.
		runtime.Gosched()
		for {
			o.mu.Lock()
			if o.held && !o.closed {
				o.mu.Unlock()
				break // Release wakes it
			}
			out, o.q = o.q, out[:0]
			own, o.own = o.own, own[:0]
			o.n, o.open = 0, false
			closed := o.closed
			o.mu.Unlock()
			if len(out) == 0 {
				if closed {
					return
				}
				break
			}
			v := out
			err := o.write(&v)
			clear(out)
			if err != nil {
				o.mu.Lock()
				o.closed = true
				o.empty()
				o.mu.Unlock()
				return
			}
		}
	}
}

// Close takes no more and waits up to linger for what is queued to be
// written; the caller then closes the connection, which ends a write the
// client does not read.
func (o *Outbox) Close(linger time.Duration) {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.poke()
	select {
	case <-o.done:
	case <-time.After(linger):
	}
}
