package main

import (
	"context"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// appends is the append workload: writers RPUSH unique elements to lists
// of the current key generation, readers read a list whole with LRANGE,
// each through a random node. Nothing removes from these lists and each
// element is pushed once, so in a linearizable store every read of a list
// is a prefix of the list read back at the end, a read holds every push
// acknowledged before it began and every element an earlier read saw, and
// no element is there twice. The last is what the other workloads cannot
// see: a write that a server applied twice (run again after its first run
// was taken for lost) leaves a register's value as it was, and hides in a
// counter's slack for increments of unknown outcome. Its methods are safe
// for concurrent use.
type appends struct {
	push, read counts

	mu     sync.Mutex
	keys   map[string]bool       // every list used
	pushed map[string]appendPush // element → its push
	reads  []appendRead
	final  map[string][]string // key → elements read back at the end
	log    []string
}

// appendPush is a push and what became of it.
type appendPush struct {
	key       string
	o         outcome
	sent, ack time.Duration // when it was sent, and when its reply came
}

// appendRead is what a read saw, kept small: how many elements and a hash
// of them, compared at the end with the final list's prefix of that
// length.
type appendRead struct {
	key        string
	start, end time.Duration
	n          int
	sum        uint64
	node       int
}

// appendKeys is the number of lists per key generation.
const appendKeys = 3

func newAppends() *appends {
	return &appends{keys: map[string]bool{}, pushed: map[string]appendPush{}, final: map[string][]string{}}
}

// listSum hashes a list's elements in order, as they are added.
type listSum struct{ h hash.Hash64 }

func newListSum() listSum { return listSum{fnv.New64a()} }

func (s listSum) add(e string) {
	s.h.Write([]byte(e))
	s.h.Write([]byte{0})
}

func (s listSum) sum() uint64 { return s.h.Sum64() }

// sumOf hashes a list's elements in order.
func sumOf(elems []string) uint64 {
	s := newListSum()
	for _, e := range elems {
		s.add(e)
	}
	return s.sum()
}

// key picks a list of the current generation and notes it for the read
// back at the end.
func (a *appends) key(w *workloads, rng *rand.Rand) string {
	k := fmt.Sprintf("a%d:%d", w.gen.Load(), rng.IntN(appendKeys))
	a.mu.Lock()
	a.keys[k] = true
	a.mu.Unlock()
	return k
}

// write pushes a<id>.<seq> to a random list through a random node. The
// element is recorded before it is sent, so that a read that sees it
// before its reply comes finds it.
func (a *appends) write(ctx context.Context, w *workloads, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for seq := 0; ctx.Err() == nil; seq++ {
		key := a.key(w, rng)
		node := rng.IntN(len(w.addrs))
		elem := fmt.Sprintf("a%d.%d", id, seq)
		at := time.Since(w.start)
		a.mu.Lock()
		a.pushed[elem] = appendPush{key: key, o: unknown, sent: at}
		a.mu.Unlock()
		rs, sent, err := c.do(node, protoRESP, []string{"RPUSH", key, elem})
		r := first(rs)
		if err == nil && !r.isErr() && r.kind != ':' {
			err = fmt.Errorf("RPUSH answered %+v", r)
		}
		o := classify(r, err, sent)
		a.push.count(o, false)
		a.mu.Lock()
		a.pushed[elem] = appendPush{key: key, o: o, sent: at, ack: time.Since(w.start)}
		a.log = append(a.log, fmt.Sprintf("%.6f n%d RPUSH %s %s: %s", at.Seconds(), node+1, key, elem, outcomeText(o, r, err)))
		a.mu.Unlock()
		pause(ctx, o)
	}
}

// readLists reads a random list whole through a random node.
func (a *appends) readLists(ctx context.Context, w *workloads, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for ctx.Err() == nil {
		key := a.key(w, rng)
		node := rng.IntN(len(w.addrs))
		start := time.Since(w.start)
		rs, sent, err := c.do(node, protoRESP, []string{"LRANGE", key, "0", "-1"})
		r := first(rs)
		if err == nil && !r.isErr() && r.kind != '*' {
			err = fmt.Errorf("LRANGE answered %+v", r)
		}
		o := classify(r, err, sent)
		a.read.count(o, true)
		if o == done {
			elems := make([]string, len(r.arr))
			for i, v := range r.arr {
				elems[i] = v.str
			}
			rd := appendRead{key: key, start: start, end: time.Since(w.start), n: len(elems), sum: sumOf(elems), node: node + 1}
			a.mu.Lock()
			a.reads = append(a.reads, rd)
			a.log = append(a.log, fmt.Sprintf("%.6f n%d LRANGE %s: %d elements, the last %s", start.Seconds(), node+1, key, len(elems), last(elems)))
			a.mu.Unlock()
		}
		pause(ctx, o)
	}
}

func last(elems []string) string {
	if len(elems) == 0 {
		return "-"
	}
	return elems[len(elems)-1]
}

// readBack reads every list used whole through read and keeps it as the
// final state; it returns the elements by key for the durability
// comparison.
func (a *appends) readBack(read func(cmd ...string) (reply, error)) (map[string]string, error) {
	a.mu.Lock()
	keys := sortedKeys(a.keys)
	a.mu.Unlock()
	return readFinal(read, keys, &a.mu, a.final)
}

// check returns the violations of what was recorded and read back.
func (a *appends) check() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	bad := violations{prefix: "append: "}
	add := bad.add
	pos := map[string]int{}   // element → its place in its final list
	in := map[string]string{} // element → that list
	for _, k := range sortedKeys(a.keys) {
		for i, e := range a.final[k] {
			if other, dup := in[e]; dup {
				if other == k {
					add("%s is in %s twice (at %d and %d): pushed once, applied twice", e, k, pos[e], i)
				} else {
					add("%s is in %s and in %s: pushed once, applied twice", e, other, k)
				}
				continue
			}
			pos[e], in[e] = i, k
			p, ok := a.pushed[e]
			switch {
			case !ok || p.o == notDone:
				add("%s is in %s at the end, and was never pushed (or its push did not run)", e, k)
			case p.key != k:
				add("%s was pushed to %s and is in %s", e, p.key, k)
			}
		}
	}
	// Per list, the place in the final list that each read must reach:
	// past every push acknowledged before the read began.
	type ackAt struct {
		at  time.Duration
		pos int
	}
	acks := map[string][]ackAt{}
	var lost []string
	for e, p := range a.pushed {
		if p.o != done {
			continue
		}
		i, ok := pos[e]
		if !ok || i >= len(a.final[p.key]) || a.final[p.key][i] != e {
			lost = append(lost, e)
			continue
		}
		acks[p.key] = append(acks[p.key], ackAt{p.ack, i})
	}
	if len(lost) > 0 {
		sort.Strings(lost)
		add("%d acknowledged pushes are not in their list at the end: %s", len(lost), strings.Join(lost[:min(len(lost), 20)], " "))
	}
	byKey := map[string][]appendRead{}
	for _, rd := range a.reads {
		byKey[rd.key] = append(byKey[rd.key], rd)
	}
	for _, k := range sortedKeys(a.keys) {
		final := a.final[k]
		// prefix[n]: the hash of the first n elements; sentBy[n]: when the
		// last of their pushes was sent.
		prefix, sentBy := make([]uint64, len(final)+1), make([]time.Duration, len(final)+1)
		ls := newListSum()
		prefix[0] = ls.sum()
		for i, e := range final {
			ls.add(e)
			prefix[i+1], sentBy[i+1] = ls.sum(), max(sentBy[i], a.pushed[e].sent)
		}
		reads := byKey[k]
		for _, rd := range reads {
			switch {
			case rd.n > len(final) || prefix[rd.n] != rd.sum:
				add("a read of %s through n%d at %v saw %d elements that are not the first %d of the final list (%d long)",
					k, rd.node, rd.start.Round(time.Millisecond), rd.n, rd.n, len(final))
			case sentBy[rd.n] > rd.end:
				add("a read of %s through n%d at %v-%v saw an element pushed at %v, after the read ended",
					k, rd.node, rd.start.Round(time.Millisecond), rd.end.Round(time.Millisecond), sentBy[rd.n].Round(time.Millisecond))
			}
		}
		// Real time: a read holds every push acknowledged, and every
		// element read, before it began.
		ka := acks[k]
		sort.Slice(ka, func(i, j int) bool { return ka[i].at < ka[j].at })
		byEnd := append([]appendRead(nil), reads...)
		sort.Slice(byEnd, func(i, j int) bool { return byEnd[i].end < byEnd[j].end })
		sort.Slice(reads, func(i, j int) bool { return reads[i].start < reads[j].start })
		needAck, needRead, ai, ri := 0, 0, 0, 0
		for _, rd := range reads {
			for ; ai < len(ka) && ka[ai].at < rd.start; ai++ {
				needAck = max(needAck, ka[ai].pos+1)
			}
			for ; ri < len(byEnd) && byEnd[ri].end < rd.start; ri++ {
				needRead = max(needRead, byEnd[ri].n)
			}
			if rd.n < needAck {
				add("a read of %s through n%d at %v saw %d elements, after the push at place %d was acknowledged",
					k, rd.node, rd.start.Round(time.Millisecond), rd.n, needAck-1)
			}
			if rd.n < needRead {
				add("a read of %s through n%d at %v saw %d elements, after an earlier read saw %d",
					k, rd.node, rd.start.Round(time.Millisecond), rd.n, needRead)
			}
		}
	}
	return bad.list
}

// stats returns the workload's line of the report.
func (a *appends) stats() WorkloadStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return WorkloadStats{Name: "append", Writes: a.push.ok.Load(), Reads: a.read.reads.Load(), Unknown: a.push.unknown.Load(),
		NotRun: a.push.failed.Load() + a.read.failed.Load(), Checked: len(a.pushed), Keys: len(a.keys)}
}

// history returns the recorded operations, one per line.
func (a *appends) history() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.log, "\n") + "\n"
}

// readCount returns how many reads were recorded, for the checks' summary.
func (a *appends) readCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reads)
}
