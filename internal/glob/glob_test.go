package glob

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// refMatch is an independent transcription of Redis 7's stringmatchlen into
// Go, kept recursive and structured like the C so that the two can be read
// side by side. It backtracks exponentially on some patterns and is meant for
// short inputs only. Like the C, it treats the byte just past the end of the
// pattern as a NUL. It leaves out Redis's nesting limit and its pruning of
// longer star matches; neither changes a result on inputs this short.
func refMatch(p, s []byte, fold bool) bool {
	return refMatchAt(p, 0, s, 0, fold)
}

func refMatchAt(p []byte, pi int, s []byte, si int, fold bool) bool {
	at := func(i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	tolower := func(c byte) byte {
		if c >= 'A' && c <= 'Z' {
			return c - 'A' + 'a'
		}
		return c
	}
	for pi < len(p) && si < len(s) {
		switch p[pi] {
		case '*':
			for pi < len(p) && at(pi+1) == '*' {
				pi++
			}
			if len(p)-pi == 1 {
				return true
			}
			for si < len(s) {
				if refMatchAt(p, pi+1, s, si, fold) {
					return true
				}
				si++
			}
			return false
		case '?':
			si++
		case '[':
			pi++
			not := at(pi) == '^'
			if not {
				pi++
			}
			matched := false
			for {
				if at(pi) == '\\' && len(p)-pi >= 2 {
					pi++
					if p[pi] == s[si] {
						matched = true
					}
				} else if at(pi) == ']' {
					break
				} else if len(p)-pi == 0 {
					pi--
					break
				} else if len(p)-pi >= 3 && p[pi+1] == '-' {
					start, end, c := int(p[pi]), int(p[pi+2]), int(s[si])
					if start > end {
						start, end = end, start
					}
					if fold {
						start = int(tolower(byte(start)))
						end = int(tolower(byte(end)))
						c = int(tolower(byte(c)))
					}
					pi += 2
					if c >= start && c <= end {
						matched = true
					}
				} else if !fold {
					if p[pi] == s[si] {
						matched = true
					}
				} else if tolower(p[pi]) == tolower(s[si]) {
					matched = true
				}
				pi++
			}
			if not {
				matched = !matched
			}
			if !matched {
				return false
			}
			si++
		case '\\':
			if len(p)-pi >= 2 {
				pi++
			}
			fallthrough
		default:
			if !fold {
				if p[pi] != s[si] {
					return false
				}
			} else if tolower(p[pi]) != tolower(s[si]) {
				return false
			}
			si++
		}
		pi++
		if si == len(s) {
			for at(pi) == '*' {
				pi++
			}
			break
		}
	}
	return pi == len(p) && si == len(s)
}

// asciiLower returns a copy of b with ASCII upper-case letters folded.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lower(c)
	}
	return out
}

// quote returns a pattern that matches exactly s, every byte escaped.
func quote(s []byte) []byte {
	out := make([]byte, 0, 2*len(s))
	for _, c := range s {
		out = append(out, '\\', c)
	}
	return out
}

