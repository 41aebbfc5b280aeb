package line

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func words(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
		n    int
		err  error
	}{
		{"empty buffer", "", MaxLen, nil, 0, nil},
		{"no newline yet", "GET k", MaxLen, nil, 0, nil},
		{"cr without lf", "GET k\r", MaxLen, nil, 0, nil},
		{"lf", "GET k\n", MaxLen, []string{"GET", "k"}, 6, nil},
		{"crlf", "GET k\r\n", MaxLen, []string{"GET", "k"}, 7, nil},
		{"only first line", "GET a\nGET b\n", MaxLen, []string{"GET", "a"}, 6, nil},
		{"blank", "\n", MaxLen, []string{}, 1, nil},
		{"blank crlf", "\r\n", MaxLen, []string{}, 2, nil},
		{"spaces only", "  \t \n", MaxLen, []string{}, 5, nil},
		{"runs of blanks", "  SET\t\tk   v  \n", MaxLen, []string{"SET", "k", "v"}, 15, nil},
		{"cr inside a word is kept", "SET k a\rb\n", MaxLen, []string{"SET", "k", "a\rb"}, 10, nil},
		{"nul is a byte", "SET k \x00\n", MaxLen, []string{"SET", "k", "\x00"}, 8, nil},
		{"exactly max", "abcd\n", 4, []string{"abcd"}, 5, nil},
		{"exactly max crlf", "abcd\r\n", 4, []string{"abcd"}, 6, nil},
		{"over max with newline", "abcde\n", 4, nil, 0, ErrTooLong},
		{"over max no newline", "abcdef", 4, nil, 0, ErrTooLong},
		{"max plus cr waits", "abcd\r", 4, nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, n, err := Parse([]byte(tt.in), nil, tt.max)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err: got %v, want %v", err, tt.err)
			}
			if n != tt.n {
				t.Fatalf("n: got %d, want %d", n, tt.n)
			}
			if tt.want != nil && strings.Join(words(args), "|") != strings.Join(tt.want, "|") || tt.want == nil && len(args) != 0 {
				t.Fatalf("args: got %q, want %q", words(args), tt.want)
			}
		})
	}
}

func TestParseAppends(t *testing.T) {
	dst := [][]byte{[]byte("keep")}
	args, _, err := Parse([]byte("a b\n"), dst, MaxLen)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(words(args), " "); got != "keep a b" {
		t.Fatalf("got %q, want %q", got, "keep a b")
	}
	// Appending to a word must not overwrite the buffer.
	buf := []byte("x y\n")
	args, _, _ = Parse(buf, nil, MaxLen)
	_ = append(args[0], 'Z')
	if string(buf) != "x y\n" {
		t.Fatalf("buffer changed to %q", buf)
	}
}

func TestParseNoAlloc(t *testing.T) {
	buf := []byte("SET key value\r\n")
	dst := make([][]byte, 0, 8)
	if n := testing.AllocsPerRun(100, func() { Parse(buf, dst[:0], MaxLen) }); n != 0 {
		t.Fatalf("got %v allocations, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("SET user1 alice\nGET user1\n"), 16)
	f.Add([]byte("  \t\r\n"), 4)
	f.Add([]byte("abcdef"), 4)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 1 || max > 1<<16 {
			return
		}
		args, n, err := Parse(b, nil, max)
		if n < 0 || n > len(b) {
			t.Fatalf("n %d out of range [0, %d]", n, len(b))
		}
		if err != nil {
			if n != 0 || !errors.Is(err, ErrTooLong) {
				t.Fatalf("error %v with n %d", err, n)
			}
			return
		}
		if n == 0 {
			if len(args) != 0 {
				t.Fatal("words without a whole line")
			}
			if bytes.IndexByte(b, '\n') >= 0 && bytes.IndexByte(b, '\n') <= max+1 {
				t.Fatalf("a whole line was not parsed: %q", b)
			}
			return
		}
		if b[n-1] != '\n' || bytes.IndexByte(b[:n-1], '\n') >= 0 {
			t.Fatalf("consumed %q, not one line", b[:n])
		}
		line := bytes.TrimSuffix(b[:n-1], []byte("\r"))
		if len(line) > max {
			t.Fatalf("accepted a line of %d bytes over max %d", len(line), max)
		}
		want := strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' || r == '\t' })
		if strings.Join(words(args), "\x00") != strings.Join(want, "\x00") || len(args) != len(want) {
			t.Fatalf("got %q, want %q", words(args), want)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	buf := []byte("SET user:000000000001 value-of-sixteen\r\n")
	dst := make([][]byte, 0, 8)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(buf, dst[:0], MaxLen)
	}
}
