package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// startOn is start with a listener of the test's making: wrap turns the
// loopback listener into the one served (TLS, or one that fakes addresses).
func startOn(t testing.TB, edit func(*Config), wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.IOURing = !goroutinesOnly
	if edit != nil {
		edit(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(wrap(ln)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-ts.done
	})
	return ts
}

// served checks that a well-behaved client still gets answers: a line client
// and a RESP client, each on its own connection, set and read a key.
func served(t *testing.T, ts *testServer, auth string) {
	t.Helper()
	lc := ts.dial(t)
	if auth != "" {
		if got := lc.do("AUTH " + auth); got != "OK" {
			t.Fatalf("line AUTH: got %q", got)
		}
	}
	if got := lc.do("SET wellbehaved 1"); got != "OK" {
		t.Fatalf("well-behaved line client: SET got %q", got)
	}
	if got := lc.do("GET wellbehaved"); got != "1" {
		t.Fatalf("well-behaved line client: GET got %q", got)
	}
	lc.nc.Close()
	rc := ts.dial(t)
	if auth != "" {
		rc.send(respCmd("AUTH", auth))
		rc.expect("+OK\r\n")
	}
	rc.send(respCmd("SET", "wellbehaved", "2") + respCmd("GET", "wellbehaved"))
	rc.expect("+OK\r\n$1\r\n2\r\n")
	rc.nc.Close()
}

// closedAfter reads what the server sends until it closes the connection
// and checks it is want.
func (c *client) closedAfter(want string) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c.rd)
	if err != nil && !isReset(err) {
		c.t.Fatalf("connection not closed: %v (read %q)", err, got)
	}
	if string(got) != want {
		c.t.Fatalf("before the close: got %q, want %q", clipString(string(got), 200), clipString(want, 200))
	}
}

