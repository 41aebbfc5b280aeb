package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/placement"
)

// Config sets up a run.
type Config struct {
	// Seed decides the fault schedule and every client's choices.
	Seed int64
	// Duration is how long faults are injected; the run goes on until
	// every kind has been injected once, then heals, checks and reports.
	Duration time.Duration
	// OutDir receives the report, the fault schedule, the nodes' logs and,
	// on failure, the histories and their visualizations; "" makes a new
	// directory under os.TempDir(). It is kept.
	OutDir string
	// Net is "netns" (a network namespace per node; needs root and ip)
	// or "loopback" (127.0.0.1, no partitions).
	Net string
	// Binary is a data-cluster binary; "" builds one from the module.
	Binary string
	// Fsync is the nodes' --fsync.
	Fsync string
	// Kinds are the fault kinds to schedule; nil means all that the
	// network allows.
	Kinds []string
	// OpTimeout bounds each client operation; one that takes longer has
	// an unknown outcome.
	OpTimeout time.Duration
	// Workers of each workload; queue workers are producers and consumers
	// in turn, append workers writers and readers.
	Registers, Counters, Transfers, Queues, Appends int
	// CheckTimeout bounds each linearizability check.
	CheckTimeout time.Duration
	// Reshape, when set, changes the number of shard groups now and then
	// while the faults run (shape.go).
	Reshape bool
}

// DefaultConfig returns a two-minute run in network namespaces.
func DefaultConfig() Config {
	return Config{Seed: 1, Duration: 2 * time.Minute, Net: netNetns, Fsync: "always", OpTimeout: 2 * time.Second,
		Registers: 4, Counters: 2, Transfers: 2, Queues: 4, Appends: 4, CheckTimeout: 2 * time.Minute, Reshape: true}
}

// Validate reports whether c can be run.
func (c Config) Validate() error {
	switch {
	case c.Net != netNetns && c.Net != netLoopback:
		return fmt.Errorf("net %q: want %s or %s", c.Net, netNetns, netLoopback)
	case c.Duration < 0 || c.OpTimeout <= 0 || c.CheckTimeout <= 0:
		return errors.New("duration, op timeout and check timeout must be positive")
	case c.Registers < 1 || c.Counters < 1 || c.Transfers < 1 || c.Queues < 0 || c.Appends < 0:
		return errors.New("every workload but the queues and the appends needs at least one worker")
	}
	for _, k := range c.Kinds {
		if !slices.Contains(allKinds, k) {
			return fmt.Errorf("unknown fault kind %q (kinds: %s)", k, strings.Join(allKinds, ", "))
		}
		if c.Net == netLoopback && needsCut(k) {
			return fmt.Errorf("fault kind %q needs --net %s", k, netNetns)
		}
	}
	return nil
}

// kinds returns the fault kinds to schedule: Kinds, or else every kind,
// less partitions when links cannot be cut.
func (c Config) kinds(canCut bool) []string {
	if c.Kinds != nil {
		return c.Kinds
	}
	var out []string
	for _, k := range allKinds {
		if canCut || !needsCut(k) {
			out = append(out, k)
		}
	}
	return out
}

// runner is one run: the cluster, the workloads, the nemesis and what they
// found. Its fields are used by the run's goroutine, except those the
// workers and probes share, which say so.
type runner struct {
	cfg   Config
	logw  io.Writer
	start time.Time
	cl    *cluster
	probe *probes
	work  *workloads
	gen   atomic.Int64 // shared with the workers
	tie   *rand.Rand   // breaks ties between equally leading nodes

	faults []Fault
	probMu sync.Mutex
	probs  []string
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.logw, "[%8.3fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// problem records something the cluster did wrong.
func (r *runner) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.probMu.Lock()
	r.probs = append(r.probs, msg)
	r.probMu.Unlock()
	r.logf("PROBLEM (seed %d): %s", r.cfg.Seed, msg)
}

// Run runs cfg: it starts a cluster, drives the workloads while the
// nemesis injects faults, heals, reads everything back, kills every node
// at once and reads it again, and checks the histories. It returns the
// report, also written to its OutDir; the error is for a run that could
// not be carried out (no namespaces, a failed build, a node that never
// started), whose report may be partial.
func Run(ctx context.Context, cfg Config, logw io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, logw: logw, start: time.Now(), tie: rand.New(rand.NewPCG(uint64(cfg.Seed), 2))}
	rep := &Report{Seed: cfg.Seed}
	if cfg.OutDir == "" {
		dir, err := os.MkdirTemp("", fmt.Sprintf("robustness-seed%d-", cfg.Seed))
		if err != nil {
			return nil, err
		}
		cfg.OutDir = dir
	} else if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	rep.OutDir, r.cfg.OutDir = cfg.OutDir, cfg.OutDir
	r.logf("seed %d, output in %s", cfg.Seed, cfg.OutDir)
	err := r.run(ctx, rep)
	rep.Elapsed = time.Since(r.start)
	if err != nil {
		rep.Problems = append(rep.Problems, "run aborted: "+err.Error())
	}
	if werr := rep.write(); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return rep, fmt.Errorf("seed %d: %w (output in %s)", cfg.Seed, err, cfg.OutDir)
	}
	return rep, nil
}

