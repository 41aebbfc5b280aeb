package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
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
func FreeAddr(t testing.TB) string {
	t.Helper()
	if low := ephemeralLow(); low > minPort+1000 {
		for range 100 {
			addr := fmt.Sprintf("127.0.0.1:%d", minPort+rand.IntN(low-minPort))
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				return addr
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

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
