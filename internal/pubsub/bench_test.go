package pubsub

import (
	"fmt"
	"net"
	"sync"
	"testing"
)

// BenchmarkOutbox is the cost of delivering one message to 100
// subscribers' outboxes, each written by a writer that takes everything:
// copied into each outbox (put, as every message was before Share), or
// shared by all (share): go test -run X -bench Outbox ./internal/pubsub
func BenchmarkOutbox(b *testing.B) {
	for _, size := range []int{64, 4 << 10, 64 << 10} {
		for _, share := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=%d/share=%v", size, share), func(b *testing.B) { benchmarkOutbox(b, 100, size, share) })
		}
	}
}

func benchmarkOutbox(b *testing.B, subs, size int, share bool) {
	var wg sync.WaitGroup
	obs := make([]*Outbox, subs)
	for i := range obs {
		obs[i] = NewOutbox(func(v *net.Buffers) error {
			*v = (*v)[len(*v):]
			return nil
		}, Limits{}, func(int64, string) {})
	}
	msg := make([]byte, size)
	b.SetBytes(int64(size * subs))
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range obs {
			if share {
				o.Share(msg)
			} else {
				o.Put(msg)
			}
		}
	}
	b.StopTimer()
	for _, o := range obs {
		wg.Go(func() { o.Close(0) })
	}
	wg.Wait()
}
