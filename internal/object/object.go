// Package object implements the values other than strings that a keyspace
// holds: hashes, sets, sorted sets and lists, each in a compact contiguous
// encoding while small and a hashed or ordered one past the limits Redis's
// settings name (hash-max-listpack-entries and the like).
//
// # Encodings
//
// A small hash or set is a listpack: its elements back to back in one byte
// slice, each as a length (a varint) and its bytes, fields followed by their
// values; lookups walk it, as Redis's do. A set of integers only is an
// intset: sorted integers of one width (2, 4 or 8 bytes) in one byte slice,
// widened when a larger integer arrives. Past the limits, a collection
// becomes a table: a dense array of elements, each one string holding a
// field and its value, and a map from field to position that shares the
// field's bytes. A removal moves the last element into the hole.
//
// A small sorted set is a listpack of members each followed by its score
// (8 bytes), kept in order of score and then member. Past the limits it is
// a ztree: an order-statistics B+tree of (score, member) entries whose
// nodes count the entries below them, so that ranks cost O(log n) as in
// Redis's skiplist, and a map from member to score sharing the member's
// bytes. Its order is the sorted set's own, whatever the operations.
//
// A list is a sequence of chunks, as Redis's quicklist is a sequence of
// listpacks: each chunk holds elements back to back in one byte slice,
// each as its length (a varint) and its bytes, a byte less than Redis's
// listpack entry, which also ends with its length for walking backwards.
// A chunk is walked backwards from checkpoints instead, offsets of every
// 16th element or so, kept only for chunks that are walked backwards
// (RPOP, an index near the tail): a stretch after a checkpoint is read
// forwards. A chunk holds up to list-max-listpack-size (8 KiB by default)
// and keeps its free room on the side elements arrive at, so that pushes
// and pops at either end cost O(1); an index walks whole chunks by their
// counts from the nearer end. OBJECT ENCODING names a list listpack while Redis's
// would be one and quicklist past that, following Redis 7.2's rules for
// the change both ways.
//
// A stream keeps its entries in nodes of up to stream-node-max-entries
// entries and stream-node-max-bytes bytes, as Redis's listpacks under its
// radix tree, with its consumer groups beside them; stream.go describes
// it.
//
// Element order is thus a function of the operations applied alone: the
// same operations in the same order give the same order on every replica,
// which keeps commands that pick elements at random deterministic for a
// given source of randomness. Conversions go one way, as in Redis: a
// collection never goes back to a compact encoding, except the sorted sets
// that ZUNIONSTORE and its kin store, which Redis compacts too.
//
// # Concurrency
//
// An object belongs to the keyspace that holds it and is used by that
// keyspace's owner only. The limits are process-wide and may be changed at
// any time (CONFIG SET); objects read them as they grow.
package object

import (
	"bytes"
	"encoding/binary"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// Limits are the sizes past which a collection leaves its compact encoding.
// The names and defaults are Redis's.
type Limits struct {
	HashMaxListpackEntries int64 // hash-max-listpack-entries
	HashMaxListpackValue   int64 // hash-max-listpack-value
	SetMaxIntsetEntries    int64 // set-max-intset-entries
	SetMaxListpackEntries  int64 // set-max-listpack-entries
	SetMaxListpackValue    int64 // set-max-listpack-value
	ZSetMaxListpackEntries int64 // zset-max-listpack-entries
	ZSetMaxListpackValue   int64 // zset-max-listpack-value
	// ListMaxListpackSize bounds each chunk of a list: a negative value
	// n bounds its bytes to 4 KiB << (-n-1), from -1 (4 KiB) to -5 (64
	// KiB), values below -5 counting as -5; a positive one its elements
	// (and its bytes to 8 KiB), 0 counting as 1. A list is a listpack
	// while Redis's listpack of its elements would fit one chunk.
	ListMaxListpackSize int64 // list-max-listpack-size
	// ListCompressDepth is accepted and reported but changes nothing:
	// chunks are never compressed.
	ListCompressDepth int64 // list-compress-depth
	// StreamNodeMaxBytes and StreamNodeMaxEntries bound each node of a
	// stream's entries; 0 means no bound.
	StreamNodeMaxBytes   int64 // stream-node-max-bytes
	StreamNodeMaxEntries int64 // stream-node-max-entries
	// HLLSparseMaxBytes bounds a HyperLogLog string in the sparse
	// encoding, header included; past it the string turns dense (see
	// package hll).
	HLLSparseMaxBytes int64 // hll-sparse-max-bytes
}

// DefaultLimits returns Redis 7's defaults.
func DefaultLimits() Limits {
	return Limits{
		HashMaxListpackEntries: 128,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		SetMaxListpackEntries:  128,
		SetMaxListpackValue:    64,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
		ListMaxListpackSize:    -2,
		StreamNodeMaxBytes:     defaultStreamNodeMaxBytes,
		StreamNodeMaxEntries:   defaultStreamNodeMaxEntries,
		HLLSparseMaxBytes:      3000,
	}
}

var limits atomic.Pointer[Limits]

func init() {
	l := DefaultLimits()
	limits.Store(&l)
}

// SetLimits makes l the limits of every collection from now on. Collections
// already past a limit stay in their encoding until they next grow.
func SetLimits(l Limits) { limits.Store(&l) }

// CurrentLimits returns the limits in force.
func CurrentLimits() Limits { return *limits.Load() }

// Encoding names, as OBJECT ENCODING answers them.
const (
	EncListpack  = "listpack"
	EncHashtable = "hashtable"
	EncIntset    = "intset"
	EncQuicklist = "quicklist"
)

// New returns an empty object of kind, or nil for a kind this package does
// not implement.
func New(kind storage.Kind) storage.Object {
	switch kind {
	case storage.KindHash:
		return NewHash()
	case storage.KindSet:
		return NewSet()
	case storage.KindZSet:
		return NewZSet()
	case storage.KindList:
		return NewList()
	case storage.KindStream:
		return NewStream()
	}
	return nil
}

// Encoding returns the OBJECT ENCODING name of obj.
func Encoding(obj storage.Object) string {
	switch o := obj.(type) {
	case *Hash:
		return o.Encoding()
	case *Set:
		return o.Encoding()
	case *ZSet:
		return o.Encoding()
	case *List:
		return o.Encoding()
	case *Stream:
		return o.Encoding()
	}
	return "unknown"
}

// HasValues reports whether the elements of a collection of kind come
// with a value: a hash's fields their value, a sorted set's members their
// score.
func HasValues(kind storage.Kind) bool { return kind == storage.KindHash || kind == storage.KindZSet }

// Elements calls fn with every element of obj, in order, until fn returns
// false: a field and its value for a hash, a member and nil for a set, a
// member and its score's 8 bytes (see ZScoreBytes) for a sorted set, an
// element and nil for a list, in a slice fn may keep.
func Elements(obj storage.Object, fn func(elem, value []byte) bool) {
	switch o := obj.(type) {
	case *Hash:
		o.Range(fn)
	case *Set:
		o.Range(func(m []byte) bool { return fn(m, nil) })
	case *ZSet:
		o.Range(func(m []byte, s float64) bool { return fn(m, zscoreBytes(s)) })
	case *List:
		o.Ascend(0, func(_ int, e []byte) bool { return fn(e, nil) })
	}
}

// bytesOf returns the bytes of s without copying; they must not be written.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// lpNext decodes the element at the start of b, returning it and the rest.
func lpNext(b []byte) (elem, rest []byte) {
	n, w := binary.Uvarint(b)
	end := w + int(n)
	return b[w:end:end], b[end:]
}

// lpAppend appends elem to a listpack.
func lpAppend(b, elem []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(elem)))
	return append(b, elem...)
}

