// Package ring maps keys to shard indexes with a consistent-hash ring of
// virtual nodes.
//
// # Algorithm
//
// A ring of n shards with v virtual nodes each holds n*v points on a circle of
// 64-bit integers. Point j of shard s (0 <= s < n, 0 <= j < v) sits at
//
//	xxhash64("shard-<s>-vnode-<j>")
//
// where <s> and <j> are written in decimal without sign or leading zeros, so
// point 7 of shard 2 is xxhash64("shard-2-vnode-7"). xxhash64 is XXH64 with
// seed 0 as implemented by github.com/cespare/xxhash/v2. A point depends only
// on its shard and its index, never on the size of the ring: adding shard n
// leaves every point of shards 0..n-1 where it was, so the only keys that move
// are those the new shard's points take over.
//
// The points are sorted by hash, and points with equal hashes by shard, which
// makes ties deterministic. A key sits at xxhash64 of its bytes and belongs to
// the shard of the first point clockwise from it: the first point whose hash is
// greater than or equal to the key's hash, wrapping round to the first point
// when there is none.
//
// Placement therefore depends on nothing but the key bytes, the number of
// shards and the number of virtual nodes: it is the same across runs,
// processes, machines and Go versions, and data persisted under one ring can
// be found again by a ring built with the same sizes. The point format above
// must never change.
//
// # Layout
//
// The sorted hashes live in one flat []uint64 and their owners in a parallel
// []uint16. An index by the top bits of the hash (about eight buckets per
// point) gives, for each bucket, the first point at or after its start, so a
// lookup reads the bucket's bounds and searches only the points inside the
// bucket, none for most keys, then indexes the owners once. Lookup does not
// allocate.
package ring

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// Limits on the size of a ring accepted by New.
const (
	// MaxShards is the largest number of shards a ring may have.
	MaxShards = 4096
	// MaxVnodes is the largest number of virtual nodes per shard.
	MaxVnodes = 4096
	// MaxPoints is the largest number of points (shards times virtual
	// nodes) a ring may have.
	MaxPoints = 1 << 20
)

// Errors returned by New. They are wrapped with the offending values, so
// compare them with errors.Is.
var (
	// ErrShards reports a number of shards below 1 or above MaxShards.
	ErrShards = errors.New("ring: invalid number of shards")
	// ErrVnodes reports a number of virtual nodes below 1 or above MaxVnodes.
	ErrVnodes = errors.New("ring: invalid number of virtual nodes")
	// ErrTooLarge reports a ring whose shards times virtual nodes exceeds
	// MaxPoints.
	ErrTooLarge = errors.New("ring: too many points")
)

// Ring is a consistent-hash ring that maps keys to shard indexes
// 0..Shards()-1.
//
// A Ring is immutable after New and safe for concurrent use by any number of
// goroutines.
type Ring struct {
	hashes []uint64 // point hashes in ascending order
	owners []uint16 // owners[i] is the shard of the point at hashes[i]
	// starts[b] is the index of the first point whose hash is at least
	// b<<shift, the start of bucket b (len(hashes) when there is none);
	// starts has one more entry than there are buckets, len(hashes).
	starts []uint32
	shift  uint
	shards int
	vnodes int
}

// Bucket index sizes: about 2^bucketsPerPoint buckets a point, within
// [2^minBucketBits, 2^maxBucketBits] buckets (4 bytes each).
const (
	bucketsPerPoint = 3
	minBucketBits   = 8
	maxBucketBits   = 16
)

