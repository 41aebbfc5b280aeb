package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/notify"
)

// TestServerNotify writes keys of every group through one node while
// clients subscribe on the two others: each subscriber gets each key's
// events once, in the order of the key's writes, published by the node of
// the key's leader only; CONFIG SET notify-keyspace-events on a node
// changes what that node publishes.
func TestServerNotify(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	_, addrA := serveNodeServer(t, tn, 0)
	_, addrB := serveNodeServer(t, tn, 1)
	_, addrC := serveNodeServer(t, tn, 2)
	ctx := context.Background()
	for _, addr := range []string{addrA, addrB, addrC} {
		c := dialRaw(t, addr)
		c.send("CONFIG", "SET", "notify-keyspace-events", "KEA")
		c.expect("+OK\r\n")
		c.send("CONFIG", "GET", "notify-*")
		c.expect("*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n")
		c.send("CONFIG", "SET", "notify-keyspace-events", "KEq")
		c.expect("-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n")
	}
	subs := []*rawConn{dialRaw(t, addrA), dialRaw(t, addrB)}
	for _, s := range subs {
		s.send("PSUBSCRIBE", "__keyevent@0__:*")
		s.expect("*3\r\n$10\r\npsubscribe\r\n$16\r\n__keyevent@0__:*\r\n:1\r\n")
		s.send("SUBSCRIBE", "sentinel")
		s.expect("*3\r\n$9\r\nsubscribe\r\n$8\r\nsentinel\r\n:2\r\n")
	}
	w := redis.NewClient(&redis.Options{Addr: addrC, Protocol: 2})
	t.Cleanup(func() { w.Close() })
	const n = 60
	for i := range n {
		k := fmt.Sprint("key", i)
		if err := w.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := w.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Every event was published before its write was answered. Each
	// node's messages reach a node in order: once the sentinel of every
	// node has come, so has every event.
	for _, addr := range []string{addrA, addrB, addrC} {
		p := dialRaw(t, addr)
		p.send("PUBLISH", "sentinel", addr)
		p.reply()
	}
	for si, s := range subs {
		got := map[string][]string{}
		for sentinels := 0; sentinels < 3; {
			m := s.reply()
			switch {
			case m[0] == "message":
				sentinels++
			case m[0] == "pmessage" && len(m) == 4:
				ev := strings.TrimPrefix(m[2], "__keyevent@0__:")
				got[m[3]] = append(got[m[3]], ev)
			default:
				t.Fatalf("subscriber %d: got %q", si, m)
			}
		}
		for i := range n {
			k := fmt.Sprint("key", i)
			if strings.Join(got[k], " ") != "set del" {
				t.Errorf("subscriber %d: %s: got events %q, want [set del]", si, k, got[k])
			}
		}
		if len(got) != n {
			t.Errorf("subscriber %d: events of %d keys, want %d", si, len(got), n)
		}
	}

	// Turned off on every node, nothing more is published.
	for _, addr := range []string{addrA, addrB, addrC} {
		c := dialRaw(t, addr)
		c.send("CONFIG", "SET", "notify-keyspace-events", "")
		c.expect("+OK\r\n")
	}
	if err := w.Set(ctx, "quiet", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{addrA, addrB, addrC} {
		p := dialRaw(t, addr)
		p.send("PUBLISH", "sentinel", addr)
		p.reply()
	}
	for si, s := range subs {
		for range 3 {
			if m := s.reply(); m[0] != "message" {
				t.Fatalf("subscriber %d: got %q after notifications were turned off", si, m)
			}
		}
	}
}

// TestGroupEventsFromProposer: a write's keyspace events are published by
// the replica that proposed it, before it answers, also when that replica
// lost its leadership before the write committed; the new leader, which
// commits and applies the write, publishes nothing of it, and a replica
// that restarts publishes nothing of the entries it replays.
func TestGroupEventsFromProposer(t *testing.T) {
	var mu sync.Mutex
	var events []string // "replica channel message", and "reply" when the write is answered
	record := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		e := events
		events = nil
		return e
	}
	tg := newTestGroupEach(t, func(c *GroupConfig) { c.WriteTimeout = time.Minute }, func(id uint64, c *GroupConfig) {
		n := notify.NewNotifier(func(ch, msg []byte) { record(fmt.Sprintf("%d %s %s", id, ch, msg)) })
		n.Set(notify.Keyevent | notify.String)
		c.Notify = n
	}, nil)
	settled := func() {
		t.Helper()
		eventually(t, "every replica to apply what is committed", func() bool {
			var commit uint64
			for _, g := range tg.reps {
				commit = max(commit, g.Status().Commit)
			}
			for _, g := range tg.reps {
				if g.Status().Applied < commit {
					return false
				}
			}
			return true
		})
	}
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "a", "1")
	settled()
	if got, want := strings.Join(taken(), "; "), fmt.Sprintf("%d __keyevent@0__:set a", l); got != want {
		t.Fatalf("events of a write on a steady group: %q, want %q", got, want)
	}

	// The leader's write reaches the followers' logs, but the leader hears
	// none of their acknowledgements, and is cut off before it commits.
	acked := map[uint64]uint64{}
	from := tg.reps[l].Status().Commit
	tg.net.mu.Lock()
	tg.net.drop = func(_, to uint64, m *raftpb.Message) bool {
		if to == l && m.GetType() == raftpb.MsgAppResp {
			if !m.GetReject() && m.GetIndex() > from {
				mu.Lock()
				acked[m.GetFrom()] = m.GetIndex()
				mu.Unlock()
			}
			return true
		}
		return false
	}
	tg.net.mu.Unlock()
	replied := make(chan string, 1)
	tg.reps[l].Submit(&Request{Cmds: [][][]byte{{[]byte("SET"), []byte("k"), []byte("v")}}, Proto: 2, Mode: Write,
		Done: func(reply []byte, _ []int, err error) {
			record("reply")
			replied <- fmt.Sprint(string(reply), err)
		}})
	eventually(t, "both followers to log the write", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) == 2
	})
	tg.net.isolate(l, true)
	nl := tg.leader(l)
	eventually(t, "the new leader to apply the write", func() bool {
		r, _ := tg.do(nl, Stale, "GET", "k")
		return r == "$1\r\nv\r\n"
	})
	tg.net.mu.Lock()
	tg.net.drop = nil
	tg.net.mu.Unlock()
	tg.net.isolate(l, false)
	select {
	case r := <-replied:
		if r != "+OK\r\n<nil>" {
			t.Fatalf("the write was answered %q, want +OK", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write was not answered after its replica rejoined")
	}
	settled()
	want := fmt.Sprintf("%d __keyevent@0__:set k; reply", l)
	if got := strings.Join(taken(), "; "); got != want {
		t.Fatalf("events of a write committed by the next leader (%d): %q, want %q", nl, got, want)
	}

	// A replica that restarts replays its log, the entries it proposed too,
	// and publishes none of them.
	tg.stop(l)
	tg.start(l)
	settled()
	tg.mustDo(tg.leader(), Write, "SET", "b", "2")
	settled()
	if got, want := strings.Join(taken(), "; "), fmt.Sprintf("%d __keyevent@0__:set b", tg.leader()); got != want {
		t.Fatalf("events after a replica restarted: %q, want %q", got, want)
	}
}
