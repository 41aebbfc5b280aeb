package server

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRawSockets checks that a plain connection takes the raw reads and
// writes (conn.go, rawsock_linux.go), which the tests below are about.
func TestRawSockets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if nc, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer nc.Close()
		}
	}()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if got := newRawSock(nc) != nil; got != rawSockets {
		t.Fatalf("raw calls for a TCP connection: got %v, want %v", got, rawSockets)
	}
}

// TestRawReadLargeCommands sends commands larger than the read buffer in
// one write each: a raw read that fills its buffer must read again at
// once, since the poller will not tell about bytes already there.
func TestRawReadLargeCommands(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	started(c)
	for _, size := range []int{readBufSize - 40, readBufSize, 3*readBufSize + 7, 200 << 10} {
		v := strings.Repeat("v", size)
		c.send(respCmd("SET", "big", v) + respCmd("STRLEN", "big"))
		c.expect("+OK\r\n:" + strconv.Itoa(size) + "\r\n")
	}
	var pipeline, want strings.Builder
	for range 2000 {
		pipeline.WriteString(respCmd("INCR", "n"))
	}
	for i := 1; i <= 2000; i++ {
		want.WriteString(":" + strconv.Itoa(i) + "\r\n")
	}
	c.send(pipeline.String())
	c.expect(want.String())
}

// TestRawReadBlockingInPipeline sends a blocking command between others in
// one write: it must run out of the raw read (it reads the socket while it
// waits), the commands after it once it is served.
func TestRawReadBlockingInPipeline(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	started(c)
	c.send(respCmd("PING") + respCmd("BLPOP", "q", "0") + respCmd("ECHO", "after"))
	c.expect("+PONG\r\n")
	waitBlocked(t, ts, 1)
	p := ts.dial(t)
	p.send(respCmd("RPUSH", "q", "v"))
	p.expect(":1\r\n")
	c.expect("*2\r\n$1\r\nq\r\n$1\r\nv\r\n$5\r\nafter\r\n")
	// Sent while blocked: read by the wait, run once it is served.
	c.send(respCmd("BLPOP", "q", "0"))
	waitBlocked(t, ts, 1)
	c.send(respCmd("ECHO", "queued"))
	p.send(respCmd("RPUSH", "q", "w"))
	p.expect(":1\r\n")
	c.expect("*2\r\n$1\r\nq\r\n$1\r\nw\r\n$6\r\nqueued\r\n")
	c.send(respCmd("PING"))
	c.expect("+PONG\r\n")
}

// started has the connection pick its protocol, which its first read does
// before raw reads begin.
func started(c *client) {
	c.t.Helper()
	c.send(respCmd("PING"))
	c.expect("+PONG\r\n")
}
