package peer

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"
)

// memCluster joins one member per id to n, each recording on its own board.
func memCluster(n *Network, ids ...string) (map[string]Sender, map[string]*board) {
	senders, boards := map[string]Sender{}, map[string]*board{}
	for _, id := range ids {
		boards[id] = newBoard()
		senders[id] = n.Join(id, boards[id])
	}
	return senders, boards
}

func TestNetworkOrder(t *testing.T) {
	n := NewNetwork(1)
	defer n.Close()
	s, b := memCluster(n, "a", "b", "c")
	const count = 1000
	for i := range count {
		for _, from := range []string{"a", "c"} {
			mustSend(t, s[from], "b", Frame{Kind: 1, Group: uint32(i), Data: []byte(from + strconv.Itoa(i))})
		}
	}
	b["b"].wait(t, "every frame", func() bool { return len(b["b"].frames) == 2*count })
	for _, from := range []string{"a", "c"} {
		b["b"].mu.Lock()
		got := b["b"].framesFrom(from)
		b["b"].mu.Unlock()
		for i, f := range got {
			if f.Group != uint32(i) || string(f.Data) != from+strconv.Itoa(i) {
				t.Fatalf("frame %d from %s: got %+v, want group %d", i, from, f, i)
			}
		}
	}
	if got, want := n.Stats(), (NetStats{Sent: 2 * count, Delivered: 2 * count}); got != want {
		t.Errorf("stats: got %+v, want %+v", got, want)
	}
}

func TestNetworkSendRefused(t *testing.T) {
	n := NewNetwork(1)
	s, _ := memCluster(n, "a", "b")
	tests := []struct {
		name string
		to   string
	}{
		{"unknown", "x"},
		{"self", "a"},
	}
	for _, tt := range tests {
		if s["a"].Send(tt.to, Frame{}) {
			t.Errorf("%s: Send: got true, want false", tt.name)
		}
	}
	n.Leave("b")
	if s["a"].Send("b", Frame{}) || s["b"].Send("a", Frame{}) {
		t.Error("Send to or from a member that left: got true, want false")
	}
	n.Close()
	if s["a"].Send("b", Frame{}) {
		t.Error("Send after Close: got true, want false")
	}
	if late := n.Join("c", newBoard()); late.Send("a", Frame{}) {
		t.Error("Send from a member joined after Close: got true, want false")
	}
}

// TestNetworkCopies checks that a receiver owns its frame's data: the
// sender may reuse its buffer and two receivers do not share one.
func TestNetworkCopies(t *testing.T) {
	n := NewNetwork(1)
	defer n.Close()
	s, b := memCluster(n, "a", "b", "c")
	buf := []byte("original")
	mustSend(t, s["a"], "b", Frame{Data: buf})
	mustSend(t, s["a"], "c", Frame{Data: buf})
	tail := []byte("tail")
	mustSend(t, s["a"], "b", Frame{Data: buf[:4], Tail: tail})
	copy(buf, "CHANGED!")
	copy(tail, "TAIL")
	b["b"].waitFrame(t, "a", "original")
	b["c"].waitFrame(t, "a", "original")
	b["b"].waitFrame(t, "a", "origtail")
}

