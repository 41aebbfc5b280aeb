package command

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// bitCommands are Redis's bit operations on string values: SETBIT, GETBIT,
// BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO. Bits are numbered from
// the most significant bit of the first byte, as in Redis. A command that
// writes builds the new value once, zero-padded to the farthest bit it
// reaches, and stores it with the key's expiry. BITOP reaches each key
// through c.DB(key); it is atomic because the router holds every shard
// involved.
var bitCommands = []*Spec{
	{Name: "setbit", Arity: 4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: setbitCommand},
	{Name: "getbit", Arity: 3, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: getbitCommand},
	{Name: "bitcount", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: bitcountCommand},
	{Name: "bitpos", Arity: -3, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: bitposCommand},
	{Name: "bitop", Arity: -4, Flags: Write | DenyOOM, FirstKey: 2, LastKey: -1, Step: 1, Run: bitopCommand},
	{Name: "bitfield", Arity: -2, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: bitfieldCommand},
	{Name: "bitfield_ro", Arity: -2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: bitfieldROCommand},
}

// Error replies of the bit commands, as Redis words them.
const (
	bitErrOffset   = "ERR bit offset is not an integer or out of range"
	bitErrBit      = "ERR bit is not an integer or out of range"
	bitErrPosBit   = "ERR The bit argument must be 1 or 0."
	bitErrType     = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	bitErrOverflow = "ERR Invalid OVERFLOW type specified"
	bitErrRO       = "ERR BITFIELD_RO only supports the GET subcommand"
	bitErrNot      = "ERR BITOP NOT must be called with a single source key."
)

// parseBitOffset parses a bit offset as Redis does: a non-negative integer
// whose byte lies within the longest string, maxStringLen bytes. With width
// > 0 (BITFIELD) "#n" means n times width, computed in 64 bits that wrap
// round as Redis's do. It replies with the error and reports false.
func parseBitOffset(c *Ctx, arg []byte, width int) (uint64, bool) {
	hash := width > 0 && len(arg) > 1 && arg[0] == '#'
	if hash {
		arg = arg[1:]
	}
	off, ok := resp.ParseInt(arg)
	if hash {
		off *= int64(width)
	}
	if !ok || off < 0 || off>>3 >= maxStringLen {
		c.W.AppendError(bitErrOffset)
		return 0, false
	}
	return uint64(off), true
}

// bitAt returns bit i of v, 0 past its end.
func bitAt(v []byte, i uint64) uint64 {
	if i>>3 >= uint64(len(v)) {
		return 0
	}
	return uint64(v[i>>3]>>(7-i&7)) & 1
}

// setBitAt sets bit i of v, which must be long enough, to b (0 or 1).
func setBitAt(v []byte, i, b uint64) {
	mask := byte(1) << (7 - i&7)
	if b != 0 {
		v[i>>3] |= mask
	} else {
		v[i>>3] &^= mask
	}
}

// bigBits keeps the buffers in which bit commands build values longer than
// scratchMax and up to bigBitsMax bytes, so that a write to a long string
// allocates nothing but what the engine stores.
var bigBits sync.Pool

const bigBitsMax = 4 << 20

// bitValue is a string value being changed by a bit command: the old value
// copied once and zero-padded to the new length. It is built at the end of
// the reply buffer when short (see valueBuilder), in a pooled buffer when
// long, and in a fresh allocation beyond bigBitsMax. Nothing may be appended
// to the reply until release.
type bitValue struct {
	v      []byte
	vb     valueBuilder
	pooled *[]byte
}

func newBitValue(c *Ctx, old []byte, n int) bitValue {
	if n <= scratchMax || n > bigBitsMax {
		vb := newValueBuilder(c.W, n)
		vb.add(old)
		vb.zeros(n - len(old))
		return bitValue{v: vb.bytes(), vb: vb}
	}
	p, _ := bigBits.Get().(*[]byte)
	if p == nil || cap(*p) < n {
		b := make([]byte, n, max(n, bigBitsMax/4))
		p = &b
	}
	v := (*p)[:n]
	copy(v, old)
	clear(v[len(old):])
	return bitValue{v: v, pooled: p}
}

// release gives back the buffer once the value has been stored.
func (b *bitValue) release() {
	if b.pooled != nil {
		bigBits.Put(b.pooled)
		return
	}
	b.vb.done()
}

