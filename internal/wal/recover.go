package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// fileResult is what reading one file found.
type fileResult struct {
	size    int64   // length of the file
	end     int64   // end of the last whole record
	torn    *damage // a torn tail after end, when allowed
	records int64   // records read after the header, end record excluded
	ended   bool    // a snapshot's end record was read
	zeros   bool    // a journal segment's records end with zeros to the end of the file
}

// readFile streams the records of one file to fn, checking that it starts
// with the header of kind for shard and seq and, for a snapshot, ends with
// an end record that counts its entries. A journal segment's header names
// the generation's number of shards as its shard: each record it delivers
// carries in Shard the shard the last shard record named, below that
// number. A torn tail is reported in the result when tornOK, else as a
// *CorruptError like any other damage. fn may be nil.
func readFile(path string, kind byte, shard int, seq uint64, tornOK bool, fn func(*Record)) (fileResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileResult{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fileResult{}, err
	}
	return readRecords(f, fi.Size(), path, kind, shard, seq, tornOK, fn)
}

// readRecords is readFile over the size bytes of src, named path.
func readRecords(src io.Reader, size int64, path string, kind byte, shard int, seq uint64, tornOK bool, fn func(*Record)) (fileResult, error) {
	res := fileResult{size: size}
	rd := newReader(src, res.size)
	corrupt := func(off int64, reason string) error {
		return &CorruptError{Path: path, Offset: off, Reason: reason}
	}
	var rec Record
	sawEnd := false
	cur := -1 // a journal segment's current shard
	for i := 0; ; i++ {
		off := rd.off
		err := rd.next(&rec)
		if err == io.EOF {
			break
		}
		var d *damage
		if errors.As(err, &d) {
			if d.zeros && kind == kindJournal {
				// Written ahead with zeros: the end of the segment's
				// records, in any segment.
				res.zeros = true
				break
			}
			if d.torn && tornOK {
				res.torn = d
				break
			}
			return res, corrupt(d.off, d.reason)
		}
		if err != nil {
			return res, fmt.Errorf("reading %s: %w", path, err)
		}
		if sawEnd {
			return res, corrupt(off, "record after the end of the snapshot")
		}
		if i == 0 {
			if rec.Op != OpHeader || rec.Kind != kind || rec.Shard != shard || rec.Seq != seq {
				return res, corrupt(off, fmt.Sprintf("file header does not match its name (op %d, kind %q, shard %d, segment %d)", rec.Op, rec.Kind, rec.Shard, rec.Seq))
			}
			res.end = rd.off
			continue
		}
		switch {
		case rec.Op == OpHeader:
			return res, corrupt(off, "file header in the middle of the file")
		case kind == kindJournal && rec.Op == OpShard:
			if rec.Shard >= shard {
				return res, corrupt(off, fmt.Sprintf("shard %d of %d", rec.Shard, shard))
			}
			cur = rec.Shard
		case kind == kindJournal && cur < 0 && rec.Op != OpEnd:
			return res, corrupt(off, "record before any shard record")
		case kind == kindSnapshot && rec.Op == OpEnd:
			if rec.Count != uint64(res.records) {
				return res, corrupt(off, fmt.Sprintf("snapshot end record counts %d entries, file holds %d", rec.Count, res.records))
			}
			sawEnd, res.ended = true, true
		case kind == kindSnapshot && rec.Op != OpSet && rec.Op != OpElems && rec.Op != OpList && rec.Op != OpStream,
			kind != kindSnapshot && rec.Op == OpEnd, kind != kindJournal && rec.Op == OpShard:
			return res, corrupt(off, fmt.Sprintf("operation %d does not belong in this file", rec.Op))
		default:
			res.records++
			if fn != nil {
				if kind == kindJournal {
					rec.Shard = cur
				}
				fn(&rec)
			}
		}
		res.end = rd.off
	}
	if res.end == 0 && res.torn == nil && res.size == 0 && !tornOK {
		return res, corrupt(0, "empty file")
	}
	if kind == kindSnapshot && !sawEnd {
		return res, corrupt(res.end, "snapshot has no end record")
	}
	return res, nil
}

