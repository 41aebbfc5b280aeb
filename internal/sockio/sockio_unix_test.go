//go:build unix

package sockio

import (
	"bytes"
	"syscall"
	"testing"
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