func (r *runner) run(ctx context.Context, rep *Report) error {
	cfg := r.cfg
	var nw network
	var err error
	if cfg.Net == netNetns {
		nw, err = newNetns(nodeCount)
	} else {
		nw, err = newLoopback(nodeCount)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := nw.close(); err != nil {
			r.logf("removing the network: %v", err)
		}
	}()
	rep.Net = nw.name()
	kinds := cfg.kinds(nw.canCut())
	if !nw.canCut() {
		rep.Notes = append(rep.Notes, "LOOPBACK MODE: partitions (partition, partition-leader, bridge) were NOT tested")
		r.logf("WARNING: %s", rep.Notes[len(rep.Notes)-1])
	}
	r.logf("network: %s", nw.name())

	work, err := os.MkdirTemp("", "robustness-data-")
	if err != nil {
		return err
	}
	keepData := true
	defer func() {
		if !keepData {
			os.RemoveAll(work)
		}
	}()
	bin := cfg.Binary
	if bin == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		if bin, err = buildBinary(ctx, root, work); err != nil {
			return err
		}
	}
	logDir := filepath.Join(cfg.OutDir, "nodes")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	r.cl, err = startCluster(nw, bin, filepath.Join(work, "data"), logDir, cfg.Fsync)
	if err != nil {
		return err
	}
	defer r.cl.close()
	r.logf("cluster up: %s", strings.Join(r.addrs(), " "))

	table, err := placement.New(1, []placement.Node{{ID: "n1", PeerAddr: "127.0.0.1:1"}, {ID: "n2", PeerAddr: "127.0.0.1:2"},
		{ID: "n3", PeerAddr: "127.0.0.1:3"}}, 3, 3, 64)
	if err != nil {
		return err
	}
	groups := len(table.Groups())
	r.probe = newProbes(keysForGroups(table, groups, "probe:"))
	r.work = &workloads{seed: cfg.Seed, addrs: r.addrs(), timeout: cfg.OpTimeout, start: r.start, gen: &r.gen,
		bank: &banks{tags: keysForGroups(table, groups, "bank")}, queue: newQueues(keysForGroups(table, groups, "queue")), appends: newAppends(), regKey: map[string]bool{}, ctrKey: map[string]bool{}}
	opener := newClient(r.addrs(), cfg.OpTimeout)
	err = r.work.bank.open(opener, time.Now().Add(30*time.Second))
	opener.close()
	if err != nil {
		return err
	}

	probeCtx, stopProbes := context.WithCancel(context.Background())
	var probeWG sync.WaitGroup
	defer func() { stopProbes(); probeWG.Wait() }()
	for _, a := range r.addrs() {
		probeWG.Go(func() { r.probe.run(probeCtx, a) })
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	var workWG sync.WaitGroup
	workWG.Go(func() { r.work.run(workCtx, cfg.Registers, cfg.Counters, cfg.Transfers, cfg.Queues, cfg.Appends) })
	stopped := false
	stopWorkers := func() {
		if !stopped {
			stopWork()
			workWG.Wait()
			stopped = true
		}
	}
	defer stopWorkers()

	// The nemesis, and an operator changing the number of groups.
	shapeCtx, stopShape := context.WithCancel(ctx)
	var shapeWG sync.WaitGroup
	if cfg.Reshape {
		shapeWG.Go(func() { r.reshape(shapeCtx, &rep.Shape) })
	}
	sched := newSchedule(cfg.Seed, kinds)
	deadline := r.start.Add(cfg.Duration)
	var injectErr error
	for ctx.Err() == nil && (time.Now().Before(deadline) || !sched.covered()) {
		if injectErr = r.inject(ctx, sched.next()); injectErr != nil {
			break
		}
	}
	stopShape()
	shapeWG.Wait()
	if err := r.healAll(); err != nil {
		return errors.Join(injectErr, err)
	}
	if injectErr != nil {
		return injectErr
	}
	if ctx.Err() != nil {
		rep.Notes = append(rep.Notes, "interrupted: the checks ran on what was recorded until then")
	}
	for i := range r.cl.nodes {
		if err := r.cl.waitOK(i, recoverTimeout); err != nil {
			r.problem("availability: after healing: %v", err)
		}
	}
	if cfg.Reshape {
		groups, err := r.waitShape(reshapeTimeout)
		if err != nil {
			r.problem("shape: %v", err)
		}
		rep.Shape.Final = groups
		r.logf("shape: %d groups at the end", groups)
	}
	stopWorkers()
	r.logf("workloads stopped; reading every key back")

	// Read everything back, then kill every node at once, restart them
	// and read it all again: nothing was written in between.
	before, err := r.readBack("after healing")
	if err != nil {
		return err
	}
	f := Fault{Kind: faultKillAll, Nodes: []string{"n1", "n2", "n3"}, Failover: -1, Recovery: -1}
	f.Start = time.Since(r.start)
	for i := range r.cl.nodes {
		if err := r.cl.kill(i); err != nil {
			return err
		}
	}
	for i := range r.cl.nodes {
		if err := r.cl.start(i); err != nil {
			return err
		}
	}
	end := time.Now()
	f.End = end.Sub(r.start)
	// Not ctx: an interrupted run still finishes its checks, bounded.
	if d, ok := r.probe.wait(context.Background(), end, recoverTimeout); ok {
		f.Recovery = d
	} else {
		r.problem("availability: after every node was killed and restarted, some group took no write for %v", recoverTimeout)
	}
	for i := range r.cl.nodes {
		if err := r.cl.waitOK(i, recoverTimeout); err != nil {
			r.problem("availability: after killing every node: %v", err)
		}
	}
	f.Rejoin = time.Since(end)
	r.faults = append(r.faults, f)
	r.logf("fault %s", f)
	after, err := r.readBack("after killing every node at once")
	if err != nil {
		return err
	}
	for k, v := range before {
		if after[k] != v {
			r.problem("durability: %s read %q before every node was killed at once and %q after", k, v, after[k])
		}
	}
	if err := r.cl.exitedEarly(); err != nil {
		r.problem("crash: %v", err)
	}

	r.check(rep, after)
	rep.Faults = r.faults
	r.probMu.Lock()
	rep.Problems = append(rep.Problems, r.probs...)
	r.probMu.Unlock()
	keepData = !rep.OK()
	if keepData {
		rep.Notes = append(rep.Notes, "the nodes' data dirs are kept in "+work)
	}
	return nil
}

