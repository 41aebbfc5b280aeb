// Package pubsub is Redis's publish and subscribe: the channels, patterns
// and shard channels clients subscribe to, and the delivery of what is
// published to each subscriber.
//
// A Hub knows every subscription of a server. Publish finds the
// subscribers of a channel, and of every pattern that matches it, under a
// read lock, and hands each its message through Subscriber.Deliver, which
// must not block: a subscriber queues the message for its connection's
// writer, which sends it when the client reads, and drops a client whose
// queue passes its limits (see Outbox). A publisher thus never waits for a
// subscriber, however slow, and the shards never wait for either.
package pubsub

import (
	"slices"
	"sync"

	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Subscriber receives messages. Deliver queues one whole message for the
// client and must not block; it reports false when the subscriber is gone.
// A message is encoded once for all the subscribers it goes to and never
// changed afterwards: Deliver may keep it rather than copy it.
type Subscriber interface {
	Deliver(msg []byte) bool
	// Proto is the RESP version the message is written in: 2 for an
	// array, 3 for a push.
	Proto() int
}

// Kinds of subscription.
type Kind uint8

const (
	Channel Kind = iota // SUBSCRIBE
	Pattern             // PSUBSCRIBE
	Shard               // SSUBSCRIBE
)

// Hub is a server's subscriptions. Its methods are safe for concurrent use.
type Hub struct {
	mu   sync.RWMutex
	subs [3]map[string]map[Subscriber]struct{}
}

// NewHub returns a Hub with no subscriptions.
func NewHub() *Hub {
	h := &Hub{}
	for i := range h.subs {
		h.subs[i] = map[string]map[Subscriber]struct{}{}
	}
	return h
}

// Subscribe adds s to name's subscribers of kind k, reporting whether it
// was not one already.
func (h *Hub) Subscribe(s Subscriber, k Kind, name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[k][name]
	if m == nil {
		m = map[Subscriber]struct{}{}
		h.subs[k][name] = m
	}
	if _, ok := m[s]; ok {
		return false
	}
	m[s] = struct{}{}
	return true
}

// Unsubscribe removes s from name's subscribers of kind k, reporting
// whether it was one.
func (h *Hub) Unsubscribe(s Subscriber, k Kind, name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.subs[k][name]
	if _, ok := m[s]; !ok {
		return false
	}
	delete(m, s)
	if len(m) == 0 {
		delete(h.subs[k], name)
	}
	return true
}

// Publish delivers msg on channel to its subscribers (SUBSCRIBE) and to
// those of the patterns that match it (PSUBSCRIBE), and returns how many
// deliveries it made.
func (h *Hub) Publish(channel, msg []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	var m2, m3 []byte
	format := func(s Subscriber, kind string, pattern []byte) []byte {
		var w resp.Writer
		w.SetProto(s.Proto())
		parts := 3
		if pattern != nil {
			parts = 4
		}
		if s.Proto() > 2 {
			w.AppendPush(parts)
		} else {
			w.AppendArray(parts)
		}
		w.AppendBulkString(kind)
		if pattern != nil {
			w.AppendBulk(pattern)
		}
		w.AppendBulk(channel)
		w.AppendBulk(msg)
		return w.Bytes()
	}
	for s := range h.subs[Channel][string(channel)] {
		var b []byte
		if s.Proto() > 2 {
			if m3 == nil {
				m3 = format(s, "message", nil)
			}
			b = m3
		} else {
			if m2 == nil {
				m2 = format(s, "message", nil)
			}
			b = m2
		}
		if s.Deliver(b) {
			n++
		}
	}
	for pat, subs := range h.subs[Pattern] {
		if !glob.Match([]byte(pat), channel) {
			continue
		}
		var p2, p3 []byte
		for s := range subs {
			var b []byte
			if s.Proto() > 2 {
				if p3 == nil {
					p3 = format(s, "pmessage", []byte(pat))
				}
				b = p3
			} else {
				if p2 == nil {
					p2 = format(s, "pmessage", []byte(pat))
				}
				b = p2
			}
			if s.Deliver(b) {
				n++
			}
		}
	}
	return n
}

// SPublish delivers msg on shard channel to its subscribers (SSUBSCRIBE)
// and returns how many there were.
func (h *Hub) SPublish(channel, msg []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	var m2, m3 []byte
	for s := range h.subs[Shard][string(channel)] {
		p := s.Proto()
		b := &m2
		if p > 2 {
			b = &m3
		}
		if *b == nil {
			var w resp.Writer
			w.SetProto(p)
			if p > 2 {
				w.AppendPush(3)
			} else {
				w.AppendArray(3)
			}
			w.AppendBulkString("smessage")
			w.AppendBulk(channel)
			w.AppendBulk(msg)
			*b = w.Bytes()
		}
		if s.Deliver(*b) {
			n++
		}
	}
	return n
}

// Names returns the channels (or shard channels) of kind k with at least
// one subscriber that match pattern (all for nil), sorted.
func (h *Hub) Names(k Kind, pattern []byte) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for name := range h.subs[k] {
		if pattern == nil || glob.Match(pattern, []byte(name)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Count returns the subscribers of name of kind k.
func (h *Hub) Count(k Kind, name []byte) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs[k][string(name)])
}

// Patterns returns the number of pattern subscriptions, as PUBSUB NUMPAT:
// each pattern once, whatever its subscribers.
func (h *Hub) Patterns() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs[Pattern])
}
