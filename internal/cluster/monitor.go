package cluster

import "github.com/data-cluster/data-cluster/internal/pubsub"

// MONITOR on a node shows every command this node's clients send, as a
// Redis Cluster node shows those it is sent, in Redis's format
// (server.Monitors): a command is shown when its connection dispatches
// it, whichever group then runs it. A monitoring connection gets an
// outbox, as a subscriber does, with no bound (as on a single server), so
// that no client waits for it, and may not touch the keyspace until RESET.

// feedMonitors shows a command this connection dispatches to the node's
// monitors: one atomic load while nobody monitors.
func (c *clientConn) feedMonitors(args [][]byte) {
	if c.s.monitors.Active() {
		c.s.monitors.Feed(c.nc.RemoteAddr().String(), args)
	}
}

// monitor implements MONITOR. Its +OK goes through the outbox once the
// monitor is counted (server.Monitors.Add), so that every command sent
// after a client read it is shown.
func (c *clientConn) monitor() {
	c.out.W.AppendOK()
	if c.monitoring.Load() {
		return
	}
	c.monitoring.Store(true)
	if c.ob.Load() == nil {
		c.ob.Store(pubsub.NewOutbox(c.writeOutbox, pubsub.Limits{}, func(int64, string) {}))
	}
	c.s.monitors.Add(c, c.ob.Load(), func() { c.writeOut() })
}

// unmonitor leaves monitoring, as RESET and a closing connection do. The
// outbox stays until the connection closes.
func (c *clientConn) unmonitor() {
	if c.monitoring.Load() {
		c.monitoring.Store(false)
		c.s.monitors.Remove(c)
	}
}
