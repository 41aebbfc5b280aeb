package tracking

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// target records what it is sent, as text with "\r\n" removed.
type target struct {
	mu    sync.Mutex
	proto int
	sub   bool
	got   []string
}

func (t *target) Deliver(msg []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.got = append(t.got, strings.ReplaceAll(string(msg), "\r\n", " "))
	return true
}
func (t *target) Proto() int       { return t.proto }
func (t *target) Subscribed() bool { return t.sub }

func (t *target) take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.got
	t.got = nil
	return g
}

// inv is the invalidation of key a RESP3 client gets, as target records it.
func inv(key string) string {
	return ">2 $10 invalidate *1 $" + strconv.Itoa(len(key)) + " " + key + " "
}

func TestDefaultMode(t *testing.T) {
	a, b := &target{proto: 3}, &target{proto: 3}
	tb := New(nil)
	if tb.Active() {
		t.Fatal("active without clients")
	}
	tb.Enable(1, a, Options{})
	tb.Enable(2, b, Options{NoLoop: true})
	tb.Remember(1, [][]byte{[]byte("k"), []byte("j")})
	tb.Remember(2, [][]byte{[]byte("k")})
	if s := tb.Stats(); s != (Stats{Keys: 2, Items: 3, Clients: 2}) {
		t.Fatalf("stats %+v", s)
	}
	tb.Changed([]byte("k"), 2) // 2's own write: NOLOOP
	if got, want := a.take(), []string{inv("k")}; !slices.Equal(got, want) {
		t.Fatalf("a got %q, want %q", got, want)
	}
	if got := b.take(); got != nil {
		t.Fatalf("b (NOLOOP) got %q", got)
	}
	tb.Changed([]byte("k"), 0) // forgotten after its invalidation
	if got := a.take(); got != nil {
		t.Fatalf("a got %q after the key was forgotten", got)
	}
	// A client's own write is sent once its reply is out.
	tb.Changed([]byte("j"), 1)
	if got := a.take(); got != nil {
		t.Fatalf("own write sent before the reply: %q", got)
	}
	tb.SendPending(1)
	if got, want := a.take(), []string{inv("j")}; !slices.Equal(got, want) {
		t.Fatalf("pending: got %q, want %q", got, want)
	}
	tb.Remember(1, [][]byte{[]byte("x")})
	tb.Flushed()
	if got, want := a.take(), []string{">2 $10 invalidate _ "}; !slices.Equal(got, want) {
		t.Fatalf("flush: got %q, want %q", got, want)
	}
	if s := tb.Stats(); s.Keys != 0 || s.Items != 0 {
		t.Fatalf("after flush: %+v", s)
	}
	tb.Disable(1)
	tb.Disable(2)
	if tb.Active() {
		t.Fatal("active after every client left")
	}
}

func TestBroadcastAndRedirect(t *testing.T) {
	bc, sub, r2 := &target{proto: 3}, &target{proto: 2, sub: true}, &target{proto: 2}
	tb := New(func(id int64) Target {
		if id == 9 {
			return sub
		}
		return nil
	})
	tb.Enable(1, bc, Options{BCAST: true, Prefixes: []string{"user:", "obj:"}})
	tb.Enable(2, r2, Options{Redirect: 9})
	tb.Enable(3, &target{proto: 3}, Options{Redirect: 77}) // nobody
	tb.Remember(2, [][]byte{[]byte("user:1")})
	tb.Remember(3, [][]byte{[]byte("user:1")})
	if s := tb.Stats(); s.Prefixes != 2 || s.Clients != 3 {
		t.Fatalf("stats %+v", s)
	}
	tb.Changed([]byte("user:1"), 0)
	tb.Changed([]byte("other"), 0)
	if got := bc.take(); got != nil {
		t.Fatalf("bcast got %q before Broadcast", got)
	}
	tb.Broadcast()
	if got, want := bc.take(), []string{inv("user:1")}; !slices.Equal(got, want) {
		t.Fatalf("bcast got %q, want %q", got, want)
	}
	if got, want := sub.take(), []string{"*3 $7 message $20 __redis__:invalidate *1 $6 user:1 "}; !slices.Equal(got, want) {
		t.Fatalf("redirect got %q, want %q", got, want)
	}
	if r2.take() != nil {
		t.Fatal("a redirecting client was sent its own messages")
	}
	if _, broken, _ := tb.Info(3); !broken {
		t.Fatal("redirect to a missing client not marked broken")
	}
	tb.Disable(1)
	if s := tb.Stats(); s.Prefixes != 0 {
		t.Fatalf("prefixes left: %+v", s)
	}
}

func TestMaxKeys(t *testing.T) {
	a := &target{proto: 3}
	tb := New(nil)
	tb.SetMaxKeys(3)
	tb.Enable(1, a, Options{})
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")}
	tb.Remember(1, keys)
	if s := tb.Stats(); s.Keys != 3 {
		t.Fatalf("keys %d, want 3", s.Keys)
	}
	got := a.take()
	if len(got) != 2 || got[0] == got[1] {
		t.Fatalf("got %q, want two distinct invalidations", got)
	}
	tb.SetMaxKeys(0)
	tb.Remember(1, [][]byte{[]byte("f"), []byte("g")})
	if s := tb.Stats(); s.Keys != 5 || a.take() != nil {
		t.Fatalf("no limit: %+v", s)
	}
}

// TestRelay checks that a relay passes every change on while it is on,
// flushes as nil, and nothing while it is off.
func TestRelay(t *testing.T) {
	var on atomic.Bool
	var got []string
	r := NewRelay(&on, func(key []byte) {
		if key == nil {
			got = append(got, "<flush>")
			return
		}
		got = append(got, string(key))
	})
	r.Changed([]byte("a"), 0)
	r.Flushed()
	if len(got) != 0 || r.Active() {
		t.Fatalf("a relay that is off: got %q, active %v", got, r.Active())
	}
	on.Store(true)
	r.Changed([]byte("b"), 3)
	r.Flushed()
	if want := []string{"b", "<flush>"}; !slices.Equal(got, want) {
		t.Fatalf("a relay that is on: got %q, want %q", got, want)
	}
	if st := r.Stats(); st.Clients != 0 || st.Keys != 0 {
		t.Fatalf("a relay's stats: got %+v, want none", st)
	}
}
