package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/slot"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// redisFile is an RDB file redis-cli --rdb took from redis-server 7.0 (see
// internal/rdb/testdata/record.sh): ten keys in database 0 (a stream with
// a consumer group among them), one in 2, a function library.
const redisFile = "../../internal/rdb/testdata/redis-7.0/dump.rdb"

// runImportArgs runs data-cluster import with args.
func runImportArgs(args ...string) (code int, stdout, stderr string) {
	var out, errs testutil.SyncBuffer
	code = run(context.Background(), append([]string{"import"}, args...), &out, &errs)
	return code, out.String(), errs.String()
}

// checkImported checks the keys of redisFile on the server at addr.
func checkImported(t *testing.T, addr string, withDB2 bool) {
	t.Helper()
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	checks := []struct {
		got  fmt.Stringer
		want string
	}{
		{rc.Get(ctx, "str"), "get str: hello"},
		{rc.Get(ctx, "int"), "get int: 42"},
		{rc.PExpireTime(ctx, "ttl"), "pexpiretime ttl: 1139568h0m0s"},
		{rc.HGetAll(ctx, "hash"), "hgetall hash: map[f:v n:1]"},
		{rc.SCard(ctx, "set"), "scard set: 3"},
		{rc.SIsMember(ctx, "intset", "2"), "sismember intset 2: true"},
		{rc.ZRangeWithScores(ctx, "zset", 0, -1), "zrange zset 0 -1 withscores: [{1 a} {2 b}]"},
		{rc.LRange(ctx, "list", 0, -1), "lrange list 0 -1: [a b c]"},
		{rc.SCard(ctx, "bigset"), "scard bigset: 300"},
		{rc.XRange(ctx, "stream", "-", "+"), "xrange stream - +: [{1-1 map[f:v] 0 0} {1-2 map[f:w] 0 0}]"},
		{rc.XInfoGroups(ctx, "stream"), "xinfo groups stream: [{g 1 1 1-1 1 1}]"},
	}
	for _, c := range checks {
		if got := c.got.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	want := "get other: redis: nil"
	if withDB2 {
		want = "get other: db2"
	}
	if got := rc.Get(ctx, "other").String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestImport(t *testing.T) {
	addr := startServer(t)
	code, stdout, stderr := runImportArgs("--rdb", redisFile, "--addr", addr, "--all-dbs", "--pipeline", "3")
	if code != exitOK {
		t.Fatalf("exit status %d, want 0; stderr %q", code, stderr)
	}
	for _, want := range []string{"RDB version 10, redis-ver 7.0.15", "restored 11 keys (4 string, 1 hash, 3 set, 1 list, 1 zset, 1 stream)", "1 function libraries; 0 refused"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report %q lacks %q", stdout, want)
		}
	}
	if !strings.Contains(stderr, "skipped 1 function libraries") {
		t.Errorf("stderr %q does not tell of the function library", stderr)
	}
	checkImported(t, addr, true)
}

func TestImportRefusesOtherDatabases(t *testing.T) {
	addr := startServer(t)
	code, _, stderr := runImportArgs("--rdb", redisFile, "--addr", addr)
	if code != exitError || !strings.Contains(stderr, `key "other" is in database 2`) || !strings.Contains(stderr, "10 keys of database 0 were restored") {
		t.Fatalf("got exit status %d, stderr %q; want 1 and the key of database 2 named", code, stderr)
	}
	checkImported(t, addr, false)
}

// fakeNode serves RESP commands on a port of its own, answering each
// with what handle returns (a whole reply line), and returns its address.
// handle is called from one goroutine per connection.
func fakeNode(t *testing.T, handle func(args []string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				for {
					args, err := readTestCommand(r)
					if err != nil {
						return
					}
					fmt.Fprintf(nc, "%s\r\n", handle(args))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestImportFollowsMoved sends the import to a node that asks to try again
// once, redirects the keys of one slot with ASK to a second node (which
// passes them on to the server), and every other key with MOVED to the
// server: every key ends up on the server, and keys of a slot learnt from
// MOVED go there directly.
func TestImportFollowsMoved(t *testing.T) {
	addr := startServer(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	var asked atomic.Int64
	asking := fakeNode(t, func(args []string) string {
		switch strings.ToUpper(args[0]) {
		case "ASKING":
			asked.Add(1)
			return "+OK"
		case "RESTORE":
			var a []any
			for _, x := range args {
				a = append(a, x)
			}
			if err := rc.Do(context.Background(), a...).Err(); err != nil {
				return "-" + err.Error()
			}
			return "+OK"
		}
		return "-ERR unexpected " + args[0]
	})
	var commands, tried atomic.Int64
	askSlot := slot.Of([]byte("zset"))
	redirecting := fakeNode(t, func(args []string) string {
		commands.Add(1)
		s := slot.Of([]byte(args[1]))
		switch {
		case tried.Add(1) == 1:
			return "-TRYAGAIN Multiple keys request during rehashing of slot"
		case s == askSlot:
			return fmt.Sprintf("-ASK %d %s", s, asking)
		}
		return fmt.Sprintf("-MOVED %d %s", s, addr)
	})
	code, stdout, stderr := runImportArgs("--rdb", redisFile, "--addr", redirecting, "--all-dbs")
	if code != exitOK {
		t.Fatalf("exit status %d, want 0; stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "restored 11 keys") {
		t.Errorf("report %q, want 11 keys restored", stdout)
	}
	checkImported(t, addr, true)
	// Eleven keys, one retried; fewer if two keys shared a slot.
	if n := commands.Load(); n > 12 {
		t.Errorf("the redirecting node got %d commands, want at most 12", n)
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("the ASK target got %d ASKING, want 1", n)
	}
}

// readTestCommand reads one RESP array of bulk strings.
func readTestCommand(r *bufio.Reader) ([]string, error) {
	var n int
	if _, err := fmt.Fscanf(r, "*%d\r\n", &n); err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		var l int
		if _, err := fmt.Fscanf(r, "$%d\r\n", &l); err != nil {
			return nil, err
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:l])
	}
	return args, nil
}

func TestImportPassword(t *testing.T) {
	banner, _ := runInProcess(t, "--addr", "127.0.0.1:0", "--requirepass", "secret")
	addr := strings.Fields(banner)[3]
	if code, _, stderr := runImportArgs("--rdb", redisFile, "--addr", addr, "--all-dbs"); code != exitError || !strings.Contains(stderr, "NOAUTH") {
		t.Errorf("without --password: got exit status %d, stderr %q; want 1 and NOAUTH", code, stderr)
	}
	if code, _, stderr := runImportArgs("--rdb", redisFile, "--addr", addr, "--all-dbs", "--password", "wrong"); code != exitError || !strings.Contains(stderr, "WRONGPASS") {
		t.Errorf("wrong --password: got exit status %d, stderr %q; want 1 and WRONGPASS", code, stderr)
	}
	if code, _, stderr := runImportArgs("--rdb", redisFile, "--addr", addr, "--all-dbs", "--password", "secret"); code != exitOK {
		t.Errorf("--password: got exit status %d, stderr %q; want 0", code, stderr)
	}
}

func TestImportFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "--rdb FILE is required"},
		{[]string{"--rdb", redisFile, "--pipeline", "0"}, exitUsage, "invalid value 0 for --pipeline"},
		{[]string{"--rdb", redisFile, "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"--rdb", "/nonexistent.rdb"}, exitError, "no such file"},
		{[]string{"--rdb", "import_test.go"}, exitError, "not an RDB file"},
		{[]string{"--rdb", redisFile, "--addr", "127.0.0.1:1"}, exitError, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runImportArgs(tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("got exit status %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}
