// Package keyspace puts the semantics of a Redis keyspace on top of a storage
// engine: keys that are never visible once expired, lazy and active expiry,
// and the versions that WATCH compares.
//
// A DB is owned by one goroutine at a time: its shard's run goroutine, or a
// coordinator the shard has handed itself to while it is held. It has no locks.
package keyspace

import (
	"bytes"
	"sync/atomic"

	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// DB is one shard's keyspace. The zero value is not usable; call New.
type DB struct {
	e    storage.Engine
	pre  storage.Prefetcher           // e, when it can read ahead; else nil
	cpre storage.CollectionPrefetcher // e, when it can read ahead in collections; else nil
	rw   storage.RangeWriter          // e, when it can write part of a string; else nil
	now  int64                        // Unix milliseconds, set by the owner before each batch
	// published is Len as of the last PublishLen, for other goroutines.
	published atomic.Int64

	// watched holds a version for every key some client watches. A key's
	// version changes whenever the key is written, deleted or expires.
	watched map[string]*watch
	clock   uint64 // source of versions, never reused

	// blocked holds the keys blocked clients wait on, each with whether
	// it is already listed in ready; ready lists, in the order of their
	// first write, the blocked keys written since TakeReady last took
	// them (see Block).
	blocked map[string]bool
	ready   []string

	stats Stats
	ev    evictor // memory limit and eviction state (evict.go)
	// replica, when set, keeps expired keys in place: they are hidden from
	// every read but removed only by RemoveExpired, so that a replica's
	// keys change only through the log it applies (see SetReplica).
	replica bool
	paused  bool // CLIENT PAUSE: no expiry nor eviction (SetPaused)
	noTouch bool // CLIENT NO-TOUCH: finding a key leaves its usage (SetNoTouch)
	log     Log  // receives every change, or nil (log.go)
	// notify publishes the events the keyspace itself sees (expired,
	// evicted, keymiss, new); nil for none (see SetNotifier).
	notify *notify.Notifier
	// tracker is told of every key that changes, for client-side
	// caching, with writer, the client whose command runs (see
	// SetTracker); nil for none.
	tracker *tracking.Table
	writer  int64
}

type watch struct {
	version uint64
	refs    int
}

// Stats counts keyspace events since the DB was created.
type Stats struct {
	ExpiredKeys   int64 // keys removed because their time had come
	KeyspaceHits  int64 // reads that found their key
	KeyspaceMiss  int64 // reads that did not
	ExpireCycleMs int64 // time spent in active expiry, in milliseconds (approximate)
}

// New returns a DB over engine e.
func New(e storage.Engine) *DB {
	db := &DB{e: e, watched: make(map[string]*watch), blocked: make(map[string]bool)}
	db.pre, _ = e.(storage.Prefetcher)
	db.cpre, _ = e.(storage.CollectionPrefetcher)
	db.rw, _ = e.(storage.RangeWriter)
	return db
}

// Prefetch tells the engine that keys are about to be looked up, when it
// can read ahead for them (see storage.Prefetcher). It changes nothing.
func (db *DB) Prefetch(keys [][]byte) {
	if db.pre != nil {
		db.pre.Prefetch(keys)
	}
}

// PrefetchCollection tells the engine that elems are about to be looked up
// in the collection key holds, when it can read ahead for them (see
// storage.CollectionPrefetcher). It changes nothing.
func (db *DB) PrefetchCollection(key []byte, elems [][]byte) {
	if db.cpre != nil {
		db.cpre.PrefetchCollection(key, elems)
	}
}

// SetNow sets the time, in Unix milliseconds, that expiry is judged against
// until the next call. Owners call it once per batch of commands.
func (db *DB) SetNow(ms int64) { db.now = ms }

// Now returns the time set by SetNow.
func (db *DB) Now() int64 { return db.now }

// Stats returns the DB's counters.
func (db *DB) Stats() Stats { return db.stats }

// Engine returns the underlying engine, for iteration and memory figures.
// Writes must go through the DB so that watches see them.
func (db *DB) Engine() storage.Engine { return db.e }

// expired reports whether an entry with expiry at has expired. As in Redis,
// an entry is still visible during the millisecond it expires at.
func (db *DB) expired(at int64) bool { return at != storage.NoExpiry && db.now > at }

// Lookup returns key's value and expiry, removing it first if it has expired.
// It does not count as a hit or miss; see Get.
func (db *DB) Lookup(key []byte) (value []byte, expireAt int64, ok bool) {
	value, expireAt, ok = db.e.Lookup(key)
	if ok && db.expired(expireAt) {
		if db.mayExpire() {
			db.expire(key)
		}
		return nil, 0, false
	}
	return value, expireAt, ok
}

// Find returns key's value, as bytes for a string or as obj for any other
// kind, and its expiry, removing the key first if it has expired. It does
// not count as a hit or miss; see Read.
func (db *DB) Find(key []byte) (value []byte, obj storage.Object, expireAt int64, ok bool) {
	value, obj, expireAt, ok = db.e.Find(key)
	if ok && db.expired(expireAt) {
		if db.mayExpire() {
			db.expire(key)
		}
		return nil, nil, 0, false
	}
	return value, obj, expireAt, ok
}

// MemoryUsage returns an estimate in bytes of the memory key costs, as the
// engine tells it when it is a storage.Sizer (the terms its MemoryUsage
// sums, for this key alone), else the key's and value's bytes; ok is false
// when key is absent. An expired key is removed first, as Find does. It does
// not count as a hit, a miss or a use of the key.
func (db *DB) MemoryUsage(key []byte) (bytes int64, ok bool) {
	var at int64
	if sz, isSizer := db.e.(storage.Sizer); isSizer {
		bytes, at, ok = sz.KeyMemoryUsage(key)
	} else {
		var v []byte
		var obj storage.Object
		v, obj, at, ok = db.e.Find(key)
		bytes = int64(len(key) + len(v))
		if obj != nil {
			bytes += obj.MemoryUsage()
		}
	}
	if ok && db.expired(at) {
		if db.mayExpire() {
			db.expire(key)
		}
		return 0, false
	}
	return bytes, ok
}

// Read is Find for a read command: it counts the hit or miss.
func (db *DB) Read(key []byte) (value []byte, obj storage.Object, ok bool) {
	value, obj, _, ok = db.Find(key)
	if ok {
		db.stats.KeyspaceHits++
	} else {
		db.stats.KeyspaceMiss++
		db.notify.Event(notify.KeyMiss, "keymiss", key)
	}
	return value, obj, ok
}

// Get returns key's value for a read command and counts the hit or miss.
// The value is nil for a key that holds an Object; commands that accept
// only strings use Read to tell.
func (db *DB) Get(key []byte) ([]byte, bool) {
	v, _, ok := db.Lookup(key)
	if ok {
		db.stats.KeyspaceHits++
	} else {
		db.stats.KeyspaceMiss++
		db.notify.Event(notify.KeyMiss, "keymiss", key)
	}
	return v, ok
}

// Exists reports whether key is present and not expired.
func (db *DB) Exists(key []byte) bool {
	_, _, ok := db.Lookup(key)
	return ok
}

// Set stores value under key with expiry expireAt (storage.NoExpiry for none).
// An expiry already in the past deletes the key instead, as Redis does.
func (db *DB) Set(key, value []byte, expireAt int64) {
	fresh := db.absent(key)
	db.touch(key)
	if db.expired(expireAt) {
		if db.e.Delete(key) && db.log != nil {
			db.log.Delete(key)
		}
		return
	}
	db.e.Set(key, value, expireAt)
	if fresh {
		db.notify.Event(notify.New, "new", key)
	}
	if db.log != nil {
		db.log.Set(key, value, expireAt)
	}
}

// WriteAt copies data over key's string value from byte off, where the
// value lies, and logs only those bytes: what SETBIT and SETRANGE change in a
// long string costs what they change, not the string. It
// reports false, changing nothing, when the engine cannot write part of a
// value or key holds no string at least off+len(data) long; the caller
// then sets the whole value. The key's expiry stays.
func (db *DB) WriteAt(key []byte, off int, data []byte) bool {
	if db.rw == nil || !db.rw.WriteAt(key, off, data) {
		return false
	}
	db.touch(key)
	if db.log != nil {
		db.log.Range(key, int64(off), data)
	}
	return true
}

// maxLogPart bounds the element bytes of one record that SetObject logs, so
// that a large collection is logged in several records.
const maxLogPart = 256 << 10

// SetObject stores obj under key with expiry expireAt, replacing whatever
// key held, and logs it whole, a part at a time. obj belongs to the DB from
// then on. An expiry already in the past deletes the key instead.
func (db *DB) SetObject(key []byte, obj storage.Object, expireAt int64) {
	fresh := db.absent(key)
	db.touch(key)
	if db.expired(expireAt) || obj.Len() == 0 && obj.Kind() != storage.KindStream {
		if db.e.Delete(key) && db.log != nil {
			db.log.Delete(key)
		}
		return
	}
	if s, ok := obj.(*object.Stream); ok {
		s.TakeJournal()
	}
	db.e.SetObject(key, obj, expireAt)
	if fresh {
		db.notify.Event(notify.New, "new", key)
	}
	if db.log != nil {
		LogObject(db.log, key, obj, expireAt, maxLogPart)
	}
}

// LogObject records in l that key holds obj with expiry expireAt: element
// records of up to about part bytes of elements each, the first one fresh.
// A list is logged as a fresh push of its first part at its version, and
// then parts appended at its tail (object.ListPart).
func LogObject(l Log, key []byte, obj storage.Object, expireAt int64, part int) {
	switch o := obj.(type) {
	case *object.List:
		logList(l, key, o, expireAt, part)
		return
	case *object.Stream:
		first := true
		o.Parts(part, func(ops []byte) {
			l.Stream(key, expireAt, o.Version(), first, !first, ops)
			first = false
		})
		return
	}
	kind := obj.Kind()
	var elems [][]byte
	size, fresh := 0, true
	flush := func() {
		l.Elements(kind, key, expireAt, fresh, elems)
		fresh = false
		elems, size = elems[:0], 0
	}
	object.Elements(obj, func(e, v []byte) bool {
		// Members of an intset are formatted into a reused buffer: copy.
		elems = append(elems, bytes.Clone(e))
		size += len(e)
		if object.HasValues(kind) {
			elems = append(elems, v)
			size += len(v)
		}
		if size >= part {
			flush()
		}
		return true
	})
	if len(elems) > 0 || fresh {
		flush()
	}
}

// logList is LogObject for a list.
func logList(l Log, key []byte, lst *object.List, expireAt int64, part int) {
	var elems [][]byte
	size, logged := 0, 0
	flush := func() {
		op := object.ListOp{Code: object.ListPush, Elems: elems}
		if logged > 0 {
			op = object.ListOp{Code: object.ListPart, N: int64(logged), Elems: elems}
		}
		l.List(key, expireAt, lst.Version(), logged == 0, op)
		logged += len(elems)
		elems, size = elems[:0], 0
	}
	lst.Ascend(0, func(_ int, e []byte) bool {
		elems = append(elems, e)
		size += len(e)
		if size >= part {
			flush()
		}
		return true
	})
	if len(elems) > 0 {
		flush()
	}
}

// ListChanged stores or updates l, the list under key, after a command
// changed it by op, and logs op with the list's next version. created
// says l is new and is stored now with expiry expireAt; otherwise it was
// changed in place and before is its MemoryUsage before the change. A
// list left empty is deleted, as Redis does.
func (db *DB) ListChanged(key []byte, l *object.List, expireAt int64, created bool, before int64, op object.ListOp) {
	db.touch(key)
	if l.Len() == 0 {
		if !created {
			db.e.Delete(key)
			if db.log != nil {
				db.log.Delete(key)
			}
		}
		return
	}
	if created {
		db.e.SetObject(key, l, expireAt)
		db.notify.Event(notify.New, "new", key)
	} else {
		db.e.Resized(l.MemoryUsage() - before)
		expireAt = 0
	}
	l.SetVersion(l.Version() + 1)
	if db.log != nil {
		db.log.List(key, expireAt, l.Version(), created, op)
	}
}

// StreamChanged stores or updates s, the stream under key, after a
// command changed it, and logs what the command did (its journal) with the
// stream's next version. created says s is new and is stored now with
// expiry expireAt; otherwise it was changed in place and before is its
// MemoryUsage before the change. A stream is kept when empty, as Redis
// does.
func (db *DB) StreamChanged(key []byte, s *object.Stream, expireAt int64, created bool, before int64) {
	ops := s.TakeJournal()
	if len(ops) == 0 && !created {
		return
	}
	db.touch(key)
	if created {
		db.e.SetObject(key, s, expireAt)
		db.notify.Event(notify.New, "new", key)
	} else {
		db.e.Resized(s.MemoryUsage() - before)
		expireAt = 0
	}
	s.SetVersion(s.Version() + 1)
	if db.log != nil {
		db.log.Stream(key, expireAt, s.Version(), created, false, ops)
	}
}

// Added stores or updates obj, a collection under key with expiry
// expireAt, after a command added or changed elements in it: elems are the
// elements now present (field and value pairs for a hash, members for a
// set). created says obj is new and is stored now; otherwise it was changed
// in place and before is its MemoryUsage before the change.
func (db *DB) Added(key []byte, obj storage.Object, expireAt int64, created bool, before int64, elems [][]byte) {
	db.touch(key)
	if created {
		db.e.SetObject(key, obj, expireAt)
		db.notify.Event(notify.New, "new", key)
	} else {
		db.e.Resized(obj.MemoryUsage() - before)
	}
	if db.log != nil && len(elems) > 0 {
		db.log.Elements(obj.Kind(), key, expireAt, created, elems)
	}
}

// Removed records that a command removed elems (fields or members) from
// obj, the collection under key, in place; before is its MemoryUsage before
// the change. A collection left empty is deleted, as Redis does.
func (db *DB) Removed(key []byte, obj storage.Object, before int64, elems [][]byte) {
	if len(elems) == 0 {
		return
	}
	db.touch(key)
	if obj.Len() == 0 {
		db.e.Delete(key)
		if db.log != nil {
			db.log.Delete(key)
		}
		return
	}
	db.e.Resized(obj.MemoryUsage() - before)
	if db.log != nil {
		db.log.RemoveElements(obj.Kind(), key, elems)
	}
}

// SetExpire changes key's expiry and reports whether key exists. An expiry in
// the past deletes the key.
func (db *DB) SetExpire(key []byte, expireAt int64) bool {
	if _, _, ok := db.Lookup(key); !ok {
		return false
	}
	db.touch(key)
	if db.expired(expireAt) {
		db.e.Delete(key)
		if db.log != nil {
			db.log.Delete(key)
		}
		return true
	}
	ok := db.e.SetExpire(key, expireAt)
	if ok && db.log != nil {
		db.log.Expire(key, expireAt)
	}
	return ok
}

// Delete removes key and reports whether it existed (and had not expired).
func (db *DB) Delete(key []byte) bool {
	_, _, ok := db.Lookup(key)
	if !ok {
		return false
	}
	db.touch(key)
	ok = db.e.Delete(key)
	if ok && db.log != nil {
		db.log.Delete(key)
	}
	return ok
}

// Len returns the number of keys, counting expired keys not yet removed.
func (db *DB) Len() int { return db.e.Len() }

// PublishLen makes the number of keys readable by other goroutines
// (PublishedLen). The owner calls it after each batch, and a holder before
// it gives the keyspace back, so that the count covers every key written
// before a reply was sent.
func (db *DB) PublishLen() { db.published.Store(int64(db.Len())) }

// PublishedLen returns the number of keys as of the last PublishLen. It is
// safe for concurrent use.
func (db *DB) PublishedLen() int64 { return db.published.Load() }

// ExpiresLen returns the number of keys with an expiry.
func (db *DB) ExpiresLen() int { return db.e.ExpiresLen() }

// Flush removes every key and changes the version of every watched key.
func (db *DB) Flush() {
	if db.e.Len() == 0 {
		return
	}
	for _, w := range db.watched {
		db.clock++
		w.version = db.clock
	}
	db.e.Clear()
	if db.log != nil {
		db.log.Flush()
	}
}

// Scan calls fn for live entries from cursor on, as storage.Engine.Scan does,
// skipping expired ones.
func (db *DB) Scan(cursor uint64, fn func(key, value []byte, obj storage.Object, expireAt int64) bool) uint64 {
	return db.e.Scan(cursor, func(k, v []byte, obj storage.Object, at int64) bool {
		if db.expired(at) {
			return true
		}
		return fn(k, v, obj, at)
	})
}

// RandomKey returns a live key chosen at random. Expired keys it meets are
// removed; it gives up after a bounded number of tries when almost every key
// has expired, as Redis does, and then reports ok false.
func (db *DB) RandomKey() (key []byte, ok bool) {
	for range 100 {
		k, ok := db.e.RandomKey()
		if !ok {
			return nil, false
		}
		_, at, _ := db.e.Lookup(k)
		if !db.expired(at) {
			return k, true
		}
		if db.mayExpire() {
			db.expire(append([]byte(nil), k...))
		}
	}
	return nil, false
}

// SetNotifier makes db publish through n the events it sees itself: a
// key that expired (lazily or by ActiveExpire), was evicted, was not found
// by a read (Get, Read), or was created. Commands publish their own events
// through the same Notifier (see Notifier). Call it before the DB is used.
func (db *DB) SetNotifier(n *notify.Notifier) { db.notify = n }

// SetTracker makes db tell t of every key that changes (written, deleted,
// expired or evicted), for client-side caching. Call it before the DB is
// used.
func (db *DB) SetTracker(t *tracking.Table) { db.tracker = t }

// Tracker returns the Table set by SetTracker, or nil.
func (db *DB) Tracker() *tracking.Table { return db.tracker }

// SetWriter names the client whose commands run from now on, 0 for none,
// so that a client tracking with NOLOOP is not told of its own writes.
func (db *DB) SetWriter(id int64) { db.writer = id }

// Notifier returns the Notifier set by SetNotifier, or nil.
func (db *DB) Notifier() *notify.Notifier { return db.notify }

// absent reports whether key is absent, for a write that may create it,
// when "new" events are published; otherwise it reports false at no cost.
func (db *DB) absent(key []byte) bool {
	if !db.notify.On(notify.New) {
		return false
	}
	_, _, ok := db.Lookup(key)
	return !ok
}

// SetReplica makes db keep expired keys until RemoveExpired removes them:
// reads judge expiry against the time set by SetNow as always, but never
// delete. A replicated keyspace needs this, since its keys may change only
// through entries of its log, which every replica applies alike; the leader
// finds expired keys with Expired and logs their removal. Call it before the
// DB is used.
func (db *DB) SetReplica(on bool) { db.replica = on }

// Replica reports whether db is a replicated keyspace (SetReplica), whose
// keys a read must leave as they are.
func (db *DB) Replica() bool { return db.replica }

// SetPaused pauses expiry and eviction, as Redis does during CLIENT PAUSE:
// while on, a read judges expiry as always but removes nothing,
// ActiveExpire removes nothing and MakeRoom evicts nothing (and reports
// room), so that the data does not change while clients are paused.
func (db *DB) SetPaused(on bool) { db.paused = on }

// SetNoTouch makes the keys found from now on keep their LRU or LFU usage,
// as Redis does for a client in CLIENT NO-TOUCH mode (except for TOUCH,
// which the caller leaves out); a key written fresh still starts its
// usage anew.
func (db *DB) SetNoTouch(on bool) { db.noTouch = on }

// mayExpire reports whether an expired key found by a read may be removed.
func (db *DB) mayExpire() bool { return !db.replica && !db.paused }

// Expired appends to dst up to max keys that have expired by the time set by
// SetNow, sampled as ActiveExpire samples, and returns dst. It changes
// nothing.
func (db *DB) Expired(dst [][]byte, max int) [][]byte {
	if db.e.ExpiresLen() == 0 {
		return dst
	}
	db.e.SampleExpiring(max, func(k []byte, at int64) {
		if db.expired(at) {
			dst = append(dst, append([]byte(nil), k...))
		}
	})
	return dst
}

// RemoveExpired removes key if it has expired by the time set by SetNow, as
// lazy or active expiry would, and reports whether it did.
func (db *DB) RemoveExpired(key []byte) bool {
	_, at, ok := db.e.Lookup(key)
	if !ok || !db.expired(at) {
		return false
	}
	db.expire(key)
	return true
}

// expire removes a key whose time has come.
func (db *DB) expire(key []byte) {
	db.touch(key)
	db.e.Delete(key)
	db.stats.ExpiredKeys++
	db.notify.Event(notify.Expired, "expired", key)
}

// ActiveExpire samples keys with an expiry and removes those that have
// expired, as Redis's active expire cycle does: it keeps sampling while more
// than a quarter of a sample had expired, and stops after maxSamples rounds so
// that one call is bounded. It returns the number of keys removed.
func (db *DB) ActiveExpire(perRound, maxRounds int) int {
	if db.paused {
		return 0
	}
	removed := 0
	var dead [][]byte
	for range maxRounds {
		if db.e.ExpiresLen() == 0 {
			break
		}
		dead = dead[:0]
		sampled := 0
		db.e.SampleExpiring(perRound, func(k []byte, at int64) {
			sampled++
			if db.expired(at) {
				dead = append(dead, append([]byte(nil), k...))
			}
		})
		for _, k := range dead {
			db.expire(k)
		}
		removed += len(dead)
		if sampled == 0 || len(dead)*4 <= sampled {
			break
		}
	}
	return removed
}

// Watch registers interest in key and returns its current version. Every
// Watch must be paired with an Unwatch.
func (db *DB) Watch(key []byte) uint64 {
	// An expired key counts as absent: remove it now so that its expiry
	// does not later look like a change.
	db.Lookup(key)
	w, ok := db.watched[string(key)]
	if !ok {
		db.clock++
		w = &watch{version: db.clock}
		db.watched[string(key)] = w
	}
	w.refs++
	return w.version
}

// Version returns the version of a watched key. A key whose expiry has passed
// is removed first, which changes its version.
func (db *DB) Version(key []byte) uint64 {
	db.Lookup(key)
	if w, ok := db.watched[string(key)]; ok {
		return w.version
	}
	return 0
}

// Unwatch drops one registration made by Watch.
func (db *DB) Unwatch(key []byte) {
	w, ok := db.watched[string(key)]
	if !ok {
		return
	}
	if w.refs--; w.refs <= 0 {
		delete(db.watched, string(key))
	}
}

// touch records a write to key for WATCH, for the clients blocked on it,
// and for the clients that track it.
func (db *DB) touch(key []byte) {
	if db.tracker.Active() {
		db.tracker.Changed(key, db.writer)
	}
	if len(db.watched) == 0 && len(db.blocked) == 0 {
		return
	}
	if w, ok := db.watched[string(key)]; ok {
		db.clock++
		w.version = db.clock
	}
	if listed, ok := db.blocked[string(key)]; ok && !listed {
		db.blocked[string(key)] = true
		db.ready = append(db.ready, string(key))
	}
}

// Block marks key as one that blocked clients wait on: from then on a
// write to it lists it for TakeReady, until Unblock. It is the shard's
// list of waiting clients that calls Block and Unblock.
func (db *DB) Block(key []byte) {
	if _, ok := db.blocked[string(key)]; !ok {
		db.blocked[string(key)] = false
	}
}

// Unblock forgets a key marked by Block.
func (db *DB) Unblock(key []byte) { delete(db.blocked, string(key)) }

// HasReady reports whether a key marked by Block was written since the
// last TakeReady. It is cheap enough to call after every command.
func (db *DB) HasReady() bool { return len(db.ready) > 0 }

// TakeReady appends to dst the keys marked by Block that were written since
// the last call, each once, in the order of their first write, and forgets
// them: a later write lists a key again.
func (db *DB) TakeReady(dst []string) []string {
	for _, k := range db.ready {
		if _, ok := db.blocked[k]; ok {
			db.blocked[k] = false
		}
		dst = append(dst, k)
	}
	clear(db.ready)
	db.ready = db.ready[:0]
	return dst
}

// Touch records that key was modified in place by a command, for WATCH.
// Commands that write through Set, SetExpire or Delete need not call it.
func (db *DB) Touch(key []byte) { db.touch(key) }
