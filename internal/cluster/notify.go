package cluster

import (
	"strings"

	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Keyspace notifications on a cluster node.
//
// Any node serves any key, so a subscriber on any node receives the events
// of every key: a group's keyspace publishes the events of the entries it
// applies only on the replica that leads the group (GroupConfig.Notify),
// and that node publishes them as PUBLISH does, to its own subscribers and
// to every other node's (framePublish). Each event is thus sent once, in
// the order the leader applied the entries, with PUBLISH's guarantees: at
// most once, lost to a node cut off meanwhile, and, while leadership moves
// between replicas, possibly lost or sent twice for the entries applied
// around the change. The events of one group come in order; those of
// different groups are not ordered with each other.
//
// notify-keyspace-events is a node's own setting, as in Redis Cluster: the
// node that leads a key's group decides whether its events are published.
// Set the flag alike on every node, or CONFIG SET it on each.

// config implements CONFIG GET and CONFIG SET for the parameters a node can
// change at run time: notify-keyspace-events.
func (c *clientConn) config(w *resp.Writer, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	nt := c.s.node.notify
	switch {
	case sub == "get" && len(args) >= 3:
		match := false
		for _, pat := range args[2:] {
			match = match || glob.MatchFold(pat, []byte("notify-keyspace-events"))
		}
		if !match {
			w.AppendMap(0)
			return
		}
		w.AppendMap(1)
		w.AppendBulkString("notify-keyspace-events")
		w.AppendBulkString(nt.Classes().String())
	case sub == "set" && len(args) == 4 && strings.EqualFold(string(args[2]), "notify-keyspace-events"):
		cl, ok := notify.Parse(args[3])
		if !ok {
			w.AppendError("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - " + notify.ErrText)
			return
		}
		nt.Set(cl)
		w.AppendOK()
	default:
		w.AppendError("ERR CONFIG SET is not supported; settings are flags")
	}
}
