package script

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// cmsgpackLib is lua-cmsgpack as Redis ships it: pack(...) and
// unpack(s), unpack_one(s [, offset]), unpack_limit(s, limit [, offset]).
// Numbers equal to an int64 are packed as the smallest integer format,
// others as a float32 when that keeps their value, else a float64;
// strings as str formats; a table whose keys are exactly 1..n as an
// array, any other as a map; tables nested deeper than 16 and values of
// other types as nil.
func cmsgpackLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(msgpackPack))
	t.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int { return msgpackUnpack(L, 0, 0) }))
	t.RawSetString("unpack_one", L.NewFunction(func(L *lua.LState) int {
		return msgpackUnpack(L, 1, L.OptInt(2, 0))
	}))
	t.RawSetString("unpack_limit", L.NewFunction(func(L *lua.LState) int {
		return msgpackUnpack(L, L.CheckInt(2), L.OptInt(3, 0))
	}))
	return t
}

const msgpackMaxNesting = 16

func msgpackPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "pack", "MessagePack pack needs input.")
	}
	var b []byte
	for i := 1; i <= n; i++ {
		b = msgpackEncode(b, L.Get(i), 0)
	}
	L.Push(lua.LString(b))
	return 1
}

func msgpackEncode(b []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LBool:
		if v {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		f := float64(v)
		if !math.IsInf(f, 0) && !math.IsNaN(f) && f >= -9223372036854775808 && f < 9223372036854775808 && float64(int64(f)) == f {
			return msgpackInt(b, int64(f))
		}
		if float64(float32(f)) == f {
			b = append(b, 0xca)
			return binary.BigEndian.AppendUint32(b, math.Float32bits(float32(f)))
		}
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	case lua.LString:
		n := len(v)
		switch {
		case n < 32:
			b = append(b, 0xa0|byte(n))
		case n <= 0xff:
			b = append(b, 0xd9, byte(n))
		case n <= 0xffff:
			b = append(b, 0xda)
			b = binary.BigEndian.AppendUint16(b, uint16(n))
		default:
			b = append(b, 0xdb)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return append(b, v...)
	case *lua.LTable:
		if level == msgpackMaxNesting {
			return append(b, 0xc0)
		}
		return msgpackTable(b, v, level)
	}
	return append(b, 0xc0)
}

func msgpackInt(b []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= 127:
			return append(b, byte(n))
		case n <= 0xff:
			return append(b, 0xcc, byte(n))
		case n <= 0xffff:
			return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
		case n <= 0xffffffff:
			return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(n))
	}
	switch {
	case n >= -32:
		return append(b, byte(int8(n)))
	case n >= -128:
		return append(b, 0xd0, byte(int8(n)))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(n)))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(n)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

func msgpackTable(b []byte, t *lua.LTable, level int) []byte {
	count, max, array := 0, 0, true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || float64(n) != math.Trunc(float64(n)) || float64(n) > math.MaxInt32 {
			array = false
			return
		}
		max = int(math.Max(float64(max), float64(n)))
	})
	if array && max == count {
		switch {
		case count <= 15:
			b = append(b, 0x90|byte(count))
		case count <= 0xffff:
			b = binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(count))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(count))
		}
		for i := 1; i <= count; i++ {
			b = msgpackEncode(b, t.RawGetInt(i), level+1)
		}
		return b
	}
	switch {
	case count <= 15:
		b = append(b, 0x80|byte(count))
	case count <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xde), uint16(count))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(count))
	}
	t.ForEach(func(k, v lua.LValue) {
		b = msgpackEncode(b, k, level+1)
		b = msgpackEncode(b, v, level+1)
	})
	return b
}