// checkAll compares every entry point with the reference on one input.
func checkAll(t *testing.T, p, s []byte) {
	t.Helper()
	want := refMatch(p, s, false)
	if got := Match(p, s); got != want {
		t.Errorf("Match(%q, %q): got %v, want %v", p, s, got, want)
	}
	if got := MatchString(string(p), string(s)); got != want {
		t.Errorf("MatchString(%q, %q): got %v, want %v", p, s, got, want)
	}
	wantFold := refMatch(p, s, true)
	if got := MatchFold(p, s); got != wantFold {
		t.Errorf("MatchFold(%q, %q): got %v, want %v", p, s, got, wantFold)
	}
	if got := MatchFoldString(string(p), string(s)); got != wantFold {
		t.Errorf("MatchFoldString(%q, %q): got %v, want %v", p, s, got, wantFold)
	}
	if bytes.IndexByte(p, '[') < 0 {
		if lowered := Match(asciiLower(p), asciiLower(s)); wantFold != lowered {
			t.Errorf("MatchFold(%q, %q) = %v but Match of the lower-cased pair = %v",
				p, s, wantFold, lowered)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want, fold bool
	}{
		// Empty pattern and empty subject.
		{"", "", true, true},
		{"", "a", false, false},
		{"a", "", false, false},
		{"*", "", false, false},
		{"**", "", false, false},
		{"?", "", false, false},
		{"[^]", "", false, false},
		{"\\", "", false, false},

		// Literals.
		{"hello", "hello", true, true},
		{"hello", "Hello", false, true},
		{"HeLLo", "hEllO", false, true},
		{"hello", "hell", false, false},
		{"hello", "helloo", false, false},
		{"user:1000", "user:1000", true, true},
		{"a\x00b", "a\x00b", true, true},
		{"a\x00b", "a\x00c", false, false},

		// Question marks.
		{"h?llo", "hello", true, true},
		{"h?llo", "hallo", true, true},
		{"h?llo", "hllo", false, false},
		{"h?llo", "heello", false, false},
		{"???", "abc", true, true},
		{"???", "ab", false, false},
		{"???", "abcd", false, false},

		// Stars.
		{"*", "a", true, true},
		{"*", "anything at all", true, true},
		{"**", "a", true, true},
		{"***a***", "a", true, true},
		{"a*", "a", true, true},
		{"*a", "a", true, true},
		{"*a*", "a", true, true},
		{"*a", "ba", true, true},
		{"*a", "ab", false, false},
		{"a*b", "ab", true, true},
		{"h*llo", "hllo", true, true},
		{"h*llo", "heeeello", true, true},
		{"h*llo", "hello world", false, false},
		{"*llo", "hello", true, true},
		{"he*", "hello", true, true},
		{"*ell*", "hello", true, true},
		{"*ELL*", "hello", false, true},
		{"*x*", "hello", false, false},
		{"a*b*c", "abc", true, true},
		{"a*b*c", "aXbYc", true, true},
		{"a*b*c", "acb", false, false},
		{"a*b*c", "abcbc", true, true},
		{"a*b*c", "abcb", false, false},
		{"user:*", "user:1000", true, true},
		{"user:*", "user:", true, true},
		{"user:*", "user", false, false},
		{"*:*:*", "a:b:c", true, true},
		{"*:*:*", "a:b", false, false},
		{"*a*b*c*d*", "xaxbxcxdx", true, true},
		{"*a*b*c*d*", "dcba", false, false},
		{"*?", "a", true, true},
		{"*?", "", false, false},
		{"?*?", "a", false, false},
		{"?*?", "ab", true, true},
		{"*\x00", "x\x00", true, true},

		// Classes.
		{"h[ae]llo", "hello", true, true},
		{"h[ae]llo", "hallo", true, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[ae]llo", "hEllo", false, true},
		{"h[ae]llo", "hllo", false, false},
		{"[abc]", "ab", false, false},
		{"[[]", "[", true, true},
		{"[*]", "*", true, true},
		{"[*]", "a", false, false},
		{"[?]", "?", true, true},
		{"[?]", "a", false, false},
		{"[0-9][0-9]", "42", true, true},
		{"[0-9][0-9]", "4x", false, false},
		{"*[0-9]", "abc7", true, true},
		{"*[0-9]", "abc", false, false},

		// Negated classes.
		{"h[^e]llo", "hallo", true, true},
		{"h[^e]llo", "hello", false, false},
		{"h[^e]llo", "hEllo", true, false},
		{"x[^a-c]y", "xdy", true, true},
		{"x[^a-c]y", "xby", false, false},
		{"[^a-z]", "A", true, false},
		{"[^a-z]", "5", true, true},
		{"[^\\]]", "]", false, false},
		{"[^\\]]", "a", true, true},

		// Ranges, in either order.
		{"h[a-b]llo", "hbllo", true, true},
		{"h[a-b]llo", "hcllo", false, false},
		{"[a-z]", "a", true, true},
		{"[a-z]", "m", true, true},
		{"[a-z]", "z", true, true},
		{"[a-z]", "M", false, true},
		{"[a-z]", "{", false, false},
		{"[z-a]", "m", true, true},
		{"[z-a]", "M", false, true},
		{"[A-Z]", "m", false, true},
		{"[a-c-e]", "b", true, true},
		{"[a-c-e]", "-", true, true},
		{"[a-c-e]", "d", false, false},
		{"[a-c-e]", "e", true, true},
		{"[-a]", "-", true, true},
		{"[-a]", "a", true, true},
		{"[-a]", "b", false, false},
		// Ranges are ordered before folding: 'Z'-'a' folds to 'z'-'a'.
		{"[Z-a]", "_", true, false},
		{"[Z-a]", "Z", true, false},
		{"[Z-a]", "m", false, false},
		{"[a-Z]", "_", true, false},
		// An escape cannot start a range, but anything can end one.
		{"[\\a-z]", "a", true, true},
		{"[\\a-z]", "-", true, true},
		{"[\\a-z]", "z", true, true},
		{"[\\a-z]", "m", false, false},
		{"[a-\\]", "^", true, true},
		{"[a-\\]", "\\", true, true},
		{"[a-\\]", "b", false, false},

		// Escapes inside classes; under folding they still match exactly.
		{"[\\A]", "A", true, true},
		{"[\\A]", "a", false, false},
		{"[\\]]", "]", true, true},
		{"[\\]]", "\\", false, false},
		{"[\\\\]", "\\", true, true},
		{"[\\\\]", "]", false, false},
		{"[\\*]", "*", true, true},
		{"[\\", "\\", true, true},

		// Classes without a closing bracket run to the end of the pattern.
		{"[", "", false, false},
		{"[", "a", false, false},
		{"[", "[", false, false},
		{"*[", "a[", false, false},
		{"[abc", "b", true, true},
		{"[abc", "d", false, false},
		{"[abc", "bc", false, false},
		{"[^", "x", true, true},
		{"[^", "", false, false},
		{"[^", "xy", false, false},
		{"*[^", "ab", true, true},
		{"[a-", "a", true, true},
		{"[a-", "-", true, true},
		{"[a-", "b", false, false},
		{"[\\]", "]", true, true},
		{"[\\]x", "x", true, true},
		{"[\\]x", "]x", false, false},
		// "[a-]" is the range ']'-'a', and the class stays open.
		{"[a-]", "]", true, true},
		{"[a-]", "^", true, true},
		{"[a-]", "a", true, true},
		{"[a-]", "-", false, false},
		{"[a-]", "b", false, false},
		{"[a-]b", "b", true, true},
		{"[a-]b", "ab", false, false},

		// Empty classes.
		{"[]", "]", false, false},
		{"[]", "a", false, false},
		{"[]a]", "a]", false, false},
		{"[^]", "x", true, true},
		{"[^]", "]", true, true},
		{"[^]", "xy", false, false},
		{"[^]*", "xy", true, true},

		// Escapes outside classes.
		{"\\*", "*", true, true},
		{"\\*", "a", false, false},
		{"\\*", "", false, false},
		{"\\?", "?", true, true},
		{"\\?", "a", false, false},
		{"\\[", "[", true, true},
		{"\\[a]", "[a]", true, true},
		{"\\\\", "\\", true, true},
		{"\\\\", "\\\\", false, false},
		{"\\a", "a", true, true},
		{"\\A", "a", false, true},
		{"*\\*", "abc*", true, true},
		{"*\\*", "abc", false, false},
		{"\\*\\*", "**", true, true},
		{"h\\*llo", "h*llo", true, true},
		{"h\\*llo", "hello", false, false},
		// A trailing backslash matches a backslash.
		{"\\", "\\", true, true},
		{"\\", "a", false, false},
		{"a\\", "a\\", true, true},
		{"a\\", "a", false, false},
		{"*\\", "ab\\", true, true},

		// Bytes, not runes, and only ASCII folds.
		{"\xff", "\xff", true, true},
		{"[\x80-\xff]", "\x90", true, true},
		{"[\x80-\xff]", "\x7f", false, false},
		{"[a-\xff]", "\xe9", true, true},
		{"caf\xc3\xa9", "caf\xc3\xa9", true, true},
		{"caf?", "caf\xc3\xa9", false, false},
		{"caf??", "caf\xc3\xa9", true, true},
		{"\xc9", "\xe9", false, false},

		// Many stars.
		{"a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaa", false, false},
		{"a*a*a*a*a*a*a*a*a*a*a", "aaaaaaaaaaaaaaaa", true, true},
		{"*a*a*a*a*a*a*a*a*a*a*", "aaaaaaaaa", false, false},
		{"*a*a*a*a*a*a*a*a*a*a*", "aaaaaaaaaa", true, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%q", tt.pattern, tt.s), func(t *testing.T) {
			p, s := []byte(tt.pattern), []byte(tt.s)
			if got := Match(p, s); got != tt.want {
				t.Errorf("Match: got %v, want %v", got, tt.want)
			}
			if got := MatchString(tt.pattern, tt.s); got != tt.want {
				t.Errorf("MatchString: got %v, want %v", got, tt.want)
			}
			if got := MatchFold(p, s); got != tt.fold {
				t.Errorf("MatchFold: got %v, want %v", got, tt.fold)
			}
			if got := MatchFoldString(tt.pattern, tt.s); got != tt.fold {
				t.Errorf("MatchFoldString: got %v, want %v", got, tt.fold)
			}
			if got := refMatch(p, s, false); got != tt.want {
				t.Errorf("reference: got %v, want %v", got, tt.want)
			}
			if got := refMatch(p, s, true); got != tt.fold {
				t.Errorf("reference, folded: got %v, want %v", got, tt.fold)
			}
		})
	}
}

// TestMatchExhaustive compares the matcher with the reference on every
// pattern and subject up to a small length over alphabets chosen to exercise
// every piece of syntax.
func TestMatchExhaustive(t *testing.T) {
	tests := []struct {
		name                       string
		patternAlphabet, sAlphabet string
		patternLen, sLen           int
	}{
		{"syntax", "aB*?[]^-\\", "aAb]-", 4, 3},
		{"ranges", "aZz-[]\\^", "azZ_-m", 5, 1},
		{"stars", "a*?b", "ab", 6, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() {
				tt.patternLen--
			}
			patterns := all(tt.patternAlphabet, tt.patternLen)
			subjects := all(tt.sAlphabet, tt.sLen)
			for _, p := range patterns {
				for _, s := range subjects {
					checkAll(t, p, s)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

// all returns every string over alphabet of length at most n.
func all(alphabet string, n int) [][]byte {
	out := [][]byte{{}}
	level := [][]byte{{}}
	for range n {
		var next [][]byte
		for _, prefix := range level {
			for i := 0; i < len(alphabet); i++ {
				b := append(append([]byte(nil), prefix...), alphabet[i])
				next = append(next, b)
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// TestQuoted checks that escaping every byte of a subject gives a pattern that
// matches it and nothing else.
func TestQuoted(t *testing.T) {
	subjects := []string{"a", "*", "?", "[", "]", "\\", "[a-z]*", "h\\*llo", "\x00\xff", "Key:1"}
	for _, s := range subjects {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			p := quote([]byte(s))
			if got := Match(p, []byte(s)); !got {
				t.Errorf("Match(%q, %q): got false, want true", p, s)
			}
			other := []byte(s + "x")
			if got := Match(p, other); got {
				t.Errorf("Match(%q, %q): got true, want false", p, other)
			}
		})
	}
}

// TestPathological runs patterns that make a backtracking matcher take
// exponential time or recursion depth. Only the results are checked; a slow
// matcher shows up as a test timeout.
func TestPathological(t *testing.T) {
	tests := []struct {
		name       string
		pattern, s string
		want       bool
	}{
		{"a* 1000 times then b", strings.Repeat("a*", 1000) + "b", strings.Repeat("a", 10000), false},
		{"a* 1000 times then a", strings.Repeat("a*", 1000) + "a", strings.Repeat("a", 10000), true},
		{"*a 2000 times", strings.Repeat("*a", 2000), strings.Repeat("a", 2000), true},
		{"*a 2001 times", strings.Repeat("*a", 2001), strings.Repeat("a", 2000), false},
		{"100000 stars", strings.Repeat("*", 100000) + "b", strings.Repeat("a", 100000) + "b", true},
		{"? and * interleaved", strings.Repeat("?*", 500) + "b", strings.Repeat("a", 5000), false},
		{"classes and stars", strings.Repeat("[a-z]*", 500) + "[0-9]", strings.Repeat("q", 5000), false},
		{"long class after star", "*" + "[" + strings.Repeat("x", 1000) + "a]", strings.Repeat("b", 2000), false},
		{"long unclosed class", "[" + strings.Repeat("\\", 100001), "\\", true},
		{"escapes and stars", strings.Repeat("\\a*", 1000) + "\\b", strings.Repeat("a", 10000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := []byte(tt.pattern), []byte(tt.s)
			if got := Match(p, s); got != tt.want {
				t.Errorf("Match: got %v, want %v", got, tt.want)
			}
			if got := MatchFold(p, bytes.ToUpper(s)); got != tt.want {
				t.Errorf("MatchFold against the upper-cased subject: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	p, s := []byte("user:[0-9]*:na?e"), []byte("user:42:name")
	ps, ss := string(p), string(s)
	allocs := testing.AllocsPerRun(100, func() {
		Match(p, s)
		MatchFold(p, s)
		MatchString(ps, ss)
		MatchFoldString(ps, ss)
		Match([]byte("literal"), []byte("literal"))
		MatchString("literal", "literal")
	})
	if allocs != 0 {
		t.Errorf("allocations per run: got %v, want 0", allocs)
	}
}

// FuzzMatch compares the matcher with the reference on short inputs, and
// checks on inputs of any length that it agrees with itself across entry
// points, that folding works as defined, and that a quoted subject matches.
func FuzzMatch(f *testing.F) {
	seeds := []struct{ pattern, s string }{
		{"", ""},
		{"*", ""},
		{"h?llo", "hello"},
		{"h[^e]llo", "hallo"},
		{"[a-]b", "b"},
		{"[\\]x", "]"},
		{"[Z-a]", "_"},
		{"a*a*a*a*b", "aaaaaaaa"},
		{"\\", "\\"},
	}
	for _, sd := range seeds {
		f.Add([]byte(sd.pattern), []byte(sd.s))
	}
	f.Fuzz(func(t *testing.T, p, s []byte) {
		got := Match(p, s)
		if len(p) <= 16 && len(s) <= 16 {
			if want := refMatch(p, s, false); got != want {
				t.Fatalf("Match(%q, %q): got %v, want %v", p, s, got, want)
			}
			if got, want := MatchFold(p, s), refMatch(p, s, true); got != want {
				t.Fatalf("MatchFold(%q, %q): got %v, want %v", p, s, got, want)
			}
		}
		if got2 := MatchString(string(p), string(s)); got2 != got {
			t.Fatalf("MatchString(%q, %q): got %v, want %v", p, s, got2, got)
		}
		fold := MatchFold(p, s)
		if got2 := MatchFoldString(string(p), string(s)); got2 != fold {
			t.Fatalf("MatchFoldString(%q, %q): got %v, want %v", p, s, got2, fold)
		}
		// Folding can take matches away only through ranges such as [Z-a].
		if bytes.IndexByte(p, '[') < 0 {
			if got && !fold {
				t.Fatalf("Match(%q, %q) is true but MatchFold is false", p, s)
			}
			if want := Match(asciiLower(p), asciiLower(s)); fold != want {
				t.Fatalf("MatchFold(%q, %q): got %v, want %v as for the lower-cased pair", p, s, fold, want)
			}
		}
		if q := quote(s); !Match(q, s) {
			t.Fatalf("Match(%q, %q): got false, want true", q, s)
		}
	})
}

func BenchmarkLiteral(b *testing.B) {
	benchmarkMatch(b, "user:1000:profile", "user:1000:profile")
}

func BenchmarkLiteralMismatch(b *testing.B) {
	benchmarkMatch(b, "user:1000:profile", "user:1000:profilf")
}

func BenchmarkPrefix(b *testing.B) {
	benchmarkMatch(b, "user:*", "user:1000:profile")
}

func BenchmarkSuffix(b *testing.B) {
	benchmarkMatch(b, "*:profile", "user:1000:profile")
}

func BenchmarkClass(b *testing.B) {
	benchmarkMatch(b, "user:[0-9][0-9][0-9][0-9]:[a-z]*", "user:1000:profile")
}

func BenchmarkPathological(b *testing.B) {
	benchmarkMatch(b, strings.Repeat("a*", 100)+"b", strings.Repeat("a", 1000))
}

func BenchmarkPathologicalWorstCase(b *testing.B) {
	benchmarkMatch(b, "*"+strings.Repeat("a", 100)+"b", strings.Repeat("a", 1000))
}

func benchmarkMatch(b *testing.B, pattern, s string) {
	p, sb := []byte(pattern), []byte(s)
	b.Run("Match", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sb)))
		for b.Loop() {
			Match(p, sb)
		}
	})
	b.Run("MatchFold", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(sb)))
		for b.Loop() {
			MatchFold(p, sb)
		}
	})
}
