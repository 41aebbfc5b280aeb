package server

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/pause"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/shard"
)

// session is the state of a RESP connection: protocol version, name,
// transaction and watched keys. It belongs to the connection's goroutine.
type session struct {
	c     *conn
	proto int

	inMulti  bool
	dirty    bool // a command queued in MULTI was rejected: EXEC aborts
	queued   []queuedCmd
	watching []watched
	ctx      command.Ctx
	sctx     command.Ctx // the held keyspaces of a script (script.go)
	set      []bool
	keys     [][]byte

	// subs are the connection's subscriptions (pubsub.go); inExec is set
	// while EXEC runs its commands.
	subs   pubsub.Subs
	inExec bool
	// monitoring is set by MONITOR (monitor.go).
	monitoring bool

	// CLIENT REPLY: replyOff drops every reply, skipNext the next
	// command's; unmute is set by CLIENT REPLY ON, whose own reply is
	// sent.
	replyOff, skipNext, unmute bool
	// trk is the connection's client-side caching (tracking.go).
	trk trackState
	// waiting is set by a WAIT that is to block for waitFor (wait.go).
	waiting bool
	waitFor time.Duration
	// names finds the connection's commands by name.
	names command.LastLookup
}

type queuedCmd struct {
	spec *command.Spec
	args [][]byte
}

type watched struct {
	key     []byte
	shard   int
	version uint64
}

func (s *session) init(c *conn) {
	s.c = c
	s.proto = 2
	s.set = make([]bool, len(c.s.router.Shards()))
}

// handle runs one command or, inside MULTI, queues it. After CLIENT REPLY
// OFF or SKIP the command's reply is dropped: the replies before it are
// written out first, and what it appended is then discarded.
func (s *session) handle(args [][]byte) {
	if !s.replyOff && !s.skipNext {
		s.run(args)
		return
	}
	s.skipNext = false
	c := s.c
	c.p.Flush()
	if !c.writeOut() {
		return
	}
	c.muting = true
	s.run(args)
	c.p.Flush()
	c.muting = false
	if !s.unmute {
		c.p.Out().Reset()
	}
	s.unmute = false
}

