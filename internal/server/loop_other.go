//go:build !linux

package server

import (
	"errors"
	"net"
)

// The io_uring loop is Linux's (loop_linux.go): elsewhere every
// connection has a goroutine of its own.

type loop struct{}

func newLoop(*Server) (*loop, error) { return nil, errors.New("io_uring is Linux's") }

type loopListener struct{}

func (*loop) post(*conn) bool                         { return false }
func (*loop) close()                                  {}
func (*loop) listen(net.Listener, bool) *loopListener { return nil }
func (*loop) unlisten(*loopListener)                  {}

func (*conn) shutdownSocket()              { panic("unreachable") }
func (*conn) loopLeaves([][]byte) bool     { panic("unreachable") }
func (*conn) sendOnLoop(net.Buffers) error { panic("unreachable") }
func socketFD(*conn) (int, error)          { return -1, errors.New("io_uring is Linux's") }
