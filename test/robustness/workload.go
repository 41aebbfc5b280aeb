package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// outcome is what became of an operation.
type outcome int

const (
	// done: the server answered it.
	done outcome = iota
	// notDone: the server said it did not run (CLUSTERDOWN, BUSY,
	// TRYAGAIN), or it never left the client (the dial failed).
	notDone
	// unknown: it may or may not have taken effect (UNKNOWN, another
	// error, a timeout, a lost connection).
	unknown
)

// classify tells the outcome of a command from its reply or error. sent is
// false when the command never left the client.
func classify(r reply, err error, sent bool) outcome {
	switch {
	case !sent:
		return notDone
	case err != nil:
		return unknown
	}
	switch r.errCode() {
	case "":
		return done
	case "CLUSTERDOWN", "BUSY", "TRYAGAIN":
		// The server promises these ran nothing; the checks hold it to
		// that: such a write is left out of the history, so a read of
		// its value would be caught.
		return notDone
	}
	return unknown
}

// counts are one workload's operations by outcome; safe for concurrent
// use.
type counts struct {
	ok, unknown, failed, reads atomic.Int64
}

func (c *counts) count(o outcome, read bool) {
	switch {
	case o == done && read:
		c.reads.Add(1)
	case o == done:
		c.ok.Add(1)
	case o == unknown && !read:
		c.unknown.Add(1)
	default:
		c.failed.Add(1)
	}
}

// client is one worker's connections, one per node and protocol. It is
// used by its worker's goroutine only.
type client struct {
	addrs   []string
	timeout time.Duration
	conns   map[[2]int]*conn
}

func newClient(addrs []string, timeout time.Duration) *client {
	return &client{addrs: addrs, timeout: timeout, conns: map[[2]int]*conn{}}
}

// do sends cmds to node over p in one write and returns their replies.
// sent is false when the connection could not be made.
func (c *client) do(node int, p proto, cmds ...[]string) (rs []reply, sent bool, err error) {
	key := [2]int{node, int(p)}
	cn := c.conns[key]
	if cn == nil {
		cn, err = dial(c.addrs[node], p, time.Second)
		if err != nil {
			return nil, false, err
		}
		c.conns[key] = cn
	}
	rs, err = cn.do(time.Now().Add(c.timeout), cmds...)
	if err != nil {
		// A timeout or a lost connection: the replies may still come, so
		// the connection cannot be used again.
		cn.close()
		delete(c.conns, key)
		return nil, true, err
	}
	return rs, true, nil
}

func (c *client) close() {
	for _, cn := range c.conns {
		cn.close()
	}
}

// errText names an error for the history.
func errText(r reply, err error) string {
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "timeout"
		}
		return err.Error()
	}
	code := r.errCode()
	if code == "" {
		return ""
	}
	return code
}

// workloads are the traffic of a run: registers, counters, bank transfers,
// queues and appends, through every node, and the histories they record.
type workloads struct {
	seed    int64
	addrs   []string
	timeout time.Duration
	start   time.Time
	gen     *atomic.Int64 // the key generation; the nemesis moves it on

	reg, ctr history
	regN     counts
	ctrN     counts
	bank     *banks
	queue    *queues
	appends  *appends

	keysMu sync.Mutex
	regKey map[string]bool // every register key used
	ctrKey map[string]bool // every counter key used
}

// Keys per generation of each kind.
const (
	regKeys = 6
	ctrKeys = 3
)

func (w *workloads) now() int64 { return int64(time.Since(w.start)) }

func (w *workloads) use(set map[string]bool, key string) {
	w.keysMu.Lock()
	set[key] = true
	w.keysMu.Unlock()
}

// run starts the workers and returns when ctx is done and they have
// finished their last operation.
func (w *workloads) run(ctx context.Context, registers, counters, transfers, queueWorkers, appendWorkers int) {
	var wg sync.WaitGroup
	id := 0
	for range registers {
		cid := id
		wg.Go(func() { w.register(ctx, cid) })
		id++
	}
	for range counters {
		cid := id
		wg.Go(func() { w.counter(ctx, cid) })
		id++
	}
	for range transfers {
		cid := id
		wg.Go(func() { w.bank.transfer(ctx, w, cid) })
		id++
	}
	id = w.inTurn(ctx, &wg, id, queueWorkers, w.queue.produce, w.queue.consume)
	w.inTurn(ctx, &wg, id, appendWorkers, w.appends.write, w.appends.readLists)
	wg.Wait()
}

