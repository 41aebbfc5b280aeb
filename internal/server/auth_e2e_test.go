package server

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

const testPass = "s3cret!pass"

func TestAuthRESP(t *testing.T) {
	ts := start(t, func(c *Config) { c.RequirePass = testPass })
	noAuth := "-NOAUTH Authentication required.\r\n"
	wrong := "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
	c := ts.dial(t)
	steps := []struct{ send, want string }{
		{respCmd("PING"), noAuth},
		{respCmd("GET", "k"), noAuth},
		{respCmd("SET", "k", "v"), noAuth},
		{respCmd("NOSUCH"), "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"},
		{respCmd("GET"), "-ERR wrong number of arguments for 'get' command\r\n"},
		{respCmd("AUTH", "wrong"), wrong},
		{respCmd("AUTH", "bob", testPass), wrong},
		{respCmd("AUTH", "a", "b", "c"), "-ERR syntax error\r\n"},
		{respCmd("HELLO", "3"), "-" + msgHelloNoAuth + "\r\n"},
		{respCmd("HELLO", "3", "AUTH", "default", "nope"), wrong},
		{respCmd("MULTI"), noAuth},
		{respCmd("AUTH", testPass), "+OK\r\n"},
		{respCmd("SET", "k", "v"), "+OK\r\n"},
		{respCmd("GET", "k"), "$1\r\nv\r\n"},
		{respCmd("AUTH", "wrong"), wrong},
		{respCmd("GET", "k"), "$1\r\nv\r\n"}, // a failed AUTH keeps the session
		{respCmd("RESET"), "+RESET\r\n"},
		{respCmd("GET", "k"), noAuth},
		{respCmd("AUTH", "default", testPass), "+OK\r\n"},
		{respCmd("GET", "k"), "$1\r\nv\r\n"},
		{respCmd("QUIT"), "+OK\r\n"},
	}
	for _, s := range steps {
		c.send(s.send)
		c.expect(s.want)
	}
	c.expectClosed()

	// AUTH lifts the limits for the very next command of the same pipeline.
	p := ts.dial(t)
	big := strings.Repeat("x", 20000)
	p.send(respCmd("AUTH", testPass) + respCmd("ECHO", big))
	p.expect("+OK\r\n$20000\r\n" + big + "\r\n")

	// A client library: HELLO 3 with AUTH, and the password option.
	rc := newClient(t, ts, func(o *redis.Options) { o.Password = testPass; o.Protocol = 3 })
	if err := rc.Set(context.Background(), "lib", "1", 0).Err(); err != nil {
		t.Fatalf("go-redis with the password: %v", err)
	}
	bad := newClient(t, ts, func(o *redis.Options) { o.Password = "nope"; o.MaxRetries = -1 })
	if err := bad.Ping(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("go-redis with a wrong password: got %v, want WRONGPASS", err)
	}
	served(t, ts, testPass)
}

func TestAuthLine(t *testing.T) {
	ts := start(t, func(c *Config) { c.RequirePass = "pw" })
	c := ts.dial(t)
	steps := []struct{ send, want string }{
		{"GET k", "NOAUTH Authentication required."},
		{"SET k v", "NOAUTH Authentication required."},
		{"LIST", "NOAUTH Authentication required."},
		{"NOSUCH", "ERR unknown command 'NOSUCH'"},
		{"GET", "ERR wrong number of arguments for 'GET'"},
		{"AUTH", "ERR wrong number of arguments for 'AUTH'"},
		{"AUTH nope", "WRONGPASS invalid username-password pair or user is disabled."},
		{"AUTH default nope", "WRONGPASS invalid username-password pair or user is disabled."},
		{"AUTH a b c", "ERR syntax error"},
		{"auth pw", "OK"},
		{"SET k v", "OK"},
		{"GET k", "v"},
		{"AUTH default pw", "OK"},
	}
	for _, s := range steps {
		if got := c.do(s.send); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.send, got, s.want)
		}
	}
	// Pipelined: commands after AUTH in the same read are let in.
	p := ts.dial(t)
	p.send("GET k\nAUTH pw\nGET k\n")
	for _, want := range []string{"NOAUTH Authentication required.", "OK", "v"} {
		if got := p.line(); got != want {
			t.Fatalf("pipelined: got %q, want %q", got, want)
		}
	}
}

func TestAuthWithoutPassword(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("AUTH", "default", "anything") + respCmd("AUTH", "bob", "x"))
	c.expect("+OK\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n")
	if got := ts.dial(t).do("AUTH pw"); got != "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?" {
		t.Fatalf("line AUTH without a password: got %q", got)
	}
}

func TestUnauthenticatedLimits(t *testing.T) {
	ts := start(t, func(c *Config) { c.RequirePass = "pw" })
	tests := []struct{ name, in, want string }{
		{"eleven arguments", "*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"a million arguments", "*1000000\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"bulk over 16 KiB", "*1\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"bulk of 100 MB", "*1\r\n$100000000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
		{"after a NOAUTH", respCmd("GET", "k") + "*2\r\n$3\r\nGET\r\n$20000\r\n", "-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated bulk length\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t)
			c.send(tt.in)
			c.closedAfter(tt.want)
		})
	}
	// Small requests are served: AUTH itself, and a NOAUTH for the rest.
	c := ts.dial(t)
	args := []string{"MSET"}
	for i := range 4 {
		args = append(args, "k"+string(rune('0'+i)), strings.Repeat("v", 16384))
	}
	c.send(respCmd(args...))
	c.expect("-NOAUTH Authentication required.\r\n")
	served(t, ts, "pw")
}

// fakeAddrListener makes every client seem to come from addr.
type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

type fakeAddrConn struct {
	net.Conn
	addr net.Addr
}

func (c fakeAddrConn) RemoteAddr() net.Addr { return c.addr }

func (l fakeAddrListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return fakeAddrConn{nc, l.addr}, nil
}

func TestProtectedMode(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 40000}
	fromRemote := func(ln net.Listener) net.Listener { return fakeAddrListener{ln, remote} }
	tests := []struct {
		name   string
		edit   func(*Config)
		wrap   func(net.Listener) net.Listener
		denied bool
	}{
		{"remote client, no password", nil, fromRemote, true},
		{"remote client, password set", func(c *Config) { c.RequirePass = "pw" }, fromRemote, false},
		{"remote client, protected mode off", func(c *Config) { c.ProtectedMode = false }, fromRemote, false},
		{"loopback client", nil, func(ln net.Listener) net.Listener { return ln }, false},
		{"IPv6 loopback client", nil, func(ln net.Listener) net.Listener {
			return fakeAddrListener{ln, &net.TCPAddr{IP: net.IPv6loopback, Port: 1}}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startOn(t, tt.edit, tt.wrap)
			c := ts.dial(t)
			if tt.denied {
				c.closedAfter(string(ReplyDenied))
				if !strings.HasPrefix(string(ReplyDenied), "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.") {
					t.Fatal("DENIED text changed")
				}
				return
			}
			c.send(respCmd("PING"))
			line, err := c.rd.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "-DENIED") {
				t.Fatalf("got %q, %v; want a reply other than DENIED", line, err)
			}
		})
	}
}
