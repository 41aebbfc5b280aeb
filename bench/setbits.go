//go:build ignore

// Setbits loads a server that speaks the Redis protocol with SETBIT key
// offset 1 at random offsets below -range, as redis-benchmark -P -c would
// (whose __rand_int__ is zero-padded, which Redis refuses as an offset).
// bench/bits.sh runs it against data-cluster and redis-server side by side.
//
//	go run bench/setbits.go -addr 127.0.0.1:6379 -clients 50 -pipeline 16 -n 1000000
//
// Each connection sends -pipeline commands in one write, then reads their
// replies; a command's latency is the time from its batch's send to its
// reply. It prints "rps,p50,p99", latencies in milliseconds, and exits
// with status 1 on an error reply.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "server address")
	clients := flag.Int("clients", 50, "connections")
	pipeline := flag.Int("pipeline", 16, "commands per batch")
	n := flag.Int("n", 1000000, "commands in all")
	rng := flag.Int("range", 1<<20, "offsets are below this")
	key := flag.String("key", "bits", "the key")
	flag.Parse()

	per := *n / *clients / *pipeline // batches per connection
	lat := make([][]time.Duration, *clients)
	errs := make(chan error, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", *addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			r := rand.New(rand.NewPCG(uint64(c), 1))
			rd := bufio.NewReader(conn)
			var buf []byte
			for range per {
				buf = buf[:0]
				for range *pipeline {
					off := strconv.Itoa(r.IntN(*rng))
					buf = fmt.Appendf(buf, "*4\r\n$6\r\nSETBIT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$1\r\n1\r\n", len(*key), *key, len(off), off)
				}
				t0 := time.Now()
				if _, err := conn.Write(buf); err != nil {
					errs <- err
					return
				}
				for range *pipeline {
					line, err := rd.ReadString('\n')
					if err != nil {
						errs <- err
						return
					}
					if line[0] != ':' {
						errs <- fmt.Errorf("reply %q", line)
						return
					}
					lat[c] = append(lat[c], time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		fmt.Fprintln(os.Stderr, "setbits:", err)
		os.Exit(1)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e6 }
	fmt.Printf("%.0f,%.3f,%.3f\n", float64(len(all))/elapsed.Seconds(), ms(0.5), ms(0.99))
}
