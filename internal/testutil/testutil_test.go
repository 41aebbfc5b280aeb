package testutil

import (
	"math/rand/v2"
	"net"
	"runtime"
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

func TestReceive(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if got := Receive(t, ch, time.Second, "the value"); got != 7 {
		t.Fatalf("Receive: %d, want 7", got)
	}
	var failed bool
	done := make(chan struct{})
	go func() { // Fatalf ends the goroutine it runs on
		defer close(done)
		ft := &fatalT{TB: t, failed: &failed}
		Receive(ft, make(chan int), 10*time.Millisecond, "nothing")
	}()
	<-done
	if !failed {
		t.Fatal("Receive of a channel nothing is sent on did not fail the test")
	}
}

// fatalT records a call to Fatalf instead of failing the test.
type fatalT struct {
	testing.TB
	failed *bool
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(string, ...any) {
	*f.failed = true
	runtime.Goexit()
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
	if len(seen) != 20 {
		t.Fatalf("20 calls gave %d distinct address(es)", len(seen))
	}
}

// TestFreeAddrOnce draws from a range of eight ports: eight calls must give
// eight addresses, since a test binds none of them before it asks for the
// next.
func TestFreeAddrOnce(t *testing.T) {
	from := minPort + 1000 + rand.IntN(8000)
	seen := map[string]bool{}
	for range 8 {
		addr := freeAddrIn(t, from, from+8)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
	}
}
