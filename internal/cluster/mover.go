package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/placement"
)

// The mover copies the keys of the slots a migration moves (migrate.go)
// and then gives the slots to their new group. It runs on the node that
// leads the metadata group, one migration at a time, like the planner.

// moveBatch is how many keys one export, import and forget carry at most.
const moveBatch = 256

// MigrationStats counts what a node's movers have moved.
type MigrationStats struct {
	Keys       atomic.Int64 // keys copied to their new group and deleted from the old
	Migrations atomic.Int64 // migrations ended
}

// startMover starts a mover for v's migration when this node leads the
// metadata group and none runs here.
func (n *Node) startMover(v *view) {
	m, ok := v.table.Migration()
	loc := n.local(n.meta)
	if !ok || loc == nil || loc.Leader() != loc.cfg.ReplicaID || n.closed.Load() {
		return
	}
	if !n.moving.CompareAndSwap(false, true) {
		return
	}
	n.wg.Go(func() {
		defer n.moving.Store(false)
		switch err := n.runMover(n.runCtx, m); {
		case errors.Is(err, errMigrationGone):
			n.log.Info("slot migration no longer under way; its mover stops", "from", m.From, "to", m.To)
		case err != nil:
			n.log.Warn("slot migration paused", "from", m.From, "to", m.To, "err", err)
		}
	})
}

