package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/wal"
)

// startPersistent runs a server keeping its data in dir.
func startPersistent(t *testing.T, dir string, shards int, edit func(*Config)) *testServer {
	t.Helper()
	return start(t, func(c *Config) {
		c.Router.Shards = shards
		c.Persistence.Dir = dir
		if edit != nil {
			edit(c)
		}
	})
}

// stop shuts ts down, as SIGTERM does.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPersistenceRestart writes with every kind of command, restarts the
// server on the same directory, and reads everything back, through both
// protocols.
func TestPersistenceRestart(t *testing.T) {
	for _, fsync := range []wal.Fsync{wal.FsyncAlways, wal.FsyncEverySec, wal.FsyncNo} {
		t.Run(fsync.String(), func(t *testing.T) {
			dir := t.TempDir()
			edit := func(c *Config) { c.Persistence.Fsync = fsync }
			ts := startPersistent(t, dir, 3, edit)
			ctx := context.Background()
			rc := newClient(t, ts, nil)
			steps := []*redis.StatusCmd{
				rc.Set(ctx, "s", "v", 0),
				rc.Set(ctx, "ttl", "v", time.Hour),
				rc.Set(ctx, "gone", "v", 0),
				rc.MSet(ctx, "m1", "a", "m2", "b", "m3", "c"),
				rc.Set(ctx, "old", "x", 0),
				rc.Rename(ctx, "old", "renamed"),
			}
			for _, s := range steps {
				if s.Err() != nil {
					t.Fatal(s.Err())
				}
			}
			rc.Incr(ctx, "counter")
			rc.IncrBy(ctx, "counter", 41)
			rc.Append(ctx, "s", "alue")
			rc.Del(ctx, "gone")
			rc.Set(ctx, "persisted", "p", time.Hour)
			rc.Persist(ctx, "persisted")
			tx := rc.TxPipeline()
			tx.Set(ctx, "tx1", "1", 0)
			tx.Set(ctx, "tx2", "2", 0)
			if _, err := tx.Exec(ctx); err != nil {
				t.Fatal(err)
			}
			line := ts.dial(t)
			if got := line.do("SET lineproto 1"); got != "OK" {
				t.Fatalf("line SET: %q", got)
			}
			ts.stop(t)

			ts = startPersistent(t, dir, 3, edit)
			rc = newClient(t, ts, nil)
			want := map[string]string{"s": "value", "ttl": "v", "m1": "a", "m2": "b", "m3": "c", "renamed": "x",
				"counter": "42", "persisted": "p", "tx1": "1", "tx2": "2", "lineproto": "1"}
			// SCAN first, before any other command: every shard's count of
			// keys is known from the start (SCAN skips the empty ones).
			if seen := keysScan(ctx, t, rc, "", 1000, "", 10); len(seen) != len(want) {
				t.Errorf("SCAN after restart: got %v, want the %d keys", seen, len(want))
			}
			for k, v := range want {
				if got, err := rc.Get(ctx, k).Result(); err != nil || got != v {
					t.Errorf("GET %s: got %q, %v; want %q", k, got, err, v)
				}
			}
			for _, k := range []string{"gone", "old"} {
				if n, _ := rc.Exists(ctx, k).Result(); n != 0 {
					t.Errorf("%s exists after restart", k)
				}
			}
			if ttl, _ := rc.TTL(ctx, "ttl").Result(); ttl <= 0 || ttl > time.Hour {
				t.Errorf("TTL ttl: got %v, want up to an hour", ttl)
			}
			if ttl, _ := rc.TTL(ctx, "persisted").Result(); ttl != -1 {
				t.Errorf("TTL persisted: got %v, want -1 (no expiry)", ttl)
			}
			if n, _ := rc.DBSize(ctx).Result(); n != int64(len(want)) {
				t.Errorf("DBSIZE: got %d, want %d", n, len(want))
			}
		})
	}
}

func TestFlushAllPersists(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 3, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	for i := range 20 {
		rc.Set(ctx, fmt.Sprint("k", i), "v", 0)
	}
	rc.FlushAll(ctx)
	rc.Set(ctx, "after", "v", 0)
	ts.stop(t)
	ts = startPersistent(t, dir, 3, nil)
	rc = newClient(t, ts, nil)
	if keys, _ := rc.Keys(ctx, "*").Result(); len(keys) != 1 || keys[0] != "after" {
		t.Fatalf("keys after restart: %q, want [after]", keys)
	}
}

