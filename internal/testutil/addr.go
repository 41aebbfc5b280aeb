package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// FreeAddr returns a loopback address with a port no one listens on, for a
// server that a test starts in another process (or restarts) and so cannot
// give "127.0.0.1:0".
//
// The port is taken below the kernel's range of ephemeral ports, which
// connect(2) and listen on port 0 draw from: the port of a closed listener
// in that range can be handed to any other socket of the machine (a
// client's connection, another test's server) before the test's server
// binds it, a port below it only to a server that asks for it by number.
// Where the range cannot be read or leaves too little room below it,
// FreeAddr falls back to a port the kernel picks.
//
// A port is handed out once per test binary: a test asks for several
// addresses before its servers bind any of them, and a port that is free
// when asked for twice would otherwise be given to two of its servers.
func FreeAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	if low <= minPort+1000 {
		low = 0
	}
	return freeAddrIn(t, minPort, low)
}

// freeAddrIn is FreeAddr drawing from the ports [from, to), or from the
// kernel's when to is 0.
func freeAddrIn(t testing.TB, from, to int) string {
	t.Helper()
	given.Lock()
	defer given.Unlock()
	if to > from {
		for range 100 {
			port := from + rand.IntN(to-from)
			if given.ports[port] {
				continue
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				given.ports[port] = true
				return addr
			}
		}
	}
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !given.ports[port] {
			given.ports[port] = true
			return fmt.Sprintf("127.0.0.1:%d", port)
		}
	}
	t.Fatal("no free loopback port that was not handed out before")
	return ""
}

// given is the ports FreeAddr has handed out.
var given = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// minPort is the lowest port FreeAddr hands out: above the well-known and
// most registered services' ports.
const minPort = 10000

// ephemeralLow returns the first port of the kernel's ephemeral range, or 0
// when it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	var low, high int
	if _, err := fmt.Sscan(string(b), &low, &high); err != nil {
		return 0
	}
	return low
}
