package server

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

func TestClientRedis(t *testing.T) {
	for _, tc := range testutil.ClientRedisCases {
		t.Run(strings.Join(tc.Args, " "), func(t *testing.T) {
			ts := start(t, nil) // the only client, as redis-cli was
			c := ts.dial(t)
			c.send(respCmd(tc.Args...))
			c.expect(tc.Want)
		})
	}
}

// TestClientReply checks CLIENT REPLY OFF, SKIP and ON: the replies of
// the commands between OFF and ON, and of the one after SKIP, are never
// sent, though the commands run; as redis-server 7.0.15 answers.
func TestClientReply(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	var in strings.Builder
	for _, cmd := range [][]string{
		{"CLIENT", "REPLY", "OFF"},
		{"SET", "a", "1"},
		{"GET", "a"},
		{"NOSUCH"},
		{"MGET", "a", "b", "c"},
		{"CLIENT", "REPLY", "SKIP"}, // ignored while OFF
		{"CLIENT", "REPLY", "ON"},
		{"GET", "a"},
		{"CLIENT", "REPLY", "SKIP"},
		{"INCR", "a"},
		{"GET", "a"},
		{"CLIENT", "REPLY", "SKIP"},
		{"CLIENT", "REPLY", "ON"},
		{"PING"},
	} {
		in.WriteString(respCmd(cmd...))
	}
	c.send(in.String())
	// Recorded from redis-server 7.0.15 with this pipeline.
	c.expect("+OK\r\n$1\r\n1\r\n$1\r\n2\r\n+OK\r\n+PONG\r\n")
	c.send(respCmd("RESET"))
	c.expect("+RESET\r\n")
}

// TestClientListFlags checks the CLIENT LIST fields of a transaction and
// of NO-EVICT and NO-TOUCH, against redis-server 7.0.15's CLIENT INFO run
// in EXEC: flags=xe multi=3 multi-mem=98.
func TestClientListFlags(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("CLIENT", "NO-EVICT", "on") + respCmd("MULTI") + respCmd("SET", "a", "b") +
		respCmd("SET", "abcdef", "0123456789") + respCmd("CLIENT", "INFO") + respCmd("EXEC"))
	c.expect("+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n+OK\r\n")
	info := readBulk(t, c)
	for _, want := range []string{" flags=xe ", " multi=3 ", " multi-mem=98 "} {
		if !strings.Contains(info, want) {
			t.Errorf("CLIENT INFO in EXEC: got %q, want %q in it", info, want)
		}
	}
	c.send(respCmd("CLIENT", "NO-TOUCH", "on") + respCmd("CLIENT", "INFO"))
	c.expect("+OK\r\n")
	if info := readBulk(t, c); !strings.Contains(info, " flags=eT ") || !strings.Contains(info, " multi=-1 ") {
		t.Errorf("CLIENT INFO: got %q, want flags=eT and multi=-1", info)
	}
}

// TestClientPause checks CLIENT PAUSE: in WRITE mode a write waits and a
// read does not; the paused client shows flag b; UNPAUSE releases it; in
// ALL mode every command waits, UNPAUSE too, until the pause ends.
func TestClientPause(t *testing.T) {
	ts := start(t, nil)
	admin := ts.dial(t)
	admin.send(respCmd("SET", "k", "v"))
	admin.expect("+OK\r\n")
	admin.send(respCmd("CLIENT", "PAUSE", "100000", "WRITE"))
	admin.expect("+OK\r\n")

	w := ts.dial(t)
	w.send(respCmd("CLIENT", "SETNAME", "writer") + respCmd("SET", "k", "new") + respCmd("GET", "k"))
	w.expect("+OK\r\n")
	// Reads, PUBLISH's kin excepted, go on during a WRITE pause.
	admin.send(respCmd("GET", "k") + respCmd("EVAL_RO", "return 1", "0"))
	admin.expect("$1\r\nv\r\n:1\r\n")
	waitFlag(t, admin, "writer", "b")
	admin.send(respCmd("CLIENT", "UNPAUSE"))
	admin.expect("+OK\r\n")
	w.expect("+OK\r\n$3\r\nnew\r\n")

	// A pause ends at its timeout, even in ALL mode, where UNPAUSE waits.
	admin.send(respCmd("CLIENT", "PAUSE", "200", "ALL"))
	admin.expect("+OK\r\n")
	start := time.Now()
	other := ts.dial(t)
	other.send(respCmd("CLIENT", "UNPAUSE") + respCmd("GET", "k"))
	other.expect("+OK\r\n$3\r\nnew\r\n")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("commands ran %v after an ALL pause of 200ms began, want after it ended", d)
	}
}

