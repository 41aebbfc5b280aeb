package cluster

import (
	"time"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// Eviction on a node (--maxmemory). Every replica must hold the same keys,
// so no replica evicts on its own, as no Redis replica does: the leader of
// each group compares its replica's memory with the replica's share of its
// node's --maxmemory (GroupConfig.Eviction), chooses keys by the policy from
// its own replica (keyspace.DB.Victims) and logs them in an entryEvict
// entry, which every replica applies by removing them (counted as evicted
// keys, with their evicted events, by the replica that proposed it). It does so before it proposes writes
// and on every tick, one entry in flight at a time, choosing as many keys
// as should bring it back under its share by the keys' average size; the
// writes proposed meanwhile go on, so a replica may pass its share by what
// one Raft round writes. When the policy is noeviction, or no key is
// eligible (a volatile policy with no key that expires), the leader marks
// the writes it proposes with protoOOM, and every replica answers their
// commands that need memory with Redis's OOM error (a transaction with one
// of them as a whole, EXECABORT), as a Redis master does.

// maxEvictBatch bounds the keys of one eviction entry.
const maxEvictBatch = 256

// makeRoom is the leader's check of its replica's memory before it
// proposes writes (see above).
func (g *Group) makeRoom(now time.Time) {
	if g.holding || g.cfg.Paused != nil && g.cfg.Paused.Load() {
		// The keyspace is a script's meanwhile; a paused node's leaders
		// evict nothing, as a paused Redis.
		return
	}
	over := g.db.Excess()
	if over <= 0 {
		g.oom = false
		return
	}
	if g.db.Eviction().Policy == keyspace.NoEviction {
		g.oom = true
		return
	}
	if now.Before(g.evicting) {
		return // one entry at a time: the keys it removes are not gone yet
	}
	n := int64(1)
	if keys := int64(g.db.Len()); keys > 0 {
		n = over/max(1, g.db.Engine().MemoryUsage()/keys) + 1
	}
	g.victims = g.db.Victims(g.victims[:0], int(min(n, maxEvictBatch)))
	if len(g.victims) == 0 {
		g.oom = true
		return
	}
	g.oom = false
	g.seq++
	g.buf = appendU64(appendU64(append(g.buf[:0], entryEvict), g.cfg.ReplicaID), g.seq)
	g.buf = appendKeys(g.buf, now.UnixMilli(), g.victims)
	clear(g.victims)
	if g.rn.Propose(g.buf) == nil {
		g.evicting = now.Add(g.cfg.WriteTimeout)
	}
}

// applyEvict applies an entryEvict entry, read from d. The replica that
// proposed it since it started counts the keys and publishes their events,
// once, whatever its role by then, and not again when it replays its log
// (as for a write: Group.firstSeq).
func (g *Group) applyEvict(d *binread.Reader) {
	origin, seq := d.U64(), d.U64()
	mine := origin == g.cfg.ReplicaID && seq > g.firstSeq
	g.applyKeys(d, mine, func(k []byte) {
		if g.db.Evict(k) && mine {
			g.stats.Evicted.Add(1)
		}
	})
	if g.isLeader {
		g.evicting = time.Time{}
	}
}

// execOOM reports whether the commands of a transaction, after its check
// (cmdCheck), hold one that needs memory, in commands of table: with
// protoOOM the whole transaction is refused, as Redis refuses its EXEC.
func execOOM(cmds [][][]byte, table command.Table) bool {
	for _, args := range cmds {
		if spec := table.Lookup(args[0]); spec != nil && spec.Flags&command.DenyOOM != 0 {
			return true
		}
	}
	return false
}

// setEviction sets the node's --maxmemory, policy and samples; its leaders
// take them at their next tick.
func (n *Node) setEviction(maxMemory int64, policy keyspace.Policy, samples int) {
	n.evict.Store(&keyspace.Eviction{MaxMemory: maxMemory, Policy: policy, Samples: samples, Logged: true})
}

// groupEviction returns a data group's replica's eviction settings: the
// node's, with its --maxmemory split evenly between its replicas of the
// data groups.
func (n *Node) groupEviction() keyspace.Eviction {
	ev := keyspace.Eviction{Logged: true}
	if p := n.evict.Load(); p != nil {
		ev = *p
	}
	if ev.MaxMemory > 0 {
		v, local := n.v(), int64(0)
		for g := range v.ngroups {
			if n.local(g) != nil {
				local++
			}
		}
		ev.MaxMemory = max(1, ev.MaxMemory/max(1, local))
	}
	return ev
}

// evictedKeys returns the keys this node's replicas evicted as their
// groups' leaders: INFO's evicted_keys, which a Redis master counts.
func (n *Node) evictedKeys() int64 {
	var sum int64
	v := n.v()
	for g := range v.ngroups {
		if loc := n.local(g); loc != nil {
			sum += loc.Stats().Evicted.Load()
		}
	}
	return sum
}