// lpSize returns the encoded size of an element of n bytes.
func lpSize(n int) int {
	var tmp [binary.MaxVarintLen64]byte
	return binary.PutUvarint(tmp[:], uint64(n)) + n
}

// reserve returns b with room for n more bytes after its end. A compact
// encoding grows by an eighth, not by doubling as append does: a listpack
// or intset is small (the limits bound it) and most stay as they were
// first filled, so the spare room doubling leaves would be a large part of
// what every small collection costs. Redis's listpacks grow to the byte.
func reserve(b []byte, n int) []byte {
	need := len(b) + n
	if need <= cap(b) {
		return b
	}
	// Appending to nil rounds the capacity up to the allocator's size
	// class, so the capacity is all the memory the buffer holds. Up to
	// smallBuffer bytes the classes are at most 16 bytes apart and already
	// leave room for the next element or so; past it an eighth more keeps
	// a buffer grown element by element from being copied at every step.
	grow := need
	if need > smallBuffer {
		grow += need / 8
	}
	nb := append([]byte(nil), make([]byte, grow)...)
	copy(nb, b)
	return nb[:len(b)]
}

// smallBuffer is the size up to which reserve grows a buffer only to the
// allocator's size class: the listpacks and intsets of small hashes and sets,
// of which a server holds millions.
const smallBuffer = 256

// shrink returns b, or a copy of it that gives most of its capacity back
// once elements removed have left three quarters of a large buffer unused.
func shrink(b []byte) []byte {
	if cap(b) > 256 && len(b) < cap(b)/4 {
		return bytes.Clone(b)
	}
	return b
}

// sliceBytes is what a slice header costs, and stringBytes a string header.
const (
	sliceBytes  = 24
	stringBytes = 16
)

// allocBytes rounds n up to the allocator's size classes, roughly.
func allocBytes(n int) int64 {
	switch {
	case n == 0:
		return 0
	case n <= 16:
		return 16
	case n <= 32:
		return 32
	case n <= 64:
		return 64
	case n <= 128:
		return 128
	}
	return int64(n+63) &^ 63
}

// parseInt parses b as Redis's string2ll does: a canonical decimal integer
// (no sign but a minus, no leading zeros, no spaces) within int64.
// It does not allocate: lists ask it of every element they take in.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || digits[0] == '0' && len(b) > 1 {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// AddElements adds elems to obj: field and value pairs to a hash, members
// to a set, member and score pairs to a sorted set (a pair whose score is
// not 8 bytes or is NaN is skipped), elements at the tail of a list.
func AddElements(obj storage.Object, elems [][]byte) {
	switch o := obj.(type) {
	case *Hash:
		for i := 0; i+1 < len(elems); i += 2 {
			o.Set(elems[i], elems[i+1])
		}
	case *Set:
		for _, m := range elems {
			o.Add(m)
		}
	case *ZSet:
		for i := 0; i+1 < len(elems); i += 2 {
			if s, ok := ZScoreOf(elems[i+1]); ok {
				o.Set(elems[i], s)
			}
		}
	case *List:
		o.Push(false, elems...)
	}
}

// RemoveElements removes elems (fields or members) from obj.
func RemoveElements(obj storage.Object, elems [][]byte) {
	switch o := obj.(type) {
	case *Hash:
		for _, f := range elems {
			o.Delete(f)
		}
	case *Set:
		for _, m := range elems {
			o.Remove(m)
		}
	case *ZSet:
		for _, m := range elems {
			o.Remove(m)
		}
	}
}
