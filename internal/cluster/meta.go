package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// The metadata group is a Raft group that every node holds a replica of.
// Its keyspace keeps the cluster's placement table, as data every node
// agrees on through the log rather than something each computes alone: the
// key "placement" holds the table's description (see describe), with its
// epoch. The first node to find the key missing sets it (SET … NX); every
// node then reads it back and serves only once it is its own table.
const placementKey = "placement"

// describe returns a canonical description of t: its epoch, its nodes, each
// group's replicas, and a digest of the slot map.
func describe(t *placement.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch=%d nodes=", t.Epoch())
	for i, n := range t.Nodes() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", n.ID, n.PeerAddr)
	}
	b.WriteString(" groups=")
	for i, g := range t.Groups() {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, "%d:%v", g.ID, g.Replicas)
	}
	h := sha256.New()
	for s := range slot.Count {
		fmt.Fprintf(h, "%d,", t.GroupOf(uint16(s)))
	}
	fmt.Fprintf(&b, " slots=%s", hex.EncodeToString(h.Sum(nil))[:16])
	return b.String()
}

// agree records the placement table in the metadata group, or checks the
// one recorded, and sets n.agreed once the group's table is this node's.
func (n *Node) agree(ctx context.Context) {
	desc := describe(n.table)
	t := time.NewTicker(n.cfg.Group.Tick)
	defer t.Stop()
	warned := false
	for !n.agreed.Load() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.Leader(n.meta) < 0 {
			continue
		}
		if _, err := n.call(n.meta, Write, "SET", placementKey, desc, "NX"); err != nil {
			continue
		}
		reply, err := n.call(n.meta, Read, "GET", placementKey)
		if err != nil {
			continue
		}
		got, _, ok := parseBulk(reply)
		switch {
		case ok && string(got) == desc:
			n.agreed.Store(true)
			n.log.Info("placement table agreed", "epoch", n.table.Epoch(), "groups", len(n.groups))
		case !warned:
			warned = true
			n.log.Error("the cluster's placement table is not this node's; this node serves no key", "cluster", string(got), "node", desc)
		}
	}
}

// call runs one command on group g and waits for its reply.
func (n *Node) call(g int, mode Mode, args ...string) ([]byte, error) {
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = []byte(a)
	}
	type result struct {
		reply []byte
		err   error
	}
	ch := make(chan result, 1)
	n.Do(g, &Request{Cmds: [][][]byte{cmd}, Proto: 2, Mode: mode, Done: func(reply []byte, _ []int, err error) {
		ch <- result{append([]byte(nil), reply...), err}
	}})
	r := <-ch
	return r.reply, r.err
}
