package hll

import (
	"encoding/binary"
	"errors"
	"math"
)

// Sizes of the format.
const (
	// P is the number of hash bits that pick a register.
	P = 14
	// Registers is the number of registers, 2**P.
	Registers = 1 << P
	// HeaderSize is the length of the header.
	HeaderSize = 16
	// DenseSize is the length of a dense string.
	DenseSize = HeaderSize + Registers*regBits/8
	// DefaultSparseMaxBytes is Redis's default hll-sparse-max-bytes: the
	// longest a sparse string may grow, header included, before it turns
	// dense.
	DefaultSparseMaxBytes = 3000
)

// Encodings, the fifth byte of the header.
const (
	Dense  = 0
	Sparse = 1
)

// Errors of the operations on HyperLogLog strings.
var (
	// ErrNotHLL: the string is not a HyperLogLog (Redis's WRONGTYPE Key is
	// not a valid HyperLogLog string value.).
	ErrNotHLL = errors.New("hll: not a valid hyperloglog string")
	// ErrCorrupt: a sparse string whose opcodes do not cover the registers
	// (Redis's INVALIDOBJ Corrupted HLL object detected).
	ErrCorrupt = errors.New("hll: corrupted hyperloglog")
)

const (
	regBits = 6
	regMax  = 1<<regBits - 1
	q       = 64 - P // hash bits left for the count

	zeroMaxLen  = 64
	xzeroMaxLen = Registers
	valMaxValue = 32
	valMaxLen   = 4

	cacheInvalid = 0x80 // in the last byte of the cached cardinality
	seed         = 0xadc83b19
)

