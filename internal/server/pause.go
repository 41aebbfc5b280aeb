package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
)

// pauser is the state of CLIENT PAUSE. A pause holds every client's
// commands (ALL) or only those that write or may write (WRITE: commands
// flagged write, EVAL, EVALSHA, FCALL, PFCOUNT, PUBLISH, SPUBLISH, and an
// EXEC of such commands), until its end or CLIENT UNPAUSE. As in Redis
// 7.0, a new pause while one is in force keeps the later end and the wider
// mode, and during an ALL pause CLIENT UNPAUSE waits like every command.
// While paused, the shards neither expire nor evict keys (on).
//
// Its methods are safe for concurrent use.
type pauser struct {
	mu    sync.Mutex
	state atomic.Pointer[pauseState] // nil: no pause
	timer *time.Timer                // ends the pause in force
	on    atomic.Bool                // a pause is in force, for the shards
}

// pauseState is one pause; a change replaces it by a new one and closes
// its changed channel, waking the clients that wait on it.
type pauseState struct {
	all     bool
	end     time.Time
	changed chan struct{}
}

// pause starts a pause of d, or widens the one in force.
func (p *pauser) pause(d time.Duration, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	end := time.Now().Add(d)
	cur := p.state.Load()
	if cur != nil {
		all = all || cur.all
		if cur.end.After(end) {
			end = cur.end
		}
	}
	p.replace(&pauseState{all: all, end: end, changed: make(chan struct{})})
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(time.Until(end), p.expire)
	p.on.Store(true)
}

// unpause ends the pause in force, if any.
func (p *pauser) unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.replace(nil)
	p.on.Store(false)
}

// expire ends the pause whose end has come.
func (p *pauser) expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.state.Load(); cur != nil && !time.Now().Before(cur.end) {
		p.replace(nil)
		p.on.Store(false)
		p.timer = nil
	}
}

// replace puts st in force and wakes the waiters of the old state. The
// caller holds p.mu.
func (p *pauser) replace(st *pauseState) {
	if old := p.state.Swap(st); old != nil {
		close(old.changed)
	}
}

// holding returns the pause that holds a command, nil if none does;
// writes says whether the command writes or may write.
func (p *pauser) holding(writes bool) *pauseState {
	st := p.state.Load()
	if st == nil || !(st.all || writes) || !time.Now().Before(st.end) {
		return nil
	}
	return st
}

// mayWrite reports whether a command writes or may write, as CLIENT PAUSE
// WRITE sees it: Redis 7.0's write and may-replicate commands.
func mayWrite(spec *command.Spec) bool {
	if spec.Flags&command.Write != 0 {
		return true
	}
	switch spec.Name {
	case "eval", "evalsha", "fcall", "pfcount", "publish", "spublish":
		return true
	}
	return false
}

// waitPause holds the connection while a pause holds a command that writes
// (writes) or not. Replies to the commands before it are sent first. It
// reports false when the connection is closed or stopped meanwhile: the
// command must not run.
func (c *conn) waitPause(writes bool) bool {
	st := c.s.pause.holding(writes)
	if st == nil {
		return true
	}
	c.p.Flush()
	if !c.writeOut() {
		return false
	}
	c.paused.Store(true)
	defer c.paused.Store(false)
	for ; st != nil; st = c.s.pause.holding(writes) {
		t := time.NewTimer(time.Until(st.end))
		select {
		case <-st.changed:
		case <-t.C:
		case <-c.kicked:
			t.Stop()
			return false
		}
		t.Stop()
	}
	return true
}
