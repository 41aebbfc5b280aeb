package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// proc is the real binary running in a test.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *testutil.SyncBuffer
}

// startBinary runs bin with args and waits for its banner.
func startBinary(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &testutil.SyncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	banner, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "Server listening on 127.0.0.1:") {
		t.Fatalf("banner: got %q, %v; stderr %q", banner, err, p.stderr.String())
	}
	p.addr = strings.Fields(banner)[3]
	return p
}

// stop ends the process with sig and waits for it.
func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("did not exit after %v", sig)
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "data-cluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestKill9 writes from several clients, kills the server with SIGKILL in
// the middle, and checks after a restart that every write the server had
// acknowledged is there with its value; then that TTLs survive, and that a
// restart with another number of shards keeps every key. The clients are
// served by the io_uring loop, then by goroutines (--io-uring=false).
func TestKill9(t *testing.T) {
	bin := buildBinary(t)
	for _, run := range []struct{ fsync, path string }{
		{"everysec", "io_uring"}, {"always", "io_uring"}, {"everysec", "epoll"}, {"always", "epoll"},
	} {
		t.Run(run.fsync+"/"+run.path, func(t *testing.T) {
			fsync := run.fsync
			dir := t.TempDir()
			p := startBinary(t, bin, "--data-dir", dir, "--shards", "3", "--fsync", fsync, "--snapshot-log-size", "64kb",
				"--io-uring="+strconv.FormatBool(run.path == "io_uring"))
			ctx := context.Background()
			first := redis.NewClient(&redis.Options{Addr: p.addr})
			defer first.Close()
			if api := infoField(t, first, "server", "multiplexing_api"); api != run.path {
				if run.path == "io_uring" && strings.Contains(p.stderr.String(), "io_uring refused") {
					t.Skipf("NOT TESTED: this host refuses io_uring: %s", p.stderr.String())
				}
				t.Fatalf("multiplexing_api %q, want %q", api, run.path)
			}
			short := time.Now().Add(300 * time.Millisecond)
			if err := first.Set(ctx, "short", "s", time.Until(short)).Err(); err != nil {
				t.Fatal(err)
			}
			if err := first.Set(ctx, "long", "l", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}

			const writers = 6
			type acked struct {
				keys    map[string]string
				counter int64 // last INCR reply acknowledged
			}
			results := make([]acked, writers)
			var wg sync.WaitGroup
			var progress sync.WaitGroup
			progress.Add(writers)
			for w := range writers {
				wg.Go(func() {
					rc := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1, PoolSize: 1})
					defer rc.Close()
					a := acked{keys: map[string]string{}}
					signalled := false
					for i := 0; i < 100000; i++ {
						if i == 200 {
							progress.Done() // enough acknowledged writes to kill the server now
							signalled = true
						}
						k, v := fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("value-%d-%d", w, i)
						if w%2 == 0 {
							if rc.Set(ctx, k, v, 0).Err() != nil {
								break
							}
							a.keys[k] = v
							n, err := rc.Incr(ctx, fmt.Sprint("counter", w)).Result()
							if err != nil {
								break
							}
							a.counter = n
							// An MSET whose keys lie on several shards.
							mk := []string{k + ".m0", k + ".m1", k + ".m2"}
							if rc.MSet(ctx, mk[0], v, mk[1], v, mk[2], v).Err() != nil {
								break
							}
							for _, m := range mk {
								a.keys[m] = v
							}
							continue
						}
						// A pipeline of 8 writes: each acknowledged one counts.
						cmds, _ := rc.Pipelined(ctx, func(pl redis.Pipeliner) error {
							for j := range 8 {
								pl.Set(ctx, fmt.Sprintf("%s.%d", k, j), v, 0)
							}
							return nil
						})
						failed := len(cmds) == 0
						for j, c := range cmds {
							if c.Err() != nil {
								failed = true
								continue
							}
							a.keys[fmt.Sprintf("%s.%d", k, j)] = v
						}
						if failed {
							break
						}
					}
					if !signalled {
						progress.Done()
					}
					results[w] = a
				})
			}
			progress.Wait()
			p.stop(t, syscall.SIGKILL)
			wg.Wait()

			p = startBinary(t, bin, "--data-dir", dir, "--shards", "3", "--fsync", fsync)
			rc := redis.NewClient(&redis.Options{Addr: p.addr})
			defer rc.Close()
			total := 0
			for w, a := range results {
				total += len(a.keys)
				checkKeys(t, rc, a.keys)
				if w%2 == 0 {
					got, err := rc.Get(ctx, fmt.Sprint("counter", w)).Int64()
					if err != nil || got < a.counter || got > a.counter+1 {
						t.Errorf("counter%d: got %d, %v; acknowledged %d", w, got, err, a.counter)
					}
				}
			}
			if total < writers*200 {
				t.Fatalf("only %d writes acknowledged before the kill", total)
			}
			t.Logf("%d writes acknowledged before the kill, all found after the restart", total)
			for time.Now().Before(short.Add(10 * time.Millisecond)) {
				time.Sleep(10 * time.Millisecond)
			}
			p.stop(t, syscall.SIGTERM)

			// The short key expired while the server was down; the long one
			// keeps its expiry. Restart with more shards and fewer vnodes.
			p = startBinary(t, bin, "--data-dir", dir, "--shards", "5", "--vnodes", "16")
			rc2 := redis.NewClient(&redis.Options{Addr: p.addr})
			defer rc2.Close()
			if err := rc2.Get(ctx, "short").Err(); err != redis.Nil {
				t.Errorf("short: got %v, want it expired", err)
			}
			if ttl := rc2.TTL(ctx, "long").Val(); ttl <= 0 || ttl > time.Hour {
				t.Errorf("long: TTL %v, want up to an hour", ttl)
			}
			for _, a := range results {
				checkKeys(t, rc2, a.keys)
			}
			if !strings.Contains(p.stderr.String(), "topology changed") {
				t.Errorf("no log of the topology change: %s", p.stderr.String())
			}
			p.stop(t, syscall.SIGTERM)
		})
	}
}

