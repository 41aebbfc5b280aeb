// Package resp reads requests and writes replies in the Redis serialization
// protocol (RESP2 and RESP3). It does no networking: the server reads bytes
// into a buffer, calls ReadCommand until the buffer holds no whole request,
// runs the commands, appends their replies to a Writer and flushes the
// Writer's bytes once per batch.
//
// # Requests
//
// A request is either a multibulk or an inline command, told apart by its
// first byte, exactly as Redis 7 does (processMultibulkBuffer and
// processInlineBuffer in networking.c).
//
// A multibulk starts with '*':
//
//	*<count>\r\n
//	$<len>\r\n<len bytes>\r\n     (count times)
//
// A count of zero or less is an empty request: it is consumed and yields no
// arguments. Like Redis, the parser looks for the '\r' that ends a header and
// then skips it and the byte after it, and skips the two bytes that follow a
// bulk's payload, without checking that they are "\n" and "\r\n".
//
// Any other first byte starts an inline command: one line ended by "\n" (a
// "\r" before it is dropped) and split into arguments as redis-cli and
// Redis's sdssplitargs do: blanks separate arguments; double quotes allow the
// escapes \n \r \t \b \a \xHH and \<any byte>; single quotes allow \'; a
// closing quote must be followed by a blank or the end of the line.
//
// Arguments of a multibulk are sub-slices of the caller's buffer. So are those
// of an inline command: quoted arguments are unescaped in place, which is why
// ReadCommand may rewrite the bytes of the line it consumes.
//
// # Where the parser differs from Redis
//
// Redis scans headers and inline lines with C string functions, which stop at
// a NUL byte: a header or inline line with a NUL in it never ends, and Redis
// waits for more bytes until the line limit is passed. This parser treats NUL
// as an ordinary byte, so such a header fails at once ("invalid multibulk
// length", "invalid bulk length", "expected '$', got ..."), and an inline
// argument may contain NUL.
//
// Redis applies its line limits (PROTO_INLINE_MAX_SIZE) to whatever its
// last read left in the buffer, so whether an overlong line is refused
// depends on how the bytes were split across reads. This parser refuses any
// inline line or header longer than Limits.MaxInlineLen, however the bytes
// arrived.
//
// # Replies
//
// Writer appends replies to a byte slice, in RESP2 by default or in RESP3
// after SetProto(3); each method documents how a RESP3 type is rendered in
// RESP2, as Redis does.
package resp
