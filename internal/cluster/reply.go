package cluster

import (
	"bytes"
	"errors"
	"strconv"
)

// errBadReply is returned when a group's reply is not of the expected shape.
var errBadReply = errors.New("unexpected reply from a shard group")

// readLine splits b after its first CRLF and returns the line without it.
func readLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return nil, nil, false
	}
	return b[:i], b[i+2:], true
}

// parseIntReply parses a RESP integer reply.
func parseIntReply(b []byte) (int64, bool) {
	l, _, ok := readLine(b)
	if !ok || len(l) < 2 || l[0] != ':' {
		return 0, false
	}
	v, err := strconv.ParseInt(string(l[1:]), 10, 64)
	return v, err == nil
}

// parseBulk parses one RESP bulk string and returns it and what follows.
func parseBulk(b []byte) (v, rest []byte, ok bool) {
	l, rest, ok := readLine(b)
	if !ok || len(l) < 2 || l[0] != '$' {
		return nil, nil, false
	}
	n, err := strconv.Atoi(string(l[1:]))
	if err != nil || n < 0 || len(rest) < n+2 {
		return nil, nil, false
	}
	return rest[:n], rest[n+2:], true
}

// parseBulkArray parses a RESP array of bulk strings, returning them and
// what follows the array.
func parseBulkArray(b []byte) (items [][]byte, rest []byte, ok bool) {
	l, rest, ok := readLine(b)
	if !ok || len(l) < 2 || (l[0] != '*' && l[0] != '~') {
		return nil, nil, false
	}
	n, err := strconv.Atoi(string(l[1:]))
	if err != nil || n < 0 {
		return nil, nil, false
	}
	items = make([][]byte, 0, n)
	for range n {
		var v []byte
		if v, rest, ok = parseBulk(rest); !ok {
			return nil, nil, false
		}
		items = append(items, v)
	}
	return items, rest, true
}

// parseScanReply splits SCAN's reply into its cursor and the encoded array
// of keys.
func parseScanReply(b []byte) (cursor uint64, keys []byte, ok bool) {
	l, rest, ok := readLine(b)
	if !ok || string(l) != "*2" {
		return 0, nil, false
	}
	v, rest, ok := parseBulk(rest)
	if !ok {
		return 0, nil, false
	}
	cursor, err := strconv.ParseUint(string(v), 10, 64)
	return cursor, rest, err == nil
}