// setbitCommand implements SETBIT key offset value: it replies with the
// bit's old value, growing the string with zero bytes as needed and keeping
// its expiry.
func setbitCommand(c *Ctx, args [][]byte) {
	off, ok := parseBitOffset(c, args[2], 0)
	if !ok {
		return
	}
	on, ok := resp.ParseInt(args[3])
	if !ok || on&^1 != 0 {
		c.W.AppendError(bitErrBit)
		return
	}
	key := args[1]
	db := c.DB(key)
	old, at, found, wrong := findString(c, db, key)
	if wrong {
		return
	}
	if !found {
		at = storage.NoExpiry
	}
	prev := bitAt(old, off)
	n := max(len(old), int(off>>3)+1)
	if found && n == len(old) && prev == uint64(on) {
		// Nothing changes, but Redis still counts it as a write.
		db.Touch(key)
		c.W.AppendInt(int64(prev))
		return
	}
	if found && n == len(old) {
		// The string keeps its length: write the one byte that changes.
		i := int(off >> 3)
		nb := [1]byte{old[i] ^ 0x80>>(off&7)}
		if db.WriteAt(key, i, nb[:]) {
			c.W.AppendInt(int64(prev))
			return
		}
	}
	b := newBitValue(c, old, n)
	setBitAt(b.v, off, uint64(on))
	db.Set(key, b.v, at)
	b.release()
	c.W.AppendInt(int64(prev))
}

// getbitCommand implements GETBIT key offset: 0 past the end of the string
// or for a missing key.
func getbitCommand(c *Ctx, args [][]byte) {
	off, ok := parseBitOffset(c, args[2], 0)
	if !ok {
		return
	}
	v, _, wrong := readString(c, c.DB(args[1]), args[1])
	if !wrong {
		c.W.AppendInt(int64(bitAt(v, off)))
	}
}

// bitUnit parses BITCOUNT's and BITPOS's BYTE|BIT argument: whether
// indexes count bits. It replies with the error and reports false.
func bitUnit(c *Ctx, arg []byte) (isBit, ok bool) {
	switch {
	case optionIs(arg, "bit"):
		return true, true
	case optionIs(arg, "byte"):
		return false, true
	}
	c.W.AppendError(strErrSyntax)
	return false, false
}

// clampBitRange turns start and end, which may count from the end, into
// indexes within [0, total), as Redis does: end may still be below start.
func clampBitRange(start, end, total int64) (int64, int64) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	end = min(end, total-1)
	return start, end
}

// bitcountCommand implements BITCOUNT key [start end [BYTE|BIT]]. As in
// Redis 7, a missing key counts 0 whatever the other arguments.
func bitcountCommand(c *Ctx, args [][]byte) {
	v, found, wrong := readString(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if !found {
		c.W.AppendInt(0)
		return
	}
	lo, hi := uint64(0), uint64(len(v))*8 // the bits [lo, hi)
	switch len(args) {
	case 2:
	case 4, 5:
		start, ok1 := resp.ParseInt(args[2])
		if !ok1 {
			c.W.AppendError(strErrNotInt)
			return
		}
		end, ok2 := resp.ParseInt(args[3])
		if !ok2 {
			c.W.AppendError(strErrNotInt)
			return
		}
		// As in Redis, this comes before the unit is checked.
		if start < 0 && end < 0 && start > end {
			c.W.AppendInt(0)
			return
		}
		isBit := false
		if len(args) == 5 {
			var ok bool
			if isBit, ok = bitUnit(c, args[4]); !ok {
				return
			}
		}
		total := int64(len(v))
		if isBit {
			total *= 8
		}
		start, end = clampBitRange(start, end, total)
		if start > end {
			c.W.AppendInt(0)
			return
		}
		lo, hi = uint64(start), uint64(end)+1
		if !isBit {
			lo, hi = lo*8, hi*8
		}
	default:
		c.W.AppendError(strErrSyntax)
		return
	}
	c.W.AppendInt(int64(countBits(v, lo, hi)))
}

// countBits counts the set bits of v in the bit range [lo, hi).
func countBits(v []byte, lo, hi uint64) uint64 {
	if lo >= hi {
		return 0
	}
	first, last := lo>>3, (hi-1)>>3
	if first == last {
		return uint64(bits.OnesCount8(v[first] & (0xff >> (lo & 7)) & (0xff << (7 - (hi-1)&7))))
	}
	n := uint64(bits.OnesCount8(v[first] & (0xff >> (lo & 7))))
	n += uint64(bits.OnesCount8(v[last] & (0xff << (7 - (hi-1)&7))))
	return n + popcount(v[first+1:last])
}

// popcount counts the set bits of b, eight bytes at a time.
func popcount(b []byte) uint64 {
	var n int
	for len(b) >= 32 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b)) +
			bits.OnesCount64(binary.LittleEndian.Uint64(b[8:])) +
			bits.OnesCount64(binary.LittleEndian.Uint64(b[16:])) +
			bits.OnesCount64(binary.LittleEndian.Uint64(b[24:]))
		b = b[32:]
	}
	for len(b) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return uint64(n)
}

