// Package testutil holds small helpers that tests in several packages share.
package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// Aliases reports whether b's bytes lie in the memory of buf (up to its
// capacity): for tests that check a slice was handed on, not copied.
func Aliases(b, buf []byte) bool {
	if len(b) == 0 || cap(buf) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf[:1])))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return at >= lo && at+uintptr(len(b)) <= lo+uintptr(cap(buf))
}

// Await waits until cond holds, looking every millisecond, and fails t
// with what's message once d has passed: for tests that wait for an event
// the code under test publishes (a count reaching a value), never for a
// fixed time.
func Await(t testing.TB, d time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what())
		}
		time.Sleep(time.Millisecond)
	}
}

// Receive returns the first value sent on ch, failing t with a message
// naming what once d has passed with none: for a reply the code under test
// must send.
func Receive[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing after %v", what, d)
		panic("unreachable") // Fatalf does not return
	}
}

// SyncBuffer is a bytes.Buffer that one goroutine (a server's logger, a
// progress writer) may write while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Reset forgets what was written so far.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
