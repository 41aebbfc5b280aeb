package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrProtocol is wrapped by every error a reply reader returns for bytes
// that are not a well-formed reply. Test with errors.Is.
var ErrProtocol = errors.New("bench: malformed reply")

// maxHeaderLen bounds a RESP length or integer line; maxAggregate bounds the
// element count of one array, set or map.
const (
	maxHeaderLen = 64
	maxAggregate = 1 << 32
)

// Reply is what a run needs to know of one reply.
type Reply struct {
	// Type is the RESP type byte of the reply ('+', '-', ':', '$', '*', …).
	// A line-protocol reply is '-' when it is an error and '+' otherwise.
	Type byte

	// Null reports a RESP null (a null bulk string or array, or RESP3's
	// '_'), or the line protocol's "ERR key not found": a GET miss.
	Null bool

	// Err is the text of an error reply, without the '-' and the line
	// ending, for example "BUSY server is busy, try again later". It aliases
	// the reader's buffer and is valid until the next read. Of an error
	// longer than the reader's buffer only the start is kept (64 bytes over
	// RESP, 32 over the line protocol), enough for its code.
	Err []byte
}

// IsError reports whether r is an error reply.
func (r Reply) IsError() bool { return r.Type == '-' || r.Type == '!' }

// Code returns the first word of an error reply (BUSY, ERR, WRONGTYPE …),
// or nil when r is not an error.
func (r Reply) Code() []byte {
	if !r.IsError() {
		return nil
	}
	if i := bytes.IndexByte(r.Err, ' '); i >= 0 {
		return r.Err[:i]
	}
	return r.Err
}

// respReader reads RESP2 and RESP3 replies (attributes and streamed
// strings aside) from a buffered connection. Values are skipped, not kept:
// a run needs only each reply's type. It is used by one goroutine.
type respReader struct {
	rd *bufio.Reader
}

// read reads one whole reply, nested elements included. An error that is
// not a protocol fault comes from the underlying reader; io.EOF before the
// first byte of a reply is returned as it is, and io.ErrUnexpectedEOF in the
// middle of one.
func (r *respReader) read() (Reply, error) {
	var top Reply
	for pending := int64(1); pending > 0; pending-- {
		typ, err := r.rd.ReadByte()
		if err != nil {
			if err == io.EOF && pending == 1 && top.Type == 0 {
				return top, io.EOF
			}
			return top, unexpected(err)
		}
		first := top.Type == 0
		if first {
			top.Type = typ
		}
		switch typ {
		case '+', '-', ',', '#', '(':
			line, _, err := readLine(r.rd)
			if err != nil {
				return top, err
			}
			if first && typ == '-' {
				top.Err = line
			}
		case ':':
			if _, err := r.header(); err != nil {
				return top, err
			}
		case '_':
			line, _, err := readLine(r.rd)
			if err != nil {
				return top, err
			}
			if len(line) != 0 {
				return top, fmt.Errorf("%w: null with a body %q", ErrProtocol, line)
			}
			top.Null = top.Null || first
		case '$', '=', '!':
			n, err := r.header()
			if err != nil {
				return top, err
			}
			if n == -1 && typ == '$' {
				top.Null = top.Null || first
				continue
			}
			if n < 0 {
				return top, fmt.Errorf("%w: bulk length %d", ErrProtocol, n)
			}
			if first && typ == '!' {
				// A blob error: keep its start, enough for its code.
				peek, _ := r.rd.Peek(int(min(n, 64)))
				top.Err = append([]byte(nil), peek...)
			}
			if err := r.skip(n); err != nil {
				return top, err
			}
		case '*', '~', '>', '%':
			n, err := r.header()
			if err != nil {
				return top, err
			}
			if n == -1 && typ == '*' {
				top.Null = top.Null || first
				continue
			}
			if n < 0 || n > maxAggregate {
				return top, fmt.Errorf("%w: aggregate length %d", ErrProtocol, n)
			}
			if typ == '%' {
				n *= 2
			}
			pending += n
		default:
			return top, fmt.Errorf("%w: unknown type byte %q", ErrProtocol, typ)
		}
	}
	return top, nil
}

// header reads the integer that ends a ':', '$' or '*' line.
func (r *respReader) header() (int64, error) {
	line, full, err := readLine(r.rd)
	if err != nil {
		return 0, err
	}
	if !full {
		return 0, fmt.Errorf("%w: number too long", ErrProtocol)
	}
	n, ok := parseInt(line)
	if !ok {
		return 0, fmt.Errorf("%w: invalid number %q", ErrProtocol, line)
	}
	return n, nil
}

