//go:build !unix

package peer

import "net"

// rawConn is the non-blocking writer of unix systems; elsewhere Send
// queues every frame for the writer goroutine.
type rawConn struct{}

// newRawConn returns nil: no frame is written by Send itself.
func newRawConn(net.Conn) *rawConn { return nil }

// tryWrite is never called.
func (*rawConn) tryWrite([]byte) (int, error) { return 0, nil }