// runMover moves m's keys and assigns its slots, until it is done, this
// node stops leading the metadata group, or an error it cannot wait out.
func (n *Node) runMover(ctx context.Context, m placement.Migration) error {
	token := strconv.FormatUint(rand.Uint64(), 36)
	ep := strconv.FormatUint(m.Epoch, 10)
	slots := []string{}
	for _, r := range m.Slots {
		slots = append(slots, strconv.Itoa(int(r.Start)), strconv.Itoa(int(r.End)))
	}
	start := time.Now()
	// A group just added hands leadership to its preferred replica soon
	// after its first election; writes forwarded to it meanwhile would end
	// UNKNOWN when the leader changes, so the keys wait for that first.
	for wait := 0; wait < 5*n.cfg.Group.ElectionTicks; wait++ {
		v := n.v()
		if m.To >= v.ngroups || n.Leader(v, m.To) == v.reps[m.To][0] {
			break
		}
		select {
		case <-ctx.Done():
			return ErrStopped
		case <-time.After(n.cfg.Group.Tick):
		}
	}
	n.log.Info("slot migration started", "from", m.From, "to", m.To, "slots", placement.SlotCount(m.Slots))
	for _, step := range [][]string{
		append([]string{string(cmdComing), token, ep}, slots...),
		append([]string{string(cmdAway), token, ep, strconv.Itoa(m.To)}, slots...),
	} {
		g := m.To
		if step[0] == string(cmdAway) {
			g = m.From
		}
		reply, err := n.moverCall(ctx, m, g, Write, step)
		if err != nil {
			return err
		}
		if string(reply) != "+OK\r\n" {
			return replyError(step[0][1:], reply)
		}
	}
	moved := 0
	for {
		found := 0
		var cursor uint64
		for {
			reply, err := n.moverCall(ctx, m, m.From, Read, []string{string(cmdKeysIn), strconv.FormatUint(cursor, 10), strconv.Itoa(moveBatch)})
			if err != nil {
				return err
			}
			items, _, ok := parseBulkArray(reply)
			if !ok || len(items) == 0 {
				return fmt.Errorf("keys of moving slots: %w", errBadReply)
			}
			if cursor, err = strconv.ParseUint(string(items[0]), 10, 64); err != nil {
				return fmt.Errorf("keys of moving slots: %w", errBadReply)
			}
			if keys := items[1:]; len(keys) > 0 {
				k, err := n.moveKeys(ctx, m, token, keys)
				if err != nil {
					return err
				}
				found += len(keys)
				moved += k
			}
			if cursor == 0 {
				break
			}
		}
		if found == 0 {
			break // a whole pass met no key of the slots
		}
	}
	// Every key is in the target now, and the source sends on whatever
	// comes to it: the target may run what a node sends it directly.
	reply, err := n.moverCall(ctx, m, m.To, Write, append([]string{string(cmdDone), token}, slots...))
	if err != nil {
		return err
	}
	if string(reply) != "+OK\r\n" {
		return replyError("done", reply)
	}
	_, err = n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		cur, ok := t.Migration()
		if !ok || !sameMigration(cur, m) {
			return nil, fmt.Errorf("%w: %w", placement.ErrChange, errMigrationGone)
		}
		return t.Assign()
	})
	if err != nil {
		return err
	}
	n.migStats.Migrations.Add(1)
	n.log.Info("slot migration done", "from", m.From, "to", m.To, "slots", placement.SlotCount(m.Slots),
		"keys", moved, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// moveKeys moves keys from m's source to its target: export (which freezes
// them), import, forget. It returns how many were there to move.
func (n *Node) moveKeys(ctx context.Context, m placement.Migration, token string, keys [][]byte) (int, error) {
	args := []string{string(cmdExport), token}
	for _, k := range keys {
		args = append(args, string(k))
	}
	reply, err := n.moverCall(ctx, m, m.From, Write, args)
	if err != nil {
		return 0, err
	}
	data, _, ok := parseBulk(reply)
	if !ok {
		return 0, replyError("export", reply)
	}
	d := binread.Reader{B: data}
	count := d.Uvarint()
	if d.Bad {
		return 0, fmt.Errorf("export: %w", errBadReply)
	}
	if count > 0 {
		if reply, err = n.moverCall(ctx, m, m.To, Write, []string{string(cmdImport), token, string(data)}); err != nil {
			return 0, err
		}
		if string(reply) != "+OK\r\n" {
			return 0, replyError("import", reply)
		}
	}
	args[0] = string(cmdForget)
	if reply, err = n.moverCall(ctx, m, m.From, Write, args); err != nil {
		return 0, err
	}
	if string(reply) != "+OK\r\n" {
		return 0, replyError("forget", reply)
	}
	n.migStats.Keys.Add(int64(count))
	return int(count), nil
}

// errLostLead stops a mover whose node no longer leads the metadata group.
var errLostLead = errors.New("this node no longer leads the metadata group")

// errMigrationGone stops a mover whose migration the table no longer has:
// it ended, or the table moved on, while the mover waited. A node that lost
// the metadata group's lead and won it back meanwhile may not have noticed
// (errLostLead), and a migration's groups may be gone since.
var errMigrationGone = errors.New("the migration is no longer under way")

// sameMigration reports whether a and b are the same migration.
func sameMigration(a, b placement.Migration) bool {
	return a.Epoch == b.Epoch && a.From == b.From && a.To == b.To && slices.Equal(a.Slots, b.Slots)
}

// moverCall runs one command of migration m on group g, retrying what
// failed without effect (and writes of unknown outcome, which the
// migration commands allow: each is idempotent or refused once stale), for
// as long as this node leads the metadata group and its table has m under
// way.
func (n *Node) moverCall(ctx context.Context, m placement.Migration, g int, mode Mode, args []string) ([]byte, error) {
	for {
		if ctx.Err() != nil || n.closed.Load() {
			return nil, ErrStopped
		}
		if loc := n.local(n.meta); loc == nil || loc.Leader() != loc.cfg.ReplicaID {
			return nil, errLostLead
		}
		if cur, ok := n.v().table.Migration(); !ok || !sameMigration(cur, m) {
			return nil, errMigrationGone
		}
		reply, err := n.call(g, mode, args)
		if err == nil {
			return reply, nil
		}
		n.log.Debug("slot migration step failed; retrying", "group", g, "err", err)
		select {
		case <-ctx.Done():
			return nil, ErrStopped
		case <-time.After(n.cfg.Group.Tick):
		}
	}
}

// replyError describes an unexpected reply to a mover's step.
func replyError(step string, reply []byte) error {
	if len(reply) > 0 && reply[0] == '-' {
		return fmt.Errorf("%s: %s", step, string(reply[1:min(len(reply), 200)]))
	}
	return fmt.Errorf("%s: %w", step, errBadReply)
}