// msgpackUnpack decodes up to limit values (every one with limit and
// offset 0) of argument 1 from offset; with a limit or an offset it
// returns the offset of the next value (-1 at the end) first.
func msgpackUnpack(L *lua.LState, limit, offset int) int {
	s := checkString(L, 1, "unpack")
	all := limit == 0 && offset == 0
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, len(s))
	} else if offset > len(s) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	if all {
		limit = math.MaxInt
	}
	d := msgpackDecoder{L: L, b: []byte(s[offset:])}
	var out []lua.LValue
	for len(d.b) > 0 && len(out) < limit {
		v := d.decode(0)
		switch d.err {
		case errEOF:
			L.RaiseError("Missing bytes in input.")
		case errBadFormat:
			L.RaiseError("Bad data format in input.")
		}
		out = append(out, v)
	}
	if !all {
		next := len(s) - len(d.b)
		if len(d.b) == 0 {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range out {
		L.Push(v)
	}
	if all {
		return len(out)
	}
	return len(out) + 1
}

const (
	errNone = iota
	errEOF
	errBadFormat
)

type msgpackDecoder struct {
	L   *lua.LState
	b   []byte
	err int
}

func (d *msgpackDecoder) take(n int) []byte {
	if d.err != errNone {
		return nil
	}
	if len(d.b) < n {
		d.err = errEOF
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *msgpackDecoder) decode(depth int) lua.LValue {
	p := d.take(1)
	if p == nil {
		return lua.LNil
	}
	c := p[0]
	switch {
	case c <= 0x7f:
		return lua.LNumber(c)
	case c >= 0xe0:
		return lua.LNumber(int8(c))
	case c >= 0xa0 && c <= 0xbf:
		return d.str(int(c & 0x1f))
	case c >= 0x90 && c <= 0x9f:
		return d.array(int(c&0xf), depth)
	case c >= 0x80 && c <= 0x8f:
		return d.mapping(int(c&0xf), depth)
	}
	switch c {
	case 0xc0:
		return lua.LNil
	case 0xc2:
		return lua.LFalse
	case 0xc3:
		return lua.LTrue
	case 0xcc:
		if p := d.take(1); p != nil {
			return lua.LNumber(p[0])
		}
	case 0xcd:
		if p := d.take(2); p != nil {
			return lua.LNumber(binary.BigEndian.Uint16(p))
		}
	case 0xce:
		if p := d.take(4); p != nil {
			return lua.LNumber(binary.BigEndian.Uint32(p))
		}
	case 0xcf:
		if p := d.take(8); p != nil {
			return lua.LNumber(float64(binary.BigEndian.Uint64(p)))
		}
	case 0xd0:
		if p := d.take(1); p != nil {
			return lua.LNumber(int8(p[0]))
		}
	case 0xd1:
		if p := d.take(2); p != nil {
			return lua.LNumber(int16(binary.BigEndian.Uint16(p)))
		}
	case 0xd2:
		if p := d.take(4); p != nil {
			return lua.LNumber(int32(binary.BigEndian.Uint32(p)))
		}
	case 0xd3:
		if p := d.take(8); p != nil {
			return lua.LNumber(float64(int64(binary.BigEndian.Uint64(p))))
		}
	case 0xca:
		if p := d.take(4); p != nil {
			return lua.LNumber(math.Float32frombits(binary.BigEndian.Uint32(p)))
		}
	case 0xcb:
		if p := d.take(8); p != nil {
			return lua.LNumber(math.Float64frombits(binary.BigEndian.Uint64(p)))
		}
	case 0xd9:
		if p := d.take(1); p != nil {
			return d.str(int(p[0]))
		}
	case 0xda:
		if p := d.take(2); p != nil {
			return d.str(int(binary.BigEndian.Uint16(p)))
		}
	case 0xdb:
		if p := d.take(4); p != nil {
			return d.str(int(binary.BigEndian.Uint32(p)))
		}
	case 0xdc:
		if p := d.take(2); p != nil {
			return d.array(int(binary.BigEndian.Uint16(p)), depth)
		}
	case 0xdd:
		if p := d.take(4); p != nil {
			return d.array(int(binary.BigEndian.Uint32(p)), depth)
		}
	case 0xde:
		if p := d.take(2); p != nil {
			return d.mapping(int(binary.BigEndian.Uint16(p)), depth)
		}
	case 0xdf:
		if p := d.take(4); p != nil {
			return d.mapping(int(binary.BigEndian.Uint32(p)), depth)
		}
	default:
		d.err = errBadFormat
	}
	return lua.LNil
}

func (d *msgpackDecoder) str(n int) lua.LValue {
	if p := d.take(n); p != nil || n == 0 && d.err == errNone {
		return lua.LString(p)
	}
	return lua.LNil
}

// maxDecodeDepth bounds the nesting unpack follows, so that a crafted
// input cannot exhaust the Go stack.
const maxDecodeDepth = 1000

func (d *msgpackDecoder) array(n, depth int) lua.LValue {
	if depth >= maxDecodeDepth {
		d.err = errBadFormat
		return lua.LNil
	}
	if n > len(d.b) { // every element takes a byte at least
		d.err = errEOF
		return lua.LNil
	}
	t := d.L.CreateTable(n, 0)
	for i := 1; i <= n && d.err == errNone; i++ {
		t.RawSetInt(i, d.decode(depth+1))
	}
	return t
}

func (d *msgpackDecoder) mapping(n, depth int) lua.LValue {
	if depth >= maxDecodeDepth {
		d.err = errBadFormat
		return lua.LNil
	}
	if n > len(d.b)/2 {
		d.err = errEOF
		return lua.LNil
	}
	t := d.L.CreateTable(0, n)
	for i := 0; i < n && d.err == errNone; i++ {
		k := d.decode(depth + 1)
		v := d.decode(depth + 1)
		if d.err == errNone && k != lua.LNil {
			t.RawSet(k, v)
		}
	}
	return t
}
