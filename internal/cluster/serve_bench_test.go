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
		b.Run(fmt.Sprintf("forwarded=%v", forwarded), func(b *testing.B) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			get := fmt.Sprintf("*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", len(key), key)
			round := []byte(strings.Repeat(get, 16))
			want := fmt.Sprintf("$%d\r\n%s\r\n", len(val), val)
			rd := bufio.NewReaderSize(nc, 64<<10)
			got := make([]byte, 16*len(want))
			b.SetBytes(int64(len(got)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nc.Write(round); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(rd, got); err != nil {
					b.Fatal(err)
				}
			}
			if string(got[:len(want)]) != want {
				b.Fatalf("got %.40q…, want %.40q…", got, want)
			}
		})
	}
}
