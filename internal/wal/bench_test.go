package wal

import (
	"fmt"
	"testing"
)

// BenchmarkLogSet measures recording one SET of a 16-byte key and value, as
// a shard does per command: the record is appended to the buffer, and the
// buffer written every batch commands.
func BenchmarkLogSet1(b *testing.B)  { benchmarkLogSet(b, 1) }
func BenchmarkLogSet16(b *testing.B) { benchmarkLogSet(b, 16) }
func BenchmarkLogSet64(b *testing.B) { benchmarkLogSet(b, 64) }

func benchmarkLogSet(b *testing.B, batch int) {
	n := mustOpenBench(b)
	defer n.close()
	l := n.st.Logs()[0]
	key, value := []byte("key:000000123456"), []byte("val:000000123456")
	b.SetBytes(int64(len(appendSet(nil, key, value, 0))))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Set(key, value, 0)
		if i++; i == batch {
			l.Commit()
			i = 0
		}
	}
	l.Commit()
}

func mustOpenBench(b *testing.B) *node {
	n, err := openNode(b, b.TempDir(), 1, 8, func(c *Config) { c.Fsync = FsyncNo; c.SnapshotLogSize = 1 << 40 })
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkAppendSet measures encoding alone.
func BenchmarkAppendSet(b *testing.B) {
	key, value := []byte("key:000000123456"), []byte(fmt.Sprintf("%016d", 7))
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendSet(buf[:0], key, value, 0)
	}
}
