package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// node is a Store with its shards, run by the test: each shard's keyspace
// is used under its mutex, which also serves the Store as its Holder.
type node struct {
	t   testing.TB
	st  *Store
	r   *ring.Ring
	es  []storage.Engine
	dbs []*keyspace.DB
	mu  []sync.Mutex
	log *bytes.Buffer
	// holdErr, when set, fails HoldShard of the shards it returns an error
	// for.
	holdErr func(i int) error
}

func (n *node) HoldShard(ctx context.Context, i int) (*keyspace.DB, func(), error) {
	if n.holdErr != nil {
		if err := n.holdErr(i); err != nil {
			return nil, nil, err
		}
	}
	n.mu[i].Lock()
	return n.dbs[i], n.mu[i].Unlock, nil
}

// openNode opens dir with the given topology.
func openNode(t testing.TB, dir string, shards, vnodes int, edit func(*Config)) (*node, error) {
	t.Helper()
	r, err := ring.New(shards, vnodes)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, r: r, mu: make([]sync.Mutex, shards), log: &bytes.Buffer{}}
	for range shards {
		n.es = append(n.es, memory.New())
	}
	cfg := DefaultConfig()
	cfg.Dir = dir
	cfg.Preallocate = 64 << 10 // small, so that tests write ahead often
	cfg.Logger = slog.New(slog.NewTextHandler(n.log, nil))
	if edit != nil {
		edit(&cfg)
	}
	n.st, err = Open(cfg, r, n.es)
	if err != nil {
		return nil, err
	}
	for i, e := range n.es {
		db := keyspace.New(e)
		db.SetLog(n.st.Logs()[i])
		n.dbs = append(n.dbs, db)
	}
	n.st.Start(n)
	return n, nil
}

func mustOpen(t *testing.T, dir string, shards, vnodes int, edit func(*Config)) *node {
	t.Helper()
	n, err := openNode(t, dir, shards, vnodes, edit)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// do runs fn against the keyspace that owns key, as a shard runs a batch,
// and commits.
func (n *node) do(key string, fn func(db *keyspace.DB, k []byte)) {
	i := n.r.Lookup([]byte(key))
	n.mu[i].Lock()
	defer n.mu[i].Unlock()
	n.dbs[i].SetNow(time.Now().UnixMilli())
	fn(n.dbs[i], []byte(key))
	n.dbs[i].Commit()
}

func (n *node) set(key, value string, at int64) {
	n.do(key, func(db *keyspace.DB, k []byte) { db.Set(k, []byte(value), at) })
}

func (n *node) del(key string) { n.do(key, func(db *keyspace.DB, k []byte) { db.Delete(k) }) }

func (n *node) close() {
	n.t.Helper()
	n.st.Stop()
	if err := n.st.Close(); err != nil {
		n.t.Fatal(err)
	}
}

// crash drops the node as a killed process would: files are closed without
// a last write or fsync (the logs' buffers are empty between commits).
func (n *node) crash() {
	n.st.Stop()
	n.st.j.f.Close()
	n.st.lock.Close()
}

type entry struct {
	v  string
	at int64
}

// dump returns every key of the node, checking that each is on the shard
// that owns it.
func (n *node) dump() map[string]entry {
	n.t.Helper()
	m := map[string]entry{}
	for i, e := range n.es {
		for c := uint64(0); ; {
			c = e.Scan(c, func(k, v []byte, _ storage.Object, at int64) bool {
				if n.r.Lookup(k) != i {
					n.t.Errorf("key %q on shard %d, owned by %d", k, i, n.r.Lookup(k))
				}
				m[string(k)] = entry{string(v), at}
				return true
			})
			if c == 0 {
				break
			}
		}
	}
	return m
}

func equal(t *testing.T, got, want map[string]entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d keys, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("key %q: got %+v (present %v), want %+v", k, g, ok, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("key %q: present, want absent", k)
		}
	}
}

// workload applies a mix of changes to n and returns the expected keys.
func workload(n *node, prefix string, count int) map[string]entry {
	want := map[string]entry{}
	far := time.Now().Add(time.Hour).UnixMilli()
	for i := range count {
		k := fmt.Sprintf("%s%d", prefix, i)
		switch i % 5 {
		case 0, 1:
			n.set(k, "v"+k, 0)
			want[k] = entry{"v" + k, 0}
		case 2:
			n.set(k, "ttl", far+int64(i))
			want[k] = entry{"ttl", far + int64(i)}
		case 3:
			n.set(k, "gone", 0)
			n.del(k)
		case 4:
			n.set(k, "x", 0)
			n.do(k, func(db *keyspace.DB, k []byte) { db.SetExpire(k, far) })
			want[k] = entry{"x", far}
		}
	}
	return want
}

