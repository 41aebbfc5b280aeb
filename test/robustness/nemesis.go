package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Fault kinds. Each is injected, held, then ended (the node restarted or
// resumed, the links restored).
const (
	faultKill            = "kill"             // kill -9 of a random node, then restart
	faultKillLeader      = "kill-leader"      // kill -9 of the node leading most groups, then restart
	faultKillTwo         = "kill-two"         // kill -9 of one node, then of a second while the first is down (no majority), then both restarted
	faultPauseLeader     = "pause-leader"     // SIGSTOP of the node leading most groups for longer than an election timeout, then SIGCONT
	faultPartition       = "partition"        // a random node cut off from the other two (a minority)
	faultPartitionLeader = "partition-leader" // the node leading most groups cut off from the other two
	faultBridge          = "bridge"           // two nodes cut from each other; the third sees both
	faultSlowDisk        = "slow-disk"        // every fsync of one node (the one leading most groups, or a random one) delayed 100 ms–1 s
	faultFsyncFail       = "fsync-fail"       // one node's fsyncs fail (EIO): it must exit with status 1 by itself; then restarted
	faultKillAll         = "kill-all"         // every node killed at once and restarted: the run's last step, not scheduled
)

// allKinds are the kinds the nemesis schedules, in a fixed order.
var allKinds = []string{faultKill, faultKillLeader, faultKillTwo, faultPauseLeader, faultPartition, faultPartitionLeader, faultBridge,
	faultSlowDisk, faultFsyncFail}

// fsyncExitTimeout bounds how long a node whose fsyncs fail may take to
// stop by itself (its shutdown grace is 5 s).
const fsyncExitTimeout = 15 * time.Second

func needsCut(kind string) bool {
	return kind == faultPartition || kind == faultPartitionLeader || kind == faultBridge
}

// step is one planned fault: its kind, the nodes drawn for it (used by the
// kinds that pick at random), how long the cluster runs quietly before it
// and how long the fault is held.
type step struct {
	kind  string
	nodes []int // a permutation of the nodes
	quiet time.Duration
	hold  time.Duration
	hold2 time.Duration // kill-two: how long both nodes stay down
	// slow-disk: the delay of each fsync, and whether it hits the node
	// leading the most groups rather than nodes[0].
	delay    time.Duration
	onLeader bool
}

// schedule draws the steps from the seed alone: the same seed gives the
// same kinds, nodes and durations. The first len(kinds) steps are a
// permutation of kinds, so that every kind runs in a short run too.
type schedule struct {
	rng   *rand.Rand
	kinds []string
	queue []string
}

func newSchedule(seed int64, kinds []string) *schedule {
	s := &schedule{rng: rand.New(rand.NewPCG(uint64(seed), 0)), kinds: kinds}
	s.queue = append([]string(nil), kinds...)
	s.rng.Shuffle(len(s.queue), func(i, j int) { s.queue[i], s.queue[j] = s.queue[j], s.queue[i] })
	return s
}

// covered reports whether every kind has been drawn.
func (s *schedule) covered() bool { return len(s.queue) == 0 }

func (s *schedule) next() step {
	var kind string
	if len(s.queue) > 0 {
		kind, s.queue = s.queue[0], s.queue[1:]
	} else {
		kind = s.kinds[s.rng.IntN(len(s.kinds))]
	}
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+s.rng.IntN(hi-lo+1)) * time.Millisecond }
	st := step{kind: kind, nodes: s.rng.Perm(nodeCount), quiet: ms(1000, 2000)}
	switch kind {
	case faultPauseLeader:
		// Longer than the election timeout (1–2 s at the default tick).
		st.hold = ms(3000, 5000)
	case faultKillTwo:
		st.hold, st.hold2 = ms(1500, 3000), ms(1000, 2000)
	default:
		st.hold = ms(2000, 4500)
	}
	if kind == faultSlowDisk {
		st.delay, st.onLeader = ms(100, 1000), s.rng.IntN(2) == 0
	}
	return st
}

