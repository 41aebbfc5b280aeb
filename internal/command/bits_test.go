package command

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// TestBitsRedis checks the replies recorded from redis-server 7.0.15 (see
// bits_record_test.go), on three shards so that BITOP's keys live apart.
func TestBitsRedis(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto int
		cases []step
	}{
		{"resp2", 2, bitsCases},
		{"overflow", 2, bitsOverflowCases},
		{"resp3", 3, bitsResp3Cases},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.cases) == 0 {
				t.Fatal("no cases")
			}
			h := newHarness(t, 3)
			h.proto(tc.proto)
			h.check(tc.cases)
		})
	}
}

// TestBitsNoPanic runs every bit command with random arguments, extreme
// numbers and every option included, on strings, a hash and missing keys:
// each must reply, never panic.
func TestBitsNoPanic(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 11))
	words := []string{"k", "j", "h", "nokey", "0", "1", "-1", "2", "7", "8", "63", "64", "100", "-100", "4294967296",
		"9223372036854775807", "-9223372036854775808", "x", "", "bit", "byte", "and", "or", "xor", "not",
		"get", "set", "incrby", "overflow", "wrap", "sat", "fail", "i1", "i8", "i64", "u1", "u8", "u63", "u64", "i0",
		"#0", "#1", "#-1", "#", "#67108864", "\xff\xff", "\x00"}
	h := newHarness(t, 3)
	h.do("set", "k", "\xff\x0f\x00")
	h.do("hset", "h", "f", "v")
	specs := append([]*Spec{}, bitCommands...)
	specs = append(specs, Redis["set"], Redis["append"], Redis["del"])
	h.noPanic(r, seed, specs, words, 20000, 8, nil)
}

// benchDB returns a Ctx over one in-memory shard, for benchmarks.
func benchDB(b *testing.B) *Ctx {
	r, err := ring.New(1, 64)
	if err != nil {
		b.Fatal(err)
	}
	c := &Ctx{W: new(resp.Writer)}
	c.Single(keyspace.New(memory.New()), 0, r)
	return c
}

// BenchmarkSetbitGrow sets the bit past the end of a string of n bytes,
// growing it by one byte, as a series of SETBITs at increasing offsets
// does: the time per call grows with n (the value is copied once into the
// new one, and once by the engine), not with n squared.
func BenchmarkSetbitGrow1K(b *testing.B)  { benchmarkSetbitGrow(b, 1<<10) }
func BenchmarkSetbitGrow16K(b *testing.B) { benchmarkSetbitGrow(b, 16<<10) }
func BenchmarkSetbitGrow256K(b *testing.B) {
	benchmarkSetbitGrow(b, 256<<10)
}
func BenchmarkSetbitGrow4M(b *testing.B) { benchmarkSetbitGrow(b, 4<<20) }

func benchmarkSetbitGrow(b *testing.B, n int) {
	c := benchDB(b)
	key := []byte("k")
	base := make([]byte, n)
	args := [][]byte{[]byte("setbit"), key, []byte(strconv.Itoa(8*n + 7)), []byte("1")}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c.DB(key).Set(key, base, storage.NoExpiry)
		c.W.Reset()
		b.StartTimer()
		setbitCommand(c, args)
	}
}

// BenchmarkSetbitFar sets one bit at offset 8n-1 of a missing key: the
// string of n zero bytes is made once.
func BenchmarkSetbitFar1M(b *testing.B)   { benchmarkSetbitFar(b, 1<<20) }
func BenchmarkSetbitFar16M(b *testing.B)  { benchmarkSetbitFar(b, 16<<20) }
func BenchmarkSetbitFar128M(b *testing.B) { benchmarkSetbitFar(b, 128<<20) }

func benchmarkSetbitFar(b *testing.B, n int) {
	c := benchDB(b)
	key := []byte("k")
	args := [][]byte{[]byte("setbit"), key, []byte(strconv.Itoa(8*n - 1)), []byte("1")}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c.DB(key).Delete(key)
		c.W.Reset()
		b.StartTimer()
		setbitCommand(c, args)
	}
}

// BenchmarkSetbitIn sets a random bit inside a string of 128 KiB, the
// case of bench/bits.sh.
func BenchmarkSetbitIn128K(b *testing.B) {
	c := benchDB(b)
	key := []byte("k")
	c.DB(key).Set(key, make([]byte, 128<<10), storage.NoExpiry)
	r := rand.New(rand.NewPCG(1, 2))
	offs := make([][]byte, 1024)
	for i := range offs {
		offs[i] = []byte(strconv.Itoa(r.IntN(1 << 20)))
	}
	args := [][]byte{[]byte("setbit"), key, nil, nil}
	ones := [][]byte{[]byte("0"), []byte("1")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		args[2], args[3] = offs[i%len(offs)], ones[i&1]
		c.W.Reset()
		setbitCommand(c, args)
		i++
	}
}

// BenchmarkBitcount128K counts the bits of a string of 128 KiB.
func BenchmarkBitcount128K(b *testing.B) {
	c := benchDB(b)
	key := []byte("k")
	v := make([]byte, 128<<10)
	for i := range v {
		v[i] = byte(i * 7)
	}
	c.DB(key).Set(key, v, storage.NoExpiry)
	args := [][]byte{[]byte("bitcount"), key}
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		c.W.Reset()
		bitcountCommand(c, args)
	}
}
