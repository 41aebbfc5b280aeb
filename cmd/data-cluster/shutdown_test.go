package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// shutdown sends SHUTDOWN with args to addr over RESP and checks that the
// connection closes without a reply, as Redis's does.
func shutdown(t *testing.T, addr string, args ...string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	args = append([]string{"SHUTDOWN"}, args...)
	req := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		req += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	if got, err := io.ReadAll(nc); err != nil || len(got) > 0 {
		t.Fatalf("%q: got %q (%v), want the connection closed without a reply", args, got, err)
	}
}

// exited waits for p to exit and checks its status is 0.
func (p *proc) exited(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v, want status 0; stderr %s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("did not exit after SHUTDOWN; stderr %s", p.stderr.String())
	}
}

// TestShutdown stops the server with SHUTDOWN and checks that the process
// exits with status 0 and that every acknowledged write is there after a
// restart.
func TestShutdown(t *testing.T) {
	bin := buildBinary(t)
	for _, args := range [][]string{{}, {"SAVE"}, {"NOSAVE", "NOW"}} {
		t.Run(strings.Join(append([]string{"SHUTDOWN"}, args...), "_"), func(t *testing.T) {
			dir := t.TempDir()
			flags := []string{"--data-dir", dir, "--shards", "3", "--fsync", "always"}
			p := startBinary(t, bin, flags...)
			ctx := context.Background()
			rc := redis.NewClient(&redis.Options{Addr: p.addr})
			defer rc.Close()
			for i := range 100 {
				if err := rc.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			shutdown(t, p.addr, args...)
			p.exited(t)
			if log := p.stderr.String(); !strings.Contains(log, "SHUTDOWN: stopping the server") || !strings.Contains(log, "server stopped") {
				t.Errorf("log: %s", log)
			}

			p = startBinary(t, bin, flags...)
			rc2 := redis.NewClient(&redis.Options{Addr: p.addr})
			defer rc2.Close()
			for i := range 100 {
				if got, err := rc2.Get(ctx, fmt.Sprint("k", i)).Result(); err != nil || got != fmt.Sprint(i) {
					t.Fatalf("k%d after the restart: got %q, %v", i, got, err)
				}
			}
			shutdown(t, p.addr)
			p.exited(t)
		})
	}
}

// TestClusterShutdown stops one node of a cluster with SHUTDOWN SAVE: its
// replicas write snapshots, the process exits with status 0, the other
// nodes go on serving writes, and the node restarted on its data dir has
// every acknowledged write.
func TestClusterShutdown(t *testing.T) {
	tc := startCluster(t, buildBinary(t))
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: tc.addrs[0]})
	defer rc.Close()
	for i := range 50 {
		if err := rc.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		args []any
		want string
	}{
		{[]any{"SHUTDOWN", "ABORT"}, "ERR No shutdown in progress."},
		{[]any{"SHUTDOWN", "NOSAVE", "SAVE"}, "ERR syntax error"},
		{[]any{"SHUTDOWN", "FOO"}, "ERR syntax error"},
	} {
		if err := rc.Do(ctx, tt.args...).Err(); err == nil || err.Error() != tt.want {
			t.Errorf("%q: got %v, want %s", tt.args, err, tt.want)
		}
	}
	// SHUTDOWN SAVE: the node's replicas write snapshots first.
	const victim = 2
	shutdown(t, tc.addrs[victim], "SAVE")
	tc.procs[victim].exited(t)
	if log := tc.procs[victim].stderr.String(); !strings.Contains(log, "SHUTDOWN: stopping the node") || !strings.Contains(log, "server stopped") ||
		strings.Count(log, "snapshot saved") < 4 {
		t.Errorf("log (want the node stopped, after a snapshot of each of its 4 replicas): %s", log)
	}
	waitFor(t, "writes without the stopped node", func() bool {
		return rc.Set(ctx, "after", "1", 0).Err() == nil
	})
	tc.restart(victim)
	rv := redis.NewClient(&redis.Options{Addr: tc.addrs[victim]})
	defer rv.Close()
	for i := range 50 {
		if got, err := rv.Get(ctx, fmt.Sprint("k", i)).Result(); err != nil || got != fmt.Sprint(i) {
			t.Fatalf("k%d through the restarted node: got %q, %v", i, got, err)
		}
	}
	if got, err := rv.Get(ctx, "after").Result(); err != nil || got != "1" {
		t.Fatalf("after through the restarted node: got %q, %v", got, err)
	}
}
