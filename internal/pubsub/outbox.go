package pubsub

import (
	"errors"
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
type Outbox struct {
	write func([]byte) error
	drop  func(pending int64, why string)
	lim   Limits

	mu        sync.Mutex
	buf       []byte // pending
	softSince time.Time
	closed    bool // no more puts
	wake      chan struct{}
	done      chan struct{}
	now       func() time.Time // the clock of the soft limit
}

// NewOutbox starts an outbox that writes with write (one call at a time,
// from its own goroutine) and, when the client's queue passes lim, calls
// drop, which must close the connection.
func NewOutbox(write func([]byte) error, lim Limits, drop func(pending int64, why string)) *Outbox {
	o := &Outbox{write: write, drop: drop, lim: lim, wake: make(chan struct{}, 1), done: make(chan struct{}), now: time.Now}
	go o.run()
	return o
}

// Put queues a copy of b, reporting ErrClosed when the outbox no longer
// takes anything (closed, or dropped for its limits).
func (o *Outbox) Put(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return ErrClosed
	}
	o.buf = append(o.buf, b...)
	n := int64(len(o.buf))
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
		o.closed, o.buf = true, nil
	}
	o.mu.Unlock()
	if why != "" {
		o.drop(n, why)
		select {
		case o.wake <- struct{}{}: // the writer finds it closed and ends
		default:
		}
		return ErrClosed
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns the bytes queued and not yet written.
func (o *Outbox) Pending() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return int64(len(o.buf))
}

// run writes what is queued until the outbox is closed and empty, or a
// write fails.
func (o *Outbox) run() {
	defer close(o.done)
	var out []byte
	for range o.wake {
		// Let the publishers run on before taking the queue: under a
		// stream of messages a write then carries many.
		runtime.Gosched()
		for {
			o.mu.Lock()
			out, o.buf = o.buf, out[:0]
			closed := o.closed
			o.mu.Unlock()
			if len(out) == 0 {
				if closed {
					return
				}
				break
			}
			if err := o.write(out); err != nil {
				o.mu.Lock()
				o.closed, o.buf = true, nil
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
	select {
	case o.wake <- struct{}{}:
	default:
	}
	select {
	case <-o.done:
	case <-time.After(linger):
	}
}
