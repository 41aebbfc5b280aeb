package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// queues is the queue workload: producers RPUSH unique elements to lists,
// one per group, and consumers take them with BLPOP, each through a random
// node. It checks that an element is delivered at most once, that nothing
// is delivered that was not pushed, and that every acknowledged push is
// delivered or still in its list at the end, but for as many as the pops
// whose reply was lost (each may have taken one). Its methods are safe for
// concurrent use.
type queues struct {
	keys []string

	push, pop counts
	mu        sync.Mutex
	pushed    map[string]queuePush // element → its push
	popped    map[string][]string  // element → where each delivery of it was seen
	lostPops  int64                // pops of unknown outcome
	final     map[string][]string  // key → elements read back at the end
	order     map[string][]string  // producer/key → its acknowledged pushes, in order
	log       []string
}

// queuePush is a push and what became of it.
type queuePush struct {
	key string
	o   outcome
}

func newQueues(keys []string) *queues {
	return &queues{keys: keys, pushed: map[string]queuePush{}, popped: map[string][]string{},
		final: map[string][]string{}, order: map[string][]string{}}
}

// blockFor is how long a consumer's BLPOP waits; the client's timeout is
// longer (Config.OpTimeout).
const blockFor = "0.5"

// produce pushes p<id>.<seq> to a random list through a random node.
func (q *queues) produce(ctx context.Context, w *workloads, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for seq := 0; ctx.Err() == nil; seq++ {
		key := q.keys[rng.IntN(len(q.keys))]
		node := rng.IntN(len(w.addrs))
		elem := fmt.Sprintf("p%d.%d", id, seq)
		at := time.Since(w.start)
		rs, sent, err := c.do(node, protoRESP, []string{"RPUSH", key, elem})
		r := first(rs)
		if err == nil && !r.isErr() && r.kind != ':' {
			err = fmt.Errorf("RPUSH answered %+v", r)
		}
		o := classify(r, err, sent)
		q.push.count(o, false)
		q.mu.Lock()
		q.pushed[elem] = queuePush{key: key, o: o}
		if o == done {
			pk := fmt.Sprintf("%d/%s", id, key)
			q.order[pk] = append(q.order[pk], elem)
		}
		q.log = append(q.log, fmt.Sprintf("%.6f n%d RPUSH %s %s: %s", at.Seconds(), node+1, key, elem, outcomeText(o, r, err)))
		q.mu.Unlock()
		pause(ctx, o)
	}
}

// consume takes elements with BLPOP from a random list through a random
// node.
func (q *queues) consume(ctx context.Context, w *workloads, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for ctx.Err() == nil {
		key := q.keys[rng.IntN(len(q.keys))]
		node := rng.IntN(len(w.addrs))
		at := time.Since(w.start)
		rs, sent, err := c.do(node, protoRESP, []string{"BLPOP", key, blockFor})
		r := first(rs)
		if err == nil && !r.isErr() && !r.null && (r.kind != '*' || len(r.arr) != 2 || r.arr[0].str != key) {
			err = fmt.Errorf("BLPOP answered %+v", r)
		}
		o := classify(r, err, sent)
		q.pop.count(o, true)
		q.mu.Lock()
		switch {
		case o == done && r.null:
			q.log = append(q.log, fmt.Sprintf("%.6f n%d BLPOP %s: nil", at.Seconds(), node+1, key))
		case o == done:
			e := r.arr[1].str
			q.popped[e] = append(q.popped[e], fmt.Sprintf("n%d at %v", node+1, at.Round(time.Millisecond)))
			q.log = append(q.log, fmt.Sprintf("%.6f n%d BLPOP %s: %s", at.Seconds(), node+1, key, e))
		case o == unknown:
			q.lostPops++
			q.log = append(q.log, fmt.Sprintf("%.6f n%d BLPOP %s: unknown %s", at.Seconds(), node+1, key, errText(r, err)))
		}
		q.mu.Unlock()
		pause(ctx, o)
	}
}

func outcomeText(o outcome, r reply, err error) string {
	return map[outcome]string{done: "ok", notDone: "not done " + errText(r, err), unknown: "unknown " + errText(r, err)}[o]
}

// readBack reads every list whole through read and keeps it as the final
// state; it returns the elements by key for the durability comparison.
func (q *queues) readBack(read func(cmd ...string) (reply, error)) (map[string]string, error) {
	return readFinal(read, q.keys, &q.mu, q.final)
}

// check returns the violations of what was recorded and read back.
func (q *queues) check() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	bad := violations{prefix: "queue: "}
	add := bad.add
	left := map[string]string{} // element → the list it is still in
	for k, elems := range q.final {
		for _, e := range elems {
			if other, dup := left[e]; dup {
				add("%s is in %s and %s at the end", e, other, k)
			}
			left[e] = k
			p, ok := q.pushed[e]
			switch {
			case !ok || p.o == notDone:
				add("%s is in %s at the end, and was never pushed (or its push did not run)", e, k)
			case p.key != k:
				add("%s was pushed to %s and is in %s", e, p.key, k)
			}
			if pops := q.popped[e]; len(pops) > 0 {
				add("%s was delivered (%s) and is still in %s", e, strings.Join(pops, ", "), k)
			}
		}
	}
	for e, pops := range q.popped {
		if len(pops) > 1 {
			add("%s was delivered %d times: %s", e, len(pops), strings.Join(pops, ", "))
		}
		if p, ok := q.pushed[e]; !ok || p.o == notDone {
			add("%s was delivered (%s) and never pushed (or its push did not run)", e, pops[0])
		}
	}
	var lost []string
	for e, p := range q.pushed {
		if p.o == done && len(q.popped[e]) == 0 && left[e] == "" {
			lost = append(lost, e)
		}
	}
	sort.Strings(lost)
	if int64(len(lost)) > q.lostPops {
		add("%d acknowledged pushes are neither delivered nor in their list, and only %d pops lost their reply: %s",
			len(lost), q.lostPops, strings.Join(lost[:min(len(lost), 20)], " "))
	}
	// A producer's acknowledged pushes to one list stay in its order.
	for pk, pushes := range q.order {
		last, lastElem := -1, ""
		key := pk[strings.IndexByte(pk, '/')+1:]
		pos := map[string]int{}
		for i, e := range q.final[key] {
			pos[e] = i
		}
		for _, e := range pushes {
			i, ok := pos[e]
			if !ok {
				continue
			}
			if i < last {
				add("%s is before %s in %s, pushed after it by the same producer", e, lastElem, key)
			}
			last, lastElem = i, e
		}
	}
	return bad.list
}

// stats returns the workload's line of the report.
func (q *queues) stats() WorkloadStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return WorkloadStats{Name: "queue", Writes: q.push.ok.Load(), Reads: q.pop.reads.Load(), Unknown: q.push.unknown.Load() + q.lostPops,
		NotRun: q.push.failed.Load() + q.pop.failed.Load(), Checked: len(q.pushed), Keys: len(q.keys)}
}

// history returns the recorded operations, one per line.
func (q *queues) history() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return strings.Join(q.log, "\n") + "\n"
}

// delivered returns how many deliveries were recorded, for the checks'
// summary.
func (q *queues) delivered() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, pops := range q.popped {
		n += len(pops)
	}
	return n
}
