package resp

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// strs turns arguments into strings for comparison and printing.
func strs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

// smallLimits keeps limit tests short.
var smallLimits = Limits{MaxBulkLen: 10, MaxMultibulkLen: 3, MaxInlineLen: 16}

func TestDefaultLimits(t *testing.T) {
	got := DefaultLimits()
	want := Limits{MaxBulkLen: 512 * 1024 * 1024, MaxMultibulkLen: 1024 * 1024, MaxInlineLen: 64 * 1024}
	if got != want {
		t.Errorf("DefaultLimits() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("DefaultLimits().Validate() = %v, want nil", err)
	}
}

func TestLimitsValidate(t *testing.T) {
	tests := []struct {
		name string
		lim  Limits
		want error
	}{
		{"default", DefaultLimits(), nil},
		{"small", smallLimits, nil},
		{"zero", Limits{}, ErrInvalidLimits},
		{"zero bulk", Limits{MaxMultibulkLen: 1, MaxInlineLen: 1}, ErrInvalidLimits},
		{"negative count", Limits{MaxBulkLen: 1, MaxMultibulkLen: -1, MaxInlineLen: 1}, ErrInvalidLimits},
		{"zero inline", Limits{MaxBulkLen: 1, MaxMultibulkLen: 1}, ErrInvalidLimits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.lim.Validate(); got != tt.want {
				t.Errorf("Validate() = %v, want %v", got, tt.want)
			}
		})
	}
}

// parseCase is one request and what ReadCommand makes of it.
type parseCase struct {
	name  string
	in    string
	lim   *Limits // nil for DefaultLimits
	want  []string
	wantN int // -1: len(in)
}

func (c parseCase) limits() Limits {
	if c.lim != nil {
		return *c.lim
	}
	return DefaultLimits()
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			wantN := tt.wantN
			if wantN < 0 {
				wantN = len(tt.in)
			}
			b := []byte(tt.in)
			args, n, err := ReadCommand(b, nil, tt.limits())
			if err != nil {
				t.Fatalf("ReadCommand(%q) error %v, want nil", tt.in, err)
			}
			if n != wantN {
				t.Errorf("ReadCommand(%q) n = %d, want %d", tt.in, n, wantN)
			}
			if got := strs(args); !slices.Equal(got, tt.want) {
				t.Errorf("ReadCommand(%q) args = %q, want %q", tt.in, got, tt.want)
			}
			if need := Need([]byte(tt.in), tt.limits()); need != 0 {
				t.Errorf("Need(%q) = %d, want 0", tt.in, need)
			}
		})
	}
}

