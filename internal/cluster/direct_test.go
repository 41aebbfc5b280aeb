package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// leaderNode waits until a node leads the group of key, and returns its
// index in tn.
func leaderNode(t *testing.T, tn *testNodes, key string) int {
	t.Helper()
	lead := -1
	testutil.Await(t, 10*time.Second, func() bool {
		for i, n := range tn.nodes {
			if g := n.local(n.Table().GroupOfKey([]byte(key))); g != nil && g.Leader() == g.cfg.ReplicaID {
				lead = i
				return true
			}
		}
		return false
	}, func() string { return "no node leads the group of " + key })
	return lead
}

// lastCmd waits until the client of srv whose name is name has last run
// cmd: its command was read and handed on.
func lastCmd(t *testing.T, srv *Server, name, cmd string) {
	t.Helper()
	testutil.Await(t, 10*time.Second, func() bool {
		for _, c := range srv.clients() {
			if p := c.name.Load(); p != nil && *p == name {
				last := c.lastName.Load()
				return last != nil && *last == cmd
			}
		}
		return false
	}, func() string { return "client " + name + " did not run " + cmd })
}

// A reply written by the group (direct.go) goes out before the replies of
// the commands read after it: a write that cannot commit while its leader
// is cut off holds back the reply of an ECHO sent after it, which the
// connection answers itself.
func TestServerDirectReplyOrder(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	lead := leaderNode(t, tn, "k")
	srv, addr := serveNodeServer(t, tn, lead)
	c := dialRaw(t, addr)
	if got := c.call("CLIENT", "SETNAME", "writer"); got != "+OK\r\n" {
		t.Fatalf("CLIENT SETNAME: got %q, want +OK", got)
	}
	tn.net.Isolate(tn.nodes[lead].cfg.NodeID)
	c.send("SET", "k", "v")
	lastCmd(t, srv, "writer", "set")
	c.send("ECHO", "after")
	tn.net.Heal()
	// The write commits once healed, or fails if the isolated leader
	// stepped down meanwhile: either way its reply comes first.
	if got := c.bulk(); got == "after" {
		t.Fatalf("first reply: got ECHO's %q before SET's", got)
	}
	if got := c.bulk(); got != "after" {
		t.Fatalf("second reply: got %q, want ECHO's \"after\"", got)
	}
}

// A reply larger than the socket takes at once is finished by a goroutine
// of its own (writeDirect); the next replies follow it.
//
// The 16 MiB entry takes each follower's peer reader and group a while to
// decode, log and apply (long under -race on a busy machine), and the
// heartbeats queued behind it wait as long: with the tests' usual
// election timeout of 100 ms the followers then elected a new leader now
// and then, and a GET met CLUSTERDOWN. This test is about replies, so its
// groups get the timeout of 500 ms.
func TestServerDirectReplyLarge(t *testing.T) {
	const size = 16 << 20
	c := bigValue(t, size)
	for i := range 3 {
		c.send("GET", "big")
		checkBig(t, i, c.bulk(), size)
		if got := c.call("ECHO", fmt.Sprint(i)); got != fmt.Sprint(i) {
			t.Fatalf("ECHO after GET %d: got %q, want %d", i, got, i)
		}
	}
}

// bigValue starts three nodes with the election timeout of
// TestServerDirectReplyLarge, sets "big" to size-1 zero bytes and a "z" on
// its leader's node, and returns a client of that node.
func bigValue(t *testing.T, size int) *rawConn {
	t.Helper()
	tn := newTestNodes(t, testSeed(t), func(gc *GroupConfig) { gc.Tick = 50 * time.Millisecond })
	_, addr := serveNodeServer(t, tn, leaderNode(t, tn, "big"))
	c := dialRaw(t, addr)
	if got := c.call("SETRANGE", "big", fmt.Sprint(size-1), "z"); got != fmt.Sprintf(":%d\r\n", size) {
		t.Fatalf("SETRANGE: got %q, want :%d", got, size)
	}
	return c
}

// checkBig checks the i-th GET's reply got against bigValue's value.
func checkBig(t *testing.T, i int, got string, size int) {
	t.Helper()
	if len(got) != size || strings.Trim(got[:size-1], "\x00") != "" || got[size-1] != 'z' {
		t.Fatalf("GET %d: got %d bytes ending %q, want %d zero bytes then z", i, len(got), got[max(0, len(got)-8):], size-1)
	}
}

// Pipelined replies larger than the socket holds, written by the
// connection's goroutine in one piece (writeRaw): the client sends both
// GETs before it reads anything, so the write must wait for the socket and
// go on from where it stopped.
func TestServerPipelinedReplyLarge(t *testing.T) {
	const size = 8 << 20
	c := bigValue(t, size)
	get := "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n"
	if _, err := io.WriteString(c.nc, get+get); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		checkBig(t, i, c.bulk(), size)
	}
	if got := c.call("ECHO", "after"); got != "after" {
		t.Fatalf("ECHO after the GETs: got %q, want after", got)
	}
}

