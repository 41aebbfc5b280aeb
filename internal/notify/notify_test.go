package notify

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestParseString checks what CONFIG GET notify-keyspace-events answers
// after CONFIG SET of each value, as recorded from redis-server 7.0.15.
func TestParseString(t *testing.T) {
	for _, tc := range []struct{ set, get string }{
		{"", ""},
		{"A", "A"},
		{"An", "A"},
		{"Kn", "nK"},
		{"KEA", "AKE"},
		{"AKE", "AKE"},
		{"xK", "xK"},
		{"g$lshzxetd", "A"},
		{"g$lshzxetdn", "A"},
		{"m", "m"},
		{"nm", "nm"},
		{"Ad", "A"},
		{"EK", "KE"},
		{"Ax", "A"},
		{"KEg", "gKE"},
		{"KElshzxet", "lshzxetKE"},
		{"Ex$", "$xE"},
		{"te", "et"},
		{"d", "d"},
		{"dn", "dn"},
		{"mK", "Km"},
		{"AAKK", "AK"},
		{"e$", "$e"},
	} {
		c, ok := Parse([]byte(tc.set))
		if !ok {
			t.Errorf("Parse(%q) failed", tc.set)
			continue
		}
		if got := c.String(); got != tc.get {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.set, got, tc.get)
		}
	}
	for _, bad := range []string{"a", "KE ", "X", "A-", "\x00"} {
		if _, ok := Parse([]byte(bad)); ok {
			t.Errorf("Parse(%q) succeeded, want failure", bad)
		}
	}
	// n is left out of the canonical form when A is there, but kept.
	if c, _ := Parse([]byte("An")); c&New == 0 {
		t.Errorf("Parse(%q) lost n", "An")
	}
}

type message struct{ channel, msg string }

func TestEvent(t *testing.T) {
	for _, tc := range []struct {
		classes string
		class   Class
		want    []message
	}{
		{"", String, nil},
		{"A", String, nil}, // neither K nor E
		{"K$", String, []message{{"__keyspace@0__:k", "set"}}},
		{"E$", String, []message{{"__keyevent@0__:set", "k"}}},
		{"KEA", String, []message{{"__keyspace@0__:k", "set"}, {"__keyevent@0__:set", "k"}}},
		{"KEl", String, nil},
		{"KEA", New, nil},
		{"KEn", New, []message{{"__keyspace@0__:k", "set"}, {"__keyevent@0__:set", "k"}}},
	} {
		var got []message
		n := NewNotifier(func(ch, msg []byte) { got = append(got, message{string(ch), string(msg)}) })
		c, _ := Parse([]byte(tc.classes))
		n.Set(c)
		if on := n.On(tc.class); on != (tc.want != nil) {
			t.Errorf("%q: On(%v) = %v", tc.classes, tc.class, on)
		}
		n.Event(tc.class, "set", []byte("k"))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.classes, got, tc.want)
		}
	}
	var nilN *Notifier
	nilN.Event(All, "set", []byte("k")) // publishes nothing, does not panic
	if nilN.On(All) || nilN.Classes() != 0 {
		t.Error("a nil Notifier is on")
	}
}

// TestConcurrentSet changes the classes while events are published.
func TestConcurrentSet(t *testing.T) {
	var mu sync.Mutex
	var got []string
	n := NewNotifier(func(ch, msg []byte) {
		mu.Lock()
		got = append(got, string(ch))
		mu.Unlock()
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 1000 {
			if i%2 == 0 {
				n.Set(Keyevent | All)
			} else {
				n.Set(0)
			}
		}
	})
	for range 1000 {
		n.Event(Generic, "del", []byte("k"))
	}
	wg.Wait()
	for _, ch := range got {
		if !strings.HasPrefix(ch, "__keyevent@0__:") {
			t.Fatalf("event on %q", ch)
		}
	}
}

// BenchmarkEventOff is the cost of reporting an event when notifications
// are off.
func BenchmarkEventOff(b *testing.B) {
	n := NewNotifier(func(_, _ []byte) {})
	key := []byte("key")
	b.ReportAllocs()
	for b.Loop() {
		n.Event(String, "set", key)
	}
}
