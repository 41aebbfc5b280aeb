package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// The metadata group is a Raft group on up to five nodes (every node of a
// new cluster holds a replica). Its keyspace keeps the cluster's placement
// table, as data every node agrees on through the log rather than
// something each computes alone: the key "placement" holds the founding
// table's description (see describe), with its epoch, and "table" the
// current table. The first node to find them missing sets them (SET …
// NX); every node then checks that the founding table is the one it was
// started with, and serves only then.
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

// agree records the founding table's description and the first table in
// the metadata group, or checks the ones recorded, and sets n.agreed once
// the founding tables are the same and the node follows the cluster's
// current table.
func (n *Node) agree(ctx context.Context) {
	desc := describe(n.cfg.Table)
	t := time.NewTicker(n.cfg.Group.Tick)
	defer t.Stop()
	warned := false
	for !n.agreed.Load() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.cfg.Joined {
			// Admitted by the cluster: its table is the one to follow.
			cur, _, err := n.readTable(Read)
			if err != nil {
				continue
			}
			n.adopt(cur)
			n.agreed.Store(true)
			n.log.Info("placement table read", "epoch", cur.Epoch(), "groups", n.Groups())
			continue
		}
		if n.Leader(n.v(), n.meta) < 0 {
			continue
		}
		if _, err := n.call(n.meta, Write, []string{"SET", placementKey, desc, "NX"},
			[]string{"SET", tableKey, string(n.cfg.Table.Encode()), "NX"}); err != nil {
			continue
		}
		reply, err := n.call(n.meta, Read, []string{"GET", placementKey})
		if err != nil {
			continue
		}
		got, _, ok := parseBulk(reply)
		switch {
		case ok && string(got) == desc:
			cur, _, err := n.readTable(Read)
			if err != nil {
				n.log.Warn("reading the placement table", "err", err)
				continue
			}
			n.adopt(cur)
			n.agreed.Store(true)
			n.log.Info("placement table agreed", "epoch", cur.Epoch(), "groups", n.Groups())
		case !warned:
			warned = true
			n.log.Error("the cluster's placement table is not this node's; this node serves no key", "cluster", string(got), "node", desc)
		}
	}
}

// tableKey holds the cluster's current placement table, encoded
// (placement.Table.Encode). Every change is written by a compare-and-set
// on it (changeTable), so tables follow one another with rising epochs.
const tableKey = "table"

// readTable reads the current table and its digest from the metadata
// group: linearizably for mode Read, from the local replica for Stale.
func (n *Node) readTable(mode Mode) (*placement.Table, uint64, error) {
	b, dg, err := n.readEncodedTable(mode)
	if err != nil {
		return nil, 0, err
	}
	t, err := placement.Decode(b)
	return t, dg, err
}

// readEncodedTable is readTable without the decoding: the table's bytes
// and their digest.
func (n *Node) readEncodedTable(mode Mode) ([]byte, uint64, error) {
	reply, err := n.call(n.meta, mode, []string{"GET", tableKey}, []string{string(cmdDigest), tableKey})
	if err != nil {
		return nil, 0, err
	}
	b, rest, ok := parseBulk(reply)
	if !ok {
		return nil, 0, errBadReply
	}
	dg, ok := parseIntReply(rest)
	if !ok {
		return nil, 0, errBadReply
	}
	return b, uint64(dg), nil
}

// ErrConflict reports a change of the placement table that lost a race
// with another one; it can be tried again on the new table.
var ErrConflict = errors.New("cluster: the placement table changed meanwhile")

// changeTable applies change to the cluster's current table and writes the
// result, if the table is still the one read, trying again a few times when
// it was not. It returns the new table, or change's error, or ErrConflict.
func (n *Node) changeTable(change func(*placement.Table) (*placement.Table, error)) (*placement.Table, error) {
	// Another change that won the race (a step of the planner) leaves a
	// table this one may still apply to: try it on the new one.
	for try := 0; ; try++ {
		t, err := n.changeTableOnce(change)
		if !errors.Is(err, ErrConflict) || try == 4 {
			return t, err
		}
	}
}

// changeTableOnce is one attempt of changeTable.
func (n *Node) changeTableOnce(change func(*placement.Table) (*placement.Table, error)) (*placement.Table, error) {
	cur, dg, err := n.readTable(Read)
	if err != nil {
		return nil, err
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	ok, err := n.swapMeta(tableKey, dg, string(next.Encode()))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrConflict
	}
	n.adopt(next)
	return next, nil
}

// swapMeta sets the metadata group's key to value if its digest is still
// dg (0: the key is absent), and reports whether it did.
func (n *Node) swapMeta(key string, dg uint64, value string) (bool, error) {
	reply, err := n.call(n.meta, Write, []string{string(cmdCheck), key, strconv.FormatUint(dg, 10)},
		[]string{"SET", key, value})
	if err != nil {
		return false, err
	}
	return string(reply) != checkFailed, nil
}

// readMeta reads the metadata group's key, nil when absent, and its
// digest, 0 when absent: linearizably for mode Read, from the local
// replica for Stale.
func (n *Node) readMeta(mode Mode, key string) ([]byte, uint64, error) {
	reply, err := n.call(n.meta, mode, []string{"GET", key}, []string{string(cmdDigest), key})
	if err != nil {
		return nil, 0, err
	}
	var v []byte
	rest := reply
	if null := []byte("$-1\r\n"); bytes.HasPrefix(reply, null) {
		rest = reply[len(null):]
	} else {
		var ok bool
		if v, rest, ok = parseBulk(reply); !ok {
			return nil, 0, errBadReply
		}
	}
	dg, ok := parseIntReply(rest)
	if !ok {
		return nil, 0, errBadReply
	}
	return v, uint64(dg), nil
}

// cutVersion splits a versioned metadata value (the users', the function
// libraries') into the version on its first line and the rest.
func cutVersion(v []byte) (uint64, []byte, error) {
	first, rest, _ := bytes.Cut(v, []byte("\n"))
	ver, err := strconv.ParseUint(string(first), 10, 64)
	if err != nil {
		return 0, nil, errBadReply
	}
	return ver, rest, nil
}

// call runs commands, in one request, on group g and waits for their
// replies.
func (n *Node) call(g int, mode Mode, args ...[]string) ([]byte, error) {
	cmds := make([][][]byte, len(args))
	for i, a := range args {
		cmds[i] = make([][]byte, len(a))
		for j, s := range a {
			cmds[i][j] = []byte(s)
		}
	}
	type result struct {
		reply []byte
		err   error
	}
	ch := make(chan result, 1)
	n.Do(g, &Request{Cmds: cmds, Proto: 2, Mode: mode, Done: func(reply []byte, _ []int, err error) {
		ch <- result{append([]byte(nil), reply...), err}
	}})
	r := <-ch
	return r.reply, r.err
}