// Fault is one fault as it happened. Times are since the run began.
type Fault struct {
	Kind  string
	Nodes []string // the nodes it hit; for a bridge, the two cut apart
	// Start is when the fault was in place (the killed process had
	// exited, the stop signal was sent, every route was in, the slow disk
	// was set, the node whose fsyncs failed had exited); End when it was
	// undone (the restart began, SIGCONT was sent, the routes were gone,
	// the slow disk was cleared).
	Start time.Duration
	End   time.Duration
	// Failover is the time from Start until every group had acknowledged
	// a write started after Start, for faults that keep a majority; -1
	// if not measured or not reached.
	Failover time.Duration
	// Recovery is the time from End until every group had acknowledged a
	// write started after End; -1 if not reached.
	Recovery time.Duration
	// Rejoin is the time from End until every node said
	// cluster_state:ok (a restarted node has caught up enough to serve).
	Rejoin time.Duration
	Note   string
}

func (f Fault) String() string {
	d := func(x time.Duration) string {
		if x < 0 {
			return "-"
		}
		return x.Round(time.Millisecond).String()
	}
	s := fmt.Sprintf("%9.3fs–%9.3fs %-16s %-8s failover %-8s recovery %-8s rejoin %-8s", f.Start.Seconds(), f.End.Seconds(), f.Kind,
		strings.Join(f.Nodes, ","), d(f.Failover), d(f.Recovery), d(f.Rejoin))
	if f.Note != "" {
		s += " " + f.Note
	}
	return s
}

// Bounds of the nemesis's waits.
const (
	failoverTimeout = 20 * time.Second // a majority is up: writes must flow again by then
	recoverTimeout  = 30 * time.Second // after a fault ends
)

