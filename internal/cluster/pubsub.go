package cluster

import (
	"encoding/binary"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// Publish and subscribe on a cluster node.
//
// Each node has a hub of its own clients' subscriptions. A PUBLISH is
// delivered to the node's subscribers and sent to every other node of the
// table in a framePublish, which each delivers to its own, as Redis Cluster
// sends it over its bus: at most once, in order from one node to another,
// lost to a node that is cut off meanwhile. A SPUBLISH goes to the nodes
// that hold a replica of its channel's slot's group only, where clients
// subscribe with SSUBSCRIBE (a node without one answers MOVED to the
// group's leader when clients are cluster-aware). The reply counts the
// subscribers of the node that answered, as Redis Cluster's does.

// framePublish carries a message: its kind (pubsub.Channel or
// pubsub.Shard), then its channel and payload, each a length and bytes.
const framePublish = 6

// Notifier is the node's keyspace notifications: CONFIG SET
// notify-keyspace-events changes the classes this node publishes.
func (n *Node) Notifier() *notify.Notifier { return n.notify }

// Hub is the node's subscriptions.
func (n *Node) Hub() *pubsub.Hub { return n.hub }

// Publish delivers msg on channel (a shard channel with shard) to this
// node's subscribers and sends it to the other nodes that may have some,
// and returns how many of this node's got it.
func (n *Node) Publish(shard bool, channel, msg []byte) int {
	kind, local := byte(pubsub.Channel), 0
	if shard {
		kind = byte(pubsub.Shard)
		local = n.hub.SPublish(channel, msg)
	} else {
		local = n.hub.Publish(channel, msg)
	}
	data := []byte{kind}
	data = binary.AppendUvarint(data, uint64(len(channel)))
	data = append(data, channel...)
	data = binary.AppendUvarint(data, uint64(len(msg)))
	data = append(data, msg...)
	v := n.v()
	to := make([]bool, len(v.nodes))
	if shard {
		g := v.table.GroupOf(slot.Of(channel))
		for _, i := range v.reps[g] {
			to[i] = true
		}
	} else {
		for i := range to {
			to[i] = true
		}
	}
	for i, ok := range to {
		if ok && i != v.self {
			n.tr.Send(v.nodes[i].ID, peer.Frame{Kind: framePublish, Data: data})
		}
	}
	return local
}

// published delivers a message another node sent.
func (n *Node) published(from string, data []byte) {
	d := binread.Reader{B: data}
	kind := pubsub.Kind(d.U8())
	channel, msg := d.Bytes(), d.Bytes()
	if d.Bad || len(d.B) != 0 || kind != pubsub.Channel && kind != pubsub.Shard {
		n.log.Warn("undecodable published message", "from", from)
		return
	}
	if kind == pubsub.Shard {
		n.hub.SPublish(channel, msg)
		return
	}
	n.hub.Publish(channel, msg)
}

// Deliver queues a published message for the client (pubsub.Subscriber):
// the message, encoded once for every subscriber and never changed, is
// shared rather than copied (pubsub.Outbox.Share).
func (c *clientConn) Deliver(msg []byte) bool {
	ob := c.ob.Load()
	return ob != nil && ob.Share(msg) == nil
}

// Proto is the RESP version messages are written in (pubsub.Subscriber).
func (c *clientConn) Proto() int { return int(c.respVer.Load()) }

// subscribed reports whether the client has subscriptions, which in RESP2
// restrict its commands.
func (c *clientConn) subscribed() bool { return c.subs.Active() || c.subs.Pending() }

// pubsubCommand runs the publish and subscribe commands, reporting whether
// name is one.
func (c *clientConn) pubsubCommand(name string, args [][]byte) bool {
	w := &c.out.W
	if k, subscribe, ok := pubsub.Command(name); ok {
		// Shard channels are keys to Redis Cluster: those of one command
		// share a slot, unsubscribing included.
		if _, same := slotOfKeys(args, 1, len(args)-1, 1); k == pubsub.Shard && !same {
			w.AppendError("CROSSSLOT Keys in request don't hash to the same slot")
			return true
		}
		if !subscribe {
			c.subs.Unsubscribe(w, c.s.node.hub, c, k, args[1:])
			return true
		}
		if k == pubsub.Shard && c.s.cfg().Redirects {
			for _, ch := range args[1:] {
				s := slot.Of(ch)
				if g := c.s.node.Table().GroupOf(s); c.s.node.local(g) == nil {
					if _, moved := c.redirect(s, g, false); moved != "" {
						w.AppendError(moved)
						return true
					}
				}
			}
		}
		c.subs.Subscribe(w, k, args[1:])
		c.startSubs()
		return true
	}
	switch name {
	case "publish", "spublish":
		w.AppendInt(int64(c.s.node.Publish(name == "spublish", args[1], args[2])))
	case "pubsub":
		pubsub.AppendPubSub(w, c.s.node.hub, args)
	default:
		return false
	}
	return true
}

// startSubs publishes the subscription counts, moves the replies so far to
// the outbox, made now if the client has none yet, then makes the pending
// subscriptions; the outbox holds the replies until they are made
// (pubsub.Outbox.Hold).
func (c *clientConn) startSubs() {
	c.openOutbox()
	ob := c.ob.Load()
	ob.Hold()
	c.countSubs() // before the replies leave: the client may act on them at once
	c.writeOut()
	c.subs.Start(c.s.node.hub, c)
	ob.Release()
}
