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

// monitors are the monitoring connections.
type monitors struct {
	n  atomic.Int32
	mu sync.Mutex
	m  map[*conn]struct{}
}

// add makes c a monitor. first, called under the lock that feed takes,
// queues c's reply to MONITOR in its outbox, once c is counted: a command
// dispatched after the client can have read that reply finds the count
// above zero, takes the lock, and is fed after the reply, as in Redis.
func (ms *monitors) add(c *conn, first func()) {
	ms.mu.Lock()
	if ms.m == nil {
		ms.m = map[*conn]struct{}{}
	}
	if _, ok := ms.m[c]; !ok {
		ms.m[c] = struct{}{}
		ms.n.Add(1)
	}
	first()
	ms.mu.Unlock()
}

func (ms *monitors) remove(c *conn) {
	ms.mu.Lock()
	if _, ok := ms.m[c]; ok {
		delete(ms.m, c)
		ms.n.Add(-1)
	}
	ms.mu.Unlock()
}

// feed writes args, sent by from, to every monitor: one line, formatted
// once and never changed, that every monitor's outbox shares.
func (ms *monitors) feed(from *conn, args [][]byte) {
	if ms.n.Load() == 0 {
		return
	}
	line := monitorLine(time.Now(), from.nc.RemoteAddr().String(), args)
	ms.mu.Lock()
	for c := range ms.m {
		if ob := c.ob.Load(); ob != nil {
			ob.Share(line)
		}
	}
	ms.mu.Unlock()
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
	c.s.monitors.add(c, func() { c.writeOut() })
}

// unmonitor leaves monitoring, as RESET and a closing connection do.
func (s *session) unmonitor() {
	if s.monitoring {
		s.monitoring = false
		s.c.monitoring.Store(false)
		s.c.s.monitors.remove(s.c)
	}
}