// bitposCommand implements BITPOS key bit [start [end [BYTE|BIT]]]: the
// first bit set to bit within the range, or -1. A missing key is all zero
// bits (0 for a clear bit, -1 for a set one), whatever the range. Looking
// for a clear bit without an end, the string counts as followed by zeros:
// the answer is then its length in bits when every bit in range is set.
func bitposCommand(c *Ctx, args [][]byte) {
	bit, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return
	}
	if bit != 0 && bit != 1 {
		c.W.AppendError(bitErrPosBit)
		return
	}
	v, found, wrong := readString(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if !found {
		c.W.AppendInt(-bit)
		return
	}
	total := int64(len(v))
	start, end := int64(0), total-1
	endGiven, isBit := false, false
	switch len(args) {
	case 3:
	case 4, 5, 6:
		if start, ok = resp.ParseInt(args[3]); !ok {
			c.W.AppendError(strErrNotInt)
			return
		}
		if len(args) == 6 {
			if isBit, ok = bitUnit(c, args[5]); !ok {
				return
			}
		}
		if len(args) >= 5 {
			if end, ok = resp.ParseInt(args[4]); !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			endGiven = true
		}
		if isBit {
			total *= 8
		}
		start, end = clampBitRange(start, end, total)
	default:
		c.W.AppendError(strErrSyntax)
		return
	}
	if start > end {
		c.W.AppendInt(-1)
		return
	}
	lo, hi := uint64(start), uint64(end)+1
	if !isBit {
		lo, hi = lo*8, hi*8
	}
	pos := findBit(v, lo, hi, bit == 1)
	if pos < 0 && bit == 0 && !endGiven {
		pos = int64(hi)
	}
	c.W.AppendInt(pos)
}

// findBit returns the index of the first bit of v in [lo, hi) that is set
// (or clear, when set is false), or -1.
func findBit(v []byte, lo, hi uint64, set bool) int64 {
	var flip byte // XORed into each byte so that the bit sought is a 1
	if !set {
		flip = 0xff
	}
	for i := lo; i < hi; {
		bi := i >> 3
		x := (v[bi] ^ flip) & (0xff >> (i & 7))
		if hi-1 < bi*8+8 {
			x &= 0xff << (7 - (hi-1)&7)
		}
		if x != 0 {
			return int64(bi*8) + int64(bits.LeadingZeros8(x))
		}
		i = bi*8 + 8
		if i&63 == 0 {
			// Skip whole words that hold no such bit.
			var skip uint64
			if !set {
				skip = math.MaxUint64
			}
			for i+64 <= hi && binary.LittleEndian.Uint64(v[i>>3:]) == skip {
				i += 64
			}
		}
	}
	return -1
}

// Operations of BITOP.
const (
	bitAnd = iota
	bitOr
	bitXor
	bitNot
)

// bitopCommand implements BITOP AND|OR|XOR|NOT destkey key…: it stores the
// result, as long as the longest source with missing keys read as empty
// strings and shorter ones padded with zero bytes, and replies with its
// length. An empty result deletes destkey. The result has no expiry.
func bitopCommand(c *Ctx, args [][]byte) {
	var op int
	switch name := args[1]; {
	case optionIs(name, "and"):
		op = bitAnd
	case optionIs(name, "or"):
		op = bitOr
	case optionIs(name, "xor"):
		op = bitXor
	case optionIs(name, "not"):
		op = bitNot
	default:
		c.W.AppendError(strErrSyntax)
		return
	}
	if op == bitNot && len(args) != 4 {
		c.W.AppendError(bitErrNot)
		return
	}
	dest, keys := args[2], args[3:]
	// Settle the expiry of every source first: removing an expired key
	// could move the bytes of another already read.
	for _, key := range keys {
		c.DB(key).Exists(key)
	}
	var buf [8][]byte
	srcs := buf[:0]
	n := 0
	for _, key := range keys {
		v, _, wrong := readString(c, c.DB(key), key)
		if wrong {
			return
		}
		srcs = append(srcs, v)
		n = max(n, len(v))
	}
	db := c.DB(dest)
	if n == 0 {
		db.Delete(dest)
		c.W.AppendInt(0)
		return
	}
	b := newBitValue(c, srcs[0], n)
	bitop(b.v, srcs[1:], op)
	db.Set(dest, b.v, storage.NoExpiry)
	b.release()
	c.W.AppendInt(int64(n))
}

