package cluster

import (
	"encoding/binary"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/peer"
)

// Heartbeats are coalesced, as CockroachDB does: every group's leader sends
// each follower a heartbeat per tick and gets an answer, which would be two
// messages per group per tick between every pair of nodes. Instead, a node
// collects the heartbeats and answers its groups send to each node and
// sends them every half tick as one frame of small records:
//
//	group uvarint | kind u8 (0 heartbeat, 1 answer) | from uvarint | to uvarint | term uvarint | commit uvarint
//
// The receiver turns each record back into the Raft message. A heartbeat
// thus waits up to half a tick (50 ms by default), well inside the election
// timeout (ten ticks). Heartbeats that carry a ReadIndex round's context
// are not delayed: they go out at once, as any other message.
//
// Every node in the placement table is sent a frame every half tick, an
// empty one when no record waits for it: a node that stays connected but
// sends nothing (a process stopped with SIGSTOP, a host that hangs) is thus
// seen as out of reach (Node.unreachable), which the Raft traffic alone
// would not tell for two nodes that lead no group of each other's.

const frameHeartbeats = 5 // coalesced heartbeats and their answers

// coalescable reports whether m is a plain heartbeat or answer, with no
// field but those a record keeps.
func coalescable(m *raftpb.Message) bool {
	t := m.GetType()
	return (t == raftpb.MsgHeartbeat || t == raftpb.MsgHeartbeatResp) &&
		len(m.GetContext()) == 0 && m.GetIndex() == 0 && m.GetLogTerm() == 0 &&
		len(m.GetEntries()) == 0 && m.Snapshot == nil && !m.GetReject() &&
		m.GetRejectHint() == 0 && m.GetVote() == 0 && len(m.GetResponses()) == 0
}

// appendHeartbeat appends the record of m, sent by group g, to b.
func appendHeartbeat(b []byte, g int, m *raftpb.Message) []byte {
	b = binary.AppendUvarint(b, uint64(g))
	var kind byte
	if m.GetType() == raftpb.MsgHeartbeatResp {
		kind = 1
	}
	b = append(b, kind)
	b = binary.AppendUvarint(b, m.GetFrom())
	b = binary.AppendUvarint(b, m.GetTo())
	b = binary.AppendUvarint(b, m.GetTerm())
	return binary.AppendUvarint(b, m.GetCommit())
}

// queueHeartbeat adds m, sent by group g to node id, to the next frame of
// heartbeats for that node.
func (n *Node) queueHeartbeat(id string, g int, m *raftpb.Message) {
	n.hbMu.Lock()
	n.hbs[id] = appendHeartbeat(n.hbs[id], g, m)
	n.hbMu.Unlock()
	n.hbQueued.Add(1)
}

// sendHeartbeats sends each node the heartbeats queued for it, every
// interval until done is closed.
func (n *Node) sendHeartbeats(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		v := n.v()
		n.hbMu.Lock()
		for id, b := range n.hbs {
			if len(b) == 0 {
				delete(n.hbs, id)
				continue
			}
			// The frame keeps b; the next records go to a new buffer.
			n.hbs[id] = make([]byte, 0, len(b))
			n.sendHeartbeatFrame(id, b)
		}
		for i, nd := range v.nodes {
			if _, sent := n.hbs[nd.ID]; !sent && i != v.self {
				n.sendHeartbeatFrame(nd.ID, nil)
			}
		}
		n.hbMu.Unlock()
	}
}

// sendHeartbeatFrame sends node id a frame of the heartbeat records b
// (none: a frame that only tells that this node is there, which
// heartbeat_frames does not count).
func (n *Node) sendHeartbeatFrame(id string, b []byte) {
	if n.tr != nil && n.tr.Send(id, peer.Frame{Kind: frameHeartbeats, Data: b}) && len(b) > 0 {
		n.hbFrames.Add(1)
	}
}

// heartbeats steps the records of a frame of heartbeats into their groups.
func (n *Node) heartbeats(from string, data []byte) {
	d := binread.Reader{B: data}
	for len(d.B) > 0 && !d.Bad {
		g, kind := d.Uvarint(), d.U8()
		fromID, to, term, commit := d.Uvarint(), d.Uvarint(), d.Uvarint(), d.Uvarint()
		if d.Bad || kind > 1 || g >= uint64(len(n.all)) {
			n.log.Warn("bad heartbeat frame", "from", from)
			return
		}
		grp := n.local(int(g))
		if grp == nil {
			continue
		}
		t := raftpb.MsgHeartbeat
		if kind == 1 {
			t = raftpb.MsgHeartbeatResp
		}
		grp.Step(&raftpb.Message{Type: t.Enum(), From: new(fromID), To: new(to), Term: new(term), Commit: new(commit)})
	}
	if d.Bad {
		n.log.Warn("bad heartbeat frame", "from", from)
	}
}
