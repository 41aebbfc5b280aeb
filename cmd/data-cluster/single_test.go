package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// writeSingleServerDir runs a single server, in this process, on data dir
// dir, lets fill write through a client, and stops it.
func writeSingleServerDir(t *testing.T, dir string, fill func(ctx context.Context, rc *redis.Client)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--fsync", "always"}, &stdout, &stderr)
	}()
	addr := waitBanner(t, &stdout, &stderr)
	if fill != nil {
		rc := redis.NewClient(&redis.Options{Addr: addr})
		fill(ctx, rc)
		rc.Close()
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("single server: exit %d; stderr %s", code, stderr.String())
	}
}

// singleFixture is what TestClusterFromSingleServer writes to the single
// server and checks on the cluster.
type singleFixture struct {
	strings int
}

func (f singleFixture) fill(t *testing.T) func(context.Context, *redis.Client) {
	return func(ctx context.Context, rc *redis.Client) {
		pipe := rc.Pipeline()
		for i := range f.strings {
			pipe.Set(ctx, fmt.Sprintf("s:%d", i), fmt.Sprintf("value %d", i), 0)
		}
		pipe.Set(ctx, "ttl", "kept with its time", time.Hour)
		for i := range 500 {
			pipe.HSet(ctx, "hash", fmt.Sprintf("f%d", i), i)
			pipe.SAdd(ctx, "set", i)
			pipe.ZAdd(ctx, "zset", redis.Z{Score: float64(i) / 4, Member: fmt.Sprintf("m%d", i)})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("filling the single server: %v", err)
		}
	}
}

// check reads every key through rc.
func (f singleFixture) check(t *testing.T, ctx context.Context, rc *redis.Client, where string) {
	t.Helper()
	// LIST covers the whole cluster (DBSIZE the node's share).
	if keys, err := rc.Do(ctx, "LIST").StringSlice(); err != nil || len(keys) != f.strings+4 {
		t.Fatalf("%s: LIST gave %d keys, %v; want %d", where, len(keys), err, f.strings+4)
	}
	pipe := rc.Pipeline()
	gets := make([]*redis.StringCmd, f.strings)
	for i := range gets {
		gets[i] = pipe.Get(ctx, fmt.Sprintf("s:%d", i))
	}
	ttl := pipe.TTL(ctx, "ttl")
	hlen, scard := pipe.HLen(ctx, "hash"), pipe.SCard(ctx, "set")
	score := pipe.ZScore(ctx, "zset", "m499")
	rank := pipe.ZRank(ctx, "zset", "m250")
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("%s: reading: %v", where, err)
	}
	for i, g := range gets {
		if g.Val() != fmt.Sprintf("value %d", i) {
			t.Fatalf("%s: s:%d is %q", where, i, g.Val())
		}
	}
	if d := ttl.Val(); d <= 50*time.Minute || d > time.Hour {
		t.Fatalf("%s: TTL ttl %v, want about an hour", where, d)
	}
	if hlen.Val() != 500 || scard.Val() != 500 || score.Val() != 124.75 || rank.Val() != 250 {
		t.Fatalf("%s: HLEN %d, SCARD %d, ZSCORE m499 %v, ZRANK m250 %d", where, hlen.Val(), scard.Val(), score.Val(), rank.Val())
	}
}

// TestClusterFromSingleServer makes a single server's data dir the first
// node of a cluster: started with cluster flags naming it alone, the node
// loads every key into its groups, answering LOADING meanwhile; two nodes
// join, set-replicas gives every group three copies, and once the first
// node is killed the others still serve every key. Founding a cluster of
// three from the same kind of dir is refused.
func TestClusterFromSingleServer(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "n1")
	f := singleFixture{strings: 20000}
	writeSingleServerDir(t, dir, f.fill(t))

	tc := &testCluster{t: t, bin: bin}
	tc.addrs, tc.mets = []string{testutil.FreeAddr(t)}, []string{""}
	peer := testutil.FreeAddr(t)
	tc.args = [][]string{{"--addr", tc.addrs[0], "--node-id", "n1", "--peer-addr", peer, "--initial-cluster", "n1=" + peer,
		"--replicas", "1", "--data-dir", dir, "--fsync", "always"}}
	start := time.Now()
	tc.procs = []*proc{startBinary(t, bin, tc.args[0]...)}
	tc.waitOK(0)
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[0], MaxRetries: -1})
	defer rc.Close()
	waitFor(t, "the single server's keys to be loaded", func() bool {
		err := rc.Get(ctx, "s:0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "LOADING ") {
			t.Fatalf("GET while loading: %v", err)
		}
		return err == nil
	})
	t.Logf("%d keys loaded in %v", f.strings+4, time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(dir, importDir)); !os.IsNotExist(err) {
		t.Fatalf("the loaded data is still in %s: %v", importDir, err)
	}
	f.check(t, ctx, rc, "n1 alone")

	// Restarted, it loads nothing again and keeps every key.
	tc.procs[0].stop(t, syscall.SIGKILL)
	tc.restart(0)
	f.check(t, ctx, rc, "n1 restarted")

	tc.join(0)
	tc.join(0)
	if code, out := tc.admin("set-replicas", "--addr", tc.addrs[0], "3"); code != exitOK {
		t.Fatalf("set-replicas 3: exit %d\n%s", code, out)
	}
	tc.procs[0].stop(t, syscall.SIGKILL)
	rc2 := redis.NewClient(&redis.Options{Addr: tc.addrs[1]})
	defer rc2.Close()
	tc.waitOK(1)
	f.check(t, ctx, rc2, "n2 with n1 killed")
}
