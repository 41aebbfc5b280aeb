package server

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// MONITOR.
//
// A monitoring connection gets an outbox, as a subscriber does (pubsub.go),
// and every command any client sends is written to it as Redis prints one:
// "+<unix seconds>.<microseconds> [0 <client address>] "cmd" "arg" …",
// arguments quoted as Redis's sdscatrepr quotes them and AUTH's (and
// HELLO's AUTH) passwords as "(redacted)". A command is fed when the
// connection that sent it dispatches it, and nothing is done per command
// while nobody monitors but one atomic load. Like Redis, a monitoring
// connection may not touch the keyspace (it is a replica there) until it
// leaves with RESET.

// Monitors are the monitoring connections of a server or a cluster node,
// each known by a key of its own (its connection) with the outbox its
// lines go to.
type Monitors struct {
	n  atomic.Int32
	mu sync.Mutex
	m  map[any]*pubsub.Outbox
}

// Add makes the connection known by key a monitor, its lines shared into
// ob. first, called under the lock that Feed takes, queues the reply to
// MONITOR in ob, once the monitor is counted: a command dispatched after
// the client can have read that reply finds the count above zero, takes
// the lock, and is fed after the reply, as in Redis.
func (ms *Monitors) Add(key any, ob *pubsub.Outbox, first func()) {
	ms.mu.Lock()
	if ms.m == nil {
		ms.m = map[any]*pubsub.Outbox{}
	}
	if _, ok := ms.m[key]; !ok {
		ms.n.Add(1)
	}
	ms.m[key] = ob
	first()
	ms.mu.Unlock()
}

// Remove makes the connection known by key a monitor no more.
func (ms *Monitors) Remove(key any) {
	ms.mu.Lock()
	if _, ok := ms.m[key]; ok {
		delete(ms.m, key)
		ms.n.Add(-1)
	}
	ms.mu.Unlock()
}

// Active reports whether anyone monitors: one atomic load, all a command
// costs while nobody does.
func (ms *Monitors) Active() bool { return ms.n.Load() > 0 }

// Feed writes args, sent by the client at addr, to every monitor: one
// line, formatted once and never changed, that every monitor's outbox
// shares.
func (ms *Monitors) Feed(addr string, args [][]byte) {
	if !ms.Active() {
		return
	}
	line := monitorLine(time.Now(), addr, args)
	ms.mu.Lock()
	for _, ob := range ms.m {
		ob.Share(line)
	}
	ms.mu.Unlock()
}

// feedMonitors feeds the server's monitors a command c dispatches.
func (c *conn) feedMonitors(args [][]byte) {
	if c.s.monitors.Active() {
		c.s.monitors.Feed(c.nc.RemoteAddr().String(), args)
	}
}

// monitorLine formats one command as MONITOR shows it.
func monitorLine(t time.Time, addr string, args [][]byte) []byte {
	b := make([]byte, 0, 64)
	b = append(b, '+')
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '.')
	us := strconv.AppendInt(nil, int64(t.Nanosecond()/1000), 10)
	for range 6 - len(us) {
		b = append(b, '0')
	}
	b = append(b, us...)
	b = append(b, " [0 "...)
	b = append(b, addr...)
	b = append(b, ']')
	redact := redacted(args)
	for i, a := range args {
		b = append(b, ' ')
		if redact[i] {
			b = append(b, `"(redacted)"`...)
			continue
		}
		b = appendRepr(b, a)
	}
	return append(b, '\r', '\n')
}

// redacted marks the arguments MONITOR hides: AUTH's, the user and
// password after HELLO's AUTH, and the value of CONFIG SET requirepass, as
// Redis does.
func redacted(args [][]byte) []bool {
	r := make([]bool, len(args))
	switch {
	case ascii.EqualFold(args[0], "auth"):
		for i := 1; i < len(args); i++ {
			r[i] = true
		}
	case ascii.EqualFold(args[0], "hello"):
		for i := 1; i+2 < len(args); i++ {
			if ascii.EqualFold(args[i], "auth") {
				r[i+1], r[i+2] = true, true
				i += 2
			}
		}
	case len(args) > 1 && ascii.EqualFold(args[0], "config") && ascii.EqualFold(args[1], "set"):
		for i := 3; i < len(args); i += 2 {
			r[i] = ascii.EqualFold(args[i-1], "requirepass")
		}
	}
	return r
}

// appendRepr quotes s as Redis's sdscatrepr does.
func appendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch < 0x20 || ch > 0x7e {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			} else {
				b = append(b, ch)
			}
		}
	}
	return append(b, '"')
}

// monitor implements MONITOR.
func (s *session) monitor(w *resp.Writer, _ [][]byte) {
	if s.inExec {
		// Redis refuses MONITOR inside a transaction.
		w.AppendError("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	c := s.c
	w.AppendOK()
	if s.monitoring {
		return
	}
	s.monitoring = true
	c.monitoring.Store(true)
	if c.ob.Load() == nil {
		c.ob.Store(c.newOutbox(pubsub.Limits{}, func(int64, string) {}))
	}
	c.s.monitors.Add(c, c.ob.Load(), func() { c.writeOut() })
}

// unmonitor leaves monitoring, as RESET and a closing connection do.
func (s *session) unmonitor() {
	if s.monitoring {
		s.monitoring = false
		s.c.monitoring.Store(false)
		s.c.s.monitors.Remove(s.c)
	}
}