// New returns a ring of shards shards with vnodes virtual nodes each.
//
// It returns an error wrapping ErrShards unless 1 <= shards <= MaxShards, an
// error wrapping ErrVnodes unless 1 <= vnodes <= MaxVnodes, and an error
// wrapping ErrTooLarge if shards*vnodes exceeds MaxPoints.
func New(shards, vnodes int) (*Ring, error) {
	switch {
	case shards < 1:
		return nil, fmt.Errorf("%w: %d, want at least 1", ErrShards, shards)
	case shards > MaxShards:
		return nil, fmt.Errorf("%w: %d, want at most %d", ErrShards, shards, MaxShards)
	case vnodes < 1:
		return nil, fmt.Errorf("%w: %d, want at least 1", ErrVnodes, vnodes)
	case vnodes > MaxVnodes:
		return nil, fmt.Errorf("%w: %d, want at most %d", ErrVnodes, vnodes, MaxVnodes)
	case shards*vnodes > MaxPoints:
		return nil, fmt.Errorf("%w: %d shards × %d virtual nodes = %d, want at most %d",
			ErrTooLarge, shards, vnodes, shards*vnodes, MaxPoints)
	}

	type point struct {
		hash  uint64
		shard uint16
	}
	points := make([]point, 0, shards*vnodes)
	var buf []byte
	for s := range shards {
		for v := range vnodes {
			buf = pointName(buf[:0], s, v)
			points = append(points, point{hash: xxhash.Sum64(buf), shard: uint16(s)})
		}
	}
	slices.SortFunc(points, func(a, b point) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(a.shard, b.shard)
	})

	r := &Ring{
		hashes: make([]uint64, len(points)),
		owners: make([]uint16, len(points)),
		shards: shards,
		vnodes: vnodes,
	}
	for i, p := range points {
		r.hashes[i] = p.hash
		r.owners[i] = p.shard
	}
	nbits := min(max(bits.Len(uint(len(points)))+bucketsPerPoint, minBucketBits), maxBucketBits)
	r.shift = uint(64 - nbits)
	r.starts = make([]uint32, 1<<nbits+1)
	i := 0
	for b := range 1 << nbits {
		for i < len(r.hashes) && r.hashes[i] < uint64(b)<<r.shift {
			i++
		}
		r.starts[b] = uint32(i)
	}
	r.starts[1<<nbits] = uint32(len(r.hashes))
	return r, nil
}

// pointName appends to dst the bytes whose hash places point v of shard s:
// "shard-<s>-vnode-<v>" in decimal. This format fixes where every key lives and
// must never change.
func pointName(dst []byte, s, v int) []byte {
	dst = append(dst, "shard-"...)
	dst = strconv.AppendInt(dst, int64(s), 10)
	dst = append(dst, "-vnode-"...)
	dst = strconv.AppendInt(dst, int64(v), 10)
	return dst
}

// Lookup returns the shard index, in 0..Shards()-1, that key belongs to. It
// does not allocate.
func (r *Ring) Lookup(key []byte) int {
	return r.owner(xxhash.Sum64(key))
}

// LookupString returns the shard index that key belongs to; it agrees with
// Lookup([]byte(key)). It does not allocate.
func (r *Ring) LookupString(key string) int {
	return r.owner(xxhash.Sum64String(key))
}

// owner returns the shard of the first point whose hash is >= h, wrapping
// round to the first point.
func (r *Ring) owner(h uint64) int {
	// A hand-written binary search over h's bucket, small enough to
	// inline into Lookup. BenchmarkSearch compares it with sort.Search
	// and slices.BinarySearch over every point. Invariant: hashes[:i] < h
	// and hashes[j:] >= h, which the bucket's bounds already give.
	hashes := r.hashes
	b := h >> r.shift
	i, j := int(r.starts[b]), int(r.starts[b+1])
	for i < j {
		m := int(uint(i+j) >> 1)
		if hashes[m] < h {
			i = m + 1
		} else {
			j = m
		}
	}
	if i == len(hashes) {
		i = 0
	}
	return int(r.owners[i])
}

// Shards returns the number of shards of the ring.
func (r *Ring) Shards() int { return r.shards }

// Vnodes returns the number of virtual nodes per shard.
func (r *Ring) Vnodes() int { return r.vnodes }
