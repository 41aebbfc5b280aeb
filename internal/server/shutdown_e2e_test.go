package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stopHook returns a Config edit whose OnShutdown closes the channel it
// returns, as run's cancels the context a signal would.
func stopHook() (func(*Config), chan struct{}) {
	called := make(chan struct{})
	return func(c *Config) {
		c.OnShutdown = func() { close(called) }
	}, called
}

// notCalled fails the test when the hook was called.
func notCalled(t *testing.T, called chan struct{}) {
	t.Helper()
	select {
	case <-called:
		t.Fatal("SHUTDOWN stopped the server")
	default:
	}
}

// expectStopped waits for the hook, then stops the server as run does and
// checks that Serve returns ErrServerClosed. It puts Serve's error back
// for the cleanup of start.
func expectStopped(t *testing.T, ts *testServer, called chan struct{}) {
	t.Helper()
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatal("SHUTDOWN did not call OnShutdown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	err := <-ts.done
	ts.done <- err
	if !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
}

// TestShutdownRefused checks the replies of the SHUTDOWN commands that do
// not stop the server, with redis-server 7.0.15's texts, and that the
// server goes on serving after each.
func TestShutdownRefused(t *testing.T) {
	edit, called := stopHook()
	ts := start(t, edit)
	c := ts.dial(t)
	const syntax = "-ERR syntax error\r\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SHUTDOWN", "ABORT"}, "-ERR No shutdown in progress.\r\n"},
		{[]string{"shutdown", "abort"}, "-ERR No shutdown in progress.\r\n"},
		{[]string{"SHUTDOWN", "NOSAVE", "SAVE"}, syntax},
		{[]string{"SHUTDOWN", "SAVE", "NOSAVE"}, syntax},
		{[]string{"SHUTDOWN", "FOO"}, syntax},
		{[]string{"SHUTDOWN", "NOSAVE", "FOO"}, syntax},
		{[]string{"SHUTDOWN", "ABORT", "NOW"}, syntax},
		{[]string{"SHUTDOWN", "ABORT", "NOSAVE"}, syntax},
		{[]string{"SHUTDOWN", "FORCE", "ABORT"}, syntax},
		// Persistence is off: there is nothing to save to.
		{[]string{"SHUTDOWN", "SAVE"}, "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"},
		{[]string{"EVAL", "return redis.call('shutdown')", "0"}, "-ERR This Redis command is not allowed from script script: efed7e6fbac55a79c47e5a9e6bd695e63e9dcada, on @user_script:1.\r\n"},
	} {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
		if got := c.raw("PING"); got != "+PONG\r\n" {
			t.Fatalf("PING after %q: got %q", tc.args, got)
		}
	}
	c.send(respCmd("MULTI") + respCmd("SHUTDOWN") + respCmd("EXEC"))
	for _, want := range []string{"+OK\r\n", "-ERR Command not allowed inside a transaction\r\n",
		"-EXECABORT Transaction discarded because of previous errors.\r\n"} {
		if got, err := readRESP(c.rd); err != nil || got != want {
			t.Errorf("SHUTDOWN in MULTI: got %q (%v), want %q", got, err, want)
		}
	}
	// A user without @dangerous (or @admin) may not run it.
	for _, rule := range []string{"-@dangerous", "-@admin"} {
		u := c.raw("ACL", "SETUSER", "u", "reset", "on", "nopass", "+@all", rule)
		a := c.raw("AUTH", "u", "x")
		if u != "+OK\r\n" || a != "+OK\r\n" {
			t.Fatalf("ACL SETUSER u %s, AUTH u: got %q, %q", rule, u, a)
		}
		if got, want := c.raw("SHUTDOWN", "NOSAVE"), "-NOPERM this user has no permissions to run the 'shutdown' command\r\n"; got != want {
			t.Errorf("SHUTDOWN NOSAVE by a user with %s: got %q, want %q", rule, got, want)
		}
		if got := c.raw("AUTH", "default", "x"); got != "+OK\r\n" {
			t.Fatalf("AUTH default: got %q", got)
		}
	}
	notCalled(t, called)
}

