// Package binread reads the fields that the node's logs and the cluster's
// Raft entries and frames are made of: bytes, little-endian uint64s,
// uvarints and length-prefixed byte strings.
//
// A Reader never panics on short or damaged input: the first read that
// cannot be done marks it Bad and empties it, and every later read returns
// a zero value, so a decoder reads all its fields and checks Bad once.
package binread

import "encoding/binary"

// Reader reads fields from the front of B.
type Reader struct {
	B   []byte // what is left to read
	Bad bool   // a read failed; B is then empty
}

func (r *Reader) fail() {
	r.Bad, r.B = true, nil
}

// U8 reads one byte.
func (r *Reader) U8() byte {
	if len(r.B) < 1 {
		r.fail()
		return 0
	}
	v := r.B[0]
	r.B = r.B[1:]
	return v
}

// U64 reads a little-endian uint64.
func (r *Reader) U64() uint64 {
	if len(r.B) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.B)
	r.B = r.B[8:]
	return v
}

// Uvarint reads a uvarint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Bytes reads a uvarint length and that many bytes. The slice returned
// points into B, its capacity ending with it so that appending to it
// never writes over what follows.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if n > uint64(len(r.B)) {
		r.fail()
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}