func checkKeys(t *testing.T, rc *redis.Client, keys map[string]string) {
	t.Helper()
	ctx := context.Background()
	pl := rc.Pipeline()
	cmds := map[string]*redis.StringCmd{}
	for k := range keys {
		cmds[k] = pl.Get(ctx, k)
	}
	pl.Exec(ctx)
	bad := 0
	for k, c := range cmds {
		if got, err := c.Result(); err != nil || got != keys[k] {
			if bad++; bad <= 5 {
				t.Errorf("%s: got %q, %v; want %q (acknowledged before the kill)", k, got, err, keys[k])
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d acknowledged writes missing in all", bad)
	}
}

// TestKill9AfterMultiShardWrites: an MSET and a MULTI/EXEC whose keys lie
// on every shard (run by holding the shards, router.Pipeline.Release) are
// in the log once acknowledged, with nothing else written after them that
// could carry their records: kill -9 right after the replies loses none.
func TestKill9AfterMultiShardWrites(t *testing.T) {
	bin := buildBinary(t)
	for _, fsync := range []string{"everysec", "always", "no"} {
		t.Run(fsync, func(t *testing.T) {
			dir := t.TempDir()
			p := startBinary(t, bin, "--data-dir", dir, "--shards", "3", "--fsync", fsync)
			ctx := context.Background()
			rc := redis.NewClient(&redis.Options{Addr: p.addr})
			defer rc.Close()
			want := map[string]string{}
			var pairs []any
			for i := range 9 {
				k, v := fmt.Sprint("m", i), fmt.Sprint("mset-", i)
				pairs = append(pairs, k, v)
				want[k] = v
			}
			if err := rc.MSet(ctx, pairs...).Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := rc.TxPipelined(ctx, func(pl redis.Pipeliner) error {
				for i := range 9 {
					k, v := fmt.Sprint("x", i), fmt.Sprint("multi-", i)
					pl.Set(ctx, k, v, 0)
					want[k] = v
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			p.stop(t, syscall.SIGKILL)
			p = startBinary(t, bin, "--data-dir", dir, "--shards", "3", "--fsync", fsync)
			rc2 := redis.NewClient(&redis.Options{Addr: p.addr})
			defer rc2.Close()
			checkKeys(t, rc2, want)
			p.stop(t, syscall.SIGTERM)
		})
	}
}

// TestCorruptDataRefusesToStart damages a log and checks that the server
// refuses to start, naming the file, and starts after repair.
func TestCorruptDataRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--shards", "1"}, &stdout, &stderr)
	}()
	addr := waitBanner(t, &stdout, &stderr)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	for i := range 10 {
		rc.Set(ctx, fmt.Sprint("k", i), "v", 0)
	}
	rc.Close()
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit status %d", code)
	}

	logPath := filepath.Join(dir, "gen-1", "log", "000000000001.log")
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	os.WriteFile(logPath, data, 0o644)

	stdout, stderr = testutil.SyncBuffer{}, testutil.SyncBuffer{}
	code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--shards", "1"}, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), logPath) || !strings.Contains(stderr.String(), "at offset") ||
		!strings.Contains(stderr.String(), "data-cluster repair --data-dir") {
		t.Fatalf("start on damaged data: exit %d, stderr %q", code, stderr.String())
	}

	stdout, stderr = testutil.SyncBuffer{}, testutil.SyncBuffer{}
	if code := run(context.Background(), []string{"repair", "--data-dir", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("repair: exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "truncated there") {
		t.Fatalf("repair output: %q", stdout.String())
	}
	if _, err := os.Stat(logPath + ".corrupt"); err != nil {
		t.Fatalf("no copy of the cut bytes: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	stdout, stderr = testutil.SyncBuffer{}, testutil.SyncBuffer{}
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--shards", "1"}, &stdout, &stderr)
	}()
	addr = waitBanner(t, &stdout, &stderr)
	rc = redis.NewClient(&redis.Options{Addr: addr})
	n := rc.DBSize(context.Background()).Val()
	rc.Close()
	cancel()
	<-done
	if n < 1 || n >= 10 {
		t.Fatalf("after repair: %d keys, want those before the damage", n)
	}
}

func waitBanner(t *testing.T, stdout, stderr *testutil.SyncBuffer) string {
	t.Helper()
	for i := 0; ; i++ {
		if b := stdout.String(); strings.HasSuffix(b, "\n") {
			return strings.Fields(b)[3]
		}
		if i == 2000 {
			t.Fatalf("no banner; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPersistFlags(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--fsync", "sometimes"}, nil, `invalid value "sometimes" for --fsync`},
		{nil, map[string]string{"DATA_CLUSTER_FSYNC": "never"}, `invalid value "never" for DATA_CLUSTER_FSYNC`},
		{[]string{"--snapshot-log-size", "0"}, nil, "--snapshot-log-size"},
		{[]string{"--snapshot-log-size", "lots"}, nil, "want a whole number of bytes"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr testutil.SyncBuffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitUsage, tt.want)
			}
		})
	}
	var stdout, stderr testutil.SyncBuffer
	run(context.Background(), []string{"--help"}, &stdout, &stderr)
	for _, f := range []string{"-data-dir", "-fsync", "(default \"everysec\")", "-snapshot-log-size", "repair"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("help lacks %q", f)
		}
	}
	stdout, stderr = testutil.SyncBuffer{}, testutil.SyncBuffer{}
	if code := run(context.Background(), []string{"repair"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--data-dir is required") {
		t.Errorf("repair without --data-dir: exit %d, %q", code, stderr.String())
	}
	t.Setenv("DATA_CLUSTER_DATA_DIR", t.TempDir())
	stdout, stderr = testutil.SyncBuffer{}, testutil.SyncBuffer{}
	if code := run(context.Background(), []string{"repair"}, &stdout, &stderr); code != exitError || !strings.Contains(stderr.String(), "not a data directory") {
		t.Errorf("repair of an empty directory from the environment: exit %d, %q", code, stderr.String())
	}
}

// TestKill9Streams adds entries to streams and reads and acknowledges them
// through a consumer group from several clients, kills the server with
// SIGKILL in the middle, and checks after a restart, and again after a
// restart with another number of shards, that every acknowledged XADD is
// there, every entry delivered and not acknowledged is pending for the
// consumer it was delivered to, and no acknowledged XACK came back.
func TestKill9Streams(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startBinary(t, bin, "--data-dir", dir, "--shards", "3", "--fsync", "always", "--snapshot-log-size", "64kb")
	ctx := context.Background()
	const streams, workers = 4, 4
	setup := redis.NewClient(&redis.Options{Addr: p.addr})
	defer setup.Close()
	for s := range streams {
		if err := setup.XGroupCreateMkStream(ctx, fmt.Sprint("jobs", s), "g", "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	type seen struct {
		added     map[string]bool   // stream/id of acknowledged XADDs
		delivered map[string]string // stream/id → consumer, not acknowledged
		acked     map[string]bool   // stream/id acknowledged by XACK
	}
	results := make([]seen, workers)
	var wg sync.WaitGroup
	var progress sync.WaitGroup
	progress.Add(workers)
	for w := range workers {
		wg.Go(func() {
			rc := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1, PoolSize: 1})
			defer rc.Close()
			a := seen{added: map[string]bool{}, delivered: map[string]string{}, acked: map[string]bool{}}
			consumer := fmt.Sprint("c", w)
			signalled := false
			defer func() {
				if !signalled {
					progress.Done()
				}
				results[w] = a
			}()
			for i := 0; i < 100000; i++ {
				if i == 150 {
					progress.Done()
					signalled = true
				}
				key := fmt.Sprint("jobs", (w+i)%streams)
				id, err := rc.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []string{"w", fmt.Sprint(w), "i", fmt.Sprint(i)}}).Result()
				if err != nil {
					return
				}
				a.added[key+"/"+id] = true
				got, err := rc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: consumer, Streams: []string{key, ">"}, Count: 3, Block: -1}).Result()
				if err != nil && err != redis.Nil {
					return
				}
				for _, st := range got {
					for j, m := range st.Messages {
						a.delivered[key+"/"+m.ID] = consumer
						if j%2 == 1 {
							continue // left pending
						}
						n, err := rc.XAck(ctx, key, "g", m.ID).Result()
						if err != nil {
							delete(a.delivered, key+"/"+m.ID) // acknowledged or not
							return
						}
						if n == 1 {
							delete(a.delivered, key+"/"+m.ID)
							a.acked[key+"/"+m.ID] = true
						}
					}
				}
			}
		})
	}
	progress.Wait()
	p.stop(t, syscall.SIGKILL)
	wg.Wait()

	check := func(p *proc) {
		t.Helper()
		rc := redis.NewClient(&redis.Options{Addr: p.addr})
		defer rc.Close()
		ids := map[string]bool{}
		pending := map[string]string{}
		for s := range streams {
			key := fmt.Sprint("jobs", s)
			msgs, err := rc.XRange(ctx, key, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				ids[key+"/"+m.ID] = true
			}
			ps, err := rc.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: "g", Start: "-", End: "+", Count: 1 << 20}).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, pe := range ps {
				pending[key+"/"+pe.ID] = pe.Consumer
			}
		}
		added, delivered, acked := 0, 0, 0
		for _, a := range results {
			for k := range a.added {
				added++
				if !ids[k] {
					t.Errorf("acknowledged XADD %s is missing", k)
				}
			}
			for k, c := range a.delivered {
				delivered++
				if pending[k] != c {
					t.Errorf("%s was delivered to %s and not acknowledged: pending for %q", k, c, pending[k])
				}
			}
			for k := range a.acked {
				acked++
				if c, ok := pending[k]; ok {
					t.Errorf("%s was acknowledged, and is pending again for %s", k, c)
				}
			}
		}
		if added < workers*150 || delivered == 0 || acked == 0 {
			t.Fatalf("%d XADDs, %d deliveries left pending, %d XACKs acknowledged before the kill: too few", added, delivered, acked)
		}
		t.Logf("%d XADDs, %d pending deliveries and %d XACKs acknowledged before the kill, all found", added, delivered, acked)
	}
	p = startBinary(t, bin, "--data-dir", dir, "--shards", "3", "--fsync", "always")
	check(p)
	p.stop(t, syscall.SIGTERM)
	p = startBinary(t, bin, "--data-dir", dir, "--shards", "5")
	check(p)
	p.stop(t, syscall.SIGTERM)
}

// infoField returns one field of a section of INFO.
func infoField(t *testing.T, rc *redis.Client, section, field string) string {
	t.Helper()
	info, err := rc.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, field, info)
	return ""
}
