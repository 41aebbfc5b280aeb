package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// probes write to one key of every group through every node, all the
// time, to tell when every group takes writes again. Its methods are safe
// for concurrent use.
//
// A group has recovered at time T from reference time R when a write to it
// that started at or after R was acknowledged at T, through any node. The
// recovery time from R is the latest such T over the groups, minus R.
type probes struct {
	keys []string // one key per group

	mu   sync.Mutex
	acks [][]span // per group, acknowledged probe writes in order of end
}

type span struct{ start, end time.Time }

func newProbes(keys []string) *probes {
	return &probes{keys: keys, acks: make([][]span, len(keys))}
}

// run probes through the node at addr until ctx is done: every group's key
// in one pipeline, every probeEvery.
func (p *probes) run(ctx context.Context, addr string) {
	const probeEvery = 50 * time.Millisecond
	var cn *conn
	defer func() {
		if cn != nil {
			cn.close()
		}
	}()
	for seq := 0; ctx.Err() == nil; seq++ {
		if cn == nil {
			var err error
			if cn, err = dial(addr, protoRESP, time.Second); err != nil {
				cn = nil
			}
		}
		if cn != nil {
			cmds := make([][]string, len(p.keys))
			for g, k := range p.keys {
				cmds[g] = []string{"SET", k, fmt.Sprint(seq)}
			}
			start := time.Now()
			rs, err := cn.do(start.Add(2*time.Second), cmds...)
			end := time.Now()
			if err != nil {
				cn.close()
				cn = nil
			} else {
				p.mu.Lock()
				for g, r := range rs {
					if !r.isErr() {
						p.acks[g] = append(p.acks[g], span{start, end})
					}
				}
				p.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(probeEvery):
		}
	}
}

// recovered returns the recovery time from ref, and whether every group
// has recovered.
func (p *probes) recovered(ref time.Time) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var worst time.Duration
	for g := range p.acks {
		var first time.Time
		found := false
		for _, s := range p.acks[g] {
			if !s.start.Before(ref) && (!found || s.end.Before(first)) {
				first, found = s.end, true
			}
		}
		if !found {
			return 0, false
		}
		worst = max(worst, first.Sub(ref))
	}
	return worst, true
}

// wait polls until every group has recovered from ref, or timeout passes
// (ok false).
func (p *probes) wait(ctx context.Context, ref time.Time, timeout time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if d, ok := p.recovered(ref); ok {
			return d, true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, false
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
}

// forget drops the acknowledgements that ended before t, which no later
// reference time can use.
func (p *probes) forget(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for g, acks := range p.acks {
		i := 0
		for i < len(acks) && acks[i].end.Before(t) {
			i++
		}
		p.acks[g] = append(acks[:0:0], acks[i:]...)
	}
}
