package resp

import (
	"bytes"
	"errors"
	"math"
)

// Limits bound what a request may contain. The zero value accepts nothing;
// start from DefaultLimits.
type Limits struct {
	// MaxBulkLen is the longest bulk string accepted, in bytes (Redis's
	// proto-max-bulk-len). Default 512 MiB.
	MaxBulkLen int64

	// MaxMultibulkLen is the largest argument count accepted in one
	// multibulk request. Default 1024*1024.
	MaxMultibulkLen int64

	// MaxInlineLen is the longest inline line, and the longest multibulk or
	// bulk length header, in bytes (Redis's PROTO_INLINE_MAX_SIZE). Default
	// 64 KiB.
	MaxInlineLen int

	// Unauthenticated applies, on top of the limits above, the limits Redis
	// sets for a client that has not authenticated yet: at most
	// UnauthMaxMultibulkLen arguments and bulks of at most UnauthMaxBulkLen
	// bytes. Off by default.
	Unauthenticated bool
}

// The limits of Limits.Unauthenticated, Redis's.
const (
	UnauthMaxMultibulkLen = 10
	UnauthMaxBulkLen      = 16384
)

// DefaultLimits returns the limits Redis 7 applies by default, except
// MaxMultibulkLen: Redis 7 accepts up to 2147483647 arguments, while the
// default here is 1024*1024, the limit of earlier Redis versions.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkLen:      512 << 20,
		MaxMultibulkLen: 1024 * 1024,
		MaxInlineLen:    64 << 10,
	}
}

// ErrInvalidLimits is returned by Limits.Validate for a limit that is not
// positive.
var ErrInvalidLimits = errors.New("resp: every limit must be positive")

// Validate reports whether every limit is positive.
func (l Limits) Validate() error {
	if l.MaxBulkLen <= 0 || l.MaxMultibulkLen <= 0 || l.MaxInlineLen <= 0 {
		return ErrInvalidLimits
	}
	return nil
}

// Sentinel errors naming each protocol fault. ReadCommand never returns them
// bare: it returns a *ProtocolError that wraps one of them, so test with
// errors.Is. Their texts are Redis's, without the "Protocol error: " prefix
// that ProtocolError.Error adds.
var (
	// ErrInvalidMultibulkLength: the count of a multibulk is not a number
	// or exceeds Limits.MaxMultibulkLen.
	ErrInvalidMultibulkLength = errors.New("invalid multibulk length")

	// ErrInvalidBulkLength: the length of a bulk is not a number, is
	// negative, or exceeds Limits.MaxBulkLen.
	ErrInvalidBulkLength = errors.New("invalid bulk length")

	// ErrExpectedDollar: an argument of a multibulk does not start with '$'.
	ErrExpectedDollar = errors.New("expected '$'")

	// ErrMultibulkCountTooBig: no "\r" ends the count of a multibulk
	// within Limits.MaxInlineLen bytes.
	ErrMultibulkCountTooBig = errors.New("too big mbulk count string")

	// ErrBulkCountTooBig: no "\r" ends the length of a bulk within
	// Limits.MaxInlineLen bytes.
	ErrBulkCountTooBig = errors.New("too big bulk count string")

	// ErrInlineTooBig: no "\n" ends an inline command within
	// Limits.MaxInlineLen bytes.
	ErrInlineTooBig = errors.New("too big inline request")

	// ErrUnbalancedQuotes: an inline command has an unterminated quote, or a
	// closing quote followed by something other than a blank.
	ErrUnbalancedQuotes = errors.New("unbalanced quotes in request")

	// ErrUnauthMultibulkLength: with Limits.Unauthenticated, the count of a
	// multibulk exceeds UnauthMaxMultibulkLen.
	ErrUnauthMultibulkLength = errors.New("unauthenticated multibulk length")

	// ErrUnauthBulkLength: with Limits.Unauthenticated, the length of a bulk
	// exceeds UnauthMaxBulkLen.
	ErrUnauthBulkLength = errors.New("unauthenticated bulk length")
)

// ProtocolError is a malformed request. Its Error text is exactly what Redis
// sends after "-ERR " before it closes the connection, for example
// "Protocol error: invalid bulk length".
type ProtocolError struct {
	// Err is the fault: one of the sentinel Err… values of this package.
	Err error

	// Got is the byte found where '$' was expected; it is set only when Err
	// is ErrExpectedDollar.
	Got byte
}

// Error returns Redis's text for the fault.
func (e *ProtocolError) Error() string {
	if e.Err == ErrExpectedDollar {
		c := e.Got
		if c == '\r' || c == '\n' {
			// Redis blanks line breaks out of every error it formats.
			c = ' '
		}
		return "Protocol error: expected '$', got '" + string([]byte{c}) + "'"
	}
	return "Protocol error: " + e.Err.Error()
}

// Unwrap returns the sentinel error naming the fault.
func (e *ProtocolError) Unwrap() error { return e.Err }