func TestReopen(t *testing.T) {
	for _, fsync := range []Fsync{FsyncAlways, FsyncEverySec, FsyncNo} {
		t.Run(fsync.String(), func(t *testing.T) {
			dir := t.TempDir()
			n := mustOpen(t, dir, 3, 16, func(c *Config) { c.Fsync = fsync })
			want := workload(n, "k", 200)
			n.close()
			n = mustOpen(t, dir, 3, 16, nil)
			defer n.close()
			equal(t, n.dump(), want)
			if got := n.st.Loaded().Keys; got != int64(len(want)) {
				t.Errorf("Loaded().Keys: got %d, want %d", got, len(want))
			}
		})
	}
}

// TestCrash checks that what was committed survives the files being dropped
// without a clean close, as kill -9 does.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 2, 8, func(c *Config) { c.Fsync = FsyncNo })
	want := workload(n, "k", 100)
	n.crash()
	n = mustOpen(t, dir, 2, 8, nil)
	equal(t, n.dump(), want)
	more := workload(n, "m", 50)
	n.crash()
	n = mustOpen(t, dir, 2, 8, nil)
	defer n.close()
	for k, v := range more {
		want[k] = v
	}
	equal(t, n.dump(), want)
}

func TestFlushRecord(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	n.set("a", "1", 0)
	n.do("a", func(db *keyspace.DB, _ []byte) { db.Flush() })
	n.set("b", "2", 0)
	n.close()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	equal(t, n.dump(), map[string]entry{"b": {"2", 0}})
}

func TestExpiredNotLoaded(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 2, 8, nil)
	soon := time.Now().Add(30 * time.Millisecond).UnixMilli()
	far := time.Now().Add(time.Hour).UnixMilli()
	n.set("short", "1", soon)
	n.set("long", "2", far)
	n.set("later", "3", 0)
	n.do("later", func(db *keyspace.DB, k []byte) { db.SetExpire(k, soon) })
	n.close()
	for time.Now().UnixMilli() <= soon+1 {
		time.Sleep(10 * time.Millisecond)
	}
	n = mustOpen(t, dir, 2, 8, nil)
	defer n.close()
	equal(t, n.dump(), map[string]entry{"long": {"2", far}})
	if got := n.st.Loaded().Expired; got != 2 {
		t.Errorf("Loaded().Expired: got %d, want 2", got)
	}
}

func TestSnapshotThenLog(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 2, 8, nil)
	want := workload(n, "a", 300)
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	for k, v := range workload(n, "b", 100) {
		want[k] = v
	}
	n.del("a0")
	delete(want, "a0")
	n.set("a1", "changed", 0)
	want["a1"] = entry{"changed", 0}
	st := n.st.Stats()
	if st.Saves != 2 || !st.LastSaveOK || st.SnapshotBytes == 0 {
		t.Errorf("stats after a save: %+v", st)
	}
	n.close()
	for i := range 2 {
		names := listNames(t, shardDir(dir, 1, i))
		if want := []string{segName(2, snapExt)}; !slices.Equal(names, want) {
			t.Errorf("shard %d holds %q, want %q: the snapshot", i, names, want)
		}
	}
	if names, want := listNames(t, logDir(dir, 1)), []string{segName(2, logExt)}; !slices.Equal(names, want) {
		t.Errorf("the log holds %q, want %q: the snapshots' segment", names, want)
	}
	n = mustOpen(t, dir, 2, 8, nil)
	defer n.close()
	equal(t, n.dump(), want)
}

// TestSnapshotWhileWriting writes from another goroutine while snapshots
// are taken, then checks that snapshot plus log give the last state.
func TestSnapshotWhileWriting(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 2, 8, nil)
	done := make(chan map[string]entry)
	go func() {
		want := map[string]entry{}
		for i := range 3000 {
			k := fmt.Sprintf("k%d", i%500)
			if i%7 == 0 {
				n.del(k)
				delete(want, k)
				continue
			}
			n.set(k, fmt.Sprint(i), 0)
			want[k] = entry{fmt.Sprint(i), 0}
		}
		done <- want
	}()
	for range 3 {
		if err := n.st.Save(context.Background(), true, false); err != nil {
			t.Fatal(err)
		}
	}
	want := <-done
	n.close()
	n = mustOpen(t, dir, 2, 8, nil)
	defer n.close()
	equal(t, n.dump(), want)
}

