package cluster

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// clusterOnly runs the commands that only a cluster node serves (a
// standalone server refuses them) and reports whether spec is one.
func (c *clientConn) clusterOnly(spec *command.Spec, args [][]byte) bool {
	switch spec.Name {
	case "cluster":
		c.cluster(args)
	case "readonly":
		c.ro = true
		c.out.W.AppendOK()
	case "readwrite":
		c.ro = false
		c.out.W.AppendOK()
	case "asking":
		c.asking = true
		c.out.W.AppendOK()
	default:
		return false
	}
	return true
}

// connCommand runs a command that is not sent to one group: it acts on the
// connection, or reads or writes every group. Replies go straight to out,
// after everything before them.
func (c *clientConn) connCommand(spec *command.Spec, args [][]byte) {
	w := &c.out.W
	if c.pubsubCommand(spec.Name, args) {
		c.countSubs()
		return
	}
	switch spec.Name {
	case "ping":
		server.Ping(w, args, c.proto == 2 && c.subscribed())
	case "echo":
		w.AppendBulk(args[1])
	case "quit":
		w.AppendOK()
		c.quit = true
	case "select":
		server.SelectDB(w, args, true)
	case "hello":
		c.hello(w, args)
	case "reset":
		c.unmonitor()
		c.inMulti, c.dirty, c.queued, c.ro, c.proto = false, false, nil, false, 2
		c.countMulti(false)
		c.countSubs()
		c.name.Store(nil)
		c.noEvict.Store(false)
		c.noTouch.Store(false)
		c.user.Store(c.s.acl.Default())
		c.authed = c.s.acl.DefaultOpen()
		c.respVer.Store(2)
		c.unwatch()
		c.subs.Clear(c.s.node.hub, c)
		c.trackingOff()
		c.replyOff, c.skipNext, c.unmute = false, false, true
		w.SetProto(2)
		w.AppendSimple("RESET")
	case "auth":
		if msg := c.authenticate(args); msg != "" {
			w.AppendError(msg)
		} else {
			w.AppendOK()
		}
	case "client":
		c.client(w, args)
	case "acl":
		server.ACL(w, args, c.s, c.user.Load())
	case "command":
		server.Command(w, args)
	case "config":
		c.config(w, args)
	case "time":
		server.AppendTime(w, time.Now())
	case "info":
		c.rec.Flush() // count this connection's commands so far
		w.AppendBulkString(c.s.info(args[1:]))
	case "multi":
		if c.inMulti {
			w.AppendError("ERR MULTI calls can not be nested")
			return
		}
		c.inMulti, c.dirty, c.queued = true, false, nil
		c.countMulti(true)
		w.AppendOK()
	case "discard":
		if !c.inMulti {
			w.AppendError("ERR DISCARD without MULTI")
			return
		}
		c.inMulti, c.queued = false, nil
		c.countMulti(false)
		c.unwatch()
		w.AppendOK()
	case "exec":
		c.exec(w)
	case "watch":
		c.watch(w, args[1:])
	case "unwatch":
		c.unwatch()
		w.AppendOK()
	case "dbsize":
		n, err := c.sumInts(c.keyspaceGroups(), []byte("dbsize"))
		if err != nil {
			w.AppendError(errorText(err))
			return
		}
		w.AppendInt(n)
	case "flushall", "flushdb":
		for _, p := range c.onGroups(c.allGroups(), args, Write) {
			if p.err != nil {
				w.AppendError(errorText(p.err))
				return
			}
		}
		w.AppendOK()
	case "keys", "list":
		pattern := []byte("*")
		if len(args) > 1 {
			pattern = args[1]
		}
		gs := c.allGroups()
		if spec.Name == "keys" {
			gs = c.keyspaceGroups()
		}
		keys, err := c.allKeys(gs, pattern)
		if err != nil {
			w.AppendError(errorText(err))
			return
		}
		w.AppendArray(len(keys))
		for _, k := range keys {
			w.AppendBulk(k)
		}
	case "randomkey":
		c.randomKey(w)
	case "script":
		server.ScriptCommand(c.s.node.cfg.Scripts, w, args)
	case "function":
		c.function(w, args)
	case "scan":
		c.scan(w, args)
	case "shutdown":
		c.shutdown(w, args)
	case "monitor":
		c.monitor()
	case "save":
		if err := c.s.node.Save(context.Background()); err != nil {
			c.s.log.Error("SAVE failed", "err", err)
			w.AppendError(saveError(err))
			return
		}
		w.AppendOK()
	case "bgsave":
		c.bgsave(w, args)
	case "lastsave":
		w.AppendInt(c.s.node.LastSave())
	case "wait":
		c.waitCopies(args)
	case "role":
		server.AppendRole(w)
	case "slowlog":
		server.Slowlog(w, args, c.s.node.slow)
	case "latency":
		server.Latency(w, args, c.s.node.lat, latency.Advice{SlowlogSlowerThan: c.s.node.slow.SlowerThan()}, c.s.commandHists)
	default:
		w.AppendError("ERR '" + spec.Name + "' is not supported on a cluster node")
	}
}

