package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/data-cluster/data-cluster/internal/command"
)

// doCmds runs cmds through node i as one request, as a transaction's EXEC
// or a pipelined read does, and returns each command's reply.
func (tn *testNodes) doCmds(i int, mode Mode, cmds ...[]string) ([]string, error) {
	req := make([][][]byte, len(cmds))
	for j, args := range cmds {
		for _, a := range args {
			req[j] = append(req[j], []byte(a))
		}
	}
	n := tn.nodes[i]
	key := req[0][1]
	if spec := command.Redis.Lookup(req[0][0]); spec != nil {
		if keys := spec.Keys(req[0], nil); len(keys) > 0 {
			key = keys[0] // EVAL's first key, not its script
		}
	}
	type result struct {
		replies []string
		err     error
	}
	ch := make(chan result, 1)
	n.Do(n.Table().GroupOfKey(key), &Request{Cmds: req, Proto: 2, Mode: mode, Done: func(reply []byte, ends []int, err error) {
		var out []string
		start := 0
		for _, e := range ends {
			out = append(out, string(reply[start:e]))
			start = e
		}
		ch <- result{out, err}
	}})
	select {
	case r := <-ch:
		if r.err == nil && len(r.replies) != len(cmds) {
			return nil, fmt.Errorf("%d replies to %d commands", len(r.replies), len(cmds))
		}
		return r.replies, r.err
	case <-time.After(30 * time.Second):
		return nil, errors.New("no answer within 30s")
	}
}

// ctrIn is an INCR (incr) or a GET of a counter; ctrOut its new value or
// the value read, unknown for an INCR whose outcome is unknown.
type ctrIn struct {
	key  string
	incr bool
}

type ctrOut struct {
	value   int64
	unknown bool
}

// ctrModel is an integer per key, 0 at first. An INCR of unknown outcome
// has return time 1<<62: it may take effect at any time after its call, or
// never.
var ctrModel = porcupine.Model{
	Partition: byKey(func(in any) string { return in.(ctrIn).key }),
	Init:      func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		v, in, out := state.(int64), input.(ctrIn), output.(ctrOut)
		if in.incr {
			return out.unknown || out.value == v+1, v + 1
		}
		return out.value == v, state
	},
}

// intReply parses ":n" or a bulk holding a number ("$-1" is 0).
func intReply(r string) (int64, error) {
	if strings.HasPrefix(r, ":") {
		return strconv.ParseInt(strings.TrimSuffix(r[1:], "\r\n"), 10, 64)
	}
	if v := bulkValue(r); v != "" {
		return strconv.ParseInt(v, 10, 64)
	}
	if r == "$-1\r\n" {
		return 0, nil
	}
	return 0, fmt.Errorf("not a number: %q", r)
}

