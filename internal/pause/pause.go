// Package pause is CLIENT PAUSE: a Pauser holds every client's commands
// (ALL) or only those that write or may write (WRITE) until the pause ends
// or CLIENT UNPAUSE. A single server and a cluster node each have one.
package pause

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
)

// Pauser is the state of CLIENT PAUSE. As in Redis 7.0, a new pause while
// one is in force keeps the later end and the wider mode, and during an ALL
// pause CLIENT UNPAUSE waits like every command.
//
// Its methods are safe for concurrent use.
type Pauser struct {
	mu    sync.Mutex
	state atomic.Pointer[state] // nil: no pause
	timer *time.Timer           // ends the pause in force
	// On says whether a pause is in force, for those that must stop
	// while it is (a single server's shards stop expiring and evicting
	// keys, a cluster node's leaders stop proposing expiries). Only the
	// Pauser stores it.
	On atomic.Bool
}

// state is one pause; a change replaces it by a new one and closes its
// changed channel, waking the clients that wait on it.
type state struct {
	all     bool
	end     time.Time
	changed chan struct{}
}

// Pause starts a pause of d, or widens the one in force; all holds every
// command, else only those that may write.
func (p *Pauser) Pause(d time.Duration, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	end := time.Now().Add(d)
	if cur := p.state.Load(); cur != nil {
		all = all || cur.all
		if cur.end.After(end) {
			end = cur.end
		}
	}
	p.replace(&state{all: all, end: end, changed: make(chan struct{})})
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(time.Until(end), p.expire)
	p.On.Store(true)
}

// Unpause ends the pause in force, if any.
func (p *Pauser) Unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.replace(nil)
	p.On.Store(false)
}

// expire ends the pause whose end has come.
func (p *Pauser) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.state.Load(); cur != nil && !time.Now().Before(cur.end) {
		p.replace(nil)
		p.On.Store(false)
		p.timer = nil
	}
}

// replace puts st in force and wakes the waiters of the old state. The
// caller holds p.mu.
func (p *Pauser) replace(st *state) {
	if old := p.state.Swap(st); old != nil {
		close(old.changed)
	}
}

// Active reports whether a pause may be in force: a cheap test before
// Holds.
func (p *Pauser) Active() bool { return p.state.Load() != nil }

// Holds reports whether the pause in force holds a command; writes says
// whether the command writes or may write.
func (p *Pauser) Holds(writes bool) bool { return p.holding(writes) != nil }

func (p *Pauser) holding(writes bool) *state {
	st := p.state.Load()
	if st == nil || !(st.all || writes) || !time.Now().Before(st.end) {
		return nil
	}
	return st
}

// Wait returns once no pause holds a command (writes as for Holds), true;
// or false as soon as stop is closed, when the command must not run.
func (p *Pauser) Wait(writes bool, stop <-chan struct{}) bool {
	for st := p.holding(writes); st != nil; st = p.holding(writes) {
		t := time.NewTimer(time.Until(st.end))
		select {
		case <-st.changed:
		case <-t.C:
		case <-stop:
			t.Stop()
			return false
		}
		t.Stop()
	}
	return true
}

// MayWrite reports whether a command writes or may write, as CLIENT PAUSE
// WRITE sees it: Redis 7.0's write and may-replicate commands.
func MayWrite(spec *command.Spec) bool {
	if spec.Flags&command.Write != 0 {
		return true
	}
	switch spec.Name {
	case "eval", "evalsha", "fcall", "pfcount", "publish", "spublish":
		return true
	}
	return false
}
