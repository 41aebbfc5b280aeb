package testutil

import (
	"net"
	"strconv"
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
	b.Reset()
	b.Write([]byte("y"))
	if got := b.String(); got != "y" {
		t.Fatalf("after Reset and a write: %q, want y", got)
	}
}

func TestAwait(t *testing.T) {
	n := 0
	Await(t, time.Second, func() bool { n++; return n == 3 }, func() string { return "never" })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
}

func TestFreeAddr(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		addr := FreeAddr(t)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("FreeAddr gave %s, which cannot be listened on: %v", addr, err)
		}
		ln.Close()
		if low := ephemeralLow(); low > minPort+1000 {
			_, p, _ := net.SplitHostPort(addr)
			if port, _ := strconv.Atoi(p); port < minPort || port >= low {
				t.Fatalf("FreeAddr gave %s, outside [%d, %d)", addr, minPort, low)
			}
		}
		seen[addr] = true
	}
	if len(seen) < 2 {
		t.Fatalf("20 calls gave %d address(es)", len(seen))
	}
}
