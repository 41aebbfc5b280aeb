// Package tracking is Redis's client-side caching (CLIENT TRACKING): which
// client read which key, and the invalidation messages sent when a key
// changes.
//
// A Table knows the clients that track and, in the default mode, the keys
// each has read (Remember), or, in broadcasting mode (BCAST), the key
// prefixes each follows. When a key changes (Changed), every client that
// read it since its last invalidation is sent, and every broadcasting client
// of a prefix it starts with is sent after the group of commands that
// changed it (Broadcast), with the other keys of the prefix changed meanwhile,
//
//	>2 invalidate [key]                       to a RESP3 client, or
//	*3 message __redis__:invalidate [key]     to a RESP2 client it redirects to,
//
// through the client's Target, which queues the message and never blocks.
// A key read is forgotten once its invalidation is sent: the client reads it
// again to be told of the next change. FLUSHALL and FLUSHDB send a null
// instead of the keys (Flushed).
//
// The methods of a Table are safe for concurrent use: shards call Changed
// from their goroutines, connections Enable, Disable and Remember from
// theirs. While no client tracks, Changed costs one atomic load.
package tracking

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// Target receives a client's invalidation messages: the tracking client
// itself, or the client it redirects to. Its methods must be safe for
// concurrent use and must not block.
type Target interface {
	// Deliver queues one whole message for the client; it reports false
	// when the client is gone or takes no messages. The message is made
	// for this delivery and never changed: Deliver may keep it.
	Deliver(msg []byte) bool
	// Proto is the client's RESP version.
	Proto() int
	// Subscribed reports whether a RESP2 client is in Pub/Sub mode, the
	// only way it can be sent messages.
	Subscribed() bool
}

// Options are a client's CLIENT TRACKING options.
type Options struct {
	Redirect int64 // the client messages go to; 0 for the client itself
	BCAST    bool
	OptIn    bool
	OptOut   bool
	NoLoop   bool
	Prefixes []string // BCAST only
}

// DefaultMaxKeys is Redis's tracking-table-max-keys.
const DefaultMaxKeys = 1_000_000

// Table is a server's tracking state. The zero value is not usable; call
// New.
type Table struct {
	clients  atomic.Int64 // clients tracking
	bcasting atomic.Int64 // of which in BCAST mode
	maxKeys  atomic.Int64

	mu       sync.Mutex
	byID     map[int64]*client
	keys     map[string]map[int64]struct{} // key → clients that read it
	items    int64                         // pairs in keys
	prefixes map[string]map[int64]struct{} // BCAST prefix → clients
	// pending holds, by client, the invalidations of the keys a client's
	// own command changed, sent after its reply (SendPending), as Redis
	// 7.0 does.
	pending map[int64][]delivery
	// changed holds, by BCAST prefix, the keys changed since the last
	// Broadcast, each with the client that changed it last (for NOLOOP).
	changed  map[string]map[string]int64
	bchanged atomic.Bool // changed is not empty

	// A relay (NewRelay) has no clients: it passes every change on.
	relayOn *atomic.Bool
	relay   func(key []byte)

	lookup func(id int64) Target
}

type client struct {
	id     int64
	self   Target
	opts   Options
	broken bool // the redirect client was not found
}

// New returns a Table with no tracking client; lookup finds any connected
// client by id, for redirects, or returns nil.
func New(lookup func(id int64) Target) *Table {
	t := &Table{
		byID:     make(map[int64]*client),
		keys:     make(map[string]map[int64]struct{}),
		prefixes: make(map[string]map[int64]struct{}),
		pending:  make(map[int64][]delivery),
		changed:  make(map[string]map[string]int64),
		lookup:   lookup,
	}
	t.maxKeys.Store(DefaultMaxKeys)
	return t
}

// NewRelay returns a Table that tracks no client but passes every key
// changed to fn (nil for a flush of every key) while on is set: a cluster
// node's group keyspace reports its changes to the nodes whose clients
// track keys through one. fn is called from the goroutine that changed the
// key and must not block.
func NewRelay(on *atomic.Bool, fn func(key []byte)) *Table {
	t := New(func(int64) Target { return nil })
	t.relayOn, t.relay = on, fn
	return t
}

// SetMaxKeys sets tracking-table-max-keys: past n keys read, Remember
// forgets keys chosen at random, sending their invalidations, as Redis
// does. 0 means no limit.
func (t *Table) SetMaxKeys(n int64) { t.maxKeys.Store(n) }

// MaxKeys returns tracking-table-max-keys.
func (t *Table) MaxKeys() int64 { return t.maxKeys.Load() }

// Active reports whether any client tracks: when false, no key change
// needs to be reported.
func (t *Table) Active() bool {
	return t != nil && (t.clients.Load() > 0 || t.relayOn != nil && t.relayOn.Load())
}

