//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/uring"
)

// TestModesAnswerEveryCommand sends, on many connections at once, pipelines
// of random depth whose commands carry values of random size, some larger
// than a read buffer, and checks that every mode answers each command once
// and never leaves a connection waiting: a lost wake-up (raw's reads, the
// io_uring's receives) shows as a connection that stops getting replies,
// which the read deadline turns into a failure.
func TestModesAnswerEveryCommand(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	for _, mode := range []string{"goroutine", "hop", "inline", "raw", "epoll", "uring"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "uring" {
				// Some hosts refuse io_uring (containers whose seccomp
				// profile blocks it, older kernels): the mode cannot run
				// there, which is no failure of the others.
				r, err := uring.New(uring.Options{Entries: 8, BufCount: 8, BufSize: 4096, SingleIssuer: true})
				if err != nil {
					t.Skipf("NOT TESTED: this host refuses the io_uring the mode needs: %v", err)
				}
				r.Close()
			}
			serve, port, err := listen(mode, "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			served := make(chan error, 1)
			go func() { served <- serve() }()
			const conns, rounds = 20, 200
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- client(port, rounds, rand.New(rand.NewPCG(seed, uint64(i))))
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("seed %d: %v", seed, err)
				}
			}
			select {
			case err := <-served:
				t.Fatalf("server ended: %v", err)
			default:
			}
		})
	}
}

// client sends rounds pipelines to port and checks their replies.
func client(port, rounds int, rng *rand.Rand) error {
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	want := []byte("$-1\r\n")
	got := make([]byte, len(want))
	var req []byte
	for round := range rounds {
		depth := 1 + rng.IntN(8)
		req = req[:0]
		for range depth {
			size := rng.IntN(64)
			if rng.IntN(10) == 0 {
				size = rng.IntN(40 << 10) // beyond one 16 KiB read
			}
			req = fmt.Appendf(req, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n", size, bytes.Repeat([]byte("x"), size))
		}
		// Write and read at once: a large pipeline's replies may come
		// back before all of it is written.
		wrote := make(chan error, 1)
		go func() {
			_, err := c.Write(req)
			wrote <- err
		}()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := range depth {
			if _, err := io.ReadFull(r, got); err != nil {
				return fmt.Errorf("round %d, reply %d of %d: %w", round, i+1, depth, err)
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("round %d, reply %d: got %q, want %q", round, i+1, got, want)
			}
		}
		if err := <-wrote; err != nil {
			return fmt.Errorf("round %d: write: %w", round, err)
		}
	}
	return nil
}
