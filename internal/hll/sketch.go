package hll

import (
	"strconv"
)

// Sketch is a HyperLogLog string being changed, held in a buffer of its
// own. Its methods change it as Redis changes the string in place, memory
// moves included, so that the resulting bytes are Redis's even for
// damaged input. A Sketch may be reused through Load; the zero value is
// empty. It belongs to one goroutine at a time.
type Sketch struct {
	// mem holds the string in mem[:n] and, as Redis's strings do, one
	// more byte, its terminator, which a damaged XZERO opcode at the end
	// reads; len(mem) == cap(mem) > n.
	mem []byte
	n   int
}

// Load makes s a copy of v, which must be Valid.
func (s *Sketch) Load(v []byte) {
	s.n = 0
	s.reserve(len(v))
	copy(s.mem, v)
	s.n = len(v)
	s.mem[s.n] = 0
}

// Bytes returns the string; it is valid until s next changes.
func (s *Sketch) Bytes() []byte { return s.mem[:s.n] }

// Encoding returns Dense or Sparse.
func (s *Sketch) Encoding() byte { return s.mem[4] }

// Invalidate marks the cached cardinality stale.
func (s *Sketch) Invalidate() { s.mem[15] |= cacheInvalid }

// reserve makes room for extra bytes past the string and its terminator,
// keeping both.
func (s *Sketch) reserve(extra int) {
	need := s.n + extra + 1
	if need <= len(s.mem) {
		return
	}
	mem := make([]byte, max(need, 2*len(s.mem), 64))
	if len(s.mem) > 0 {
		copy(mem, s.mem[:s.n+1])
	}
	s.mem = mem
}

// Add adds elem and reports whether a register changed; ErrCorrupt when
// a damaged sparse string was met, with the string as Redis leaves it
// (changes before the damage kept). sparseMax is hll-sparse-max-bytes.
func (s *Sketch) Add(elem []byte, sparseMax int64) (bool, error) {
	index, count := patLen(elem)
	return s.Set(index, count, sparseMax)
}

