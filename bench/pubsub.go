//go:build ignore

// Pubsub measures PUBLISH on any server that speaks the Redis protocol:
// S subscribers of one channel, each on its own connection reading all it
// gets, and P publishers sending PUBLISH pipelined D deep for a duration.
// It prints "publishes/s deliveries/s" once every subscriber has read
// every message published. bench/pubsub.sh runs it against data-cluster
// and redis-server side by side.
//
//	go run bench/pubsub.go -addr 127.0.0.1:6379 -subs 100 -pubs 4 -depth 16 -duration 5s
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "server address")
	subs := flag.Int("subs", 100, "subscribers")
	pubs := flag.Int("pubs", 4, "publishers")
	depth := flag.Int("depth", 16, "PUBLISH commands in flight per publisher")
	dur := flag.Duration("duration", 5*time.Second, "how long to publish")
	size := flag.Int("size", 16, "bytes per message")
	flag.Parse()
	if err := run(*addr, *subs, *pubs, *depth, *dur, *size); err != nil {
		fmt.Fprintln(os.Stderr, "pubsub:", err)
		os.Exit(1)
	}
}

func cmd(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

func run(addr string, nsubs, npubs, depth int, dur time.Duration, size int) error {
	var got atomic.Int64
	var ready, done sync.WaitGroup
	// Each subscriber counts the messages it reads: a message is a line
	// starting "*3" followed by its three bulk strings (7 lines).
	var conns []net.Conn
	for range nsubs {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		conns = append(conns, nc)
		if _, err := nc.Write(cmd("SUBSCRIBE", "bench")); err != nil {
			return err
		}
		rd := bufio.NewReaderSize(nc, 64<<10)
		for range 6 { // *3 $9 subscribe $5 bench :1
			if _, err := rd.ReadString('\n'); err != nil {
				return err
			}
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			for {
				line, err := rd.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) > 1 && line[0] == '*' {
					got.Add(1)
				}
			}
		}()
	}
	ready.Wait()
	payload := strings.Repeat("m", size)
	one := cmd("PUBLISH", "bench", payload)
	var published atomic.Int64
	start := time.Now()
	deadline := start.Add(dur)
	var pw sync.WaitGroup
	errs := make(chan error, npubs)
	for range npubs {
		pw.Go(func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			rd := bufio.NewReaderSize(nc, 64<<10)
			batch := make([]byte, 0, len(one)*depth)
			for range depth {
				batch = append(batch, one...)
			}
			for time.Now().Before(deadline) {
				if _, err := nc.Write(batch); err != nil {
					errs <- err
					return
				}
				for range depth {
					line, err := rd.ReadSlice('\n')
					if err != nil {
						errs <- err
						return
					}
					if line[0] != ':' {
						errs <- fmt.Errorf("PUBLISH answered %q", line)
						return
					}
				}
				published.Add(int64(depth))
			}
		})
	}
	pw.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	want := published.Load() * int64(nsubs)
	for got.Load() < want && time.Since(deadline) < 60*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for _, nc := range conns {
		nc.Close()
	}
	done.Wait()
	if got.Load() < want {
		return fmt.Errorf("%d of %d deliveries arrived", got.Load(), want)
	}
	fmt.Printf("%.0f %.0f\n", float64(published.Load())/dur.Seconds(), float64(got.Load())/elapsed.Seconds())
	return nil
}
