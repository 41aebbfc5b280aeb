// Package glob matches byte strings against the glob-style patterns that
// Redis accepts in KEYS, SCAN MATCH, PSUBSCRIBE and similar commands, with the
// semantics of Redis 7's stringmatchlen.
//
// # Syntax
//
// A pattern is read byte by byte; nothing is UTF-8 aware.
//
//   - '*' matches any run of bytes, including none.
//   - '?' matches any one byte.
//   - '[' starts a class that matches one byte; '[^' starts a negated class
//     that matches one byte not in it. The class ends at the next ']' that is
//     not escaped and not the end of a range. Without such a ']' the class
//     runs to the end of the pattern, so "[ab" matches "a" or "b".
//     A ']' straight after '[' or '[^' ends the class at once: "[]" matches
//     nothing and "[^]" matches any one byte.
//   - Inside a class, '\x' stands for the byte x, "x-y" for every byte from x
//     to y inclusive in either order ("[z-a]" is "[a-z]"), and any other byte
//     for itself. A range takes whatever byte follows the '-' as its end, so
//     "[a-]" is the range from ']' to 'a' and leaves the class open. A '-'
//     first or last in a class, as in "[-a]" or "[a-", is a plain member.
//   - '\x' outside a class matches the byte x, whatever it is. A '\' that
//     ends the pattern matches a backslash.
//   - Any other byte matches itself.
//
// As in Redis, an empty subject matches only the empty pattern: Match("*", "")
// is false. Redis's KEYS and SCAN do not call the matcher at all when the
// pattern is exactly "*", so they do list the empty key; a caller that wants
// the same must test for that pattern itself.
//
// Bytes compare as unsigned values, so ranges follow byte order 0x00-0xff.
// Redis compares C chars, whose signedness depends on the platform; both agree
// on every range whose ends are below 0x80.
//
// # Case folding
//
// MatchFold and MatchFoldString are Redis's nocase matching: ASCII letters
// match regardless of case, as C's tolower in the "C" locale folds them, and
// bytes outside 'A'-'Z' are never changed. Two Redis rules make it differ from
// matching the lower-cased pattern against the lower-cased subject, both
// inside classes: an escaped byte still matches only itself, so "[\A]" does
// not match "a"; and a range is put in order before its ends are folded, so
// "[Z-a]", which runs from 'Z' up to 'a', becomes the empty range 'z'-'a'.
//
// # Cost
//
// Matching never recurses and never allocates. It keeps only the position of
// the last '*' seen and, on a mismatch after it, lets that star swallow one
// more byte and tries again. Every token other than '*' consumes exactly one
// subject byte, so the earlier stars never need to be revisited, and the time
// is O(len(pattern) × len(subject)) whatever the pattern, with a stack of
// fixed size: the many-star patterns that made older Redis versions backtrack
// exponentially cost no more than any other. Redis reports no match once more than 1000 stars are nested
// in its recursion; these functions have no such limit and give the answer
// the pattern asks for.
package glob

// Match reports whether the subject s matches pattern, comparing bytes
// exactly. It is safe for concurrent use and does not retain its arguments.
func Match(pattern, s []byte) bool {
	return match(pattern, s, false)
}

// MatchString is Match for strings.
func MatchString(pattern, s string) bool {
	return match(pattern, s, false)
}

// MatchFold is Match with ASCII letters matched regardless of case, as
// described in the package documentation under Case folding.
func MatchFold(pattern, s []byte) bool {
	return match(pattern, s, true)
}

// MatchFoldString is MatchFold for strings.
func MatchFoldString(pattern, s string) bool {
	return match(pattern, s, true)
}

// match is the matcher behind every exported function.
func match[T string | []byte](p, s T, fold bool) bool {
	if len(s) == 0 {
		return len(p) == 0
	}
	if len(p) == 1 && p[0] == '*' {
		return true
	}
	if literal(p) {
		return equal(p, s, fold)
	}

	pi, si := 0, 0
	// star is the pattern index just past the last run of stars seen, or -1
	// before the first; mark is the subject index that run currently stops at.
	// When the token after the stars is a plain or escaped byte, next holds
	// it and hasNext is set, so that retries can skip subject bytes that
	// cannot start a match.
	star, mark := -1, 0
	var next byte
	hasNext := false
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				for pi < len(p) && p[pi] == '*' {
					pi++
				}
				if pi == len(p) {
					return true
				}
				star, mark = pi, si
				next, hasNext = literalAt(p, pi)
				continue
			case '?':
				pi++
				si++
				continue
			case '[':
				if in, end := class(p, pi+1, s[si], fold); in {
					pi = end
					si++
					continue
				}
			default:
				if c == '\\' && pi+1 < len(p) {
					pi++
					c = p[pi]
				}
				if c == s[si] || fold && lower(c) == lower(s[si]) {
					pi++
					si++
					continue
				}
			}
		}
		// Mismatch, or pattern used up before the subject: let the last star
		// take one more byte, or fail if there is none.
		if star < 0 {
			return false
		}
		mark++
		if hasNext {
			for mark < len(s) && s[mark] != next && (!fold || lower(s[mark]) != lower(next)) {
				mark++
			}
		}
		pi, si = star, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// class reports whether the byte b belongs to the class whose body starts at
// p[i], just after its '[', and returns the index just past the class: past
// its closing ']', or len(p) when the class runs to the end of the pattern.
// The work done is proportional to the length of the class.
func class[T string | []byte](p T, i int, b byte, fold bool) (in bool, next int) {
	negated := i < len(p) && p[i] == '^'
	if negated {
		i++
	}
	for i < len(p) {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			i++
			if p[i] == b {
				in = true
			}
		case p[i] == ']':
			return in != negated, i + 1
		case i+2 < len(p) && p[i+1] == '-':
			lo, hi, c := p[i], p[i+2], b
			if lo > hi {
				lo, hi = hi, lo
			}
			if fold {
				lo, hi, c = lower(lo), lower(hi), lower(c)
			}
			if lo <= c && c <= hi {
				in = true
			}
			i += 2
		default:
			if p[i] == b || fold && lower(p[i]) == lower(b) {
				in = true
			}
		}
		i++
	}
	return in != negated, len(p)
}

// literalAt returns the byte that the token at p[i] matches when that token
// is a plain byte or an escaped one, and false for any other token.
func literalAt[T string | []byte](p T, i int) (byte, bool) {
	switch p[i] {
	case '*', '?', '[':
		return 0, false
	case '\\':
		if i+1 < len(p) {
			return p[i+1], true
		}
	}
	return p[i], true
}

// literal reports whether p contains no byte with a special meaning.
func literal[T string | []byte](p T) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*', '?', '[', '\\':
			return false
		}
	}
	return true
}

// equal reports whether p and s hold the same bytes, or the same bytes up to
// ASCII case when fold is set.
func equal[T string | []byte](p, s T, fold bool) bool {
	if len(p) != len(s) {
		return false
	}
	if !fold {
		return string(p) == string(s)
	}
	for i := 0; i < len(p); i++ {
		if p[i] != s[i] && lower(p[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// lower folds an ASCII upper-case letter to lower case, as C's tolower does in
// the "C" locale, and returns any other byte unchanged.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