// waitFlag waits, through CLIENT LIST on c, until the client named name
// shows flag (it is held by a pause): the event is the server's.
func waitFlag(t *testing.T, c *client, name, flag string) {
	t.Helper()
	re := regexp.MustCompile(`name=` + name + ` .*flags=(\w+) `)
	for i := 0; ; i++ {
		c.send(respCmd("CLIENT", "LIST"))
		m := re.FindStringSubmatch(readBulk(t, c))
		if m != nil && strings.Contains(m[1], flag) {
			return
		}
		if i == 100000 {
			t.Fatalf("client %s never showed flag %s", name, flag)
		}
	}
}

// TestClientPauseExpiry checks that keys do not expire during a pause, as
// in Redis: a read finds an expired key gone but leaves it in place, until
// the pause ends.
func TestClientPauseExpiry(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("SET", "k", "v", "PX", "20") + respCmd("CLIENT", "PAUSE", "100000", "WRITE"))
	c.expect("+OK\r\n+OK\r\n")
	for i := 0; ; i++ {
		c.send(respCmd("GET", "k"))
		if c.line() == "$-1\r" {
			break
		}
		c.line()
		if i == 1000000 {
			t.Fatal("the key never expired")
		}
	}
	c.send(respCmd("DBSIZE"))
	c.expect(":1\r\n")
	if got := statField(t, c, "expired_keys"); got != "0" {
		t.Errorf("expired_keys during the pause: got %s, want 0", got)
	}
	c.send(respCmd("CLIENT", "UNPAUSE") + respCmd("GET", "k") + respCmd("DBSIZE"))
	c.expect("+OK\r\n$-1\r\n:0\r\n")
	if got := statField(t, c, "expired_keys"); got != "1" {
		t.Errorf("expired_keys after the pause: got %s, want 1", got)
	}
}

// statField returns the value of one field of INFO stats.
func statField(t *testing.T, c *client, name string) string {
	t.Helper()
	c.send(respCmd("INFO", "stats"))
	m := regexp.MustCompile(`(?m)^` + name + `:(\S+)\r?$`).FindStringSubmatch(readBulk(t, c))
	if m == nil {
		t.Fatalf("INFO has no %s", name)
	}
	return m[1]
}

// TestClientNoTouch checks CLIENT NO-TOUCH through LRU eviction: a key
// read by a client in that mode stays as old as it was, and is evicted
// before a key written after it; read by any other client, it is evicted
// after that key.
func TestClientNoTouch(t *testing.T) {
	for _, noTouch := range []bool{true, false} {
		t.Run(fmt.Sprintf("no-touch %v", noTouch), func(t *testing.T) {
			ts := start(t, func(c *Config) {
				c.Router.Shards = 1
				c.MaxMemory = 256 << 10
				c.MaxMemoryPolicy = keyspace.AllKeysLRU
				c.MaxMemorySamples = 64 // every key: the oldest goes first
			})
			c := ts.dial(t)
			// The observer's EXISTS must not make the keys younger.
			obs := ts.dial(t)
			obs.send(respCmd("CLIENT", "NO-TOUCH", "on"))
			obs.expect("+OK\r\n")
			mode := "off"
			if noTouch {
				mode = "on"
			}
			filler := strings.Repeat("f", 32<<10)
			c.send(respCmd("SET", "a", filler) + respCmd("SET", "b", filler) + respCmd("CLIENT", "NO-TOUCH", mode) + respCmd("STRLEN", "a"))
			c.expect("+OK\r\n+OK\r\n+OK\r\n:32768\r\n")
			for i := 0; ; i++ {
				c.send(respCmd("SET", fmt.Sprintf("filler%d", i), filler))
				c.expect("+OK\r\n")
				obs.send(respCmd("EXISTS", "a") + respCmd("EXISTS", "b"))
				ea, eb := obs.line(), obs.line()
				if ea == ":1\r" && eb == ":1\r" {
					if i == 1000 {
						t.Fatal("nothing was evicted")
					}
					continue
				}
				want := ":0\r" // a is evicted first
				if !noTouch {
					want = ":1\r"
				}
				if ea != want {
					t.Errorf("first evicted with NO-TOUCH %s: EXISTS a %q, EXISTS b %q, want a evicted %v", mode, ea, eb, noTouch)
				}
				return
			}
		})
	}
}
