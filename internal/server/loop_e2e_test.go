//go:build linux

package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
	"github.com/data-cluster/data-cluster/internal/wal"
)

// startLoop starts a server with the io_uring loop, or skips where the
// kernel refuses io_uring.
func startLoop(t *testing.T, edit func(*Config)) *testServer {
	t.Helper()
	ts := start(t, func(c *Config) {
		c.IOURing = true
		if edit != nil {
			edit(c)
		}
	})
	if ts.loop == nil {
		t.Skip("NOT TESTED: this host refuses io_uring")
	}
	return ts
}

// onLoop reports whether the server's connection of client c (found by
// its CLIENT ID) is served by the loop.
func onLoop(t *testing.T, ts *testServer, id string) bool {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("client id %q: %v", id, err)
	}
	c := ts.connByID(n)
	if c == nil {
		t.Fatalf("no connection with id %d", n)
	}
	return c.onLoop.Load()
}

// TestLoopServesPipelines runs many clients at once on the loop, each
// sending pipelines of random depth whose values are of random size, some
// larger than a receive buffer or the read buffer, and checks every reply;
// a line-protocol client is served there too.
func TestLoopServesPipelines(t *testing.T) {
	ts := startLoop(t, nil)
	const clients = 16
	runLoopClients(t, ts, clients, 60, true)
	lc := ts.dial(t)
	if got := lc.do("SET k v"); got != "OK" {
		t.Fatalf("line SET: %q", got)
	}
	if got := lc.do("GET k"); got != "v" {
		t.Fatalf("line GET: %q", got)
	}
	if n := loopConns(ts); n != clients+1 {
		t.Fatalf("%d connections on the loop, want %d", n, clients+1)
	}
}

// runLoopClients runs clients at once, each sending rounds of seeded
// random pipelines (loopClient), and checks every reply; with checkOn,
// that each client was on the loop first.
func runLoopClients(t *testing.T, ts *testServer, clients, rounds int, checkOn bool) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := ts.dial(t)
		c.nc.SetDeadline(time.Now().Add(30 * time.Second))
		if checkOn && !onLoop(t, ts, c.clientID()) {
			t.Fatalf("client %d is not on the loop", i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- loopClient(c, i, rounds, rand.New(rand.NewPCG(seed, uint64(i))))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
	}
}

// loopConns counts the connections the loop serves.
func loopConns(ts *testServer) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := 0
	for c := range ts.conns {
		if c.onLoop.Load() {
			n++
		}
	}
	return n
}

// loopClient sends rounds pipelines of SET, GET and INCR and checks the
// replies.
func loopClient(c *client, id, rounds int, rng *rand.Rand) error {
	var req, want strings.Builder
	for round := range rounds {
		req.Reset()
		want.Reset()
		for j := range 1 + rng.IntN(20) {
			size := rng.IntN(100)
			if rng.IntN(8) == 0 {
				size = rng.IntN(70 << 10)
			}
			k := fmt.Sprintf("c%d:%d", id, j)
			v := strings.Repeat(string(rune('a'+j%26)), size)
			req.WriteString(respCmd("SET", k, v) + respCmd("GET", k) + respCmd("INCR", fmt.Sprintf("n%d", id)))
			fmt.Fprintf(&want, "+OK\r\n$%d\r\n%s\r\n:", size, v)
			want.WriteString("\x00")
		}
		if _, err := c.nc.Write([]byte(req.String())); err != nil {
			return fmt.Errorf("client %d round %d: %w", id, round, err)
		}
		for _, part := range strings.Split(want.String(), "\x00") {
			if part == "" {
				continue
			}
			buf := make([]byte, len(part))
			if _, err := io.ReadFull(c.rd, buf); err != nil {
				return fmt.Errorf("client %d round %d: %w", id, round, err)
			}
			if string(buf) != part {
				return fmt.Errorf("client %d round %d: got %q, want %q", id, round, clipString(string(buf), 80), clipString(part, 80))
			}
			if _, err := c.rd.ReadString('\n'); err != nil { // INCR's count
				return fmt.Errorf("client %d round %d: %w", id, round, err)
			}
		}
	}
	return nil
}