func TestNetworkPartition(t *testing.T) {
	tests := []struct {
		name   string
		cut    func(n *Network)
		blocks [][2]string // pairs cut off
		passes [][2]string // pairs still connected
	}{
		{"two groups", func(n *Network) { n.Partition([]string{"a", "b"}, []string{"c"}) },
			[][2]string{{"a", "c"}, {"c", "a"}, {"b", "c"}}, [][2]string{{"a", "b"}, {"b", "a"}}},
		{"unlisted member", func(n *Network) { n.Partition([]string{"a", "b"}) },
			[][2]string{{"a", "c"}, {"c", "b"}}, [][2]string{{"a", "b"}}},
		{"isolate", func(n *Network) { n.Isolate("b") },
			[][2]string{{"a", "b"}, {"b", "c"}}, [][2]string{{"a", "c"}, {"c", "a"}}},
		{"isolate within a partition", func(n *Network) { n.Partition([]string{"a", "b", "c"}); n.Isolate("a") },
			[][2]string{{"a", "b"}, {"c", "a"}}, [][2]string{{"b", "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := NewNetwork(7)
			defer n.Close()
			s, b := memCluster(n, "a", "b", "c")
			tt.cut(n)
			for _, p := range tt.blocks {
				mustSend(t, s[p[0]], p[1], Frame{Data: []byte("cut")})
			}
			for _, p := range tt.passes {
				mustSend(t, s[p[0]], p[1], Frame{Data: []byte("during")})
				b[p[1]].waitFrame(t, p[0], "during")
			}
			n.Heal()
			// Frames are FIFO per pair: once "healed" arrives, a frame
			// sent across the cut before it would have arrived too.
			for _, p := range tt.blocks {
				mustSend(t, s[p[0]], p[1], Frame{Data: []byte("healed")})
				b[p[1]].waitFrame(t, p[0], "healed")
				b[p[1]].mu.Lock()
				got := b[p[1]].framesFrom(p[0])
				b[p[1]].mu.Unlock()
				if len(got) != 1 {
					t.Errorf("%s to %s: got %d frames, want only the one sent after Heal", p[0], p[1], len(got))
				}
			}
			if got, want := n.Stats().Dropped, uint64(len(tt.blocks)); got != want {
				t.Errorf("dropped: got %d, want %d", got, want)
			}
		})
	}
}

// lossPattern sends count frames from a to b at drop rate p and returns the
// indexes of those that arrived.
func lossPattern(t *testing.T, seed int64, p float64, count int) []int {
	t.Helper()
	n := NewNetwork(seed)
	defer n.Close()
	s, b := memCluster(n, "a", "b")
	n.SetDropRate(p)
	for i := range count {
		mustSend(t, s["a"], "b", Frame{Data: []byte(strconv.Itoa(i))})
	}
	n.SetDropRate(0)
	mustSend(t, s["a"], "b", Frame{Data: []byte("end")})
	b["b"].waitFrame(t, "a", "end")
	b["b"].mu.Lock()
	defer b["b"].mu.Unlock()
	var got []int
	for _, f := range b["b"].framesFrom("a") {
		if i, err := strconv.Atoi(string(f.Data)); err == nil {
			got = append(got, i)
		}
	}
	st := n.Stats()
	if st.Delivered+st.Dropped != st.Sent || st.Delivered != uint64(len(got)+1) {
		t.Errorf("stats: got %+v, want delivered %d and delivered + dropped = sent", st, len(got)+1)
	}
	return got
}

func TestNetworkDropRate(t *testing.T) {
	const count = 2000
	first := lossPattern(t, 42, 0.3, count)
	if lost := count - len(first); lost < count/5 || lost > count*2/5 {
		t.Errorf("lost %d of %d frames at rate 0.3, want about %d", lost, count, count*3/10)
	}
	if again := lossPattern(t, 42, 0.3, count); !slices.Equal(again, first) {
		t.Errorf("same seed: got a different loss pattern (%d frames, want %d)", len(again), len(first))
	}
	if other := lossPattern(t, 43, 0.3, count); slices.Equal(other, first) {
		t.Error("another seed: got the same loss pattern")
	}
}

func TestNetworkDelay(t *testing.T) {
	n := NewNetwork(3)
	defer n.Close()
	s, b := memCluster(n, "a", "b")
	n.SetDelay(5 * time.Millisecond)
	const count = 300
	for i := range count {
		mustSend(t, s["a"], "b", Frame{Data: fmt.Appendf(nil, "%d", i)})
	}
	b["b"].wait(t, "every frame", func() bool { return len(b["b"].frames) == count })
	b["b"].mu.Lock()
	var got []int
	for _, f := range b["b"].framesFrom("a") {
		i, _ := strconv.Atoi(string(f.Data))
		got = append(got, i)
	}
	b["b"].mu.Unlock()
	if slices.IsSorted(got) {
		t.Error("got every frame in order, want a random delay to reorder some")
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("got frames %v, want each of 0..%d once", got, count-1)
		}
	}
}

// TestNetworkLeaveRejoin checks that a member that left stops receiving,
// and may join again.
func TestNetworkLeaveRejoin(t *testing.T) {
	n := NewNetwork(1)
	defer n.Close()
	s, _ := memCluster(n, "a", "b")
	n.Leave("b")
	b2 := newBoard()
	s["b"] = n.Join("b", b2)
	mustSend(t, s["a"], "b", Frame{Data: []byte("again")})
	b2.waitFrame(t, "a", "again")
}