// inTurn starts n workers with client ids from id on, running first and
// second in turn (one of each for two workers), and returns the next id.
func (w *workloads) inTurn(ctx context.Context, wg *sync.WaitGroup, id, n int, first, second func(context.Context, *workloads, int)) int {
	for i := range n {
		cid, f := id+i, first
		if i%2 == 1 {
			f = second
		}
		wg.Go(func() { f(ctx, w, cid) })
	}
	return id + n
}

// violations gathers a check's findings, the first 50 of them.
type violations struct {
	prefix string
	list   []string
}

func (v *violations) add(format string, args ...any) {
	if len(v.list) < 50 {
		v.list = append(v.list, v.prefix+fmt.Sprintf(format, args...))
	}
}

// readFinal reads each list of keys whole through read into final, under
// mu, and returns the elements by key for the durability comparison.
func readFinal(read func(cmd ...string) (reply, error), keys []string, mu *sync.Mutex, final map[string][]string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		rp, err := read("LRANGE", k, "0", "-1")
		if err != nil {
			return nil, err
		}
		elems := make([]string, len(rp.arr))
		for i, v := range rp.arr {
			elems[i] = v.str
		}
		mu.Lock()
		final[k] = elems
		mu.Unlock()
		out["list "+k] = strings.Join(elems, " ")
	}
	return out, nil
}

// pause slows a worker down after an operation that did not run, so that a
// dead node is not dialled in a tight loop.
func pause(ctx context.Context, o outcome) {
	if o == done {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Millisecond):
	}
}

// register reads and writes registers of the current generation with
// unique values, through a random node and protocol each time.
func (w *workloads) register(ctx context.Context, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for seq := 0; ctx.Err() == nil; seq++ {
		key := fmt.Sprintf("r%d:%d", w.gen.Load(), rng.IntN(regKeys))
		w.use(w.regKey, key)
		node, p := rng.IntN(len(w.addrs)), proto(rng.IntN(2))
		meta := opMeta{Node: node + 1, Proto: p.String()}
		in := opInput{Key: key, Kind: opRead}
		args := []string{"GET", key}
		if rng.IntN(2) == 0 {
			in.Kind, in.Value = opWrite, fmt.Sprintf("v%d.%d", id, seq)
			args = []string{"SET", key, in.Value}
		}
		call := w.now()
		rs, sent, err := c.do(node, p, args)
		ret := w.now()
		var r reply
		if err == nil {
			r = rs[0]
		}
		o := classify(r, err, sent)
		w.regN.count(o, in.Kind == opRead)
		meta.Err = errText(r, err)
		switch {
		case o == done && in.Kind == opRead:
			v := r.str
			if r.null || (r.kind == 'L' && v == "ERR key not found") {
				v = ""
			}
			w.reg.add(porcupine.Operation{ClientId: id, Input: in, Output: opOutput{Value: v}, Call: call, Return: ret, Metadata: meta})
		case o == done:
			w.reg.add(porcupine.Operation{ClientId: id, Input: in, Output: opOutput{}, Call: call, Return: ret, Metadata: meta})
		case o == unknown && in.Kind == opWrite:
			w.reg.add(porcupine.Operation{ClientId: id, Input: in, Output: opOutput{Unknown: true}, Call: call, Return: never, Metadata: meta})
		}
		// A read that failed says nothing; a write that did not run is
		// left out.
		pause(ctx, o)
	}
}

// incrScript increments its key, as INCR does.
const incrScript = "return redis.call('INCR', KEYS[1])"

// transferScript moves ARGV[1] from KEYS[1] to KEYS[2], as the
// transfers' MULTI/EXEC does.
const transferScript = "redis.call('DECRBY', KEYS[1], ARGV[1]) return redis.call('INCRBY', KEYS[2], ARGV[1])"

