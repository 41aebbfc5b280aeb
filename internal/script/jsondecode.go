package script

import (
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// jsonDecoder is lua-cjson's decoder: its tokens, its rules (no leading
// zeros, hexadecimal, inf or nan; nesting up to 1000) and its error texts
// ("Expected value but found T_END at character 6").
type jsonDecoder struct {
	L     *lua.LState
	s     string
	pos   int
	null  lua.LValue
	depth int
}

type jsonTokenKind int

const (
	tObjBegin jsonTokenKind = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
)

var jsonTokenNames = [...]string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_WHITESPACE", "T_ERROR"}

type jsonToken struct {
	kind  jsonTokenKind
	index int // 0-based
	str   string
	num   float64
	b     bool
	err   string
}

const jsonMaxDepth = 1000

func (d *jsonDecoder) fail(expected string, t jsonToken) {
	found := jsonTokenNames[t.kind]
	if t.kind == tError {
		found = t.err
	}
	d.L.RaiseError("Expected %s but found %s at character %d", expected, found, t.index+1)
}

func (d *jsonDecoder) errTok(msg string) jsonToken {
	return jsonToken{kind: tError, index: d.pos, err: msg}
}

func (d *jsonDecoder) next() jsonToken {
	s := d.s
	for d.pos < len(s) && (s[d.pos] == ' ' || s[d.pos] == '\t' || s[d.pos] == '\n' || s[d.pos] == '\r') {
		d.pos++
	}
	if d.pos >= len(s) || s[d.pos] == 0 {
		return jsonToken{kind: tEnd, index: d.pos}
	}
	start := d.pos
	switch c := s[d.pos]; c {
	case '{':
		d.pos++
		return jsonToken{kind: tObjBegin, index: start}
	case '}':
		d.pos++
		return jsonToken{kind: tObjEnd, index: start}
	case '[':
		d.pos++
		return jsonToken{kind: tArrBegin, index: start}
	case ']':
		d.pos++
		return jsonToken{kind: tArrEnd, index: start}
	case ',':
		d.pos++
		return jsonToken{kind: tComma, index: start}
	case ':':
		d.pos++
		return jsonToken{kind: tColon, index: start}
	case '"':
		return d.str()
	case 't', 'f', 'n':
		for _, kw := range []string{"true", "false", "null"} {
			if strings.HasPrefix(s[d.pos:], kw) {
				d.pos += len(kw)
				switch kw {
				case "null":
					return jsonToken{kind: tNull, index: start}
				default:
					return jsonToken{kind: tBoolean, index: start, b: kw == "true"}
				}
			}
		}
		return d.errTok("invalid token")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return d.number()
		}
		return d.errTok("invalid token")
	}
}

func (d *jsonDecoder) number() jsonToken {
	s, start := d.s, d.pos
	p := start
	if s[p] == '-' {
		p++
	}
	// Redis's lua-cjson reads numbers with strtod and takes what it
	// takes: leading zeros, and hexadecimal.
	if p+1 < len(s) && s[p] == '0' && s[p+1]|0x20 == 'x' {
		q := p + 2
		for q < len(s) && (s[q] >= '0' && s[q] <= '9' || s[q]|0x20 >= 'a' && s[q]|0x20 <= 'f') {
			q++
		}
		if q == p+2 {
			// strtod reads the "0" alone.
			d.pos = p + 1
			return jsonToken{kind: tNumber, index: start}
		}
		v, _ := strconv.ParseUint(s[p+2:q], 16, 64)
		f := float64(v)
		if s[start] == '-' {
			f = -f
		}
		d.pos = q
		return jsonToken{kind: tNumber, index: start, num: f}
	}
	// The longest prefix strtod reads: digits, a fraction, an exponent.
	digits := func(p int) int {
		for p < len(s) && s[p] >= '0' && s[p] <= '9' {
			p++
		}
		return p
	}
	q := digits(p)
	intDigits := q > p
	frac := false
	if q < len(s) && s[q] == '.' {
		r := digits(q + 1)
		frac = r > q+1
		if intDigits || frac {
			q = r
		}
	}
	if !intDigits && !frac {
		return d.errTok("invalid number")
	}
	if q < len(s) && (s[q] == 'e' || s[q] == 'E') {
		r := q + 1
		if r < len(s) && (s[r] == '+' || s[r] == '-') {
			r++
		}
		if e := digits(r); e > r {
			q = e
		}
	}
	f, err := strconv.ParseFloat(s[start:q], 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return d.errTok("invalid number")
		}
	}
	d.pos = q
	return jsonToken{kind: tNumber, index: start, num: f}
}

var jsonEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func (d *jsonDecoder) str() jsonToken {
	s, start := d.s, d.pos
	d.pos++
	var b strings.Builder
	for {
		if d.pos >= len(s) || s[d.pos] == 0 {
			return d.errTok("unexpected end of string")
		}
		c := s[d.pos]
		if c == '"' {
			break
		}
		if c == '\\' {
			if d.pos+1 >= len(s) {
				return d.errTok("invalid escape code")
			}
			e := s[d.pos+1]
			if e == 'u' {
				r, n, ok := jsonUnicode(s[d.pos:])
				if !ok {
					return d.errTok("invalid unicode escape code")
				}
				b.WriteRune(r)
				d.pos += n
				continue
			}
			ch, ok := jsonEscapes[e]
			if !ok {
				return d.errTok("invalid escape code")
			}
			b.WriteByte(ch)
			d.pos += 2
			continue
		}
		b.WriteByte(c)
		d.pos++
	}
	d.pos++
	return jsonToken{kind: tString, index: start, str: b.String()}
}

// jsonUnicode decodes "\uXXXX" (a surrogate pair "\uD8XX\uDCXX" too) at
// the start of s, returning the rune and the bytes read.
func jsonUnicode(s string) (rune, int, bool) {
	hex := func(s string) (rune, bool) {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[2:6], 16, 32)
		return rune(v), err == nil
	}
	r, ok := hex(s)
	if !ok {
		return 0, 0, false
	}
	switch {
	case r >= 0xdc00 && r <= 0xdfff:
		return 0, 0, false
	case r >= 0xd800 && r <= 0xdbff:
		lo, ok := hex(s[6:])
		if !ok || lo < 0xdc00 || lo > 0xdfff {
			return 0, 0, false
		}
		return (r-0xd800)<<10 + (lo - 0xdc00) + 0x10000, 12, true
	}
	if !utf8.ValidRune(r) {
		return 0, 0, false
	}
	return r, 6, true
}

func (d *jsonDecoder) descend() {
	d.depth++
	if d.depth > jsonMaxDepth {
		d.L.RaiseError("Found too many nested data structures (%d) at character %d", d.depth, d.pos)
	}
}

func (d *jsonDecoder) value(t jsonToken) lua.LValue {
	switch t.kind {
	case tString:
		return lua.LString(t.str)
	case tNumber:
		return lua.LNumber(t.num)
	case tBoolean:
		return lua.LBool(t.b)
	case tNull:
		return d.null
	case tObjBegin:
		d.descend()
		tab := d.L.NewTable()
		t = d.next()
		if t.kind == tObjEnd {
			d.depth--
			return tab
		}
		for {
			if t.kind != tString {
				d.fail("object key string", t)
			}
			key := t.str
			if t = d.next(); t.kind != tColon {
				d.fail("colon", t)
			}
			tab.RawSetString(key, d.value(d.next()))
			t = d.next()
			if t.kind == tObjEnd {
				d.depth--
				return tab
			}
			if t.kind != tComma {
				d.fail("comma or object end", t)
			}
			t = d.next()
		}
	case tArrBegin:
		d.descend()
		tab := d.L.NewTable()
		t = d.next()
		if t.kind == tArrEnd {
			d.depth--
			return tab
		}
		for i := 1; ; i++ {
			tab.RawSetInt(i, d.value(t))
			t = d.next()
			if t.kind == tArrEnd {
				d.depth--
				return tab
			}
			if t.kind != tComma {
				d.fail("comma or array end", t)
			}
			t = d.next()
		}
	}
	d.fail("value", t)
	return lua.LNil
}
