package cluster

import (
	"context"
	"testing"
)

// TestServerPubSub subscribes clients on two nodes and publishes through
// a third: PUBLISH and SPUBLISH reach every subscriber, and count those of
// the node that answered, as Redis Cluster does; RESP2's subscribed mode
// holds on a cluster node too.
func TestServerPubSub(t *testing.T) {
	_, addrA, _, addrB, pusher := blockingNodes(t)
	ctx := context.Background()
	a, b := dialRaw(t, addrA), dialRaw(t, addrB)
	a.send("SUBSCRIBE", "news")
	a.expect("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
	b.send("PSUBSCRIBE", "n*")
	b.expect("*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n")
	b.send("SSUBSCRIBE", "{s}orders")
	b.expect("*3\r\n$10\r\nssubscribe\r\n$9\r\n{s}orders\r\n:1\r\n")
	// Shard channels of one command share a slot, as Redis Cluster's keys.
	for _, cmd := range []string{"SSUBSCRIBE", "SUNSUBSCRIBE"} {
		b.send(cmd, "{s}orders", "{t}orders")
		b.expect("-CROSSSLOT Keys in request don't hash to the same slot\r\n")
	}
	if n, err := pusher.Publish(ctx, "news", "hello").Result(); err != nil || n != 0 {
		t.Fatalf("PUBLISH through the third node: %d %v, want 0 (its own subscribers)", n, err)
	}
	a.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
	b.expect("*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n")
	if n, err := pusher.SPublish(ctx, "{s}orders", "o1").Result(); err != nil || n != 0 {
		t.Fatalf("SPUBLISH: %d %v", n, err)
	}
	b.expect("*3\r\n$8\r\nsmessage\r\n$9\r\n{s}orders\r\n$2\r\no1\r\n")
	a.send("GET", "k")
	a.expect("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
	a.send("PING")
	a.expect("*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	// A publisher on the subscriber's node counts it.
	c := dialRaw(t, addrA)
	c.send("PUBLISH", "news", "again")
	c.expect(":1\r\n")
	a.expect("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nagain\r\n")
	c.send("PUBSUB", "NUMSUB", "news")
	c.expect("*2\r\n$4\r\nnews\r\n:1\r\n")
	a.send("UNSUBSCRIBE")
	a.expect("*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n")
	a.send("GET", "k")
	a.expect("$-1\r\n")
}