// ReadCommand parses one request from the start of b and appends its
// arguments to dst, as sub-slices of b whose capacity ends with the argument
// (appending to one never overwrites b). It returns the extended slice and n,
// the number of bytes consumed.
//
// n == 0 with a nil error means b does not yet hold a whole request: the
// caller reads more bytes and calls again with the longer buffer; Need tells
// how long it must grow. A request with no arguments (a multibulk with a
// count of zero or less, or a blank inline line) is consumed with n > 0 and
// appends nothing: the caller skips it.
//
// A non-nil error is a *ProtocolError; the caller replies "-ERR " followed by
// its text and closes the connection.
//
// For an inline command ReadCommand unescapes quoted arguments in place, so it
// may rewrite b[:n] (and, on error, the bytes of the offending line). It never
// writes to b when it returns n == 0 and a nil error. The arguments stay valid
// as long as the caller leaves those bytes of b alone.
//
// ReadCommand keeps no state between calls and is safe for concurrent use on
// distinct buffers.
func ReadCommand(b []byte, dst [][]byte, lim Limits) (args [][]byte, n int, err error) {
	if len(b) == 0 {
		return dst, 0, nil
	}
	if b[0] == '*' {
		args, n, _, err = parseMultibulk(b, dst, lim, true)
		return args, n, err
	}
	return parseInline(b, dst, lim)
}

// Need returns the length b must reach before ReadCommand can return anything
// but n == 0 and a nil error: more than len(b) when b holds only the start of
// a request, 0 when ReadCommand would already return a request or an error.
// A server uses it to grow its buffer once for a large bulk and to skip
// parsing until enough bytes have arrived. Need does not modify b.
func Need(b []byte, lim Limits) int {
	if len(b) == 0 {
		return 1
	}
	if b[0] == '*' {
		_, _, need, _ := parseMultibulk(b, nil, lim, false)
		return need
	}
	_, need, _ := findLineEnd(b, '\n', 0, lim.MaxInlineLen, ErrInlineTooBig)
	return need
}

// findLineEnd looks for the delimiter c that ends the line starting at
// b[p:], within max+1 bytes of p (so the line before c is at most max bytes
// long). It returns the index of c in b. When c is not there it returns -1
// and either the length b must reach for the line to end, or, when more than
// max bytes follow p, a ProtocolError wrapping tooBig.
func findLineEnd(b []byte, c byte, p, max int, tooBig error) (end, need int, err error) {
	if max < 0 {
		max = 0
	}
	rem := len(b) - p
	win := rem
	if max < win {
		win = max + 1
	}
	if i := bytes.IndexByte(b[p:p+win], c); i >= 0 {
		return p + i, 0, nil
	}
	if rem > max {
		return -1, 0, &ProtocolError{Err: tooBig}
	}
	return -1, len(b) + 1, nil
}

// readHeader reads the multibulk or bulk header starting at b[p]: a type
// byte, a number, then '\r' and one more byte, which Redis skips unread. It
// returns end, the index of the '\r', and v and valid, the number and whether
// the text before the '\r' is one (by the rules of parseInt). When the header
// is not all there it returns end < 0 and either need, the length b must
// reach, or, past max bytes without a '\r', a ProtocolError wrapping tooBig.
func readHeader(b []byte, p, max int, tooBig error) (v int64, valid bool, end, need int, err error) {
	// Fast path for the usual header: up to 18 digits, no sign, no leading
	// zero, read in the same pass that finds the '\r'.
	if i := p + 1; i < len(b) && b[i]-'1' < 9 {
		v = int64(b[i] - '0')
		for i++; i < len(b); i++ {
			c := b[i]
			if c == '\r' {
				if i-p > max {
					break
				}
				if i+1 >= len(b) {
					return 0, false, -1, i + 2, nil
				}
				return v, true, i, 0, nil
			}
			if c-'0' > 9 || i-p > 18 {
				break
			}
			v = v*10 + int64(c-'0')
		}
	}
	end, need, err = findLineEnd(b, '\r', p, max, tooBig)
	if end < 0 {
		return 0, false, -1, need, err
	}
	if end+1 >= len(b) {
		return 0, false, -1, end + 2, nil
	}
	if end == p {
		// No type byte: the caller reports what it found instead.
		return 0, false, end, 0, nil
	}
	v, valid = ParseInt(b[p+1 : end])
	return v, valid, end, 0, nil
}