// loader applies records to engines. Records are applied as they are,
// keys whose time has come included, and such keys are removed once the
// whole history is loaded (prune): a key that expired before the restart
// may have lost its expiry, or had elements added, later in the log.
type loader struct {
	now   int64
	route func(key []byte) storage.Engine
	flush func()
}

func (ld *loader) apply(rec *Record) {
	switch rec.Op {
	case OpSet:
		ld.route(rec.Key).Set(rec.Key, rec.Value, rec.ExpireAt)
	case OpDelete:
		ld.route(rec.Key).Delete(rec.Key)
	case OpExpire:
		ld.route(rec.Key).SetExpire(rec.Key, rec.ExpireAt)
	case OpFlush:
		ld.flush()
	case OpElems:
		applyElems(ld.route(rec.Key), rec)
	case OpList:
		applyList(ld.route(rec.Key), rec)
	case OpStream:
		applyStream(ld.route(rec.Key), rec)
	case OpRange:
		applyRange(ld.route(rec.Key), rec)
	case OpRemove:
		e := ld.route(rec.Key)
		_, obj, _, ok := e.Find(rec.Key)
		if !ok || obj == nil || obj.Kind() != rec.ValueKind {
			return
		}
		before := obj.MemoryUsage()
		object.RemoveElements(obj, rec.Elems)
		if obj.Len() == 0 {
			e.Delete(rec.Key)
			return
		}
		e.Resized(obj.MemoryUsage() - before)
	}
}

// applyElems applies an elements record: the key becomes a collection of
// the record's kind, a new one when the record is fresh or the key holds
// anything else, with the record's expiry and elements.
func applyElems(e storage.Engine, rec *Record) {
	_, obj, _, ok := e.Find(rec.Key)
	if !ok || rec.Fresh || obj == nil || obj.Kind() != rec.ValueKind {
		obj = object.New(rec.ValueKind)
		object.AddElements(obj, rec.Elems)
		e.SetObject(rec.Key, obj, rec.ExpireAt)
		return
	}
	before := obj.MemoryUsage()
	object.AddElements(obj, rec.Elems)
	e.Resized(obj.MemoryUsage() - before)
	e.SetExpire(rec.Key, rec.ExpireAt)
}

// applyList applies a list record exactly once, whatever the state it
// meets, by the list's version: a fresh record makes the key a new list
// of its elements with its version and expiry, whatever the key held; any
// other record applies only to a list whose version is one below the
// record's (a part of a list logged whole, to the list of its version
// holding the elements before it), and then leaves the list at the
// record's version. A record replayed on a state that already includes it
// thus finds a version as high as its own and changes nothing.
//
// Why that is enough: a key's list in a snapshot was taken at some point
// of the log that follows, whole and with its version. The records of the
// log from before that point either belong to the list as taken (their
// versions are at most its own: skipped), or come before a fresh record
// that is also before the point, which rebuilds the list as it was then;
// from there on every record applies in order, as it did when logged.
// Versions restart with each new list, so a record of an older list may
// meet a newer one with the version it expects; but the newer list's
// fresh record comes later in the log and replaces whatever that did.
func applyList(e storage.Engine, rec *Record) {
	_, obj, _, ok := e.Find(rec.Key)
	if rec.Fresh {
		l := object.NewList()
		if !l.Apply(rec.List) || l.Len() == 0 {
			return
		}
		l.SetVersion(rec.Version)
		e.SetObject(rec.Key, l, rec.ExpireAt)
		return
	}
	l, isList := obj.(*object.List)
	if !ok || !isList {
		return
	}
	want := l.Version() + 1
	if rec.List.Code == object.ListPart {
		want = l.Version()
	}
	if rec.Version != want {
		return
	}
	before := l.MemoryUsage()
	if !l.Apply(rec.List) {
		return
	}
	l.SetVersion(rec.Version)
	if l.Len() == 0 {
		e.Delete(rec.Key)
		return
	}
	e.Resized(l.MemoryUsage() - before)
}

