package object

import (
	"math"
	"unsafe"
)

// packed holds the bytes of a compact encoding (a listpack or an intset),
// or a table, in 16 bytes where a slice and a pointer take 32: small hashes
// and sets are most of what a server holds, and every one pays for its
// struct. Which of the two it holds is its owner's to know; the zero value
// holds no bytes.
type packed struct {
	p      unsafe.Pointer // the first of the bytes, or the *table
	ln, cp uint32         // the bytes' length and capacity
}

// maxPacked bounds the bytes of a compact encoding, as Redis's
// LISTPACK_MAX_SAFETY_SIZE bounds a listpack: past it a collection becomes a
// table whatever its limits say. It keeps lengths in 32 bits.
const maxPacked = 1 << 30

// bytes returns the bytes held.
func (k *packed) bytes() []byte {
	if k.p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(k.p), k.cp)[:k.ln]
}

// setBytes makes b the bytes held; len(b) must be at most maxPacked. A
// capacity beyond 32 bits is cut to what 32 bits hold.
func (k *packed) setBytes(b []byte) {
	k.p = unsafe.Pointer(unsafe.SliceData(b))
	k.ln, k.cp = uint32(len(b)), uint32(min(cap(b), math.MaxUint32))
}

// table returns the table held.
func (k *packed) table() *table { return (*table)(k.p) }

// setTable makes t the table held.
func (k *packed) setTable(t *table) { *k = packed{p: unsafe.Pointer(t)} }

// capacity returns the capacity of the bytes held.
func (k *packed) capacity() int { return int(k.cp) }