// Enable turns tracking on for client id, whose messages go to self unless
// o redirects them, replacing options it had (the connection checks that
// the change is one Redis allows). Prefixes are added to those it had.
func (t *Table) Enable(id int64, self Target, o Options) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.byID[id]
	if !ok {
		c = &client{id: id}
		t.byID[id] = c
		t.clients.Add(1)
		if o.BCAST {
			t.bcasting.Add(1)
		}
	}
	prefixes := c.opts.Prefixes
	c.self, c.opts, c.broken = self, o, false
	if o.BCAST {
		if len(o.Prefixes) == 0 && len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, p := range o.Prefixes {
			if !containsString(prefixes, p) {
				prefixes = append(prefixes, p)
			}
		}
		for _, p := range prefixes {
			m := t.prefixes[p]
			if m == nil {
				m = make(map[int64]struct{})
				t.prefixes[p] = m
			}
			m[id] = struct{}{}
		}
		c.opts.Prefixes = prefixes
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Disable turns tracking off for client id. The keys it read are
// forgotten lazily, when they change, as in Redis.
func (t *Table) Disable(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.byID[id]
	if !ok {
		return
	}
	for _, p := range c.opts.Prefixes {
		if m := t.prefixes[p]; m != nil {
			delete(m, id)
			if len(m) == 0 {
				delete(t.prefixes, p)
			}
		}
	}
	delete(t.byID, id)
	delete(t.pending, id)
	t.clients.Add(-1)
	if c.opts.BCAST {
		t.bcasting.Add(-1)
	}
}

// Info returns client id's options, whether its redirect is broken, and
// whether it tracks.
func (t *Table) Info(id int64) (o Options, broken, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.byID[id]
	if !ok {
		return Options{}, false, false
	}
	o = c.opts
	o.Prefixes = append([]string(nil), c.opts.Prefixes...)
	return o, c.broken, true
}

// Remember records that client id read keys, for a client in the default
// mode. Past the table's MaxKeys it forgets keys chosen at random, sending
// their invalidations.
func (t *Table) Remember(id int64, keys [][]byte) {
	if len(keys) == 0 {
		return
	}
	var out []delivery
	t.mu.Lock()
	c, ok := t.byID[id]
	if !ok || c.opts.BCAST {
		t.mu.Unlock()
		return
	}
	for _, k := range keys {
		m := t.keys[string(k)]
		if m == nil {
			m = make(map[int64]struct{}, 1)
			t.keys[string(k)] = m
		}
		if _, had := m[id]; !had {
			m[id] = struct{}{}
			t.items++
		}
	}
	if max := t.maxKeys.Load(); max > 0 {
		for k := range t.keys {
			if int64(len(t.keys)) <= max {
				break
			}
			out = t.invalidateLocked(out, []byte(k), 0)
		}
	}
	t.mu.Unlock()
	t.deliver(out)
}

// Changed sends the invalidations of key, changed by a command of client
// writer (0 for none: expiry, eviction): to the clients that read it,
// which then forget it, and to the broadcasting clients of its prefixes,
// except, for those with NOLOOP, to writer itself.
func (t *Table) Changed(key []byte, writer int64) {
	if !t.Active() {
		return
	}
	if t.relay != nil {
		t.relay(key)
		return
	}
	t.mu.Lock()
	out := t.invalidateLocked(nil, key, writer)
	if t.bcasting.Load() > 0 {
		for p := range t.prefixes {
			if !bytes.HasPrefix(key, []byte(p)) {
				continue
			}
			m := t.changed[p]
			if m == nil {
				m = make(map[string]int64)
				t.changed[p] = m
			}
			m[string(key)] = writer
			t.bchanged.Store(true)
		}
	}
	t.mu.Unlock()
	t.deliver(out)
}

// Broadcast sends the broadcasting clients the keys of their prefixes
// changed since the last call: one message per prefix and client, its keys
// in order, leaving out for a NOLOOP client the keys it changed last, as
// Redis sends them once per turn of its event loop. The shards call it
// after each group of commands and each expiry cycle; while nothing
// changed it costs one atomic load.
func (t *Table) Broadcast() {
	if t == nil || !t.bchanged.Load() {
		return
	}
	var out []delivery
	t.mu.Lock()
	t.bchanged.Store(false)
	prefixes := make([]string, 0, len(t.changed))
	for p := range t.changed {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)
	for _, p := range prefixes {
		changed := t.changed[p]
		keys := make([]string, 0, len(changed))
		for k := range changed {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for id := range t.prefixes[p] {
			c := t.byID[id]
			if c == nil {
				continue
			}
			d := delivery{c: c, redirect: c.opts.Redirect, multi: true}
			own := false
			for _, k := range keys {
				w := changed[k]
				if w == id && c.opts.NoLoop {
					continue
				}
				own = own || w == id
				d.keys = append(d.keys, []byte(k))
			}
			switch {
			case len(d.keys) == 0:
			case own:
				t.pending[id] = append(t.pending[id], d)
			default:
				out = append(out, d)
			}
		}
	}
	clear(t.changed)
	t.mu.Unlock()
	t.deliver(out)
}

// invalidateLocked appends the messages for the clients that read key and
// forgets it. t.mu is held.
func (t *Table) invalidateLocked(out []delivery, key []byte, writer int64) []delivery {
	ids, ok := t.keys[string(key)]
	if !ok {
		return out
	}
	for id := range ids {
		c := t.byID[id]
		if c == nil || c.opts.BCAST || c.opts.NoLoop && id == writer {
			continue
		}
		out = t.queue(out, c, key, writer)
	}
	t.items -= int64(len(ids))
	delete(t.keys, string(key))
	return out
}

// Flushed sends every tracking client a null invalidation, as FLUSHALL and
// FLUSHDB do, and forgets every key read.
func (t *Table) Flushed() {
	if !t.Active() {
		return
	}
	if t.relay != nil {
		t.relay(nil)
		return
	}
	var out []delivery
	t.mu.Lock()
	for _, c := range t.byID {
		out = append(out, t.target(c, nil, true))
	}
	clear(t.keys)
	t.items = 0
	t.mu.Unlock()
	t.deliver(out)
}

// queue appends the invalidation of key for c to out, or, when c's own
// command changed it, to what c is sent after its reply. t.mu is held.
func (t *Table) queue(out []delivery, c *client, key []byte, writer int64) []delivery {
	if c.id == writer {
		t.pending[c.id] = append(t.pending[c.id], t.target(c, key, false))
		return out
	}
	return append(out, t.target(c, key, false))
}

// SendPending sends client id the invalidations of the keys its own
// commands changed; its connection calls it once their replies are
// written.
func (t *Table) SendPending(id int64) {
	t.mu.Lock()
	out := t.pending[id]
	delete(t.pending, id)
	t.mu.Unlock()
	t.deliver(out)
}

// delivery is one message to send once t.mu is released.
type delivery struct {
	c        *client
	key      []byte
	keys     [][]byte // with multi, the keys of one BCAST message
	multi    bool
	null     bool
	redirect int64
}

// target prepares the message of key for c. t.mu is held.
func (t *Table) target(c *client, key []byte, null bool) delivery {
	return delivery{c: c, key: bytes.Clone(key), null: null, redirect: c.opts.Redirect}
}

// deliver sends the messages, outside t.mu: finding a redirect client
// takes the server's lock, and a Target may take its own.
func (t *Table) deliver(out []delivery) {
	for _, d := range out {
		send(t, d)
	}
}

func send(t *Table, d delivery) {
	to := d.c.self
	redirected := d.redirect != 0
	if redirected {
		to = nil
		if t.lookup != nil {
			to = t.lookup(d.redirect)
		}
		if to == nil {
			t.mu.Lock()
			d.c.broken = true
			t.mu.Unlock()
			if self := d.c.self; self != nil && self.Proto() > 2 {
				var w resp.Writer
				w.SetProto(3)
				w.AppendPush(2)
				w.AppendBulkString("tracking-redir-broken")
				w.AppendInt(d.redirect)
				self.Deliver(w.Bytes())
			}
			return
		}
	}
	if to == nil {
		return
	}
	var w resp.Writer
	switch {
	case to.Proto() > 2:
		w.SetProto(3)
		w.AppendPush(2)
		w.AppendBulkString("invalidate")
	case redirected && to.Subscribed():
		w.AppendArray(3)
		w.AppendBulkString("message")
		w.AppendBulkString(Channel)
	default:
		return // a RESP2 client can be told nothing on its own connection
	}
	switch {
	case d.null && d.c.self != nil && d.c.self.Proto() > 2:
		w.AppendRaw([]byte("_\r\n"))
	case d.null:
		w.AppendRaw([]byte("$-1\r\n"))
	case d.multi:
		w.AppendArray(len(d.keys))
		for _, k := range d.keys {
			w.AppendBulk(k)
		}
	default:
		w.AppendArray(1)
		w.AppendBulk(d.key)
	}
	to.Deliver(w.Bytes())
}

// Channel is the Pub/Sub channel a RESP2 client subscribes to for the
// invalidations of the clients that redirect to it.
const Channel = "__redis__:invalidate"

// Stats are INFO's tracking figures.
type Stats struct {
	Keys     int64 // tracking_total_keys: keys read and not yet invalidated
	Items    int64 // tracking_total_items: (key, client) pairs
	Prefixes int64 // tracking_total_prefixes: BCAST prefixes followed
	Clients  int64 // tracking_clients
}

// Stats returns the table's figures.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{Keys: int64(len(t.keys)), Items: t.items, Prefixes: int64(len(t.prefixes)), Clients: t.clients.Load()}
}
