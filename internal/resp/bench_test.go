package resp

import (
	"strings"
	"testing"
)

var setCommand = []byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$32\r\n" + strings.Repeat("v", 32) + "\r\n")

func BenchmarkReadCommandSet(b *testing.B) {
	lim := DefaultLimits()
	dst := make([][]byte, 0, 8)
	b.SetBytes(int64(len(setCommand)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _, _ = ReadCommand(setCommand, dst[:0], lim)
	}
}

func BenchmarkReadCommandInline(b *testing.B) {
	line := []byte("SET key:000000000001 \"a quoted\\x20value\"\r\n")
	work := make([]byte, len(line))
	lim := DefaultLimits()
	dst := make([][]byte, 0, 8)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, line)
		dst, _, _ = ReadCommand(work, dst[:0], lim)
	}
}

func BenchmarkReadCommandPipeline1(b *testing.B)  { benchmarkPipeline(b, 1) }
func BenchmarkReadCommandPipeline16(b *testing.B) { benchmarkPipeline(b, 16) }
func BenchmarkReadCommandPipeline64(b *testing.B) { benchmarkPipeline(b, 64) }

// benchmarkPipeline parses a buffer of n SET commands, as a server does after
// one read from a pipelining client.
func benchmarkPipeline(b *testing.B, n int) {
	var buf []byte
	for range n {
		buf = append(buf, setCommand...)
	}
	lim := DefaultLimits()
	dst := make([][]byte, 0, 8)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for rest := buf; len(rest) > 0; {
			var used int
			dst, used, _ = ReadCommand(rest, dst[:0], lim)
			rest = rest[used:]
		}
	}
}

func BenchmarkReadCommandBigBulkPartial(b *testing.B) {
	// A 1 MiB value of which half has arrived: what a server pays per read
	// if it calls ReadCommand again instead of waiting for Need bytes.
	head := "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$1048576\r\n"
	buf := []byte(head + strings.Repeat("v", 512<<10))
	lim := DefaultLimits()
	dst := make([][]byte, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		dst, _, _ = ReadCommand(buf, dst[:0], lim)
	}
}

func BenchmarkWriterBulk(b *testing.B) {
	var w Writer
	value := []byte(strings.Repeat("v", 32))
	w.AppendBulk(value)
	b.SetBytes(int64(w.Len()))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		w.AppendBulk(value)
	}
}

func BenchmarkWriterInt(b *testing.B) {
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		w.AppendInt(1234567)
	}
}

func BenchmarkWriterOK(b *testing.B) {
	var w Writer
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		w.AppendOK()
	}
}

func BenchmarkWriterDouble(b *testing.B) {
	var w Writer
	w.SetProto(3)
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		w.AppendDouble(3.14159)
	}
}

func BenchmarkWriterBatch16(b *testing.B) {
	// The replies to a 16-command pipeline of GETs, flushed in one write.
	var w Writer
	value := []byte(strings.Repeat("v", 32))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		for range 16 {
			w.AppendBulk(value)
		}
	}
}