// TestLoopLeavesForWaits checks that what waits for another client runs
// off the loop, while the loop goes on serving the others: a blocking
// command in a pipeline, a busy script that another client kills, a
// script queued in MULTI (a transaction of plain commands stays), a
// subscriber, a write held by CLIENT PAUSE.
func TestLoopLeavesForWaits(t *testing.T) {
	ts := startLoop(t, func(c *Config) { c.Scripts.BusyThreshold = 50 * time.Millisecond })
	dial := func() (*client, string) {
		c := ts.dial(t)
		c.nc.SetDeadline(time.Now().Add(30 * time.Second))
		id := c.clientID()
		if !onLoop(t, ts, id) {
			t.Fatal("a new client is not on the loop")
		}
		return c, id
	}

	t.Run("blocking command", func(t *testing.T) {
		c, id := dial()
		p, _ := dial()
		c.send(respCmd("PING") + respCmd("BLPOP", "q", "0") + respCmd("ECHO", "after"))
		c.expect("+PONG\r\n")
		waitBlocked(t, ts, 1)
		if onLoop(t, ts, id) {
			t.Fatal("a blocked client is still on the loop")
		}
		p.send(respCmd("RPUSH", "q", "v"))
		p.expect(":1\r\n")
		c.expect("*2\r\n$1\r\nq\r\n$1\r\nv\r\n$5\r\nafter\r\n")
		c.send(respCmd("GET", "missing"))
		c.expect("$-1\r\n")
	})

	t.Run("busy script", func(t *testing.T) {
		c, _ := dial()
		k, _ := dial()
		c.send(respCmd("EVAL", "while true do end", "0"))
		testutil.Await(t, 10*time.Second, func() bool {
			return strings.HasPrefix(k.call("SCRIPT", "KILL").(string), "OK")
		}, func() string { return "SCRIPT KILL from a loop client never found the script busy" })
		got := c.line()
		if !strings.HasPrefix(got, "-ERR Script killed by user") {
			t.Fatalf("the killed script's client got %q", got)
		}
	})

	t.Run("multi", func(t *testing.T) {
		// A transaction of commands that end on the shards runs on the
		// loop, WATCH and several shards included.
		c, id := dial()
		o, _ := dial()
		c.send(respCmd("WATCH", "w") + respCmd("MULTI") + respCmd("SET", "m", "1") + respCmd("INCR", "m") +
			respCmd("MSET", "a", "1", "b", "2", "c", "3") + respCmd("EXEC"))
		c.expect("+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n+OK\r\n")
		c.send(respCmd("WATCH", "w") + respCmd("MULTI") + respCmd("INCR", "m"))
		c.expect("+OK\r\n+OK\r\n+QUEUED\r\n")
		o.send(respCmd("SET", "w", "changed"))
		o.expect("+OK\r\n")
		c.send(respCmd("EXEC") + respCmd("GET", "m"))
		c.expect("*-1\r\n$1\r\n2\r\n")
		if !onLoop(t, ts, id) {
			t.Fatal("a client that ran MULTI and EXEC of plain commands left the loop")
		}
		// One that queues a script leaves before it queues it, and its
		// EXEC runs on its own goroutine.
		c.send(respCmd("MULTI") + respCmd("INCR", "m") + respCmd("EVAL", "return redis.call('INCR', KEYS[1])", "1", "m") + respCmd("EXEC"))
		c.expect("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:3\r\n:4\r\n")
		if onLoop(t, ts, id) {
			t.Fatal("a client that queued a script is still on the loop")
		}
	})

	t.Run("subscriber", func(t *testing.T) {
		s, id := dial()
		p, _ := dial()
		s.send(respCmd("SUBSCRIBE", "ch"))
		s.expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
		if onLoop(t, ts, id) {
			t.Fatal("a subscriber is still on the loop")
		}
		p.send(respCmd("PUBLISH", "ch", "hi"))
		p.expect(":1\r\n")
		s.expect("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n")
	})

	t.Run("tracking", func(t *testing.T) {
		c, id := dial()
		w, _ := dial()
		c.hello3()
		c.send(respCmd("SET", "tk", "v") + respCmd("GET", "tk") + respCmd("CLIENT", "TRACKING", "ON") + respCmd("GET", "tk"))
		c.expect("+OK\r\n$1\r\nv\r\n+OK\r\n$1\r\nv\r\n")
		if onLoop(t, ts, id) {
			t.Fatal("a client that tracks keys is still on the loop")
		}
		w.send(respCmd("SET", "tk", "w"))
		w.expect("+OK\r\n")
		c.expect(">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ntk\r\n")
	})

	t.Run("pause", func(t *testing.T) {
		a, _ := dial()
		w, id := dial()
		a.send(respCmd("CLIENT", "PAUSE", "100000", "WRITE"))
		a.expect("+OK\r\n")
		w.send(respCmd("SET", "paused", "1"))
		n, _ := strconv.ParseInt(id, 10, 64)
		testutil.Await(t, 10*time.Second, func() bool { c := ts.connByID(n); return c != nil && c.paused.Load() },
			func() string { return "the write never waited for the pause" })
		a.send(respCmd("GET", "paused") + respCmd("CLIENT", "UNPAUSE"))
		a.expect("$-1\r\n+OK\r\n")
		w.expect("+OK\r\n")
	})
}

