package rdb

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// entry is one element of a ziplist, listpack, intset or zipmap: a string,
// or an integer when isInt is set.
type entry struct {
	str   []byte
	num   int64
	isInt bool
}

// bytes returns the element as Redis's replies show it: the string, or the
// integer in decimal written into *scratch, a buffer of the caller's own.
func (e entry) bytes(scratch *[]byte) []byte {
	if e.isInt {
		*scratch = strconv.AppendInt((*scratch)[:0], e.num, 10)
		return *scratch
	}
	return e.str
}

// badBlob returns the error of a damaged blob of kind.
func badBlob(kind, what string) error {
	return fmt.Errorf("%w: %s: %s", ErrFormat, kind, what)
}

// listpackEach calls fn with every element of the listpack lp, in order,
// after checking its header, each entry's encoding, length and
// back-length, its end byte and its count.
func listpackEach(lp []byte, fn func(entry) error) error {
	const header = 6
	if len(lp) < header+1 {
		return badBlob("listpack", "shorter than its header")
	}
	if int(binary.LittleEndian.Uint32(lp)) != len(lp) || lp[len(lp)-1] != 0xff {
		return badBlob("listpack", "wrong length or end")
	}
	want := int(binary.LittleEndian.Uint16(lp[4:]))
	end := len(lp) - 1
	n := 0
	for p := header; p < end; n++ {
		e, size, err := listpackEntry(lp[p:end])
		if err != nil {
			return err
		}
		w, ok := backlenOK(lp[p+size:end], size)
		if !ok {
			return badBlob("listpack", "wrong back-length")
		}
		p += size + w
		if err := fn(e); err != nil {
			return err
		}
	}
	if want != 65535 && want != n {
		return badBlob("listpack", "wrong count")
	}
	return nil
}

// listpackEntry decodes the entry at the start of b, returning it and the
// size of its encoding and data (not its back-length).
func listpackEntry(b []byte) (entry, int, error) {
	need := func(n int) error {
		if n > len(b) {
			return badBlob("listpack", "entry past the end")
		}
		return nil
	}
	c := b[0]
	var size, strLen, hdr int
	switch {
	case c&0x80 == 0: // 7-bit unsigned integer
		return entry{num: int64(c & 0x7f), isInt: true}, 1, nil
	case c&0xc0 == 0x80: // string of up to 63 bytes
		hdr, strLen = 1, int(c&0x3f)
	case c&0xe0 == 0xc0: // 13-bit signed integer
		if err := need(2); err != nil {
			return entry{}, 0, err
		}
		v := int64(c&0x1f)<<8 | int64(b[1])
		if v >= 1<<12 {
			v -= 1 << 13
		}
		return entry{num: v, isInt: true}, 2, nil
	case c&0xf0 == 0xe0: // string of up to 4095 bytes
		if err := need(2); err != nil {
			return entry{}, 0, err
		}
		hdr, strLen = 2, int(c&0x0f)<<8|int(b[1])
	case c == 0xf0: // string, 32-bit length
		if err := need(5); err != nil {
			return entry{}, 0, err
		}
		hdr, strLen = 5, int(binary.LittleEndian.Uint32(b[1:]))
	case c >= 0xf1 && c <= 0xf4: // 16, 24, 32 or 64-bit signed integer
		w := [...]int{2, 3, 4, 8}[c-0xf1]
		if err := need(1 + w); err != nil {
			return entry{}, 0, err
		}
		return entry{num: leInt(b[1 : 1+w]), isInt: true}, 1 + w, nil
	default:
		return entry{}, 0, badBlob("listpack", "bad encoding")
	}
	size = hdr + strLen
	if size < hdr || size > len(b) {
		return entry{}, 0, badBlob("listpack", "string past the end")
	}
	return entry{str: b[hdr:size:size]}, size, nil
}

// leInt returns the little-endian signed integer of 2 to 8 bytes in b.
func leInt(b []byte) int64 {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	shift := 64 - 8*uint(len(b))
	return int64(u<<shift) >> shift
}

// backlenOK reports whether b starts with the back-length of an entry of
// size bytes, as Redis writes it to be read backwards: the highest 7 bits
// first, every later byte with its high bit set. It returns the bytes the
// back-length takes.
func backlenOK(b []byte, size int) (int, bool) {
	n := backlenSize(size)
	if n > len(b) {
		return 0, false
	}
	v := 0
	for i := range n {
		if (b[i]&0x80 != 0) != (i > 0) {
			return 0, false
		}
		v = v<<7 | int(b[i]&0x7f)
	}
	return n, v == size
}

// backlenSize returns how many bytes the back-length of an entry of size
// bytes takes.
func backlenSize(size int) int {
	switch {
	case size <= 127:
		return 1
	case size < 16383:
		return 2
	case size < 2097151:
		return 3
	case size < 268435455:
		return 4
	}
	return 5
}