func (c *clientConn) hello(w *resp.Writer, args [][]byte) {
	proto, msg := server.HelloProto(args, c.proto)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	name, setName := "", false
	for i := 2; i < len(args); i++ {
		switch opt := strings.ToLower(string(args[i])); {
		case opt == "auth" && i+2 < len(args):
			if !c.login(args[0], args[i+1], args[i+2]) {
				w.AppendError("WRONGPASS invalid username-password pair or user is disabled.")
				return
			}
			i += 2
		case opt == "setname" && i+1 < len(args):
			if msg := server.CheckClientName(string(args[i+1])); msg != "" {
				w.AppendError(msg)
				return
			}
			name, setName = string(args[i+1]), true
			i++
		default:
			w.AppendError("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
			return
		}
	}
	if !c.authed && !c.s.acl.DefaultOpen() {
		w.AppendError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setName {
		c.setName(name)
	}
	c.proto = proto
	c.respVer.Store(int32(proto))
	w.SetProto(proto)
	c.local.SetProto(proto)
	server.AppendHello(w, proto, c.id, "cluster")
}

// client implements CLIENT on the node's own clients (clientcmd.go).
func (c *clientConn) client(w *resp.Writer, args [][]byte) {
	if len(args) < 2 {
		w.AppendError("ERR wrong number of arguments for 'client' command")
		return
	}
	sub := strings.ToLower(string(args[1]))
	if !server.ClientArityOK(w, sub, len(args)) {
		return
	}
	if c.clientTracking(w, sub, args) {
		return
	}
	switch sub {
	case "id":
		w.AppendInt(c.id)
	case "setname":
		name := string(args[2])
		if msg := server.CheckClientName(name); msg != "" {
			w.AppendError(msg)
			return
		}
		c.setName(name)
		w.AppendOK()
	case "getname":
		if name := c.name.Load(); name != nil {
			w.AppendBulkString(*name)
		} else {
			w.AppendNull()
		}
	case "setinfo":
		server.ClientSetInfo(w, args, &c.libName, &c.libVer)
	case "info":
		w.AppendVerbatim("txt", []byte(c.describe()+"\n"))
	case "list":
		c.clientList(w, args)
	case "kill":
		c.clientKill(w, args)
	case "unblock":
		c.clientUnblock(w, args)
	case "no-evict", "no-touch":
		on, msg := server.ParseOnOff(args)
		if msg != "" {
			w.AppendError(msg)
			return
		}
		if sub == "no-evict" {
			c.noEvict.Store(on) // recorded and shown: a node evicts nothing
		} else {
			c.noTouch.Store(on) // recorded and shown: a node keeps no access data (OBJECT IDLETIME answers 0)
		}
		w.AppendOK()
	case "pause":
		d, all, msg := server.ParseClientPause(args)
		if msg != "" {
			w.AppendError(msg)
			return
		}
		c.s.node.pause.Pause(d, all)
		w.AppendOK()
	case "unpause":
		c.s.node.pause.Unpause()
		w.AppendOK()
	case "reply":
		switch strings.ToLower(string(args[2])) {
		case "on":
			c.replyOff, c.skipNext, c.unmute = false, false, true
			w.AppendOK()
		case "off":
			c.replyOff = true
		case "skip":
			if !c.replyOff {
				c.skipNext = true
			}
		default:
			w.AppendError("ERR syntax error")
		}
	case "help":
		server.ClientHelp(w)
	default:
		w.AppendError("ERR unknown subcommand '" + string(args[1]) + "'. Try CLIENT HELP.")
	}
}

// setName sets the client's name, "" for none.
func (c *clientConn) setName(name string) {
	if name == "" {
		c.name.Store(nil)
		return
	}
	c.name.Store(&name)
}

// exec runs the queued transaction as one entry of its group's log, so that
// it is atomic on every replica.
func (c *clientConn) exec(w *resp.Writer) {
	if !c.inMulti {
		w.AppendError("ERR EXEC without MULTI")
		return
	}
	queued, dirty := c.queued, c.dirty
	watched, wslot := c.watched, c.wslot
	c.inMulti, c.dirty, c.queued = false, false, nil
	c.countMulti(false)
	c.unwatch()
	if dirty {
		w.AppendError("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	// Every command for the group, and the watched keys, in one slot.
	plan := c.execPlan(queued)
	keyed := plan.keyed
	group, write, slot, slotted := -1, false, wslot, len(watched) > 0
	for _, args := range keyed {
		args = server.ClusterScriptArgs(args) // a script's, as the client sent it
		spec := command.Redis.Lookup(args[0])
		s, _ := c.slotOf(spec, args)
		if slotted && s != slot {
			w.AppendError("CROSSSLOT Keys in request don't hash to the same slot")
			return
		}
		slot, slotted = s, true
		write = write || spec.Flags&command.ReadOnly == 0
	}
	if slotted {
		group = c.s.node.Table().GroupOf(slot)
	}
	// A shard channel is a key to Redis Cluster: SPUBLISH's must share
	// the transaction's slot too.
	for i, l := range plan.later {
		if !l || !ascii.EqualFold(queued[i][0], "spublish") {
			continue
		}
		s, _ := c.slotOf(command.Redis.Lookup(queued[i][0]), queued[i])
		if slotted && s != slot {
			w.AppendError("CROSSSLOT Keys in request don't hash to the same slot")
			return
		}
		slot, slotted = s, true
	}
	if group < 0 {
		plan.ran(c) // commands the node answers only, or nothing
		w.AppendArray(len(queued))
		for i, r := range plan.local {
			plan.appendLocal(c, queued, i, r)
		}
		return
	}
	// The watched keys' digests are checked in the same log entry, right
	// before the commands run. The check, with or without keys, marks the
	// entry as a transaction, which runs whole where its slot's keys are
	// (migrate.go).
	check := [][]byte{cmdCheck}
	for _, wk := range watched {
		check = append(check, wk.key, []byte(strconv.FormatUint(wk.digest, 10)))
	}
	cmds := append([][][]byte{check}, keyed...)
	p := c.run(group, cmds, c.mode(write))
	if p.err != nil {
		w.AppendError(errorText(p.err))
		return
	}
	reply := p.reply
	if len(p.ends) == 0 || string(reply[:p.ends[0]]) == checkFailed {
		w.AppendNullArray()
		return
	}
	if first := reply[:p.ends[0]]; first[0] == '-' {
		// The transaction did not run (its slot was moving and it found
		// no group to run in before its time was up): one error for the
		// whole EXEC, never an array a client would take for the
		// commands' own answers.
		w.AppendRaw(first)
		return
	}
	plan.ran(c)
	w.AppendArray(len(queued))
	if len(keyed) == len(queued) {
		w.AppendRaw(reply[p.ends[0]:])
		return
	}
	ends := p.ends[1:]
	start := p.ends[0]
	for i, r := range plan.local {
		switch {
		case r != nil || plan.later[i]:
			plan.appendLocal(c, queued, i, r)
		case len(ends) > 0:
			w.AppendRaw(reply[start:ends[0]])
			start, ends = ends[0], ends[1:]
		default:
			w.AppendError("ERR " + errBadReply.Error())
		}
	}
}

// queuedLocal reports whether a queued command is one EXEC answers on the
// node: UNWATCH or AUTH.
func queuedLocal(args [][]byte) bool {
	return ascii.EqualFold(args[0], "unwatch") || ascii.EqualFold(args[0], "auth")
}

// errMultiKeyless refuses a command without keys in a node's MULTI, other
// than those the node answers there (queuedLocal, execLocal).
const errMultiKeyless = "ERR Command not allowed inside a transaction on a cluster node: only commands with keys (scripts with keys too), PING, ECHO, TIME, SELECT, PUBLISH and SPUBLISH"

// execLocal reports whether a command without keys, named name, may be
// queued in a node's MULTI: one that reads and writes no key, which EXEC
// runs on the node, in its place, once the group's part of the transaction
// ran (so a PUBLISH comes after the transaction's writes are applied, as
// a subscriber of Redis hears it only after EXEC). SPUBLISH's shard
// channel is a key to Redis Cluster: EXEC checks its slot with the keys'.
// The commands over the whole keyspace (DBSIZE, KEYS, FLUSHALL …) are not
// queued: they would not be atomic with the transaction's keys.
func execLocal(name string) bool {
	switch name {
	case "ping", "echo", "time", "select", "publish", "spublish":
		return true
	}
	return false
}

// execPlan is how EXEC runs a transaction's queued commands: the node
// answers those that are its own (UNWATCH, which changes nothing since the
// watched keys are checked before any command runs; AUTH) and those the
// user, as it is at that point of the transaction, may no longer run
// (Redis checks each command again at EXEC, against the user an AUTH
// before it made the connection's); the others go to the slot's group in
// one batch. What the transaction's AUTHs change, and the denials they
// and the checks log, take effect once it ran (ran): an EXEC that runs
// nothing (a watched key changed) changes nothing.
//
// A transaction the node answers nothing of, the usual one, is sent as it
// was queued: keyed is queued itself and local nil.
type execPlan struct {
	keyed [][][]byte // the group's commands, in order
	local [][]byte   // by position in the transaction: the node's reply, nil for the group's
	later []bool     // by position: a command the node runs once the group's part ran (execLocal)
	user  *acl.User  // the user after the AUTHs that passed; nil if none did
	logs  []acl.LogEntry
}

// okReply is +OK, as the node answers a queued UNWATCH or AUTH.
var okReply = []byte("+OK\r\n")

// execPlan plans the run of queued (see execPlan).
func (c *clientConn) execPlan(queued [][][]byte) execPlan {
	var p execPlan
	user := c.user.Load()
	// The group's commands are queued itself until one is answered by the
	// node or rewritten (a script): only then are they copied.
	copied := false
	own := func(i int) {
		if !copied {
			copied, p.keyed = true, slices.Clone(queued[:i]) // all the group's so far
		}
	}
	answer := func(i int, reply []byte) {
		own(i)
		if p.local == nil {
			p.local = make([][]byte, len(queued))
			p.later = make([]bool, len(queued))
		}
		p.local[i] = reply
	}
	for i, args := range queued {
		switch {
		case ascii.EqualFold(args[0], "unwatch"):
			answer(i, okReply)
		case ascii.EqualFold(args[0], "auth"):
			name, pass, msg := c.authArgs(args)
			if msg == "" {
				if u, ok := c.checkLogin(name, pass); ok {
					user, p.user = u, u
				} else {
					msg = errWrongPass
					p.logs = append(p.logs, acl.LogEntry{Reason: acl.DeniedAuth, Object: string(args[0]), Username: string(name)})
				}
			}
			if msg == "" {
				answer(i, okReply)
			} else {
				answer(i, []byte("-"+msg+"\r\n"))
			}
		default:
			spec := command.Redis.Lookup(args[0])
			if r := user.Rules(); !r.All() {
				if d, ok := r.Check(args, spec.Flags&command.NoAuth != 0); !ok {
					answer(i, []byte("-"+server.ExecDenied(d)+"\r\n"))
					p.logs = append(p.logs, acl.LogEntry{Reason: d.Reason, Object: d.Object, Username: user.Name()})
					continue
				}
			}
			if spec != nil && execLocal(spec.Name) {
				answer(i, nil)
				p.later[i] = true
				continue
			}
			if spec != nil && spec.Flags&command.Scripting != 0 {
				// As the node sends a script outside MULTI (script):
				// EVALSHA as EVAL of its text, FCALL with its library,
				// as the user at this point of the transaction. The
				// group runs the transaction as it runs scripts, once
				// on its leader, logging what it wrote (effects.go).
				out, _, _, msg := c.clusterScript(args)
				if msg != "" {
					answer(i, []byte("-"+msg+"\r\n"))
					continue
				}
				own(i)
				args = server.ClusterScriptAs(user.Rules(), out)
			}
			if copied {
				p.keyed = append(p.keyed, args)
			}
		}
	}
	if !copied {
		p.keyed = queued
	}
	return p
}

// appendLocal writes the reply of the transaction's command i, one the
// node answers: reply, or, for one it runs (later), its run's.
func (p *execPlan) appendLocal(c *clientConn, queued [][][]byte, i int, reply []byte) {
	if !p.later[i] {
		c.out.W.AppendRaw(reply)
		return
	}
	c.answer(command.Redis.Lookup(queued[i][0]), queued[i])
}

// ran makes what the transaction's commands changed on the connection
// take effect, once the transaction ran.
func (p *execPlan) ran(c *clientConn) {
	for _, e := range p.logs {
		e.Context, e.Time, e.ClientInfo = "multi", time.Now(), c.describe()
		c.s.acl.Log.Add(e)
	}
	if p.user != nil {
		c.user.Store(p.user)
		c.authed = true
	}
}

// watchedKey is a key WATCH read, with its digest then (see watch.go).
type watchedKey struct {
	key    []byte
	digest uint64
}

// watch implements WATCH: it reads the keys' digests, which EXEC checks.
// The keys must share one slot, as the transaction's must.
func (c *clientConn) watch(w *resp.Writer, keys [][]byte) {
	if c.inMulti {
		w.AppendError("ERR WATCH inside MULTI is not allowed")
		return
	}
	s := slot.Of(keys[0])
	if len(c.watched) > 0 {
		s = c.wslot
	}
	cmds := make([][][]byte, len(keys))
	for i, k := range keys {
		if slot.Of(k) != s {
			w.AppendError("CROSSSLOT Keys in request don't hash to the same slot")
			return
		}
		cmds[i] = [][]byte{cmdDigest, k}
	}
	p := c.run(c.s.node.Table().GroupOf(s), cmds, Read)
	if p.err != nil {
		w.AppendError(errorText(p.err))
		return
	}
	if len(p.ends) != len(keys) {
		w.AppendError("ERR " + errBadReply.Error())
		return
	}
	for i, k := range keys {
		d, ok := parseIntReply(segment(p.reply, p.ends, i))
		if !ok {
			w.AppendError("ERR " + errBadReply.Error())
			return
		}
		c.watched = append(c.watched, watchedKey{key: append([]byte(nil), k...), digest: uint64(d)})
	}
	c.wslot = s
	w.AppendOK()
}

func (c *clientConn) unwatch() { c.watched = nil }

// run sends one request to group g and waits for it.
func (c *clientConn) run(g int, cmds [][][]byte, mode Mode) *pending {
	p := &pending{}
	c.submit(g, &Request{Cmds: cmds, Proto: c.wireProto(), Mode: mode,
		Done: func(reply []byte, ends []int, err error) {
			p.reply = append(p.reply[:0], reply...)
			p.ends = append(p.ends[:0], ends...)
			p.err = err
			c.done <- struct{}{}
		}})
	<-c.done
	return p
}

// allGroups returns every data group's number.
func (c *clientConn) allGroups() []int {
	gs := make([]int, c.s.node.Groups())
	for g := range gs {
		gs[g] = g
	}
	return gs
}

// keyspaceGroups returns the groups that DBSIZE, KEYS, SCAN and RANDOMKEY
// cover on this connection, in order (see ServerConfig.WholeKeyspace):
// every group; or, as on a Redis Cluster node, those this node is the
// master of in CLUSTER SLOTS, and on a READONLY connection those it holds
// a replica of, as a Redis replica answers with its copy.
func (c *clientConn) keyspaceGroups() []int {
	if c.s.cfg().WholeKeyspace {
		return c.allGroups()
	}
	n := c.s.node
	v := n.v()
	if !c.ro {
		return n.mastered(v)
	}
	var gs []int
	for g := range v.ngroups {
		if loc := n.local(g); loc != nil && !loc.Removed() {
			gs = append(gs, g)
		}
	}
	return gs
}

// onGroups runs one command on groups gs at once and returns their
// answers, in gs's order.
func (c *clientConn) onGroups(gs []int, args [][]byte, mode Mode) []*pending {
	if mode != Write && c.ro {
		mode = Stale
	}
	ps := make([]*pending, len(gs))
	for i, g := range gs {
		p := &pending{}
		ps[i] = p
		c.submit(g, &Request{Cmds: [][][]byte{args}, Proto: 2, Mode: mode,
			Done: func(reply []byte, ends []int, err error) {
				p.reply = append(p.reply[:0], reply...)
				p.err = err
				c.done <- struct{}{}
			}})
	}
	for range ps {
		<-c.done
	}
	return ps
}

// sumInts adds up the integer replies of a command run on groups gs.
func (c *clientConn) sumInts(gs []int, args ...[]byte) (int64, error) {
	var sum int64
	for _, p := range c.onGroups(gs, args, Read) {
		if p.err != nil {
			return 0, p.err
		}
		v, ok := parseIntReply(p.reply)
		if !ok {
			return 0, errBadReply
		}
		sum += v
	}
	return sum, nil
}

// allKeys returns the keys matching pattern in groups gs, sorted.
func (c *clientConn) allKeys(gs []int, pattern []byte) ([][]byte, error) {
	var keys [][]byte
	for _, p := range c.onGroups(gs, [][]byte{[]byte("keys"), pattern}, Read) {
		if p.err != nil {
			return nil, p.err
		}
		ks, _, ok := parseBulkArray(p.reply)
		if !ok {
			return nil, errBadReply
		}
		keys = append(keys, ks...)
	}
	slices.SortFunc(keys, bytes.Compare)
	// A key being moved between groups is in both for a moment.
	return slices.CompactFunc(keys, bytes.Equal), nil
}

// randomKey is RANDOMKEY: a key of a random group it covers
// (keyspaceGroups), or of the next one that has any.
func (c *clientConn) randomKey(w *resp.Writer) {
	gs := c.keyspaceGroups()
	n := len(gs)
	start := rand.N(max(n, 1))
	for i := range n {
		g := gs[(start+i)%n]
		p := c.run(g, [][][]byte{{[]byte("randomkey")}}, c.mode(false))
		if p.err != nil {
			w.AppendError(errorText(p.err))
			return
		}
		if !bytes.HasPrefix(p.reply, []byte("$-1")) && !bytes.HasPrefix(p.reply, []byte("_")) {
			w.AppendRaw(p.reply)
			return
		}
	}
	w.AppendNull()
}

// scan runs SCAN over the groups it covers (keyspaceGroups) in turn. The
// cursor carries the group in its low part: cursor = inner × groups +
// group, inner being the group's own cursor; a group's 0 moves on to the
// next covered group after it. Cursor 0 starts with the first covered
// group; a group named by a cursor is scanned whether or not it is still
// covered (its leader may have changed since the scan began).
func (c *clientConn) scan(w *resp.Writer, args [][]byte) {
	cur, err := strconv.ParseUint(string(args[1]), 10, 64)
	if err != nil {
		w.AppendError("ERR invalid cursor")
		return
	}
	n := uint64(c.s.node.Groups())
	g, inner := cur%n, cur/n
	gs := c.keyspaceGroups()
	if cur == 0 {
		if len(gs) == 0 {
			w.AppendArray(2)
			w.AppendBulkString("0")
			w.AppendArray(0)
			return
		}
		g = uint64(gs[0])
	}
	cmd := append([][]byte{[]byte("scan"), []byte(strconv.FormatUint(inner, 10))}, args[2:]...)
	p := c.run(int(g), [][][]byte{cmd}, c.mode(false))
	if p.err != nil {
		w.AppendError(errorText(p.err))
		return
	}
	next, rest, ok := parseScanReply(p.reply)
	if !ok {
		w.AppendRaw(p.reply) // an error reply, such as a syntax error
		return
	}
	var out uint64
	if next != 0 {
		out = next*n + g
	} else if i := slices.IndexFunc(gs, func(x int) bool { return uint64(x) > g }); i >= 0 {
		out = uint64(gs[i])
	}
	w.AppendArray(2)
	w.AppendBulkString(strconv.FormatUint(out, 10))
	w.AppendRaw(rest)
}

// bgsave implements BGSAVE [SCHEDULE] on a node (save.go).
func (c *clientConn) bgsave(w *resp.Writer, args [][]byte) {
	schedule, ok := server.ParseBGSave(args)
	if !ok {
		w.AppendError("ERR syntax error")
		return
	}
	switch scheduled, err := c.s.node.BGSave(schedule); {
	case err != nil:
		w.AppendError(saveError(err))
	case scheduled:
		w.AppendSimple("Background saving scheduled")
	default:
		w.AppendSimple("Background saving started")
	}
}

// memoryFigures are the node's figures for MEMORY STATS and DOCTOR, of
// this node's replicas as INFO gives them: used_memory (the storage
// engines' estimates) and the keys they hold; and its clients.
func (c *clientConn) memoryFigures() server.MemoryFigures {
	keys, _, used := c.s.node.localTotals(c.s.node.v())
	f := server.MemoryFigures{Used: used, Keys: keys}
	c.s.mu.Lock()
	f.Clients = int64(len(c.s.conns))
	c.s.mu.Unlock()
	return f
}

// shutdown implements SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] on a
// node: it stops the node as a signal does (ServerConfig.OnShutdown). The
// node's data is its Raft log, which every stop flushes; SAVE has its
// replicas write snapshots first, as the SAVE command does. Without
// NOSAVE a script busy on this node refuses it, as in Redis; with NOSAVE
// the node's scripts under way are stopped. The client gets no reply: its
// connection closes.
func (c *clientConn) shutdown(w *resp.Writer, args [][]byte) {
	o, msg := server.ParseShutdown(args)
	eng := c.s.node.cfg.Scripts
	switch {
	case msg != "":
	case o.Abort:
		msg = server.MsgNoShutdown
	case !o.NoSave && eng.BusyError() != nil:
		msg = eng.BusyError().Error()
	}
	if msg != "" {
		w.AppendError(msg)
		return
	}
	if o.NoSave {
		if n := eng.StopAll(); n > 0 {
			c.s.log.Warn("SHUTDOWN NOSAVE: stopped the scripts under way", "scripts", n)
		}
	}
	if o.Save {
		// As SAVE: the replicas' snapshots first, so that the next start
		// replays less; a failure stops nothing unless FORCE.
		if err := c.s.node.Save(context.Background()); err != nil {
			c.s.log.Error("SHUTDOWN SAVE: the snapshots failed", "err", err, "force", o.Force)
			if !o.Force {
				w.AppendError(server.MsgShutdownFailed)
				return
			}
		}
	}
	c.s.log.Info("SHUTDOWN: stopping the node", "client", c.nc.RemoteAddr().String())
	c.quit = true
	if stop := c.s.cfg().OnShutdown; stop != nil {
		stop()
		return
	}
	go c.s.Shutdown(context.Background())
}
