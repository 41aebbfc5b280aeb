//go:build !unix

package cluster

import "errors"

// rawSockets says that direct replies and raw reads may use the socket's
// system calls (direct.go): not here.
const rawSockets = false

func (c *clientConn) writeFD(uintptr) bool { return true }

func readSocket(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