// Blocking commands that come in a raw read (direct.go) run out of it,
// since they read the socket while they wait: after other commands in the
// same write, timing out or woken by another client's push, with the
// replies in order.
func TestServerRawReadBlocking(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	srv, addr := serveNodeServer(t, tn, 0)
	c := dialRaw(t, addr)
	c.nc.SetDeadline(time.Now().Add(20 * time.Second))
	c.send("SET", "x", "1")
	c.expect("+OK\r\n")
	var b strings.Builder
	for _, cmd := range [][]string{{"GET", "x"}, {"BLPOP", "empty", "0.05"}, {"ECHO", "a"}, {"BLPOP", "later", "0"}, {"ECHO", "b"}} {
		fmt.Fprintf(&b, "*%d\r\n", len(cmd))
		for _, a := range cmd {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		t.Fatal(err)
	}
	c.expect("$1\r\n1\r\n")
	c.expect("*-1\r\n")
	c.expect("$1\r\na\r\n")
	waitBlocked(t, srv, 1)
	pusher := dialRaw(t, addr)
	pusher.send("RPUSH", "later", "v")
	pusher.expect(":1\r\n")
	if got := strings.Join(c.reply(), " "); got != "later v" {
		t.Fatalf("BLPOP later: got %q, want \"later v\"", got)
	}
	c.expect("$1\r\nb\r\n")
}

// Random runs of commands on one connection, sent one at a time or
// pipelined in random pieces, get their replies in order, whether the
// group, the connection or a peer's reader writes them (direct.go).
func TestServerRepliesInOrder(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	tn := newTestNodes(t, seed, nil)
	_, addr := serveNodeServer(t, tn, rng.IntN(3))
	c := dialRaw(t, addr)
	c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	counts := map[string]int{}
	for round := range 200 {
		var cmds [][]string
		var want []string
		n := 1 + rng.IntN(4)*rng.IntN(4)
		if round%50 == 49 {
			n = 3000 // more than a read takes at once
		}
		for range n {
			key := fmt.Sprintf("key%d", rng.IntN(20))
			switch rng.IntN(3) {
			case 0:
				counts[key]++
				cmds = append(cmds, []string{"INCR", key})
				want = append(want, fmt.Sprintf(":%d\r\n", counts[key]))
			case 1:
				cmds = append(cmds, []string{"GET", key})
				if n := counts[key]; n > 0 {
					want = append(want, fmt.Sprintf("$%d\r\n%d\r\n", len(fmt.Sprint(n)), n))
				} else {
					want = append(want, "$-1\r\n")
				}
			default:
				v := fmt.Sprintf("r%d", round)
				cmds = append(cmds, []string{"ECHO", v})
				want = append(want, fmt.Sprintf("$%d\r\n%s\r\n", len(v), v))
			}
		}
		var b strings.Builder
		for _, cmd := range cmds {
			fmt.Fprintf(&b, "*%d\r\n", len(cmd))
			for _, a := range cmd {
				fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
			}
		}
		for s := b.String(); s != ""; {
			n := 1 + rng.IntN(len(s))
			if _, err := io.WriteString(c.nc, s[:n]); err != nil {
				t.Fatal(err)
			}
			s = s[n:]
		}
		for i, w := range want {
			got := make([]byte, len(w))
			if _, err := io.ReadFull(c.rd, got); err != nil || string(got) != w {
				t.Fatalf("round %d, reply %d to %q: got %q (%v), want %q", round, i, cmds[i], got, err, w)
			}
		}
	}
}

// The register history of clients that talk to the nodes' servers over
// TCP, one connection per client and node, is linearizable under faults:
// the replies written by groups and peers' readers (direct replies) and the
// raw reads answer each client with its own command's outcome.
func TestServerLinearizableUnderFaults(t *testing.T) {
	linearizableUnderFaults(t, underFaults, serverDoer())
}

// serverDoer runs commands through the nodes' client servers: an error
// reply, or no reply in time, is an error.
func serverDoer() doer {
	var addrs []string
	return func(t *testing.T, tn *testNodes, _ int) func(int, Mode, ...string) (string, error) {
		if addrs == nil { // the clients are set up one after the other
			for i := range tn.nodes {
				addrs = append(addrs, serveNode(t, tn, i, ServerConfig{}))
			}
		}
		conns := make([]net.Conn, len(addrs))
		readers := make([]*bufio.Reader, len(addrs))
		t.Cleanup(func() {
			for _, nc := range conns {
				if nc != nil {
					nc.Close()
				}
			}
		})
		return func(i int, _ Mode, args ...string) (string, error) {
			if conns[i] == nil {
				nc, err := net.Dial("tcp", addrs[i])
				if err != nil {
					return "", err
				}
				conns[i], readers[i] = nc, bufio.NewReader(nc)
			}
			reply, err := respCall(conns[i], readers[i], args)
			if err != nil {
				conns[i].Close()
				conns[i] = nil
				return "", err
			}
			if reply[0] == '-' {
				return "", errors.New(strings.TrimSpace(reply[1:]))
			}
			return reply, nil
		}
	}
}

// respCall sends a command and reads its reply, a line or a bulk string,
// within 10 seconds.
func respCall(nc net.Conn, rd *bufio.Reader, args []string) (string, error) {
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return "", err
	}
	line, err := rd.ReadString('\n')
	if err != nil || line[0] != '$' || line == "$-1\r\n" {
		return line, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return "", err
	}
	data := make([]byte, n+2)
	if _, err := io.ReadFull(rd, data); err != nil {
		return "", err
	}
	return line + string(data), nil
}