// run runs one command or, inside MULTI, queues it.
func (s *session) run(args [][]byte) {
	p := s.c.p
	spec := s.names.Lookup(args[0])
	if spec == nil {
		if s.c.httpRequest(args) {
			return
		}
		s.reject(nil, UnknownCommand(args))
		return
	}
	if !spec.ArityOK(len(args)) {
		if s.c.httpRequest(args) {
			return
		}
		s.c.rec.Reject(spec)
		s.reject(spec, "ERR wrong number of arguments for '"+spec.Name+"' command")
		return
	}
	if msg, unknown := spec.SubError(args); msg != "" {
		if !unknown {
			s.c.rec.Reject(spec) // Redis counts no command for an unknown subcommand
		}
		s.reject(spec, msg)
		return
	}
	if !s.c.gate.authed && spec.Flags&command.NoAuth == 0 && !s.c.s.acl.DefaultOpen() {
		s.c.rec.Reject(spec)
		s.reject(spec, msgNoAuth)
		return
	}
	s.c.last = FullName(spec, args)
	if !s.c.permitted(spec, args, s.inMulti) {
		s.c.rec.Reject(spec)
		if s.inMulti {
			s.dirty = true
		}
		return
	}
	if msg := SortDenied(s.c.user.Load().Rules(), spec, args); msg != "" {
		s.reject(spec, msg)
		return
	}
	s.c.feedMonitors(args)
	if s.monitoring && spec.Kind != command.Conn {
		s.c.rec.Reject(spec)
		s.reject(spec, "ERR Replica can't interact with the keyspace")
		return
	}
	if s.proto == 2 && s.subscribed() && !pubsub.Allowed(spec.Name) {
		s.c.rec.Reject(spec)
		s.reject(spec, pubsub.NotAllowed(spec.Name))
		return
	}
	if s.c.s.pause.Active() && !s.c.waitPause(s.mayWrite(spec)) {
		s.c.quit = true // killed or stopped while paused: the command does not run
		return
	}
	memSrv := spec.Name == "memory" && MemoryServerSub(args)
	if s.inMulti && !runsInMulti(spec.Name) {
		if spec.Flags&command.NoMulti != 0 || memSrv {
			s.c.rec.Reject(spec)
			s.reject(spec, "ERR Command not allowed inside a transaction")
			return
		}
		s.queued = append(s.queued, queuedCmd{spec: spec, args: shard.CloneArgs(args)})
		s.c.multiCount.Add(1)
		for _, a := range args {
			s.c.multiMem.Add(int64(len(a)) + 8) // Redis's: the bytes and a pointer per argument
		}
		w := p.Local()
		w.AppendSimple("QUEUED")
		p.EndLocal()
		return
	}
	s.trk.cmd = s.trackFor(spec)
	p.Track(s.trk.cmd)
	if memSrv {
		// MEMORY STATS and the like read every shard: the connection
		// answers them, as it does its own commands.
		p.Flush()
		s.c.lastName.Store(s.c.last)
		w := &p.Out().W
		m := s.c.rec.Start(w)
		s.memory(w, args)
		s.c.rec.Stop(m, spec, args, s.c)
		return
	}
	if spec.Kind == command.Conn && s.onShard(spec, args) {
		return
	}
	if spec.Kind == command.Conn {
		p.Flush()
		// As in Redis, a command that runs is already the connection's
		// last one: CLIENT LIST shows itself on the caller's line.
		s.c.lastName.Store(s.c.last)
		s.runConn(spec, &p.Out().W, args)
		if s.waiting {
			s.waiting = false
			s.waitReplicas(s.waitFor)
		}
		return
	}
	if spec.Block != nil && spec.Block.Asks(args) {
		s.block(spec, args)
		return
	}
	p.Do(spec, args)
}

// mayWrite reports whether CLIENT PAUSE WRITE holds the command: one that
// writes or may write, or an EXEC of such commands.
func (s *session) mayWrite(spec *command.Spec) bool {
	if spec.Name == "exec" && s.inMulti {
		for _, q := range s.queued {
			if pause.MayWrite(q.spec) {
				return true
			}
		}
		return false
	}
	return pause.MayWrite(spec)
}

// reject answers a command that was not run, spec (nil for an unknown
// command); inside MULTI it also dooms the transaction, and a refused EXEC
// discards it at once, as Redis does.
func (s *session) reject(spec *command.Spec, msg string) {
	if spec != nil && spec.Name == "exec" {
		msg = s.abortExec(msg)
	} else if s.inMulti {
		s.dirty = true
	}
	w := s.c.p.Local()
	w.AppendError(msg)
	s.c.p.EndLocal()
	s.c.rec.Error([]byte(msg))
}

// abortExec discards the transaction and drops the watched keys, for an
// EXEC refused before it ran (in MULTI or not), and returns Redis's
// reply for the refusal msg.
func (s *session) abortExec(msg string) string {
	s.endMulti()
	if len(s.watching) > 0 {
		s.c.p.Flush()
		s.unwatchAll()
	}
	return ExecAbort(msg)
}

// ExecAbort returns Redis's reply to an EXEC refused before it ran for the
// reason msg, an error reply: Redis gives its own texts there without
// their ERR prefix.
func ExecAbort(msg string) string {
	return "EXECABORT Transaction discarded because of: " + strings.TrimPrefix(msg, "ERR ")
}

