package testutil

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 400) {
		t.Fatalf("got %d bytes, want 400", len(got))
	}
}

func TestAwait(t *testing.T) {
	n := 0
	Await(t, time.Second, func() bool { n++; return n == 3 }, func() string { return "never" })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
}
