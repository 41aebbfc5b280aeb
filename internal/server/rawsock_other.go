//go:build !linux

package server

import (
	"net"
	"syscall"
)

// rawSock is unused off Linux (see rawsock_linux.go): connections use the
// net package's calls.
type rawSock struct{ rc syscall.RawConn }

const rawSockets = false

func newRawSock(net.Conn) *rawSock { return nil }

func (*rawSock) read([]byte) (int, error)          { panic("unreachable") }
func (*rawSock) write(*net.Buffers) (int64, error) { panic("unreachable") }

func readSocket(uintptr, []byte) (int, bool, error) { panic("unreachable") }
