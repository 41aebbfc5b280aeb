package cluster

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// invalidation is the RESP3 push of one key's invalidation.
func invalidation(key string) string {
	return fmt.Sprintf(">2\r\n$10\r\ninvalidate\r\n*1\r\n$%d\r\n%s\r\n", len(key), key)
}

// skip reads one reply of any type, aggregates whole.
func (c *rawConn) skip() {
	c.t.Helper()
	line, err := c.rd.ReadString('\n')
	if err != nil || len(line) < 3 {
		c.t.Fatalf("a reply: got %q, %v", line, err)
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(line[1:], "\r\n"))
	switch line[0] {
	case '*', '~', '>':
		for range n {
			c.skip()
		}
	case '%':
		for range 2 * n {
			c.skip()
		}
	case '$':
		if n >= 0 {
			c.bulkRest(n)
		}
	}
}

func (c *rawConn) bulkRest(n int) {
	if _, err := io.ReadFull(c.rd, make([]byte, n+2)); err != nil {
		c.t.Fatal(err)
	}
}

// resp3 dials node addr and switches to RESP3.
func resp3(t *testing.T, addr string) *rawConn {
	c := dialRaw(t, addr)
	c.send("HELLO", "3")
	c.skip()
	return c
}

// TestClusterTracking checks client-side caching on a cluster node: a
// RESP3 client on node 0 is told of changes to the keys it read made
// through another node (in groups led anywhere), by expiry and by
// FLUSHALL, of its own writes after their replies, and not with NOLOOP; a
// BCAST client of a prefix on node 2; a RESP2 client's invalidations
// redirected to a subscriber.
func TestClusterTracking(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addrs := []string{serveNode(t, tn, 0, ServerConfig{}), serveNode(t, tn, 1, ServerConfig{}), serveNode(t, tn, 2, ServerConfig{})}
	for i, n := range tn.nodes {
		if n.trackOn.Load() {
			t.Fatalf("node %d relays changes while no client tracks", i)
		}
	}
	c := resp3(t, addrs[0])
	w := dialRaw(t, addrs[1])
	c.send("CLIENT", "TRACKING", "ON")
	c.expect("+OK\r\n")
	for i, n := range tn.nodes {
		eventually(t, fmt.Sprintf("node %d to relay changes", i), n.trackOn.Load)
	}
	c.send("CLIENT", "TRACKINGINFO")
	c.expect("%3\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n")
	c.send("CLIENT", "GETREDIR")
	c.expect(":0\r\n")

	// Keys of every group, so led on every node.
	var keys []string
	seen := map[int]bool{}
	for i := 0; len(seen) < tn.nodes[0].Groups(); i++ {
		k := "k" + strconv.Itoa(i)
		if g := tn.nodes[0].Table().GroupOfKey([]byte(k)); !seen[g] {
			seen[g] = true
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		c.send("GET", k)
		c.expect("_\r\n")
		w.send("SET", k, "v")
		w.expect("+OK\r\n")
		c.expect(invalidation(k))
		// Read again, so that the next change is told too.
		c.send("GET", k)
		c.expect("$1\r\nv\r\n")
		w.send("SET", k, "w")
		w.expect("+OK\r\n")
		c.expect(invalidation(k))
	}

	// Expiry: the group's leader expires the key through its log.
	w.send("SET", "exp", "v", "PX", "30")
	w.expect("+OK\r\n")
	c.send("GET", "exp")
	if got := c.reply(); len(got) != 1 || got[0] != "v" && got[0] != "_" {
		t.Fatalf("GET exp: got %q", got)
	}
	c.expect(invalidation("exp"))

	// The client's own write: the invalidation follows the reply.
	c.send("GET", "own")
	c.expect("_\r\n")
	c.send("SET", "own", "1")
	c.expect("+OK\r\n" + invalidation("own"))

	// NOLOOP: no invalidation of the client's own writes.
	nl := resp3(t, addrs[0])
	nl.send("CLIENT", "TRACKING", "ON", "NOLOOP")
	nl.expect("+OK\r\n")
	nl.send("GET", "nl1")
	nl.expect("_\r\n")
	nl.send("SET", "nl1", "x")
	nl.expect("+OK\r\n")
	nl.send("GET", "nl2")
	nl.expect("_\r\n")
	w.send("SET", "nl2", "x")
	w.expect("+OK\r\n")
	nl.expect(invalidation("nl2"))

	// BCAST with a prefix, on node 2.
	b := resp3(t, addrs[2])
	b.send("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:")
	b.expect("+OK\r\n")
	w.send("SET", "other", "x")
	w.expect("+OK\r\n")
	w.send("SET", "user:1", "x")
	w.expect("+OK\r\n")
	b.expect(invalidation("user:1"))

	// RESP2: REDIRECT to a subscriber of __redis__:invalidate.
	sub := dialRaw(t, addrs[0])
	sub.send("CLIENT", "ID")
	id := strings.TrimPrefix(sub.reply()[0], ":")
	sub.send("SUBSCRIBE", "__redis__:invalidate")
	sub.expect("*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n")
	r2 := dialRaw(t, addrs[0])
	r2.send("CLIENT", "TRACKING", "ON", "REDIRECT", id)
	r2.expect("+OK\r\n")
	r2.send("CLIENT", "GETREDIR")
	r2.expect(":" + id + "\r\n")
	r2.send("GET", "rk")
	r2.expect("$-1\r\n")
	w.send("SET", "rk", "x")
	w.expect("+OK\r\n")
	sub.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nrk\r\n")

	// OPTIN: only the reads after CLIENT CACHING YES are remembered.
	o := resp3(t, addrs[0])
	o.send("CLIENT", "TRACKING", "ON", "OPTIN")
	o.expect("+OK\r\n")
	o.send("GET", "oa")
	o.expect("_\r\n")
	for _, k := range []string{"ob", "oc"} {
		o.send("CLIENT", "CACHING", "YES")
		o.expect("+OK\r\n")
		o.send("GET", k)
		o.expect("_\r\n")
	}
	o.send("CLIENT", "TRACKINGINFO")
	o.expect("%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\noptin\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n")
	for _, k := range []string{"oa", "ob", "oc"} {
		w.send("SET", k, "x")
		w.expect("+OK\r\n")
	}
	// The two come from different groups' leaders, in either order.
	var got []string
	for range 2 {
		o.expect(">2\r\n$10\r\ninvalidate\r\n*1\r\n")
		got = append(got, o.bulk())
	}
	if j := strings.Join(got, ","); j != "ob,oc" && j != "oc,ob" {
		t.Fatalf("OPTIN invalidations: got %q, want ob and oc", got)
	}
	o.send("CLIENT", "CACHING", "YES")
	o.expect("+OK\r\n")
	o.send("GET", "oa")
	o.expect("$1\r\nx\r\n")
	w.send("SET", "oa", "y")
	w.expect("+OK\r\n")
	o.expect(invalidation("oa"))
	o.send("RESET")
	o.expect("+RESET\r\n")
	o.send("CLIENT", "GETREDIR")
	o.expect(":-1\r\n")

	// FLUSHALL: a null invalidation from each group.
	w.send("FLUSHALL")
	w.expect("+OK\r\n")
	for range tn.nodes[0].Groups() {
		c.expect(">2\r\n$10\r\ninvalidate\r\n_\r\n")
		sub.expect("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n")
	}
}

// TestClusterTrackingOff checks that the nodes stop relaying changes once
// the last tracking client is gone.
func TestClusterTrackingOff(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	c := resp3(t, serveNode(t, tn, 1, ServerConfig{}))
	c.send("CLIENT", "TRACKING", "ON", "BCAST")
	c.expect("+OK\r\n")
	for i, n := range tn.nodes {
		eventually(t, fmt.Sprintf("node %d to relay changes", i), n.trackOn.Load)
	}
	c.send("CLIENT", "TRACKING", "OFF")
	c.expect("+OK\r\n")
	for i, n := range tn.nodes {
		eventually(t, fmt.Sprintf("node %d to stop relaying changes", i), func() bool { return !n.trackOn.Load() })
	}
}

// TestFlights checks that a read in flight learns of the changes and
// flushes made meanwhile, and that a write in flight names its writer.
func TestFlights(t *testing.T) {
	var f flights
	reads, writes := [][]byte{[]byte("a"), []byte("b")}, [][]byte{[]byte("w")}
	marks, gen := f.begin(7, reads, writes)
	if got := f.changed([]byte("b")); got != 0 {
		t.Errorf("the writer of b, only read: got %d, want 0", got)
	}
	if got := f.changed([]byte("w")); got != 7 {
		t.Errorf("the writer of w: got %d, want 7", got)
	}
	if got := f.end(reads, writes, marks, gen); len(got) != 1 || string(got[0]) != "b" {
		t.Errorf("reads changed in flight: got %q, want [b]", got)
	}
	if len(f.keys) != 0 {
		t.Errorf("keys left after end: %v", f.keys)
	}
	marks, gen = f.begin(7, reads, nil)
	f.flushed()
	if got := f.end(reads, nil, marks, gen); len(got) != 2 {
		t.Errorf("reads in flight over a flush: got %q, want both", got)
	}
}
