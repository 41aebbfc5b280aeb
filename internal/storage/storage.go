// Package storage defines Engine, the interface every storage engine of a
// shard implements, and the entry format the rest of the server relies on.
//
// An Engine is owned by exactly one goroutine at a time (a shard's run
// goroutine, or a coordinator the shard has handed itself to). Engines are not
// safe for concurrent use and need no locks.
//
// Engines know nothing about time: an expiry is an absolute Unix time in
// milliseconds that the engine stores and reports. Deciding that an entry has
// expired, and removing it, is the caller's job.
package storage

// NoExpiry is the expireAt value of an entry that never expires.
const NoExpiry int64 = 0

// Kind is the type of a value, as Redis's TYPE names it.
type Kind uint8

// The kinds of value. String values are byte strings held by the engine;
// every other kind is an Object.
const (
	KindString Kind = iota
	KindHash
	KindSet
	KindList
	KindZSet
	KindStream
)

var kindNames = [...]string{"string", "hash", "set", "list", "zset", "stream"}

// String returns the kind's name as Redis's TYPE answers it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Object is a value other than a string: a collection that the engine keeps
// by reference, so that a command can change it in place through the handle
// Find returns, without copying it. An Object belongs to the engine that
// holds it and to that engine's owner; it is not safe for concurrent use.
type Object interface {
	// Kind returns the object's type; never KindString.
	Kind() Kind
	// Len returns the number of elements.
	Len() int
	// MemoryUsage returns an estimate in bytes of the memory it holds.
	MemoryUsage() int64
	// Clone returns a deep copy that shares nothing with the object.
	Clone() Object
}

// Engine stores keys, their values and their expiry times. A value is a byte
// string or an Object.
//
// Byte slices passed in are copied by the engine: callers may reuse them after
// the call returns. Byte slices handed out (by Lookup, Find, Scan,
// SampleExpiring and RandomKey) belong to the engine: they stay valid only
// until the next call that modifies the engine, and callers must not modify
// them. An Object passed to SetObject belongs to the engine from then on; a
// handle from Find stays valid until its key is set, deleted or cleared.
type Engine interface {
	// Lookup returns the value and expiry of key, and whether it is present.
	// For a key that holds an Object, value is nil: use Find to tell.
	Lookup(key []byte) (value []byte, expireAt int64, ok bool)

	// Find returns key's value, as bytes for a string or as obj for any
	// other kind, its expiry, and whether key is present.
	Find(key []byte) (value []byte, obj Object, expireAt int64, ok bool)

	// Set stores value under key with the given expiry (NoExpiry for none),
	// replacing any previous value and expiry.
	Set(key, value []byte, expireAt int64)

	// SetObject stores obj under key with the given expiry, replacing any
	// previous value and expiry.
	SetObject(key []byte, obj Object, expireAt int64)

	// Resized tells the engine that an Object it holds, changed in place,
	// now holds delta bytes more (or fewer, when negative) than before, so
	// that MemoryUsage stays exact.
	Resized(delta int64)

	// SetExpire changes the expiry of an existing key and reports whether the
	// key was present.
	SetExpire(key []byte, expireAt int64) bool

	// Delete removes key and reports whether it was present.
	Delete(key []byte) bool

	// Len returns the number of keys stored.
	Len() int

	// ExpiresLen returns the number of keys that have an expiry.
	ExpiresLen() int

	// Scan calls fn for entries starting at cursor, in the engine's own order,
	// until fn returns false or every entry has been visited. It returns the
	// cursor to continue from, or 0 when the iteration is complete. A full
	// iteration starts at cursor 0 and ends when 0 is returned; it visits every
	// key that is present for its whole duration at least once, even if other
	// keys are set or deleted between calls. fn must not modify the engine.
	// For a key holding an Object, value is nil and obj the object.
	Scan(cursor uint64, fn func(key, value []byte, obj Object, expireAt int64) bool) uint64

	// SampleExpiring calls fn for up to n keys that have an expiry, chosen
	// with no fixed order so that repeated calls cover the whole set. fn must
	// not modify the engine; collect keys first if they are to be deleted.
	SampleExpiring(n int, fn func(key []byte, expireAt int64))

	// RandomKey returns a key chosen at random, or ok false when empty.
	RandomKey() (key []byte, ok bool)

	// Clear removes every key.
	Clear()

	// MemoryUsage returns an estimate in bytes of the memory the engine holds.
	MemoryUsage() int64
}

// Sizer is implemented by engines that can tell what one key costs them,
// for MEMORY USAGE. Like Engine, it is used by the engine's owner only.
type Sizer interface {
	// KeyMemoryUsage returns an estimate in bytes of the memory key's entry
	// holds, made of the same terms MemoryUsage sums over every entry: the
	// key and a string value as stored, an Object's MemoryUsage, the
	// entry's slot and expiry record, its usage word, and its share of the
	// index. It also returns the key's expiry, and ok false when key is
	// absent. It does not count as a use of the key.
	KeyMemoryUsage(key []byte) (bytes, expireAt int64, ok bool)
}

// Scanner is the read-only part of an Engine that iteration needs.
type Scanner interface {
	// Len returns the number of keys.
	Len() int
	// Scan is Engine.Scan.
	Scan(cursor uint64, fn func(key, value []byte, obj Object, expireAt int64) bool) uint64
}

// Freezer is implemented by engines that can make a copy of their entries
// faster than a Scan visits them. Freeze returns a copy that another
// goroutine may scan while the engine goes on changing, so that the
// engine's owner is held only while the copy is made. Objects are cloned
// into the copy.
type Freezer interface {
	Freeze() Frozen
}

// Frozen is a copy of an engine's entries made by Freeze. It may share
// memory with the engine, which then writes nothing over that memory
// until Release: Release is called once, by the copy's user, when it is
// done with the copy (from any goroutine); the copy is not used after.
// A copy never released keeps the engine from ever writing in place again
// (values, emptied chunks): it costs memory and copies, never correctness.
type Frozen interface {
	Scanner
	Release()
}

// RangeWriter is implemented by engines that can change part of a string
// value where it lies, without copying the rest: SETBIT and SETRANGE on
// a long string change a few bytes of it.
type RangeWriter interface {
	// WriteAt copies data over key's string value from byte off and
	// reports whether it did: false, changing nothing, when key is absent,
	// holds an Object, or its value is shorter than off+len(data), and
	// when the value's memory is shared with a Frozen copy. It
	// counts as a use of the key, as Set does.
	WriteAt(key []byte, off int, data []byte) bool
}

// Prefetcher is implemented by engines that can read ahead for a group of
// lookups. Prefetch must not change what the engine holds; it only makes the
// lookups of keys that follow cheaper, typically by bringing what they read
// into the CPU cache. A shard calls it with the keys of the commands it is
// about to run.
type Prefetcher interface {
	Prefetch(keys [][]byte)
}

// CollectionPrefetcher is implemented by engines that can read ahead for
// lookups of elements in the collection a key holds. PrefetchCollection
// must not change what the engine holds, nor count as a use of key; it
// reads nothing when key is absent or its value is not an
// ElementPrefetcher. A shard calls it with the elements that the commands
// it is about to run look up in key.
type CollectionPrefetcher interface {
	PrefetchCollection(key []byte, elems [][]byte)
}

// ElementPrefetcher is implemented by Objects that can read ahead for a
// group of lookups of their elements (a set's members, a hash's fields).
// PrefetchElements must not change the object; it returns a sum of what it
// read, which the caller keeps (adds to a field, say) so that the compiler
// cannot leave the reads out.
type ElementPrefetcher interface {
	PrefetchElements(elems [][]byte) uint64
}