// bitop applies op to dst, which holds the first source zero-padded, and
// each of srcs in turn.
func bitop(dst []byte, srcs [][]byte, op int) {
	if op == bitNot {
		for i := range dst {
			dst[i] = ^dst[i]
		}
		return
	}
	for _, s := range srcs {
		if op == bitAnd {
			clear(dst[len(s):])
		}
		d := dst[:len(s)]
		for len(s) >= 8 {
			x, y := binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint64(s)
			switch op {
			case bitAnd:
				x &= y
			case bitOr:
				x |= y
			default:
				x ^= y
			}
			binary.LittleEndian.PutUint64(d, x)
			d, s = d[8:], s[8:]
		}
		for i, y := range s {
			switch op {
			case bitAnd:
				d[i] &= y
			case bitOr:
				d[i] |= y
			default:
				d[i] ^= y
			}
		}
	}
}

// Operations and overflow behaviours of BITFIELD.
const (
	fieldGet = iota
	fieldSet
	fieldIncr

	overflowWrap = iota
	overflowSat
	overflowFail
)

// fieldOp is one GET, SET or INCRBY of a BITFIELD, with the OVERFLOW
// behaviour in force where it was given.
type fieldOp struct {
	op       uint8
	overflow uint8
	signed   bool
	width    uint // 1 to 64 bits signed, 1 to 63 unsigned
	off      uint64
	arg      int64
}

// fieldResult is the reply to one fieldOp: a value, or null for a write
// refused by OVERFLOW FAIL.
type fieldResult struct {
	v    int64
	null bool
}

func bitfieldCommand(c *Ctx, args [][]byte)   { bitfield(c, args, false) }
func bitfieldROCommand(c *Ctx, args [][]byte) { bitfield(c, args, true) }

// parseFieldType parses a BITFIELD type: i1 to i64 or u1 to u63. As in
// Redis the width ends at a NUL byte. It replies with the error and reports
// false.
func parseFieldType(c *Ctx, arg []byte) (signed bool, width uint, ok bool) {
	if len(arg) == 0 || arg[0] != 'i' && arg[0] != 'u' {
		c.W.AppendError(bitErrType)
		return false, 0, false
	}
	signed = arg[0] == 'i'
	w := arg[1:]
	for i, ch := range w {
		if ch == 0 {
			w = w[:i]
			break
		}
	}
	n, ok := resp.ParseInt(w)
	if !ok || n < 1 || signed && n > 64 || !signed && n > 63 {
		c.W.AppendError(bitErrType)
		return false, 0, false
	}
	return signed, uint(n), true
}

// bitfield implements BITFIELD and BITFIELD_RO key [GET type offset]
// [SET type offset value] [INCRBY type offset increment]
// [OVERFLOW WRAP|SAT|FAIL]…: every argument is checked before the key is
// read; a command with a SET or INCRBY grows the string to the farthest
// bit it may write (even when OVERFLOW FAIL then writes nothing) and runs
// its operations in order on it.
func bitfield(c *Ctx, args [][]byte, readOnly bool) {
	var opsBuf [8]fieldOp
	ops := opsBuf[:0]
	overflow := uint8(overflowWrap)
	writes := false
	var highest uint64 // the farthest bit written
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		var op uint8
		switch sub := args[j]; {
		case optionIs(sub, "get") && rem >= 2:
			op = fieldGet
		case optionIs(sub, "set") && rem >= 3:
			op = fieldSet
		case optionIs(sub, "incrby") && rem >= 3:
			op = fieldIncr
		case optionIs(sub, "overflow") && rem >= 1:
			j++
			switch t := args[j]; {
			case optionIs(t, "wrap"):
				overflow = overflowWrap
			case optionIs(t, "sat"):
				overflow = overflowSat
			case optionIs(t, "fail"):
				overflow = overflowFail
			default:
				c.W.AppendError(bitErrOverflow)
				return
			}
			continue
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
		signed, width, ok := parseFieldType(c, args[j+1])
		if !ok {
			return
		}
		off, ok := parseBitOffset(c, args[j+2], int(width))
		if !ok {
			return
		}
		f := fieldOp{op: op, overflow: overflow, signed: signed, width: width, off: off}
		if op != fieldGet {
			writes = true
			highest = max(highest, off+uint64(width)-1)
			if f.arg, ok = resp.ParseInt(args[j+3]); !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			j++
		}
		j += 2
		ops = append(ops, f)
	}

	key := args[1]
	db := c.DB(key)
	if !writes {
		v, _, wrong := readString(c, db, key)
		if wrong {
			return
		}
		c.W.AppendArray(len(ops))
		for _, f := range ops {
			c.W.AppendInt(getField(v, f))
		}
		return
	}
	if readOnly {
		c.W.AppendError(bitErrRO)
		return
	}
	old, at, found, wrong := findString(c, db, key)
	if wrong {
		return
	}
	if !found {
		at = storage.NoExpiry
	}
	n := max(len(old), int(highest>>3)+1)
	var resBuf [8]fieldResult
	res := resBuf[:0]
	b := newBitValue(c, old, n)
	changed := n != len(old) || !found
	for _, f := range ops {
		if f.op == fieldGet {
			res = append(res, fieldResult{v: getField(b.v, f)})
			continue
		}
		r, ch := runField(b.v, f)
		res = append(res, r)
		changed = changed || ch
	}
	if changed {
		db.Set(key, b.v, at)
	}
	b.release()
	c.W.AppendArray(len(res))
	for _, r := range res {
		if r.null {
			c.W.AppendNull()
		} else {
			c.W.AppendInt(r.v)
		}
	}
}