// inject runs one step: fault, hold, end, and waits for the cluster to
// recover. Harness failures (a signal or an ip command that failed) are
// returned; what the cluster did wrong goes to r.problem.
func (r *runner) inject(ctx context.Context, st step) error {
	sleepCtx(ctx, st.quiet)
	if ctx.Err() != nil {
		return nil
	}
	f := Fault{Kind: st.kind, Failover: -1, Recovery: -1}
	victim := st.nodes[0]
	switch {
	case st.kind == faultKillLeader, st.kind == faultPauseLeader, st.kind == faultPartitionLeader,
		st.kind == faultSlowDisk && st.onLeader:
		l, seen := r.cl.leaderHeaviest(r.tie.IntN)
		if l >= 0 {
			victim = l
		} else {
			f.Note = "(no node said it leads a group: a random node instead)"
		}
		r.logf("groups led: %s", seen)
	}
	others := []int{}
	for i := range nodeCount {
		if i != victim {
			others = append(others, i)
		}
	}
	name := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, r.cl.nodes[i].id)
		}
		return out
	}

	var err error
	switch st.kind {
	case faultKill, faultKillLeader, faultKillTwo:
		f.Nodes, err = name(victim), r.cl.kill(victim)
	case faultPauseLeader:
		f.Nodes, err = name(victim), r.cl.pause(victim)
	case faultPartition, faultPartitionLeader:
		f.Nodes = name(victim)
		for _, o := range others {
			if err = r.cl.net.cut(victim, o); err != nil {
				break
			}
		}
	case faultBridge:
		// victim sees both; the others are cut from each other.
		f.Nodes, err = name(others...), r.cl.net.cut(others[0], others[1])
		f.Note = "(" + r.cl.nodes[victim].id + " sees both)"
	case faultSlowDisk:
		f.Nodes, err = name(victim), r.cl.setDiskFault(victim, "delay="+st.delay.String())
		who := "random node"
		if st.onLeader {
			who = "leading most groups"
		}
		f.Note = strings.TrimSpace(fmt.Sprintf("(each fsync +%v; %s) %s", st.delay, who, f.Note))
	case faultFsyncFail:
		f.Nodes = name(victim)
		if err = r.cl.setDiskFault(victim, "fail"); err != nil {
			break
		}
		set := time.Now()
		code, exited := r.cl.waitExit(victim, fsyncExitTimeout)
		switch {
		case !exited:
			r.problem("fsync-fail: %s did not exit within %v of its fsyncs failing (log %s)", r.cl.nodes[victim].id, fsyncExitTimeout, r.cl.nodes[victim].log.Name())
			err = r.cl.kill(victim) // to go on with the run
		case code != 1:
			r.problem("fsync-fail: %s exited with status %d after its fsyncs failed, want 1 (log %s)", r.cl.nodes[victim].id, code, r.cl.nodes[victim].log.Name())
		}
		if exited {
			f.Note = fmt.Sprintf("(exited with status %d %v after its fsyncs began to fail)", code, time.Since(set).Round(time.Millisecond))
		}
		if err == nil {
			// The process is gone: its disk can be well again.
			err = r.cl.setDiskFault(victim, "")
		}
	}
	if err != nil {
		return fmt.Errorf("injecting %s: %w", st.kind, err)
	}
	// The fault is in place (the process has exited, every route is in):
	// writes that start from now on can only go through what is left.
	begin := time.Now()
	f.Start = begin.Sub(r.start)
	r.logf("fault %s on %s begins %s", st.kind, strings.Join(f.Nodes, ","), f.Note)
	// Every scheduled fault leaves a majority up and connected (kill-two
	// only later): every group must take writes again meanwhile.
	if d, ok := r.probe.wait(ctx, begin, failoverTimeout); ok {
		f.Failover = d
	} else if ctx.Err() == nil {
		r.problem("availability: during %s of %s, with a majority up, some group took no write for %v", st.kind, strings.Join(f.Nodes, ","), failoverTimeout)
	}
	sleepCtx(ctx, time.Until(begin.Add(st.hold)))
	restart := []int{victim}
	if st.kind == faultKillTwo {
		second := others[0]
		if err := r.cl.kill(second); err != nil {
			return fmt.Errorf("injecting %s: %w", st.kind, err)
		}
		f.Nodes = append(f.Nodes, r.cl.nodes[second].id)
		r.logf("fault %s: %s killed too; no group has a majority", st.kind, r.cl.nodes[second].id)
		sleepCtx(ctx, st.hold2)
		restart = append(restart, second)
	}

	switch st.kind {
	case faultKill, faultKillLeader, faultKillTwo, faultFsyncFail:
		for _, i := range restart {
			if err := r.cl.start(i); err != nil {
				return err
			}
		}
	case faultPauseLeader:
		err = r.cl.resume(victim)
	case faultSlowDisk:
		err = r.cl.setDiskFault(victim, "")
	default:
		err = r.cl.net.heal()
	}
	if err != nil {
		return fmt.Errorf("ending %s: %w", st.kind, err)
	}
	end := time.Now()
	f.End = end.Sub(r.start)
	if d, ok := r.probe.wait(ctx, end, recoverTimeout); ok {
		f.Recovery = d
	} else if ctx.Err() == nil {
		r.problem("availability: after %s of %s ended, some group took no write for %v", st.kind, strings.Join(f.Nodes, ","), recoverTimeout)
	}
	for i := range r.cl.nodes {
		if err := r.cl.waitOK(i, recoverTimeout); err != nil {
			r.problem("availability: after %s: %v", st.kind, err)
		}
	}
	f.Rejoin = time.Since(end)
	if err := r.cl.exitedEarly(); err != nil {
		r.problem("crash: %v", err)
	}
	r.probe.forget(end)
	r.faults = append(r.faults, f)
	r.logf("fault %s", f)
	r.gen.Add(1)
	return nil
}

// healAll ends whatever fault is under way: clears disk faults, resumes
// paused nodes, starts stopped ones and restores the links.
func (r *runner) healAll() error {
	var errs []string
	for i, n := range r.cl.nodes {
		if err := r.cl.setDiskFault(i, ""); err != nil {
			errs = append(errs, err.Error())
		}
		if n.paused {
			if err := r.cl.resume(i); err != nil {
				errs = append(errs, err.Error())
			}
		}
		if !r.cl.running(i) {
			if err := r.cl.start(i); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if err := r.cl.net.heal(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("healing: %s", strings.Join(errs, "; "))
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