func TestReadCommandMultibulk(t *testing.T) {
	bigLimits := Limits{MaxBulkLen: 5, MaxMultibulkLen: 2, MaxInlineLen: 4}
	runParseCases(t, []parseCase{
		{"ping", "*1\r\n$4\r\nPING\r\n", nil, []string{"PING"}, -1},
		{"set", "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", nil, []string{"SET", "key", "value"}, -1},
		{"followed by another", "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", nil, []string{"PING"}, 14},
		{"followed by a partial one", "*1\r\n$4\r\nPING\r\n*2\r\n$3", nil, []string{"PING"}, 14},
		{"empty bulk", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", nil, []string{"ECHO", ""}, -1},
		{"binary bulk", "*2\r\n$4\r\nECHO\r\n$8\r\na\x00\r\n\r\nb\xff\r\n", nil, []string{"ECHO", "a\x00\r\n\r\nb\xff"}, -1},
		{"bulk of line ends", "*1\r\n$4\r\n\r\n\r\n\r\n", nil, []string{"\r\n\r\n"}, -1},
		{"zero count", "*0\r\n", nil, []string{}, -1},
		{"zero count then ping", "*0\r\n*1\r\n$4\r\nPING\r\n", nil, []string{}, 4},
		{"negative count", "*-1\r\n", nil, []string{}, -1},
		{"very negative count", "*-99999\r\n", nil, []string{}, -1},
		{"lowest count", "*-9223372036854775808\r\n", nil, []string{}, -1},
		{"count header not ended by newline", "*1\rX$4\r\nPING\r\n", nil, []string{"PING"}, -1},
		{"bulk header not ended by newline", "*1\r\n$4\rXPING\r\n", nil, []string{"PING"}, -1},
		{"payload not ended by CRLF", "*1\r\n$4\r\nPINGXY", nil, []string{"PING"}, -1},
		{"payload not ended by CRLF then more", "*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n", nil, []string{"PING"}, 14},
		{"count at limit", "*2\r\n$1\r\na\r\n$1\r\nb\r\n", &bigLimits, []string{"a", "b"}, -1},
		{"bulk at limit", "*1\r\n$5\r\nabcde\r\n", &bigLimits, []string{"abcde"}, -1},
		{"headers at line limit", "*1\r\n$10\r\n0123456789\r\n", &Limits{MaxBulkLen: 10, MaxMultibulkLen: 1, MaxInlineLen: 3}, []string{"0123456789"}, -1},
	})
}

func TestReadCommandInline(t *testing.T) {
	runParseCases(t, []parseCase{
		{"ping crlf", "PING\r\n", nil, []string{"PING"}, -1},
		{"ping lf", "PING\n", nil, []string{"PING"}, -1},
		{"blanks around", " \t PING \t \r\n", nil, []string{"PING"}, -1},
		{"three args", "SET key value\r\n", nil, []string{"SET", "key", "value"}, -1},
		{"followed by another", "PING\r\nPING\r\n", nil, []string{"PING"}, 6},
		{"followed by a multibulk", "PING\r\n*1\r\n$4\r\nPING\r\n", nil, []string{"PING"}, 6},
		{"only first CR dropped", "PING\r\r\n", nil, []string{"PING"}, -1},
		{"CR inside separates", "ECHO a\rb\n", nil, []string{"ECHO", "a", "b"}, -1},
		{"tab separates", "ECHO\ta\n", nil, []string{"ECHO", "a"}, -1},
		{"vertical tab and form feed join", "ECHO a\vb\fc\n", nil, []string{"ECHO", "a\vb\fc"}, -1},
		{"vertical tab and form feed lead", "\v\fECHO\n", nil, []string{"ECHO"}, -1},
		{"empty crlf", "\r\n", nil, []string{}, -1},
		{"empty lf", "\n", nil, []string{}, -1},
		{"blank line", " \t \r\n", nil, []string{}, -1},
		{"blank line then ping", "\r\nPING\r\n", nil, []string{}, 2},
		{"double quotes", `SET "a key" "a value"` + "\r\n", nil, []string{"SET", "a key", "a value"}, -1},
		{"single quotes", `SET 'a key' 'a value'` + "\r\n", nil, []string{"SET", "a key", "a value"}, -1},
		{"empty double quotes", `ECHO ""` + "\r\n", nil, []string{"ECHO", ""}, -1},
		{"empty single quotes", `ECHO ''` + "\r\n", nil, []string{"ECHO", ""}, -1},
		{"escapes", `ECHO "\n\r\t\b\a\\\"\q"` + "\n", nil, []string{"ECHO", "\n\r\t\b\a\\\"q"}, -1},
		{"hex escapes", `ECHO "\x41\x62\xff\x00\xAb"` + "\n", nil, []string{"ECHO", "Ab\xff\x00\xab"}, -1},
		{"short hex escape", `ECHO "a\x4"` + "\n", nil, []string{"ECHO", "ax4"}, -1},
		{"bad hex escape", `ECHO "a\xZZ"` + "\n", nil, []string{"ECHO", "axZZ"}, -1},
		{"hex escape at end", `ECHO "a\x"` + "\n", nil, []string{"ECHO", "ax"}, -1},
		{"single quote escape", `ECHO 'a\'b'` + "\n", nil, []string{"ECHO", "a'b"}, -1},
		{"single quotes keep backslashes", `ECHO 'a\nb\\c'` + "\n", nil, []string{"ECHO", `a\nb\\c`}, -1},
		{"quotes inside unquoted", `ECHO x"y z"` + "\n", nil, []string{"ECHO", "xy z"}, -1},
		{"single quotes inside unquoted", `ECHO x'y z'` + "\n", nil, []string{"ECHO", "xy z"}, -1},
		{"quote then tab", "ECHO \"a\"\tb\n", nil, []string{"ECHO", "a", "b"}, -1},
		{"quote then vertical tab", "ECHO \"a\"\vb\n", nil, []string{"ECHO", "a", "b"}, -1},
		{"quote then CR", "ECHO \"a\"\r\r\n", nil, []string{"ECHO", "a"}, -1},
		{"quote at end crlf", "ECHO 'a'\r\n", nil, []string{"ECHO", "a"}, -1},
		{"NUL is data", "ECHO a\x00b \"\x00\"\n", nil, []string{"ECHO", "a\x00b", "\x00"}, -1},
		{"line at limit", strings.Repeat("x", 16) + "\n", &smallLimits, []string{strings.Repeat("x", 16)}, -1},
		{"line at limit with CR", strings.Repeat("x", 15) + "\r\n", &smallLimits, []string{strings.Repeat("x", 15)}, -1},
		{"default line limit", strings.Repeat("x", 64*1024) + "\n", nil, []string{strings.Repeat("x", 64*1024)}, -1},
	})
}

func TestReadCommandIncomplete(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
		need int
	}{
		{"empty", "", DefaultLimits(), 1},
		{"star", "*", DefaultLimits(), 2},
		{"count", "*1", DefaultLimits(), 3},
		{"count CR", "*1\r", DefaultLimits(), 4},
		{"count line", "*1\r\n", DefaultLimits(), 5},
		{"dollar", "*1\r\n$", DefaultLimits(), 6},
		{"length CR", "*1\r\n$4\r", DefaultLimits(), 8},
		{"length line", "*1\r\n$4\r\n", DefaultLimits(), 14},
		{"part of payload", "*1\r\n$4\r\nPI", DefaultLimits(), 14},
		{"payload", "*1\r\n$4\r\nPING", DefaultLimits(), 14},
		{"payload CR", "*1\r\n$4\r\nPING\r", DefaultLimits(), 14},
		{"second argument", "*2\r\n$4\r\nECHO\r\n$5\r\nhel", DefaultLimits(), 25},
		{"large bulk", "*2\r\n$3\r\nSET\r\n$100000\r\nabc", DefaultLimits(), 13 + 9 + 100000 + 2},
		{"largest bulk", "*1\r\n$9223372036854775807\r\n", Limits{MaxBulkLen: 1<<63 - 1, MaxMultibulkLen: 1, MaxInlineLen: 64}, 1<<63 - 1},
		{"no dollar yet", "*1\r\nx", DefaultLimits(), 6},
		{"NUL where dollar is expected", "*1\r\n\x00", DefaultLimits(), 6},
		{"count as long as allowed", "*" + strings.Repeat("0", 16-1), smallLimits, 17},
		{"count as long as allowed with CR", "*" + strings.Repeat("0", 16-1) + "\r", smallLimits, 18},
		{"bulk length as long as allowed", "*1\r\n$" + strings.Repeat("0", 16-1), smallLimits, 21},
		{"inline", "PING", DefaultLimits(), 5},
		{"inline CR", "PING\r", DefaultLimits(), 6},
		{"inline unbalanced without newline", `ECHO "a`, DefaultLimits(), 8},
		{"inline as long as allowed", strings.Repeat("x", 16), smallLimits, 17},
		{"inline default limit", strings.Repeat("x", 64*1024), DefaultLimits(), 64*1024 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			dst := make([][]byte, 1, 4)
			dst[0] = []byte("keep")
			args, n, err := ReadCommand(b, dst, tt.lim)
			if n != 0 || err != nil {
				t.Fatalf("ReadCommand(%q) = n %d, err %v, want 0, nil", tt.in, n, err)
			}
			if got := strs(args); !slices.Equal(got, []string{"keep"}) {
				t.Errorf("ReadCommand(%q) args = %q, want dst unchanged", tt.in, got)
			}
			if string(b) != tt.in {
				t.Errorf("ReadCommand(%q) rewrote b to %q", tt.in, b)
			}
			if got := Need(b, tt.lim); got != tt.need {
				t.Errorf("Need(%q) = %d, want %d", tt.in, got, tt.need)
			}
		})
	}
}

