package cluster

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// A node follows the answers a group gives to commands whose slot is
// moving (migrate.go), as a Redis Cluster client follows ASK and retries
// TRYAGAIN: commands answered "moved" go to the group named, those told to
// try again go back to their group a moment later, and the client gets all
// the replies in its order once every command has run somewhere. Requests
// that Node.Do routes are followed; after maxHops groups, or once the
// request's time to find a leader is up, the client gets TRYAGAIN.
const maxHops = 4

// gated reports whether a reply is a gate's answer rather than the
// command's own.
func gated(seg []byte) bool {
	return len(seg) > 1 && seg[0] == '-' && seg[1] == 0
}

// movedTo returns the group a "moved" answer names, or -1.
func movedTo(seg []byte) int {
	if !bytes.HasPrefix(seg, []byte(movedPrefix)) {
		return -1
	}
	g, err := strconv.Atoi(string(bytes.TrimSuffix(seg[len(movedPrefix):], []byte("\r\n"))))
	if err != nil || g < 0 || g >= maxGroups {
		return -1
	}
	return g
}

// follow takes over r's ending when some of its replies are a gate's
// answers, reporting false when none is.
func (n *Node) follow(r *Request, reply []byte, ends []int) bool {
	start, any := 0, false
	for _, e := range ends {
		if gated(reply[start:e]) {
			any = true
			break
		}
		start = e
	}
	if !any {
		return false
	}
	f := &following{n: n, r: r, segs: make([][]byte, len(ends))}
	start = 0
	for i, e := range ends {
		f.segs[i] = bytes.Clone(reply[start:e])
		start = e
	}
	if r.ask && f.ask() {
		f.finish()
		return true
	}
	if r.hops >= maxHops || !time.Now().Before(r.until) || n.closed.Load() {
		f.giveUp()
		return true
	}
	f.moveOn()
	return true
}

// ask turns each "moved" answer into Redis Cluster's ASK to the client
// address of the group named, when its leader's is known, and reports
// whether no gated answer is left.
func (f *following) ask() bool {
	v := f.n.v()
	left := false
	for i, s := range f.segs {
		g := movedTo(s)
		if g < 0 || g >= v.ngroups {
			left = left || gated(s)
			continue
		}
		addr := ""
		if l := f.n.Leader(v, g); l >= 0 {
			addr = f.n.ClientAddr(v, l)
		}
		keys := keysOf(f.r.Cmds[i], f.r.Proto)
		if addr == "" || len(keys) == 0 {
			left = true
			continue
		}
		f.segs[i] = []byte(errorReply(f.r.Proto, fmt.Sprintf("ASK %d %s", slot.Of(keys[0]), addr)))
	}
	return !left
}

// redirect decides, for a client of a Redirects server, where a command on
// slot s, of group g by the table, goes: the group to send it to, or the
// MOVED error to answer instead. After ASKING, a slot moving to another
// group goes to that group.
func (c *clientConn) redirect(s uint16, g int, asking bool) (int, string) {
	n := c.s.node
	v := n.v()
	if asking {
		if to, ok := v.table.Migrating(s); ok {
			return to, ""
		}
		return g, ""
	}
	if c.ro && n.local(g) != nil {
		return g, "" // READONLY reads this node's replica
	}
	if loc := n.local(g); loc != nil && !loc.Removed() && loc.electing() {
		// The node runs it once the election ends (Node.Do retries it)
		// rather than send the client to the last leader it heard of,
		// which in the same election may send it back here: go-redis
		// follows MOVED at once, and gives up after MaxRedirects.
		return g, ""
	}
	l := n.Leader(v, g)
	if l < 0 || l == v.self {
		return g, ""
	}
	addr := n.ClientAddr(v, l)
	if addr == "" {
		return g, ""
	}
	return g, fmt.Sprintf("MOVED %d %s", s, addr)
}

// following is a request some of whose commands run again elsewhere.
type following struct {
	n    *Node
	r    *Request
	segs [][]byte // the reply to each command, gated ones replaced as they come

	mu   sync.Mutex
	left int // sub-requests under way
}

// moveOn sends every command answered "moved" to its group, then, once
// they have run, the commands told to try again to theirs.
func (f *following) moveOn() {
	by := map[int][]int{}
	for i, s := range f.segs {
		if g := movedTo(s); g >= 0 {
			by[g] = append(by[g], i)
		}
	}
	if len(by) == 0 {
		f.retry()
		return
	}
	done := f.countdown(len(by), f.retry)
	for g, idx := range by {
		f.send(g, idx, f.r.hops+1, true, done)
	}
}

// countdown returns a function that runs then on its nth call.
func (f *following) countdown(n int, then func()) func() {
	f.mu.Lock()
	f.left = n
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.left--
		last := f.left == 0
		f.mu.Unlock()
		if last {
			then()
		}
	}
}

