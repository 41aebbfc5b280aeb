package line

import "bytes"

// Commands are the names of the line protocol's commands, as a client types
// them in upper case; they are matched without regard to case.
var Commands = []string{"GET", "SET", "DELETE", "LIST", "AUTH"}

// longestCommand is the length of the longest name in Commands.
const longestCommand = len("DELETE")

// Sniff tells which protocol a client speaks on a port it shares with RESP,
// from the bytes b the client has sent so far. The client speaks the line
// protocol when its first non-blank line starts with one of Commands as a
// whole word, and RESP otherwise: a first command that starts with '*' (a
// multibulk), or any other inline command (PING, ECHO …).
//
// Blank lines (spaces and tabs, then "\n" or "\r\n") come before the first
// command in either protocol and are answered by neither: Sniff returns
// their length as skip, for the caller to drop. known reports whether the
// bytes after them tell the protocol, and isLine which one; when known is
// false the caller reads more bytes and calls again.
//
// The first word is compared as the line protocol splits it: it ends at a
// space, a tab, or the line's end ("\n" or "\r\n"). A word longer than any
// command name is known to be none as soon as it is that long, so only a
// first line of blanks can stay unknown for long: once more than max bytes
// follow the blank lines without telling, the client is judged to speak
// RESP, whose parser refuses the long line.
//
// Sniff does not modify b.
func Sniff(b []byte, max int) (skip int, isLine, known bool) {
	skip, isLine, known = sniff(b)
	if !known && len(b)-skip > max {
		known = true
	}
	return skip, isLine, known
}

// sniff is Sniff without the limit.
func sniff(b []byte) (skip int, isLine, known bool) {
	for {
		p := skip
		for p < len(b) && (b[p] == ' ' || b[p] == '\t') {
			p++
		}
		switch {
		case p == len(b):
			return skip, false, false
		case b[p] == '\n':
			skip = p + 1
			continue
		case b[p] == '\r':
			if p+1 == len(b) {
				return skip, false, false
			}
			if b[p+1] == '\n' {
				skip = p + 2
				continue
			}
			// A '\r' in the middle of a line is part of a word.
			return skip, false, true
		case p == skip && b[p] == '*':
			return skip, false, true
		}
		end := p
		for end < len(b) && end-p <= longestCommand && !endsWord(b[end]) {
			end++
		}
		word := b[p:end]
		switch {
		case len(word) > longestCommand:
			return skip, false, true
		case end == len(b) || (b[end] == '\r' && end+1 == len(b)):
			// The word may go on, or the '\r' may not end the line.
			return skip, false, false
		case b[end] == '\r' && b[end+1] != '\n':
			return skip, false, true
		}
		return skip, isCommand(word), true
	}
}

// endsWord reports whether c may end a word of the line protocol: a blank,
// or the "\n" or "\r\n" that ends the line (Sniff checks what follows a
// "\r").
func endsWord(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// isCommand reports whether word is one of Commands, in any case.
func isCommand(word []byte) bool {
	for _, name := range Commands {
		if bytes.EqualFold(word, []byte(name)) {
			return true
		}
	}
	return false
}
