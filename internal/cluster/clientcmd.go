package cluster

import (
	"slices"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/pause"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
)

// CLIENT on a cluster node is about the node's own clients, as on a Redis
// Cluster node: LIST and KILL see the clients connected to this node, PAUSE
// holds the commands this node receives. The lines, filters and argument
// checks are the single server's (internal/server/clientline.go).

// Addr returns the client's address, for the slow log.
func (c *clientConn) Addr() string { return c.nc.RemoteAddr().String() }

// Name returns the client's name, for the slow log: "" for none.
func (c *clientConn) Name() string {
	if n := c.name.Load(); n != nil {
		return *n
	}
	return ""
}

// describe is the client's CLIENT LIST line, which CLIENT INFO and the ACL
// log show too. Any goroutine may call it: it reads fields that are set
// once or atomic.
func (c *clientConn) describe() string {
	now := time.Now()
	l := server.ClientLine{ID: c.id, Addr: c.nc.RemoteAddr().String(), LAddr: c.nc.LocalAddr().String(),
		Age: now.Sub(c.created), Idle: now.Sub(time.Unix(0, c.lastCmd.Load())), User: c.user.Load().Name(),
		Resp: int(c.respVer.Load()), RBS: c.bufSize.Load(), OMem: c.omem.Load(), Redir: -1,
		Multi: c.multiN.Load(), MultiMem: c.multiMem.Load(),
		Sub: c.subN[pubsub.Channel].Load(), PSub: c.subN[pubsub.Pattern].Load(), SSub: c.subN[pubsub.Shard].Load()}
	for _, f := range []struct {
		p   interface{ Load() *string }
		dst *string
	}{{&c.name, &l.Name}, {&c.libName, &l.LibName}, {&c.libVer, &l.LibVer}, {&c.lastName, &l.Cmd}} {
		if v := f.p.Load(); v != nil {
			*f.dst = *v
		}
	}
	if ob := c.ob.Load(); ob != nil {
		l.OMem += ob.Pending()
	}
	l.Flags = server.ClientFlags{Monitor: c.monitoring.Load(), Subscribed: l.Sub+l.PSub+l.SSub > 0, Multi: l.Multi >= 0,
		Blocked: c.blocking.Load() || c.paused.Load(), NoEvict: c.noEvict.Load(), NoTouch: c.noTouch.Load()}
	return l.String()
}

// view is what CLIENT LIST's and KILL's filters look at.
func (c *clientConn) view(now time.Time) server.ClientView {
	typ := "normal"
	if c.subN[0].Load()+c.subN[1].Load()+c.subN[2].Load() > 0 {
		typ = "pubsub"
	}
	return server.ClientView{ID: c.id, Addr: c.nc.RemoteAddr().String(), LAddr: c.nc.LocalAddr().String(),
		Type: typ, User: c.user.Load(), Age: now.Sub(c.created)}
}

// countSubs publishes the client's subscription counts for CLIENT LIST.
// The connection's goroutine calls it after every change.
func (c *clientConn) countSubs() {
	n := c.subs.Counts()
	for k := range n {
		c.subN[k].Store(int64(n[k]))
	}
}

// countMulti publishes, for CLIENT LIST, that a MULTI begins (on) or ends.
func (c *clientConn) countMulti(on bool) {
	c.multiMem.Store(0)
	if on {
		c.multiN.Store(0)
	} else {
		c.multiN.Store(-1)
	}
}

// kick wakes a wait for a pause, once; kill closes the client too. Any
// goroutine may call them.
func (c *clientConn) kick() { c.kickOnce.Do(func() { close(c.kicked) }) }

func (c *clientConn) kill() {
	c.kick()
	c.nc.Close()
}

// clients returns the node's clients ordered by id.
func (s *Server) clients() []*clientConn {
	s.mu.Lock()
	out := make([]*clientConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *clientConn) int { return int(a.id - b.id) })
	return out
}

func (c *clientConn) clientList(w *resp.Writer, args [][]byte) {
	f, msg := server.ParseClientList(args)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	now := time.Now()
	var lines []string
	for _, o := range c.s.clients() {
		if f.Match(o.view(now)) {
			lines = append(lines, o.describe())
		}
	}
	server.AppendClientList(w, lines)
}

// clientKill implements CLIENT KILL over this node's clients.
func (c *clientConn) clientKill(w *resp.Writer, args [][]byte) {
	f, msg := server.ParseClientKill(args, c.s.acl)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	now := time.Now()
	victims, self := server.Kill(&f, c.s.clients(), c, func(o *clientConn) server.ClientView { return o.view(now) })
	for _, o := range victims {
		o.kill()
	}
	killed := len(victims)
	if self {
		c.quit = true // after this reply
		killed++
	}
	f.AppendKilled(w, killed)
}

// mayWrite reports whether CLIENT PAUSE WRITE holds the command: one that
// writes or may write, or an EXEC of such commands.
func (c *clientConn) mayWrite(spec *command.Spec) bool {
	if spec.Name == "exec" && c.inMulti {
		for _, q := range c.queued {
			if qs := command.Redis.Lookup(q[0]); qs != nil && pause.MayWrite(qs) {
				return true
			}
		}
		return false
	}
	return pause.MayWrite(spec)
}

// waitPause holds the client while the node's pause holds a command that
// writes (writes) or not; the replies before it are written out first. It
// reports false when the client is killed or the server stops meanwhile:
// the command must not run.
func (c *clientConn) waitPause(writes bool) bool {
	p := &c.s.node.pause
	if !p.Holds(writes) {
		return true
	}
	c.flush()
	if !c.writeOut() {
		return false
	}
	c.paused.Store(true)
	defer c.paused.Store(false)
	return p.Wait(writes, c.kicked)
}
