package server

import (
	"bufio"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// goroutinesOnly, set by DATA_CLUSTER_TEST_GOROUTINES=1, makes the test
// servers serve every connection with a goroutine of its own instead of
// the io_uring loop (the default), so that the suite can run on both
// paths (.ci/run runs it both ways). Tests of the loop itself set it on.
var goroutinesOnly = os.Getenv("DATA_CLUSTER_TEST_GOROUTINES") == "1"

// testServer is a real server on a loopback port.
type testServer struct {
	*Server
	addr string
	done chan error
}

// start runs a server on 127.0.0.1:0 with the defaults changed by edit, and
// shuts it down when the test ends.
func start(t testing.TB, edit func(*Config)) *testServer {
	t.Helper()
	return startOn(t, edit, func(ln net.Listener) net.Listener { return ln })
}

// client is a raw TCP client for the line protocol.
type client struct {
	t  testing.TB
	nc net.Conn
	rd *bufio.Reader
}

func (ts *testServer) dial(t testing.TB) *client {
	t.Helper()
	return dialAddr(t, "tcp", ts.addr)
}

// dialAddr connects a client to addr on network, closed when the test
// ends.
func dialAddr(t testing.TB, network, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	return &client{t: t, nc: nc, rd: bufio.NewReaderSize(nc, 64<<10)}
}

// send writes raw bytes.
func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// line reads one reply line without its "\n".
func (c *client) line() string {
	c.t.Helper()
	s, err := c.rd.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// do sends one command line and returns the reply line.
func (c *client) do(cmd string) string {
	c.t.Helper()
	c.send(cmd + "\n")
	return c.line()
}

// expectClosed checks that the server closes the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(c.rd)
	if err != nil {
		c.t.Fatalf("connection not closed: %v (read %q)", err, rest)
	}
	if len(rest) > 0 {
		c.t.Fatalf("got %q after the last reply, want the connection closed", rest)
	}
}

func newReader(nc net.Conn) *bufio.Reader { return bufio.NewReaderSize(nc, 64<<10) }

// readLine reads one line without its "\n".
func readLine(rd *bufio.Reader) (string, error) {
	s, err := rd.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}
