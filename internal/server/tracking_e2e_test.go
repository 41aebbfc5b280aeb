package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// trackConn is a RESP3 connection with tracking on.
func trackConn(t *testing.T, ts *testServer, opts ...string) *client {
	t.Helper()
	c := ts.dial(t)
	c.hello3()
	c.send(respCmd(append([]string{"CLIENT", "TRACKING", "ON"}, opts...)...))
	c.expect("+OK\r\n")
	return c
}

// invalidated reads until the reply to PING mark and returns the keys of
// the invalidations that came before it.
func invalidated(t *testing.T, c *client, mark string) []string {
	t.Helper()
	c.send(respCmd("PING", mark))
	var keys []string
	for {
		r := c.reply()
		switch {
		case len(r) == 1 && r[0] == mark:
			return keys
		case len(r) == 1 && r[0] == "":
			// the null reply of a read
		case len(r) >= 2 && r[0] == "invalidate":
			keys = append(keys, r[1:]...)
		default:
			t.Fatalf("got %q, want an invalidation or %q", r, mark)
		}
	}
}

// TestTrackingMaxKeys checks that past tracking-table-max-keys keys read
// are forgotten with their invalidations, INFO's figures, and CONFIG SET.
func TestTrackingMaxKeys(t *testing.T) {
	ts := start(t, func(c *Config) { c.TrackingTableMaxKeys = 2 })
	c := trackConn(t, ts)
	var cmds string
	for i := range 5 {
		cmds += respCmd("GET", fmt.Sprint("k", i))
	}
	c.send(cmds)
	got := invalidated(t, c, "m1") // the reads' null replies are skipped
	seen := map[string]bool{}
	for _, k := range got {
		if seen[k] || !strings.HasPrefix(k, "k") {
			t.Fatalf("invalidations %q: want 3 distinct keys read", got)
		}
		seen[k] = true
	}
	if len(got) != 3 {
		t.Fatalf("invalidations %q: want 3", got)
	}
	o := ts.dial(t)
	o.send(respCmd("INFO", "everything"))
	info := strings.Join(o.reply(), "")
	for _, want := range []string{"tracking_clients:1\r\n", "tracking_total_keys:2\r\n", "tracking_total_items:2\r\n", "tracking_total_prefixes:0\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	o.send(respCmd("CONFIG", "SET", "tracking-table-max-keys", "0") + respCmd("CONFIG", "GET", "tracking-table-max-keys"))
	o.expect("+OK\r\n*2\r\n$23\r\ntracking-table-max-keys\r\n$1\r\n0\r\n")
	o.send(respCmd("CONFIG", "SET", "tracking-table-max-keys", "-1"))
	o.expect("-ERR CONFIG SET failed (possibly related to argument 'tracking-table-max-keys') - argument must be between 0 and 9223372036854775807 inclusive\r\n")
	c.send(respCmd("GET", "a") + respCmd("GET", "b") + respCmd("GET", "c"))
	if got := invalidated(t, c, "m2"); len(got) != 0 {
		t.Fatalf("no limit: got invalidations %q", got)
	}
}

// TestTrackingExpiry checks that a key read and then expired by the
// background cycle is invalidated, with no command naming it.
func TestTrackingExpiry(t *testing.T) {
	ts := start(t, nil)
	c := trackConn(t, ts)
	w := ts.dial(t)
	w.send(respCmd("SET", "soon", "v", "PX", "1000"))
	w.expect("+OK\r\n")
	c.send(respCmd("GET", "soon"))
	c.expect("$1\r\nv\r\n")
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if r := c.reply(); len(r) != 2 || r[0] != "invalidate" || r[1] != "soon" {
		t.Fatalf("got %q, want the invalidation of soon", r)
	}
}

// TestTrackingEviction checks that keys read and then evicted for
// maxmemory are invalidated.
func TestTrackingEviction(t *testing.T) {
	ts, rc := startEvicting(t, keyspace.AllKeysLRU)
	fill(t, rc, "r", 50, 0, nil)
	c := trackConn(t, ts)
	var cmds string
	for i := range 50 {
		cmds += respCmd("GET", fmt.Sprint("r", i))
	}
	c.send(cmds)
	for range 50 {
		c.reply()
	}
	fill(t, rc, "f", 3000, 0, nil)
	got := invalidated(t, c, "e")
	if len(got) == 0 {
		t.Fatal("no invalidation of evicted keys")
	}
	w := ts.dial(t)
	for _, k := range got {
		w.send(respCmd("EXISTS", k))
		w.expect(":0\r\n")
	}
}

// TestTrackingClientList checks CLIENT LIST's tracking flags (t, B, R)
// and redir field, and the push a RESP3 client gets when the client it
// redirects to is gone.
func TestTrackingClientList(t *testing.T) {
	ts := start(t, nil)
	target := ts.dial(t)
	target.send(respCmd("CLIENT", "ID"))
	tid := target.reply()[0]
	a := trackConn(t, ts, "REDIRECT", tid)
	b := trackConn(t, ts, "BCAST", "PREFIX", "x")
	lister := ts.dial(t)
	list := func(c *client) string {
		c.send(respCmd("CLIENT", "ID"))
		lister.send(respCmd("CLIENT", "LIST", "ID", c.reply()[0]))
		return strings.Join(lister.reply(), "")
	}
	if l := list(a); !strings.Contains(l, " flags=t ") || !strings.Contains(l, " redir="+tid+" ") {
		t.Fatalf("redirecting client: %q", l)
	}
	if l := list(b); !strings.Contains(l, " flags=tB ") || !strings.Contains(l, " redir=0 ") {
		t.Fatalf("broadcasting client: %q", l)
	}
	if l := list(target); !strings.Contains(l, " flags=N ") || !strings.Contains(l, " redir=-1 ") {
		t.Fatalf("other client: %q", l)
	}
	a.send(respCmd("GET", "k"))
	a.reply()
	target.nc.Close()
	id, _ := strconv.ParseInt(tid, 10, 64)
	testutil.Await(t, 10*time.Second, func() bool { return ts.connByID(id) == nil },
		func() string { return "the server did not see the redirect client go" })
	w := ts.dial(t)
	w.send(respCmd("SET", "k", "v"))
	w.expect("+OK\r\n")
	if r := a.reply(); len(r) != 2 || r[0] != "tracking-redir-broken" || r[1] != tid {
		t.Fatalf("got %q, want tracking-redir-broken %s", r, tid)
	}
	if l := list(a); !strings.Contains(l, " flags=tR ") {
		t.Fatalf("broken redirect: %q", l)
	}
}
