package server

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// startRESP is startOn with a second listener served by ServeRESP, as
// --resp-addr runs it; wrap applies to both listeners. It returns the
// server, whose addr is the shared port, and the RESP-only address.
func startRESP(t *testing.T, edit func(*Config), wrap func(net.Listener) net.Listener) (*testServer, string) {
	t.Helper()
	if wrap == nil {
		wrap = func(ln net.Listener) net.Listener { return ln }
	}
	ts := startOn(t, edit, wrap)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.ServeRESP(wrap(ln)) }()
	t.Cleanup(func() {
		// Runs before startOn's cleanup shuts the server down.
		ln.Close()
		if err := <-done; err == nil {
			t.Error("ServeRESP returned nil")
		}
	})
	return ts, ln.Addr().String()
}

// dialTo connects a raw client to addr.
func dialTo(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	return &client{t: t, nc: nc, rd: bufio.NewReaderSize(nc, 64<<10)}
}

// ports returns the two ways a RESP client reaches a server started by
// startRESP: the shared port, and the RESP-only one.
func ports(ts *testServer, respAddr string) map[string]string {
	return map[string]string{"shared": ts.addr, "resp-addr": respAddr}
}

// The replies below were recorded from redis-server 7.0.15 given the same
// bytes on a fresh connection.

// TestInlineCommands sends inline commands as redis-cli and redis-benchmark
// do: the first one is not a line-protocol command, so the shared port
// answers as Redis does, and so does the RESP-only port.
func TestInlineCommands(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"ping", "PING\r\n", "+PONG\r\n"},
		{"ping lf", "PING\n", "+PONG\r\n"},
		{"blank lines first", "\r\n\n  \r\nPING\r\n", "+PONG\r\n"},
		{"blanks around", "\tPING\t\r\n", "+PONG\r\n"},
		{"empty lines between", "PING\n\nPING\r\n", "+PONG\r\n+PONG\r\n"},
		{"double quotes", "ECHO \"a\\nb\\x41\\t\\\\\\\"c\"\r\n", "$8\r\na\nbA\t\\\"c\r\n"},
		{"more escapes", "ECHO \"\\a\\b\\r\\x4g\\q\"\r\n", "$7\r\n\a\b\rx4gq\r\n"},
		{"short hex escape", "ECHO \"\\x4\"\r\n", "$2\r\nx4\r\n"},
		{"single quotes", "ECHO 'it\\'s'\r\n", "$4\r\nit's\r\n"},
		{"single quote in double quotes", "ECHO \"'\"\r\n", "$1\r\n'\r\n"},
		{"empty quotes", "ECHO \"\"\r\n", "$0\r\n\r\n"},
		{"quotes inside a word", "ECHO a\"b\"\r\n", "$2\r\nab\r\n"},
		{"cr splits arguments", "PING\rPING\r\n", "$4\r\nPING\r\n"},
		{"inline set and get after ping", "PING\r\nSET n 5\r\nINCR n\r\nGET n\r\nGET nosuch\r\n", "+PONG\r\n+OK\r\n:6\r\n$1\r\n6\r\n$-1\r\n"},
		{"unknown", "FOO bar\r\n", "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n"},
		{"star after a blank", " *1\r\n", "-ERR unknown command '*1', with args beginning with: \r\n"},
		{"multibulk after a blank line", "\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
		{"empty multibulk", "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
	}
	ts, respAddr := startRESP(t, nil, nil)
	for port, addr := range ports(ts, respAddr) {
		t.Run(port, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c := dialTo(t, addr)
					c.send(tt.in)
					c.expect(tt.want)
					// Nothing else came, and the connection is open.
					c.send("PING\r\n")
					c.expect("+PONG\r\n")
				})
			}
		})
	}
}

// TestProtocolErrors checks Redis's error for each malformed request, byte
// for byte, and that the connection is closed after it, on both ports.
func TestProtocolErrors(t *testing.T) {
	long := strings.Repeat("a", 70<<10)
	tests := []struct{ name, in, want string }{
		{"unbalanced double quote", "ECHO \"abc\r\nPING\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"unbalanced single quote", "PING\r\nECHO 'abc\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"closing quote then a byte", "ECHO \"a\"b\r\nPING\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"closing quote then a quote", "ECHO \"a\" \"b\"c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
		{"too big inline", long, "-ERR Protocol error: too big inline request\r\n"},
		{"too big inline after ping", "PING\r\n" + long, "+PONG\r\n-ERR Protocol error: too big inline request\r\n"},
		{"too big line of blanks", strings.Repeat(" ", 70<<10), "-ERR Protocol error: too big inline request\r\n"},
		{"invalid multibulk length", "*x\r\nPING\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"multibulk length over int", "*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"invalid bulk length", "*1\r\n$x\r\nPING\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"negative bulk length", "*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"bulk over the limit", "*1\r\n$2000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"no dollar", "*1\r\nx4\r\nPING\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n"},
		{"no dollar after inline", "PING\r\n*1\r\nx4\r\n", "+PONG\r\n-ERR Protocol error: expected '$', got 'x'\r\n"},
		{"too big mbulk count", "*" + long, "-ERR Protocol error: too big mbulk count string\r\n"},
		{"too big bulk count", "*1\r\n$" + long, "-ERR Protocol error: too big bulk count string\r\n"},
	}
	ts, respAddr := startRESP(t, nil, nil)
	for port, addr := range ports(ts, respAddr) {
		t.Run(port, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c := dialTo(t, addr)
					go c.nc.Write([]byte(tt.in))
					c.closedAfter(tt.want)
				})
			}
		})
	}
}