func runsInMulti(name string) bool {
	switch name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

// UnknownCommand is Redis's error text for an unknown command.
func UnknownCommand(args [][]byte) string {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(clip(args[0], 128))
	b.WriteString("', with args beginning with: ")
	room := 128
	for _, a := range args[1:] {
		if room <= 0 {
			break
		}
		b.WriteString("'")
		b.WriteString(clip(a, room))
		b.WriteString("' ")
		room -= len(a)
	}
	return b.String()
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

func (s *session) ping(w *resp.Writer, args [][]byte) {
	Ping(w, args, s.proto == 2 && s.subscribed())
}

// Ping writes the reply to PING with args; subscribed says the connection
// speaks RESP2 and has subscriptions, where Redis answers with an array.
func Ping(w *resp.Writer, args [][]byte, subscribed bool) {
	if subscribed && len(args) <= 2 {
		pubsub.AppendPong(w, args)
		return
	}
	switch len(args) {
	case 1:
		w.AppendSimple("PONG")
	case 2:
		w.AppendBulk(args[1])
	default:
		w.AppendError("ERR wrong number of arguments for 'ping' command")
	}
}

func (s *session) echo(w *resp.Writer, args [][]byte) { w.AppendBulk(args[1]) }

func (s *session) quitCmd(w *resp.Writer, _ [][]byte) {
	w.AppendOK()
	s.c.quit = true
}

func (s *session) selectCmd(w *resp.Writer, args [][]byte) { SelectDB(w, args, false) }

// SelectDB answers SELECT index, for a single server or (cluster) a
// cluster node, from a client or a script: there is database 0 only. The
// index is read as Redis's getIntFromObjectOrReply reads it ("00" and "+0"
// are not integers, and it must fit in 32 bits) before any other than 0 is
// refused, in a cluster node's words there.
func SelectDB(w *resp.Writer, args [][]byte, cluster bool) {
	n, ok := resp.ParseInt(args[1])
	switch {
	case !ok:
		w.AppendError("ERR value is not an integer or out of range")
	case n < math.MinInt32 || n > math.MaxInt32:
		w.AppendError("ERR value is out of range, value must between -2147483648 and 2147483647")
	case n == 0:
		w.AppendOK()
	case cluster:
		w.AppendError("ERR SELECT is not allowed in cluster mode")
	default:
		w.AppendError("ERR DB index is out of range")
	}
}

// hello implements HELLO [protover [AUTH username password] [SETNAME name]].
func (s *session) hello(w *resp.Writer, args [][]byte) {
	proto, msg := HelloProto(args, s.proto)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	name, setName := "", false
	var user, pass []byte
	for i := 2; i < len(args); i++ {
		opt := strings.ToLower(string(args[i]))
		switch {
		case opt == "auth" && i+2 < len(args):
			user, pass = args[i+1], args[i+2]
			i += 2
		case opt == "setname" && i+1 < len(args):
			name, setName = string(args[i+1]), true
			if !validClientName(name) {
				w.AppendError("ERR Client names cannot contain spaces, newlines or special characters.")
				return
			}
			i++
		default:
			w.AppendError("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
			return
		}
	}
	if !s.helloAuth(w, args[0], user, pass) {
		return
	}
	if setName {
		s.c.setName(name)
	}
	s.setProto(proto)
	AppendHello(w, proto, s.c.id, "standalone")
}

// HelloProto returns the protocol version HELLO's arguments ask for, cur
// when they name none, or the error reply for a bad one.
func HelloProto(args [][]byte, cur int) (proto int, errReply string) {
	if len(args) < 2 {
		return cur, ""
	}
	v, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil {
		return cur, "ERR Protocol version is not an integer or out of range"
	}
	if v < 2 || v > 3 {
		return cur, "NOPROTO unsupported protocol version"
	}
	return int(v), ""
}

// AppendHello writes HELLO's reply for a connection with id id now speaking
// RESP version proto, on a server in mode ("standalone" or "cluster").
func AppendHello(w *resp.Writer, proto int, id int64, mode string) {
	w.AppendMap(7)
	w.AppendBulkString("server")
	w.AppendBulkString("redis")
	w.AppendBulkString("version")
	w.AppendBulkString(command.RedisVersion)
	w.AppendBulkString("proto")
	w.AppendInt(int64(proto))
	w.AppendBulkString("id")
	w.AppendInt(id)
	w.AppendBulkString("mode")
	w.AppendBulkString(mode)
	w.AppendBulkString("role")
	w.AppendBulkString("master")
	w.AppendBulkString("modules")
	w.AppendArray(0)
}

func (s *session) setProto(v int) {
	s.proto = v
	s.c.respVer.Store(int32(v))
	s.c.p.SetProto(v, respBusy)
}

func validClientName(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] < '!' || name[i] > '~' {
			return false
		}
	}
	return true
}

func (s *session) multi(w *resp.Writer, _ [][]byte) {
	if s.inMulti {
		w.AppendError("ERR MULTI calls can not be nested")
		return
	}
	s.inMulti = true
	s.dirty = false
	s.queued = s.queued[:0]
	s.c.multiCount.Store(0)
	s.c.multiMem.Store(0)
	w.AppendOK()
}

func (s *session) discard(w *resp.Writer, _ [][]byte) {
	if !s.inMulti {
		w.AppendError("ERR DISCARD without MULTI")
		return
	}
	s.endMulti()
	s.unwatchAll()
	w.AppendOK()
}

func (s *session) endMulti() {
	s.c.multiCount.Store(-1)
	s.c.multiMem.Store(0)
	s.inMulti, s.dirty = false, false
	clear(s.queued)
	s.queued = s.queued[:0]
}

func (s *session) reset(w *resp.Writer, _ [][]byte) {
	s.endMulti()
	s.unwatchAll()
	s.unsubscribeAll()
	s.unmonitor()
	s.trackingOff()
	s.c.setName("")
	s.setProto(2)
	s.c.user.Store(s.c.s.acl.Default())
	s.c.setAuthed(s.c.s.acl.DefaultOpen())
	s.replyOff, s.skipNext, s.unmute = false, false, true
	s.c.noEvict.Store(false)
	s.c.noTouch.Store(false)
	s.c.p.SetNoTouch(false)
	w.AppendSimple("RESET")
}

// exec runs the queued commands while holding every shard they touch, so no
// other client sees part of the transaction.
func (s *session) exec(w *resp.Writer, _ [][]byte) {
	if !s.inMulti {
		w.AppendError("ERR EXEC without MULTI")
		return
	}
	if s.dirty {
		s.endMulti()
		s.unwatchAll()
		w.AppendError("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	r := s.c.s.router
	n := len(s.set)
	clear(s.set)
	for _, q := range s.queued {
		switch q.spec.Kind {
		case command.Keyed:
			s.keys = q.spec.Keys(q.args, s.keys[:0])
			if len(s.keys) == 0 || q.spec.ReadsOthers != nil && q.spec.ReadsOthers(q.args) {
				markAll(s.set)
			}
			for _, k := range s.keys {
				s.set[r.Ring().Lookup(k)] = true
			}
		case command.AllShards:
			markAll(s.set)
		case command.Cursor:
			if i := q.spec.Shard(q.args, n); i >= 0 {
				s.set[i] = true
			}
		case command.Conn:
			// A script (EVAL …) holds its keys' shards, or all of them
			// when it declares none.
			if q.spec.KeyArgs != nil {
				s.keys = q.spec.Keys(q.args, s.keys[:0])
				if len(s.keys) == 0 {
					markAll(s.set)
				}
				for _, k := range s.keys {
					s.set[r.Ring().Lookup(k)] = true
				}
			}
		}
	}
	for _, wk := range s.watching {
		s.set[wk.shard] = true
	}
	dbs, ok := s.c.p.Hold(s.set)
	if !ok {
		s.endMulti()
		s.unwatchLocked(nil)
		w.AppendRaw(s.c.p.BusyReply())
		return
	}
	oom := s.execOOM(w, dbs)
	aborted := false
	for _, wk := range s.watching {
		if dbs[wk.shard].Version(wk.key) != wk.version {
			aborted = true
			break
		}
	}
	switch {
	case oom:
		// execOOM has answered.
	case aborted:
		w.AppendNullArray()
	default:
		w.AppendArray(len(s.queued))
		s.ctx.W = w
		s.ctx.SkipOOM = true
		s.ctx.Held(dbs, r.Ring())
		s.ctx.Writer, s.ctx.Track = s.c.id, s.trackFor(command.Redis["exec"])
		s.inExec = true
		for _, q := range s.queued {
			if r := s.c.user.Load().Rules(); !r.All() {
				if d, ok := r.Check(q.args, q.spec.Flags&command.NoAuth != 0); !ok {
					s.c.logDenial(d, "multi")
					w.AppendError(ExecDenied(d))
					continue
				}
			}
			if q.spec.Kind == command.Conn {
				s.runConn(q.spec, w, q.args)
				continue
			}
			m := s.c.rec.Start(w)
			shard.Exec(&s.ctx, q.spec, q.args)
			s.c.rec.Stop(m, q.spec, q.args, s.c)
		}
		s.ctx.W = nil
		s.ctx.SkipOOM = false
		s.ctx.Writer, s.ctx.Track = 0, 0
	}
	s.unwatchLocked(dbs)
	s.c.p.Release()
	s.endMulti()
	s.inExec = false
	s.startSubs()
}

func markAll(set []bool) {
	for i := range set {
		set[i] = true
	}
}

func (s *session) watch(w *resp.Writer, args [][]byte) {
	if s.inMulti {
		w.AppendError("ERR WATCH inside MULTI is not allowed")
		return
	}
	r := s.c.s.router
	clear(s.set)
	for _, k := range args[1:] {
		s.set[r.Ring().Lookup(k)] = true
	}
	dbs, ok := s.c.p.Hold(s.set)
	if !ok {
		w.AppendRaw(s.c.p.BusyReply())
		return
	}
	for _, k := range args[1:] {
		i := r.Ring().Lookup(k)
		key := append([]byte(nil), k...)
		s.watching = append(s.watching, watched{key: key, shard: i, version: dbs[i].Watch(key)})
	}
	s.c.p.Release()
	w.AppendOK()
}

// unwatch implements UNWATCH. Queued in MULTI it changes nothing: EXEC
// has checked the watched keys before it runs, and drops them when it ends
// (it holds their shards meanwhile).
func (s *session) unwatch(w *resp.Writer, _ [][]byte) {
	if !s.inExec {
		s.unwatchAll()
	}
	w.AppendOK()
}

// unwatchAll drops every watch, holding the shards involved. A shard whose
// queue stays full is retried for a while; watches that still cannot be
// dropped are left in place, where they cost memory but change no result.
func (s *session) unwatchAll() {
	if len(s.watching) == 0 {
		return
	}
	clear(s.set)
	for _, wk := range s.watching {
		s.set[wk.shard] = true
	}
	for try := 0; try < 100; try++ {
		if dbs, ok := s.c.p.Hold(s.set); ok {
			s.unwatchLocked(dbs)
			s.c.p.Release()
			return
		}
		time.Sleep(time.Millisecond)
	}
	s.c.logger().Warn("could not drop watched keys: shards stayed busy", "keys", len(s.watching))
	s.watching = s.watching[:0]
}

// unwatchLocked drops every watch with the shards held (dbs nil: only
// forget them locally, the caller having failed to hold the shards).
func (s *session) unwatchLocked(dbs []*keyspace.DB) {
	if dbs == nil {
		s.unwatchAll()
		return
	}
	for _, wk := range s.watching {
		dbs[wk.shard].Unwatch(wk.key)
	}
	clear(s.watching)
	s.watching = s.watching[:0]
}

// close releases what the session holds when its connection ends.
func (s *session) close() {
	s.unwatchAll()
	s.unsubscribeAll()
	s.unmonitor()
	s.trackingOff()
}
