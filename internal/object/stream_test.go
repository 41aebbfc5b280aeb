package object

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestStreamValues checks that values come back as they were added,
// integers kept as integers included, and that only the canonical
// decimal form of an int64 is kept as one.
func TestStreamValues(t *testing.T) {
	vals := []string{"0", "-0", "00", "1", "-1", "+1", "01", "123456789012", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "18446744073709551616", "1.5", "", "-", "abc", "12a", " 1", "1 "}
	s := NewStream()
	for i, v := range vals {
		s.Add(StreamID{Ms: uint64(i + 1)}, [][]byte{[]byte("f"), []byte(v), []byte(v), []byte("x")})
	}
	i := 0
	s.Ascend(StreamID{}, MaxStreamID, func(id StreamID, fv [][]byte) bool {
		if string(fv[1]) != vals[i] || string(fv[2]) != vals[i] {
			t.Errorf("entry %d: got %q, want %q twice", i, fv, vals[i])
		}
		i++
		return true
	})
	if i != len(vals) {
		t.Fatalf("read %d entries, want %d", i, len(vals))
	}
	for _, v := range vals {
		n, ok := canonicalInt([]byte(v))
		want, err := strconv.ParseInt(v, 10, 64)
		canon := err == nil && strconv.FormatInt(want, 10) == v
		if ok != canon || ok && n != want {
			t.Errorf("canonicalInt(%q) = %d, %v; want %d, %v", v, n, ok, want, canon)
		}
	}
}

// TestStreamJournalReplay checks that a stream rebuilt from its journal,
// or from Parts, or cloned, holds the same nodes, counters, groups and
// pending entries as the stream itself, after random changes.
func TestStreamJournalReplay(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 5))
	old := CurrentLimits()
	l := old
	l.StreamNodeMaxEntries = 4
	SetLimits(l)
	defer SetLimits(old)
	s, replica := NewStream(), NewStream()
	whole := func(s *Stream) []byte { return s.appendWhole(nil) }
	next := StreamID{Ms: 1}
	for step := range 3000 {
		switch r.IntN(10) {
		case 0, 1, 2, 3:
			s.Add(next, [][]byte{[]byte("f"), []byte(strconv.Itoa(r.IntN(1000) - 500)), []byte("g" + strconv.Itoa(r.IntN(2))), []byte("v")})
			next.Ms += uint64(r.IntN(3))
			next.Seq = uint64(r.IntN(2))
			if !s.LastID.Less(next) {
				next, _ = s.LastID.Next()
			}
		case 4:
			s.Delete(StreamID{Ms: uint64(r.IntN(int(next.Ms) + 1)), Seq: uint64(r.IntN(2))})
		case 5:
			if r.IntN(2) == 0 {
				s.Trim(int64(r.IntN(20)), nil, r.IntN(2) == 0, int64(r.IntN(10)))
			} else {
				id := StreamID{Ms: uint64(r.IntN(int(next.Ms) + 1))}
				s.Trim(0, &id, r.IntN(2) == 0, 0)
			}
		case 6:
			s.SetGroup([]byte("g"+strconv.Itoa(r.IntN(2))), StreamID{Ms: uint64(r.IntN(int(next.Ms) + 1))}, int64(r.IntN(5))-1)
		case 7, 8:
			if gs := s.Groups(); len(gs) > 0 {
				g := gs[r.IntN(len(gs))]
				c, _ := s.SeeConsumer(g, []byte("c"+strconv.Itoa(r.IntN(3))), int64(step))
				s.Ascend(StreamID{}, MaxStreamID, func(id StreamID, _ [][]byte) bool {
					if r.IntN(4) == 0 {
						s.SetNack(g, c, id, int64(step), uint64(r.IntN(3)+1))
						s.Delivered(g, id)
					}
					return true
				})
			}
		default:
			if gs := s.Groups(); len(gs) > 0 {
				g := gs[r.IntN(len(gs))]
				switch r.IntN(3) {
				case 0:
					g.AscendPending(nil, StreamID{}, func(n *StreamNack) bool {
						s.Ack(g, n.ID)
						return false
					})
				case 1:
					if cs := g.Consumers(); len(cs) > 0 {
						s.DeleteConsumer(g, cs[r.IntN(len(cs))])
					}
				default:
					s.DeleteGroup([]byte(g.Name))
				}
			}
		}
		if !replica.Apply(bytes.Clone(s.TakeJournal())) {
			t.Fatalf("seed %d step %d: the journal does not apply", seed, step)
		}
		want := whole(s)
		if got := whole(replica); !bytes.Equal(got, want) {
			t.Fatalf("seed %d step %d: the replica differs", seed, step)
		}
		if got := whole(s.Clone().(*Stream)); !bytes.Equal(got, want) {
			t.Fatalf("seed %d step %d: the clone differs", seed, step)
		}
		if s.Len() != replica.Len() || s.MemoryUsage() != replica.MemoryUsage() && len(s.Groups()) == 0 {
			t.Fatalf("seed %d step %d: lengths %d %d, memory %d %d", seed, step, s.Len(), replica.Len(), s.MemoryUsage(), replica.MemoryUsage())
		}
	}
	n := 0
	s.Ascend(StreamID{}, MaxStreamID, func(StreamID, [][]byte) bool { n++; return true })
	if n != s.Len() {
		t.Fatalf("seed %d: %d entries read, Len %d", seed, n, s.Len())
	}
}

