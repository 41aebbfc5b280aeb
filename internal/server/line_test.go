package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSeedSession replays the seed README's netcat session byte for byte.
func TestSeedSession(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send("SET user1 alice\nGET user1\nLIST\nDELETE user1\nGET user1\n")
	want := "OK\nalice\nuser1\nOK\nERR key not found\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.rd, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestLineProtocol(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	steps := []struct{ send, want string }{
		{"LIST", ""},
		{"set b 2", "OK"},
		{"SeT a 1", "OK"},
		{"SET c 3\r", "OK"},
		{"  GET   a  ", "1"},
		{"LIST", "a,b,c"},
		{"list", "a,b,c"},
		{"SET a 10", "OK"},
		{"GET a", "10"},
		{"DELETE nosuch", "OK"},
		{"delete b", "OK"},
		{"LIST", "a,c"},
		{"GET b", "ERR key not found"},
		{"GET", "ERR wrong number of arguments for 'GET'"},
		{"GET a b", "ERR wrong number of arguments for 'GET'"},
		{"SET a", "ERR wrong number of arguments for 'SET'"},
		{"SET a hello world", "ERR wrong number of arguments for 'SET'"},
		{"delete", "ERR wrong number of arguments for 'delete'"},
		{"LIST x", "ERR wrong number of arguments for 'LIST'"},
		{"FOO bar", "ERR unknown command 'FOO'"},
		{"PING", "ERR unknown command 'PING'"},
		{"GET a", "10"},
	}
	for _, s := range steps {
		if got := c.do(s.send); got != s.want {
			t.Errorf("%q: got %q, want %q", s.send, got, s.want)
		}
	}
}

func TestLineBlankLinesIgnored(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send("\n\r\n   \n\t\nSET k v\n\n\nGET k\n")
	if got := c.line(); got != "OK" {
		t.Fatalf("got %q, want OK", got)
	}
	if got := c.line(); got != "v" {
		t.Fatalf("got %q, want v", got)
	}
}

func TestLineTooLong(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	if got := c.do("SET k " + strings.Repeat("x", 60<<10)); got != "OK" {
		t.Fatalf("a 60 KiB line: got %q, want OK", got)
	}
	c.send("SET k " + strings.Repeat("y", 65<<10) + "\n")
	if got := c.line(); got != "ERR line too long" {
		t.Fatalf("got %q, want ERR line too long", got)
	}
	c.expectClosed()
	// Without any newline at all, the server must not wait forever.
	c2 := ts.dial(t)
	c2.send("SET k " + strings.Repeat("z", 70<<10))
	if got := c2.line(); got != "ERR line too long" {
		t.Fatalf("got %q, want ERR line too long", got)
	}
	c2.expectClosed()
	// Others are served, and the value written before is intact.
	c3 := ts.dial(t)
	if got := c3.do("GET k"); got != strings.Repeat("x", 60<<10) {
		t.Fatalf("GET k after the long lines: got %d bytes", len(got))
	}
}

// TestLinePipeline sends 10,000 commands in one write and checks every reply
// comes back in order.
func TestLinePipeline(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	const n = 10000
	var req bytes.Buffer
	for i := range n {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&req, "SET key%d val%d\n", i, i)
		case 1:
			fmt.Fprintf(&req, "GET key%d\n", i-1)
		case 2:
			fmt.Fprintf(&req, "GET missing%d\n", i)
		}
	}
	go c.nc.Write(req.Bytes())
	for i := range n {
		var want string
		switch i % 3 {
		case 0:
			want = "OK"
		case 1:
			want = fmt.Sprintf("val%d", i-1)
		case 2:
			want = "ERR key not found"
		}
		if got := c.line(); got != want {
			t.Fatalf("reply %d: got %q, want %q", i, got, want)
		}
	}
}

