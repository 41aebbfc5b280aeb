package server

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// copyDir copies the files of dir into a new directory, as a crash would
// leave them: what a server started there sees is what was on disk when
// the copy was taken.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

const (
	libA  = "#!lua name=a\nredis.register_function('fa', function(keys, args) return redis.call('incr', keys[1]) end)"
	libB  = "#!lua name=b\nredis.register_function{function_name='fb', callback=function(keys, args) return 'b1' end, flags={'no-writes'}}"
	libB2 = "#!lua name=b\nredis.register_function{function_name='fb', callback=function(keys, args) return 'b2' end, flags={'no-writes'}}"
	libC  = "#!lua name=c\nredis.register_function('fc', function(keys, args) return 'c' end)"
)

// TestFunctionPersist checks that the libraries loaded, replaced and
// deleted are what a server restarted on the data directory has, both
// after a shutdown and from a copy of the directory taken right after the
// last reply (a crash image).
func TestFunctionPersist(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 3, nil)
	c := ts.dial(t)
	for _, code := range []string{libA, libB, libC} {
		if got := c.raw("FUNCTION", "LOAD", code); !strings.HasPrefix(got, "$1\r\n") {
			t.Fatalf("FUNCTION LOAD: got %q", got)
		}
	}
	c.raw("FUNCTION", "LOAD", "REPLACE", libB2)
	if got := c.raw("FUNCTION", "DELETE", "c"); got != "+OK\r\n" {
		t.Fatalf("FUNCTION DELETE: got %q", got)
	}
	crash := copyDir(t, dir)
	check := func(ts *testServer) {
		t.Helper()
		c := ts.dial(t)
		if got := c.raw("FCALL", "fb", "0"); got != "$2\r\nb2\r\n" {
			t.Errorf("FCALL fb: got %q, want b2", got)
		}
		if got := c.raw("FCALL", "fa", "1", "n"); got != ":1\r\n" {
			t.Errorf("FCALL fa: got %q, want 1", got)
		}
		if got := c.raw("FCALL", "fc", "0"); got != "-ERR Function not found\r\n" {
			t.Errorf("FCALL of a deleted library: got %q", got)
		}
	}
	ts.stop(t)
	ts = startPersistent(t, dir, 3, nil)
	check(ts)
	ts.stop(t)
	ts = startPersistent(t, crash, 3, nil)
	check(ts)

	// FUNCTION FLUSH is kept too.
	ts.dial(t).raw("FUNCTION", "FLUSH")
	crash2 := copyDir(t, crash)
	if got := startPersistent(t, crash2, 3, nil).dial(t).raw("FUNCTION", "LIST"); got != "*0\r\n" {
		t.Fatalf("FUNCTION LIST after FLUSH and a crash: got %q", got)
	}
}

// TestFunctionPersistBadFile checks that a damaged libraries file stops
// the server from starting rather than losing the libraries silently.
func TestFunctionPersistBadFile(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 1, nil)
	ts.dial(t).raw("FUNCTION", "LOAD", libA)
	ts.stop(t)
	path := filepath.Join(dir, functionsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Persistence.Dir = dir
	if s, err := New(cfg); err == nil {
		s.closeRouter()
		t.Fatal("a server started on a damaged libraries file")
	} else if !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("got %v, want a checksum error", err)
	}
}

func TestFunctionDumpRestore(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	c.raw("FUNCTION", "LOAD", libA)
	c.raw("FUNCTION", "LOAD", libB)
	dump := c.raw("FUNCTION", "DUMP")
	payload := dump[strings.Index(dump, "\r\n")+2 : len(dump)-2]
	for _, tc := range []struct {
		name   string
		before []string // libraries loaded before the restore
		args   []string
		want   string
		fb     string // FCALL fb after
	}{
		{"append into empty", nil, nil, "+OK\r\n", "$2\r\nb1\r\n"},
		{"append collision", []string{libB2}, nil, "-ERR Library b already exists\r\n", "$2\r\nb2\r\n"},
		{"append explicit", []string{libB2}, []string{"APPEND"}, "-ERR Library b already exists\r\n", "$2\r\nb2\r\n"},
		{"replace", []string{libB2, libC}, []string{"REPLACE"}, "+OK\r\n", "$2\r\nb1\r\n"},
		{"function collision", []string{"#!lua name=x\nredis.register_function('fa', function() return 1 end)"}, []string{"REPLACE"}, "-ERR Function fa already exists\r\n", "-ERR Function not found\r\n"},
		{"flush", []string{"#!lua name=x\nredis.register_function('fa', function() return 1 end)"}, []string{"flush"}, "+OK\r\n", "$2\r\nb1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.raw("FUNCTION", "FLUSH")
			for _, code := range tc.before {
				c.raw("FUNCTION", "LOAD", code)
			}
			if got := c.raw(append([]string{"FUNCTION", "RESTORE", payload}, tc.args...)...); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if got := c.raw("FCALL", "fb", "0"); got != tc.fb {
				t.Fatalf("FCALL fb: got %q, want %q", got, tc.fb)
			}
		})
	}
	c.t = t
	for i := range payload {
		bad := []byte(payload)
		bad[i] ^= 0x55
		if got := c.raw("FUNCTION", "RESTORE", string(bad), "FLUSH"); got != "-ERR DUMP payload version or checksum are wrong\r\n" {
			t.Fatalf("payload with byte %d changed: got %q", i, got)
		}
	}
	if got := c.raw("FUNCTION", "RESTORE", payload[:len(payload)-1]); got != "-ERR DUMP payload version or checksum are wrong\r\n" {
		t.Fatalf("truncated payload: got %q", got)
	}
}

