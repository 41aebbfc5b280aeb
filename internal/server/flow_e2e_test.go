package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// gatedConn is a server-side connection whose socket takes allow bytes of
// replies and then nothing until release is closed, as a client that stops
// reading does. At each write it checks that the replies run and not yet
// written stay within bound (held returns them).
type gatedConn struct {
	net.Conn
	allow   int
	release chan struct{}
	blocked chan int64 // gets the replies held when the gate first holds a write
	held    func(sent int) int64
	bound   int64

	mu   sync.Mutex
	sent int
	errs []string
}

func (g *gatedConn) Write(b []byte) (int, error) {
	g.mu.Lock()
	if h := g.held(g.sent); h > g.bound {
		g.errs = append(g.errs, fmt.Sprintf("at a write after %d bytes: %d bytes of replies held, want at most %d", g.sent, h, g.bound))
	}
	g.mu.Unlock()
	done := 0
	for done < len(b) {
		g.mu.Lock()
		room := g.allow - g.sent
		g.mu.Unlock()
		if room <= 0 {
			select {
			case <-g.release:
			default:
				select {
				case g.blocked <- g.held(g.sent):
				default:
				}
				<-g.release
			}
			room = len(b) - done
		}
		n, err := g.Conn.Write(b[done : done+min(room, len(b)-done)])
		g.mu.Lock()
		g.sent += n
		g.mu.Unlock()
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// gateListener gates the connection accepted at index which (from 0).
type gateListener struct {
	net.Listener
	which int
	gate  *gatedConn
	n     int
}

func (l *gateListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.n++
	if l.n-1 == l.which {
		l.gate.Conn = nc
		return l.gate, nil
	}
	return nc, nil
}

// TestSlowReaderHoldsBoundedReplies pipelines GETs of large values from a
// client that reads nothing: the server runs only what fits in its bound
// of replies beyond what the socket took, shows the rest as omem in CLIENT
// LIST, and once the client reads, answers every GET intact and in order.
func TestSlowReaderHoldsBoundedReplies(t *testing.T) {
	const (
		keys   = 100
		size   = 200 << 10
		shards = 3
		allow  = 64 << 10
	)
	reply := int64(len("$"+strconv.Itoa(size)+"\r\n") + size + 2)
	var ts *testServer
	hits := func() int64 {
		var n int64
		for _, sh := range ts.router.Shards() {
			h, _ := sh.Hits()
			n += h
		}
		return n
	}
	var base int64
	gate := &gatedConn{
		allow:   allow,
		release: make(chan struct{}),
		blocked: make(chan int64, 1),
		bound:   maxHeld + shards*reply,
	}
	gate.held = func(sent int) int64 { return (hits()-base)*reply - int64(sent) }
	var once sync.Once
	release := func() { once.Do(func() { close(gate.release) }) }
	ts = startOn(t, func(c *Config) { c.Router.Shards = shards },
		func(ln net.Listener) net.Listener { return &gateListener{Listener: ln, which: 1, gate: gate} })
	t.Cleanup(release) // before the server's shutdown, which waits for the write

	setup := ts.dial(t)
	vals := make([]string, keys)
	for i := range vals {
		vals[i] = strings.Repeat(string(rune('a'+i%26)), size-8) + fmt.Sprintf("%08d", i)
		setup.send(respCmd("SET", "k"+strconv.Itoa(i), vals[i]))
		setup.expect("+OK\r\n")
	}
	base = hits()

	slow := ts.dial(t)
	var gets bytes.Buffer
	for i := range keys {
		gets.WriteString(respCmd("GET", "k"+strconv.Itoa(i)))
	}
	slow.send(gets.String())

	held := <-gate.blocked
	ran := hits() - base
	if ran >= keys || held > gate.bound {
		t.Fatalf("with the client not reading: %d of %d GETs ran, %d bytes of replies held, want at most %d", ran, keys, held, gate.bound)
	}
	// The connection is stuck in its write: another client sees its
	// pending replies as omem, and no more of its commands run.
	obs := ts.dial(t)
	obs.send(respCmd("CLIENT", "LIST"))
	text := readBulk(t, obs)
	m := regexp.MustCompile(`id=\d+ addr=` + regexp.QuoteMeta(slow.nc.LocalAddr().String()) + ` .* omem=(\d+) tot-mem=(\d+) `).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("CLIENT LIST has no line for the slow client:\n%s", text)
	}
	if omem, _ := strconv.ParseInt(m[1], 10, 64); omem <= 0 || omem > gate.bound {
		t.Errorf("omem of the slow client: got %d, want between 1 and %d", omem, gate.bound)
	}
	if tot, _ := strconv.ParseInt(m[2], 10, 64); tot < readBufSize {
		t.Errorf("tot-mem of the slow client: got %d, want at least %d", tot, readBufSize)
	}
	if again := hits() - base; again != ran {
		t.Errorf("GETs run while the client did not read: got %d, then %d", ran, again)
	}

	release()
	for i := range keys {
		if got := readBulk(t, slow); got != vals[i] {
			t.Fatalf("reply %d: got %d bytes ending %q, want the value of k%d", i, len(got), got[max(0, len(got)-8):], i)
		}
	}
	if got := hits() - base; got != keys {
		t.Errorf("GETs run: got %d, want %d", got, keys)
	}
	gate.mu.Lock()
	defer gate.mu.Unlock()
	for _, e := range gate.errs {
		t.Error(e)
	}
}

// TestNormalOutputLimits checks client-output-buffer-limit's normal class:
// replies over the hard limit close the client without them, replies that
// stay over the soft limit longer than its seconds too, and the close is
// logged; replies under the limits go through.
func TestNormalOutputLimits(t *testing.T) {
	tests := []struct {
		name   string
		lim    pubsub.Limits
		size   int  // of the value read back
		closed bool // the client is closed instead of answered
		why    string
	}{
		{"under the hard limit", pubsub.Limits{Hard: 256 << 10}, 200 << 10, false, ""},
		{"over the hard limit", pubsub.Limits{Hard: 100 << 10}, 200 << 10, true, "limit=hard"},
		{"over the soft limit, not read", pubsub.Limits{Soft: 1 << 20}, 32 << 20, true, "limit=soft"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs testutil.SyncBuffer
			ts := start(t, func(c *Config) {
				c.NormalOutput = tc.lim
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			setup := ts.dial(t)
			v := strings.Repeat("v", tc.size)
			setup.send(respCmd("SET", "big", v))
			setup.expect("+OK\r\n")

			c := ts.dial(t)
			c.send(respCmd("GET", "big"))
			if !tc.closed {
				if got := readBulk(t, c); got != v {
					t.Fatalf("GET: got %d bytes, want %d", len(got), len(v))
				}
				return
			}
			// Nothing is read until the server has dropped the client, as
			// CLIENT LIST tells.
			seen := false
			for i := 0; ; i++ {
				setup.send(respCmd("CLIENT", "LIST"))
				n := strings.Count(readBulk(t, setup), "\n")
				if n == 2 {
					seen = true
				} else if seen {
					break
				}
				if i == 1000000 {
					t.Fatal("the client was never closed")
				}
			}
			c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			got, err := io.Copy(io.Discard, c.rd)
			if err != nil && !isReset(err) {
				t.Fatalf("connection not closed: %v", err)
			}
			if got >= int64(len(v)) {
				t.Errorf("read %d bytes before the close, want less than the reply's %d", got, len(v))
			}
			if log := logs.String(); !strings.Contains(log, "closing client for overcoming of output buffer limits") ||
				!strings.Contains(log, "class=normal") || !strings.Contains(log, tc.why) {
				t.Errorf("the close was not logged with %s:\n%s", tc.why, log)
			}
			served(t, ts, "")
		})
	}
}

// TestOutputLimitsConfig checks CONFIG GET client-output-buffer-limit
// against redis-server 7.0.15's reply with its defaults, and with the
// normal class set.
func TestOutputLimitsConfig(t *testing.T) {
	tests := []struct {
		normal pubsub.Limits
		want   string
	}{
		// redis-cli config get client-output-buffer-limit, redis-server 7.0.15.
		{pubsub.Limits{}, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
		{pubsub.Limits{Hard: 1 << 20, Soft: 512 << 10, SoftFor: 10 * time.Second},
			"normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
	}
	for _, tc := range tests {
		ts := start(t, func(c *Config) { c.NormalOutput = tc.normal })
		c := ts.dial(t)
		c.send(respCmd("CONFIG", "GET", "client-output-buffer-limit"))
		want := fmt.Sprintf("*2\r\n$26\r\nclient-output-buffer-limit\r\n$%d\r\n%s\r\n", len(tc.want), tc.want)
		c.expect(want)
	}
}