// parseMultibulk parses the multibulk at the start of b, appending its
// arguments to dst when collect is set. When b holds only part of it, it
// returns n == 0 and need, a lower bound on the length b must reach before
// the outcome can change.
func parseMultibulk(b []byte, dst [][]byte, lim Limits, collect bool) (args [][]byte, n, need int, err error) {
	count, valid, end, need, err := readHeader(b, 0, lim.MaxInlineLen, ErrMultibulkCountTooBig)
	if end < 0 {
		return dst, 0, need, err
	}
	if !valid || count > lim.MaxMultibulkLen {
		return dst, 0, 0, &ProtocolError{Err: ErrInvalidMultibulkLength}
	}
	if lim.Unauthenticated && count > UnauthMaxMultibulkLen {
		return dst, 0, 0, &ProtocolError{Err: ErrUnauthMultibulkLength}
	}
	pos := end + 2
	if count <= 0 {
		return dst, pos, 0, nil
	}
	args = dst
	for ; count > 0; count-- {
		var size int64
		size, valid, end, need, err = readHeader(b, pos, lim.MaxInlineLen, ErrBulkCountTooBig)
		if end < 0 {
			return dst, 0, need, err
		}
		if b[pos] != '$' {
			return dst, 0, 0, &ProtocolError{Err: ErrExpectedDollar, Got: b[pos]}
		}
		if !valid || size < 0 || size > lim.MaxBulkLen {
			return dst, 0, 0, &ProtocolError{Err: ErrInvalidBulkLength}
		}
		if lim.Unauthenticated && size > UnauthMaxBulkLen {
			return dst, 0, 0, &ProtocolError{Err: ErrUnauthBulkLength}
		}
		pos = end + 2
		if size > int64(len(b)-pos-2) {
			// The payload and its "\r\n" have not all arrived.
			if size > int64(math.MaxInt-2-pos) {
				return dst, 0, math.MaxInt, nil
			}
			return dst, 0, pos + int(size) + 2, nil
		}
		stop := pos + int(size)
		if collect {
			args = append(args, b[pos:stop:stop])
		}
		pos = stop + 2
	}
	return args, pos, 0, nil
}

// ParseInt parses a decimal integer the way Redis's string2ll does: an
// optional '-', then digits with no leading zero (a lone "0" aside), no '+',
// no blanks, at most 20 bytes, within the range of int64.
func ParseInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		if len(s) == 0 {
			return 0, false
		}
	}
	if s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		d := uint64(c) - '0'
		if d > 9 {
			return 0, false
		}
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// parseInline parses the inline command at the start of b.
func parseInline(b []byte, dst [][]byte, lim Limits) ([][]byte, int, error) {
	nl, _, err := findLineEnd(b, '\n', 0, lim.MaxInlineLen, ErrInlineTooBig)
	if nl < 0 {
		return dst, 0, err
	}
	end := nl
	if end > 0 && b[end-1] == '\r' {
		end--
	}
	args, err := splitArgs(b[:end], dst)
	if err != nil {
		return dst, 0, err
	}
	return args, nl + 1, nil
}

// isBlank reports whether c separates inline arguments (C's isspace).
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// splitArgs splits an inline line into arguments as Redis's sdssplitargs
// does, unescaping each argument in place: an argument is never longer than
// the text it came from, so it is written over the start of that text.
func splitArgs(line []byte, dst [][]byte) ([][]byte, error) {
	args := dst
	p := 0
	for {
		for p < len(line) && isBlank(line[p]) {
			p++
		}
		if p == len(line) {
			return args, nil
		}
		start, w := p, p
		inDouble, inSingle := false, false
	token:
		for {
			switch {
			case inDouble:
				if p == len(line) {
					return dst, &ProtocolError{Err: ErrUnbalancedQuotes}
				}
				c := line[p]
				switch {
				case c == '\\' && p+3 < len(line) && line[p+1] == 'x' && isHex(line[p+2]) && isHex(line[p+3]):
					line[w] = unhex(line[p+2])<<4 | unhex(line[p+3])
					w++
					p += 4
				case c == '\\' && p+1 < len(line):
					line[w] = unescape(line[p+1])
					w++
					p += 2
				case c == '"':
					if p+1 < len(line) && !isBlank(line[p+1]) {
						return dst, &ProtocolError{Err: ErrUnbalancedQuotes}
					}
					p++
					break token
				default:
					line[w] = c
					w++
					p++
				}
			case inSingle:
				if p == len(line) {
					return dst, &ProtocolError{Err: ErrUnbalancedQuotes}
				}
				c := line[p]
				switch {
				case c == '\\' && p+1 < len(line) && line[p+1] == '\'':
					line[w] = '\''
					w++
					p += 2
				case c == '\'':
					if p+1 < len(line) && !isBlank(line[p+1]) {
						return dst, &ProtocolError{Err: ErrUnbalancedQuotes}
					}
					p++
					break token
				default:
					line[w] = c
					w++
					p++
				}
			default:
				if p == len(line) {
					break token
				}
				switch c := line[p]; c {
				case ' ', '\n', '\r', '\t':
					// Only these end an unquoted argument; '\v' and
					// '\f' belong to it, as in Redis.
					p++
					break token
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					line[w] = c
					w++
				}
				p++
			}
		}
		args = append(args, line[start:w:w])
	}
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// unescape returns the byte that a backslash followed by c stands for inside
// double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	default:
		return c
	}
}