// TestLoopSlowReader has a client pipeline far more replies than its
// socket takes without reading them: it leaves the loop, which goes on
// serving another client, and then gets every reply.
func TestLoopSlowReader(t *testing.T) {
	ts := startLoop(t, nil)
	slow := ts.dial(t)
	slow.nc.SetDeadline(time.Now().Add(30 * time.Second))
	id := slow.clientID()
	other := ts.dial(t)
	other.nc.SetDeadline(time.Now().Add(30 * time.Second))
	started(other)
	v := strings.Repeat("x", 100<<10)
	slow.send(respCmd("SET", "big", v))
	slow.expect("+OK\r\n")
	const n = 300 // 30 MB of replies
	slow.send(strings.Repeat(respCmd("GET", "big"), n))
	n64, _ := strconv.ParseInt(id, 10, 64)
	testutil.Await(t, 10*time.Second, func() bool { c := ts.connByID(n64); return c != nil && !c.onLoop.Load() },
		func() string { return "a client that reads none of its replies stayed on the loop" })
	other.send(respCmd("PING"))
	other.expect("+PONG\r\n")
	want := "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"
	for i := range n {
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(slow.rd, buf); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if string(buf) != want {
			t.Fatalf("reply %d: got %q", i, clipString(string(buf), 60))
		}
	}
	slow.send(respCmd("PING"))
	slow.expect("+PONG\r\n")
}

// TestLoopCloses checks the ways a connection on the loop ends: CLIENT
// KILL from another client, QUIT, the idle timeout, the query buffer
// limit, and Shutdown.
func TestLoopCloses(t *testing.T) {
	ts := startLoop(t, nil)
	dial := func() (*client, string) {
		c := ts.dial(t)
		id := c.clientID()
		if !onLoop(t, ts, id) {
			t.Fatal("a new client is not on the loop")
		}
		return c, id
	}

	victim, id := dial()
	killer, _ := dial()
	killer.send(respCmd("CLIENT", "KILL", "ID", id))
	killer.expect(":1\r\n")
	victim.expectClosed()

	q, _ := dial()
	q.send(respCmd("QUIT"))
	q.closedAfter("+OK\r\n")

	big, _ := dial()
	killer.send(respCmd("CONFIG", "SET", "client-query-buffer-limit", "1mb"))
	killer.expect("+OK\r\n")
	big.send("*2\r\n$3\r\nGET\r\n$2000000\r\n" + strings.Repeat("x", 1100<<10))
	big.expectClosed()

	idle, _ := dial()
	killer.send(respCmd("CONFIG", "SET", "timeout", "1"))
	killer.expect("+OK\r\n")
	idle.expectClosed()
	killer.expectClosed() // idle too
	reset, _ := dial()
	reset.send(respCmd("CONFIG", "SET", "timeout", "0"))
	reset.expect("+OK\r\n")

	last, _ := dial()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	last.expectClosed()
	if n := loopConns(ts); n != 0 {
		t.Fatalf("%d connections left on the loop after Shutdown", n)
	}
}

// TestLoopWhichPath checks which path serves, as INFO's multiplexing_api
// tells it: the loop by default, with a data directory too, and the
// goroutines without it.
func TestLoopWhichPath(t *testing.T) {
	if !DefaultConfig().IOURing {
		t.Fatal("the loop is not the default")
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"on", func(c *Config) { c.IOURing = true }, "io_uring"},
		{"off", func(c *Config) { c.IOURing = false }, "epoll"},
		{"data directory", func(c *Config) { c.IOURing, c.Persistence.Dir = true, t.TempDir() }, "io_uring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, tc.edit)
			if tc.want == "io_uring" && ts.loop == nil {
				t.Skip("NOT TESTED: this host refuses io_uring")
			}
			c := ts.dial(t)
			info := infoFields(c.call("INFO", "server").(string))
			if got := info["multiplexing_api"]; got != tc.want {
				t.Fatalf("multiplexing_api %q, want %q", got, tc.want)
			}
			if on := onLoop(t, ts, c.clientID()); on != (tc.want == "io_uring") {
				t.Fatalf("the client on the loop: %v", on)
			}
		})
	}
}