// applyRange applies a range record to a string at least as long as the
// record's end, and does nothing to anything else. The record says what the
// bytes of its range are after the change, and the string it was logged
// for was at least that long (a write that lengthens a string is logged as
// a set): replayed on that string it does what it did, and replayed on a
// state the log reaches later, as a snapshot's key may be, it either writes
// what that state already holds, or meets a key that records after it
// rebuild (a set, a delete, another range), as every record of the log
// describes a resulting state.
func applyRange(e storage.Engine, rec *Record) {
	off := int(rec.Offset)
	if rw, ok := e.(storage.RangeWriter); ok {
		rw.WriteAt(rec.Key, off, rec.Value)
		return
	}
	v, at, ok := e.Lookup(rec.Key)
	if !ok || v == nil || off > len(v)-len(rec.Value) {
		return
	}
	nv := bytes.Clone(v)
	copy(nv[off:], rec.Value)
	e.Set(rec.Key, nv, at)
}

// applyStream applies a stream record exactly once by the stream's
// version, as applyList does: a fresh record makes the key a new stream;
// a part applies to a stream of its version, and any other record to one
// whose version is one below its own.
func applyStream(e storage.Engine, rec *Record) {
	_, obj, _, ok := e.Find(rec.Key)
	if rec.Fresh {
		s := object.NewStream()
		if !s.Apply(rec.Stream) {
			return
		}
		s.SetVersion(rec.Version)
		e.SetObject(rec.Key, s, rec.ExpireAt)
		return
	}
	s, isStream := obj.(*object.Stream)
	if !ok || !isStream {
		return
	}
	want := s.Version() + 1
	if rec.Part {
		want = s.Version()
	}
	if rec.Version != want {
		return
	}
	before := s.MemoryUsage()
	s.Apply(rec.Stream)
	s.SetVersion(rec.Version)
	e.Resized(s.MemoryUsage() - before)
}

// prune removes from e the keys whose expiry is before now and returns how
// many it removed.
func prune(e storage.Engine, now int64) int64 {
	if e.ExpiresLen() == 0 {
		return 0
	}
	var dead [][]byte
	for c := uint64(0); ; {
		c = e.Scan(c, func(k, _ []byte, _ storage.Object, at int64) bool {
			if at != storage.NoExpiry && now > at {
				dead = append(dead, bytes.Clone(k))
			}
			return true
		})
		if c == 0 {
			break
		}
	}
	for _, k := range dead {
		e.Delete(k)
	}
	return int64(len(dead))
}

// removeGens removes the generation directories other than keep: leftovers
// of a topology change interrupted before or after MANIFEST was switched.
func removeGens(dir string, keep uint64) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "gen-") || e.Name() == filepath.Base(genDir(dir, keep)) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
		removed = true
	}
	if removed {
		return fsutil.SyncDir(dir)
	}
	return nil
}

// genLoad is what loading a generation of the journal layout found.
type genLoad struct {
	snaps    []uint64 // per shard, the segment its newest snapshot starts from (1 without one)
	snapSize []int64  // per shard, the size of that snapshot
	records  []int64  // per shard, journal records read
	segs     []segment
	next     int64 // position at the end of the last segment
	bytes    int64
}

