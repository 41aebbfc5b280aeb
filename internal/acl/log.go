package acl

import (
	"sync"
	"time"
)

// DefaultLogLen is the number of entries ACL LOG keeps, Redis's
// acllog-max-len.
const DefaultLogLen = 128

// groupWithin is how close in time a denial must follow a like one to be
// counted in it, and groupScan how many recent entries are searched, as
// in Redis.
const (
	groupWithin = 60 * time.Second
	groupScan   = 10
)

// LogEntry is one entry of ACL LOG: like denials grouped, with the time
// of the last one and the client that made it.
type LogEntry struct {
	Count      int64
	Reason     Reason
	Context    string // "toplevel", "multi" or "lua"
	Object     string // the command, key or channel denied; for auth, the command's name
	Username   string
	Time       time.Time // of the last denial counted
	ClientInfo string    // the client's CLIENT LIST line at that denial
}

// Log is the log of ACL LOG, newest first. Its methods may be called from
// any goroutine.
type Log struct {
	mu      sync.Mutex
	entries []*LogEntry
	max     int
}

// Add records a denial, counted in a like recent entry if there is one.
func (l *Log) Add(e LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < len(l.entries) && i < groupScan; i++ {
		c := l.entries[i]
		if c.Reason == e.Reason && c.Context == e.Context && c.Object == e.Object &&
			c.Username == e.Username && e.Time.Sub(c.Time) <= groupWithin {
			c.Count++
			c.Time = e.Time
			c.ClientInfo = e.ClientInfo
			copy(l.entries[1:i+1], l.entries[:i])
			l.entries[0] = c
			return
		}
	}
	e.Count = 1
	l.entries = append(l.entries, nil)
	copy(l.entries[1:], l.entries)
	l.entries[0] = &e
	max := l.max
	if max <= 0 {
		max = DefaultLogLen
	}
	if len(l.entries) > max {
		l.entries[len(l.entries)-1] = nil
		l.entries = l.entries[:max]
	}
}

// Entries returns copies of the n newest entries (all when n < 0).
func (l *Log) Entries(n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > len(l.entries) {
		n = len(l.entries)
	}
	out := make([]LogEntry, n)
	for i := range out {
		out[i] = *l.entries[i]
	}
	return out
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.entries)
	l.entries = l.entries[:0]
}