// appendBacklen appends the back-length of an entry of size bytes.
func appendBacklen(dst []byte, size int) []byte {
	n := backlenSize(size)
	for i := range n {
		b := byte(size>>(7*uint(n-1-i))) & 0x7f
		if i > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
	}
	return dst
}

// listpack builds a listpack as Redis's lpAppend does: elements that are
// canonical integers are stored as integers of the smallest encoding.
type listpack struct {
	b []byte
	n int
}

// newListpack returns an empty listpack.
func newListpack() *listpack { return &listpack{b: make([]byte, 6, 64)} }

// size returns the bytes of the listpack so far, without its end byte.
func (l *listpack) size() int { return len(l.b) }

// add appends elem, as an integer when it is a canonical one.
func (l *listpack) add(elem []byte) {
	if v, ok := parseInt(elem); ok {
		l.addInt(v)
		return
	}
	start := len(l.b)
	n := len(elem)
	switch {
	case n < 64:
		l.b = append(l.b, 0x80|byte(n))
	case n < 4096:
		l.b = append(l.b, 0xe0|byte(n>>8), byte(n))
	default:
		l.b = append(l.b, 0xf0)
		l.b = binary.LittleEndian.AppendUint32(l.b, uint32(n))
	}
	l.b = append(l.b, elem...)
	l.b = appendBacklen(l.b, len(l.b)-start)
	l.n++
}

// addInt appends the integer v in the smallest encoding that holds it.
func (l *listpack) addInt(v int64) {
	start := len(l.b)
	switch {
	case v >= 0 && v <= 127:
		l.b = append(l.b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		l.b = append(l.b, 0xc0|byte(u>>8), byte(u))
	case v >= -32768 && v <= 32767:
		l.b = append(l.b, 0xf1)
		l.b = binary.LittleEndian.AppendUint16(l.b, uint16(v))
	case v >= -8388608 && v <= 8388607:
		l.b = append(l.b, 0xf2, byte(v), byte(v>>8), byte(v>>16))
	case v >= -2147483648 && v <= 2147483647:
		l.b = append(l.b, 0xf3)
		l.b = binary.LittleEndian.AppendUint32(l.b, uint32(v))
	default:
		l.b = append(l.b, 0xf4)
		l.b = binary.LittleEndian.AppendUint64(l.b, uint64(v))
	}
	l.b = appendBacklen(l.b, len(l.b)-start)
	l.n++
}

// intSize returns the bytes addInt takes for v, its back-length included.
func intSize(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 2
	case v >= -4096 && v <= 4095:
		return 3
	case v >= -32768 && v <= 32767:
		return 4
	case v >= -8388608 && v <= 8388607:
		return 5
	case v >= -2147483648 && v <= 2147483647:
		return 6
	}
	return 10
}

// finish ends the listpack and returns its bytes.
func (l *listpack) finish() []byte {
	l.b = append(l.b, 0xff)
	binary.LittleEndian.PutUint32(l.b, uint32(len(l.b)))
	binary.LittleEndian.PutUint16(l.b[4:], uint16(min(l.n, 65535)))
	return l.b
}

// ziplistEach calls fn with every element of the ziplist zl, in order,
// after checking its header, each entry's previous-length, encoding and
// length, the offset of its tail, its end byte and its count.
func ziplistEach(zl []byte, fn func(entry) error) error {
	const header = 10
	if len(zl) < header+1 {
		return badBlob("ziplist", "shorter than its header")
	}
	if int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != 0xff {
		return badBlob("ziplist", "wrong length or end")
	}
	tail := int(binary.LittleEndian.Uint32(zl[4:]))
	want := int(binary.LittleEndian.Uint16(zl[8:]))
	end := len(zl) - 1
	n, prev, last := 0, 0, header
	for p := header; p < end; n++ {
		e, size, prevLen, err := ziplistEntry(zl[p:end])
		if err != nil {
			return err
		}
		if prevLen != prev {
			return badBlob("ziplist", "wrong previous length")
		}
		last, prev = p, size
		p += size
		if err := fn(e); err != nil {
			return err
		}
	}
	if tail != last {
		return badBlob("ziplist", "wrong tail offset")
	}
	if want != 65535 && want != n {
		return badBlob("ziplist", "wrong count")
	}
	return nil
}

