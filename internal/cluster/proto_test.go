package cluster

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// exchange sends in to addr on a new connection and reads until the server
// has sent len(want) bytes; with closed, it reads on until the server closes
// the connection.
func exchange(t *testing.T, addr, in string, want string, closed bool) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(nc, in)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != want {
		t.Fatalf("%q: got %q, %v, want %q", in, got, err, want)
	}
	if closed {
		if rest, err := io.ReadAll(nc); len(rest) != 0 || err != nil && !isConnReset(err) {
			t.Fatalf("%q: got %q, %v after the reply, want the connection closed", in, rest, err)
		}
	}
}

// TestServerFirstCommand checks that a node's client port picks the
// protocol from the first command, and that ServeRESP speaks RESP only.
func TestServerFirstCommand(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(tn.nodes[0], ServerConfig{Limits: resp.DefaultLimits()})
	done := make(chan error, 1)
	go func() { done <- srv.ServeRESP(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
	})
	respAddr := ln.Addr().String()

	tests := []struct {
		name, addr, in, want string
		closed               bool
	}{
		{"line protocol", addr, "\r\nSET a 1\nGET a\nPING\n", "OK\n1\nERR unknown command 'PING'\n", false},
		{"inline ping", addr, "PING\r\n", "+PONG\r\n", false},
		{"inline commands after ping", addr, "PING\r\nSET b 2\r\nGET b\r\n", "+PONG\r\n+OK\r\n$1\r\n2\r\n", false},
		{"multibulk after a blank line", addr, "\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n", false},
		{"unbalanced quotes", addr, "ECHO \"a\r\nPING\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true},
		{"inline get on the RESP port", respAddr, "GET a\r\nGET nosuch\r\n", "$1\r\n1\r\n$-1\r\n", false},
		{"quotes on the RESP port", respAddr, "SET 'c' \"x\\x41\"\r\nGET c\r\n", "+OK\r\n$2\r\nxA\r\n", false},
		{"protocol error on the RESP port", respAddr, "*1\r\nx4\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exchange(t, tt.addr, tt.in, tt.want, tt.closed)
		})
	}
}
