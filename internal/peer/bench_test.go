package peer

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
)

func BenchmarkTransport64(b *testing.B)  { benchmarkTransport(b, 64) }
func BenchmarkTransport1K(b *testing.B)  { benchmarkTransport(b, 1<<10) }
func BenchmarkTransport64K(b *testing.B) { benchmarkTransport(b, 64<<10) }
func BenchmarkNetwork64(b *testing.B)    { benchmarkNetwork(b, 64) }

// benchmarkTransport sends frames of size bytes from one transport to
// another over loopback, as fast as the sender's queue takes them.
func benchmarkTransport(b *testing.B, size int) {
	var got atomic.Int64
	last := make(chan struct{})
	h := HandlerFunc(func(_ string, f Frame) {
		got.Add(1)
		if f.Kind == 1 {
			close(last)
		}
	})
	lnA, lnB := listen(b, ""), listen(b, "")
	addrs := map[string]string{"a": lnA.Addr().String(), "b": lnB.Addr().String()}
	up := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var trs []*Transport
	for _, id := range []string{"a", "b"} {
		cfg := testConfig(id, map[string]*countingListener{"a": lnA, "b": lnB}[id], addrs, newBoard())
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.OnDisconnect = nil
		cfg.OnConnect = nil
		if id == "a" {
			cfg.OnConnect = func(string) { close(up) }
		}
		tr, err := New(cfg, h)
		if err != nil {
			b.Fatal(err)
		}
		trs = append(trs, tr)
	}
	done := make(chan struct{}, 2)
	for _, tr := range trs {
		go func() {
			tr.Run(ctx)
			done <- struct{}{}
		}()
	}
	defer func() {
		cancel()
		<-done
		<-done
	}()
	<-up

	a := trs[0]
	f := Frame{Group: 7, Data: make([]byte, size)}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	sent := 0
	for b.Loop() {
		for !a.Send("b", f) {
			runtime.Gosched()
		}
		sent++
	}
	for !a.Send("b", Frame{Kind: 1}) {
		runtime.Gosched()
	}
	<-last
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "frames/s")
	if got.Load() != int64(sent+1) {
		b.Fatalf("got %d frames, want %d", got.Load(), sent+1)
	}
}

// benchmarkNetwork sends frames of size bytes between two members of an
// in-memory network.
func benchmarkNetwork(b *testing.B, size int) {
	n := NewNetwork(1)
	defer n.Close()
	last := make(chan struct{})
	s := n.Join("a", HandlerFunc(func(string, Frame) {}))
	n.Join("b", HandlerFunc(func(_ string, f Frame) {
		if f.Kind == 1 {
			close(last)
		}
	}))
	f := Frame{Data: make([]byte, size)}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for !s.Send("b", f) {
			runtime.Gosched()
		}
	}
	for !s.Send("b", Frame{Kind: 1}) {
		runtime.Gosched()
	}
	<-last
}
