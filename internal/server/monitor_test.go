package server

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMonitor checks MONITOR's lines, as redis-server 7.0.15 printed them
// for the same commands: quoting, redacted passwords, the client's
// address; that a monitor may not touch the keyspace; and that RESET
// ends it.
func TestMonitor(t *testing.T) {
	ts := start(t, nil)
	mon, c := ts.dial(t), ts.dial(t)
	mon.send(respCmd("MONITOR"))
	mon.expect("+OK\r\n")
	c.send(respCmd("SET", "k", "a b\\n\"c\x01é") + respCmd("AUTH", "foo", "bar") + respCmd("HELLO", "3", "AUTH", "default", "x") +
		respCmd("GET", "k"))
	c.expect("+OK\r\n")
	addr := regexp.QuoteMeta(c.nc.LocalAddr().String())
	for _, want := range []string{
		`"SET" "k" "a b\\\\n\\"c\\x01\\xc3\\xa9"`,
		`"AUTH" "\(redacted\)" "\(redacted\)"`,
		`"HELLO" "3" "AUTH" "\(redacted\)" "\(redacted\)"`,
		`"GET" "k"`,
	} {
		line, err := mon.rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^\+\d+\.\d{6} \[0 ` + addr + `\] ` + want + "\r\n$")
		if !re.MatchString(line) {
			t.Fatalf("got %q, want %s", line, re)
		}
	}
	lister := ts.dial(t)
	lister.send(respCmd("CLIENT", "LIST"))
	if list := strings.Join(lister.reply(), ""); !strings.Contains(list, " flags=O ") {
		t.Fatalf("CLIENT LIST does not show the monitor: %q", list)
	}
	mon.rd.ReadString('\n') // the CLIENT LIST line
	mon.send(respCmd("GET", "k"))
	line, _ := mon.rd.ReadString('\n')
	if !strings.HasSuffix(line, `"GET" "k"`+"\r\n") {
		t.Fatalf("the monitor's own command: %q", line)
	}
	mon.expect("-ERR Replica can't interact with the keyspace\r\n")
	mon.send(respCmd("RESET"))
	mon.rd.ReadString('\n') // its own RESET, fed before its reply
	mon.expect("+RESET\r\n")
	c.send(respCmd("PING"))
	mon.send(respCmd("GET", "k"))
	mon.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	mon.expect("$10\r\na b\\n\"c\x01é\r\n")
}

// TestMonitorCountedBeforeReply checks the order MONITOR keeps: the reply
// is queued only once the new monitor is counted, so that a command another
// client sends after it read the reply does not find no monitor (feed's
// check without the lock) and go unfed.
func TestMonitorCountedBeforeReply(t *testing.T) {
	var ms Monitors
	c := &conn{}
	counted := int32(-1)
	ms.Add(c, nil, func() { counted = ms.n.Load() })
	if counted != 1 {
		t.Fatalf("monitors counted when the reply was queued: %d, want 1", counted)
	}
	ms.Add(c, nil, func() {}) // MONITOR again: counted once
	if n := ms.n.Load(); n != 1 {
		t.Fatalf("monitors after a second MONITOR: %d, want 1", n)
	}
	ms.Remove(c)
	if n := ms.n.Load(); n != 0 {
		t.Fatalf("monitors after remove: %d, want 0", n)
	}
}
