package peer

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// gatedBoard is a board whose Handler holds the first frame until open is
// closed: meanwhile nothing more is read from the connection, whose socket
// buffers fill up.
type gatedBoard struct {
	*board
	open chan struct{}
}

func (g gatedBoard) Handle(from string, f Frame) {
	<-g.open
	g.board.Handle(from, f)
}

// Frames from one sender arrive in the order they were sent, whole and
// none lost, while Send writes some itself, the socket takes only part of
// one, and the others wait in the queue for the writer: a frame written by
// Send never overtakes one queued before it.
func TestSendOrderWhileSocketFull(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const senders, perSender = 4, 200
	size := func() int { return 8 + rng.IntN(maxDirect-8+1) }
	frame := func(s, i, n int) Frame {
		d := make([]byte, n)
		binary.BigEndian.PutUint64(d, uint64(i))
		for j := 8; j < n; j++ {
			d[j] = byte(i + j)
		}
		return Frame{Kind: uint8(s), Group: uint32(i), Data: d}
	}

	lnA, lnB := listen(t, ""), listen(t, "")
	addrs := map[string]string{"a": lnA.Addr().String(), "b": lnB.Addr().String()}
	ba, bb := newBoard(), newBoard()
	gb := gatedBoard{bb, make(chan struct{})}
	cfgA := testConfig("a", lnA, addrs, ba)
	cfgA.QueueLen = senders * perSender
	a := start(t, cfgA, ba)
	trB, err := New(testConfig("b", lnB, addrs, bb), gb)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- trB.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("b: Run: got %v, want nil", err)
		}
	})
	ba.waitUps(t, "b", 1)
	bb.waitUps(t, "a", 1)

	// One sender alone: Send writes its frames itself until the socket
	// takes only part of one.
	p := a.tr.peer("b")
	sizes := make([][]int, senders)
	for p.partials.Load() == 0 {
		if len(sizes[0]) == 10000 {
			t.Fatalf("seed %d: the socket took %d frames whole, want it full before", seed, len(sizes[0]))
		}
		n := size()
		mustSend(t, a.tr, "b", frame(0, len(sizes[0]), n))
		sizes[0] = append(sizes[0], n)
	}
	// Then all of them, behind the rest of that frame.
	for s := range sizes {
		for range perSender {
			sizes[s] = append(sizes[s], size())
		}
	}
	var wg sync.WaitGroup
	for s := range senders {
		from := 0
		if s == 0 {
			from = len(sizes[0]) - perSender
		}
		wg.Go(func() {
			for i := from; i < len(sizes[s]); i++ {
				if !a.tr.Send("b", frame(s, i, sizes[s][i])) {
					t.Errorf("sender %d: Send of frame %d refused", s, i)
					return
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, sz := range sizes {
		total += len(sz)
	}
	if st := a.tr.Stats()["b"]; st.Queued == 0 {
		t.Fatalf("seed %d: got %+v, want frames queued behind the full socket", seed, st)
	}
	close(gb.open)
	bb.wait(t, "every frame", func() bool { return len(bb.frames) == total })

	next := make([]int, senders)
	bb.mu.Lock()
	defer bb.mu.Unlock()
	for k, r := range bb.frames {
		s, i := int(r.f.Kind), int(r.f.Group)
		if s >= senders || i != next[s] {
			t.Fatalf("seed %d: frame %d received is sender %d's frame %d, want its frame %d", seed, k, s, i, next[s])
		}
		next[s]++
		d := r.f.Data
		if len(d) != sizes[s][i] || binary.BigEndian.Uint64(d) != uint64(i) {
			t.Fatalf("seed %d: sender %d's frame %d: got %d bytes, want %d", seed, s, i, len(d), sizes[s][i])
		}
		for j := 8; j < len(d); j++ {
			if d[j] != byte(i+j) {
				t.Fatalf("seed %d: sender %d's frame %d: byte %d is %d, want %d", seed, s, i, j, d[j], byte(i+j))
			}
		}
	}
	if st := a.tr.Stats()["b"]; st.Connects != 1 || st.FramesSent != uint64(total) || st.FramesDropped != 0 {
		t.Fatalf("seed %d: got %+v, want one connection, %d frames sent, none dropped", seed, st, total)
	}
	t.Logf("%d frames written by Send, %d in part", p.directs.Load(), p.partials.Load())
}
