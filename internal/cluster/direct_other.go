//go:build !unix

package cluster

// writeFD writes nothing where there is no Unix write on a socket: the
// reply then goes out by a blocking write of its own (see writeDirect).
func (c *clientConn) writeFD(uintptr) bool {
	c.dr.n, c.dr.werr = 0, nil
	return true
}
