package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// SAVE, BGSAVE and LASTSAVE on a node.
//
// A node's data is its replicas' Raft logs and snapshots. SAVE has every
// replica on the node write a snapshot of all it applied, whatever
// --snapshot-count says (Group.saveNow, sent to each as a Stale read of
// cmdSave), and waits until each is written; the node's log can then drop
// the entries they cover, so that the next start replays less. BGSAVE does
// the same in the background. LASTSAVE is when the last snapshot of any of
// the node's replicas was written, the node's start before any, as Redis
// counts its start as a save.

// cmdSave, a command of the nodes' own (its name starts with a zero byte,
// which no client command has), has a replica start a snapshot of all it
// applied (Group.saveNow) and answers the index it covers.
var cmdSave = []byte("\x00save")

// ErrSaveInProgress is SAVE's or BGSAVE's error while another runs
// (saveError gives its reply).
var ErrSaveInProgress = errors.New("a save is already in progress")

// saveError is the reply to a SAVE or BGSAVE that failed with err.
func saveError(err error) string {
	if errors.Is(err, ErrSaveInProgress) {
		return "ERR Background save already in progress"
	}
	return "ERR " + err.Error()
}

// saves is what a node knows of its SAVE and BGSAVE runs.
type saves struct {
	mu        sync.Mutex
	running   bool // a SAVE or BGSAVE is under way, since started
	scheduled bool // BGSAVE SCHEDULE came meanwhile: another run follows
	started   time.Time
	failed    bool          // the last run failed
	ended     bool          // a run ended: took is its time
	took      time.Duration // the last run's
}

// Save writes a snapshot of every replica on the node and waits until each
// is written (see SAVE).
func (n *Node) Save(ctx context.Context) error {
	if !n.beginSave() {
		return ErrSaveInProgress
	}
	return n.endSave(n.saveAll(ctx))
}

// BGSave starts Save in the background and reports whether one had to be
// scheduled after the one under way (schedule, as Redis's BGSAVE
// SCHEDULE); without schedule, a run under way is ErrSaveInProgress.
func (n *Node) BGSave(schedule bool) (scheduled bool, err error) {
	if !n.beginSave() {
		if !schedule {
			return false, ErrSaveInProgress
		}
		n.sv.mu.Lock()
		n.sv.scheduled = true
		n.sv.mu.Unlock()
		return true, nil
	}
	go n.saveInBackground()
	return false, nil
}

// saveInBackground is a BGSAVE's run, begun (beginSave). It ends with the
// node: each of its waits ends once its replica stopped.
func (n *Node) saveInBackground() {
	if err := n.saveAll(context.Background()); err != nil {
		n.log.Error("BGSAVE failed", "err", err)
		n.endSave(err)
		return
	}
	n.endSave(nil)
}

func (n *Node) beginSave() bool {
	n.sv.mu.Lock()
	defer n.sv.mu.Unlock()
	if n.sv.running {
		return false
	}
	n.sv.running, n.sv.started = true, time.Now()
	return true
}

// endSave records the end of a run with its outcome, and returns it. A
// BGSAVE SCHEDULE that came meanwhile starts now.
func (n *Node) endSave(err error) error {
	n.sv.mu.Lock()
	n.sv.running, n.sv.failed, n.sv.ended, n.sv.took = false, err != nil, true, time.Since(n.sv.started)
	again := n.sv.scheduled && !n.closed.Load()
	n.sv.scheduled = false
	if again {
		n.sv.running, n.sv.started = true, time.Now()
	}
	n.sv.mu.Unlock()
	if again {
		go n.saveInBackground()
	}
	return err
}

// saveAll has each replica on the node write a snapshot, one after the
// other, and waits for each.
func (n *Node) saveAll(ctx context.Context) error {
	for g := range n.all {
		if loc := n.local(g); loc != nil && !loc.Removed() {
			if err := n.saveReplica(ctx, g, loc); err != nil {
				return fmt.Errorf("group %d: %w", g, err)
			}
		}
	}
	return nil
}

// saveReplica has loc, the replica of group g here, write a snapshot of
// all it applied, and waits until it is written. While a snapshot taken
// before is being written, it waits for that one and asks again. Waits
// are polled, from 1 ms doubling to 100 ms.
func (n *Node) saveReplica(ctx context.Context, g int, loc *Group) error {
	st := loc.Stats()
	pause := time.Millisecond
	wait := func() error {
		if loc.stopped.Load() {
			return errors.New("the replica stopped (see the node's log)")
		}
		t := time.NewTimer(pause)
		defer t.Stop()
		pause = min(2*pause, 100*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	for {
		reply, err := n.call(g, Stale, []string{string(cmdSave)})
		if err != nil {
			return err
		}
		index, ok := parseIntReply(reply)
		if !ok {
			return errBadReply
		}
		if index >= 0 {
			for st.SavedIndex.Load() < uint64(index) {
				if st.SaveFailed.Load() && !st.Saving.Load() {
					return errors.New("its snapshot could not be written (see the node's log)")
				}
				if err := wait(); err != nil {
					return err
				}
			}
			return nil
		}
		if err := wait(); err != nil {
			return err
		}
	}
}

// LastSave returns when the last snapshot of a replica on the node was
// written, in Unix seconds; the node's start before any.
func (n *Node) LastSave() int64 {
	last := n.started.UnixNano()
	for g := range n.all {
		if loc := n.local(g); loc != nil {
			last = max(last, loc.Stats().SavedAt.Load())
		}
	}
	return last / int64(time.Second)
}

// saveFields are INFO persistence's fields of the node's saves, with
// Redis's names: a snapshot of a replica, taken by SAVE, BGSAVE or the
// thresholds, is an RDB save; rdb_changes_since_last_save counts the
// entries the replicas applied since their last snapshots.
func (n *Node) saveFields() [][2]string {
	n.sv.mu.Lock()
	run, failed, ended, took, started := n.sv.running, n.sv.failed, n.sv.ended, n.sv.took, n.sv.started
	n.sv.mu.Unlock()
	running := run
	var changes uint64
	for g := range n.all {
		if loc := n.local(g); loc != nil {
			st := loc.Stats()
			running = running || st.Saving.Load()
			failed = failed || st.SaveFailed.Load()
			if a, s := loc.appliedAt.Load(), st.SavedIndex.Load(); a > s {
				changes += a - s
			}
		}
	}
	current := int64(-1)
	if run {
		current = int64(time.Since(started) / time.Second)
	}
	status := "ok"
	if failed {
		status = "err"
	}
	lastTook := int64(-1)
	if ended {
		lastTook = int64(took / time.Second)
	}
	return [][2]string{
		{"rdb_changes_since_last_save", strconv.FormatUint(changes, 10)},
		{"rdb_bgsave_in_progress", strconv.Itoa(b2i(running))},
		{"rdb_last_save_time", strconv.FormatInt(n.LastSave(), 10)},
		{"rdb_last_bgsave_status", status},
		{"rdb_last_bgsave_time_sec", strconv.FormatInt(lastTook, 10)},
		{"rdb_current_bgsave_time_sec", strconv.FormatInt(current, 10)},
	}
}