// retry sends the commands told to try again back to their group, and
// those a group found stale to the group the node's newest table gives
// their slot, after a pause that grows with each try; or ends the request
// when there are none.
func (f *following) retry() {
	by := map[int][]int{}
	// A transaction goes whole, to its keys' group.
	atomic := -1
	if len(f.r.Cmds) > 0 && bytes.Equal(f.r.Cmds[0][0], cmdCheck) {
		for _, args := range f.r.Cmds {
			if g, ok := f.n.groupFor(args, f.r.Proto); ok {
				atomic = g
				break
			}
		}
	}
	for i, s := range f.segs {
		switch {
		case string(s) == replyStale:
			g, _ := f.n.groupFor(f.r.Cmds[i], f.r.Proto)
			if atomic >= 0 {
				g = atomic
			}
			by[g] = append(by[g], i)
		case gated(s):
			by[f.r.group] = append(by[f.r.group], i)
		}
	}
	if len(by) == 0 {
		f.end()
		return
	}
	f.r.tries++
	pause := min(time.Millisecond<<min(f.r.tries, 10), f.n.cfg.Group.Tick)
	time.AfterFunc(pause, func() {
		done := f.countdown(len(by), f.end)
		for g, idx := range by {
			f.send(g, idx, f.r.hops, false, done)
		}
	})
}

// groupFor returns the group the node's table gives a command's slot;
// false and group 0 for a command without keys.
func (n *Node) groupFor(args [][]byte, proto int) (int, bool) {
	keys := keysOf(args, proto)
	if len(keys) == 0 {
		return 0, false
	}
	return n.Table().GroupOfKey(keys[0]), true
}

// keysOf returns the keys of a command of a request, WATCH's own
// commands included.
func keysOf(args [][]byte, proto int) [][]byte {
	table := command.Redis
	if proto == 0 {
		table = command.Line
	}
	switch spec := table.Lookup(args[0]); {
	case bytes.Equal(args[0], cmdDigest) && len(args) == 2, bytes.Equal(args[0], cmdCheck) && len(args) >= 3:
		return args[1:2]
	case spec != nil && spec.ArityOK(len(args)):
		return spec.Keys(args, nil)
	}
	return nil
}

// send runs the commands at idx on group g, and then; asked when the
// group their slot leaves sent them on (Request.asked).
func (f *following) send(g int, idx []int, hops int, asked bool, then func()) {
	cmds := make([][][]byte, len(idx))
	for i, j := range idx {
		cmds[i] = f.r.Cmds[j]
	}
	sub := &Request{Cmds: cmds, Proto: f.r.Proto, Mode: f.r.Mode, node: f.n, group: g, until: f.r.until,
		hops: hops, tries: f.r.tries, asked: asked}
	sub.Done = func(reply []byte, ends []int, err error) {
		f.mu.Lock()
		start := 0
		for i, j := range idx {
			switch {
			case err != nil:
				f.segs[j] = []byte(errorReply(f.r.Proto, errorText(err)))
			case i < len(ends):
				f.segs[j] = bytes.Clone(reply[start:ends[i]])
				start = ends[i]
			}
		}
		f.mu.Unlock()
		then()
	}
	f.n.route(g, sub)
}

// giveUp ends the request with TRYAGAIN for the commands still gated.
func (f *following) giveUp() {
	for i, s := range f.segs {
		if gated(s) {
			msg := "TRYAGAIN The slot is being moved to another shard group, try again"
			if bytes.HasPrefix(s, []byte(againPrefix)) {
				msg = string(bytes.TrimSuffix(s[len(againPrefix):], []byte("\r\n")))
			}
			f.segs[i] = []byte(errorReply(f.r.Proto, msg))
		}
	}
	f.finish()
}

// end ends the request once no command is gated, or gives up.
func (f *following) end() {
	for _, s := range f.segs {
		if gated(s) {
			if f.r.hops >= maxHops || !time.Now().Before(f.r.until) || f.n.closed.Load() {
				f.giveUp()
			} else {
				f.moveOn()
			}
			return
		}
	}
	f.finish()
}

func (f *following) finish() {
	var reply []byte
	ends := make([]int, len(f.segs))
	for i, s := range f.segs {
		reply = append(reply, s...)
		ends[i] = len(reply)
	}
	if f.r.Own {
		f.r.Buf = reply // made here, the request's own
	}
	f.r.answer(reply, ends, nil)
}

// errorReply is an error reply in a request's protocol.
func errorReply(proto int, msg string) string {
	if proto == 0 {
		return msg + "\n"
	}
	return "-" + msg + "\r\n"
}