func TestReadCommandErrors(t *testing.T) {
	const (
		invalidMultibulk = "Protocol error: invalid multibulk length"
		invalidBulk      = "Protocol error: invalid bulk length"
		tooBigMbulk      = "Protocol error: too big mbulk count string"
		tooBigBulk       = "Protocol error: too big bulk count string"
		tooBigInline     = "Protocol error: too big inline request"
		unbalanced       = "Protocol error: unbalanced quotes in request"
	)
	expected := func(c string) string { return "Protocol error: expected '$', got '" + c + "'" }
	maxLine := strings.Repeat("0", 64*1024)
	tests := []struct {
		name     string
		in       string
		lim      Limits
		want     string
		sentinel error
	}{
		{"letters count", "*abc\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"empty count", "*\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"minus zero count", "*-0\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"lone minus count", "*-\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"leading zero count", "*01\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"plus count", "*+1\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"blank after count", "*1 \r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"blank before count", "* 1\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"NUL in count", "*1\x00\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count without CR", "*1\n$4\r\nPING\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count over limit", "*1048577\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count over small limit", "*4\r\n", smallLimits, invalidMultibulk, ErrInvalidMultibulkLength},
		{"count over int64", "*9223372036854775808\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count of 20 nines", "*99999999999999999999\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count of 21 digits", "*100000000000000000000\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count below int64", "*-9223372036854775809\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"count line too long", "*" + maxLine, DefaultLimits(), tooBigMbulk, ErrMultibulkCountTooBig},
		{"count line too long for small limit", "*" + strings.Repeat("1", 16), smallLimits, tooBigMbulk, ErrMultibulkCountTooBig},
		{"count line at limit but not a number", "*" + maxLine[1:] + "\r\n", DefaultLimits(), invalidMultibulk, ErrInvalidMultibulkLength},
		{"letter for dollar", "*1\r\nx\r\n", DefaultLimits(), expected("x"), ErrExpectedDollar},
		{"star for dollar", "*1\r\n*4\r\nPING\r\n", DefaultLimits(), expected("*"), ErrExpectedDollar},
		{"CR for dollar", "*1\r\n\r\n", DefaultLimits(), expected(" "), ErrExpectedDollar},
		{"LF for dollar", "*1\r\n\n\r\n", DefaultLimits(), expected(" "), ErrExpectedDollar},
		{"NUL for dollar", "*1\r\n\x00\r\n", DefaultLimits(), expected("\x00"), ErrExpectedDollar},
		{"high byte for dollar", "*1\r\n\xff\r\n", DefaultLimits(), expected("\xff"), ErrExpectedDollar},
		{"second argument without dollar", "*2\r\n$4\r\nECHO\r\n:1\r\n", DefaultLimits(), expected(":"), ErrExpectedDollar},
		{"empty bulk length", "*1\r\n$\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"negative bulk length", "*1\r\n$-1\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"minus zero bulk length", "*1\r\n$-0\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"leading zero bulk length", "*1\r\n$01\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"blank bulk length", "*1\r\n$ 1\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"letters bulk length", "*1\r\n$abc\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"bulk length without CR", "*1\r\n$4\nPING\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"bulk over limit", "*1\r\n$536870913\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"bulk over small limit", "*1\r\n$11\r\n", smallLimits, invalidBulk, ErrInvalidBulkLength},
		{"bulk over int64", "*1\r\n$9223372036854775808\r\n", Limits{MaxBulkLen: 1<<63 - 1, MaxMultibulkLen: 1, MaxInlineLen: 64}, invalidBulk, ErrInvalidBulkLength},
		{"bulk length line too long", "*1\r\n$" + maxLine, DefaultLimits(), tooBigBulk, ErrBulkCountTooBig},
		{"bulk length line too long for small limit", "*1\r\n$" + strings.Repeat("1", 16), smallLimits, tooBigBulk, ErrBulkCountTooBig},
		{"bulk length over a tiny limit", "*1\r\n$10\r\n0123456789\r\n", Limits{MaxBulkLen: 10, MaxMultibulkLen: 1, MaxInlineLen: 2}, tooBigBulk, ErrBulkCountTooBig},
		{"negative line limit", "*1\r\n", Limits{MaxBulkLen: 1, MaxMultibulkLen: 1, MaxInlineLen: -1}, tooBigMbulk, ErrMultibulkCountTooBig},
		{"garbage line too long", "*1\r\n" + strings.Repeat("x", 17), smallLimits, tooBigBulk, ErrBulkCountTooBig},
		{"bulk length line at limit but not a number", "*1\r\n$" + maxLine[1:] + "\r\n", DefaultLimits(), invalidBulk, ErrInvalidBulkLength},
		{"inline too long", maxLine + "x", DefaultLimits(), tooBigInline, ErrInlineTooBig},
		{"inline too long with newline", maxLine + "x\n", DefaultLimits(), tooBigInline, ErrInlineTooBig},
		{"inline too long for small limit", strings.Repeat("x", 17), smallLimits, tooBigInline, ErrInlineTooBig},
		{"inline too long for small limit with CRLF", strings.Repeat("x", 16) + "\r\n", smallLimits, tooBigInline, ErrInlineTooBig},
		{"unterminated double quote", "ECHO \"a\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"unterminated single quote", "ECHO 'a\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"double quote then letter", "ECHO \"a\"b\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"single quote then letter", "ECHO 'a'b\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"single then double quote", "ECHO 'a'\"b\"\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"escaped closing double quote", "ECHO \"a\\\"\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"escaped closing single quote", "ECHO 'a\\'\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"backslash at end of quote", "ECHO \"a\\\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"quote opened inside unquoted", "ECHO a\"b\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"quoted newline ends line", "ECHO \"a\nb\"\r\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
		{"quote then NUL", "ECHO \"a\"\x00\n", DefaultLimits(), unbalanced, ErrUnbalancedQuotes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([][]byte, 1, 4)
			dst[0] = []byte("keep")
			args, n, err := ReadCommand([]byte(tt.in), dst, tt.lim)
			if err == nil {
				t.Fatalf("ReadCommand(%q) = args %q, n %d, want error %q", tt.in, strs(args), n, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error text: got %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v): got false, want true", err, tt.sentinel)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Errorf("error type: got %T, want *ProtocolError", err)
			}
			if n != 0 {
				t.Errorf("n: got %d, want 0", n)
			}
			if got := strs(args); !slices.Equal(got, []string{"keep"}) {
				t.Errorf("args: got %q, want dst unchanged", got)
			}
			if got := Need([]byte(tt.in), tt.lim); got != 0 {
				t.Errorf("Need(%q): got %d, want 0", tt.in, got)
			}
		})
	}
}

func TestProtocolErrorText(t *testing.T) {
	for c := 0; c < 256; c++ {
		if c == '$' {
			continue
		}
		in := "*1\r\n" + string([]byte{byte(c)}) + "\r\n"
		_, _, err := ReadCommand([]byte(in), nil, DefaultLimits())
		want := "Protocol error: expected '$', got '" + string([]byte{byte(c)}) + "'"
		if c == '\r' || c == '\n' {
			want = "Protocol error: expected '$', got ' '"
		}
		if err == nil || err.Error() != want {
			t.Errorf("ReadCommand(%q) error: got %v, want %q", in, err, want)
		}
	}
}

func TestReadCommandAliasing(t *testing.T) {
	within := func(arg, b []byte) bool {
		if len(arg) == 0 {
			return true
		}
		p, start := uintptr(unsafe.Pointer(unsafe.SliceData(arg))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= start && p+uintptr(len(arg)) <= start+uintptr(len(b))
	}
	tests := []struct {
		name string
		in   string
	}{
		{"multibulk", "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nrest"},
		{"inline", "SET \"a\\x41\" 'b\\'c' d\r\nrest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			args, n, err := ReadCommand(b, nil, DefaultLimits())
			if err != nil || n == 0 {
				t.Fatalf("ReadCommand(%q) = n %d, err %v, want a command", tt.in, n, err)
			}
			for i, a := range args {
				if !within(a, b[:n]) {
					t.Errorf("args[%d] = %q: got a copy, want a sub-slice of b[:n]", i, a)
				}
				if cap(a) != len(a) {
					t.Errorf("cap(args[%d]): got %d, want %d", i, cap(a), len(a))
				}
			}
			if got := string(b[n:]); got != "rest" {
				t.Errorf("bytes after the request: got %q, want %q", got, "rest")
			}
			// Appending to an argument must not write into b.
			before := string(b)
			_ = append(args[0], "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
			if string(b) != before {
				t.Errorf("appending to args[0] changed b to %q", b)
			}
		})
	}
}

func TestReadCommandAppendsToDst(t *testing.T) {
	dst := [][]byte{[]byte("a"), []byte("b")}
	args, n, err := ReadCommand([]byte("*1\r\n$1\r\nc\r\n"), dst, DefaultLimits())
	if err != nil || n != 11 {
		t.Fatalf("ReadCommand = n %d, err %v, want 11, nil", n, err)
	}
	if got, want := strs(args), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("args: got %q, want %q", got, want)
	}
	args, n, err = ReadCommand([]byte("x y\n"), args[:1], DefaultLimits())
	if err != nil || n != 4 {
		t.Fatalf("ReadCommand = n %d, err %v, want 4, nil", n, err)
	}
	if got, want := strs(args), []string{"a", "x", "y"}; !slices.Equal(got, want) {
		t.Errorf("args: got %q, want %q", got, want)
	}
}

// request is one request of a test pipeline and the arguments it carries.
type request struct {
	raw  string
	args []string
}

// mixedPipeline holds every kind of request, including empty ones.
var mixedPipeline = []request{
	{"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", []string{"SET", "key", "value"}},
	{"PING\r\n", []string{"PING"}},
	{"*0\r\n", []string{}},
	{"*2\r\n$4\r\nECHO\r\n$6\r\n\r\n\x00\r\n\n\r\n", []string{"ECHO", "\r\n\x00\r\n\n"}},
	{"\r\n", []string{}},
	{"SET \"a b\" 'c\\'d' \"\\x00\\n\"\n", []string{"SET", "a b", "c'd", "\x00\n"}},
	{"*-1\r\n", []string{}},
	{"*1\r\n$0\r\n\r\n", []string{""}},
	{"*2\r\n$3\r\nGET\r\n$10\r\n0123456789\r\n", []string{"GET", "0123456789"}},
	{"ECHO x\n", []string{"ECHO", "x"}},
}

// readAll parses every whole request at the start of b, then returns the
// requests and the unparsed rest.
func readAll(t *testing.T, b []byte, lim Limits) ([][]string, []byte) {
	t.Helper()
	var got [][]string
	var args [][]byte
	for {
		var n int
		var err error
		args, n, err = ReadCommand(b, args[:0], lim)
		if err != nil {
			t.Fatalf("ReadCommand(%q): %v", b, err)
		}
		if n == 0 {
			return got, b
		}
		got = append(got, strs(args))
		b = b[n:]
	}
}

func TestReadCommandEverySplit(t *testing.T) {
	var full string
	var ends []int
	for _, r := range mixedPipeline {
		full += r.raw
		ends = append(ends, len(full))
	}
	for i := 0; i <= len(full); i++ {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			got, rest := readAll(t, []byte(full[:i]), DefaultLimits())
			var want [][]string
			start := 0
			for k, end := range ends {
				if end <= i {
					want = append(want, mixedPipeline[k].args)
					start = end
				}
			}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("requests in %q: got %q, want %q", full[:i], got, want)
			}
			if len(rest) != i-start {
				t.Fatalf("unparsed rest: got %d bytes, want %d", len(rest), i-start)
			}
			if len(rest) == 0 {
				return
			}
			// Need is a lower bound that lies beyond what is there.
			need := Need(rest, DefaultLimits())
			next := ends[len(want)] - start
			if need <= len(rest) || need > next {
				t.Errorf("Need(%q): got %d, want in (%d, %d]", rest, need, len(rest), next)
			}
		})
	}
}

