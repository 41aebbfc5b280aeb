// Package sockio reads non-blocking sockets through their file descriptors,
// for the connections that syscall.RawConn.Read drives: the client
// connections' raw reads (internal/server, internal/cluster) and a peer
// connection's reads (internal/peer). Read makes the one read(2) such a loop needs and tells
// an empty socket apart, so that the loop waits for the poller instead.
package sockio

import "errors"

// ErrWait is Read's error for a socket with nothing to read yet.
var ErrWait = errors.New("sockio: nothing to read")