// TestSnapshotBySize checks that a log that passes SnapshotLogSize is
// compacted without being asked.
func TestSnapshotBySize(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, func(c *Config) { c.SnapshotLogSize = 4096 })
	want := workload(n, "k", 400)
	for i := 0; n.st.Stats().Saves == 0; i++ {
		if i == 500 {
			t.Fatal("no snapshot after the log passed its size")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n.close()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	equal(t, n.dump(), want)
}

// TestCrashDuringSnapshot stops a snapshot at each step, as a crash would,
// and checks that recovery loads the same data and tidies the directory.
func TestCrashDuringSnapshot(t *testing.T) {
	tests := []struct {
		name string
		// step is how far the snapshot got: 0 rotated the log, 1 wrote the
		// temporary file, 2 renamed it.
		step int
	}{
		{"after rotating", 0},
		{"before rename", 1},
		{"after rename, before removing old files", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			n := mustOpen(t, dir, 1, 8, nil)
			want := workload(n, "a", 100)
			if err := n.st.Save(context.Background(), true, false); err != nil {
				t.Fatal(err)
			}
			for k, v := range workload(n, "b", 100) {
				want[k] = v
			}
			// A snapshot by hand, stopped at step.
			l := n.st.logs[0]
			seq, _, err := n.st.j.roll()
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range workload(n, "c", 50) {
				want[k] = v
			}
			if tt.step >= 1 {
				w, err := newSnapWriter(l.dir, 0, seq)
				if err != nil {
					t.Fatal(err)
				}
				buf, _, cnt := appendEntries(nil, n.es[0], 0, 1<<30, 1<<30, time.Now().UnixMilli())
				w.write(buf, cnt)
				if tt.step == 1 {
					w.bw.Flush()
					w.f.Close()
				} else if _, err := w.commit(); err != nil {
					t.Fatal(err)
				}
			}
			n.set("b1", "last", 0)
			want["b1"] = entry{"last", 0}
			n.crash()
			n = mustOpen(t, dir, 1, 8, nil)
			defer n.close()
			equal(t, n.dump(), want)
			for _, name := range listNames(t, shardDir(dir, 1, 0)) {
				if strings.HasSuffix(name, tmpExt) {
					t.Errorf("%s left after recovery", name)
				}
			}
			if snaps := countSuffix(listNames(t, shardDir(dir, 1, 0)), snapExt); snaps != 1 {
				t.Errorf("%d snapshots after recovery, want 1", snaps)
			}
		})
	}
}

func listNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

func countSuffix(names []string, suffix string) int {
	c := 0
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			c++
		}
	}
	return c
}

// TestTopologyChange restarts with other numbers of shards and vnodes: every
// key must come back, on the shard that owns it now, and flushes of the old
// shards must still remove only their own keys.
func TestTopologyChange(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 3, 64, nil)
	want := workload(n, "k", 300)
	// Flush one shard, then write again: only that shard's earlier keys go.
	victim := n.r.Lookup([]byte("k0"))
	n.do("k0", func(db *keyspace.DB, _ []byte) { db.Flush() })
	for k := range want {
		if n.r.Lookup([]byte(k)) == victim {
			delete(want, k)
		}
	}
	for k, v := range workload(n, "after", 60) {
		want[k] = v
	}
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	n.set("after1", "post-snapshot", 0)
	want["after1"] = entry{"post-snapshot", 0}
	n.close()

	for _, topo := range []struct{ shards, vnodes int }{{5, 16}, {1, 1}, {4, 64}, {4, 64}} {
		n = mustOpen(t, dir, topo.shards, topo.vnodes, nil)
		equal(t, n.dump(), want)
		k := fmt.Sprintf("s%dv%d", topo.shards, topo.vnodes)
		n.set(k, "1", 0)
		want[k] = entry{"1", 0}
		n.close()
		m, _, err := readManifest(dir)
		if err != nil || m.shards != topo.shards || m.vnodes != topo.vnodes {
			t.Fatalf("manifest %+v, %v after opening with %+v", m, err, topo)
		}
		if gens := countPrefix(listNames(t, dir), "gen-"); gens != 1 {
			t.Fatalf("%d generations in the directory, want 1", gens)
		}
	}
}

func countPrefix(names []string, prefix string) int {
	c := 0
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			c++
		}
	}
	return c
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	if _, err := openNode(t, dir, 1, 8, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
}

