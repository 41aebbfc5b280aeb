package server

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// msg is a message as a RESP2 subscriber receives it.
func msg(kind string, parts ...string) string {
	s := fmt.Sprintf("*%d\r\n", len(parts)+1) + bulk(kind)
	for _, p := range parts {
		s += bulk(p)
	}
	return s
}

// TestPubSubDelivery checks channels, patterns and shard channels, in both
// protocols, byte for byte, with PUBLISH's counts and PUBSUB's views.
func TestPubSubDelivery(t *testing.T) {
	ts := start(t, nil)
	sub, pub := ts.dial(t), ts.dial(t)
	sub.send(respCmd("SUBSCRIBE", "news") + respCmd("PSUBSCRIBE", "n*") + respCmd("SSUBSCRIBE", "orders"))
	sub.expect("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n")
	pub.send(respCmd("PUBLISH", "news", "hello") + respCmd("PUBLISH", "nope", "x") + respCmd("PUBLISH", "other", "y") +
		respCmd("SPUBLISH", "orders", "o1") + respCmd("PUBSUB", "NUMSUB", "news", "orders") + respCmd("PUBSUB", "SHARDNUMSUB", "orders") +
		respCmd("PUBSUB", "NUMPAT") + respCmd("PUBSUB", "CHANNELS"))
	pub.expect(":2\r\n:1\r\n:0\r\n:1\r\n*4\r\n$4\r\nnews\r\n:1\r\n$6\r\norders\r\n:0\r\n*2\r\n$6\r\norders\r\n:1\r\n:1\r\n*1\r\n$4\r\nnews\r\n")
	sub.expect(msg("message", "news", "hello") + msg("pmessage", "n*", "news", "hello") + msg("pmessage", "n*", "nope", "x") +
		msg("smessage", "orders", "o1"))
	pub.send(respCmd("CLIENT", "LIST"))
	if list := strings.Join(pub.reply(), ""); !strings.Contains(list, "flags=P db=0 sub=1 psub=1 ssub=1 ") {
		t.Fatalf("CLIENT LIST does not show the subscriber: %q", list)
	}
	// RESP2's subscribed mode refuses other commands; RESET leaves it.
	sub.send(respCmd("GET", "k") + respCmd("RESET") + respCmd("GET", "k"))
	sub.expect("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n+RESET\r\n$-1\r\n")
	pub.send(respCmd("PUBLISH", "news", "after"))
	pub.expect(":0\r\n")

	// RESP3: pushes, and any command meanwhile.
	sub.hello3()
	sub.send(respCmd("SUBSCRIBE", "news") + respCmd("SET", "k", "v"))
	sub.expect(">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n+OK\r\n")
	pub.send(respCmd("PUBLISH", "news", "three"))
	pub.expect(":1\r\n")
	sub.expect(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nthree\r\n")
	sub.send(respCmd("GET", "k"))
	sub.expect("$1\r\nv\r\n")
}

// TestPubSubOrderAndFanOut publishes a numbered sequence to 1,000
// subscribers from several publishers at once: each subscriber gets every
// message once, each publisher's in order, and PUBLISH counts them all.
func TestPubSubOrderAndFanOut(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	const subs, pubs, each = 1000, 4, 50
	var clients []*client
	for range subs {
		c := ts.dial(t)
		c.send(respCmd("SUBSCRIBE", "fan"))
		clients = append(clients, c)
	}
	for _, c := range clients {
		c.expect("*3\r\n$9\r\nsubscribe\r\n$3\r\nfan\r\n:1\r\n")
	}
	var wg sync.WaitGroup
	errs := make(chan error, pubs)
	for p := range pubs {
		wg.Go(func() {
			rc := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: 2})
			defer rc.Close()
			for i := range each {
				n, err := rc.Publish(ctx, "fan", fmt.Sprintf("%d:%d", p, i)).Result()
				if err != nil || n != subs {
					errs <- fmt.Errorf("PUBLISH: %d %v, want %d", n, err, subs)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for ci, c := range clients {
		next := make([]int, pubs)
		for range pubs * each {
			var p, i int
			r := c.reply()
			if len(r) != 3 || r[0] != "message" || r[1] != "fan" {
				t.Fatalf("subscriber %d: got %q", ci, r)
			}
			fmt.Sscanf(r[2], "%d:%d", &p, &i)
			if i != next[p] {
				t.Fatalf("subscriber %d: message %d of publisher %d after %d", ci, i, p, next[p]-1)
			}
			next[p]++
		}
	}
}

// TestPubSubSlowSubscriber checks that a subscriber that does not read
// is disconnected once its queue passes the hard limit, that publishing
// never waits for it, and that it is then forgotten.
func TestPubSubSlowSubscriber(t *testing.T) {
	ts := start(t, func(c *Config) { c.PubSubOutput = pubsub.Limits{Hard: 256 << 10} })
	slow := ts.dial(t)
	slow.send(respCmd("SUBSCRIBE", "flood"))
	slow.expect("*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n")
	rc := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: 2})
	defer rc.Close()
	ctx := context.Background()
	payload := strings.Repeat("x", 64<<10)
	// The socket's buffers take a few MB before the outbox grows at all;
	// 200 MB of messages to one subscriber that never reads must end it.
	for i := 0; i < 3200; i++ {
		n, err := rc.Publish(ctx, "flood", payload).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	testutil.Await(t, 10*time.Second, func() bool {
		n, err := rc.PubSubNumSub(ctx, "flood").Result()
		return err == nil && n["flood"] == 0
	}, func() string { return "the slow subscriber is still subscribed" })
}

// TestPubSubSharedSlowAndFast sends large messages, which subscribers'
// outboxes share rather than copy, to a subscriber that reads them and one
// that never does: the slow one is dropped at its own hard limit, counting
// every shared message it holds, while the fast one gets every message
// intact and in order, before and after.
func TestPubSubSharedSlowAndFast(t *testing.T) {
	ts := start(t, func(c *Config) { c.PubSubOutput = pubsub.Limits{Hard: 4 << 20} })
	slow, fast := ts.dial(t), ts.dial(t)
	for _, c := range []*client{slow, fast} {
		c.send(respCmd("SUBSCRIBE", "flood"))
		c.expect("*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n")
	}
	payload := func(i int) string { return fmt.Sprintf("%06d", i) + strings.Repeat(string(rune('a'+i%26)), 16<<10) }
	const total = 3000
	got := make(chan error, 1)
	go func() {
		for i := range total {
			want := msg("message", "flood", payload(i))
			b := make([]byte, len(want))
			if _, err := io.ReadFull(fast.rd, b); err != nil {
				got <- fmt.Errorf("message %d: %v", i, err)
				return
			}
			if string(b) != want {
				got <- fmt.Errorf("message %d: got %.40q…, want %.40q…", i, b, want)
				return
			}
		}
		got <- nil
	}()
	rc := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: 2})
	defer rc.Close()
	ctx := context.Background()
	slowGone := -1
	for i := range total {
		n, err := rc.Publish(ctx, "flood", payload(i)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && slowGone < 0 {
			slowGone = i
		}
		if n == 0 {
			t.Fatalf("message %d reached no subscriber: the fast one was dropped", i)
		}
	}
	if slowGone < 0 {
		t.Fatalf("the slow subscriber got all %d messages (%d MB) unread, want it dropped at its 4 MB limit", total, total*16>>10)
	}
	if err := <-got; err != nil {
		t.Fatalf("fast subscriber: %v", err)
	}
}

// TestPubSubSubscribeRace subscribes while messages are published as fast
// as possible: the subscribe reply always comes before the first message.
func TestPubSubSubscribeRace(t *testing.T) {
	ts := start(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		rc := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: 2})
		defer rc.Close()
		for ctx.Err() == nil {
			rc.Publish(ctx, "race", "m")
		}
	}()
	for i := range 200 {
		c := ts.dial(t)
		c.send(respCmd("SUBSCRIBE", "race"))
		if r := c.reply(); len(r) != 3 || r[0] != "subscribe" {
			t.Fatalf("try %d: first reply %q, want the subscribe reply", i, r)
		}
		c.nc.Close()
	}
}

// reply reads one reply and flattens it to its strings.
func (c *client) reply() []string {
	c.t.Helper()
	var out []string
	var read func()
	read = func() {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		switch line[0] {
		case '*', '>':
			var n int
			fmt.Sscanf(line[1:], "%d", &n)
			for range n {
				read()
			}
		case '$':
			var n int
			fmt.Sscanf(line[1:], "%d", &n)
			if n < 0 {
				out = append(out, "")
				return
			}
			b := make([]byte, n+2)
			if _, err := io.ReadFull(c.rd, b); err != nil {
				c.t.Fatalf("read: %v", err)
			}
			out = append(out, string(b[:n]))
		default:
			out = append(out, line[1:])
		}
	}
	read()
	return out
}