// Set raises register index to count if it is lower, as Redis's
// hllDenseSet and hllSparseSet do, and reports whether it changed. A
// sparse string turns dense when count is above 32 or when it would grow
// past sparseMax bytes; ErrCorrupt when a damaged sparse string was met.
func (s *Sketch) Set(index int, count uint8, sparseMax int64) (bool, error) {
	if s.mem[4] == Dense {
		r := s.mem[HeaderSize : DenseSize+1]
		if count <= register(r, index) {
			return false, nil
		}
		setRegister(s.mem[HeaderSize:DenseSize], index, count)
		return true, nil
	}
	if count > valMaxValue {
		return s.promote(index, count)
	}
	s.reserve(3)
	mem := s.mem
	sparse, end := HeaderSize, s.n

	// Step 1: find the opcode covering index.
	p, prev, first, span := sparse, -1, 0, 0
	for p < end {
		oplen := 1
		switch b := mem[p]; {
		case isZero(b):
			span = zeroLen(b)
		case b&0x80 != 0:
			span = valLen(b)
		default:
			span = xzeroLen(b, mem[p+1])
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return false, ErrCorrupt
	}
	b := mem[p]
	next := p + 1
	if isXZero(b) {
		next = p + 2
	}
	if next >= end {
		next = -1
	}
	isVal, isXZ := b&0x80 != 0, isXZero(b)
	var runlen int
	switch {
	case isZero(b):
		runlen = zeroLen(b)
	case isXZ:
		runlen = xzeroLen(b, mem[p+1])
	default:
		runlen = valLen(b)
	}

	// Step 2: the trivial updates in place, else the split.
	switch {
	case isVal && valValue(b) >= int(count):
		return false, nil
	case isVal && runlen == 1, isZero(b) && runlen == 1:
		mem[p] = valOp(int(count), 1)
	default:
		var seq [5]byte
		n := 0
		last := first + span - 1
		zeros := func(k int) {
			if k > zeroMaxLen {
				setXZero(seq[n:], k)
				n += 2
			} else {
				seq[n] = zeroOp(k)
				n++
			}
		}
		if isVal {
			cur := valValue(b)
			if index != first {
				seq[n] = valOp(cur, index-first)
				n++
			}
			seq[n] = valOp(int(count), 1)
			n++
			if index != last {
				seq[n] = valOp(cur, last-index)
				n++
			}
		} else {
			if index != first {
				zeros(index - first)
			}
			seq[n] = valOp(int(count), 1)
			n++
			if index != last {
				zeros(last - index)
			}
		}

		// Step 3: put the sequence in place of the opcode.
		oldlen := 1
		if isXZ {
			oldlen = 2
		}
		delta := n - oldlen
		if delta > 0 && int64(s.n+delta) > sparseMax {
			return s.promote(index, count)
		}
		if delta != 0 && next >= 0 {
			copy(mem[next+delta:], mem[next:end])
		}
		s.n += delta
		mem[s.n] = 0
		copy(mem[p:], seq[:n])
		end += delta
	}

	// Step 4: merge equal VAL opcodes next to each other, scanning up to
	// five opcodes from the one before the change.
	p = sparse
	if prev >= 0 {
		p = prev
	}
	for scan := 5; p < end && scan > 0; scan-- {
		switch b := mem[p]; {
		case isXZero(b):
			p += 2
			continue
		case isZero(b):
			p++
			continue
		}
		if p+1 < end && mem[p+1]&0x80 != 0 {
			v1, v2 := valValue(mem[p]), valValue(mem[p+1])
			if k := valLen(mem[p]) + valLen(mem[p+1]); v1 == v2 && k <= valMaxLen {
				mem[p+1] = valOp(v1, k)
				copy(mem[p:], mem[p+1:end+1])
				s.n--
				mem[s.n] = 0
				end--
				continue
			}
		}
		p++
	}
	s.Invalidate()
	return true, nil
}

// promote turns s dense and sets register index to count.
func (s *Sketch) promote(index int, count uint8) (bool, error) {
	if err := s.ToDense(); err != nil {
		return false, err
	}
	setRegister(s.mem[HeaderSize:DenseSize], index, count)
	return true, nil
}

// ToDense turns a sparse s dense, keeping the header but for the
// encoding; ErrCorrupt, leaving s as it was, when its opcodes do not cover
// exactly the registers.
func (s *Sketch) ToDense() error {
	if s.mem[4] == Dense {
		return nil
	}
	dense := make([]byte, DenseSize+1)
	copy(dense, s.mem[:HeaderSize])
	dense[4] = Dense
	r := dense[HeaderSize:DenseSize]
	idx := 0
	for p := HeaderSize; p < s.n; {
		switch b := s.mem[p]; {
		case isZero(b):
			idx += zeroLen(b)
			p++
		case isXZero(b):
			idx += xzeroLen(b, s.mem[p+1])
			p += 2
		default:
			n, val := valLen(b), uint8(valValue(b))
			if idx+n > Registers {
				return ErrCorrupt
			}
			for ; n > 0; n-- {
				setRegister(r, idx, val)
				idx++
			}
			p++
		}
	}
	if idx != Registers {
		return ErrCorrupt
	}
	s.mem, s.n = dense, DenseSize
	return nil
}

// DenseRegister returns register i of v, a valid dense HyperLogLog.
func DenseRegister(v []byte, i int) uint8 { return register(v[HeaderSize:], i) }

// Decode appends to dst the opcodes of v, a sparse HyperLogLog, as Redis's
// PFDEBUG DECODE writes them: "Z:n" for XZERO, "z:n" for ZERO, "v:value,n"
// for VAL, separated by spaces.
func Decode(dst []byte, v []byte) []byte {
	r := v[HeaderSize:]
	for p := 0; p < len(r); {
		if p > 0 {
			dst = append(dst, ' ')
		}
		switch b := r[p]; {
		case isZero(b):
			dst = append(dst, "z:"...)
			dst = strconv.AppendInt(dst, int64(zeroLen(b)), 10)
			p++
		case isXZero(b):
			dst = append(dst, "Z:"...)
			dst = strconv.AppendInt(dst, int64(xzeroLen(b, byteAt(r, p+1))), 10)
			p += 2
		default:
			dst = append(dst, "v:"...)
			dst = strconv.AppendInt(dst, int64(valValue(b)), 10)
			dst = append(dst, ',')
			dst = strconv.AppendInt(dst, int64(valLen(b)), 10)
			p++
		}
	}
	return dst
}

// Raise sets every register of s to m's where m's is higher, in register
// order, as Redis's PFMERGE writes its destination (a sparse s may turn
// dense on the way), and marks the cached cardinality stale. Errors of
// Set are ignored, as Redis ignores them there: s was merged into m
// first, so it is not damaged.
func (s *Sketch) Raise(m *Max, sparseMax int64) {
	for i, v := range m {
		if v != 0 {
			s.Set(i, v, sparseMax) //nolint:errcheck // see above
		}
	}
	s.Invalidate()
}
