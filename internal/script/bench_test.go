package script

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// constHost answers every command with the same reply.
type constHost string

func (h constHost) Call(_ *command.Spec, _ [][]byte, w *resp.Writer) { w.AppendRaw([]byte(h)) }
func (h constHost) Busy(<-chan struct{}, string)                     {}

// BenchmarkRun measures one run of a small script calling redis.call
// once, against a host that answers at once: the engine's per-call cost.
func BenchmarkRun(b *testing.B) {
	e := New(DefaultConfig())
	sc, err := e.Cache.Load([]byte("return redis.call('incr', KEYS[1])"))
	if err != nil {
		b.Fatal(err)
	}
	h := constHost(":1\r\n")
	keys := [][]byte{[]byte("counter:000042")}
	var w resp.Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		e.Run(Request{Script: sc, Keys: keys, Host: h}, &w)
	}
}