// lastLog returns the path of the newest journal segment that holds
// records.
func lastLog(t *testing.T, dir string) string {
	t.Helper()
	sf, err := listShard(logDir(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	for i := len(sf.logs) - 1; i >= 0; i-- {
		p := sf.path(sf.logs[i], logExt)
		if fi, _ := os.Stat(p); fi.Size() > headerLen(0, sf.logs[i]) {
			return p
		}
	}
	t.Fatal("no log with records")
	return ""
}

func TestTornTailOnOpen(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	want := workload(n, "k", 20)
	n.close()
	path := lastLog(t, dir)
	fi, _ := os.Stat(path)
	rec := appendSet(nil, []byte("torn"), []byte("value"), 0)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(rec[:len(rec)-3])
	f.Close()

	n = mustOpen(t, dir, 1, 8, nil)
	equal(t, n.dump(), want)
	if !strings.Contains(n.log.String(), "torn record") || !strings.Contains(n.log.String(), fmt.Sprintf("dropped_bytes=%d", len(rec)-3)) {
		t.Errorf("log does not report the torn tail: %s", n.log.String())
	}
	if got, _ := os.Stat(path); got.Size() != fi.Size() {
		t.Errorf("segment is %d bytes after recovery, want %d", got.Size(), fi.Size())
	}
	n.setThenReopen(t, dir, "next", want)
}

// setThenReopen sets key to "1", closes n, opens dir again with n's
// topology, and checks that it holds want with key added; the new node is
// closed at the end of the test.
func (n *node) setThenReopen(t *testing.T, dir, key string, want map[string]entry) {
	t.Helper()
	n.set(key, "1", 0)
	want[key] = entry{"1", 0}
	n.close()
	n = mustOpen(t, dir, n.r.Shards(), n.r.Vnodes(), nil)
	t.Cleanup(n.close)
	equal(t, n.dump(), want)
}

func TestRepairSnapshot(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	for i := range 10 {
		n.set(fmt.Sprintf("k%d", i), "v", 0)
	}
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	n.set("after", "v", 0)
	n.close()
	sf, _ := listShard(shardDir(dir, 1, 0))
	path := sf.path(sf.snaps[0], snapExt)
	data, _ := os.ReadFile(path)
	data[len(data)-3] ^= 0xff // the end record
	os.WriteFile(path, data, 0o644)
	if _, err := openNode(t, dir, 1, 8, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: got %v, want corruption", err)
	}
	if _, err := Repair(dir); err != nil {
		t.Fatal(err)
	}
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	if got := len(n.dump()); got != 11 {
		t.Fatalf("got %d keys after repair, want 11", got)
	}
}

func TestRepairNothingToDo(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 2, 8, nil)
	workload(n, "k", 20)
	n.close()
	done, err := Repair(dir)
	if err != nil || len(done) != 0 {
		t.Fatalf("got %q, %v; want nothing done", done, err)
	}
	if _, err := Repair(t.TempDir()); err == nil {
		t.Fatal("Repair of an empty directory: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		edit func(*Config)
		ok   bool
	}{
		{func(c *Config) { c.Dir = "x" }, true},
		{func(c *Config) {}, false},
		{func(c *Config) { c.Dir, c.SnapshotLogSize = "x", 0 }, false},
		{func(c *Config) { c.Dir, c.Fsync = "x", 9 }, false},
		{func(c *Config) { c.Dir, c.Preallocate = "x", -1 }, false},
		{func(c *Config) { c.Dir, c.Preallocate = "x", 0 }, true},
	}
	for i, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("case %d: got %v, want ok %v", i, err, tt.ok)
		}
	}
	for _, s := range []string{"always", "everysec", "no", "EVERYSEC"} {
		if f, err := ParseFsync(s); err != nil || f.String() != strings.ToLower(s) {
			t.Errorf("ParseFsync(%q): got %v, %v", s, f, err)
		}
	}
	if _, err := ParseFsync("sometimes"); err == nil {
		t.Error("ParseFsync(sometimes): no error")
	}
}

// TestSyncedIsTold checks that Config.Synced hears of the fsyncs of
// FsyncAlways, and of none under the other policies.
func TestSyncedIsTold(t *testing.T) {
	for _, fsync := range []Fsync{FsyncAlways, FsyncEverySec, FsyncNo} {
		t.Run(fsync.String(), func(t *testing.T) {
			var told atomic.Int64
			n := mustOpen(t, t.TempDir(), 1, 8, func(c *Config) {
				c.Fsync = fsync
				c.Synced = func(d time.Duration) {
					if d < 0 {
						t.Errorf("negative fsync time %v", d)
					}
					told.Add(1)
				}
			})
			n.set("a", "1", 0)
			n.set("b", "2", 0)
			n.close()
			if got := told.Load(); fsync == FsyncAlways && got == 0 || fsync != FsyncAlways && got != 0 {
				t.Errorf("Synced called %d times under %s", got, fsync)
			}
		})
	}
}
