package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// cjsonLib is the part of lua-cjson scripts use, as Redis configures it:
// encode, decode and null, with its number format (%.14g), its sparse
// array rule (an array whose largest index is over twice its count and
// over 10 is refused) and its error texts.
func cjsonLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	null := L.NewUserData()
	t.RawSetString("null", null)
	t.RawSetString("encode", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			argError(L, 1, "encode", "expected 1 argument")
		}
		var b strings.Builder
		if v, msg := jsonEncode(&b, L.Get(1), null, 0); msg != "" {
			L.RaiseError("Cannot serialise %s: %s", v.Type().String(), msg)
		}
		L.Push(lua.LString(b.String()))
		return 1
	}))
	t.RawSetString("decode", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			argError(L, 1, "decode", "expected 1 argument")
		}
		d := jsonDecoder{L: L, s: checkString(L, 1, "decode"), null: null}
		if len(d.s) >= 2 && (d.s[0] == 0 || d.s[1] == 0) {
			L.RaiseError("JSON parser does not support UTF-16 or UTF-32")
		}
		v := d.value(d.next())
		if tok := d.next(); tok.kind != tEnd {
			d.fail("the end", tok)
		}
		L.Push(v)
		return 1
	}))
	return t
}

// jsonEncode writes v; on failure it returns the value that could not be
// encoded and why.
func jsonEncode(b *strings.Builder, v lua.LValue, null lua.LValue, depth int) (lua.LValue, string) {
	if depth > 1000 {
		return v, "excessive nesting"
	}
	switch v := v.(type) {
	case lua.LString:
		jsonString(b, string(v))
	case lua.LNumber:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return v, "must not be NaN or Inf"
		}
		b.WriteString(formatG14(f))
	case lua.LBool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *lua.LNilType:
		b.WriteString("null")
	case *lua.LTable:
		n, max, array := 0, 0, true
		v.ForEach(func(k, _ lua.LValue) {
			n++
			if f, ok := k.(lua.LNumber); !ok || f < 1 || float64(f) != math.Trunc(float64(f)) {
				array = false
			} else if int(f) > max {
				max = int(f)
			}
		})
		if array && n > 0 {
			if max > n*2 && max > 10 {
				return v, "excessively sparse array"
			}
			b.WriteByte('[')
			for i := 1; i <= max; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				if bad, msg := jsonEncode(b, v.RawGetInt(i), null, depth+1); msg != "" {
					return bad, msg
				}
			}
			b.WriteByte(']')
			return nil, ""
		}
		b.WriteByte('{')
		first := true
		var bad lua.LValue
		msg := ""
		v.ForEach(func(k, val lua.LValue) {
			if msg != "" {
				return
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			switch k := k.(type) {
			case lua.LString:
				jsonString(b, string(k))
			case lua.LNumber:
				jsonString(b, formatG14(float64(k)))
			default:
				bad, msg = k, "table key must be a number or string"
				return
			}
			b.WriteByte(':')
			bad, msg = jsonEncode(b, val, null, depth+1)
		})
		if msg != "" {
			return bad, msg
		}
		b.WriteByte('}')
	default:
		if v == null {
			b.WriteString("null")
			return nil, ""
		}
		return v, "type not supported"
	}
	return nil, ""
}

// formatG14 formats f as C's "%.14g".
func formatG14(f float64) string {
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// jsonString writes s quoted as lua-cjson does, which escapes '/' too.
func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789abcdef"[c>>4])
				b.WriteByte("0123456789abcdef"[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// bitLib is LuaBitOp's bit library over 32-bit integers.
func bitLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	var fname string // the function running, for argument errors
	arg := func(L *lua.LState, i int) uint32 { return tobit(checkNumber(L, i, fname)) }
	push := func(L *lua.LState, v uint32) int { L.Push(lua.LNumber(int32(v))); return 1 }
	fold := func(op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			v := arg(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				v = op(v, arg(L, i))
			}
			return push(L, v)
		}
	}
	fns := map[string]lua.LGFunction{
		"tobit":  func(L *lua.LState) int { return push(L, arg(L, 1)) },
		"bnot":   func(L *lua.LState) int { return push(L, ^arg(L, 1)) },
		"band":   fold(func(a, b uint32) uint32 { return a & b }),
		"bor":    fold(func(a, b uint32) uint32 { return a | b }),
		"bxor":   fold(func(a, b uint32) uint32 { return a ^ b }),
		"lshift": func(L *lua.LState) int { return push(L, arg(L, 1)<<(arg(L, 2)&31)) },
		"rshift": func(L *lua.LState) int { return push(L, arg(L, 1)>>(arg(L, 2)&31)) },
		"arshift": func(L *lua.LState) int {
			return push(L, uint32(int32(arg(L, 1))>>(arg(L, 2)&31)))
		},
		"rol": func(L *lua.LState) int {
			v, n := arg(L, 1), arg(L, 2)&31
			return push(L, v<<n|v>>(32-n))
		},
		"ror": func(L *lua.LState) int {
			v, n := arg(L, 1), arg(L, 2)&31
			return push(L, v>>n|v<<(32-n))
		},
		"bswap": func(L *lua.LState) int {
			v := arg(L, 1)
			return push(L, v>>24|v>>8&0xff00|v<<8&0xff0000|v<<24)
		},
		"tohex": func(L *lua.LState) int {
			v := arg(L, 1)
			n := int32(8)
			if L.GetTop() >= 2 {
				n = int32(arg(L, 2))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n = -n
				digits = "0123456789ABCDEF"
			}
			n = min(n, 8)
			buf := make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				buf[i] = digits[v&15]
				v >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			fname = name
			return fn(L)
		}))
	}
	return t
}

// tobit normalises a number to 32 bits as LuaBitOp does: adding 2^52 +
// 2^51 rounds it to an integer (to even) in the low bits of the double's
// mantissa, which are the result.
func tobit(f float64) uint32 {
	return uint32(math.Float64bits(f + 6755399441055744.0))
}