// TestFunctionShards calls functions whose keys live on one shard, on
// several, none, and inside MULTI; and checks that a library replaced
// while clients call it is seen whole by every later call.
func TestFunctionShards(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	c := ts.dial(t)
	c.raw("FUNCTION", "LOAD", "#!lua name=m\nredis.register_function('mset2', function(keys, args) redis.call('set', keys[1], args[1]) redis.call('set', keys[2], args[1]) return redis.call('mget', keys[1], keys[2]) end)\nredis.register_function('v', function() return 1 end)")
	r := ts.Router().Ring()
	other := ""
	for i := 0; other == ""; i++ {
		if k := "o" + strings.Repeat("x", i); r.Lookup([]byte(k)) != r.Lookup([]byte("k")) {
			other = k
		}
	}
	if got := c.raw("FCALL", "mset2", "2", "k", other, "v"); got != "*2\r\n$1\r\nv\r\n$1\r\nv\r\n" {
		t.Fatalf("two shards: got %q", got)
	}
	c.raw("MULTI")
	c.raw("FCALL", "mset2", "2", "k", other, "z")
	c.raw("FCALL", "v", "0")
	if got := c.raw("EXEC"); got != "*2\r\n*2\r\n$1\r\nz\r\n$1\r\nz\r\n:1\r\n" {
		t.Fatalf("EXEC: got %q", got)
	}

	// Replace the library while clients call it: each reply is one
	// version's, and once REPLACE is answered, only the new one's.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		cl := ts.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cl.send(respCmd("FCALL", "v", "1", "k"))
				got, err := readRESP(cl.rd)
				if err != nil || got != ":1\r\n" && got != ":2\r\n" {
					t.Errorf("FCALL v during REPLACE: %q %v", got, err)
					return
				}
			}
		}()
	}
	c.raw("FUNCTION", "LOAD", "REPLACE", "#!lua name=m\nredis.register_function('v', function() return 2 end)")
	close(stop)
	wg.Wait()
	for range 20 {
		if got := c.raw("FCALL", "v", "1", "k"); got != ":2\r\n" {
			t.Fatalf("FCALL v after REPLACE: got %q, want 2", got)
		}
	}
}

// TestFunctionAllowOOM checks that over maxmemory a function that may
// write is refused unless flagged allow-oom, and a no-writes one runs.
func TestFunctionAllowOOM(t *testing.T) {
	ts, rc := startEvicting(t, keyspace.NoEviction)
	if errs := fill(t, rc, "k", 3000, 0, nil); len(errs) == 0 {
		t.Fatal("no write was refused over maxmemory")
	}
	c := ts.dial(t)
	c.raw("FUNCTION", "LOAD", "#!lua name=o\n"+
		"redis.register_function('w', function(keys) return redis.call('set', keys[1], 'x') end)\n"+
		"redis.register_function{function_name='oom', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'allow-oom'}}\n"+
		"redis.register_function{function_name='r', callback=function(keys) return redis.call('exists', keys[1]) end, flags={'no-writes'}}")
	const oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"FCALL", "w", "1", "k0"}, oom},
		{[]string{"FCALL", "w", "0"}, oom},
		{[]string{"FCALL", "oom", "1", "k0"}, "+OK\r\n"},
		{[]string{"FCALL_RO", "r", "1", "k0"}, ":1\r\n"},
	} {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, got, tc.want)
		}
	}
}