// counter increments and reads counters of the current generation over
// RESP through a random node; half the increments are scripts.
func (w *workloads) counter(ctx context.Context, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for ctx.Err() == nil {
		key := fmt.Sprintf("c%d:%d", w.gen.Load(), rng.IntN(ctrKeys))
		w.use(w.ctrKey, key)
		node := rng.IntN(len(w.addrs))
		meta := opMeta{Node: node + 1, Proto: "resp"}
		in := opInput{Key: key, Kind: opIncr}
		if rng.IntN(10) < 3 {
			in.Kind = opRead
		}
		cmd := []string{"INCR", key}
		switch {
		case in.Kind == opRead:
			cmd = []string{"GET", key}
		case rng.IntN(2) == 0:
			// Half the increments run in a script, which a cluster logs
			// as its effects: the same checks cover that path.
			cmd = []string{"EVAL", incrScript, "1", key}
			meta.Proto = "resp eval"
		}
		call := w.now()
		rs, sent, err := c.do(node, protoRESP, cmd)
		ret := w.now()
		var r reply
		if err == nil {
			r = rs[0]
		}
		o := classify(r, err, sent)
		w.ctrN.count(o, in.Kind == opRead)
		meta.Err = errText(r, err)
		switch {
		case o == done && in.Kind == opRead:
			w.ctr.add(porcupine.Operation{ClientId: id, Input: in, Output: opOutput{Value: r.str}, Call: call, Return: ret, Metadata: meta})
		case o == done:
			if r.kind != ':' {
				// Not a number: the model fails on it, which shows it.
				r.num = -1
			}
			w.ctr.add(porcupine.Operation{ClientId: id, Input: in, Output: opOutput{Value: strconv.FormatInt(r.num, 10)}, Call: call, Return: ret, Metadata: meta})
		case o == unknown && in.Kind == opIncr:
			w.ctr.add(porcupine.Operation{ClientId: id, Input: in, Output: opOutput{Unknown: true}, Call: call, Return: never, Metadata: meta})
		}
		pause(ctx, o)
	}
}

// Bank shape: accounts per bank and their opening balance.
const (
	bankAccounts = 5
	openBalance  = 100
)

// banks are one bank per group: accounts {tag}:a, {tag}:b, … in one slot,
// whose total must never change. Its methods are safe for concurrent use.
type banks struct {
	tags []string

	n        counts
	mu       sync.Mutex
	log      []string // transfers and reads, for the history file
	bad      []string // reads whose total was wrong
	checked  atomic.Int64
	snapshot atomic.Int64 // reads made with MULTI/EXEC
}

func (b *banks) accounts(tag string) []string {
	out := make([]string, bankAccounts)
	for i := range out {
		out[i] = fmt.Sprintf("{%s}:%c", tag, 'a'+i)
	}
	return out
}

func (b *banks) total() int64 { return bankAccounts * openBalance }

func (b *banks) record(s string) {
	b.mu.Lock()
	b.log = append(b.log, s)
	b.mu.Unlock()
}

// open sets every account of every bank to its opening balance. It runs
// before any transfer; should a try of unknown outcome land later, it
// sets all of a bank's accounts at once, which keeps the total.
func (b *banks) open(c *client, deadline time.Time) error {
	for _, tag := range b.tags {
		args := []string{"MSET"}
		for _, a := range b.accounts(tag) {
			args = append(args, a, strconv.Itoa(openBalance))
		}
		for node := 0; ; node = (node + 1) % len(c.addrs) {
			rs, sent, err := c.do(node, protoRESP, args)
			if err == nil && !rs[0].isErr() {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("opening bank %s: %v %v %v", tag, rs, sent, err)
			}
		}
	}
	return nil
}

// sum parses a read of a bank's accounts and returns their total.
func (b *banks) sum(vals []reply) (int64, error) {
	if len(vals) != bankAccounts {
		return 0, fmt.Errorf("%d values, want %d", len(vals), bankAccounts)
	}
	var t int64
	for i, v := range vals {
		if v.null || v.kind != '$' {
			return 0, fmt.Errorf("account %c is %+v", 'a'+i, v)
		}
		n, err := strconv.ParseInt(v.str, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("account %c holds %q", 'a'+i, v.str)
		}
		t += n
	}
	return t, nil
}