// TestLoopOutOfBuffers runs clients on a loop with two receive buffers:
// receives keep running out of them (ENOBUFS) and are made again, with no
// byte lost or reordered.
func TestLoopOutOfBuffers(t *testing.T) {
	defer func(n int) { loopBufCount = n }(loopBufCount)
	loopBufCount = 2
	ts := startLoop(t, nil)
	runStayingOnLoop(t, ts, false)
	if ts.loop.outOfBufs.Load() == 0 {
		t.Fatal("no receive ran out of buffers")
	}
}

// TestLoopLargeReplyThenLeave sends a reply larger than the output buffer
// a connection keeps, then has the connection leave the loop (QUIT, a
// blocking command) or close: what it hands over must be what it has not
// sent, nothing more.
func TestLoopLargeReplyThenLeave(t *testing.T) {
	ts := startLoop(t, nil)
	v := strings.Repeat("x", 3*loopKeepOut/2)
	want := "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"
	for _, end := range []string{"QUIT", "BLPOP", "close"} {
		c := ts.dial(t)
		c.nc.SetDeadline(time.Now().Add(10 * time.Second))
		c.send(respCmd("SET", "big", v) + respCmd("GET", "big"))
		c.expect("+OK\r\n" + want)
		switch end {
		case "QUIT":
			c.send(respCmd("QUIT"))
			c.closedAfter("+OK\r\n")
		case "BLPOP":
			c.send(respCmd("BLPOP", "nothing", "0.01") + respCmd("GET", "big"))
			c.expect("*-1\r\n" + want)
		case "close":
			c.nc.Close()
		}
	}
	c := ts.dial(t)
	c.send(respCmd("PING"))
	c.expect("+PONG\r\n")
}

// TestLoopSmallQueue runs clients on a loop whose queues hold two
// requests and four completions: the submission queue fills before the
// rounds end and is submitted at once, and receives end when their next
// completion finds no room, with bytes, and are made again; no byte is
// lost or reordered and every client stays on the loop.
func TestLoopSmallQueue(t *testing.T) {
	defer func(n uint32) { loopEntries = n }(loopEntries)
	loopEntries = 2
	runStayingOnLoop(t, startLoop(t, nil), true)
}

// runStayingOnLoop runs 8 clients of 40 rounds each (runLoopClients) and
// checks that all of them are still on the loop after.
func runStayingOnLoop(t *testing.T, ts *testServer, checkOn bool) {
	t.Helper()
	const clients = 8
	runLoopClients(t, ts, clients, 40, checkOn)
	if n := loopConns(ts); n != clients {
		t.Fatalf("%d connections on the loop, want %d", n, clients)
	}
}

