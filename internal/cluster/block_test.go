package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// serveNodeServer serves node i of tn on 127.0.0.1:0 and returns the
// server and its address.
func serveNodeServer(t *testing.T, tn *testNodes, i int) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(tn.nodes[i], ServerConfig{Limits: resp.DefaultLimits()})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
	})
	return srv, ln.Addr().String()
}

// rawConn is a RESP client that checks replies byte for byte.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	rd *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	return &rawConn{t: t, nc: nc, rd: bufio.NewReader(nc)}
}

func (c *rawConn) send(args ...string) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) expect(want string) {
	c.t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.rd, got); err != nil {
		c.t.Fatalf("read: %v (got %q, want %q)", err, got, want)
	}
	if string(got) != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

// reply reads one reply and flattens it to its strings: a BZPOPMIN's
// key, member and score, or a BZMPOP's key then members and scores.
func (c *rawConn) reply() []string {
	var out []string
	var read func()
	read = func() {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			out = append(out, "error: "+err.Error())
			return
		}
		line = strings.TrimSuffix(line, "\r\n")
		switch line[0] {
		case '*':
			var n int
			fmt.Sscanf(line[1:], "%d", &n)
			for range n {
				read()
			}
		case '$':
			v, _ := c.rd.ReadString('\n')
			out = append(out, strings.TrimSuffix(v, "\r\n"))
		default:
			out = append(out, line)
		}
	}
	read()
	return out
}

// waitBlocked waits until srv counts n clients parked in a blocking command.
func waitBlocked(t *testing.T, srv *Server, n int64) {
	t.Helper()
	testutil.Await(t, 20*time.Second, func() bool { return srv.blocked.Load() == n },
		func() string { return fmt.Sprintf("blocked clients stayed at %d, want %d", srv.blocked.Load(), n) })
}

// blockingNodes serves three nodes and returns the servers of two, where
// clients are to wait, and a client of the third, to push through.
func blockingNodes(t *testing.T) (srvA *Server, addrA string, srvB *Server, addrB string, pusher *redis.Client) {
	t.Helper()
	tn := newTestNodes(t, testSeed(t), nil)
	srvA, addrA = serveNodeServer(t, tn, 0)
	srvB, addrB = serveNodeServer(t, tn, 1)
	_, addrC := serveNodeServer(t, tn, 2)
	pusher = redis.NewClient(&redis.Options{Addr: addrC, Protocol: 2})
	t.Cleanup(func() { pusher.Close() })
	return srvA, addrA, srvB, addrB, pusher
}