// fieldBits reads width bits of v from bit off, most significant first,
// with bits past the end of v read as 0.
func fieldBits(v []byte, off uint64, width uint) uint64 {
	var x uint64
	for i := range uint64(width) {
		x = x<<1 | bitAt(v, off+i)
	}
	return x
}

// setFieldBits writes the low width bits of x into v from bit off, most
// significant first; v must be long enough.
func setFieldBits(v []byte, off uint64, width uint, x uint64) {
	for i := range uint64(width) {
		setBitAt(v, off+i, x>>(uint64(width)-1-i)&1)
	}
}

// getField returns the value of f's field in v, sign-extended for a signed
// type.
func getField(v []byte, f fieldOp) int64 {
	x := fieldBits(v, f.off, f.width)
	if f.signed && f.width < 64 && x&(1<<(f.width-1)) != 0 {
		x |= math.MaxUint64 << f.width
	}
	return int64(x)
}

// runField runs f, a SET or INCRBY, on v, and returns its reply and
// whether it changed v.
func runField(v []byte, f fieldOp) (fieldResult, bool) {
	old := getField(v, f)
	var val, reply int64
	var over bool
	if f.op == fieldIncr {
		val, over = fieldAdd(old, f.arg, f)
		reply = val
	} else {
		val, over = fieldAdd(f.arg, 0, f)
		reply = old
	}
	if over && f.overflow == overflowFail {
		return fieldResult{null: true}, false
	}
	setFieldBits(v, f.off, f.width, uint64(val))
	return fieldResult{v: reply}, val != old
}

// fieldAdd returns value+incr as f's type holds it under f's overflow
// behaviour (wrapped round, or saturated at the type's limit), and whether
// the sum overflowed the type. value is read as f's type reads it:
// unsigned values as their 64 bits. The checks are Redis's, so that
// values outside the type (a SET argument) count as overflows alike.
func fieldAdd(value, incr int64, f fieldOp) (int64, bool) {
	if !f.signed {
		u := uint64(value)
		maxv := uint64(1)<<f.width - 1
		maxIncr, minIncr := int64(maxv-u), -int64(u)
		switch {
		case u > maxv || incr > 0 && incr > maxIncr:
			if f.overflow == overflowSat {
				return int64(maxv), true
			}
		case incr < 0 && incr < minIncr:
			if f.overflow == overflowSat {
				return 0, true
			}
		default:
			return int64(u + uint64(incr)), false
		}
		return int64((u + uint64(incr)) & maxv), true
	}
	maxv := int64(math.MaxInt64)
	if f.width < 64 {
		maxv = 1<<(f.width-1) - 1
	}
	minv := -maxv - 1
	maxIncr := int64(uint64(maxv) - uint64(value))
	minIncr := minv - value
	wide := f.width == 64
	switch {
	case value > maxv || !wide && incr > maxIncr || value >= 0 && incr > 0 && incr > maxIncr:
		if f.overflow == overflowSat {
			return maxv, true
		}
	case value < minv || !wide && incr < minIncr || value < 0 && incr < 0 && incr < minIncr:
		if f.overflow == overflowSat {
			return minv, true
		}
	default:
		return value + incr, false
	}
	x := uint64(value) + uint64(incr)
	if !wide {
		if x&(1<<(f.width-1)) != 0 {
			x |= math.MaxUint64 << f.width
		} else {
			x &^= math.MaxUint64 << f.width
		}
	}
	return int64(x), true
}
