package resp

import (
	"math"
	"slices"
	"strconv"
)

// Writer appends replies in RESP2 or RESP3 to a buffer that the caller sends
// and then resets. The zero value writes RESP2 to an empty buffer.
//
// A Writer is not safe for concurrent use: it belongs to the goroutine that
// writes one connection's replies.
type Writer struct {
	buf   []byte
	proto int // 3 for RESP3; 0 or 2 for RESP2
	errs  int // error replies appended, ever
}

// Errors returns how many error replies have been appended with AppendError
// since w was made; Reset and Truncate leave it alone. Comparing it before
// and after a command tells whether the command replied with an error.
func (w *Writer) Errors() int { return w.errs }

// SetProto selects the protocol version of the replies appended from now on:
// 2 for RESP2, 3 for RESP3. Any other value panics.
func (w *Writer) SetProto(p int) {
	if p != 2 && p != 3 {
		panic("resp: protocol version must be 2 or 3, got " + strconv.Itoa(p))
	}
	w.proto = p
}

// Proto returns the protocol version in use: 2 or 3.
func (w *Writer) Proto() int {
	if w.proto == 3 {
		return 3
	}
	return 2
}

// Bytes returns the replies appended since the last Reset. The slice aliases
// the Writer's buffer: it is valid until the next call that changes w.
func (w *Writer) Bytes() []byte { return w.buf }

// Len returns the number of bytes appended since the last Reset.
func (w *Writer) Len() int { return len(w.buf) }

// Cap returns the capacity of the buffer.
func (w *Writer) Cap() int { return cap(w.buf) }

// Reset empties the buffer, keeping its memory for the next replies.
func (w *Writer) Reset() { w.buf = w.buf[:0] }

// Truncate discards all but the first n bytes of the buffer, for example to
// drop the replies appended after Len returned n. It panics if n is negative
// or greater than Len.
func (w *Writer) Truncate(n int) { w.buf = w.buf[:n] }

// Discard drops the first n bytes of the buffer and keeps the rest, for a
// caller that has sent a prefix of the replies. It panics if n is negative
// or greater than Len.
func (w *Writer) Discard(n int) { w.buf = w.buf[:copy(w.buf, w.buf[n:])] }

// Trim gives the buffer's memory back when the buffer is empty and its
// capacity exceeds max bytes, so that a large reply, once sent, does not
// hold its memory for as long as the Writer lives.
func (w *Writer) Trim(max int) {
	if len(w.buf) == 0 && cap(w.buf) > max {
		w.buf = nil
	}
}

// Swap makes buf, emptied, the buffer that replies are appended to from
// now on, and returns the one used until now with its bytes. A caller that
// lent the old buffer's bytes to another (a reply on its way to a socket)
// swaps in a spare one instead of overwriting them.
func (w *Writer) Swap(buf []byte) []byte {
	old := w.buf
	w.buf = buf[:0]
	return old
}

// AppendRaw appends b unchanged, for replies of a protocol other than RESP.
func (w *Writer) AppendRaw(b []byte) { w.buf = append(w.buf, b...) }

// AppendOK appends the simple string "OK".
func (w *Writer) AppendOK() { w.buf = append(w.buf, "+OK\r\n"...) }

// AppendSimple appends s as a simple string ("+s"). A line break in s would
// end the reply early, so each '\r' and '\n' is written as a space.
func (w *Writer) AppendSimple(s string) {
	w.buf = append(w.buf, '+')
	w.appendLine(s)
}

// AppendError appends an error reply. msg is the whole text after the '-',
// starting with the error code, for example "ERR syntax error" or
// "WRONGTYPE Operation against a key holding the wrong kind of value". As in
// Redis, each '\r' and '\n' in msg is written as a space.
func (w *Writer) AppendError(msg string) {
	w.errs++
	w.buf = append(w.buf, '-')
	w.appendLine(msg)
}

// appendLine appends s with its line breaks blanked out, then "\r\n".
func (w *Writer) appendLine(s string) {
	start := len(w.buf)
	w.buf = append(w.buf, s...)
	line := w.buf[start:]
	for i, c := range line {
		if c == '\r' || c == '\n' {
			line[i] = ' '
		}
	}
	w.buf = append(w.buf, '\r', '\n')
}

// appendHeader appends a type byte, the decimal n and "\r\n".
func (w *Writer) appendHeader(kind byte, n int64) {
	w.buf = append(w.buf, kind)
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, '\r', '\n')
}

// AppendInt appends the integer n (":n").
func (w *Writer) AppendInt(n int64) { w.appendHeader(':', n) }

// AppendBulk appends b as a bulk string ("$len" and the bytes). A string
// shorter than 100 bytes, as most elements of a reply of many are, is
// written with one check of the buffer's room.
func (w *Writer) AppendBulk(b []byte) {
	n := len(b)
	if n >= 100 {
		w.appendHeader('$', int64(n))
		w.buf = append(w.buf, b...)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	at := len(w.buf)
	w.buf = slices.Grow(w.buf, n+7)
	if n < 10 {
		w.buf = w.buf[:at+n+6]
		w.buf[at], w.buf[at+1], w.buf[at+2], w.buf[at+3] = '$', byte('0'+n), '\r', '\n'
		at += 4
	} else {
		w.buf = w.buf[:at+n+7]
		w.buf[at], w.buf[at+1], w.buf[at+2], w.buf[at+3], w.buf[at+4] = '$', byte('0'+n/10), byte('0'+n%10), '\r', '\n'
		at += 5
	}
	copy(w.buf[at:], b)
	w.buf[at+n], w.buf[at+n+1] = '\r', '\n'
}

// AppendBulkString appends s as a bulk string.
func (w *Writer) AppendBulkString(s string) {
	w.appendHeader('$', int64(len(s)))
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}

// AppendNull appends a null: "_" in RESP3, the null bulk string "$-1" in
// RESP2 (the reply of GET on a missing key).
func (w *Writer) AppendNull() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
		return
	}
	w.buf = append(w.buf, "$-1\r\n"...)
}