// ziplistEntry decodes the entry at the start of b, returning it, its
// whole size and the previous entry's size it records.
func ziplistEntry(b []byte) (e entry, size, prevLen int, err error) {
	p := 1
	prevLen = int(b[0])
	switch b[0] {
	case 0xfe:
		if len(b) < 5 {
			return e, 0, 0, badBlob("ziplist", "entry past the end")
		}
		prevLen, p = int(binary.LittleEndian.Uint32(b[1:])), 5
	case 0xff:
		return e, 0, 0, badBlob("ziplist", "end inside the entries")
	}
	if p >= len(b) {
		return e, 0, 0, badBlob("ziplist", "entry past the end")
	}
	c := b[p]
	hdr, strLen := 0, 0
	switch {
	case c>>6 == 0:
		hdr, strLen = 1, int(c&0x3f)
	case c>>6 == 1:
		if p+2 > len(b) {
			return e, 0, 0, badBlob("ziplist", "entry past the end")
		}
		hdr, strLen = 2, int(c&0x3f)<<8|int(b[p+1])
	case c>>6 == 2:
		if p+5 > len(b) {
			return e, 0, 0, badBlob("ziplist", "entry past the end")
		}
		hdr, strLen = 5, int(binary.BigEndian.Uint32(b[p+1:]))
	default:
		w := 0
		switch {
		case c == 0xc0:
			w = 2
		case c == 0xd0:
			w = 4
		case c == 0xe0:
			w = 8
		case c == 0xf0:
			w = 3
		case c == 0xfe:
			w = 1
		case c >= 0xf1 && c <= 0xfd:
			return entry{num: int64(c&0x0f) - 1, isInt: true}, p + 1, prevLen, nil
		default:
			return e, 0, 0, badBlob("ziplist", "bad encoding")
		}
		if p+1+w > len(b) {
			return e, 0, 0, badBlob("ziplist", "entry past the end")
		}
		if w == 1 {
			return entry{num: int64(int8(b[p+1])), isInt: true}, p + 2, prevLen, nil
		}
		return entry{num: leInt(b[p+1 : p+1+w]), isInt: true}, p + 1 + w, prevLen, nil
	}
	start := p + hdr
	size = start + strLen
	if size < start || size > len(b) {
		return e, 0, 0, badBlob("ziplist", "string past the end")
	}
	return entry{str: b[start:size:size]}, size, prevLen, nil
}

// intsetEach calls fn with every integer of the intset is, after checking
// its width, its length and that the integers strictly increase.
func intsetEach(is []byte, fn func(entry) error) error {
	if len(is) < 8 {
		return badBlob("intset", "shorter than its header")
	}
	w := int(binary.LittleEndian.Uint32(is))
	n := uint64(binary.LittleEndian.Uint32(is[4:]))
	if w != 2 && w != 4 && w != 8 {
		return badBlob("intset", "bad width")
	}
	if uint64(len(is)-8) != n*uint64(w) {
		return badBlob("intset", "wrong length")
	}
	var prev int64
	for i := 8; i < len(is); i += w {
		v := leInt(is[i : i+w])
		if i > 8 && v <= prev {
			return badBlob("intset", "integers out of order")
		}
		prev = v
		if err := fn(entry{num: v, isInt: true}); err != nil {
			return err
		}
	}
	return nil
}

// zipmapEach calls fn with every key and value of the zipmap zm (Redis
// 2.x's small hashes), in order, after checking every length and its end.
func zipmapEach(zm []byte, fn func(entry) error) error {
	if len(zm) < 2 {
		return badBlob("zipmap", "shorter than its header")
	}
	p, n := 1, 0
	length := func() (int, bool) {
		if p >= len(zm) {
			return 0, false
		}
		switch c := zm[p]; {
		case c < 254:
			p++
			return int(c), true
		case c == 254 && p+5 <= len(zm):
			v := int(binary.LittleEndian.Uint32(zm[p+1:]))
			p += 5
			return v, true
		}
		return 0, false
	}
	for {
		if p >= len(zm) {
			return badBlob("zipmap", "no end")
		}
		if zm[p] == 0xff {
			break
		}
		kl, ok := length()
		if !ok || kl > len(zm)-p {
			return badBlob("zipmap", "key past the end")
		}
		key := zm[p : p+kl : p+kl]
		p += kl
		vl, ok := length()
		if !ok || p >= len(zm) {
			return badBlob("zipmap", "value past the end")
		}
		free := int(zm[p])
		p++
		if vl > len(zm)-p || free > len(zm)-p-vl {
			return badBlob("zipmap", "value past the end")
		}
		val := zm[p : p+vl : p+vl]
		p += vl + free
		if err := fn(entry{str: key}); err != nil {
			return err
		}
		if err := fn(entry{str: val}); err != nil {
			return err
		}
		n++
	}
	if p != len(zm)-1 {
		return badBlob("zipmap", "bytes after its end")
	}
	if zm[0] < 254 && int(zm[0]) != n {
		return badBlob("zipmap", "wrong count")
	}
	return nil
}

// parseInt parses b as Redis's string2ll does: a canonical decimal integer
// within int64 (no plus sign, leading zeros or spaces; "-0" is not one).
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || d[0] == '0' && len(b) > 1 {
		return 0, false
	}
	var u uint64
	for _, c := range d {
		if c < '0' || c > '9' || u > (1<<64-1-9)/10 {
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
