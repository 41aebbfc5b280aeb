//go:build ignore

// Wakeup measures how long a client blocked in BLPOP or BZPOPMIN waits
// between a push to its key and its reply, on any server that speaks the
// Redis protocol. bench/wakeup.sh runs it against data-cluster and
// redis-server side by side.
//
//	go run bench/wakeup.go -addr 127.0.0.1:6379 -n 2000 -cmd blpop
//
// Each sample: the waiter sends BLPOP wakeup:key 0 (or BZPOPMIN); a third
// connection polls INFO clients until blocked_clients is 1, so that the
// waiter is parked; the clock starts; the pusher sends RPUSH wakeup:key m
// (or ZADD wakeup:key 1 m); the clock stops when the waiter has read its
// whole reply. The pusher's own reply is read after. It prints "p50 p90
// p99 max mean" in microseconds.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "server address")
	n := flag.Int("n", 2000, "samples")
	cmd := flag.String("cmd", "blpop", "the blocking command: blpop or bzpopmin")
	flag.Parse()
	w, ok := waits[*cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "wakeup: -cmd %q: want blpop or bzpopmin\n", *cmd)
		os.Exit(2)
	}
	if err := run(*addr, *n, w); err != nil {
		fmt.Fprintln(os.Stderr, "wakeup:", err)
		os.Exit(1)
	}
}

// wait is a blocking command, the push that serves it, and the waiter's
// reply as reply() prints it.
type wait struct {
	block, push []string
	want        string
}

var waits = map[string]wait{
	"blpop":    {[]string{"BLPOP", "wakeup:key", "0"}, []string{"RPUSH", "wakeup:key", "m"}, "wakeup:key m "},
	"bzpopmin": {[]string{"BZPOPMIN", "wakeup:key", "0"}, []string{"ZADD", "wakeup:key", "1", "m"}, "wakeup:key m 1 "},
}

type conn struct {
	nc net.Conn
	rd *bufio.Reader
}

func dial(addr string) (*conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	nc.(*net.TCPConn).SetNoDelay(true)
	return &conn{nc: nc, rd: bufio.NewReader(nc)}, nil
}

func (c *conn) send(args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_, err := io.WriteString(c.nc, b.String())
	return err
}

// reply reads one whole reply and returns its text.
func (c *conn) reply() (string, error) {
	line, err := c.rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	switch line[0] {
	case '*':
		var k int
		fmt.Sscanf(line[1:], "%d", &k)
		var b strings.Builder
		for range k {
			s, err := c.reply()
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			b.WriteString(" ")
		}
		return b.String(), nil
	case '$':
		var k int
		fmt.Sscanf(line[1:], "%d", &k)
		if k < 0 {
			return "(nil)", nil
		}
		buf := make([]byte, k+2)
		if _, err := io.ReadFull(c.rd, buf); err != nil {
			return "", err
		}
		return string(buf[:k]), nil
	case '-':
		return "", fmt.Errorf("server error: %s", strings.TrimSpace(line))
	}
	return strings.TrimSpace(line), nil
}

// blocked reports blocked_clients from INFO clients.
func (c *conn) blocked() (string, error) {
	if err := c.send("INFO", "clients"); err != nil {
		return "", err
	}
	info, err := c.reply()
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "blocked_clients:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO clients without blocked_clients")
}

func run(addr string, n int, w wait) error {
	var cs [3]*conn
	for i := range cs {
		c, err := dial(addr)
		if err != nil {
			return err
		}
		defer c.nc.Close()
		cs[i] = c
	}
	waiter, pusher, watcher := cs[0], cs[1], cs[2]
	if err := pusher.send("DEL", "wakeup:key"); err != nil {
		return err
	}
	if _, err := pusher.reply(); err != nil {
		return err
	}
	lat := make([]time.Duration, 0, n)
	for range n {
		if err := waiter.send(w.block...); err != nil {
			return err
		}
		for {
			v, err := watcher.blocked()
			if err != nil {
				return err
			}
			if v == "1" {
				break
			}
		}
		start := time.Now()
		if err := pusher.send(w.push...); err != nil {
			return err
		}
		got, err := waiter.reply()
		d := time.Since(start)
		if err != nil {
			return err
		}
		if got != w.want {
			return fmt.Errorf("%s answered %q", w.block[0], got)
		}
		if _, err := pusher.reply(); err != nil {
			return err
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("%.1f %.1f %.1f %.1f %.1f\n", us(q(0.50)), us(q(0.90)), us(q(0.99)), us(lat[len(lat)-1]), us(sum/time.Duration(len(lat))))
	return nil
}