// TestServerBlocking parks clients on two nodes and pushes through a third:
// oldest first on one node, each client served once across nodes, the
// pops replicated; timeouts, CLIENT UNBLOCK, disconnects and MULTI.
func TestServerBlocking(t *testing.T) {
	srvA, addrA, srvB, addrB, pusher := blockingNodes(t)
	ctx := context.Background()

	// Two clients on node A, oldest first; one on node B.
	a1, a2, b1 := dialRaw(t, addrA), dialRaw(t, addrA), dialRaw(t, addrB)
	a1.send("BZPOPMIN", "{q}k", "0")
	waitBlocked(t, srvA, 1)
	a2.send("BZMPOP", "0", "2", "{q}j", "{q}k", "MIN", "COUNT", "2")
	waitBlocked(t, srvA, 2)
	b1.send("BZPOPMAX", "{q}k", "0")
	waitBlocked(t, srvB, 1)
	replies := make(chan []string, 3)
	for _, c := range []*rawConn{a1, a2, b1} {
		go func() { replies <- c.reply() }()
	}
	if err := pusher.ZAdd(ctx, "{q}k", redis.Z{Score: 1, Member: "a"}).Err(); err != nil {
		t.Fatal(err)
	}
	// One member: exactly one of the three clients gets it.
	if got := <-replies; strings.Join(got, " ") != "{q}k a 1" && strings.Join(got, " ") != "{q}k a 1 " {
		t.Fatalf("first reply: got %q, want {q}k a 1", got)
	}
	if n, err := pusher.ZCard(ctx, "{q}k").Result(); err != nil || n != 0 {
		t.Fatalf("ZCARD after the pop: %d %v, want 0", n, err)
	}
	if n := srvA.blocked.Load() + srvB.blocked.Load(); n != 2 {
		t.Fatalf("blocked clients after one member: got %d, want 2", n)
	}
	// Four more members serve the two others (BZMPOP may take two).
	if err := pusher.ZAdd(ctx, "{q}k", redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 3, Member: "c"},
		redis.Z{Score: 4, Member: "d"}, redis.Z{Score: 5, Member: "e"}).Err(); err != nil {
		t.Fatal(err)
	}
	popped := 0
	seen := map[string]bool{"a": true}
	for range 2 {
		for _, m := range (<-replies)[1:] {
			if m == "" || m[0] < 'a' || m[0] > 'e' {
				continue // a score
			}
			if seen[m] {
				t.Fatalf("member %s popped twice", m)
			}
			seen[m] = true
			popped++
		}
	}
	waitBlocked(t, srvA, 0)
	waitBlocked(t, srvB, 0)
	n, err := pusher.ZCard(ctx, "{q}k").Result()
	if err != nil || popped+int(n) != 4 || popped < 2 {
		t.Fatalf("popped %d, %d left (%v): want 4 in all, at least 2 popped", popped, n, err)
	}
	// Every replica applied the pops: each node's own replica agrees.
	for i, addr := range []string{addrA, addrB} {
		rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		if m, err := rc.ZCard(ctx, "{q}k").Result(); err != nil || m != n {
			t.Fatalf("ZCARD through node %d: %d %v, want %d", i, m, err, n)
		}
		rc.Close()
	}

	// A short timeout answers a nil array; CLIENT UNBLOCK both ways.
	a1.send("BZPOPMIN", "{t}k", "0.05")
	a1.expect("*-1\r\n")
	for _, tc := range []struct{ reason, want string }{
		{"TIMEOUT", "*-1\r\n"},
		{"ERROR", "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"},
	} {
		a1.send("CLIENT", "ID")
		line, _ := a1.rd.ReadString('\n')
		id := strings.TrimSuffix(strings.TrimPrefix(line, ":"), "\r\n")
		a1.send("BZPOPMIN", "{t}k", "0")
		waitBlocked(t, srvA, 1)
		a2.send("CLIENT", "UNBLOCK", id, tc.reason)
		a2.expect(":1\r\n")
		a1.expect(tc.want)
		waitBlocked(t, srvA, 0)
		a2.send("CLIENT", "UNBLOCK", id, tc.reason)
		a2.expect(":0\r\n")
	}

	// A client that goes away takes nothing.
	a1.send("BZPOPMIN", "{d}k", "0")
	waitBlocked(t, srvA, 1)
	a1.nc.Close()
	waitBlocked(t, srvA, 0)
	if err := pusher.ZAdd(ctx, "{d}k", redis.Z{Score: 1, Member: "a"}).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := pusher.ZCard(ctx, "{d}k").Result(); err != nil || n != 1 {
		t.Fatalf("ZCARD after the waiter left: %d %v, want 1", n, err)
	}

	// Inside MULTI it does not block; keys across slots are refused.
	a2.send("MULTI")
	a2.expect("+OK\r\n")
	a2.send("BZPOPMIN", "{e}k", "0")
	a2.expect("+QUEUED\r\n")
	a2.send("EXEC")
	a2.expect("*1\r\n*-1\r\n")
	a2.send("BZPOPMIN", "{x}k", "{y}k", "0")
	a2.expect("-CROSSSLOT Keys in request don't hash to the same slot\r\n")
	a2.send("BZPOPMIN", "{x}k", "-1")
	a2.expect("-ERR timeout is negative\r\n")
}

// TestServerBlockingConcurrent parks many clients on every node and pushes
// members concurrently from every node: each client gets one member, no
// member twice.
func TestServerBlockingConcurrent(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	var srvs []*Server
	var addrs []string
	for i := range 3 {
		s, a := serveNodeServer(t, tn, i)
		srvs, addrs = append(srvs, s), append(addrs, a)
	}
	ctx := context.Background()
	const per = 4 // clients per node
	got := make(chan []string, 3*per)
	var wg sync.WaitGroup
	for i, addr := range addrs {
		for range per {
			rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
			t.Cleanup(func() { rc.Close() })
			wg.Go(func() {
				v, err := rc.Do(ctx, "BZPOPMIN", "{c}a", "{c}b", 0).StringSlice()
				if err != nil {
					t.Errorf("node %d: %v", i, err)
				}
				got <- v
			})
		}
	}
	for _, s := range srvs {
		waitBlocked(t, s, per)
	}
	var pw sync.WaitGroup
	for i, addr := range addrs {
		rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		t.Cleanup(func() { rc.Close() })
		pw.Go(func() {
			for j := range per {
				key := []string{"{c}a", "{c}b"}[j%2]
				if err := rc.ZAdd(ctx, key, redis.Z{Score: float64(j), Member: fmt.Sprintf("n%d-%d", i, j)}).Err(); err != nil {
					t.Errorf("push: %v", err)
				}
			}
		})
	}
	pw.Wait()
	wg.Wait()
	close(got)
	seen := map[string]bool{}
	for v := range got {
		if len(v) != 3 || seen[v[1]] {
			t.Fatalf("reply %q: want key, member, score with the member popped once", v)
		}
		seen[v[1]] = true
	}
	if len(seen) != 3*per {
		t.Fatalf("served %d clients, want %d", len(seen), 3*per)
	}
}

