package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
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
