package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readers wrap a reply stream the ways a network hands it over: whole, a
// byte at a time, half of each read, and with the last data returned along
// with io.EOF.
var readers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one-byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data-err", iotest.DataErrReader},
}

func TestRESPReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		typ  byte
		null bool
		err  string // the error text of an error reply
		code string
	}{
		{"simple", "+OK\r\n", '+', false, "", ""},
		{"error", "-BUSY server is busy, try again later\r\n", '-', false, "BUSY server is busy, try again later", "BUSY"},
		{"error without text", "-ERR\r\n", '-', false, "ERR", "ERR"},
		{"integer", ":1000\r\n", ':', false, "", ""},
		{"negative integer", ":-5\r\n", ':', false, "", ""},
		{"bulk", "$5\r\nhello\r\n", '$', false, "", ""},
		{"empty bulk", "$0\r\n\r\n", '$', false, "", ""},
		{"binary bulk", "$4\r\na\r\nb\r\n", '$', false, "", ""},
		{"null bulk", "$-1\r\n", '$', true, "", ""},
		{"null array", "*-1\r\n", '*', true, "", ""},
		{"empty array", "*0\r\n", '*', false, "", ""},
		{"nested array", "*3\r\n$3\r\nfoo\r\n:1\r\n*2\r\n+a\r\n$-1\r\n", '*', false, "", ""},
		{"error in array", "*2\r\n-ERR x\r\n+OK\r\n", '*', false, "", ""},
		{"resp3 null", "_\r\n", '_', true, "", ""},
		{"resp3 double", ",1.5\r\n", ',', false, "", ""},
		{"resp3 bool", "#t\r\n", '#', false, "", ""},
		{"resp3 big number", "(12345678901234567890\r\n", '(', false, "", ""},
		{"resp3 verbatim", "=7\r\ntxt:abc\r\n", '=', false, "", ""},
		{"resp3 blob error", "!9\r\nSYNTAX xx\r\n", '!', false, "SYNTAX xx", "SYNTAX"},
		{"resp3 map", "%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n:2\r\n", '%', false, "", ""},
		{"resp3 set", "~2\r\n:1\r\n:2\r\n", '~', false, "", ""},
		{"resp3 push", ">2\r\n+a\r\n+b\r\n", '>', false, "", ""},
	}
	for _, tt := range tests {
		for _, rw := range readers {
			t.Run(tt.name+"/"+rw.name, func(t *testing.T) {
				// The reply is followed by another, which must be read
				// next: a reader consumes exactly one reply.
				in := rw.wrap(strings.NewReader(tt.in + ":7\r\n"))
				r := respReader{rd: bufio.NewReaderSize(in, 64)}
				got, err := r.read()
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if got.Type != tt.typ || got.Null != tt.null || string(got.Err) != tt.err ||
					string(got.Code()) != tt.code || got.IsError() != (tt.code != "") {
					t.Fatalf("got %c null %v err %q code %q, want %c null %v err %q code %q",
						got.Type, got.Null, got.Err, got.Code(), tt.typ, tt.null, tt.err, tt.code)
				}
				if next, err := r.read(); err != nil || next.Type != ':' {
					t.Fatalf("next reply: got %c, %v; want ':'", next.Type, err)
				}
				if _, err := r.read(); err != io.EOF {
					t.Fatalf("at the end: got %v, want io.EOF", err)
				}
			})
		}
	}
}

func TestRESPReaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"nothing", "", io.EOF},
		{"cut line", "+OK", io.ErrUnexpectedEOF},
		{"cut after type", "$", io.ErrUnexpectedEOF},
		{"cut bulk", "$5\r\nhel", io.ErrUnexpectedEOF},
		{"cut bulk end", "$5\r\nhello\r", io.ErrUnexpectedEOF},
		{"cut array", "*2\r\n+a\r\n", io.ErrUnexpectedEOF},
		{"line without CR", "+OK\n", ErrProtocol},
		{"bulk without CRLF", "$5\r\nhelloXX", ErrProtocol},
		{"negative bulk length", "$-2\r\n", ErrProtocol},
		{"bulk length not a number", "$abc\r\n", ErrProtocol},
		{"empty integer", ":\r\n", ErrProtocol},
		{"bare minus", ":-\r\n", ErrProtocol},
		{"integer overflow", ":99999999999999999999\r\n", ErrProtocol},
		{"integer just over", ":9223372036854775808\r\n", ErrProtocol},
		{"aggregate too long", "*99999999999\r\n", ErrProtocol},
		{"negative set", "~-1\r\n", ErrProtocol},
		{"null blob error", "!-1\r\n", ErrProtocol},
		{"null with body", "_x\r\n", ErrProtocol},
		{"unknown type", "?x\r\n", ErrProtocol},
		{"inline text", "OK\r\n", ErrProtocol},
		{"long line cut", "+" + strings.Repeat("a", 100), io.ErrUnexpectedEOF},
		{"long header", "$" + strings.Repeat("1", 70) + "\r\n", ErrProtocol},
		{"long line without CR", "+" + strings.Repeat("a", 100) + "\n", ErrProtocol},
	}
	for _, tt := range tests {
		for _, rw := range readers {
			t.Run(tt.name+"/"+rw.name, func(t *testing.T) {
				r := respReader{rd: bufio.NewReaderSize(rw.wrap(strings.NewReader(tt.in)), 16)}
				_, err := r.read()
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
			})
		}
	}
}

