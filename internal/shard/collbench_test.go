package shard

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"

	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
)

// benchmarkCollection runs what `redis-benchmark -t test -P 16 -r 100000`
// sends, without the network: batches of 16 commands on one key, built by
// args from a random number below 100000, through a shard on the server's
// engine. fill, when not nil, runs once first (RPOP and LRANGE need a
// list). It reports ns/cmd, the shard's time per command.
func benchmarkCollection(b *testing.B, fill [][]string, args func(r int) []string) {
	r, _ := ring.New(1, 1)
	s, _ := New(0, arena.New(), r, DefaultConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	done := make(chan *Batch, 1)
	run := func(bt *Batch) {
		s.Reserve(len(bt.Cmds))
		s.Submit(bt)
		<-done
	}
	for _, f := range fill {
		run(&Batch{Cmds: []Cmd{redisCmd(f...)}, Done: done})
	}
	// Filling leaves garbage whose collection is no part of the commands'
	// time.
	runtime.GC()
	// 64 batches of 16 prepared commands, used in turn.
	rnd := rand.New(rand.NewPCG(1, 2))
	batches := make([][]Cmd, 64)
	for i := range batches {
		for range 16 {
			batches[i] = append(batches[i], redisCmd(args(rnd.IntN(100000))...))
		}
	}
	bt := &Batch{Done: done}
	b.ReportAllocs()
	i := 0
	cpu := cpuTime()
	for b.Loop() {
		bt.Reset()
		bt.Cmds = append(bt.Cmds, batches[i%len(batches)]...)
		run(bt)
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/cmd")
	// The process's CPU time per command, steadier than the elapsed time
	// on a machine that others share.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N*16), "cpu-ns/cmd")
}

// cpuTime returns the CPU time the process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// member is redis-benchmark's element:__rand_int__.
func member(r int) string { return fmt.Sprintf("element:%012d", r) }

// fillMembers returns the commands name that fill key with n members of
// redis-benchmark's form (with a score for ZADD, a value for HSET when
// value), as a long run of the benchmark's command does.
func fillMembers(name, key string, n int, value bool) [][]string {
	var cmds [][]string
	for i := 0; i < n; i += 1000 {
		c := []string{name, key}
		for j := i; j < min(i+1000, n); j++ {
			if name == "zadd" {
				c = append(c, fmt.Sprint(j))
			}
			c = append(c, member(j))
			if value {
				c = append(c, "xxx")
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func BenchmarkCollectionSADD(b *testing.B) {
	benchmarkCollection(b, fillMembers("sadd", "myset", 100000, false), func(r int) []string {
		return []string{"SADD", "myset", member(r)}
	})
}

func BenchmarkCollectionHSET(b *testing.B) {
	benchmarkCollection(b, fillMembers("hset", "myhash", 100000, true), func(r int) []string {
		return []string{"HSET", "myhash", member(r), "xxx"}
	})
}

func BenchmarkCollectionSPOP(b *testing.B) {
	// SPOP empties the set within the first batches, as it does in
	// redis-benchmark, whose SPOP follows SADD on 100000 members.
	benchmarkCollection(b, fillMembers("sadd", "myset", 100000, false), func(int) []string {
		return []string{"SPOP", "myset"}
	})
}

func BenchmarkCollectionZADD(b *testing.B) {
	benchmarkCollection(b, fillMembers("zadd", "myzset", 100000, false), func(r int) []string {
		return []string{"ZADD", "myzset", fmt.Sprint(r), member(r)}
	})
}

func BenchmarkCollectionLPUSH(b *testing.B) {
	benchmarkCollection(b, nil, func(int) []string { return []string{"LPUSH", "mylist", "xxx"} })
}

func BenchmarkCollectionZPOPMIN(b *testing.B) {
	// ZPOPMIN empties the set within the first batches, as it does in
	// redis-benchmark, whose ZPOPMIN follows ZADD on 100000 members.
	benchmarkCollection(b, fillMembers("zadd", "myzset", 100000, false), func(int) []string {
		return []string{"ZPOPMIN", "myzset"}
	})
}

func BenchmarkCollectionRPOP(b *testing.B) {
	// Up to 1.6M pops of a list of 2M elements, as redis-benchmark's RPOP
	// follows LPUSH.
	benchmarkCollection(b, fillMembers("lpush", "mylist", 2000000, false), func(int) []string {
		return []string{"RPOP", "mylist"}
	})
}

func BenchmarkCollectionLRANGE100(b *testing.B) {
	benchmarkCollection(b, fillMembers("rpush", "mylist", 1000, false), func(int) []string {
		return []string{"LRANGE", "mylist", "0", "99"}
	})
}