// AppendNullArray appends a null: "_" in RESP3, the null array "*-1" in
// RESP2 (the reply of BLPOP on timeout).
func (w *Writer) AppendNullArray() {
	if w.proto == 3 {
		w.buf = append(w.buf, "_\r\n"...)
		return
	}
	w.buf = append(w.buf, "*-1\r\n"...)
}

// AppendArray appends the header of an array of n elements ("*n"); the
// caller appends the n elements next.
func (w *Writer) AppendArray(n int) { w.appendHeader('*', int64(n)) }

// AppendMap appends the header of a map of n key-value pairs: "%n" in RESP3,
// an array of 2n elements in RESP2. The caller appends each key followed by
// its value.
func (w *Writer) AppendMap(n int) {
	if w.proto == 3 {
		w.appendHeader('%', int64(n))
		return
	}
	w.appendHeader('*', 2*int64(n))
}

// AppendSet appends the header of a set of n elements: "~n" in RESP3, an
// array in RESP2.
func (w *Writer) AppendSet(n int) {
	if w.proto == 3 {
		w.appendHeader('~', int64(n))
		return
	}
	w.appendHeader('*', int64(n))
}

// AppendPush appends the header of an out-of-band push message of n
// elements, such as a published message: ">n" in RESP3, an array in RESP2.
func (w *Writer) AppendPush(n int) {
	if w.proto == 3 {
		w.appendHeader('>', int64(n))
		return
	}
	w.appendHeader('*', int64(n))
}

// AppendDouble appends f as a double: ",f" in RESP3, a bulk string of the
// same text in RESP2. The text is the shortest decimal that reads back as f,
// laid out as C's "%.17g" lays it out (plain below 1e17 and from 1e-4 on,
// with an exponent otherwise), as Redis 7.2 and later print doubles: 1.5 is
// "1.5", 10 is "10", 0.1 is "0.1", 1e17 is "1e+17", 1e-5 is "1e-05".
// Infinities are "inf" and "-inf", NaN is "nan".
func (w *Writer) AppendDouble(f float64) {
	var tmp [32]byte
	s := appendDouble(tmp[:0], f)
	if w.proto == 3 {
		w.buf = append(w.buf, ',')
		w.buf = append(w.buf, s...)
		w.buf = append(w.buf, '\r', '\n')
		return
	}
	w.AppendBulk(s)
}

// AppendDoubleText appends to dst the text of f that AppendDouble sends,
// which is also how Redis writes a score where it answers it as a string
// (ZSCAN).
func AppendDoubleText(dst []byte, f float64) []byte { return appendDouble(dst, f) }

// appendDouble appends the text of f described at Writer.AppendDouble.
func appendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	// Shortest digits first, in the form [-]d[.ddd]e±dd.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	mark := len(e) - 1
	for e[mark] != 'e' {
		mark--
	}
	exp := 0
	for _, c := range e[mark+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[mark+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 17 {
		// The exponent form is already what %g prints.
		return append(dst, e...)
	}
	// Gather the digits without the decimal point.
	var digits [24]byte
	nd := 0
	for _, c := range e[:mark] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	if exp < 0 {
		dst = append(dst, '0', '.')
		for i := -1; i > exp; i-- {
			dst = append(dst, '0')
		}
		return append(dst, digits[:nd]...)
	}
	point := exp + 1 // digits before the decimal point
	if nd <= point {
		dst = append(dst, digits[:nd]...)
		for i := nd; i < point; i++ {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, digits[:point]...)
	dst = append(dst, '.')
	return append(dst, digits[point:nd]...)
}

// AppendBool appends a boolean: "#t" or "#f" in RESP3, the integer 1 or 0 in
// RESP2.
func (w *Writer) AppendBool(b bool) {
	switch {
	case w.proto == 3 && b:
		w.buf = append(w.buf, "#t\r\n"...)
	case w.proto == 3:
		w.buf = append(w.buf, "#f\r\n"...)
	case b:
		w.buf = append(w.buf, ":1\r\n"...)
	default:
		w.buf = append(w.buf, ":0\r\n"...)
	}
}

// AppendVerbatim appends s as a verbatim string of the given format, "txt"
// for plain text or "mkd" for markdown: "=len" and "format:s" in RESP3, a
// bulk string of s in RESP2. The format must be exactly three bytes long;
// any other length panics.
func (w *Writer) AppendVerbatim(format string, s []byte) {
	if len(format) != 3 {
		panic("resp: verbatim format must be three bytes, got " + strconv.Quote(format))
	}
	if w.proto != 3 {
		w.AppendBulk(s)
		return
	}
	w.appendHeader('=', int64(len(s))+4)
	w.buf = append(w.buf, format...)
	w.buf = append(w.buf, ':')
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, '\r', '\n')
}
