package pause

import (
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
)

// TestHolds checks which commands a pause holds, and that a second pause
// keeps the wider mode and the later end, as Redis 7.0 does.
func TestHolds(t *testing.T) {
	var p Pauser
	if p.Active() || p.Holds(true) || p.On.Load() {
		t.Fatal("a new Pauser holds commands")
	}
	p.Pause(time.Hour, false)
	if !p.Holds(true) || p.Holds(false) || !p.On.Load() {
		t.Fatalf("WRITE: holds writes %v, reads %v; want true, false", p.Holds(true), p.Holds(false))
	}
	p.Pause(time.Millisecond, true) // wider, shorter: the end stays an hour away
	st := p.state.Load()
	if !st.all || time.Until(st.end) < 30*time.Minute {
		t.Fatalf("after a shorter ALL pause: all %v, end in %v; want ALL, an hour", st.all, time.Until(st.end))
	}
	p.Pause(time.Hour, false) // narrower: stays ALL
	if !p.Holds(false) {
		t.Fatal("a WRITE pause narrowed an ALL pause")
	}
	p.Unpause()
	if p.Active() || p.Holds(true) || p.On.Load() {
		t.Fatal("UNPAUSE left a pause in force")
	}
}

// TestWait checks that a held command waits until UNPAUSE or the pause's
// end, and that stop ends the wait with false.
func TestWait(t *testing.T) {
	var p Pauser
	p.Pause(time.Hour, true)
	done := make(chan bool)
	go func() { done <- p.Wait(false, nil) }()
	p.Unpause()
	if !<-done {
		t.Fatal("Wait after UNPAUSE: got false, want true")
	}

	p.Pause(time.Hour, true)
	stop := make(chan struct{})
	go func() { done <- p.Wait(true, stop) }()
	close(stop)
	if <-done {
		t.Fatal("Wait after stop: got true, want false")
	}
	p.Unpause()

	p.Pause(5*time.Millisecond, false)
	if !p.Wait(true, nil) {
		t.Fatal("Wait for a pause's end: got false")
	}
	if p.Holds(true) {
		t.Fatal("the pause holds after its end")
	}
}

// TestMayWrite checks which commands CLIENT PAUSE WRITE holds.
func TestMayWrite(t *testing.T) {
	for name, want := range map[string]bool{"set": true, "del": true, "eval": true, "publish": true, "pfcount": true,
		"get": false, "ping": false, "client": false} {
		if got := MayWrite(command.Redis.Lookup([]byte(name))); got != want {
			t.Errorf("MayWrite(%s): got %v, want %v", name, got, want)
		}
	}
}
