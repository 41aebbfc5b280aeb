package script

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// structLib is Roberto Ierusalimschy's struct library as Redis ships it
// (lua_struct.c): pack, unpack and size over formats of '<' '>' '!n' 'x'
// 'b' 'B' 'h' 'H' 'l' 'L' 'T' 'i[n]' 'I[n]' 'c[n]' 's' 'f' 'd', with the
// sizes of Redis's 64-bit build (short 2, int 4, long and size_t 8) and
// its error texts.
func structLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	t.RawSetString("pack", L.NewFunction(structPack))
	t.RawSetString("unpack", L.NewFunction(structUnpack))
	t.RawSetString("size", L.NewFunction(structSize))
	return t
}

const (
	structMaxIntSize = 32
	structMaxAlign   = 8
)

// structHeader is the state a format's control options change.
type structHeader struct {
	little bool
	align  int
}

// argError raises Lua 5.1's luaL_argerror text.
func argError(L *lua.LState, arg int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", arg, fname, msg)
}

// checkNumber is luaL_checknumber: a number, or a string that converts to
// one, with Lua 5.1's error text.
func checkNumber(L *lua.LState, arg int, fname string) float64 {
	switch v := L.Get(arg).(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		if n, err := parseLuaNumber(string(v)); err == nil {
			return n
		}
	}
	argError(L, arg, fname, "number expected, got "+typeName(L, arg))
	return 0
}

// checkString is luaL_checklstring: a string, or a number as a string.
func checkString(L *lua.LState, arg int, fname string) string {
	switch v := L.Get(arg).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	argError(L, arg, fname, "string expected, got "+typeName(L, arg))
	return ""
}

// typeName is Lua's name of argument arg's type, "no value" past the last.
func typeName(L *lua.LState, arg int) string {
	if arg > L.GetTop() {
		return "no value"
	}
	return L.Get(arg).Type().String()
}

// parseLuaNumber converts s as Lua converts a string to a number: a
// decimal or 0x hexadecimal number, with blanks around.
func parseLuaNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		n, err := strconv.ParseUint(h, 16, 64)
		return float64(n), err
	}
	if strings.ContainsAny(strings.ToLower(s), "in_") { // inf, nan, digit separators
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(s, 64)
}

// structNum is luaL_checknumber in pack, where a missing argument is nil
// (pack pushes a nil after its arguments).
func structNum(L *lua.LState, arg int) float64 {
	if arg > L.GetTop() {
		argError(L, arg, "pack", "number expected, got nil")
	}
	return checkNumber(L, arg, "pack")
}

