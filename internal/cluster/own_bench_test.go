package cluster

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkReplies is the cost of a request of 16 GETs of a value on a
// group, its replies handed to the submitter as a connection takes them:
// copied out of the group's buffer into the request's (copy, as before
// Request.Own), or written by the group straight into the request's
// buffer (own): go test -run X -bench Replies ./internal/cluster
func BenchmarkReplies(b *testing.B) {
	for _, size := range []int{16, 4 << 10, 100_000} {
		for _, own := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=%d/own=%v", size, own), func(b *testing.B) { benchmarkReplies(b, size, own) })
		}
	}
}

func benchmarkReplies(b *testing.B, size int, own bool) {
	g, err := NewGroup(GroupConfig{ReplicaID: 1, Storage: &MemStorage{}, Send: func(uint64, *raftpb.Message) bool { return true },
		Tick: 1, ElectionTicks: 10, HeartbeatTicks: 1, QueueSize: 1, WriteTimeout: 1, SnapshotEntries: 1, ExpireSample: 1, MaxInflight: 1})
	if err != nil {
		b.Fatal(err)
	}
	g.run([][][]byte{{[]byte("SET"), []byte("k"), bytes.Repeat([]byte("v"), size)}}, 2, false, nil, time.Time{})
	cmds := make([][][]byte, 16)
	for i := range cmds {
		cmds[i] = [][]byte{[]byte("GET"), []byte("k")}
	}
	var buf []byte // the connection's buffer for the request's replies
	r := &Request{Cmds: cmds, Proto: 2, Mode: Stale, Own: own}
	r.Done = func(reply []byte, _ []int, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if own {
			buf = r.Buf[:len(reply)]
		} else {
			buf = append(buf[:0], reply...)
		}
	}
	g.take(r)
	if want := 16 * (size + len(fmt.Sprint(size)) + 5); len(buf) != want {
		b.Fatalf("got %d bytes of replies, want %d", len(buf), want)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		r.Buf = buf[:0]
		g.take(r)
	}
}
