package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/slot"
)

// BenchmarkGate is the cost of running a GET on a replica that moves no
// slot, and on one that gave slots away (every command is then checked
// against the leaving slots): go test -run X -bench Gate ./internal/cluster
func BenchmarkGate(b *testing.B) {
	for _, away := range []bool{false, true} {
		b.Run(fmt.Sprintf("away=%v", away), func(b *testing.B) {
			g := newGateGroup(b)
			g.run([][][]byte{{[]byte("SET"), []byte("key:1"), []byte("v")}}, 2, false, nil, time.Time{})
			if away {
				for s := range uint16(slot.Count) {
					g.mv.leave(s, 1)
				}
			}
			cmds := [][][]byte{{[]byte("GET"), []byte("key:1")}}
			if g.run(cmds, 2, false, nil, time.Time{}); string(g.w.Bytes()) != "$1\r\nv\r\n" {
				b.Fatalf("GET answered %q", g.w.Bytes())
			}
			b.ReportAllocs()
			for b.Loop() {
				g.run(cmds, 2, false, nil, time.Time{})
			}
		})
	}
}
