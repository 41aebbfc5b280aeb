package cluster

import (
	"bytes"
	"fmt"
	"testing"
)

// ownDo runs one command as a request with Own set and Buf buf, through
// submit, and returns the reply Done got and the request.
func ownDo(t *testing.T, submit func(*Request), mode Mode, buf []byte, args ...string) ([]byte, *Request) {
	t.Helper()
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = []byte(a)
	}
	type result struct {
		reply []byte
		err   error
	}
	ch := make(chan result, 1)
	r := &Request{Cmds: [][][]byte{cmd}, Proto: 2, Mode: mode, Own: true, Buf: buf}
	r.Done = func(reply []byte, _ []int, err error) { ch <- result{reply, err} }
	submit(r)
	res := <-ch
	if res.err != nil {
		t.Fatalf("%v: %v", args, res.err)
	}
	return res.reply, r
}

// A request with Own set gets its replies written into its own buffer, on
// every path (a write answered as it applies, a read, a stale read), or
// into the group's when that is larger, and keeps them: the group's later
// requests leave them as they were.
func TestGroupRepliesInRequestBuffer(t *testing.T) {
	tg := newTestGroup(t, nil)
	l := tg.leader()
	submit := func(id uint64) func(*Request) { return tg.reps[id].Submit }
	tg.mustDo(l, Write, "SET", "k", "value-1")
	f := tg.follower(l)
	eventually(t, "the follower to apply", func() bool {
		r, _ := tg.do(f, Stale, "GET", "k")
		return r == "$7\r\nvalue-1\r\n"
	})
	tests := []struct {
		name  string
		id    uint64
		mode  Mode
		args  []string
		want  string
		fresh bool // Buf nil: the group's buffer is larger
	}{
		{"write", l, Write, []string{"SET", "k2", "x"}, "+OK\r\n", false},
		{"read", l, Read, []string{"GET", "k"}, "$7\r\nvalue-1\r\n", false},
		{"stale read", f, Stale, []string{"GET", "k"}, "$7\r\nvalue-1\r\n", false},
		{"read, no buffer", l, Read, []string{"GET", "k"}, "$7\r\nvalue-1\r\n", true},
		{"write, no buffer", l, Write, []string{"INCR", "n"}, ":1\r\n", true},
	}
	var kept [][]byte
	var wants []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf []byte
			if !tt.fresh {
				buf = append(make([]byte, 0, 1<<20), bytes.Repeat([]byte{'#'}, 64)...)
			}
			reply, r := ownDo(t, submit(tt.id), tt.mode, buf, tt.args...)
			if string(reply) != tt.want {
				t.Fatalf("got %q, want %q", reply, tt.want)
			}
			if !startsBuf(reply, r.Buf) {
				t.Fatalf("got a reply outside the request's Buf")
			}
			if !tt.fresh && &reply[0] != &buf[0] {
				t.Fatalf("got the reply in other memory, want it in the Buf given (larger than the group's)")
			}
			kept, wants = append(kept, reply), append(wants, tt.want)
		})
	}
	// The group goes on writing replies, into its own buffer.
	for i := range 20 {
		tg.mustDo(l, Write, "SET", "k", fmt.Sprintf("value-%d%s", i, bytes.Repeat([]byte{'z'}, 100)))
		tg.mustDo(l, Read, "GET", "k")
		tg.do(f, Stale, "GET", "k")
	}
	for i, b := range kept {
		if string(b) != wants[i] {
			t.Errorf("%s: kept reply changed to %q, want %q", tests[i].name, b, wants[i])
		}
	}
}

// A request with Own set sent through a node gets its replies in its own
// memory whether its group is led on that node or another (the reply
// frame's), and keeps them.
func TestNodesRepliesInRequestBuffer(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	var kept [][]byte
	var wants []string
	local, remote := 0, 0
	for i := range 30 {
		k := fmt.Sprintf("k%d", i)
		val := fmt.Sprintf("v%d-%s", i, bytes.Repeat([]byte{'v'}, 200))
		ni := i % 3
		n := tn.nodes[ni]
		g := n.Table().GroupOfKey([]byte(k))
		submit := func(r *Request) { n.Do(g, r) }
		if lead := n.local(g); lead != nil && lead.Leader() == lead.cfg.ReplicaID {
			local++
		} else {
			remote++
		}
		reply, r := ownDo(t, submit, Write, make([]byte, 0, 8), "SET", k, val)
		if string(reply) != "+OK\r\n" || !startsBuf(reply, r.Buf) {
			t.Fatalf("SET %s through n%d: got %q (in Buf: %v), want +OK in Buf", k, ni+1, reply, startsBuf(reply, r.Buf))
		}
		want := fmt.Sprintf("$%d\r\n%s\r\n", len(val), val)
		reply, r = ownDo(t, submit, Read, make([]byte, 0, 8), "GET", k)
		if string(reply) != want || !startsBuf(reply, r.Buf) {
			t.Fatalf("GET %s through n%d: got %q (in Buf: %v), want %q in Buf", k, ni+1, reply, startsBuf(reply, r.Buf), want)
		}
		kept, wants = append(kept, reply), append(wants, want)
	}
	if local == 0 || remote == 0 {
		t.Fatalf("got %d requests led locally and %d forwarded, want both kinds", local, remote)
	}
	for i := range 30 {
		k := fmt.Sprintf("k%d", i)
		if _, err := tn.do((i+1)%3, Write, "SET", k, "overwritten"); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range kept {
		if string(b) != wants[i] {
			t.Errorf("reply %d changed to %q, want %q", i, b, wants[i])
		}
	}
}
