package server

import (
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Publish and subscribe.
//
// A connection that subscribes gets an outbox (pubsub.Outbox) the first
// time: from then on its replies and the messages published to it go
// through that queue, in order, and the outbox's goroutine writes them, so
// that publishers never wait for it. Its queue is bounded by Redis's
// pubsub output limits (--client-output-buffer-limit-pubsub, 32mb 8mb 60
// by default), past which the client is disconnected. A subscription is
// made in the hub only once its reply is in the outbox (pubsub.Subs), and
// inside EXEC once the transaction's reply is.

// Deliver queues a published message for the client (pubsub.Subscriber):
// the message, encoded once for every subscriber and never changed, is
// shared rather than copied (pubsub.Outbox.Share).
func (c *conn) Deliver(msg []byte) bool {
	ob := c.ob.Load()
	return ob != nil && ob.Share(msg) == nil
}

// newOutbox makes the connection's outbox, which writes with writev and
// applies lim, calling drop past it.
func (c *conn) newOutbox(lim pubsub.Limits, drop func(pending int64, why string)) *pubsub.Outbox {
	ob := pubsub.NewOutbox(c.writev, lim, drop)
	if c.gate.tls {
		ob.SetMinShare(tlsMinSplice)
	}
	return ob
}

// Proto is the RESP version messages are written in (pubsub.Subscriber).
func (c *conn) Proto() int { return int(c.respVer.Load()) }

// subscribed reports whether the connection has subscriptions, which in
// RESP2 restrict its commands.
func (s *session) subscribed() bool { return s.subs.Active() || s.subs.Pending() }

// subscription runs the (un)subscribe commands.
func (s *session) subscription(w *resp.Writer, args [][]byte) {
	k, subscribe, _ := pubsub.Command(lower(args[0]))
	defer s.publishCounts()
	if !subscribe {
		s.subs.Unsubscribe(w, s.c.s.hub, s.c, k, args[1:])
		return
	}
	s.subs.Subscribe(w, k, args[1:])
	if !s.inExec {
		s.startSubs()
	}
}

// startSubs moves the replies written so far to the outbox, made now if
// the connection has none yet, and then makes the pending subscriptions;
// the outbox holds the replies until they are made (pubsub.Outbox.Hold).
func (s *session) startSubs() {
	if s.trk.On {
		s.openOutbox() // tracking turned on inside EXEC
	}
	if !s.subs.Pending() {
		return
	}
	ob := s.newOutbox()
	ob.Hold()
	s.c.writeOut()
	s.subs.Start(s.c.s.hub, s.c)
	s.publishCounts() // before the replies leave: the client may act on them at once
	ob.Release()
}

// openOutbox makes the connection's outbox if it has none yet, and moves
// the replies written so far to it: from then on replies and messages
// (published, or invalidations) are written by the outbox, in order.
func (s *session) openOutbox() {
	s.newOutbox()
	s.c.writeOut()
}

// newOutbox makes the connection's outbox if it has none yet, and returns
// it.
func (s *session) newOutbox() *pubsub.Outbox {
	c := s.c
	if c.ob.Load() == nil {
		c.ob.Store(c.newOutbox(c.s.cfg().PubSubOutput, func(pending int64, why string) {
			c.warn("closing client for overcoming of output buffer limits", "class", "pubsub", "limit", why, "pending", pending)
			c.kill()
		}))
	}
	return c.ob.Load()
}

// unsubscribeAll leaves every subscription, as RESET and a closing
// connection do.
func (s *session) unsubscribeAll() {
	s.subs.Clear(s.c.s.hub, s.c)
	s.publishCounts()
}

// publishCounts makes the subscription counts visible to CLIENT LIST.
func (s *session) publishCounts() {
	for i, n := range s.subs.Counts() {
		s.c.subCounts[i].Store(int64(n))
	}
}

// publish implements PUBLISH channel message.
func (s *session) publish(w *resp.Writer, args [][]byte) {
	w.AppendInt(int64(s.c.s.hub.Publish(args[1], args[2])))
}

// spublish implements SPUBLISH shardchannel message.
func (s *session) spublish(w *resp.Writer, args [][]byte) {
	w.AppendInt(int64(s.c.s.hub.SPublish(args[1], args[2])))
}

// pubsubCmd implements PUBSUB.
func (s *session) pubsubCmd(w *resp.Writer, args [][]byte) { pubsub.AppendPubSub(w, s.c.s.hub, args) }