// check records one read of a bank, and a violation if its total is not
// the opening total.
func (b *banks) check(at time.Duration, node int, how, tag string, vals []reply) {
	t, err := b.sum(vals)
	strs := make([]string, len(vals))
	for i, v := range vals {
		strs[i] = v.str
	}
	b.record(fmt.Sprintf("%.6f n%d read %s %s [%s] total=%d", at.Seconds(), node+1, how, tag, strings.Join(strs, " "), t))
	b.checked.Add(1)
	if err != nil || t != b.total() {
		b.mu.Lock()
		b.bad = append(b.bad, fmt.Sprintf("bank {%s} read by %s through n%d at %v: [%s] total %d, want %d %v",
			tag, how, node+1, at.Round(time.Millisecond), strings.Join(strs, " "), t, b.total(), errOrEmpty(err)))
		b.mu.Unlock()
	}
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// transfer moves amounts between two accounts of a bank in MULTI/EXEC or a
// script, or reads a bank whole, through a random node.
func (b *banks) transfer(ctx context.Context, w *workloads, id int) {
	rng := rand.New(rand.NewPCG(uint64(w.seed), uint64(1000+id)))
	c := newClient(w.addrs, w.timeout)
	defer c.close()
	for ctx.Err() == nil {
		tag := b.tags[rng.IntN(len(b.tags))]
		accts := b.accounts(tag)
		node := rng.IntN(len(w.addrs))
		at := time.Since(w.start)
		switch op := rng.IntN(10); {
		case op < 6:
			from := rng.IntN(bankAccounts)
			to := (from + 1 + rng.IntN(bankAccounts-1)) % bankAccounts
			amt := strconv.Itoa(1 + rng.IntN(10))
			how, want := "MULTI/EXEC", byte('*')
			cmds := [][]string{{"MULTI"}, {"DECRBY", accts[from], amt}, {"INCRBY", accts[to], amt}, {"EXEC"}}
			if rng.IntN(2) == 0 {
				how, want = "EVAL", ':'
				cmds = [][]string{{"EVAL", transferScript, "2", accts[from], accts[to], amt}}
			}
			rs, sent, err := c.do(node, protoRESP, cmds...)
			var res reply
			if err == nil {
				res = rs[len(rs)-1]
				if res.kind != want && !res.isErr() {
					err = fmt.Errorf("%s answered %+v", how, res)
				}
			}
			o := classify(res, err, sent)
			b.n.count(o, false)
			b.record(fmt.Sprintf("%.6f n%d transfer by %s %s %s→%s %s: %s", at.Seconds(), node+1, how, tag, accts[from], accts[to], amt,
				map[outcome]string{done: "ok", notDone: "not done " + errText(res, err), unknown: "unknown " + errText(res, err)}[o]))
			pause(ctx, o)
		case op < 8:
			rs, sent, err := c.do(node, protoRESP, append([]string{"MGET"}, accts...))
			o := classify(first(rs), err, sent)
			b.n.count(o, true)
			if o == done {
				b.check(at, node, "MGET", tag, rs[0].arr)
			}
			pause(ctx, o)
		default:
			cmds := [][]string{{"MULTI"}}
			for _, a := range accts {
				cmds = append(cmds, []string{"GET", a})
			}
			cmds = append(cmds, []string{"EXEC"})
			rs, sent, err := c.do(node, protoRESP, cmds...)
			var exec reply
			if err == nil {
				exec = rs[len(rs)-1]
			}
			o := classify(exec, err, sent)
			b.n.count(o, true)
			if o == done {
				b.snapshot.Add(1)
				b.check(at, node, "MULTI/EXEC", tag, exec.arr)
			}
			pause(ctx, o)
		}
	}
}

func first(rs []reply) reply {
	if len(rs) == 0 {
		return reply{}
	}
	return rs[0]
}
