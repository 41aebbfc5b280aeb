//go:build !linux

package fsutil

import "os"

// Write writes b to f at f's current offset, as f.Write does. Only one
// goroutine at a time may write f.
func Write(f *os.File, b []byte) (int, error) { return f.Write(b) }

// WriteHeld is Write here.
func WriteHeld(f *os.File, b []byte) (int, error) { return f.Write(b) }