// TestSaveCommands checks SAVE, BGSAVE, LASTSAVE, INFO persistence and
// CONFIG GET with persistence on, and that a snapshot plus the log after it
// restore the data.
func TestSaveCommands(t *testing.T) {
	dir := t.TempDir()
	ts := startPersistent(t, dir, 2, func(c *Config) { c.Persistence.Fsync = wal.FsyncAlways })
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	for i := range 50 {
		rc.Set(ctx, fmt.Sprint("k", i), fmt.Sprint(i), 0)
	}
	info := rc.Info(ctx, "persistence").Val()
	for _, want := range []string{"# Persistence\r\n", "loading:0\r\n", "aof_enabled:1\r\n", "rdb_changes_since_last_save:50\r\n",
		"rdb_bgsave_in_progress:0\r\n", "aof_last_write_status:ok\r\n", "aof_fsync:always\r\n", "rdb_saves:0\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO persistence lacks %q:\n%s", want, info)
		}
	}
	before := rc.LastSave(ctx).Val()
	if before <= 0 || before > time.Now().Unix() {
		t.Errorf("LASTSAVE before any save: %d", before)
	}
	if got, err := rc.Save(ctx).Result(); err != nil || got != "OK" {
		t.Fatalf("SAVE: %q, %v", got, err)
	}
	info = rc.Info(ctx, "persistence").Val()
	for _, want := range []string{"rdb_changes_since_last_save:0\r\n", "rdb_saves:2\r\n", "rdb_last_bgsave_status:ok\r\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO persistence after SAVE lacks %q:\n%s", want, info)
		}
	}
	if got := rc.LastSave(ctx).Val(); got < before {
		t.Errorf("LASTSAVE after SAVE: %d, before %d", got, before)
	}
	got, err := rc.BgSave(ctx).Result()
	if err != nil && err.Error() != "ERR Background save already in progress" || err == nil && got != "Background saving started" {
		t.Fatalf("BGSAVE: %q, %v", got, err)
	}
	if got, err := rc.Do(ctx, "BGSAVE", "SCHEDULE").Text(); err != nil || !strings.HasPrefix(got, "Background saving") {
		t.Fatalf("BGSAVE SCHEDULE: %q, %v", got, err)
	}
	if err := rc.Do(ctx, "BGSAVE", "NOW").Err(); err == nil || err.Error() != "ERR syntax error" {
		t.Fatalf("BGSAVE NOW: %v", err)
	}
	for k, want := range map[string]string{"appendonly": "yes", "appendfsync": "always", "dir": dir} {
		if got := rc.ConfigGet(ctx, k).Val()[k]; got != want {
			t.Errorf("CONFIG GET %s: got %q, want %q", k, got, want)
		}
	}
	tx := rc.TxPipeline()
	tx.Save(ctx)
	if _, err := tx.Exec(ctx); err == nil || !strings.Contains(err.Error(), "not allowed") && !strings.Contains(err.Error(), "EXECABORT") {
		t.Errorf("SAVE in MULTI: %v", err)
	}
	rc.Set(ctx, "k0", "changed", 0)
	rc.Del(ctx, "k1")
	ts.stop(t)

	ts = startPersistent(t, dir, 2, nil)
	rc = newClient(t, ts, nil)
	if n := rc.DBSize(ctx).Val(); n != 49 {
		t.Errorf("DBSIZE after restart: %d, want 49", n)
	}
	if got := rc.Get(ctx, "k0").Val(); got != "changed" {
		t.Errorf("k0: got %q, want changed", got)
	}
	if got := rc.Get(ctx, "k49").Val(); got != "49" {
		t.Errorf("k49: got %q, want 49", got)
	}
	if info := rc.Info(ctx, "persistence").Val(); !strings.Contains(info, "rdb_last_load_keys_loaded:49\r\n") {
		t.Errorf("INFO persistence after restart:\n%s", info)
	}
}

func TestSaveWithoutPersistence(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	for _, cmd := range [][]any{{"SAVE"}, {"BGSAVE"}} {
		if err := rc.Do(ctx, cmd...).Err(); err == nil || err.Error() != errNoPersistence {
			t.Errorf("%v: got %v, want %q", cmd, err, errNoPersistence)
		}
	}
	if got := rc.LastSave(ctx).Val(); got != ts.start.Unix() {
		t.Errorf("LASTSAVE: got %d, want the start time %d", got, ts.start.Unix())
	}
	info := rc.Info(ctx, "persistence").Val()
	if !strings.Contains(info, "aof_enabled:0\r\n") || strings.Contains(info, "aof_current_size") {
		t.Errorf("INFO persistence:\n%s", info)
	}
	if got := rc.ConfigGet(ctx, "appendonly").Val()["appendonly"]; got != "no" {
		t.Errorf("CONFIG GET appendonly: %q", got)
	}
}

// TestRestartOtherShardCount restarts with more and then fewer shards: every
// key must still be there.
func TestRestartOtherShardCount(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ts := startPersistent(t, dir, 3, nil)
	rc := newClient(t, ts, nil)
	for i := range 300 {
		rc.Set(ctx, fmt.Sprint("k", i), fmt.Sprint(i), 0)
	}
	ts.stop(t)
	for _, shards := range []int{7, 2} {
		ts = startPersistent(t, dir, shards, func(c *Config) { c.Router.Vnodes = 16 })
		rc = newClient(t, ts, nil)
		if n := rc.DBSize(ctx).Val(); n != 300 {
			t.Fatalf("%d shards: DBSIZE %d, want 300", shards, n)
		}
		for i := range 300 {
			if got := rc.Get(ctx, fmt.Sprint("k", i)).Val(); got != fmt.Sprint(i) {
				t.Fatalf("%d shards: k%d = %q", shards, i, got)
			}
		}
		ts.stop(t)
	}
}

func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	startPersistent(t, dir, 1, nil)
	cfg := DefaultConfig()
	cfg.Persistence.Dir = dir
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second server on the same directory: %v", err)
	}
}
