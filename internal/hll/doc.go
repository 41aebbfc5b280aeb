// Package hll implements Redis's HyperLogLog strings, byte for byte: the
// values PFADD, PFCOUNT and PFMERGE read and write, so that a string written
// by Redis 7 counts the same here and the same commands leave both with the
// same bytes.
//
// # Format
//
// A HyperLogLog is a string of a 16-byte header and its registers:
//
//	+------+---+-----+----------+---------------
//	| HYLL | E | N/U | Cardin.  | registers…
//	+------+---+-----+----------+---------------
//
// "HYLL" is the magic; E is the encoding, 0 for dense and 1 for sparse; N/U
// are three bytes that are kept but never read; Cardin. is the last
// cardinality computed, 8 bytes little endian, valid unless the top bit of
// its last byte is set (a change sets it).
//
// There are 16384 registers of 6 bits. An element's 64-bit hash
// (MurmurHash64A, seed 0xadc83b19) picks a register with its low 14 bits;
// the register keeps the largest count seen, where count is 1 plus the
// number of zero bits above those 14 before the first one (at most 51).
//
// Dense: the registers one after the other from the least significant bit
// of each byte on, 12288 bytes; the string is exactly 12304 bytes long.
//
// Sparse: a run-length encoding of three opcodes, read from the first
// register on, which must cover exactly 16384 registers:
//
//	00xxxxxx           ZERO:  xxxxxx+1 registers (1–64) hold 0
//	01xxxxxx yyyyyyyy  XZERO: xxxxxxyyyyyyyy+1 registers (1–16384) hold 0
//	1vvvvvxx           VAL:   xx+1 registers (1–4) hold vvvvv+1 (1–32)
//
// A new HyperLogLog is sparse: the header and XZERO:16384. A change rewrites
// the opcode covering the register in place, splitting it into up to three
// opcodes and merging equal neighbouring VAL opcodes, exactly as Redis's
// hllSparseSet does, so that equal operations give equal bytes. A register
// above 32, or a string that would grow past the sparse limit
// (hll-sparse-max-bytes, 3000 by default, header included), turns the
// string dense; a dense string never turns sparse again.
//
// # Cardinality
//
// The estimate is Redis 7's: a histogram of register values fed to Otmar
// Ertl's estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", arXiv:1702.01284), computed in float64 operations ordered as
// Redis's and rounded half away from zero, so it matches Redis digit for
// digit.
//
// # Damaged strings
//
// A string that is too short, lacks the magic, names an unknown encoding,
// or is dense with the wrong length is not a HyperLogLog (ErrNotHLL,
// Redis's WRONGTYPE). A sparse string whose opcodes do not cover exactly
// 16384 registers is corrupt (ErrCorrupt, Redis's INVALIDOBJ) where Redis
// notices it, and read as Redis reads it where Redis does not (a cached
// cardinality is trusted, a change past the damage succeeds). Nothing here
// panics or allocates more than a few times the string's size, whatever
// the bytes.
//
// # Concurrency
//
// Functions on []byte values only read them. A Sketch is a value being
// changed and belongs to one goroutine at a time.
package hll
