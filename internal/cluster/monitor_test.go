package cluster

import (
	"regexp"
	"strings"
	"testing"
)

// TestServerMonitor checks MONITOR on a node: the commands this node's
// clients send, RESP and line protocol, in Redis's format with passwords
// redacted, and none of another node's; CLIENT LIST's flag; a monitor may
// not touch the keyspace until RESET.
func TestServerMonitor(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	a := serveNode(t, tn, 0, ServerConfig{})
	b := serveNode(t, tn, 1, ServerConfig{})
	mon, c, other := dialRaw(t, a), dialRaw(t, a), dialRaw(t, b)
	mon.send("MONITOR")
	mon.expect("+OK\r\n")
	other.send("SET", "elsewhere", "1")
	other.expect("+OK\r\n")
	c.send("SET", "k", "a b\\n\"c\x01é")
	c.expect("+OK\r\n")
	c.send("AUTH", "foo", "bar")
	c.expect("-WRONGPASS invalid username-password pair or user is disabled.\r\n")
	c.send("GET", "k")
	c.expect("$10\r\na b\\n\"c\x01é\r\n")
	line := dialRaw(t, a)
	if _, err := line.nc.Write([]byte("GET k\n")); err != nil {
		t.Fatal(err)
	}
	line.expect("a b\\n\"c\x01é\n")
	for _, want := range []struct {
		from *rawConn
		args string
	}{
		{c, `"SET" "k" "a b\\\\n\\"c\\x01\\xc3\\xa9"`},
		{c, `"AUTH" "\(redacted\)" "\(redacted\)"`},
		{c, `"GET" "k"`},
		{line, `"GET" "k"`},
	} {
		got, err := mon.rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		addr := regexp.QuoteMeta(want.from.nc.LocalAddr().String())
		re := regexp.MustCompile(`^\+\d+\.\d{6} \[0 ` + addr + `\] ` + want.args + "\r\n$")
		if !re.MatchString(got) {
			t.Fatalf("got %q, want %s (node b's SET must not show)", got, re)
		}
	}
	lister := dialRaw(t, a)
	lister.send("CLIENT", "LIST")
	if list := lister.bulk(); !strings.Contains(list, " flags=O ") {
		t.Fatalf("CLIENT LIST does not show the monitor: %q", list)
	}
	mon.rd.ReadString('\n') // the CLIENT LIST line
	mon.send("GET", "k")
	if got, _ := mon.rd.ReadString('\n'); !strings.HasSuffix(got, `"GET" "k"`+"\r\n") {
		t.Fatalf("the monitor's own command: %q", got)
	}
	mon.expect("-ERR Replica can't interact with the keyspace\r\n")
	mon.send("RESET")
	mon.rd.ReadString('\n') // its own RESET, shown before its reply
	mon.expect("+RESET\r\n")
	c.send("PING")
	c.expect("+PONG\r\n")
	mon.send("GET", "k")
	mon.expect("$10\r\na b\\n\"c\x01é\r\n")
}
