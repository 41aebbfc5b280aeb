package server

import (
	"fmt"
	"testing"
	"time"
)

// xentry is the RESP2 reply of one stream and its one entry f=v.
func xentry(key, id, f, v string) string {
	return fmt.Sprintf("*1\r\n*2\r\n$%d\r\n%s\r\n*1\r\n*2\r\n$%d\r\n%s\r\n*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
		len(key), key, len(id), id, len(f), f, len(v), v)
}

// TestStreamBlockRead checks XREAD BLOCK: "$" waits for entries added
// after the call, every reader gets them (reading takes nothing), a
// timeout answers a nil array, and a client waiting on streams of two
// shards is served once, with the stream that got the entry.
func TestStreamBlockRead(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 2 })
	c := ts.dial(t)
	c.send(respCmd("XADD", "s", "1-1", "f", "old"))
	c.expect("$3\r\n1-1\r\n")
	readers := parkIn(t, ts, 2, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
	c.send(respCmd("XADD", "s", "2-1", "f", "new"))
	c.expect("$3\r\n2-1\r\n")
	for _, r := range readers {
		r.expect(xentry("s", "2-1", "f", "new"))
	}
	waitBlocked(t, ts, 0)

	start := time.Now()
	c.send(respCmd("XREAD", "BLOCK", "30", "STREAMS", "s", "$") + respCmd("PING"))
	c.expect("*-1\r\n+PONG\r\n")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("timed out after %v, want at least 30ms", d)
	}

	keys := keysOnShards(ts, "xs", 1)
	a, b := keys[0][0], keys[1][0]
	w := parkIn(t, ts, 1, "XREAD", "BLOCK", "0", "STREAMS", a, b, "$", "$")[0]
	c.send(respCmd("XADD", b, "5-5", "k", "v"))
	c.expect("$3\r\n5-5\r\n")
	w.expect(xentry(b, "5-5", "k", "v"))
	waitBlocked(t, ts, 0)
	c.send(respCmd("XADD", a, "6-6", "k", "v"))
	c.expect("$3\r\n6-6\r\n")
	w.send(respCmd("PING"))
	w.expect("+PONG\r\n") // served once: nothing else came
}

// TestStreamBlockGroup checks XREADGROUP BLOCK with ">": consumers of one
// group waiting on a stream are given each new entry once, oldest waiter
// first, and it is pending for the one that got it; a group destroyed
// under a waiter answers NOGROUP; an XADD inside MULTI serves after EXEC.
func TestStreamBlockGroup(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"))
	c.expect("+OK\r\n")
	alice := parkIn(t, ts, 1, "XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "q", ">")[0]
	bob := parkIn(t, ts, 1, "XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "q", ">")[0]
	c.send(respCmd("XADD", "q", "1-1", "job", "a"))
	c.expect("$3\r\n1-1\r\n")
	alice.expect(xentry("q", "1-1", "job", "a"))
	waitBlocked(t, ts, 1)
	c.send(respCmd("MULTI") + respCmd("XADD", "q", "2-1", "job", "b") + respCmd("XLEN", "q") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$3\r\n2-1\r\n:2\r\n")
	bob.expect(xentry("q", "2-1", "job", "b"))
	c.send(respCmd("XPENDING", "q", "g"))
	c.expect("*4\r\n:2\r\n$3\r\n1-1\r\n$3\r\n2-1\r\n*2\r\n*2\r\n$5\r\nalice\r\n$1\r\n1\r\n*2\r\n$3\r\nbob\r\n$1\r\n1\r\n")

	gone := parkIn(t, ts, 1, "XREADGROUP", "GROUP", "g", "carol", "BLOCK", "0", "STREAMS", "q", ">")[0]
	c.send(respCmd("XGROUP", "DESTROY", "q", "g"))
	c.expect(":1\r\n")
	gone.expect("-NOGROUP the consumer group this client was blocked on no longer exists\r\n")
	waitBlocked(t, ts, 0)

	// Inside MULTI a blocking read answers at once.
	c.send(respCmd("MULTI") + respCmd("XREAD", "BLOCK", "0", "STREAMS", "q", "$") + respCmd("EXEC"))
	c.expect("+OK\r\n+QUEUED\r\n*1\r\n*-1\r\n")
}
