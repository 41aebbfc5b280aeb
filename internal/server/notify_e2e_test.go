package server

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
)

// eventSub is a connection subscribed to every keyevent channel and to a
// sentinel channel, which marks where the events of a command end.
type eventSub struct {
	sub, pub *client
}

func newEventSub(t *testing.T, ts *testServer) *eventSub {
	t.Helper()
	e := &eventSub{sub: ts.dial(t), pub: ts.dial(t)}
	e.sub.send(respCmd("PSUBSCRIBE", "__keyevent@*__:*") + respCmd("SUBSCRIBE", "sentinel"))
	e.sub.reply()
	e.sub.reply()
	return e
}

// events returns the events published since the last call, as "event key",
// marking their end with a message on the sentinel channel.
func (e *eventSub) events() []string {
	e.pub.t.Helper()
	e.pub.send(respCmd("PUBLISH", "sentinel", "end"))
	e.pub.reply()
	var out []string
	for {
		m := e.sub.reply()
		if m[0] == "message" {
			return out
		}
		if m[0] != "pmessage" || len(m) != 4 {
			e.sub.t.Fatalf("got %q, want a pmessage", m)
		}
		out = append(out, strings.TrimPrefix(m[2], "__keyevent@0__:")+" "+m[3])
	}
}

// next waits for the next keyevent message, for events no command causes.
func (e *eventSub) next() string {
	e.sub.t.Helper()
	m := e.sub.reply()
	if m[0] != "pmessage" || len(m) != 4 {
		e.sub.t.Fatalf("got %q, want a pmessage", m)
	}
	return strings.TrimPrefix(m[2], "__keyevent@0__:") + " " + m[3]
}

func wantEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got events %q, want %q", what, got, want)
	}
}

// TestNotifyConfig checks that events are off by default, CONFIG SET's
// canonical form and error (Redis 7.0.15's texts), and that CONFIG SET
// turns them on and off at once.
func TestNotifyConfig(t *testing.T) {
	ts := start(t, nil)
	e := newEventSub(t, ts)
	c := ts.dial(t)
	c.send(respCmd("SET", "k", "v") + respCmd("CONFIG", "GET", "notify-keyspace-events"))
	c.expect("+OK\r\n*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n")
	wantEvents(t, "off", e.events())

	c.send(respCmd("CONFIG", "SET", "notify-keyspace-events", "KEa"))
	c.expect("-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n")
	c.send(respCmd("CONFIG", "SET", "notify-keyspace-events", "KEA") + respCmd("CONFIG", "GET", "notify-keyspace-events"))
	c.expect("+OK\r\n*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n")
	c.send(respCmd("SET", "k", "v") + respCmd("DEL", "k"))
	c.expect("+OK\r\n:1\r\n")
	wantEvents(t, "KEA", e.events(), "set k", "del k")

	// Keyspace channels too, each event before its keyevent one.
	ks := ts.dial(t)
	ks.send(respCmd("PSUBSCRIBE", "__key*@*__:*"))
	ks.reply()
	c.send(respCmd("LPUSH", "l", "a"))
	c.expect(":1\r\n")
	for _, want := range [][]string{
		{"pmessage", "__key*@*__:*", "__keyspace@0__:l", "lpush"},
		{"pmessage", "__key*@*__:*", "__keyevent@0__:lpush", "l"},
	} {
		if got := ks.reply(); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	wantEvents(t, "lpush", e.events(), "lpush l")

	c.send(respCmd("CONFIG", "SET", "notify-keyspace-events", "Kl") + respCmd("RPUSH", "l", "b"))
	c.expect("+OK\r\n:2\r\n")
	wantEvents(t, "K only", e.events())
	c.send(respCmd("CONFIG", "SET", "notify-keyspace-events", "") + respCmd("RPUSH", "l", "c"))
	c.expect("+OK\r\n:3\r\n")
	wantEvents(t, "off again", e.events())
}

// TestNotifyOrder checks that the events of a transaction, a script and a
// command over keys of several shards come in command order.
func TestNotifyOrder(t *testing.T) {
	ts := start(t, func(c *Config) {
		c.Router.Shards = 4
		c.NotifyKeyspaceEvents, _ = notify.Parse([]byte("EA"))
	})
	e := newEventSub(t, ts)
	c := ts.dial(t)
	keys := make([]string, 8)
	for i := range keys {
		keys[i] = "key" + string(rune('a'+i))
	}
	var want []string
	cmds := respCmd("MULTI")
	for i, k := range keys {
		if i%2 == 0 {
			cmds += respCmd("SET", k, "v")
			want = append(want, "set "+k)
		} else {
			cmds += respCmd("SADD", k, "m")
			want = append(want, "sadd "+k)
		}
	}
	cmds += respCmd("DEL", keys[0], keys[7], keys[3]) + respCmd("EXEC")
	want = append(want, "del "+keys[0], "del "+keys[7], "del "+keys[3])
	c.send(cmds)
	for range len(keys) + 3 {
		c.reply()
	}
	wantEvents(t, "MULTI/EXEC", e.events(), want...)

	c.send(respCmd("MSET", keys[1], "1", keys[2], "2", keys[5], "3"))
	c.expect("+OK\r\n")
	wantEvents(t, "MSET", e.events(), "set "+keys[1], "set "+keys[2], "set "+keys[5])

	c.send(respCmd("EVAL", "redis.call('incr', KEYS[1]) redis.call('rename', KEYS[2], KEYS[3]) return redis.call('lpush', KEYS[4], 'x')",
		"4", keys[1], keys[2], keys[6], keys[1]+"l"))
	if got := c.reply(); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("EVAL: got %q", got)
	}
	wantEvents(t, "EVAL", e.events(), "incrby "+keys[1], "rename_from "+keys[2], "rename_to "+keys[6], "lpush "+keys[1]+"l")

	// A blocked client served by a push: the push, then the pop.
	b := ts.dial(t)
	b.send(respCmd("BLPOP", "q", "0"))
	waitBlocked(t, ts, 1)
	c.send(respCmd("RPUSH", "q", "x"))
	c.expect(":1\r\n")
	b.expect("*2\r\n$1\r\nq\r\n$1\r\nx\r\n")
	wantEvents(t, "BLPOP served", e.events(), "rpush q", "lpop q", "del q")
}

