// Package line parses the line protocol: one command per line, ended by "\n"
// or "\r\n", its words separated by spaces or tabs.
package line

import "errors"

// MaxLen is the longest line accepted, not counting its terminator.
const MaxLen = 64 << 10

// ErrTooLong is returned for a line longer than the limit. Its text is the
// reply the client gets before the connection is closed.
var ErrTooLong = errors.New("ERR line too long")

// Parse reads one line from the start of b and appends its words to dst as
// sub-slices of b. It returns n, the bytes consumed including the terminator.
// n == 0 with a nil error means b holds no whole line yet. A blank line yields
// no words. Lines longer than max bytes return ErrTooLong, as soon as more
// than max bytes are buffered without a terminator.
func Parse(b []byte, dst [][]byte, max int) (args [][]byte, n int, err error) {
	end := -1
	limit := min(len(b), max+2) // room for "\r\n" after max bytes
	for i, c := range b[:limit] {
		if c == '\n' {
			end = i
			break
		}
	}
	if end < 0 {
		if len(b) > max+1 {
			return dst, 0, ErrTooLong
		}
		return dst, 0, nil
	}
	text := b[:end]
	if len(text) > 0 && text[len(text)-1] == '\r' {
		text = text[:len(text)-1]
	}
	if len(text) > max {
		return dst, 0, ErrTooLong
	}
	start := -1
	for i, c := range text {
		if c == ' ' || c == '\t' {
			if start >= 0 {
				dst = append(dst, text[start:i:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, text[start:len(text):len(text)])
	}
	return dst, end + 1, nil
}