// FuzzStreamApply feeds Apply arbitrary operations: it must never panic,
// and a stream it accepted must read back whole.
func FuzzStreamApply(f *testing.F) {
	s := NewStream()
	for i := range 10 {
		s.Add(StreamID{Ms: uint64(i + 1)}, [][]byte{[]byte("a"), []byte(fmt.Sprint(i)), []byte("b"), []byte("x")})
	}
	g := s.SetGroup([]byte("g"), StreamID{Ms: 3}, 3)
	c, _ := s.SeeConsumer(g, []byte("c"), 5)
	s.SetNack(g, c, StreamID{Ms: 2}, 7, 1)
	f.Add(s.appendWhole(nil))
	f.Add(s.TakeJournal())
	f.Add([]byte{sopNode, 1, 0, 1, 0, 1, 1, 2, 1, 'a', 3, 0, 0, 0, 2})
	f.Add([]byte{sopAdd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0, 2, 1, 'a', 1, 'b'})
	f.Fuzz(func(t *testing.T, ops []byte) {
		s := NewStream()
		if !s.Apply(ops) {
			return
		}
		n := 0
		s.Ascend(StreamID{}, MaxStreamID, func(StreamID, [][]byte) bool { n++; return true })
		s.Descend(MaxStreamID, StreamID{}, func(StreamID, [][]byte) bool { return true })
		if n != s.Len() {
			t.Fatalf("%d entries read, Len %d", n, s.Len())
		}
		_ = s.LastEntryID()
		_ = math.MaxInt
	})
}

// TestStreamMemoryUsage checks that the running count of what groups cost
// is what counting them afresh gives, after groups, consumers and pending
// entries come and go.
func TestStreamMemoryUsage(t *testing.T) {
	s := NewStream()
	for i := range 50 {
		s.Add(StreamID{Ms: uint64(i + 1)}, [][]byte{[]byte("f"), []byte("v")})
	}
	count := func() int64 {
		n := 128 + cap(s.nodes)*8 + len(s.nodes)*snodeBytes + s.bytes
		for _, g := range s.groups {
			n += groupBytes + len(g.Name) + g.pel.Len()*nackBytes
			for name := range g.consumers {
				n += consumerBytes + len(name)
			}
		}
		return int64(n)
	}
	for round := range 3 {
		g := s.SetGroup([]byte(fmt.Sprint("group", round)), StreamID{}, -1)
		for c := range 4 {
			cons, _ := s.SeeConsumer(g, []byte(fmt.Sprint("consumer", c)), 1)
			for i := range 10 {
				s.SetNack(g, cons, StreamID{Ms: uint64(c*10 + i + 1)}, 1, 1)
			}
		}
		s.Ack(g, StreamID{Ms: 3})
		s.DeleteConsumer(g, g.Consumer([]byte("consumer1")))
		if got, want := s.MemoryUsage(), count(); got != want {
			t.Fatalf("round %d: MemoryUsage %d, counted %d", round, got, want)
		}
	}
	s.DeleteGroup([]byte("group1"))
	if got, want := s.MemoryUsage(), count(); got != want {
		t.Fatalf("after DeleteGroup: MemoryUsage %d, counted %d", got, want)
	}
}