// TestNotifyExpiredActive checks the expired event of a key nobody reads,
// which the active expiry cycle removes.
func TestNotifyExpiredActive(t *testing.T) {
	ts := start(t, func(c *Config) { c.NotifyKeyspaceEvents, _ = notify.Parse([]byte("Ex")) })
	e := newEventSub(t, ts)
	c := ts.dial(t)
	c.send(respCmd("SET", "soon", "v", "PX", "1") + respCmd("SET", "later", "v", "EX", "1000"))
	c.expect("+OK\r\n+OK\r\n")
	e.sub.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got := e.next(); got != "expired soon" {
		t.Fatalf("got %q, want %q", got, "expired soon")
	}
	wantEvents(t, "after", e.events())
}

// TestNotifyEvicted checks that each key evicted for maxmemory is
// published once.
func TestNotifyEvicted(t *testing.T) {
	ts, rc := startEvicting(t, keyspace.AllKeysLRU)
	ts.notify.Set(notify.Keyevent | notify.Evicted)
	e := newEventSub(t, ts)
	fill(t, rc, "k", 3000, 0, nil)
	evicted := e.events()
	if len(evicted) == 0 {
		t.Fatal("no evicted events")
	}
	seen := map[string]bool{}
	for _, ev := range evicted {
		k, ok := strings.CutPrefix(ev, "evicted ")
		if !ok || seen[k] {
			t.Fatalf("event %q: not a first eviction", ev)
		}
		seen[k] = true
	}
	for k := range seen {
		c := ts.dial(t)
		c.send(respCmd("EXISTS", k))
		c.expect(":0\r\n")
		break
	}
	waitInfo(t, rc, "stats", "evicted_keys", func(n int64) bool { return n == int64(len(evicted)) })
}
