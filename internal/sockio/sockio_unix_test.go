//go:build unix

package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// Read and Write over a non-blocking socket pair: an empty socket and a
// full one answer ErrWait, data written is read back whole, and a closed
// end reads as 0 bytes.
func TestReadWrite(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := uintptr(fds[0]), uintptr(fds[1])
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	if n, err := Read(b, buf); err != ErrWait || n != 0 {
		t.Fatalf("Read of an empty socket: %d, %v; want 0, ErrWait", n, err)
	}
	if n, err := Write(a, []byte("hello")); err != nil || n != 5 {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if n, err := Read(b, buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read: %q, %v; want hello", buf[:n], err)
	}
	// Fill a's send side until it takes nothing; every byte taken must
	// then be read back.
	chunk := bytes.Repeat([]byte("x"), 4096)
	sent := 0
	for i := 0; ; i++ {
		if i > 1<<16 {
			t.Fatal("the socket never filled")
		}
		n, err := Write(a, chunk)
		if err == ErrWait {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	got := 0
	for got < sent {
		n, err := Read(b, buf)
		if err != nil {
			t.Fatalf("Read after %d of %d bytes: %v", got, sent, err)
		}
		got += n
	}
	if n, err := Read(b, buf); err != ErrWait {
		t.Fatalf("Read past what was written: %d, %v; want ErrWait", n, err)
	}
	syscall.Close(fds[1])
	if _, err := Write(a, chunk); err == nil || err == ErrWait {
		t.Fatalf("Write to a closed peer: %v; want a system error", err)
	}
	syscall.Close(fds[0])

	fds, err = syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(fds[0])
	n, err := Read(uintptr(fds[1]), buf)
	syscall.Close(fds[1])
	if err != nil || n != 0 {
		t.Fatalf("Read of a closed peer: %d, %v; want 0, nil", n, err)
	}
}

// A Writer over TCP: a buffer far larger than the socket's buffers, so
// that Write meets a full socket and waits for the poller, arrives whole
// and in order, and a write the peer does not read
// ends at the connection's write deadline with what was written counted.
func TestWriter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var w Writer
	if w.Ready() {
		t.Fatal("a Writer is ready before Init")
	}
	w.Init(rc)

	big := make([]byte, 16<<20)
	for i := range big {
		big[i] = byte(i * 7 / 3)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(big))))
		got <- b
	}()
	if n, err := w.Write(big); err != nil || n != len(big) {
		t.Fatalf("Write of %d bytes: %d, %v", len(big), n, err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("the reader got %d bytes, not the %d written in order", len(b), len(big))
	}

	// Nobody reads now: the write stops at the deadline. The kernel's
	// buffers, grown by the transfer above, may take the first writes
	// whole (up to 32 MiB received and 4 MiB sent here): the one that
	// fills them stops.
	c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	var n int
	for range 8 {
		if n, err = w.Write(big); err != nil {
			break
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(big) {
		t.Fatalf("Write to a socket nobody reads: %d of %d bytes, %v; want fewer, os.ErrDeadlineExceeded", n, len(big), err)
	}
}
