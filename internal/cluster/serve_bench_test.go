package cluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// BenchmarkServeGet is a client's round of 16 pipelined GETs of a 100 kB
// value on a node, the key's group led on that node (local) or on another
// (forwarded), over a real TCP connection, the nodes in one process:
// go test -run X -bench ServeGet ./internal/cluster
func BenchmarkServeGet(b *testing.B) {
	tn := newTestNodes(b, 1, nil)
	addr := serveNode(b, tn, 0, ServerConfig{})
	n := tn.nodes[0]
	val := strings.Repeat("v", 100_000)
	for _, forwarded := range []bool{false, true} {
		key := ""
		for i := 0; key == ""; i++ {
			k := fmt.Sprintf("k%d", i)
			g := n.Table().GroupOfKey([]byte(k))
			if (n.Leader(n.v(), g) == 0) != forwarded {
				key = k
			}
		}
		if _, err := tn.do(0, Write, "SET", key, val); err != nil {
			b.Fatal(err)
		}
		get := fmt.Sprintf("*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(key), key)
		round := []byte(strings.Repeat(get, 16))
		want := fmt.Sprintf("$%d\r\n%s\r\n", len(val), val)
		b.Run(fmt.Sprintf("forwarded=%v", forwarded), func(b *testing.B) {
			c := dialRounds(b, addr, len(want))
			b.SetBytes(int64(16 * len(want)))
			b.ReportAllocs()
			for b.Loop() {
				c.round(b, round)
			}
			c.check(b, want)
		})
		// Clients at once, each on a connection of its own, as
		// redis-benchmark's.
		b.Run(fmt.Sprintf("forwarded=%v/clients=8", forwarded), func(b *testing.B) {
			b.SetBytes(int64(16 * len(want)))
			b.ReportAllocs()
			b.SetParallelism(4) // 8 on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				c := dialRounds(b, addr, len(want))
				ran := false
				for pb.Next() {
					c.round(b, round)
					ran = true
				}
				if ran {
					c.check(b, want)
				}
			})
		})
	}
}

// rounds is a client connection that sends rounds of 16 commands and reads
// their replies, each of a known length.
type rounds struct {
	nc  net.Conn
	rd  *bufio.Reader
	got []byte
}

func dialRounds(b *testing.B, addr string, replyLen int) *rounds {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	return &rounds{nc: nc, rd: bufio.NewReaderSize(nc, 64<<10), got: make([]byte, 16*replyLen)}
}

func (c *rounds) round(b *testing.B, cmds []byte) {
	if _, err := c.nc.Write(cmds); err != nil {
		b.Error(err)
		return
	}
	if _, err := io.ReadFull(c.rd, c.got); err != nil {
		b.Error(err)
	}
}

// check fails b unless the last round's replies are 16 times want.
func (c *rounds) check(b *testing.B, want string) {
	if string(c.got) != strings.Repeat(want, 16) {
		b.Errorf("got %.40q…, want %.40q…", c.got, want)
	}
}
