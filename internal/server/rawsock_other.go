//go:build !linux

package server

import "net"

// rawSock is unused off Linux (see rawsock_linux.go): connections use the
// net package's calls.
type rawSock struct{}

func newRawSock(net.Conn) *rawSock { return nil }

func (*rawSock) read([]byte) (int, error)          { panic("unreachable") }
func (*rawSock) write(*net.Buffers) (int64, error) { panic("unreachable") }