// TestRESPReaderLongLines reads lines longer than the reader's buffer.
func TestRESPReaderLongLines(t *testing.T) {
	long := strings.Repeat("z", 100)
	in := "+" + long + "\r\n-WRONG " + long + "\r\n$100\r\n" + long + "\r\n" +
		"+" + strings.Repeat("a", 14) + "\r\n" + // CR last in the buffer, LF in the next fill
		":-9223372036854775808\r\n" + // longer than the buffer, a valid integer
		"*1\r\n-" + strings.Repeat("E", 40) + "\r\n"
	r := respReader{rd: bufio.NewReaderSize(strings.NewReader(in), 16)}
	for _, want := range []struct {
		typ  byte
		code string
	}{{'+', ""}, {'-', "WRONG"}, {'$', ""}, {'+', ""}, {':', ""}, {'*', ""}} {
		got, err := r.read()
		if err != nil || got.Type != want.typ || string(got.Code()) != want.code {
			t.Fatalf("got %c code %q, %v; want %c code %q", got.Type, got.Code(), err, want.typ, want.code)
		}
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("v", 100)
	tests := []struct {
		name string
		in   string
		typ  byte
		null bool
		code string
	}{
		{"ok", "OK\n", '+', false, ""},
		{"value with CRLF", "value\r\n", '+', false, ""},
		{"empty line", "\n", '+', false, ""},
		{"miss", "ERR key not found\n", '+', true, ""},
		{"busy", "BUSY\n", '-', false, "BUSY"},
		{"busy CRLF", "BUSY\r\n", '-', false, "BUSY"},
		{"error", "ERR unknown command 'x'\n", '-', false, "ERR"},
		{"long value", long + "\n", '+', false, ""},
		{"long error", "ERR " + long + "\n", '-', false, "ERR"},
		{"value starting with BUSY", "BUSYNESS\n", '+', false, ""},
	}
	for _, tt := range tests {
		for _, rw := range readers {
			t.Run(tt.name+"/"+rw.name, func(t *testing.T) {
				r := newLineReader(bufio.NewReaderSize(rw.wrap(strings.NewReader(tt.in+"OK\n")), 16))
				got, err := r.read()
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if got.Type != tt.typ || got.Null != tt.null || string(got.Code()) != tt.code {
					t.Fatalf("got %c null %v code %q, want %c null %v code %q",
						got.Type, got.Null, got.Code(), tt.typ, tt.null, tt.code)
				}
				if next, err := r.read(); err != nil || next.Type != '+' || next.Null {
					t.Fatalf("next reply: got %+v, %v; want OK", next, err)
				}
				if _, err := r.read(); err != io.EOF {
					t.Fatalf("at the end: got %v, want io.EOF", err)
				}
			})
		}
	}
}

func TestLineReaderErrors(t *testing.T) {
	for _, in := range []string{"OK", "ERR key", strings.Repeat("v", 100)} {
		for _, rw := range readers {
			t.Run(rw.name, func(t *testing.T) {
				r := newLineReader(bufio.NewReaderSize(rw.wrap(strings.NewReader(in)), 16))
				if _, err := r.read(); err != io.ErrUnexpectedEOF {
					t.Fatalf("%q: got %v, want io.ErrUnexpectedEOF", in, err)
				}
			})
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"42", 42, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"", 0, false}, {"-", 0, false}, {"+1", 0, false},
		{"1a", 0, false}, {" 1", 0, false}, {"123456789012345678901", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q): got %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestReplyCodeAliasing checks an error's text survives reading nothing
// else: Err aliases the buffer only until the next read.
func TestReplyCode(t *testing.T) {
	r := Reply{Type: '-', Err: bytes.Clone([]byte("MOVED 1 x"))}
	if string(r.Code()) != "MOVED" {
		t.Fatalf("got %q, want MOVED", r.Code())
	}
	if (Reply{Type: '+'}).Code() != nil {
		t.Fatal("a non-error has a code")
	}
}
