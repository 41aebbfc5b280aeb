package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// gatedConn is a server-side connection whose socket takes allow bytes of
// replies, then nothing until release is closed: a client that stops
// reading. blocked is closed when it first holds a write.
type gatedConn struct {
	net.Conn
	allow   int
	release chan struct{}
	blocked chan struct{}
	once    sync.Once
}

func (g *gatedConn) Write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		room := len(b) - done
		if g.allow >= 0 {
			if g.allow == 0 {
				g.once.Do(func() { close(g.blocked) })
				<-g.release
				g.allow = -1
				continue
			}
			room = min(room, g.allow)
		}
		n, err := g.Conn.Write(b[done : done+room])
		if g.allow > 0 {
			g.allow -= n
		}
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// gateListener gates the connection it accepts second.
type gateListener struct {
	net.Listener
	gate *gatedConn
	n    int
}

func (l *gateListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.n++
	if l.n == 2 {
		l.gate.Conn = nc
		return l.gate, nil
	}
	return nc, nil
}

func respCommand(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// TestServerSlowReader pipelines GETs of a large value, each followed by an
// INCR, from a client that reads nothing: the node runs the commands in
// chunks whose replies it writes before running more, so while the client
// does not read, few INCRs have run; once it reads, every reply comes,
// intact and in order.
func TestServerSlowReader(t *testing.T) {
	const (
		rounds = 100
		size   = 200 << 10
	)
	tn := newTestNodes(t, testSeed(t), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedConn{allow: 64 << 10, release: make(chan struct{}), blocked: make(chan struct{})}
	srv := NewServer(tn.nodes[1], ServerConfig{Limits: resp.DefaultLimits()})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(&gateListener{Listener: ln, gate: gate}) }()
	var once sync.Once
	release := func() { once.Do(func() { close(gate.release) }) }
	t.Cleanup(func() {
		release()
		srv.Shutdown(context.Background())
		<-done
	})
	addr := ln.Addr().String()

	setup := respDo(t, addr)
	v := strings.Repeat("v", size)
	// The groups' leaders may still be moving to their preferred replicas:
	// a SET caught by a handoff answers UNKNOWN, and this one may be sent
	// again.
	got := setup("SET", "{k}big", v)
	for i := 0; i < 20 && strings.HasPrefix(got, "-UNKNOWN"); i++ {
		got = setup("SET", "{k}big", v)
	}
	if got != "+OK\r\n" {
		t.Fatalf("SET: got %q", got)
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	var pipe strings.Builder
	for range rounds {
		pipe.WriteString(respCommand("GET", "{k}big"))
		pipe.WriteString(respCommand("INCR", "{k}n"))
	}
	if _, err := io.WriteString(slow, pipe.String()); err != nil {
		t.Fatal(err)
	}
	<-gate.blocked
	// The slow connection is stuck writing its first chunk's replies.
	got = setup("GET", "{k}n")
	ran := 0
	if got != "$-1\r\n" {
		if _, err := fmt.Sscanf(strings.SplitN(got, "\r\n", 3)[1], "%d", &ran); err != nil {
			t.Fatalf("GET {k}n: got %q", got)
		}
	}
	if ran > 8 { // a first chunk of 16 commands
		t.Fatalf("INCRs run while the client did not read: got %d, want at most 8", ran)
	}

	release()
	slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	rd := bufio.NewReaderSize(slow, 64<<10)
	head := "$" + strconv.Itoa(size) + "\r\n"
	body := make([]byte, size+2)
	for i := range rounds {
		line, err := rd.ReadString('\n')
		if err != nil || line != head {
			t.Fatalf("reply %d: got %q, %v, want %q", 2*i, line, err, head)
		}
		if _, err := io.ReadFull(rd, body); err != nil || string(body[:size]) != v {
			t.Fatalf("reply %d: the value is wrong (%v)", 2*i, err)
		}
		line, err = rd.ReadString('\n')
		if want := ":" + strconv.Itoa(i+1) + "\r\n"; err != nil || line != want {
			t.Fatalf("reply %d: got %q, %v, want %q", 2*i+1, line, err, want)
		}
	}
}

// TestServerOutputLimits checks the normal class's hard limit on a node and
// CONFIG GET client-output-buffer-limit.
func TestServerOutputLimits(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	normal := pubsub.Limits{Hard: 100 << 10, Soft: 50 << 10, SoftFor: 10 * time.Second}
	addr := serveNode(t, tn, 1, ServerConfig{NormalOutput: normal, PubSubOutput: pubsub.DefaultLimits()})
	cfg, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	io.WriteString(cfg, respCommand("CONFIG", "GET", "client-output-*"))
	limits := "normal 102400 51200 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
	want := fmt.Sprintf("*2\r\n$26\r\nclient-output-buffer-limit\r\n$%d\r\n%s\r\n", len(limits), limits)
	got := make([]byte, len(want))
	cfg.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(cfg, got); err != nil || string(got) != want {
		t.Errorf("CONFIG GET: got %q, %v, want %q", got, err, want)
	}
	do := respDo(t, addr)
	if got := do("SET", "big", strings.Repeat("v", 200<<10)); got != "+OK\r\n" {
		t.Fatalf("SET: got %q", got)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, respCommand("GET", "big"))
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil && !isConnReset(err) {
		t.Fatalf("connection not closed: %v", err)
	}
	if len(b) != 0 {
		t.Errorf("got %d bytes before the close, want none", len(b))
	}
}

// TestServerClientReply checks CLIENT REPLY on a node with the pipeline
// whose replies were recorded from redis-server 7.0.15.
func TestServerClientReply(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 1, ServerConfig{})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var in strings.Builder
	for _, cmd := range [][]string{
		{"CLIENT", "REPLY", "OFF"},
		{"SET", "a", "1"},
		{"GET", "a"},
		{"NOSUCH"},
		{"MGET", "a", "b", "c"},
		{"CLIENT", "REPLY", "SKIP"},
		{"CLIENT", "REPLY", "ON"},
		{"GET", "a"},
		{"CLIENT", "REPLY", "SKIP"},
		{"INCR", "a"},
		{"GET", "a"},
		{"CLIENT", "REPLY", "SKIP"},
		{"CLIENT", "REPLY", "ON"},
		{"PING"},
		{"CLIENT", "REPLY", "maybe"},
	} {
		in.WriteString(respCommand(cmd...))
	}
	io.WriteString(nc, in.String())
	want := "+OK\r\n$1\r\n1\r\n$1\r\n2\r\n+OK\r\n+PONG\r\n-ERR syntax error\r\n"
	got := make([]byte, len(want))
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != want {
		t.Fatalf("got %q, %v, want %q", got, err, want)
	}
}

// TestServerRepliesIntact pipelines GETs of values of sizes around the
// length from which a node sends a group's reply from where it was copied
// rather than copying it again (reply.DefaultMinSplice), in random order,
// mixed with PINGs (which send the groups what came before them, whose
// replies then wait for more) and with replies dropped by CLIENT REPLY
// SKIP, and checks every byte of the replies, in order.
func TestServerRepliesIntact(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 2))
	tn := newTestNodes(t, seed, nil)
	addr := serveNode(t, tn, 1, ServerConfig{})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sizes := []int{1, 1023, 1024, 1025, 20_000, 300_000}
	vals := make([]string, len(sizes))
	var in, want strings.Builder
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		vals[i] = string(b)
		in.WriteString(respCommand("SET", fmt.Sprintf("v%d", i), vals[i]))
		want.WriteString("+OK\r\n")
	}
	for range 100 {
		i := rng.IntN(len(vals))
		switch rng.IntN(10) {
		case 0:
			in.WriteString(respCommand("CLIENT", "REPLY", "SKIP"))
			in.WriteString(respCommand("GET", fmt.Sprintf("v%d", i)))
			continue
		case 1:
			// Answered by the node after the replies before it, which
			// then wait for the next ones.
			in.WriteString(respCommand("PING"))
			want.WriteString("+PONG\r\n")
		}
		in.WriteString(respCommand("GET", fmt.Sprintf("v%d", i)))
		fmt.Fprintf(&want, "$%d\r\n%s\r\n", len(vals[i]), vals[i])
	}
	in.WriteString(respCommand("PING"))
	want.WriteString("+PONG\r\n")
	go io.WriteString(nc, in.String())
	got := make([]byte, want.Len())
	nc.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatalf("read %d bytes of replies: %v", want.Len(), err)
	}
	w := want.String()
	for i := range got {
		if got[i] != w[i] {
			lo, hi := max(0, i-20), min(len(got), i+20)
			t.Fatalf("replies differ at byte %d of %d: got %q, want %q", i, len(w), got[lo:hi], w[lo:hi])
		}
	}
}