func TestReadCommandLongPipeline(t *testing.T) {
	const count = 1000
	var b []byte
	for i := range count {
		key := "key:" + strconv.Itoa(i)
		if i%10 == 9 {
			b = append(b, "SET "+key+" v\r\n"...)
			continue
		}
		b = append(b, "*3\r\n$3\r\nSET\r\n$"+strconv.Itoa(len(key))+"\r\n"+key+"\r\n$1\r\nv\r\n"...)
	}
	got, rest := readAll(t, b, DefaultLimits())
	if len(rest) != 0 {
		t.Errorf("unparsed rest: got %q, want none", rest)
	}
	if len(got) != count {
		t.Fatalf("requests: got %d, want %d", len(got), count)
	}
	for i, args := range got {
		want := []string{"SET", "key:" + strconv.Itoa(i), "v"}
		if !slices.Equal(args, want) {
			t.Fatalf("request %d: got %q, want %q", i, args, want)
		}
	}
}

func TestReadCommandBinarySafe(t *testing.T) {
	// Every byte value, and every line ending, inside bulks.
	payload := make([]byte, 0, 256+8)
	for c := range 256 {
		payload = append(payload, byte(c))
	}
	payload = append(payload, "\r\n\n\r\r\n$*"...)
	var w Writer
	w.AppendArray(3)
	w.AppendBulkString("SET")
	w.AppendBulk(payload)
	w.AppendBulk(payload[:0])
	args, n, err := ReadCommand(w.Bytes(), nil, DefaultLimits())
	if err != nil || n != w.Len() {
		t.Fatalf("ReadCommand = n %d, err %v, want %d, nil", n, err, w.Len())
	}
	if len(args) != 3 || string(args[1]) != string(payload) || len(args[2]) != 0 {
		t.Errorf("args: got %q, want [SET %q \"\"]", strs(args), payload)
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"-7", -7, true},
		{"1234567890", 1234567890, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551615", 0, false},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"-0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1a", 0, false},
		{"1.5", 0, false},
		{"--1", 0, false},
		{"1.0", 0, false},
		{"000000000000000000001", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseInt([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseInt(%q): got %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
	// Every canonical decimal of an int64 round-trips.
	for _, n := range []int64{math.MaxInt64, math.MinInt64, 1 << 62, -(1 << 62), 10, -10, 1234567890123} {
		s := strconv.FormatInt(n, 10)
		if got, ok := ParseInt([]byte(s)); !ok || got != n {
			t.Errorf("ParseInt(%q): got %d, %v", s, got, ok)
		}
	}
}

func TestReadCommandNoAllocs(t *testing.T) {
	set := []byte("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
	var pipeline []byte
	for range 16 {
		pipeline = append(pipeline, set...)
	}
	inline := []byte("SET \"a key\" 'a value' plain\r\n")
	work := make([]byte, len(inline))
	lim := DefaultLimits()
	dst := make([][]byte, 0, 8)
	tests := []struct {
		name string
		run  func()
	}{
		{"set", func() { dst, _, _ = ReadCommand(set, dst[:0], lim) }},
		{"pipeline", func() {
			for b := pipeline; len(b) > 0; {
				var n int
				dst, n, _ = ReadCommand(b, dst[:0], lim)
				b = b[n:]
			}
		}},
		{"partial", func() { dst, _, _ = ReadCommand(set[:len(set)-3], dst[:0], lim) }},
		{"inline", func() {
			copy(work, inline)
			dst, _, _ = ReadCommand(work, dst[:0], lim)
		}},
		{"need", func() { _ = Need(set[:len(set)-3], lim) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.run); got != 0 {
				t.Errorf("allocations per run: got %v, want 0", got)
			}
		})
	}
}

func TestReadCommandUnauthenticated(t *testing.T) {
	unauth := DefaultLimits()
	unauth.Unauthenticated = true
	small := smallLimits
	small.Unauthenticated = true
	bulk := func(n int) string { return "*1\r\n$" + strconv.Itoa(n) + "\r\n" + strings.Repeat("x", n) + "\r\n" }
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error // nil: a whole request
	}{
		{"ten arguments", "*10\r\n" + strings.Repeat("$1\r\na\r\n", 10), unauth, nil},
		{"eleven arguments", "*11\r\n", unauth, ErrUnauthMultibulkLength},
		{"huge count", "*1000000\r\n", unauth, ErrUnauthMultibulkLength},
		{"count over the main limit first", "*1048577\r\n", unauth, ErrInvalidMultibulkLength},
		{"count over a smaller main limit", "*4\r\n", small, ErrInvalidMultibulkLength},
		{"negative count", "*-5\r\n", unauth, nil},
		{"bulk at limit", bulk(16384), unauth, nil},
		{"bulk over limit", "*1\r\n$16385\r\n", unauth, ErrUnauthBulkLength},
		{"bulk over the main limit first", "*1\r\n$536870913\r\n", unauth, ErrInvalidBulkLength},
		{"negative bulk", "*1\r\n$-1\r\n", unauth, ErrInvalidBulkLength},
		{"inline is not limited further", strings.Repeat("x ", 20) + "\r\n", unauth, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := ReadCommand([]byte(tt.in), nil, tt.lim)
			if tt.want == nil {
				if err != nil || n != len(tt.in) {
					t.Fatalf("ReadCommand: got n %d, err %v; want %d, nil", n, err, len(tt.in))
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadCommand error: got %v, want %v", err, tt.want)
			}
			if need := Need([]byte(tt.in), tt.lim); need != 0 {
				t.Errorf("Need: got %d, want 0", need)
			}
		})
	}
	for _, e := range []struct {
		err  error
		text string
	}{
		{ErrUnauthMultibulkLength, "Protocol error: unauthenticated multibulk length"},
		{ErrUnauthBulkLength, "Protocol error: unauthenticated bulk length"},
	} {
		if got := (&ProtocolError{Err: e.err}).Error(); got != e.text {
			t.Errorf("error text: got %q, want %q", got, e.text)
		}
	}
}