// Hash is MurmurHash64A with Redis's seed, 0xadc83b19, reading 8-byte
// blocks little endian as Redis does on every platform.
func Hash(key []byte) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := uint64(seed) ^ uint64(len(key))*m
	for len(key) >= 8 {
		k := binary.LittleEndian.Uint64(key)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		key = key[8:]
	}
	switch len(key) {
	case 7:
		h ^= uint64(key[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(key[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(key[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(key[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(key[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(key[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(key[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// patLen returns the register elem updates and the count it brings: 1 plus
// the zero bits above the register's index before the first one.
func patLen(elem []byte) (index int, count uint8) {
	h := Hash(elem)
	index = int(h & (Registers - 1))
	h >>= P
	h |= 1 << q // the loop ends, with count <= q+1
	count = 1
	for bit := uint64(1); h&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

// Valid reports whether v is a HyperLogLog string as Redis judges one: at
// least a header, the magic, a known encoding, and the exact length when
// dense.
func Valid(v []byte) bool {
	if len(v) < HeaderSize || string(v[:4]) != "HYLL" || v[4] > Sparse {
		return false
	}
	return v[4] != Dense || len(v) == DenseSize
}

// New returns an empty HyperLogLog: sparse, its registers one XZERO.
func New() []byte {
	v := make([]byte, HeaderSize+2)
	copy(v, "HYLL")
	v[4] = Sparse
	setXZero(v[HeaderSize:], Registers)
	return v
}

// Cached returns the cardinality cached in v's header, valid or not.
func Cached(v []byte) (card uint64, valid bool) {
	return binary.LittleEndian.Uint64(v[8:16]), v[15]&cacheInvalid == 0
}

// SetCached writes card into the header h as the cached cardinality.
func SetCached(h []byte, card uint64) { binary.LittleEndian.PutUint64(h[8:16], card) }

// byteAt returns v[i], or 0 for the byte just past the end: Redis reads
// the terminating NUL of its strings there (the second byte of an XZERO
// opcode cut short).
func byteAt(v []byte, i int) byte {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// Sparse opcodes.

func isZero(b byte) bool  { return b&0xc0 == 0 }
func isXZero(b byte) bool { return b&0xc0 == 0x40 }

func zeroLen(b byte) int               { return int(b&0x3f) + 1 }
func xzeroLen(b0, b1 byte) int         { return (int(b0&0x3f)<<8 | int(b1)) + 1 }
func valValue(b byte) int              { return int(b>>2&0x1f) + 1 }
func valLen(b byte) int                { return int(b&3) + 1 }
func valOp(value, n int) byte          { return byte((value-1)<<2|(n-1)) | 0x80 }
func zeroOp(n int) byte                { return byte(n - 1) }
func setXZero(p []byte, n int)         { p[0], p[1] = byte((n-1)>>8)|0x40, byte(n-1) }
func denseByte(i int) (int, uint)      { return i * regBits / 8, uint(i * regBits & 7) }
func regOf(b0, b1 byte, fb uint) uint8 { return uint8((uint(b0)>>fb | uint(b1)<<(8-fb)) & regMax) }

// register returns dense register i of the register bytes r.
func register(r []byte, i int) uint8 {
	b, fb := denseByte(i)
	return regOf(r[b], byteAt(r, b+1), fb)
}

// setRegister sets dense register i of r to v (v <= 63).
func setRegister(r []byte, i int, v uint8) {
	b, fb := denseByte(i)
	r[b] &^= regMax << fb
	r[b] |= v << fb
	if b+1 < len(r) {
		r[b+1] &^= regMax >> (8 - fb)
		r[b+1] |= v >> (8 - fb)
	}
}

// Histogram counts the registers of each value.
type Histogram [64]int

// histogram fills h from v, a valid HyperLogLog, and reports false when v
// is sparse and its opcodes do not cover exactly the registers.
func histogram(v []byte, h *Histogram) bool {
	r := v[HeaderSize:]
	if v[4] == Dense {
		for i := range Registers {
			h[register(r, i)]++
		}
		return true
	}
	idx := 0
	for p := 0; p < len(r); {
		switch b := r[p]; {
		case isZero(b):
			n := zeroLen(b)
			idx += n
			h[0] += n
			p++
		case isXZero(b):
			n := xzeroLen(b, byteAt(r, p+1))
			idx += n
			h[0] += n
			p += 2
		default:
			n := valLen(b)
			idx += n
			h[valValue(b)] += n
			p++
		}
	}
	return idx == Registers
}

// Count returns the cardinality estimated from v's registers, ignoring the
// cache; ErrCorrupt for a sparse string whose opcodes do not cover the
// registers. v must be Valid.
func Count(v []byte) (uint64, error) {
	var h Histogram
	if !histogram(v, &h) {
		return 0, ErrCorrupt
	}
	return h.Estimate(), nil
}

// Estimate returns Redis 7's estimate of the cardinality from a histogram
// of the registers.
func (h *Histogram) Estimate() uint64 {
	const m = float64(Registers)
	const alphaInf = 0.721347520444481703680 // 1/(2 ln 2)
	// Explicit float64 conversions keep each product rounded on its own, as
	// in Redis, where the compiler could otherwise fuse it with the sum.
	z := float64(m * tau((m-float64(h[q+1]))/m))
	for j := q; j >= 1; j-- {
		z += float64(h[j])
		z *= 0.5
	}
	z += float64(m * sigma(float64(h[0])/m))
	return uint64(math.Round(float64(alphaInf*m) * m / z))
}

// sigma is Ertl's σ.
func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += float64(x * y)
		y += y
		if prev == z {
			return z
		}
	}
}

// tau is Ertl's τ.
func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if prev == z {
			return z / 3
		}
	}
}

// Max holds, register by register, the largest value of the HyperLogLogs
// merged into it: the registers of their union.
type Max [Registers]uint8

// Merge raises m's registers to v's, as Redis's hllMerge: ErrCorrupt for a
// sparse string whose opcodes do not cover the registers (m may then be
// partly raised). v must be Valid.
func (m *Max) Merge(v []byte) error {
	r := v[HeaderSize:]
	if v[4] == Dense {
		for i := range Registers {
			m[i] = max(m[i], register(r, i))
		}
		return nil
	}
	i := 0
	for p := 0; p < len(r); {
		switch b := r[p]; {
		case isZero(b):
			i += zeroLen(b)
			p++
		case isXZero(b):
			i += xzeroLen(b, byteAt(r, p+1))
			p += 2
		default:
			n, val := valLen(b), uint8(valValue(b))
			if i+n > Registers {
				return ErrCorrupt
			}
			for ; n > 0; n-- {
				m[i] = max(m[i], val)
				i++
			}
			p++
		}
	}
	if i != Registers {
		return ErrCorrupt
	}
	return nil
}

// Estimate returns the cardinality estimated from m's registers.
func (m *Max) Estimate() uint64 {
	var h Histogram
	for _, r := range m {
		h[r]++
	}
	return h.Estimate()
}

// Changes reports whether adding elem to v, a valid HyperLogLog, would
// change it or fail (a damaged sparse string): false means PFADD of elem
// leaves v as it is.
func Changes(v []byte, elem []byte) bool {
	index, count := patLen(elem)
	r := v[HeaderSize:]
	if v[4] == Dense {
		return count > register(r, index)
	}
	if count > valMaxValue {
		return true
	}
	first := 0
	for p := 0; p < len(r); {
		b := r[p]
		span, oplen := 0, 1
		switch {
		case isZero(b):
			span = zeroLen(b)
		case b&0x80 != 0:
			span = valLen(b)
		default:
			span = xzeroLen(b, byteAt(r, p+1))
			oplen = 2
		}
		if index <= first+span-1 {
			return b&0x80 == 0 || valValue(b) < int(count)
		}
		p += oplen
		first += span
	}
	return true
}