// Counters (INCR, every other one through a script, which the leader runs
// and logs as its effects) and transfers between the accounts of a bank
// (one request, hence one log entry, as MULTI/EXEC makes) through every node,
// while a seeded nemesis partitions, isolates, drops and delays: the INCR
// history must be linearizable, each counter end between its acknowledged
// increments and those plus the ones of unknown outcome, and every read of
// a bank's accounts (one request, as MULTI/EXEC or MGET) must total what
// the bank opened with.
func TestNodesCountersAndTransfersUnderFaults(t *testing.T) {
	seed := testSeed(t)
	tn := newTestNodes(t, seed, underFaults)
	const accounts, opening = 4, 100
	banks := []string{"{b0}", "{b1}", "{b2}"}
	acct := func(bank string, i int) string { return fmt.Sprintf("%s:%c", bank, 'a'+i) }
	for _, b := range banks {
		mset := []string{"MSET"}
		for i := range accounts {
			mset = append(mset, acct(b, i), strconv.Itoa(opening))
		}
		if _, err := tn.doCmds(0, Write, mset); err != nil {
			t.Fatalf("seed %d: opening bank %s: %v", seed, b, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var (
		mu                  sync.Mutex
		ops                 []porcupine.Operation
		acked, unknown      = map[string]int64{}, map[string]int64{}
		bad                 []string
		reads, transfers    int
		unknownTransfers    int
		wg                  sync.WaitGroup
		start               = time.Now()
		counters            = []string{"c{0}", "c{1}", "c{2}", "c{3}"}
		now                 = func() int64 { return int64(time.Since(start)) }
		isUnknown           = func(err error) bool { return errors.Is(err, ErrUnknown) }
		counterW, transferW = 3, 3
	)
	for c := range counterW {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(100+c)))
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 5000; i++ {
				node, key := rng.IntN(3), counters[rng.IntN(len(counters))]
				in := ctrIn{key: key, incr: rng.IntN(10) < 7}
				call := now()
				if in.incr {
					cmd := []string{"INCR", key}
					if i%2 == 1 {
						cmd = []string{"EVAL", "return redis.call('incr', KEYS[1])", "1", key}
					}
					r, err := tn.doCmds(node, Write, cmd)
					mu.Lock()
					switch {
					case err == nil:
						v, perr := intReply(r[0])
						if perr != nil {
							bad = append(bad, fmt.Sprintf("INCR %s answered %q", key, r[0]))
						}
						acked[key]++
						ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Output: ctrOut{value: v}, Call: call, Return: now()})
					case isUnknown(err):
						unknown[key]++
						ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Output: ctrOut{unknown: true}, Call: call, Return: 1 << 62})
					}
					// Any other error says the INCR never ran: left out.
					mu.Unlock()
					continue
				}
				r, err := tn.doCmds(node, Read, []string{"GET", key})
				if err != nil {
					continue // a failed read says nothing
				}
				v, perr := intReply(r[0])
				mu.Lock()
				if perr != nil {
					bad = append(bad, fmt.Sprintf("GET %s answered %q", key, r[0]))
				}
				ops = append(ops, porcupine.Operation{ClientId: c, Input: in, Output: ctrOut{value: v}, Call: call, Return: now()})
				mu.Unlock()
			}
		})
	}
	for w := range transferW {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(200+w)))
		wg.Go(func() {
			for i := 0; ctx.Err() == nil && i < 5000; i++ {
				node, bank := rng.IntN(3), banks[rng.IntN(len(banks))]
				if rng.IntN(2) == 0 {
					from := rng.IntN(accounts)
					to := (from + 1 + rng.IntN(accounts-1)) % accounts
					amt := strconv.Itoa(1 + rng.IntN(10))
					_, err := tn.doCmds(node, Write, []string{"DECRBY", acct(bank, from), amt}, []string{"INCRBY", acct(bank, to), amt})
					mu.Lock()
					if err == nil {
						transfers++
					} else if isUnknown(err) {
						unknownTransfers++
					}
					mu.Unlock()
					continue
				}
				var get [][]string
				for a := range accounts {
					get = append(get, []string{"GET", acct(bank, a)})
				}
				r, err := tn.doCmds(node, Read, get...)
				if err != nil {
					continue
				}
				var total int64
				for _, s := range r {
					v, perr := intReply(s)
					if perr != nil || s == "$-1\r\n" {
						total = -1 << 40
					}
					total += v
				}
				mu.Lock()
				reads++
				if total != accounts*opening {
					bad = append(bad, fmt.Sprintf("bank %s read through n%d totals %d, want %d: %q", bank, node+1, total, accounts*opening, r))
				}
				mu.Unlock()
			}
		})
	}
	tn.nemesis(ctx, rand.New(rand.NewPCG(uint64(seed), 98)))
	wg.Wait()

	// Healed: read every counter and bank once more, as the last
	// operations of the history.
	final := map[string]int64{}
	for i, key := range counters {
		var r []string
		var err error
		call := now()
		for try := 0; try < 50; try++ {
			if r, err = tn.doCmds(i%3, Read, []string{"GET", key}); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("seed %d: reading %s after healing: %v", seed, key, err)
		}
		v, perr := intReply(r[0])
		if perr != nil {
			t.Fatalf("seed %d: %s holds %q", seed, key, r[0])
		}
		final[key] = v
		ops = append(ops, porcupine.Operation{ClientId: counterW, Input: ctrIn{key: key}, Output: ctrOut{value: v}, Call: call, Return: now()})
	}
	for _, key := range counters {
		if v := final[key]; v < acked[key] || v > acked[key]+unknown[key] {
			t.Errorf("seed %d: counter %s ends at %d, want between %d acknowledged and %d with the %d of unknown outcome",
				seed, key, v, acked[key], acked[key]+unknown[key], unknown[key])
		}
	}
	for _, b := range bad {
		t.Errorf("seed %d: %s", seed, b)
	}
	for i, b := range banks {
		var get [][]string
		for a := range accounts {
			get = append(get, []string{"GET", acct(b, a)})
		}
		var r []string
		var err error
		for try := 0; try < 50; try++ {
			if r, err = tn.doCmds(i%3, Read, get...); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("seed %d: reading bank %s after healing: %v", seed, b, err)
		}
		var total int64
		for _, s := range r {
			v, _ := intReply(s)
			total += v
		}
		if total != accounts*opening {
			t.Errorf("seed %d: bank %s totals %d after healing, want %d: %q", seed, b, total, accounts*opening, r)
		}
	}
	var incrs, unknowns int64
	for k, n := range acked {
		incrs, unknowns = incrs+n, unknowns+unknown[k]
	}
	t.Logf("%d INCR acknowledged, %d of unknown outcome; %d transfers acknowledged, %d of unknown outcome; %d bank reads",
		incrs, unknowns, transfers, unknownTransfers, reads)
	if incrs < 50 || transfers < 20 || reads < 20 {
		t.Fatalf("seed %d: only %d increments, %d transfers and %d bank reads: the cluster did not serve between faults", seed, incrs, transfers, reads)
	}
	if !porcupine.CheckOperations(ctrModel, ops) {
		t.Fatalf("seed %d: the INCR history is not linearizable", seed)
	}
}
