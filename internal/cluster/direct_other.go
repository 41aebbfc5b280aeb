//go:build !unix

package cluster

// rawSockets says that direct replies and raw reads may use the socket's
// system calls (direct.go): not here.
const rawSockets = false

func (c *clientConn) writeFD(uintptr) bool { return true }
