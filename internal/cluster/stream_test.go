package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestServerStreamBlocking parks XREAD and XREADGROUP clients on two
// nodes and adds entries through a third: "$" means the entries added
// after the call, every reader gets an entry, each entry goes to one
// consumer of a group, and the group's state is the same through every
// node.
func TestServerStreamBlocking(t *testing.T) {
	srvA, addrA, srvB, addrB, pusher := blockingNodes(t)
	ctx := context.Background()
	if err := pusher.XAdd(ctx, &redis.XAddArgs{Stream: "{s}x", ID: "1-1", Values: []string{"f", "old"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := pusher.XGroupCreate(ctx, "{s}x", "g", "$").Err(); err != nil {
		t.Fatal(err)
	}
	r1, r2 := dialRaw(t, addrA), dialRaw(t, addrB)
	r1.send("XREAD", "BLOCK", "0", "STREAMS", "{s}x", "$")
	waitBlocked(t, srvA, 1)
	r2.send("XREAD", "BLOCK", "0", "STREAMS", "{s}x", "$")
	waitBlocked(t, srvB, 1)
	c1, c2 := dialRaw(t, addrA), dialRaw(t, addrB)
	c1.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "{s}x", ">")
	waitBlocked(t, srvA, 2)
	c2.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "{s}x", ">")
	waitBlocked(t, srvB, 2)
	// INFO counts them, as Redis's clients section does.
	info := redis.NewClient(&redis.Options{Addr: addrA, Protocol: 2})
	defer info.Close()
	if s, err := info.Info(ctx, "clients").Result(); err != nil || !strings.Contains(s, "blocked_clients:2\r\n") || !strings.Contains(s, "connected_clients:3\r\n") {
		t.Fatalf("INFO clients on node A: %q %v", s, err)
	}

	if err := pusher.XAdd(ctx, &redis.XAddArgs{Stream: "{s}x", ID: "2-1", Values: []string{"f", "new"}}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*rawConn{r1, r2} {
		if got := strings.Join(r.reply(), " "); got != "{s}x 2-1 f new" {
			t.Fatalf("XREAD: got %q, want the new entry", got)
		}
	}
	// One entry: one consumer gets it; the next entry goes to the other.
	replies := make(chan string, 2)
	for _, c := range []*rawConn{c1, c2} {
		go func() { replies <- strings.Join(c.reply(), " ") }()
	}
	first := <-replies
	if err := pusher.XAdd(ctx, &redis.XAddArgs{Stream: "{s}x", ID: "3-1", Values: []string{"f", "next"}}).Err(); err != nil {
		t.Fatal(err)
	}
	second := <-replies
	if got := first + " | " + second; got != "{s}x 2-1 f new | {s}x 3-1 f next" {
		t.Fatalf("XREADGROUP replies: %q", got)
	}
	waitBlocked(t, srvA, 0)
	waitBlocked(t, srvB, 0)
	for i, addr := range []string{addrA, addrB} {
		rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		p, err := rc.XPending(ctx, "{s}x", "g").Result()
		if err != nil || p.Count != 2 || p.Lower != "2-1" || p.Higher != "3-1" || p.Consumers["alice"]+p.Consumers["bob"] != 2 ||
			p.Consumers["alice"] != 1 {
			t.Fatalf("XPENDING through node %d: %+v %v", i, p, err)
		}
		rc.Close()
	}
}