func TestLineConcurrentClients(t *testing.T) {
	ts := start(t, nil)
	const clients, ops = 32, 200
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for id := range clients {
		wg.Go(func() {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(60 * time.Second))
			c := &client{t: t, nc: nc}
			c.rd = newReader(nc)
			for i := range ops {
				key := fmt.Sprintf("c%d-k%d", id, i)
				if _, err := fmt.Fprintf(nc, "SET %s v%d\nGET %s\n", key, i, key); err != nil {
					errs <- err
					return
				}
				if got, err := readLine(c.rd); err != nil || got != "OK" {
					errs <- fmt.Errorf("client %d SET %s: got %q, %v", id, key, got, err)
					return
				}
				if got, err := readLine(c.rd); err != nil || got != fmt.Sprintf("v%d", i) {
					errs <- fmt.Errorf("client %d GET %s: got %q, %v", id, key, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := ts.dial(t)
	keys := strings.Split(c.do("LIST"), ",")
	if len(keys) != clients*ops {
		t.Fatalf("LIST has %d keys, want %d", len(keys), clients*ops)
	}
}

// TestLineBurstTinyQueues pipelines bursts of SETs at a server with tiny
// queues: every command gets exactly one reply, some are BUSY, a BUSY SET
// left no trace and an OK SET is readable.
func TestLineBurstTinyQueues(t *testing.T) {
	ts := start(t, func(c *Config) {
		c.Router.ShardQueue = 2
		c.Router.RouterQueue = 4
	})
	const clients, n = 8, 1000
	results := make([][]string, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for id := range clients {
		wg.Go(func() {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(60 * time.Second))
			var req bytes.Buffer
			for i := range n {
				fmt.Fprintf(&req, "SET b%d-%d v%d\n", id, i, i)
			}
			go nc.Write(req.Bytes())
			rd := newReader(nc)
			for range n {
				got, err := readLine(rd)
				if err != nil {
					errs <- err
					return
				}
				results[id] = append(results[id], got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := ts.dial(t)
	busy, ok := 0, 0
	for id, replies := range results {
		for i, r := range replies {
			got := c.do(fmt.Sprintf("GET b%d-%d", id, i))
			switch r {
			case "OK":
				ok++
				if want := fmt.Sprintf("v%d", i); got != want {
					t.Errorf("b%d-%d was acknowledged: got %q, want %q", id, i, got, want)
				}
			case "BUSY":
				busy++
				if got != "ERR key not found" {
					t.Errorf("b%d-%d was refused with BUSY but GET gives %q", id, i, got)
				}
			default:
				t.Errorf("reply %d of client %d: got %q, want OK or BUSY", i, id, r)
			}
		}
	}
	if busy == 0 || ok == 0 {
		t.Fatalf("got %d OK and %d BUSY, want some of each", ok, busy)
	}
	t.Logf("%d OK, %d BUSY", ok, busy)
}

// TestShutdownWithClients shuts the server down with clients connected,
// idle and mid-pipeline: each gets the replies to what it sent, then EOF.
func TestShutdownWithClients(t *testing.T) {
	ts := start(t, nil)
	idle := ts.dial(t)
	if got := idle.do("SET a 1"); got != "OK" {
		t.Fatalf("got %q", got)
	}
	busy := ts.dial(t)
	busy.send("SET b 2\nGET b\n")
	if got := busy.line(); got != "OK" {
		t.Fatalf("got %q", got)
	}
	if got := busy.line(); got != "2" {
		t.Fatalf("got %q", got)
	}
	partial := ts.dial(t)
	partial.send("GET a") // no newline yet
	// Wait until the server has accepted all three: a connection still in
	// the listen backlog is simply reset when the listener closes.
	for i := 0; ts.connected.Load() < 3; i++ {
		if i == 500 {
			t.Fatalf("%d clients connected, want 3", ts.connected.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("shutdown took %v", time.Since(began))
	for _, c := range []*client{idle, busy, partial} {
		c.expectClosed()
	}
	if err := <-ts.done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
	ts.done <- ErrServerClosed // for the cleanup
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("the listener still accepts after Shutdown")
	}
}