func structGetNum(L *lua.LState, f string, i *int, df int) int {
	if *i >= len(f) || f[*i] < '0' || f[*i] > '9' {
		return df
	}
	a := 0
	for *i < len(f) && f[*i] >= '0' && f[*i] <= '9' {
		d := int(f[*i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		*i++
	}
	return a
}

func structOptSize(L *lua.LState, opt byte, f string, i *int) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return structGetNum(L, f, i, 1)
	case 'i', 'I':
		sz := structGetNum(L, f, i, 4)
		if sz > structMaxIntSize {
			L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

func structToAlign(n int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (n & (size - 1))) & (size - 1)
}

func structControl(L *lua.LState, opt byte, f string, i *int, h *structHeader, fname string) {
	switch opt {
	case ' ':
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := structGetNum(L, f, i, structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			L.RaiseError("alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(L, 1, fname, "invalid format option '"+string(opt)+"'")
	}
}

func structPack(L *lua.LState) int {
	f := checkString(L, 1, "pack")
	h := structHeader{little: true, align: 1}
	arg := 2
	var b []byte
	for i := 0; i < len(f); {
		opt := f[i]
		i++
		size := structOptSize(L, opt, f, &i)
		for n := structToAlign(len(b), &h, opt, size); n > 0; n-- {
			b = append(b, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := structNum(L, arg)
			arg++
			var v uint64
			if n < 0 {
				v = uint64(int64(n))
			} else {
				v = uint64(n)
			}
			buf := make([]byte, size)
			for j := 0; j < size; j++ {
				k := j
				if !h.little {
					k = size - 1 - j
				}
				buf[k] = byte(v)
				v >>= 8
			}
			b = append(b, buf...)
		case 'x':
			b = append(b, 0)
		case 'f':
			v := math.Float32bits(float32(structNum(L, arg)))
			arg++
			if h.little {
				b = binary.LittleEndian.AppendUint32(b, v)
			} else {
				b = binary.BigEndian.AppendUint32(b, v)
			}
		case 'd':
			v := math.Float64bits(structNum(L, arg))
			arg++
			if h.little {
				b = binary.LittleEndian.AppendUint64(b, v)
			} else {
				b = binary.BigEndian.AppendUint64(b, v)
			}
		case 'c', 's':
			s := checkString(L, arg, "pack")
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, "pack", "string too short")
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			structControl(L, opt, f, &i, &h, "pack")
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func structUnpack(L *lua.LState) int {
	f := checkString(L, 1, "unpack")
	data := checkString(L, 2, "unpack")
	pos := 0
	if L.GetTop() >= 3 && L.Get(3) != lua.LNil {
		pos = int(checkNumber(L, 3, "unpack")) - 1
	}
	if pos < 0 || pos > len(data) {
		argError(L, 3, "unpack", "offset must be 1 or greater")
	}
	h := structHeader{little: true, align: 1}
	var out []lua.LValue
	for i := 0; i < len(f); {
		opt := f[i]
		i++
		size := structOptSize(L, opt, f, &i)
		pos += structToAlign(pos, &h, opt, size)
		if pos > len(data) || size > len(data)-pos {
			argError(L, 2, "unpack", "data string too short")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			var l uint64
			for j := 0; j < size; j++ {
				k := j
				if h.little {
					k = size - 1 - j
				}
				l = l<<8 | uint64(data[pos+k])
			}
			if opt >= 'a' && opt <= 'z' {
				if size < 8 && size > 0 {
					mask := ^uint64(0) << (size*8 - 1)
					if l&mask != 0 {
						l |= mask
					}
				}
				out = append(out, lua.LNumber(float64(int64(l))))
			} else {
				out = append(out, lua.LNumber(float64(l)))
			}
		case 'x':
		case 'f':
			var v uint32
			if h.little {
				v = binary.LittleEndian.Uint32([]byte(data[pos : pos+4]))
			} else {
				v = binary.BigEndian.Uint32([]byte(data[pos : pos+4]))
			}
			out = append(out, lua.LNumber(float64(math.Float32frombits(v))))
		case 'd':
			var v uint64
			if h.little {
				v = binary.LittleEndian.Uint64([]byte(data[pos : pos+8]))
			} else {
				v = binary.BigEndian.Uint64([]byte(data[pos : pos+8]))
			}
			out = append(out, lua.LNumber(math.Float64frombits(v)))
		case 'c':
			if size == 0 {
				if len(out) == 0 {
					L.RaiseError("format 'c0' needs a previous size")
				}
				n, ok := out[len(out)-1].(lua.LNumber)
				if !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(n)
				out = out[:len(out)-1]
				if size < 0 || size > len(data)-pos {
					argError(L, 2, "unpack", "data string too short")
				}
			}
			out = append(out, lua.LString(data[pos:pos+size]))
		case 's':
			e := strings.IndexByte(data[pos:], 0)
			if e < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = e + 1
			out = append(out, lua.LString(data[pos:pos+e]))
		default:
			structControl(L, opt, f, &i, &h, "unpack")
		}
		pos += size
	}
	for _, v := range out {
		L.Push(v)
	}
	L.Push(lua.LNumber(pos + 1))
	return len(out) + 1
}

func structSize(L *lua.LState) int {
	f := checkString(L, 1, "size")
	h := structHeader{little: true, align: 1}
	pos := 0
	for i := 0; i < len(f); {
		opt := f[i]
		i++
		size := structOptSize(L, opt, f, &i)
		pos += structToAlign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "size", "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "size", "option 'c0' has no fixed size")
		}
		if !(opt >= 'a' && opt <= 'z' || opt >= 'A' && opt <= 'Z' || opt >= '0' && opt <= '9') {
			structControl(L, opt, f, &i, &h, "size")
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
