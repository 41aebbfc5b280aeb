// Package slowlog keeps the most recent commands that ran for longer than a
// threshold, as Redis's SLOWLOG does: a bounded list of entries, newest
// first, each with an id, the time it was logged, how long the command ran,
// its arguments (trimmed) and the client that sent it.
//
// Deciding whether a command is slow is the caller's job (compare its
// duration with Threshold), so that a fast command costs one comparison and
// nothing is copied; only a slow one is passed to Add, which copies what it
// keeps.
package slowlog

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/ascii"
)

// Limits on what an entry keeps, as in Redis: at most MaxArgs arguments (the
// last one then says how many more there were), each at most MaxArgLen bytes
// (followed by how many more bytes there were).
const (
	MaxArgs   = 32
	MaxArgLen = 128
)

// Client is the connection a command came from, as an entry names it.
type Client interface {
	// Addr returns the client's address as "ip:port".
	Addr() string
	// Name returns the name the client set with CLIENT SETNAME, or "".
	Name() string
}

// Entry is one logged command.
type Entry struct {
	ID       int64    // increasing from 0, never reused, not even after Reset
	Time     int64    // when it was logged, in Unix seconds
	Duration int64    // how long the command ran, in microseconds
	Args     []string // the command and its arguments, trimmed
	Addr     string   // the client's "ip:port"
	Name     string   // the client's name, or ""
}

// Log is a slow log. Its methods are safe for concurrent use.
type Log struct {
	threshold atomic.Int64 // nanoseconds; math.MaxInt64 when disabled

	mu     sync.Mutex
	max    int
	ring   []Entry // ring[start] is the oldest of n entries
	start  int
	n      int
	nextID int64
}

// New returns a Log that keeps commands running for slowerThan microseconds
// or more (a negative value keeps none; 0 keeps every command), and at most
// maxLen of them.
func New(slowerThan int64, maxLen int) *Log {
	l := &Log{max: max(maxLen, 0)}
	l.SetSlowerThan(slowerThan)
	return l
}

// SetSlowerThan changes the threshold, in microseconds; negative disables
// the log.
func (l *Log) SetSlowerThan(us int64) {
	switch {
	case us < 0:
		l.threshold.Store(math.MaxInt64)
	case us > math.MaxInt64/1000:
		l.threshold.Store(math.MaxInt64 - 1)
	default:
		l.threshold.Store(us * 1000)
	}
}

// SlowerThan returns the threshold in microseconds, -1 when disabled.
func (l *Log) SlowerThan() int64 {
	t := l.threshold.Load()
	if t == math.MaxInt64 {
		return -1
	}
	return t / 1000
}

// Threshold returns the duration from which a command is logged; a log that
// is disabled returns a duration no command reaches.
func (l *Log) Threshold() time.Duration { return time.Duration(l.threshold.Load()) }

// SetMaxLen changes how many entries the log keeps, dropping the oldest ones
// beyond it.
func (l *Log) SetMaxLen(n int) {
	n = max(n, 0)
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := min(l.n, n)
	ring := make([]Entry, keep)
	for i := range keep {
		ring[keep-1-i] = l.at(i)
	}
	l.ring, l.start, l.n, l.max = ring, 0, keep, n
}

// MaxLen returns how many entries the log keeps at most.
func (l *Log) MaxLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

// Add logs a command that ran for d, copying what the entry keeps of args.
// The caller has checked d against Threshold.
func (l *Log) Add(d time.Duration, args [][]byte, c Client) {
	e := Entry{Time: time.Now().Unix(), Duration: d.Microseconds(), Args: trim(args)}
	if c != nil {
		e.Addr, e.Name = c.Addr(), c.Name()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.ID = l.nextID
	l.nextID++
	if l.max == 0 {
		return
	}
	if l.n == len(l.ring) && len(l.ring) < l.max {
		ring := make([]Entry, min(max(2*len(l.ring), 8), l.max))
		for i := range l.n {
			ring[l.n-1-i] = l.at(i)
		}
		l.ring, l.start = ring, 0
	}
	if l.n < len(l.ring) {
		l.ring[(l.start+l.n)%len(l.ring)] = e
		l.n++
		return
	}
	l.ring[l.start] = e
	l.start = (l.start + 1) % len(l.ring)
}

// at returns the i-th newest entry; the caller holds mu.
func (l *Log) at(i int) Entry { return l.ring[(l.start+l.n-1-i)%len(l.ring)] }

// Get returns up to n entries, newest first; a negative n returns them all.
func (l *Log) Get(n int) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > l.n {
		n = l.n
	}
	out := make([]Entry, n)
	for i := range out {
		out[i] = l.at(i)
	}
	return out
}

// Len returns the number of entries held.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Reset drops every entry. Ids go on from where they were.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring, l.start, l.n = nil, 0, 0
}

// trim copies args as an entry keeps them: at most MaxArgs arguments of at
// most MaxArgLen bytes each, with the secrets of AUTH and HELLO redacted.
func trim(args [][]byte) []string {
	keep := min(len(args), MaxArgs)
	out := make([]string, keep)
	for j := range keep {
		a := args[j]
		switch {
		case keep != len(args) && j == keep-1:
			out[j] = "... (" + strconv.Itoa(len(args)-keep+1) + " more arguments)"
		case redacted(args, j):
			out[j] = "(redacted)"
		case len(a) > MaxArgLen:
			out[j] = string(a[:MaxArgLen]) + "... (" + strconv.Itoa(len(a)-MaxArgLen) + " more bytes)"
		default:
			out[j] = string(a)
		}
	}
	return out
}

// redacted reports whether args[j] is a secret that Redis leaves out of the
// slow log: every argument of AUTH, the user name and password after
// HELLO's AUTH option, and the value of CONFIG SET requirepass.
func redacted(args [][]byte, j int) bool {
	if j == 0 {
		return false
	}
	switch {
	case ascii.EqualFold(args[0], "auth"):
		return true
	case ascii.EqualFold(args[0], "config") && len(args) > 1 && ascii.EqualFold(args[1], "set"):
		return j >= 3 && j%2 == 1 && ascii.EqualFold(args[j-1], "requirepass")
	case ascii.EqualFold(args[0], "hello"):
		// HELLO [protover [AUTH username password] [SETNAME clientname]]
		for i := 2; i < j; {
			switch {
			case ascii.EqualFold(args[i], "auth"):
				if j <= i+2 {
					return true
				}
				i += 3
			case ascii.EqualFold(args[i], "setname"):
				i += 2
			default:
				i++
			}
		}
	}
	return false
}
