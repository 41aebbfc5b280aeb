package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// proto is the protocol a conn speaks.
type proto int

const (
	protoRESP proto = iota
	protoLine
)

func (p proto) String() string {
	if p == protoLine {
		return "line"
	}
	return "resp"
}

// reply is one reply: a RESP value, or a line of the line protocol (kind
// 'L').
type reply struct {
	kind byte // '+', '-', ':', '$', '*', or 'L'
	str  string
	num  int64
	null bool
	arr  []reply
}

// isErr reports whether r is an error reply: a RESP error, or a line
// protocol line that is one of the server's error texts.
func (r reply) isErr() bool {
	if r.kind == '-' {
		return true
	}
	return r.kind == 'L' && isErrText(r.str)
}

// isErrText reports whether a line protocol line is an error. The values
// the workloads write never look like these.
func isErrText(s string) bool {
	for _, p := range []string{"ERR", "BUSY", "CLUSTERDOWN", "UNKNOWN", "TRYAGAIN", "NOAUTH", "OOM", "DENIED"} {
		if s == p || strings.HasPrefix(s, p+" ") {
			return true
		}
	}
	return false
}

// errCode is the first word of an error reply ("CLUSTERDOWN"), "" if r is
// no error.
func (r reply) errCode() string {
	if !r.isErr() {
		return ""
	}
	code, _, _ := strings.Cut(r.str, " ")
	return code
}

// conn is one client connection to a node. It is used by one goroutine at
// a time. After any network error or timeout it is broken: the caller
// closes it and dials again.
type conn struct {
	nc    net.Conn
	br    *bufio.Reader
	proto proto
}

func dial(addr string, p proto, timeout time.Duration) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReader(nc), proto: p}, nil
}

func (c *conn) close() { c.nc.Close() }

// do sends cmds in one write and reads one reply to each, all before
// deadline.
func (c *conn) do(deadline time.Time, cmds ...[]string) ([]reply, error) {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, args := range cmds {
		if c.proto == protoLine {
			b.WriteString(strings.Join(args, " "))
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	if _, err := io.WriteString(c.nc, b.String()); err != nil {
		return nil, err
	}
	out := make([]reply, 0, len(cmds))
	for range cmds {
		var r reply
		var err error
		if c.proto == protoLine {
			var line string
			line, err = c.line()
			r = reply{kind: 'L', str: line}
		} else {
			r, err = readReply(c.br, 0)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// do1 sends one command and reads its reply.
func (c *conn) do1(deadline time.Time, args ...string) (reply, error) {
	rs, err := c.do(deadline, args)
	if err != nil {
		return reply{}, err
	}
	return rs[0], nil
}

func (c *conn) line() (string, error) {
	s, err := c.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

var errProtocol = errors.New("malformed reply")

// readReply reads one RESP2 reply.
func readReply(br *bufio.Reader, depth int) (reply, error) {
	s, err := br.ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	s = strings.TrimSuffix(s, "\r\n")
	if len(s) == 0 || depth > 8 {
		return reply{}, errProtocol
	}
	r := reply{kind: s[0]}
	switch s[0] {
	case '+', '-':
		r.str = s[1:]
	case ':':
		if r.num, err = strconv.ParseInt(s[1:], 10, 64); err != nil {
			return reply{}, errProtocol
		}
	case '$':
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < -1 || n > 1<<20 {
			return reply{}, errProtocol
		}
		if n < 0 {
			r.null = true
			break
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return reply{}, err
		}
		r.str = string(buf[:n])
	case '*':
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < -1 || n > 1<<16 {
			return reply{}, errProtocol
		}
		if n < 0 {
			r.null = true
			break
		}
		for range n {
			e, err := readReply(br, depth+1)
			if err != nil {
				return reply{}, err
			}
			r.arr = append(r.arr, e)
		}
	default:
		return reply{}, errProtocol
	}
	return r, nil
}
