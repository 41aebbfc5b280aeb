package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/ring"
)

// journalShards returns the shard of each shard record of the journal
// segment at path, in order.
func journalShards(t *testing.T, path string, shards int) []int {
	t.Helper()
	var got []int
	cur := -1
	_, err := readFile(path, kindJournal, shards, segSeq(t, path), true, func(rec *Record) {
		if rec.Shard != cur {
			got = append(got, rec.Shard)
			cur = rec.Shard
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func segSeq(t *testing.T, path string) uint64 {
	t.Helper()
	var seq uint64
	if _, err := fmt.Sscanf(filepath.Base(path), "%d.log", &seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestShardsInterleaved commits the records of three shards into the
// journal with one write, interleaved, then crashes and reopens: every key
// must come back on its own shard, with the last value written.
func TestShardsInterleaved(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 3, 8, func(c *Config) { c.Fsync = FsyncAlways })
	want := map[string]entry{}
	var last int64
	for round := range 20 {
		// Each shard commits without waiting: the records pile up in the
		// journal and the last WaitDurable writes them all at once.
		for i := range 3 {
			k := n.keyOnWith(i, fmt.Sprint("r", round%4, "-"))
			v := fmt.Sprintf("r%d", round)
			_, last = n.writeAsyncValue(k, v)
			want[k] = entry{v, 0}
		}
		if round%5 == 4 {
			n.st.Logs()[0].WaitDurable(last)
		}
	}
	n.st.Logs()[0].WaitDurable(last)
	path := n.st.j.f.Name()
	if got := journalShards(t, path, 3); len(got) < 3*20 {
		t.Fatalf("the journal names %d shard parts (%v), want the shards interleaved", len(got), got)
	}
	n.crash()
	n = mustOpen(t, dir, 3, 8, nil)
	defer n.close()
	equal(t, n.dump(), want) // dump checks that each key is on its shard
}

// keyOnWith returns a key that shard i owns, starting with prefix.
func (n *node) keyOnWith(i int, prefix string) string {
	for j := 0; ; j++ {
		if k := fmt.Sprint(prefix, j); n.r.Lookup([]byte(k)) == i {
			return k
		}
	}
}

// writeAsyncValue sets key to v on its shard and commits as a shard does.
func (n *node) writeAsyncValue(key, v string) (int, int64) {
	i := n.r.Lookup([]byte(key))
	n.mu[i].Lock()
	defer n.mu[i].Unlock()
	n.dbs[i].Set([]byte(key), []byte(v), 0)
	pos, _ := n.st.Logs()[i].CommitAsync()
	return i, pos
}

// TestSnapshotOfOneShardFails makes one shard's snapshot fail: the journal
// must keep the segments that shard still needs, and a restart load
// everything; the next snapshot that succeeds removes them.
func TestSnapshotOfOneShardFails(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 3, 8, nil)
	want := workload(n, "a", 300)
	failing := errors.New("held by the test")
	n.holdErr = func(i int) error {
		if i == 1 {
			return failing
		}
		return nil
	}
	if err := n.st.Save(context.Background(), true, false); !errors.Is(err, failing) {
		t.Fatalf("Save: got %v, want the failure of shard 1", err)
	}
	for k, v := range workload(n, "b", 100) {
		want[k] = v
	}
	if got := listNames(t, logDir(dir, 1)); !slices.Equal(got, []string{segName(1, logExt), segName(2, logExt)}) {
		t.Fatalf("the log holds %q, want segments 1 and 2: shard 1 has no snapshot", got)
	}
	n.crash()
	n = mustOpen(t, dir, 3, 8, nil)
	equal(t, n.dump(), want)
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, logDir(dir, 1)); !slices.Equal(got, []string{segName(4, logExt)}) {
		t.Fatalf("the log holds %q after a snapshot of every shard, want segment 4 alone", got)
	}
	n.setThenReopen(t, dir, "after", want)
}

// TestCorruptJournalRefusedThenRepaired damages a record of one shard in
// the middle of a journal holding three shards' records: Open must refuse,
// naming the file and offset; Repair must cut there and move the later
// segment aside, and every shard reload the records before the damage.
func TestCorruptJournalRefusedThenRepaired(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	twoSegments(t, dir, 3, func(n *node) {
		for i := range 30 {
			k := fmt.Sprintf("k%d", i)
			n.set(k, "v", 0)
			keys = append(keys, k)
		}
	}, func(n *node) { n.set("later", "v", 0) })

	path := filepath.Join(logDir(dir, 1), segName(1, logExt))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Find k20's record and damage its value.
	off := int64(strings.Index(string(data), "k20")) - headerSize - 2
	data[off+headerSize+5] ^= 0x20
	os.WriteFile(path, data, 0o644)

	_, err = openNode(t, dir, 3, 8, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Path != path || ce.Offset != off {
		t.Fatalf("Open: got %v, want corruption in %s at %d", err, path, off)
	}
	done, err := Repair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || !strings.Contains(done[0], fmt.Sprintf("at offset %d", off)) || !strings.Contains(done[1], "moved aside") {
		t.Fatalf("Repair: got %q", done)
	}
	if cut, err := os.ReadFile(path + corruptExt); err != nil || !bytes.Equal(cut, data[off:]) {
		t.Fatalf("the .corrupt file holds %d bytes, want the %d cut (%v)", len(cut), len(data)-int(off), err)
	}
	n := mustOpen(t, dir, 3, 8, nil)
	defer n.close()
	want := map[string]entry{}
	for _, k := range keys[:20] {
		want[k] = entry{"v", 0}
	}
	equal(t, n.dump(), want)
	if done, err := Repair(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("Repair of a directory in use: got %q, %v", done, err)
	}
}

// writeV1 writes a data directory in the layout of MANIFEST version 1 (a
// log per shard) for topology r, as the previous version of the package
// did: per shard, a stale segment 1 (before the snapshot: never read),
// snapshot 2 with the keys of snap the shard owns, segment 2 with a set of
// each key of logged, and segment 3 deleting the keys of deleted. It
// returns the keys the directory holds.
func writeV1(t *testing.T, dir string, r *ring.Ring, snap, logged, deleted []string) map[string]entry {
	t.Helper()
	want := map[string]entry{}
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range r.Shards() {
		sd := shardDir(dir, 1, i)
		if err := os.MkdirAll(sd, 0o755); err != nil {
			t.Fatal(err)
		}
		owned := func(keys []string) []string {
			var o []string
			for _, k := range keys {
				if r.Lookup([]byte(k)) == i {
					o = append(o, k)
				}
			}
			return o
		}
		stale := appendHeader(nil, kindLog, i, 1)
		for _, k := range owned(snap) {
			stale = appendSet(stale, []byte(k), []byte("stale"), 0)
		}
		write(filepath.Join(sd, segName(1, logExt)), stale)
		s := appendHeader(nil, kindSnapshot, i, 2)
		keys := owned(snap)
		for _, k := range keys {
			s = appendSet(s, []byte(k), []byte("snap-"+k), 0)
			want[k] = entry{"snap-" + k, 0}
		}
		write(filepath.Join(sd, segName(2, snapExt)), appendEnd(s, uint64(len(keys))))
		l := appendHeader(nil, kindLog, i, 2)
		for _, k := range owned(logged) {
			l = appendSet(l, []byte(k), []byte("log-"+k), 0)
			want[k] = entry{"log-" + k, 0}
		}
		write(filepath.Join(sd, segName(2, logExt)), l)
		l = appendHeader(nil, kindLog, i, 3)
		for _, k := range owned(deleted) {
			l = appendDelete(l, []byte(k))
			delete(want, k)
		}
		write(filepath.Join(sd, segName(3, logExt)), l)
	}
	if err := writeManifest(dir, manifest{version: 1, gen: 1, shards: r.Shards(), vnodes: r.Vnodes()}); err != nil {
		t.Fatal(err)
	}
	return want
}

// TestUpgradeFromLogPerShard opens directories written in the previous
// layout, with the same topology and with another: every key must load, and
// the directory be rewritten as a new generation with a journal, which
// reopens the same.
func TestUpgradeFromLogPerShard(t *testing.T) {
	for _, topo := range []struct{ shards, vnodes int }{{3, 8}, {2, 16}} {
		t.Run(fmt.Sprintf("%d shards", topo.shards), func(t *testing.T) {
			dir := t.TempDir()
			old, err := ring.New(3, 8)
			if err != nil {
				t.Fatal(err)
			}
			var snap, logged, deleted []string
			for i := range 60 {
				k := fmt.Sprint("key", i)
				switch i % 3 {
				case 0:
					snap = append(snap, k)
				case 1:
					logged = append(logged, k)
					if i%2 == 0 {
						snap = append(snap, k)
					}
				case 2:
					snap = append(snap, k)
					if i%2 == 0 {
						deleted = append(deleted, k)
					}
				}
			}
			want := writeV1(t, dir, old, snap, logged, deleted)
			n := mustOpen(t, dir, topo.shards, topo.vnodes, nil)
			equal(t, n.dump(), want)
			m, _, err := readManifest(dir)
			if err != nil || m.version != manifestVersion || m.gen != 2 {
				t.Fatalf("manifest %+v, %v after the upgrade, want version %d, generation 2", m, err, manifestVersion)
			}
			if names := listNames(t, dir); slices.Contains(names, "gen-1") || !slices.Contains(names, "gen-2") {
				t.Fatalf("the directory holds %q after the upgrade, want gen-2 alone", names)
			}
			n.set("new", "1", 0)
			want["new"] = entry{"1", 0}
			n.crash()
			n = mustOpen(t, dir, topo.shards, topo.vnodes, nil)
			defer n.close()
			equal(t, n.dump(), want)
		})
	}
}

// TestUpgradeRefusesCorruptOldLog checks that damage in a directory of the
// previous layout stops Open, and that Repair cuts it there.
func TestUpgradeRefusesCorruptOldLog(t *testing.T) {
	dir := t.TempDir()
	r, err := ring.New(1, 8)
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	for i := range 10 {
		logged = append(logged, fmt.Sprint("k", i))
	}
	writeV1(t, dir, r, nil, logged, nil)
	path := filepath.Join(shardDir(dir, 1, 0), segName(2, logExt))
	data, _ := os.ReadFile(path)
	off := int64(strings.Index(string(data), "k5")) - headerSize - 2
	data[off+headerSize+4] ^= 0x20
	os.WriteFile(path, data, 0o644)
	if err := os.WriteFile(filepath.Join(dir, lockName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = openNode(t, dir, 1, 8, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Path != path || ce.Offset != off {
		t.Fatalf("Open: got %v, want corruption in %s at %d", err, path, off)
	}
	done, err := Repair(dir)
	if err != nil || len(done) != 2 {
		t.Fatalf("Repair: got %q, %v", done, err)
	}
	n := mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	if got := len(n.dump()); got != 5 {
		t.Fatalf("got %d keys after repair, want the 5 before the damage", got)
	}
}

// TestWrittenAhead checks that the journal's segment is written ahead with
// zeros, that records overwrite them, and that a crash leaving zeros after
// the records reloads every record without a warning, cutting the zeros.
func TestWrittenAhead(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	want := workload(n, "a", 50)
	if err := n.st.j.prepare(); err != nil {
		t.Fatal(err)
	}
	path := n.st.j.f.Name()
	records := n.st.j.written.Load() - n.st.j.curStart
	if size := fileSize(t, path); size < records+n.st.cfg.Preallocate {
		t.Fatalf("segment of %d bytes for %d of records, want %d more written ahead", size, records, n.st.cfg.Preallocate)
	}
	for k, v := range workload(n, "b", 50) {
		want[k] = v
	}
	records = n.st.j.written.Load() - n.st.j.curStart
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) <= records || strings.Trim(string(data[records:]), "\x00") != "" {
		t.Fatalf("segment of %d bytes, %d of records: want zeros after them", len(data), records)
	}
	n.crash()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	equal(t, n.dump(), want)
	if strings.Contains(n.log.String(), "torn") {
		t.Errorf("zeros after the records taken for a torn write: %s", n.log.String())
	}
	if size := fileSize(t, path); size != records {
		t.Errorf("segment of %d bytes after recovery, want its %d bytes of records", size, records)
	}
}

// TestTornAmongZeros zeroes the last sector of a record, as a power failure
// can leave a write: followed by zeros, the record is a torn write, dropped
// with a warning; followed by another record, it is damage.
func TestTornAmongZeros(t *testing.T) {
	for _, last := range []bool{true, false} {
		t.Run(fmt.Sprint("last ", last), func(t *testing.T) {
			dir := t.TempDir()
			n := mustOpen(t, dir, 1, 8, nil)
			want := workload(n, "a", 20)
			start := n.st.j.written.Load() - n.st.j.curStart
			n.set("big", strings.Repeat("x", 2000), 0)
			end := n.st.j.written.Load() - n.st.j.curStart
			if !last {
				n.set("after", "1", 0)
			}
			if err := n.st.j.prepare(); err != nil {
				t.Fatal(err)
			}
			path := n.st.j.f.Name()
			n.crash()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			clear(data[(end-1)/sectorSize*sectorSize : end])
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			n, err = openNode(t, dir, 1, 8, nil)
			if !last {
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Offset != start {
					t.Fatalf("Open: got %v, want corruption at %d", err, start)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer n.close()
			equal(t, n.dump(), want)
			if !strings.Contains(n.log.String(), "torn record") {
				t.Errorf("no warning of the torn record: %s", n.log.String())
			}
		})
	}
}

// TestZerosEndEverySegment leaves zeros after the records of a segment
// that is not the last, as a crash in a snapshot's roll can: they end its
// records, as in the last.
func TestZerosEndEverySegment(t *testing.T) {
	dir := t.TempDir()
	want := map[string]entry{}
	add := func(prefix string) func(*node) {
		return func(n *node) { maps.Copy(want, workload(n, prefix, 40)) }
	}
	twoSegments(t, dir, 2, add("a"), add("b"))
	f, err := os.OpenFile(filepath.Join(logDir(dir, 1), segName(1, logExt)), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 3000))
	f.Close()
	n := mustOpen(t, dir, 2, 8, nil)
	defer n.close()
	equal(t, n.dump(), want)
}

// twoSegments opens dir with shards, runs first, closes it and opens it
// again, runs then and closes: the journal's segments 1 and 2 hold what
// they wrote.
func twoSegments(t *testing.T, dir string, shards int, first, then func(*node)) {
	t.Helper()
	n := mustOpen(t, dir, shards, 8, nil)
	first(n)
	n.close()
	n = mustOpen(t, dir, shards, 8, nil)
	then(n)
	n.close()
}

// TestTornBeforeWrittenAhead tears the last record of a segment followed
// by a segment of a header and zeros (a crash just after a snapshot's roll
// prepared it): the torn tail is still the journal's, dropped with a
// warning.
func TestTornBeforeWrittenAhead(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	want := workload(n, "a", 20)
	path := n.st.j.f.Name()
	if _, _, err := n.st.j.roll(); err != nil {
		t.Fatal(err)
	}
	if err := n.st.j.prepare(); err != nil {
		t.Fatal(err)
	}
	n.crash()
	rec := appendSet(nil, []byte("torn"), []byte("value"), 0)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(rec[:len(rec)-3])
	f.Close()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	equal(t, n.dump(), want)
	if !strings.Contains(n.log.String(), "torn record") {
		t.Errorf("no warning of the torn record: %s", n.log.String())
	}
}