// TestServerListBlocking parks list clients on two nodes and pushes through
// a third: a BLMOVE's move wakes the BLPOP waiting on its destination on
// another node; timeouts, MULTI and keys across slots.
func TestServerListBlocking(t *testing.T) {
	srvA, addrA, srvB, addrB, pusher := blockingNodes(t)
	ctx := context.Background()

	a1, b1, b2 := dialRaw(t, addrA), dialRaw(t, addrB), dialRaw(t, addrB)
	a1.send("BLPOP", "{l}dst", "0")
	waitBlocked(t, srvA, 1)
	b1.send("BLMOVE", "{l}src", "{l}dst", "LEFT", "RIGHT", "0")
	waitBlocked(t, srvB, 1)
	b2.send("BLMPOP", "0", "2", "{l}none", "{l}src", "RIGHT", "COUNT", "5")
	waitBlocked(t, srvB, 2)
	if err := pusher.RPush(ctx, "{l}src", "x").Err(); err != nil {
		t.Fatal(err)
	}
	b1.expect("$1\r\nx\r\n")
	a1.expect("*2\r\n$6\r\n{l}dst\r\n$1\r\nx\r\n")
	if err := pusher.RPush(ctx, "{l}src", "y", "z").Err(); err != nil {
		t.Fatal(err)
	}
	b2.expect("*2\r\n$6\r\n{l}src\r\n*2\r\n$1\r\nz\r\n$1\r\ny\r\n")
	waitBlocked(t, srvA, 0)
	waitBlocked(t, srvB, 0)
	for _, key := range []string{"{l}src", "{l}dst"} {
		if n, err := pusher.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Fatalf("EXISTS %s: %d %v, want 0", key, n, err)
		}
	}

	a1.send("BRPOPLPUSH", "{t}a", "{t}b", "0.05")
	a1.expect("*-1\r\n")
	a1.send("BLMOVE", "{t}a", "{t}b", "LEFT", "LEFT", "0.05")
	a1.expect("*-1\r\n")
	a1.send("MULTI")
	a1.expect("+OK\r\n")
	a1.send("BLMOVE", "{e}a", "{e}b", "LEFT", "LEFT", "0")
	a1.expect("+QUEUED\r\n")
	a1.send("BRPOP", "{e}a", "0")
	a1.expect("+QUEUED\r\n")
	a1.send("EXEC")
	a1.expect("*2\r\n$-1\r\n*-1\r\n")
	a1.send("BLMOVE", "{x}a", "{y}b", "LEFT", "LEFT", "0")
	a1.expect("-CROSSSLOT Keys in request don't hash to the same slot\r\n")
}

// TestWaitsAppliedMove checks that an applied BLMOVE wakes the clients
// waiting on its destination when it moved an element, and no one when
// it found nothing, so that two empty moves never wake each other.
func TestWaitsAppliedMove(t *testing.T) {
	var ws waits
	w := ws.add(0, [][]byte{[]byte("{m}dst")}, func() {})
	move := [][][]byte{{[]byte("blmove"), []byte("{m}src"), []byte("{m}dst"), []byte("LEFT"), []byte("RIGHT"), []byte("0")}}
	for _, tc := range []struct {
		reply string
		fired bool
	}{
		{"$-1\r\n", false},
		{"*-1\r\n", false},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", false},
		{"$1\r\nx\r\n", true},
	} {
		w.fired.Store(false)
		ws.applied(0, move, []byte(tc.reply), []int{len(tc.reply)})
		if got := w.fired.Load(); got != tc.fired {
			t.Fatalf("BLMOVE replying %q: woke the destination's client %v, want %v", tc.reply, got, tc.fired)
		}
	}
	ws.remove(w)
}