// isReset reports whether a read error means the connection was closed
// (reset) rather than that the read timed out.
func isReset(err error) bool {
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func TestMaxClients(t *testing.T) {
	ts := start(t, func(c *Config) { c.MaxClients = 2 })
	a, b := ts.dial(t), ts.dial(t)
	a.send(respCmd("PING"))
	a.expect("+PONG\r\n")
	b.send(respCmd("PING"))
	b.expect("+PONG\r\n")

	extra := ts.dial(t)
	extra.closedAfter("-ERR max number of clients reached\r\n")
	a.send(respCmd("PING"))
	a.expect("+PONG\r\n")

	b.nc.Close()
	var got string
	for i := 0; i < 500; i++ {
		c := ts.dial(t)
		c.send("GET nokey\n")
		s, err := c.rd.ReadString('\n')
		c.nc.Close()
		if got = s; err == nil && s == "ERR key not found\n" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got != "ERR key not found\n" {
		t.Fatalf("a client after one left: got %q", got)
	}
	a.send(respCmd("INFO", "stats"))
	info := readBulk(t, a)
	if !strings.Contains(info, "rejected_connections:") || strings.Contains(info, "rejected_connections:0\r\n") {
		t.Errorf("INFO does not count the rejected connection:\n%s", info)
	}
}

// readBulk reads one bulk or verbatim string reply.
func readBulk(t *testing.T, c *client) string {
	t.Helper()
	head, err := c.rd.ReadString('\n')
	if err != nil || len(head) < 2 || (head[0] != '$' && head[0] != '=') {
		t.Fatalf("bulk reply: got %q, %v", head, err)
	}
	var n int
	fmt.Sscanf(head[1:], "%d", &n)
	body := make([]byte, n+2)
	if _, err := io.ReadFull(c.rd, body); err != nil {
		t.Fatalf("bulk reply body: %v", err)
	}
	return string(body[:n])
}

func TestIdleTimeout(t *testing.T) {
	ts := start(t, func(c *Config) { c.IdleTimeout = time.Second })
	idle := ts.dial(t)
	idle.send(respCmd("PING"))
	idle.expect("+PONG\r\n")
	busy := ts.dial(t)
	never := ts.dial(t) // connected, never sends a byte

	done := make(chan struct{})
	go func() {
		defer close(done)
		idle.closedAfter("")
		never.closedAfter("")
	}()
	// The busy client sends well within the timeout and is not closed.
	for i := 0; i < 15; i++ {
		if got := busy.do("GET k"); got != "ERR key not found" {
			t.Fatalf("busy client: got %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	<-done
	served(t, ts, "")
}

func TestQueryBufferLimit(t *testing.T) {
	ts := start(t, func(c *Config) { c.MaxQueryBuffer = 64 << 10 })
	c := ts.dial(t)
	small := strings.Repeat("s", 30<<10)
	c.send(respCmd("ECHO", small))
	c.expect(fmt.Sprintf("$%d\r\n%s\r\n", len(small), small))

	// A bulk within proto-max-bulk-len but over the query buffer limit.
	big := strings.Repeat("b", 100<<10)
	go func() { io.WriteString(c.nc, respCmd("ECHO", big)) }()
	c.closedAfter("")
	served(t, ts, "")
}

// TestQueryBufferLimitBelowReadBuffer sets a limit smaller than the
// connection's first read buffer (16 KiB): a longer command is refused at
// the limit on both protocols, while pipelines of short commands, whatever
// their total length, and a command just under the limit are served.
func TestQueryBufferLimitBelowReadBuffer(t *testing.T) {
	ts := start(t, func(c *Config) { c.MaxQueryBuffer = 2048 })
	tests := []struct {
		name, send, key string
	}{
		{"line", "SET long " + strings.Repeat("x", 16000-len("SET long ")-1) + "\n", "long"},
		{"resp", respCmd("SET", "longer", strings.Repeat("x", 16000)), "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t)
			go func() { io.WriteString(c.nc, tt.send) }()
			c.closedAfter("")
			if got := ts.dial(t).do("GET " + tt.key); got != "ERR key not found" {
				t.Fatalf("GET %s after the refused SET: got %q, want ERR key not found", tt.key, got)
			}
		})
	}

	c := ts.dial(t)
	var pipeline, want strings.Builder
	for i := range 500 {
		fmt.Fprintf(&pipeline, "SET k%d v%d\n", i, i)
		want.WriteString("OK\n")
	}
	c.send(pipeline.String())
	c.expect(want.String())
	under := "SET under " + strings.Repeat("u", 2000) + "\n"
	c.send(under)
	c.expect("OK\n")
	served(t, ts, "")
}

func TestOutputBufferLimit(t *testing.T) {
	ts := start(t, func(c *Config) { c.MaxOutputBuffer = 256 << 10 })
	c := ts.dial(t)
	v := strings.Repeat("v", 100<<10)
	c.send(respCmd("SET", "big", v))
	c.expect("+OK\r\n")
	c.send(respCmd("GET", "big"))
	c.expect(fmt.Sprintf("$%d\r\n%s\r\n", len(v), v))

	// Five replies of 100 KiB in one round are over the limit: the client is
	// closed without them.
	c.send(strings.Repeat(respCmd("GET", "big"), 5))
	c.closedAfter("")
	served(t, ts, "")
}

func TestOutputTimeout(t *testing.T) {
	ts := start(t, func(c *Config) { c.OutputTimeout = 300 * time.Millisecond })
	setup := ts.dial(t)
	v := strings.Repeat("v", 64<<10)
	setup.send(respCmd("SET", "big", v))
	setup.expect("+OK\r\n")

	// A client that asks for 25 MiB of replies and reads none of them.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(nc, strings.Repeat(respCmd("GET", "big"), 400)); err != nil {
		t.Fatal(err)
	}
	// The server gives up on it; meanwhile others are served.
	served(t, ts, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		if ts.connected.Load() == 1 { // setup's connection only
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client that does not read is still connected (%d connections)", ts.connected.Load())
		}
	}
	served(t, ts, "")
}

// hostileCase is bad input and what the server answers before closing the
// connection (closed false: it stays open).
type hostileCase struct {
	name   string
	in     string
	want   string
	closed bool
}

func TestHostileInput(t *testing.T) {
	long := strings.Repeat("x", 70<<10)
	tests := []hostileCase{
		{"non-numeric count", "*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"huge count", "*99999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"count over the limit", "*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true},
		{"negative bulk", "*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"huge bulk", "*1\r\n$99999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"non-numeric bulk", "*1\r\n$x1\r\n", "-ERR Protocol error: invalid bulk length\r\n", true},
		{"no dollar", "*1\r\nPING\r\n", "-ERR Protocol error: expected '$', got 'P'\r\n", true},
		{"count with no end", "*" + long, "-ERR Protocol error: too big mbulk count string\r\n", true},
		{"bulk length with no end", "*1\r\n$" + long, "-ERR Protocol error: too big bulk count string\r\n", true},
		{"inline with no end", respCmd("PING") + long, "+PONG\r\n-ERR Protocol error: too big inline request\r\n", true},
		{"unbalanced quotes", respCmd("PING") + "ECHO \"a\r\n", "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n", true},
		{"NUL in a bulk is data", respCmd("ECHO", "a\x00b"), "$3\r\na\x00b\r\n", false},
		{"line with no end", "SET k " + long, "ERR line too long\n", true},
		{"inline with no end first", long, "-ERR Protocol error: too big inline request\r\n", true},
		{"blanks with no end", strings.Repeat(" ", 70<<10), "-ERR Protocol error: too big inline request\r\n", true},
		{"NUL in a line is data", "SET n\x00ul v\x00\nGET n\x00ul\n", "OK\nv\x00\n", false},
		{"CR inside a line is data", "GET a\rb\n", "ERR key not found\n", false},
		{"HTTP GET", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "", true},
		{"HTTP POST", "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 9\r\n\r\nSET a b\r\n", "", true},
		{"HTTP after a command", "GET nokey\nHEAD / HTTP/1.0\r\n\r\n", "ERR key not found\n", true},
		{"Host line", "GET nokey\nHost: example.com\r\nSET a b\n", "ERR key not found\n", true},
		{"Host in RESP", respCmd("PING") + respCmd("Host:", "x") + respCmd("SET", "a", "b"), "+PONG\r\n", true},
		{"POST in RESP", respCmd("POST", "/") + respCmd("PING"), "", true},
	}
	ts := start(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t)
			go io.WriteString(c.nc, tt.in)
			if tt.closed {
				c.closedAfter(tt.want)
			} else {
				c.expect(tt.want)
			}
			served(t, ts, "")
		})
	}
	t.Run("random bytes", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 40 {
			b := make([]byte, 1+r.IntN(8192))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			if i%2 == 0 {
				b[0] = '*'
			}
			c := ts.dial(t)
			go c.nc.Write(b)
			// Whatever the server answers, it answers and stays up; the
			// client leaves after a moment.
			c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			io.Copy(io.Discard, c.rd)
			c.nc.Close()
		}
		served(t, ts, "")
	})
}

// panicConn panics in Read when the bytes read hold "PANIC".
type panicConn struct{ net.Conn }

func (c panicConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if bytes.Contains(b[:n], []byte("PANIC")) {
		panic("test: read a poisoned request")
	}
	return n, err
}

type panicListener struct{ net.Listener }

func (l panicListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return panicConn{nc}, nil
}

func TestPanicClosesOnlyItsConnection(t *testing.T) {
	var logs testutil.SyncBuffer
	ts := startOn(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) },
		func(ln net.Listener) net.Listener { return panicListener{ln} })
	other := ts.dial(t)
	other.send(respCmd("SET", "k", "v"))
	other.expect("+OK\r\n")

	bad := ts.dial(t)
	bad.send("GET PANIC\n")
	bad.closedAfter("")

	other.send(respCmd("GET", "k"))
	other.expect("$1\r\nv\r\n")
	served(t, ts, "")
	log := logs.String()
	if !strings.Contains(log, "panic while serving a connection") || !strings.Contains(log, "goroutine ") {
		t.Errorf("the panic was not logged with its stack:\n%s", log)
	}
}
