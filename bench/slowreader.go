//go:build ignore

// Slowreader is a client that pipelines many GETs of a large value and does
// not read the replies for a while: the server must hold what it cannot
// send. bench/slowreader.sh runs it against redis-server and data-cluster.
//
//	go run bench/slowreader.go -addr 127.0.0.1:6379 -pid 1234 -gets 300 -size 1048576 -hold 3s
//
// It sets one key to -size bytes, sends -gets GETs of it in one write, waits
// -hold without reading, then reads every reply and checks it. It prints the
// server's resident memory (read from /proc/PID/status) before, while held
// and after, in MiB, as "before,held,after", and exits with status 1 when a
// reply is wrong or missing.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "server address")
	pid := flag.Int("pid", 0, "the server's process id, for its memory")
	gets := flag.Int("gets", 300, "GETs pipelined without reading")
	size := flag.Int("size", 1<<20, "bytes of the value")
	hold := flag.Duration("hold", 3*time.Second, "how long the replies are left unread")
	flag.Parse()

	nc, err := net.Dial("tcp", *addr)
	check(err)
	r := bufio.NewReaderSize(nc, 1<<16)
	val := bytes.Repeat([]byte("v"), *size)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	var set bytes.Buffer
	fmt.Fprintf(&set, "*3\r\n$3\r\nSET\r\n$8\r\nslowread\r\n$%d\r\n", len(val))
	set.Write(val)
	set.WriteString("\r\n")
	_, err = nc.Write(set.Bytes())
	check(err)
	line, err := r.ReadString('\n')
	check(err)
	if line != "+OK\r\n" {
		fail("SET answered %q", line)
	}
	before := rss(*pid)

	get := []byte("*2\r\n$3\r\nGET\r\n$8\r\nslowread\r\n")
	go func() {
		_, err := nc.Write(bytes.Repeat(get, *gets))
		check(err)
	}()
	time.Sleep(*hold)
	held := rss(*pid)

	want := []byte("$" + strconv.Itoa(len(val)) + "\r\n")
	got := make([]byte, len(val)+2)
	for i := 0; i < *gets; i++ {
		line, err := r.ReadString('\n')
		check(err)
		if line != string(want) {
			fail("reply %d starts %q, want %q", i, line, want)
		}
		_, err = io.ReadFull(r, got)
		check(err)
		if !bytes.Equal(got[:len(val)], val) || string(got[len(val):]) != "\r\n" {
			fail("reply %d: wrong value", i)
		}
	}
	fmt.Printf("%.1f,%.1f,%.1f\n", before, held, rss(*pid))
}

// rss returns the resident memory of process pid in MiB, 0 without a pid.
func rss(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	check(err)
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			check(err)
			return kb / 1024
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "slowreader: "+format+"\n", a...)
	os.Exit(1)
}
