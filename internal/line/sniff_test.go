package line

import (
	"strings"
	"testing"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		skip   int
		isLine bool
		known  bool
	}{
		{"nothing yet", "", 0, false, false},
		{"multibulk", "*1\r\n$4\r\nPING\r\n", 0, false, true},
		{"star alone", "*", 0, false, true},
		{"inline ping", "PING\r\n", 0, false, true},
		{"ping lf", "PING\n", 0, false, true},
		{"get", "GET k\n", 0, true, true},
		{"set lower case", "set k v\r\n", 0, true, true},
		{"delete mixed case", "DeLeTe k\n", 0, true, true},
		{"list alone", "LIST\n", 0, true, true},
		{"list crlf", "LIST\r\n", 0, true, true},
		{"auth", "AUTH secret\n", 0, true, true},
		{"word not ended", "GET", 0, false, false},
		{"prefix of a command", "DEL", 0, false, false},
		{"longer than any command", "DELETEX", 0, false, true},
		{"a command as a prefix", "GETX k\n", 0, false, true},
		{"long word not ended", "PSUBSCRIBE", 0, false, true},
		{"cr not known to end the line", "LIST\r", 0, false, false},
		{"cr inside a word", "GET\rX k\n", 0, false, true},
		{"leading blanks", "  \tGET k\n", 0, true, true},
		{"blank lines skipped", "\n\r\n \t\r\nGET k\n", 7, true, true},
		{"blank lines then ping", "\r\n\r\nPING\r\n", 4, false, true},
		{"blank lines then multibulk", "\r\n*1\r\n", 2, false, true},
		{"star after a blank is inline", "  *1\r\n", 0, false, true},
		{"blank line not ended", "\r\n   ", 2, false, false},
		{"only blanks", "\n\n", 2, false, false},
		{"lone cr", "\r", 0, false, false},
		{"cr then a word", "\rGET k\n", 0, false, true},
		{"quoted get is not the line protocol's", "\"GET\" k\n", 0, false, true},
		{"http request line", "GET / HTTP/1.1\r\n", 0, true, true},
		{"post", "POST / HTTP/1.1\r\n", 0, false, true},
		{"blanks past the limit", strings.Repeat(" ", 11), 0, false, true},
		{"blanks within the limit", strings.Repeat(" ", 10), 0, false, false},
		{"a short word past the limit", strings.Repeat(" ", 9) + "GE", 0, false, true},
		{"a short word within the limit", strings.Repeat(" ", 8) + "GE", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			skip, isLine, known := Sniff([]byte(tt.in), 10)
			if skip != tt.skip || isLine != tt.isLine || known != tt.known {
				t.Errorf("Sniff(%q): got skip %d, isLine %v, known %v, want %d, %v, %v",
					tt.in, skip, isLine, known, tt.skip, tt.isLine, tt.known)
			}
		})
	}
}

// FuzzSniff checks Sniff against the line protocol's own parser: once the
// first line with words has arrived whole, Sniff knows the protocol, has
// skipped exactly the blank lines before it, and says line protocol exactly
// when that line does not start with '*' and its first word is a command.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{"GET k\n", "\r\n*1\r\n$4\r\nPING\r\n", "PING\r\n", "  \n\tset a b\r\n", "GET\rX\n", "\r\r\n", "LIST"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		skip, isLine, known := Sniff(b, MaxLen)
		if skip > len(b) {
			t.Fatalf("skip %d past the %d bytes", skip, len(b))
		}
		var want int
		for {
			words, n, err := Parse(b[want:], nil, MaxLen)
			if err != nil || n == 0 {
				// No whole line with words: Sniff may or may not know.
				if skip < want {
					t.Fatalf("%q: skip %d, want at least %d", b, skip, want)
				}
				return
			}
			if len(words) > 0 {
				wantLine := b[want] != '*' && isCommand(words[0])
				if !known || skip != want || isLine != wantLine {
					t.Fatalf("%q: got skip %d, isLine %v, known %v, want %d, %v, true", b, skip, isLine, known, want, wantLine)
				}
				return
			}
			want += n
		}
	})
}
