package server

import (
	"slices"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// client implements CLIENT ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL,
// NO-EVICT, NO-TOUCH and HELP.
func (s *session) client(w *resp.Writer, args [][]byte) {
	sub := lower(args[1])
	c := s.c
	if !ClientArityOK(w, sub, len(args)) {
		return
	}
	switch sub {
	case "id":
		w.AppendInt(c.id)
	case "setname":
		name := string(args[2])
		if msg := CheckClientName(name); msg != "" {
			w.AppendError(msg)
			return
		}
		c.setName(name)
		w.AppendOK()
	case "getname":
		if name := c.getName(); name != "" {
			w.AppendBulkString(name)
		} else {
			w.AppendNull()
		}
	case "setinfo":
		ClientSetInfo(w, args, &c.libName, &c.libVer)
	case "info":
		w.AppendVerbatim("txt", []byte(c.describe(time.Now())+"\n"))
	case "list":
		s.clientList(w, args)
	case "kill":
		s.clientKill(w, args)
	case "unblock":
		s.clientUnblock(w, args)
	case "tracking":
		s.tracking(w, args)
	case "caching":
		s.caching(w, args)
	case "trackinginfo":
		s.trackingInfo(w)
	case "getredir":
		w.AppendInt(s.getRedir())
	case "no-evict", "no-touch":
		on, msg := ParseOnOff(args)
		if msg != "" {
			w.AppendError(msg)
			return
		}
		if sub == "no-evict" {
			c.noEvict.Store(on)
		} else {
			c.noTouch.Store(on)
			c.p.SetNoTouch(on)
		}
		w.AppendOK()
	case "pause":
		d, all, msg := ParseClientPause(args)
		if msg != "" {
			w.AppendError(msg)
			return
		}
		c.s.pause.Pause(d, all)
		w.AppendOK()
	case "unpause":
		c.s.pause.Unpause()
		w.AppendOK()
	case "reply":
		switch lower(args[2]) {
		case "on":
			s.replyOff, s.skipNext, s.unmute = false, false, true
			w.AppendOK()
		case "off":
			s.replyOff = true
		case "skip":
			if !s.replyOff {
				s.skipNext = true
			}
		default:
			w.AppendError("ERR syntax error")
		}
	case "help":
		ClientHelp(w)
	default:
		UnknownSubcommand(w, "client", args[1])
	}
}

// describe renders the connection as a CLIENT LIST line. It may be called
// from any goroutine: it reads only fields that are set once or atomic.
// rbs and rbp are the size of the connection's read buffer, which only
// grows, so that its peak is its size; omem is what waits to be written
// (the replies the socket has not taken, a subscriber's queue); tot-mem is
// their sum. The other buffer figures are 0.
func (c *conn) describe(now time.Time) string {
	l := ClientLine{ID: c.id, Addr: c.nc.RemoteAddr().String(), LAddr: c.nc.LocalAddr().String(), Name: c.getName(),
		Age: now.Sub(c.created), Idle: now.Sub(time.Unix(0, c.lastCmd.Load())), User: c.user.Load().Name(),
		Resp: int(c.respVer.Load()), RBS: c.bufSize.Load(), OMem: c.omem.Load()}
	if name := c.lastName.Load(); name != nil {
		l.Cmd = *name
	}
	if v := c.libName.Load(); v != nil {
		l.LibName = *v
	}
	if v := c.libVer.Load(); v != nil {
		l.LibVer = *v
	}
	l.Sub, l.PSub, l.SSub = c.subCounts[0].Load(), c.subCounts[1].Load(), c.subCounts[2].Load()
	l.Multi, l.MultiMem = c.multiCount.Load(), c.multiMem.Load()
	if ob := c.ob.Load(); ob != nil {
		l.OMem += ob.Pending()
	}
	l.Flags = ClientFlags{Monitor: c.monitoring.Load(), Subscribed: l.Sub+l.PSub+l.SSub > 0, Multi: l.Multi >= 0,
		Blocked: c.parked.Load() != nil || c.paused.Load(), NoEvict: c.noEvict.Load(), NoTouch: c.noTouch.Load()}
	l.Flags.Tracking, l.Redir = c.trackFlags()
	return l.String()
}

// view is what CLIENT LIST's and KILL's filters look at.
func (c *conn) view(now time.Time) ClientView {
	return ClientView{ID: c.id, Addr: c.nc.RemoteAddr().String(), LAddr: c.nc.LocalAddr().String(),
		Type: c.clientType(), User: c.user.Load(), Age: now.Sub(c.created)}
}

// clients returns the connected clients ordered by id.
func (s *Server) clients() []*conn {
	s.mu.Lock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *conn) int { return int(a.id - b.id) })
	return out
}

func (s *session) clientList(w *resp.Writer, args [][]byte) {
	f, msg := ParseClientList(args)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	now := time.Now()
	var lines []string
	for _, c := range s.c.s.clients() {
		if f.Match(c.view(now)) {
			lines = append(lines, c.describe(now))
		}
	}
	AppendClientList(w, lines)
}

// clientKill implements CLIENT KILL (ParseClientKill): default is the
// only user.
func (s *session) clientKill(w *resp.Writer, args [][]byte) {
	f, msg := ParseClientKill(args, s.c.s.acl)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	now := time.Now()
	victims, self := Kill(&f, s.c.s.clients(), s.c, func(c *conn) ClientView { return c.view(now) })
	for _, c := range victims {
		c.kill()
	}
	killed := len(victims)
	if self {
		s.c.quit = true
		killed++
	}
	f.AppendKilled(w, killed)
}

// clientType is the client's type for CLIENT LIST and KILL's TYPE filter:
// "pubsub" while it has subscriptions, else "normal".
func (c *conn) clientType() string {
	if c.subCounts[0].Load()+c.subCounts[1].Load()+c.subCounts[2].Load() > 0 {
		return "pubsub"
	}
	return "normal"
}
