package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// TestSlowReaderMemory runs the real binary and has one client pipeline 300
// GETs of a 1 MiB value without reading the replies: flow control must stop
// the server from running that client's commands once their unsent replies
// pass its bound, so the server's resident memory, read from /proc, grows by
// at most 64 MiB while the replies wait (not by the 300 MiB the replies
// weigh). Once the client reads, every reply must arrive whole and in order.
func TestSlowReaderMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's memory from /proc")
	}
	const (
		gets  = 300
		size  = 1 << 20
		bound = 64 << 20
	)
	bin := buildBinary(t)
	p := startBinary(t, bin)
	pid := p.cmd.Process.Pid

	slow := dialRESP(t, p.addr)
	val := make([]byte, size)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	slow.roundTrip(t, "+OK\r\n", "CLIENT", "SETNAME", "slowreader")
	slow.roundTrip(t, "+OK\r\n", "SET", "slowread", string(val))
	// One GET read at once: the buffers a reply needs count in the baseline.
	get := []byte("*2\r\n$3\r\nGET\r\n$8\r\nslowread\r\n")
	slow.send(t, get)
	slow.readValue(t, 0, val)
	before := vmRSS(t, pid)

	slow.send(t, bytes.Repeat(get, gets))

	// The server has stopped running the client's commands when it waits
	// for the socket to take what it holds: CLIENT LIST shows those bytes
	// as omem until the client reads.
	ctl := dialRESP(t, p.addr)
	omem := regexp.MustCompile(`(?m)^id=.* name=slowreader .*\bomem=(\d+)\b`)
	var list string
	held := int64(0)
	testutil.Await(t, 30*time.Second, func() bool {
		list = ctl.bulk(t, "CLIENT", "LIST")
		m := omem.FindStringSubmatch(list)
		if m == nil {
			return false
		}
		held, _ = strconv.ParseInt(m[1], 10, 64)
		return held > 0
	}, func() string { return "the server never held the slow reader's replies; CLIENT LIST:\n" + list })
	during := vmRSS(t, pid)
	t.Logf("VmRSS before %.1f MiB, while %d bytes wait to be sent %.1f MiB (+%.1f MiB)",
		mib(before), held, mib(during), mib(during-before))
	if during-before > bound {
		t.Errorf("VmRSS grew by %.1f MiB while the replies waited, want at most %.0f MiB", mib(during-before), mib(bound))
	}

	for i := range gets {
		slow.readValue(t, i+1, val)
	}
	slow.roundTrip(t, "+PONG\r\n", "PING")
	t.Logf("VmRSS once every reply was read: %.1f MiB", mib(vmRSS(t, pid)))
}

// respConn is a raw client connection for tests that control exactly when
// replies are read.
type respConn struct {
	nc net.Conn
	r  *bufio.Reader
}

func dialRESP(t *testing.T, addr string) *respConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &respConn{nc: nc, r: bufio.NewReaderSize(nc, 1<<16)}
}

func (c *respConn) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

func encodeCommand(args ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

// roundTrip sends a command and checks its one-line reply.
func (c *respConn) roundTrip(t *testing.T, want string, args ...string) {
	t.Helper()
	c.send(t, encodeCommand(args...))
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := c.r.ReadString('\n')
	if err != nil || got != want {
		t.Fatalf("%s: got %q, %v, want %q", args[0], got, err, want)
	}
}

// bulk sends a command and returns its bulk string reply.
func (c *respConn) bulk(t *testing.T, args ...string) string {
	t.Helper()
	c.send(t, encodeCommand(args...))
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	head, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(head, "$") {
		t.Fatalf("%s: got %q, %v, want a bulk string", args[0], head, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil || n < 0 {
		t.Fatalf("%s: bulk length %q", args[0], head)
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(c.r, b); err != nil {
		t.Fatalf("%s: %v", args[0], err)
	}
	return string(b[:n])
}

// readValue reads reply i, which must be the bulk string want.
func (c *respConn) readValue(t *testing.T, i int, want []byte) {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	head, err := c.r.ReadString('\n')
	if wantHead := "$" + strconv.Itoa(len(want)) + "\r\n"; err != nil || head != wantHead {
		t.Fatalf("reply %d: got %q, %v, want %q", i, head, err, wantHead)
	}
	got := make([]byte, len(want)+2)
	if _, err := io.ReadFull(c.r, got); err != nil {
		t.Fatalf("reply %d: %v", i, err)
	}
	if !bytes.Equal(got[:len(want)], want) || string(got[len(want):]) != "\r\n" {
		t.Fatalf("reply %d: wrong value", i)
	}
}

// vmRSS returns the resident memory of process pid in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
