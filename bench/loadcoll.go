//go:build ignore

// Loadcoll fills a server that speaks the Redis protocol with hashes,
// sets or a sorted set, pipelined over a few connections, and prints the number of
// elements (fields or members) it stored. bench/collections.sh builds it to
// measure resident bytes per element.
//
//	go run bench/loadcoll.go -addr 127.0.0.1:6379 -kind hashes  -keys 100000 -elems 10
//	go run bench/loadcoll.go -addr 127.0.0.1:6379 -kind sets    -keys 100000 -elems 10
//	go run bench/loadcoll.go -addr 127.0.0.1:6379 -kind bighash -elems 1000000
//	go run bench/loadcoll.go -addr 127.0.0.1:6379 -kind bigzset -elems 1000000
//	go run bench/loadcoll.go -addr 127.0.0.1:6379 -kind lists   -keys 1000 -elems 1000
//
// hashes: keys hash:<i>, each with fields field:<j> holding value:<i>, in
// one HSET per key. sets: keys set:<i>, each with the integers j·100 + i%100
// (below 1000, so an intset in both servers), in one SADD per key. bighash:
// one key, bighash, with fields field:<i> holding value:<i>, -batch fields
// per HSET. bigzset: one key, bigzset, with members member:<i> scored by an
// integer below 1,000,000 that scatters them (i·2654435761 mod 1,000,000),
// -batch members per ZADD. lists: keys list:<i>, each with the 16-byte
// elements e<15 digits of j> in order, -batch elements per RPUSH, the
// pushes of every list interleaved (the first batch of every list, then
// the second…) so that all of them grow at once.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "the server's address")
	kind := flag.String("kind", "hashes", "what to load: hashes, sets, bighash, bigzset or lists")
	keys := flag.Int("keys", 100000, "keys to load (hashes, sets)")
	elems := flag.Int("elems", 10, "elements per key (for bighash: fields of the one hash)")
	batch := flag.Int("batch", 100, "bighash, bigzset, lists: fields per HSET, members per ZADD, elements per RPUSH")
	conns := flag.Int("conns", 4, "connections")
	window := flag.Int("window", 256, "commands in flight per connection")
	flag.Parse()

	var cmds int
	var build func(buf []byte, c int) []byte
	switch *kind {
	case "hashes":
		cmds = *keys
		build = func(buf []byte, i int) []byte {
			args := [][]byte{[]byte("HSET"), []byte("hash:" + strconv.Itoa(i))}
			for j := range *elems {
				args = append(args, []byte("field:"+strconv.Itoa(j)), []byte("value:"+strconv.Itoa(i)))
			}
			return appendCmd(buf, args)
		}
	case "sets":
		cmds = *keys
		build = func(buf []byte, i int) []byte {
			args := [][]byte{[]byte("SADD"), []byte("set:" + strconv.Itoa(i))}
			for j := range *elems {
				args = append(args, []byte(strconv.Itoa(j*100+i%100)))
			}
			return appendCmd(buf, args)
		}
	case "bighash":
		cmds = (*elems + *batch - 1) / *batch
		build = func(buf []byte, c int) []byte {
			args := [][]byte{[]byte("HSET"), []byte("bighash")}
			for i := c * *batch; i < min((c+1)**batch, *elems); i++ {
				s := strconv.Itoa(i)
				args = append(args, []byte("field:"+s), []byte("value:"+s))
			}
			return appendCmd(buf, args)
		}
	case "bigzset":
		cmds = (*elems + *batch - 1) / *batch
		build = func(buf []byte, c int) []byte {
			args := [][]byte{[]byte("ZADD"), []byte("bigzset")}
			for i := c * *batch; i < min((c+1)**batch, *elems); i++ {
				score := uint64(i) * 2654435761 % 1000000
				args = append(args, []byte(strconv.FormatUint(score, 10)), []byte("member:"+strconv.Itoa(i)))
			}
			return appendCmd(buf, args)
		}
	case "lists":
		per := (*elems + *batch - 1) / *batch
		cmds = *keys * per
		build = func(buf []byte, c int) []byte {
			i, b := c%*keys, c / *keys
			args := [][]byte{[]byte("RPUSH"), []byte("list:" + strconv.Itoa(i))}
			for j := b * *batch; j < min((b+1)**batch, *elems); j++ {
				args = append(args, fmt.Appendf(nil, "e%015d", j))
			}
			return appendCmd(buf, args)
		}
	default:
		fmt.Fprintln(os.Stderr, "loadcoll: unknown -kind", *kind)
		os.Exit(2)
	}

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, *conns)
	for n := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[n] = load(*addr, n, *conns, cmds, *window, build)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "loadcoll:", err)
		os.Exit(1)
	}
	total := *keys * *elems
	if *kind == "bighash" || *kind == "bigzset" {
		total = *elems
	}
	fmt.Fprintf(os.Stderr, "loadcoll: %d %s commands in %v\n", cmds, *kind, time.Since(start).Round(time.Millisecond))
	fmt.Println(total)
}

// load sends commands first, first+step, … below cmds on one connection,
// at most window of them unanswered, and checks that every reply is an
// integer or OK.
func load(addr string, first, step, cmds, window int, build func([]byte, int) []byte) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	sent := 0
	for i := first; i < cmds; i += step {
		sent++
	}
	credits := make(chan struct{}, window)
	readErr := make(chan error, 1)
	go func() {
		rd := bufio.NewReaderSize(nc, 64<<10)
		for range sent {
			line, err := rd.ReadSlice('\n')
			if err != nil {
				readErr <- err
				return
			}
			if line[0] != ':' && line[0] != '+' {
				readErr <- fmt.Errorf("unexpected reply %q", line)
				return
			}
			<-credits
		}
		readErr <- nil
	}()
	w := bufio.NewWriterSize(nc, 64<<10)
	var buf []byte
	for i := first; i < cmds; i += step {
		select {
		case credits <- struct{}{}:
		default:
			if err := w.Flush(); err != nil {
				return err
			}
			select {
			case credits <- struct{}{}:
			case err := <-readErr:
				return fmt.Errorf("replies ended early: %v", err)
			}
		}
		buf = build(buf[:0], i)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return <-readErr
}

// appendCmd appends args as a RESP array of bulk strings.
func appendCmd(b []byte, args [][]byte) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}