// skip discards a bulk string's n bytes and the CRLF after them.
func (r *respReader) skip(n int64) error {
	for n > 0 {
		step := int(min(n, 1<<30))
		d, err := r.rd.Discard(step)
		n -= int64(d)
		if err != nil {
			return unexpected(err)
		}
	}
	end, err := r.rd.Peek(2)
	if err != nil {
		return unexpected(err)
	}
	if end[0] != '\r' || end[1] != '\n' {
		return fmt.Errorf("%w: bulk string not followed by CRLF", ErrProtocol)
	}
	r.rd.Discard(2)
	return nil
}

// readLine reads a RESP line and returns it without its CRLF. A line longer
// than rd's buffer is consumed whole; then it is returned in a new slice,
// and when it is longer than maxHeaderLen only its first maxHeaderLen bytes
// are, with full false: a run only needs the start of a long line.
func readLine(rd *bufio.Reader) (line []byte, full bool, err error) {
	line, err = rd.ReadSlice('\n')
	if err == nil {
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return nil, false, fmt.Errorf("%w: line not ended by CRLF", ErrProtocol)
		}
		return line[:len(line)-2], true, nil
	}
	if err != bufio.ErrBufferFull {
		return nil, false, unexpected(err)
	}
	head := make([]byte, 0, maxHeaderLen+2)
	total := 0
	var last byte // the last byte of the previous piece
	for {
		head = append(head, line[:min(len(line), cap(head)-len(head))]...)
		total += len(line)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return nil, false, unexpected(err)
		}
		last = line[len(line)-1]
		line, err = rd.ReadSlice('\n')
	}
	if len(line) >= 2 {
		last = line[len(line)-2]
	}
	if last != '\r' {
		return nil, false, fmt.Errorf("%w: line not ended by CRLF", ErrProtocol)
	}
	total -= 2
	if total <= maxHeaderLen {
		return head[:total], true, nil
	}
	return head[:maxHeaderLen], false, nil
}

// unexpected turns io.EOF inside a reply into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseInt parses a decimal integer with an optional '-' sign, as RESP
// writes lengths and integers.
func parseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	// 19 digits cannot overflow a uint64.
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63 {
		return 0, false
	}
	if neg {
		return -int64(n), true
	}
	if n == 1<<63 {
		return 0, false
	}
	return int64(n), true
}

// lineReader reads the line protocol's replies: one line each, ended by
// "\n" (a "\r" before it is dropped). It is used by one goroutine.
type lineReader struct {
	rd   *bufio.Reader
	head []byte // the start of a line longer than rd's buffer
}

// newLineReader returns a lineReader reading rd.
func newLineReader(rd *bufio.Reader) *lineReader {
	return &lineReader{rd: rd, head: make([]byte, 0, 32)}
}

// notFound is the line protocol's reply to a GET of a missing key.
var notFound = []byte("ERR key not found")

// read reads one reply line. "BUSY" and lines starting with "ERR " are
// errors, except "ERR key not found", which is a miss.
func (r *lineReader) read() (Reply, error) {
	line, err := r.rd.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A line longer than the buffer: its start tells what it is.
		head := append(r.head[:0], line[:min(len(line), cap(r.head))]...)
		for err == bufio.ErrBufferFull {
			line, err = r.rd.ReadSlice('\n')
			if n := min(len(line), cap(head)-len(head)); n > 0 {
				head = append(head, line[:n]...)
			}
		}
		if err != nil {
			return Reply{}, unexpected(err)
		}
		if len(head) == cap(head) {
			// Longer than any error but a long "ERR …".
			if bytes.HasPrefix(head, []byte("ERR ")) {
				return Reply{Type: '-', Err: head}, nil
			}
			return Reply{Type: '+'}, nil
		}
		line = head
	} else if err != nil {
		if err == io.EOF && len(line) == 0 {
			return Reply{}, io.EOF
		}
		return Reply{}, unexpected(err)
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	switch {
	case bytes.Equal(line, notFound):
		return Reply{Type: '+', Null: true}, nil
	case bytes.Equal(line, []byte("BUSY")), bytes.HasPrefix(line, []byte("ERR ")):
		return Reply{Type: '-', Err: line}, nil
	}
	return Reply{Type: '+'}, nil
}