// loadGen reads generation m.gen through lds, a loader per shard: each
// shard's newest snapshot (in parallel when parallel), then the journal from
// the oldest segment one of them starts from, each record going to its
// shard's loader from that shard's snapshot's segment on. With keep, the
// generation is kept: a torn tail is cut off the journal, and leftovers of
// interrupted snapshots are removed; without, nothing is changed.
func (st *Store) loadGen(m manifest, lds []loader, parallel, keep bool) (*genLoad, error) {
	dir := st.cfg.Dir
	gl := &genLoad{snaps: make([]uint64, m.shards), snapSize: make([]int64, m.shards), records: make([]int64, m.shards)}
	err := forShards(m.shards, parallel, func(i int) error {
		sf, err := listShardDir(dir, m.gen, i)
		if err != nil {
			return err
		}
		gl.snaps[i], gl.snapSize[i], err = loadSnapshot(sf, i, &lds[i])
		if err == nil && keep {
			err = removeStale(sf, gl.snaps[i])
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	ld := logDir(dir, m.gen)
	lf, err := listShard(ld)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	first := slices.Min(gl.snaps)
	seqs, err := lf.plan(first)
	if err != nil {
		return nil, err
	}
	if keep {
		if err := removeStaleSegments(lf, first); err != nil {
			return nil, err
		}
	}
	gl.segs, gl.bytes, err = st.readSegments(lf, seqs, kindJournal, m.shards, keep, func(seq uint64, rec *Record) {
		if seq >= gl.snaps[rec.Shard] {
			lds[rec.Shard].apply(rec)
			gl.records[rec.Shard]++
		}
	})
	if err != nil {
		return nil, err
	}
	for _, n := range gl.snapSize {
		gl.bytes += n
	}
	gl.next = gl.segs[len(gl.segs)-1].start + gl.segs[len(gl.segs)-1].size
	return gl, nil
}

// forShards calls fn for each of n shards, in parallel when parallel, and
// returns their errors joined.
func forShards(n int, parallel bool, fn func(i int) error) error {
	errs := make([]error, n)
	if !parallel {
		for i := range n {
			errs[i] = fn(i)
		}
		return errors.Join(errs...)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// listShardDir lists the directory of shard i of generation gen.
func listShardDir(dir string, gen uint64, i int) (shardFiles, error) {
	sd := shardDir(dir, gen, i)
	sf, err := listShard(sd)
	if errors.Is(err, fs.ErrNotExist) {
		return sf, &CorruptError{Path: sd, Offset: -1, Reason: "shard directory missing"}
	}
	return sf, err
}

// loadSnapshot reads shard i's newest snapshot in sf through ld, and
// returns the segment it starts from and its size: 1 and 0 when there is
// none.
func loadSnapshot(sf shardFiles, i int, ld *loader) (uint64, int64, error) {
	if len(sf.snaps) == 0 {
		return 1, 0, nil
	}
	snap := sf.snaps[len(sf.snaps)-1]
	res, err := readFile(sf.path(snap, snapExt), kindSnapshot, i, snap, false, ld.apply)
	return snap, res.size, err
}

// readSegments reads the segments seqs of lf, whose headers are of kind and
// name shard, through fn, and returns them with their positions (from 0 at
// the first) and sizes, and the bytes read. A torn tail is allowed in the
// last segment that holds records (the ones after it may only be headers
// left by a restart): it is dropped with a warning, and cut off the file
// when truncate.
func (st *Store) readSegments(lf shardFiles, seqs []uint64, kind byte, shard int, truncate bool, fn func(seq uint64, rec *Record)) ([]segment, int64, error) {
	last, err := lastWithRecords(lf, seqs, shard)
	if err != nil {
		return nil, 0, err
	}
	var segs []segment
	var pos, bytes int64
	for k, seq := range seqs {
		path := lf.path(seq, logExt)
		res, err := readFile(path, kind, shard, seq, k >= last, func(rec *Record) { fn(seq, rec) })
		if err != nil {
			return nil, 0, err
		}
		bytes += res.size
		if res.zeros {
			// Written ahead with zeros.
			if truncate {
				if err := truncateSegment(path, res.end, kind, shard, seq); err != nil {
					return nil, 0, err
				}
			}
			res.size = res.end
		}
		if res.torn != nil {
			st.log.Warn("log ends with a torn record, left by a crash; dropping it",
				"file", path, "offset", res.end, "dropped_bytes", res.size-res.end, "reason", res.torn.reason)
			if truncate {
				if err := truncateSegment(path, res.end, kind, shard, seq); err != nil {
					return nil, 0, err
				}
			}
			res.size = max(res.end, headerLen(shard, seq))
		}
		segs = append(segs, segment{seq: seq, start: pos, size: res.size})
		pos += res.size
	}
	return segs, bytes, nil
}

// lastWithRecords returns the index in seqs of the last segment of lf that
// holds a record after its header (0 when none does): the one where a torn
// tail is allowed, the ones after it being only headers, or headers and
// zeros written ahead, left by a restart or a snapshot.
func lastWithRecords(lf shardFiles, seqs []uint64, shard int) (int, error) {
	last := len(seqs) - 1
	for ; last > 0; last-- {
		f, err := os.Open(lf.path(seqs[last], logExt))
		if err != nil {
			return 0, err
		}
		var b [headerSize]byte
		n, err := f.ReadAt(b[:], headerLen(shard, seqs[last]))
		f.Close()
		if err != nil && err != io.EOF {
			return 0, err
		}
		if slices.ContainsFunc(b[:n], func(c byte) bool { return c != 0 }) {
			break
		}
	}
	return last, nil
}

// truncateSegment cuts a segment at end, writing a fresh header of kind
// for shard and seq if nothing whole was left, and fsyncs it.
func truncateSegment(path string, end int64, kind byte, shard int, seq uint64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(end)
	if err == nil && end == 0 {
		_, err = f.Write(appendHeader(nil, kind, shard, seq))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeStale removes a shard's temporary files and its snapshots older
// than snap, the one recovery starts from: leftovers of a snapshot
// interrupted before its rename or before the old files were removed.
func removeStale(sf shardFiles, snap uint64) error {
	var names []string
	for _, t := range sf.tmps {
		names = append(names, filepath.Join(sf.dir, t))
	}
	for _, n := range sf.snaps {
		if n < snap {
			names = append(names, sf.path(n, snapExt))
		}
	}
	return removeAll(sf.dir, names)
}

// removeStaleSegments removes the journal's segments before first, which
// no shard's snapshot needs.
func removeStaleSegments(lf shardFiles, first uint64) error {
	var names []string
	for _, n := range lf.logs {
		if n < first {
			names = append(names, lf.path(n, logExt))
		}
	}
	return removeAll(lf.dir, names)
}

// removeAll removes the files names of dir and fsyncs dir if there were any.
func removeAll(dir string, names []string) error {
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(names) > 0 {
		return fsutil.SyncDir(dir)
	}
	return nil
}

// open loads the directory into engines and prepares the journal and the
// logs. A generation of the previous layout (a log per shard) is loaded and
// rewritten as a new generation, as for a change of topology.
func (st *Store) open(r *ring.Ring, engines []storage.Engine) error {
	start := time.Now()
	dir := st.cfg.Dir
	m, ok, err := readManifest(dir)
	if err != nil {
		return err
	}
	if !ok {
		if err := removeGens(dir, 0); err != nil {
			return err
		}
		return st.create(1, r, nil)
	}
	if err := removeGens(dir, m.gen); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	same := m.shards == r.Shards() && m.vnodes == r.Vnodes()
	lds := make([]loader, m.shards)
	if same {
		// Each shard keeps its keys.
		for i := range m.shards {
			e := engines[i]
			lds[i] = loader{now: now, route: func([]byte) storage.Engine { return e }, flush: e.Clear}
		}
	} else {
		old, err := ring.New(m.shards, m.vnodes)
		if err != nil {
			return &CorruptError{Path: filepath.Join(dir, manifestName), Offset: -1, Reason: err.Error()}
		}
		for i := range m.shards {
			lds[i] = loader{
				now:   now,
				route: func(k []byte) storage.Engine { return engines[r.Lookup(k)] },
				flush: func() { flushOwned(engines, old, i) },
			}
		}
	}
	keep := same && m.version == manifestVersion
	var gl *genLoad
	if m.version == manifestVersion {
		gl, err = st.loadGen(m, lds, same, keep)
		if gl != nil {
			st.load.Bytes = gl.bytes
		}
	} else {
		st.load.Bytes, err = st.loadShards(m, lds, same)
	}
	if err != nil {
		return err
	}
	for _, e := range engines {
		st.load.Expired += prune(e, now)
		st.load.Keys += int64(e.Len())
	}
	st.load.Duration = time.Since(start)
	if !keep {
		if !same {
			st.log.Info("the topology changed: every key was sent to its new shard; rewriting the data directory",
				"from_shards", m.shards, "from_vnodes", m.vnodes, "shards", r.Shards(), "vnodes", r.Vnodes())
		} else {
			st.log.Info("the data directory has a log per shard, the previous layout; rewriting it with one log for every shard")
		}
		if err := st.create(m.gen+1, r, engines); err != nil {
			return fmt.Errorf("wal: rewriting %s: %w", dir, err)
		}
		return removeGens(dir, m.gen+1)
	}
	st.gen = m.gen
	st.j = newJournal(st, logDir(dir, m.gen), m.shards)
	st.j.segs = gl.segs
	if err := st.j.start(gl.segs[len(gl.segs)-1].seq+1, gl.next); err != nil {
		return err
	}
	st.j.base.Store(gl.segs[0].start)
	for i := range m.shards {
		l := newLog(st, i, shardDir(dir, m.gen, i))
		l.snapSeq.Store(gl.snaps[i])
		l.snapBytes.Store(gl.snapSize[i])
		l.nrec = gl.records[i]
		l.records.Store(gl.records[i])
		st.logs = append(st.logs, l)
	}
	return nil
}

// flushOwned removes from engines every key that shard i of ring old owned:
// what a flush record of old shard i means once keys have moved.
func flushOwned(engines []storage.Engine, old *ring.Ring, i int) {
	for _, e := range engines {
		var dead [][]byte
		for c := uint64(0); ; {
			c = e.Scan(c, func(k, _ []byte, _ storage.Object, _ int64) bool {
				if old.Lookup(k) == i {
					dead = append(dead, append([]byte(nil), k...))
				}
				return true
			})
			if c == 0 {
				break
			}
		}
		for _, k := range dead {
			e.Delete(k)
		}
	}
}

// create writes generation gen for topology r: per shard, a snapshot of its
// engine when engines is not nil, and the journal's first segment; then it
// switches MANIFEST to it.
func (st *Store) create(gen uint64, r *ring.Ring, engines []storage.Engine) error {
	dir := st.cfg.Dir
	gd := genDir(dir, gen)
	if err := os.RemoveAll(gd); err != nil {
		return err
	}
	if err := os.MkdirAll(logDir(dir, gen), 0o755); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	st.j = newJournal(st, logDir(dir, gen), r.Shards())
	st.logs = st.logs[:0]
	for i := range r.Shards() {
		sd := shardDir(dir, gen, i)
		if err := os.Mkdir(sd, 0o755); err != nil {
			return err
		}
		l := newLog(st, i, sd)
		st.logs = append(st.logs, l)
		if engines != nil {
			size, err := writeSnapshot(sd, i, 1, engines[i], now)
			if err != nil {
				return err
			}
			l.snapBytes.Store(size)
		}
	}
	if err := st.j.start(1, 0); err != nil {
		return err
	}
	if err := fsutil.SyncDir(gd); err != nil {
		return err
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return err
	}
	st.gen = gen
	return writeManifest(dir, manifest{version: manifestVersion, gen: gen, shards: r.Shards(), vnodes: r.Vnodes()})
}