// TestLoopRepliesAfterTheLog streams writes from several clients at once
// to a server with a data directory, each client sending without waiting
// for its replies, and checks after each reply that the log file already
// holds the write it acknowledges (what a kill -9 keeps): the loop sends a
// round's replies only once the log has the round's records, also when a
// send of an earlier round ends while the round runs (the writes come with
// reads of a large value, whose replies the socket takes slowly), and when
// the submission queue fills before the round's end (a queue of 2).
func TestLoopRepliesAfterTheLog(t *testing.T) {
	defer func(n uint32) { loopEntries = n }(loopEntries)
	loopEntries = 2
	for _, fsync := range []wal.Fsync{wal.FsyncEverySec, wal.FsyncAlways} {
		t.Run(fsync.String(), func(t *testing.T) {
			dir := t.TempDir()
			ts := startLoop(t, func(c *Config) {
				c.Persistence.Dir, c.Persistence.Fsync = dir, fsync
				c.Persistence.Preallocate = 0 // the files hold records alone
			})
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			const clients, writes = 4, 400
			big := strings.Repeat("b", 256<<10)
			if got := ts.dial(t).call("SET", "big", big); got != "OK" {
				t.Fatalf("SET big: %v", got)
			}
			var logMu sync.Mutex
			log := &logFiles{dir: dir, read: map[string][]byte{}}
			var wg sync.WaitGroup
			errs := make(chan error, 2*clients)
			for i := range clients {
				c := ts.dial(t)
				c.nc.SetDeadline(time.Now().Add(60 * time.Second))
				if !onLoop(t, ts, c.clientID()) {
					t.Fatalf("client %d is not on the loop", i)
				}
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				values := make([]string, writes)
				for j := range values {
					values[j] = fmt.Sprintf("v%d.%d.%x", i, j, rng.Uint64())
				}
				wg.Go(func() {
					// Chunks of 1 to 16 commands, never waiting for replies.
					for j := 0; j < writes; {
						var b strings.Builder
						for n := 1 + rng.IntN(16); n > 0 && j < writes; n-- {
							fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\nk%d.%d\r\n$%d\r\n%s\r\n",
								len(fmt.Sprintf("k%d.%d", i, j)), i, j, len(values[j]), values[j])
							if j%8 == 7 {
								b.WriteString("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
							}
							j++
						}
						if _, err := io.WriteString(c.nc, b.String()); err != nil {
							errs <- fmt.Errorf("client %d: write: %v", i, err)
							return
						}
					}
				})
				wg.Go(func() {
					for j := range writes {
						line, err := c.rd.ReadString('\n')
						if err != nil || line != "+OK\r\n" {
							errs <- fmt.Errorf("client %d: reply %d: %q, %v", i, j, line, err)
							return
						}
						logMu.Lock()
						has, err := log.has(values[j])
						logMu.Unlock()
						if err != nil || !has {
							errs <- fmt.Errorf("seed %d: client %d: SET %d acknowledged before the log file had it (%v)", seed, i, j, err)
							return
						}
						if j%8 == 7 {
							if got, err := reply(c.rd); err != nil || got != big {
								errs <- fmt.Errorf("client %d: GET big after SET %d: %d bytes, %v", i, j, len(fmt.Sprint(got)), err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// logFiles reads the log files of a data directory as they grow.
type logFiles struct {
	dir  string
	read map[string][]byte // what was read of each file so far
}

// has reports whether a log file holds v, reading what was added to the
// files since the last call.
func (lf *logFiles) has(v string) (bool, error) {
	var paths []string
	err := filepath.WalkDir(lf.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".log") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return false, err
	}
	found := false
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return false, err
		}
		data := lf.read[p]
		buf := make([]byte, 64<<10)
		for {
			n, err := f.ReadAt(buf, int64(len(data)))
			data = append(data, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				f.Close()
				return false, err
			}
		}
		f.Close()
		lf.read[p] = data
		found = found || bytes.Contains(data, []byte(v))
	}
	return found, nil
}

// TestLoopCountsGoroutineConns counts the connections served by goroutines
// of their own, with which the loop tells the scheduler of every wait
// (loop.wait): a subscriber and a client that blocked count until they
// close, the loop's own connections do not.
func TestLoopCountsGoroutineConns(t *testing.T) {
	ts := startLoop(t, nil)
	want := func(n int64, what string) {
		t.Helper()
		testutil.Await(t, 10*time.Second, func() bool { return ts.goConns.Load() == n },
			func() string {
				return fmt.Sprintf("%s: %d connections on goroutines, want %d", what, ts.goConns.Load(), n)
			})
	}
	a := ts.dial(t)
	a.send(respCmd("PING"))
	a.expect("+PONG\r\n")
	want(0, "a client on the loop")
	s := ts.dial(t)
	s.send(respCmd("SUBSCRIBE", "ch"))
	s.expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
	want(1, "a subscriber")
	b := ts.dial(t)
	b.send(respCmd("BLPOP", "q", "0"))
	waitBlocked(t, ts, 1)
	want(2, "a subscriber and a blocked client")
	a.send(respCmd("RPUSH", "q", "v"))
	a.expect(":1\r\n")
	b.expect("*2\r\n$1\r\nq\r\n$1\r\nv\r\n")
	want(2, "a client that blocked, answered")
	s.nc.Close()
	want(1, "the subscriber closed")
	b.nc.Close()
	want(0, "both closed")
}

// TestLoopBusyOnOneP runs the server on one P (GOMAXPROCS 1, as --procs 1),
// where the loop keeps the P through its short waits while every
// connection is its own (loop.wait), with clients that send again as soon
// as they are answered: meanwhile new connections are accepted and
// answered, the shards' timers expire keys, and once a subscriber is on a
// goroutine of its own, it gets what a busy client publishes.
func TestLoopBusyOnOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ts := startLoop(t, nil)
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			nc, err := net.DialTimeout("tcp", ts.addr, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			buf := make([]byte, 64)
			req := respCmd("SET", fmt.Sprintf("busy%d", i), "v")
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				nc.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := io.WriteString(nc, req); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(nc, buf[:5]); err != nil || string(buf[:5]) != "+OK\r\n" {
					errs <- fmt.Errorf("busy client %d, request %d: %q, %v", i, n, buf[:5], err)
					return
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
		select {
		case err := <-errs:
			t.Error(err)
		default:
		}
	}()

	for range 20 {
		c := ts.dial(t)
		c.nc.SetDeadline(time.Now().Add(30 * time.Second))
		c.send(respCmd("PING"))
		c.expect("+PONG\r\n")
		c.nc.Close()
	}
	c := ts.dial(t)
	c.nc.SetDeadline(time.Now().Add(60 * time.Second))
	c.send(respCmd("SET", "short", "v", "PX", "20"))
	c.expect("+OK\r\n")
	testutil.Await(t, 30*time.Second, func() bool {
		return !strings.Contains(c.call("INFO", "keyspace").(string), "expires=1")
	}, func() string { return "the key's expiry was never carried out: " + c.call("INFO", "keyspace").(string) })

	s := ts.dial(t)
	s.nc.SetDeadline(time.Now().Add(60 * time.Second))
	s.send(respCmd("SUBSCRIBE", "ch"))
	s.expect("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n")
	for i := range 20 {
		msg := strconv.Itoa(i)
		c.send(respCmd("PUBLISH", "ch", msg))
		c.expect(":1\r\n")
		s.expect(fmt.Sprintf("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$%d\r\n%s\r\n", len(msg), msg))
	}
}

// TestLoopAccepts has the loop accept on a listener no Serve goroutine
// accepts on: its connections are served, on the loop, until the loop is
// told to stop; a listener that is not a plain socket is left to Serve; a
// Unix socket's listener is accepted on as a TCP one.
func TestLoopAccepts(t *testing.T) {
	ts := startLoop(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	testutil.Await(t, 10*time.Second, func() bool { return ts.loop.listening.Load() == 1 },
		func() string { return "the loop does not accept on the server's listener" })
	ll := ts.loop.listen(ln, false)
	if ll == nil {
		t.Fatal("the loop does not accept on a TCP listener")
	}
	testutil.Await(t, 10*time.Second, func() bool { return ts.loop.listening.Load() == 2 },
		func() string { return "the loop never took the listener" })
	for range 3 {
		c := dialAddr(t, "tcp", ln.Addr().String())
		c.send(respCmd("SET", "accepted", "1") + respCmd("INCR", "accepted"))
		c.expect("+OK\r\n:2\r\n")
		if !onLoop(t, ts, c.clientID()) {
			t.Fatal("a connection the loop accepted is not on the loop")
		}
		c.nc.Close()
	}
	ts.loop.unlisten(ll)
	testutil.Await(t, 10*time.Second, func() bool { return ts.loop.listening.Load() == 1 },
		func() string { return "the loop never let the listener go" })
	nc, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, respCmd("PING"))
	nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := nc.Read(make([]byte, 16)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection made after the loop let the listener go was answered (%d bytes, %v)", n, err)
	}
	if ts.loop.listen(hidden{ln}, false) != nil {
		t.Fatal("the loop takes a listener whose socket it cannot see")
	}

	// A Unix socket's listener too.
	uln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	ull := ts.loop.listen(uln, false)
	if ull == nil {
		t.Fatal("the loop does not accept on a Unix listener")
	}
	defer ts.loop.unlisten(ull)
	testutil.Await(t, 10*time.Second, func() bool { return ts.loop.listening.Load() == 2 },
		func() string { return "the loop never took the Unix listener" })
	c := dialAddr(t, "unix", uln.Addr().String())
	c.send(respCmd("INCR", "accepted"))
	c.expect(":3\r\n")
	if !onLoop(t, ts, c.clientID()) {
		t.Fatal("a connection the loop accepted on a Unix socket is not on the loop")
	}
}

// hidden is a listener that does not show its socket, as a TLS one.
type hidden struct{ net.Listener }
