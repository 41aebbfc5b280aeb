package command

import (
	"bytes"
	"errors"
	"math"
	"strconv"
)

// Scores are read as Redis reads them, with C's strtod: leading blanks,
// a sign, decimal or hexadecimal digits with an exponent, "inf",
// "infinity" and "nan" in any letter case.

// isSpace reports whether ch is a blank for C's isspace.
func isSpace(ch byte) bool { return ch == ' ' || ch >= '\t' && ch <= '\r' }

// hasPrefixFold reports whether b starts with lower, in any letter case.
func hasPrefixFold(b []byte, lower string) bool {
	if len(b) < len(lower) {
		return false
	}
	for i := range len(lower) {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

func isDigit(ch byte) bool { return ch >= '0' && ch <= '9' }

func isHexDigit(ch byte) bool {
	return isDigit(ch) || ch|0x20 >= 'a' && ch|0x20 <= 'f'
}

// strtod reads a number at the start of s as C's strtod does. It returns
// the value, the bytes read (0 when s starts with no number, blanks
// included, as strtod then leaves its end pointer at s), and whether the
// value overflowed or underflowed (strtod's ERANGE).
func strtod(s []byte) (f float64, n int, erange bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	rest := s[i:]
	sign := 1.0
	if neg {
		sign = -1
	}
	switch {
	case hasPrefixFold(rest, "infinity"):
		return math.Inf(int(sign)), i + 8, false
	case hasPrefixFold(rest, "inf"):
		return math.Inf(int(sign)), i + 3, false
	case hasPrefixFold(rest, "nan"):
		i += 3
		if j := bytes.IndexByte(s[i:], ')'); i < len(s) && s[i] == '(' && j > 0 {
			ok := true
			for _, ch := range s[i+1 : i+j] {
				if !isHexDigit(ch) && !(ch|0x20 >= 'a' && ch|0x20 <= 'z') && ch != '_' {
					ok = false
				}
			}
			if ok {
				i += j + 1
			}
		}
		return math.NaN(), i, false
	}
	hex := len(rest) > 2 && rest[0] == '0' && rest[1]|0x20 == 'x' &&
		(isHexDigit(rest[2]) || rest[2] == '.' && len(rest) > 3 && isHexDigit(rest[3]))
	digit := isDigit
	if hex {
		i += 2
		digit = isHexDigit
	}
	digits, nonzero := 0, false
	for ; i < len(s) && digit(s[i]); i++ {
		digits++
		nonzero = nonzero || s[i] != '0'
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && digit(s[i]); i++ {
			digits++
			nonzero = nonzero || s[i] != '0'
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	// An exponent counts only when digits follow it.
	expChar := byte('e')
	if hex {
		expChar = 'p'
	}
	hasExp := false
	if i < len(s) && s[i]|0x20 == expChar {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i, hasExp = j, true
		}
	}
	text := string(s[start:i])
	if hex && !hasExp {
		text += "p0"
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, 0, false
	}
	return f, i, err != nil || f == 0 && nonzero
}

// parseScore parses a score, an increment or a weight as Redis's
// string2d does: the whole argument must be a number, without leading
// blanks, neither NaN nor beyond the range of a double.
func parseScore(b []byte) (float64, bool) {
	if len(b) == 0 || isSpace(b[0]) {
		return 0, false
	}
	f, n, erange := strtod(b)
	if n != len(b) || math.IsNaN(f) || erange && (math.IsInf(f, 0) || f == 0) {
		return 0, false
	}
	return f, true
}

// parseRangeScore parses a bound of a score range as Redis's
// zslParseRange does: strtod up to the end of the C string, with no check
// of its range, NaN refused.
func parseRangeScore(b []byte) (float64, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	f, n, _ := strtod(b)
	if n != len(b) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