// TestShutdownStops checks that SHUTDOWN stops the server: OnShutdown is
// called, the client gets no reply to it nor to what it sent after it, and
// its connection stays open until the server has stopped.
func TestShutdownStops(t *testing.T) {
	for _, args := range [][]string{{"SHUTDOWN"}, {"SHUTDOWN", "NOSAVE"}, {"shutdown", "now", "force"}, {"SHUTDOWN", "NOW", "NOSAVE", "FORCE"}} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			edit, called := stopHook()
			ts := start(t, edit)
			c := ts.dial(t)
			c.send(respCmd("SET", "k", "v") + respCmd(args...) + respCmd("GET", "k"))
			if got, err := readRESP(c.rd); err != nil || got != "+OK\r\n" {
				t.Fatalf("SET before SHUTDOWN: got %q (%v)", got, err)
			}
			select {
			case <-called:
			case <-time.After(10 * time.Second):
				t.Fatal("SHUTDOWN did not call OnShutdown")
			}
			c.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if b, err := c.rd.ReadByte(); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("before the server stopped: read %q (%v), want nothing and the connection open", b, err)
			}
			expectStopped(t, ts, called)
			c.expectClosed()
		})
	}
}

// TestShutdownWithoutHook checks that a server without OnShutdown stops
// itself: Serve returns ErrServerClosed.
func TestShutdownWithoutHook(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.send(respCmd("SHUTDOWN"))
	select {
	case err := <-ts.done:
		ts.done <- err
		if !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve returned %v, want ErrServerClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SHUTDOWN did not stop the server")
	}
	c.expectClosed()
}

// TestShutdownSave checks SHUTDOWN SAVE with persistence on: a snapshot
// is written before the stop, and the data is there after a restart; and
// that a snapshot that fails keeps the server running, unless FORCE.
func TestShutdownSave(t *testing.T) {
	dir := t.TempDir()
	edit, called := stopHook()
	ts := startPersistent(t, dir, 3, edit)
	c := ts.dial(t)
	if got := c.raw("SET", "k", "v"); got != "+OK\r\n" {
		t.Fatalf("SET: got %q", got)
	}
	saves := ts.store.Stats().Saves
	c.send(respCmd("SHUTDOWN", "SAVE"))
	expectStopped(t, ts, called)
	c.expectClosed()
	if got := ts.store.Stats().Saves; got != saves+3 {
		t.Fatalf("snapshots after SHUTDOWN SAVE: got %d, want %d", got, saves+3)
	}

	ts = startPersistent(t, dir, 3, nil)
	c = ts.dial(t)
	if got := c.raw("GET", "k"); got != "$1\r\nv\r\n" {
		t.Fatalf("GET after the restart: got %q", got)
	}

	// A shard's directory gone: its snapshot cannot be written.
	dir = t.TempDir()
	edit, called = stopHook()
	ts = startPersistent(t, dir, 3, edit)
	c = ts.dial(t)
	shards, err := filepath.Glob(filepath.Join(dir, "gen-*", "shard-0"))
	if err != nil || len(shards) != 1 {
		t.Fatalf("shard 0's directory: %v %v", shards, err)
	}
	if err := os.RemoveAll(shards[0]); err != nil {
		t.Fatal(err)
	}
	if got := c.raw("SHUTDOWN", "SAVE"); got != "-ERR Errors trying to SHUTDOWN. Check logs.\r\n" {
		t.Fatalf("SHUTDOWN SAVE with a failing snapshot: got %q", got)
	}
	if got := c.raw("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING after the failed SHUTDOWN: got %q", got)
	}
	notCalled(t, called)
	c.send(respCmd("SHUTDOWN", "SAVE", "FORCE"))
	expectStopped(t, ts, called)
	c.expectClosed()
}

// TestShutdownBusyScript checks SHUTDOWN while a script that wrote is
// busy: refused with BUSY, as in Redis, unless NOSAVE, which stops the
// script and the server.
func TestShutdownBusyScript(t *testing.T) {
	hook, called := stopHook()
	ts, _ := busyServerWith(t, hook)
	a, b := ts.dial(t), ts.dial(t)
	a.send(respCmd("EVAL", "redis.call('set', KEYS[1], 'x') while not redis.gate(1) do end return 'done'", "1", "k"))
	waitReply(t, b, busyEval, "GET", "k")
	for _, args := range [][]string{{"SHUTDOWN"}, {"SHUTDOWN", "SAVE"}, {"SHUTDOWN", "NOW"}, {"SHUTDOWN", "FORCE"}} {
		if got := b.raw(args...); got != busyEval {
			t.Errorf("%q while busy: got %q, want %q", args, got, busyEval)
		}
	}
	notCalled(t, called)
	b.send(respCmd("SHUTDOWN", "NOSAVE"))
	if got, _ := readRESP(a.rd); !strings.HasPrefix(got, "-ERR Script stopped by SHUTDOWN NOSAVE script: ") {
		t.Fatalf("the script answered %q", got)
	}
	expectStopped(t, ts, called)
	a.expectClosed()
	b.expectClosed()
}