// TestUnauthenticatedProtocolErrors checks Redis's limits before AUTH on
// both ports, and that inline commands go through AUTH as RESP does.
func TestUnauthenticatedProtocolErrors(t *testing.T) {
	ts, respAddr := startRESP(t, func(c *Config) { c.RequirePass = "pw" }, nil)
	for port, addr := range ports(ts, respAddr) {
		t.Run(port, func(t *testing.T) {
			c := dialTo(t, addr)
			c.send("*11\r\n")
			c.closedAfter("-ERR Protocol error: unauthenticated multibulk length\r\n")
			c = dialTo(t, addr)
			c.send("*1\r\n$16385\r\n")
			c.closedAfter("-ERR Protocol error: unauthenticated bulk length\r\n")
			c = dialTo(t, addr)
			c.send("PING\r\nAUTH x\r\nAUTH pw\r\nPING\r\n")
			c.expect("-NOAUTH Authentication required.\r\n" +
				"-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+PONG\r\n")
		})
	}
	// On the RESP-only port an inline AUTH or GET is Redis's.
	c := dialTo(t, respAddr)
	c.send("GET k\r\nAUTH pw\r\nGET k\r\n")
	c.expect("-NOAUTH Authentication required.\r\n+OK\r\n$-1\r\n")
}

// TestFirstCommand checks that the shared port picks the protocol from the
// first command, whether it arrives whole or in pieces.
func TestFirstCommand(t *testing.T) {
	tests := []struct {
		name  string
		parts []string // sent one at a time, with a pause between
		want  string
	}{
		{"seed session", []string{"SET user1 alice\nGET user1\nLIST\nDELETE user1\nGET user1\n"},
			"OK\nalice\nuser1\nOK\nERR key not found\n"},
		{"lower case get", []string{"get nosuch\r\n"}, "ERR key not found\n"},
		{"list", []string{"LIST\r\n"}, "\n"},
		{"delete", []string{"delete k\n"}, "OK\n"},
		{"auth without a password", []string{"AUTH x\n"},
			"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\n"},
		{"blank lines then set", []string{"\n\r\n \t\nSET a 1\nGET a\n"}, "OK\n1\n"},
		{"ping later is the line protocol's", []string{"GET nosuch\nPING\n"}, "ERR key not found\nERR unknown command 'PING'\n"},
		{"get in pieces", []string{"G", "E", "T", " nosuch\n"}, "ERR key not found\n"},
		{"line end in pieces", []string{"GET nosuch\r", "\n"}, "ERR key not found\n"},
		{"blank line in pieces", []string{"\r", "\nDELETE", " k\n"}, "OK\n"},
		{"ping", []string{"PING\r\n"}, "+PONG\r\n"},
		{"ping in pieces", []string{"PI", "NG", "\r\n"}, "+PONG\r\n"},
		{"del is not delete", []string{"DEL", " k\r\n"}, ":0\r\n"},
		{"deletex is not delete", []string{"DELETEX k\r\n"}, "-ERR unknown command 'DELETEX', with args beginning with: 'k' \r\n"},
		{"line commands inline after ping", []string{"PING\r\nSET k v\r\nGET k\r\nDEL k\r\n"}, "+PONG\r\n+OK\r\n$1\r\nv\r\n:1\r\n"},
		{"multibulk", []string{"*1\r\n$4\r\nPING\r\n"}, "+PONG\r\n"},
		{"multibulk after blank lines", []string{"\r\n", "\r\n", "*1\r\n$4\r\nPING\r\n"}, "+PONG\r\n"},
	}
	ts := start(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t)
			for i, p := range tt.parts {
				if i > 0 {
					time.Sleep(20 * time.Millisecond)
				}
				c.send(p)
			}
			c.expect(tt.want)
		})
	}
}

// TestRESPListener checks that the RESP-only port has no line protocol: the
// seed session's commands get RESP replies there (LIST and DELETE are
// RESP commands of this server too).
func TestRESPListener(t *testing.T) {
	ts, respAddr := startRESP(t, nil, nil)
	c := dialTo(t, respAddr)
	c.send("SET user1 alice\r\nGET user1\r\nLIST\r\nDELETE nosuch\r\nGET nosuch\r\n")
	c.expect("+OK\r\n$5\r\nalice\r\n*1\r\n$5\r\nuser1\r\n+OK\r\n$-1\r\n")
	c.send(respCmd("GET", "user1"))
	c.expect("$5\r\nalice\r\n")
	// The shared port sees the same data, in its own protocol.
	lc := ts.dial(t)
	if got := lc.do("GET user1"); got != "alice" {
		t.Fatalf("line GET on the shared port: got %q, want alice", got)
	}
	// An HTTP request closes the connection without a reply, as on the
	// shared port.
	h := dialTo(t, respAddr)
	h.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	h.closedAfter("")
}

// TestRESPListenerProtectedMode checks that protected mode refuses remote
// clients on the RESP-only port too.
func TestRESPListenerProtectedMode(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 40000}
	_, respAddr := startRESP(t, nil, func(ln net.Listener) net.Listener { return fakeAddrListener{ln, remote} })
	c := dialTo(t, respAddr)
	c.closedAfter(string(ReplyDenied))
}

// TestRESPListenerShutdown checks that Shutdown closes the RESP-only
// listener with the others and makes ServeRESP return ErrServerClosed.
func TestRESPListenerShutdown(t *testing.T) {
	ts := start(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.ServeRESP(ln) }()
	c := dialTo(t, ln.Addr().String())
	c.send("PING\r\n")
	c.expect("+PONG\r\n")
	if err := ts.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.expectClosed()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeRESP returned %v, want ErrServerClosed", err)
	}
	<-ts.done
	ts.done <- ErrServerClosed // for the cleanup
}