func (r *runner) addrs() []string {
	var out []string
	for i := range r.cl.nodes {
		out = append(out, r.cl.net.clientAddr(i))
	}
	return out
}

// keysForGroups returns, for each group, the first key prefix<j> whose
// slot the group holds.
func keysForGroups(t *placement.Table, groups int, prefix string) []string {
	out := make([]string, groups)
	found := 0
	for j := 0; found < groups && j < 1<<20; j++ {
		k := fmt.Sprintf("%s%d", prefix, j)
		if g := t.GroupOfKey([]byte(k)); out[g] == "" {
			out[g] = k
			found++
		}
	}
	return out
}

// readBack reads every register, counter and bank through a rotating
// node, records the register and counter reads in their histories, checks
// the banks, and returns every value read.
func (r *runner) readBack(when string) (map[string]string, error) {
	w := r.work
	c := newClient(r.addrs(), r.cfg.OpTimeout)
	defer c.close()
	deadline := time.Now().Add(2 * time.Minute)
	node := 0
	read := func(cmd ...string) (reply, error) {
		for {
			node = (node + 1) % len(r.addrs())
			rs, sent, err := c.do(node, protoRESP, cmd)
			if classify(first(rs), err, sent) == done {
				return rs[0], nil
			}
			if time.Now().After(deadline) {
				return reply{}, fmt.Errorf("reading %v %s: %v %v", cmd, when, first(rs), err)
			}
		}
	}
	out := map[string]string{}
	w.keysMu.Lock()
	regKeys, ctrKeys := sortedKeys(w.regKey), sortedKeys(w.ctrKey)
	w.keysMu.Unlock()
	// The reader's client id follows the workers'.
	reader := r.cfg.Registers + r.cfg.Counters + r.cfg.Transfers + r.cfg.Queues + r.cfg.Appends
	for _, set := range []struct {
		keys []string
		h    *history
	}{{regKeys, &w.reg}, {ctrKeys, &w.ctr}} {
		for _, k := range set.keys {
			call := w.now()
			rp, err := read("GET", k)
			if err != nil {
				return nil, err
			}
			set.h.add(readOp(reader, k, rp.str, call, w.now(), node))
			out[k] = rp.str
		}
	}
	for _, tag := range w.bank.tags {
		rp, err := read(append([]string{"MGET"}, w.bank.accounts(tag)...)...)
		if err != nil {
			return nil, err
		}
		w.bank.check(time.Since(r.start), node, "MGET "+when, tag, rp.arr)
		for i, v := range rp.arr {
			out[w.bank.accounts(tag)[i]] = v.str
		}
	}
	lists, err := w.queue.readBack(read)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, lists)
	lists, err = w.appends.readBack(read)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, lists)
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
