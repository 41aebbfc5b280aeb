package server

import (
	"strings"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/router"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/shard"
)

// Scripts run on the connection's goroutine while it holds the shards of
// the keys the script declares (KEYS), or every shard when it declares
// none. redis.call runs commands through the command table on the held
// keyspaces; a command on a key of a shard not held fails with
// errUndeclared. Inside EXEC a script uses the shards EXEC holds.

const (
	errUndeclared = "ERR script accessed a key of a shard it does not hold: declare every key in KEYS, or declare none to hold every shard"
	errAllShards  = "ERR script called a command that needs every shard: declare no keys (numkeys 0) to hold every shard"
)

func (s *session) eval(w *resp.Writer, args [][]byte)      { s.evalCmd(w, args, evalBody, false) }
func (s *session) evalsha(w *resp.Writer, args [][]byte)   { s.evalCmd(w, args, evalSHA, false) }
func (s *session) evalRO(w *resp.Writer, args [][]byte)    { s.evalCmd(w, args, evalBody, true) }
func (s *session) evalshaRO(w *resp.Writer, args [][]byte) { s.evalCmd(w, args, evalSHA, true) }
func (s *session) fcall(w *resp.Writer, args [][]byte)     { s.evalCmd(w, args, evalFunc, false) }
func (s *session) fcallRO(w *resp.Writer, args [][]byte)   { s.evalCmd(w, args, evalFunc, true) }

// evalKind says what names the code an EVAL-family command runs.
type evalKind int

const (
	evalBody evalKind = iota // EVAL, EVAL_RO: the script's text
	evalSHA                  // EVALSHA, EVALSHA_RO: a cached script's SHA1
	evalFunc                 // FCALL, FCALL_RO: a function's name
)

// evalRequest checks the arguments of an EVAL-family command and returns
// the run it asks for, or the error to answer.
func evalRequest(eng *script.Engine, args [][]byte, kind evalKind, ro bool) (script.Request, string) {
	if kind == evalFunc {
		fn := eng.Funcs.Get(string(args[1]))
		if fn == nil {
			return script.Request{}, "ERR Function not found"
		}
		return evalRequestFunc(fn, args, ro)
	}
	var req script.Request
	n, msg := numKeys(args, false)
	if msg != "" {
		return req, msg
	}
	var err error
	switch kind {
	case evalSHA:
		if req.Script = eng.Cache.Get(string(args[1])); req.Script == nil {
			return req, "NOSCRIPT No matching script. Please use EVAL."
		}
	case evalBody:
		if req.Script, err = eng.Cache.Load(args[1]); err != nil {
			return req, err.Error()
		}
	}
	if ro, msg = readOnly(&req, ro); msg != "" {
		return req, msg
	}
	req.Keys, req.Args, req.ReadOnly = args[3:3+n], args[3+n:], ro
	return req, ""
}

// readOnly returns whether req runs read-only, called by a command that is
// (ro) or not, as Redis decides it from the flags: a function or a script
// with a shebang line runs read-only with no-writes, and may not be called
// by an _RO command without it; a script without one runs read-only when
// ro.
func readOnly(req *script.Request, ro bool) (bool, string) {
	flags, ok := req.Flags()
	switch {
	case !ok:
		return ro, ""
	case flags&script.FlagNoWrites != 0:
		return true, ""
	case ro:
		return false, "ERR Can not execute a script with write flag using *_ro command."
	}
	return false, ""
}

// evalRequestFunc is evalRequest of FCALL or FCALL_RO (ro) of fn.
func evalRequestFunc(fn *script.Function, args [][]byte, ro bool) (script.Request, string) {
	req := script.Request{Func: fn}
	n, msg := numKeys(args, true)
	if msg != "" {
		return req, msg
	}
	if ro, msg = readOnly(&req, ro); msg != "" {
		return req, msg
	}
	req.Keys, req.Args, req.ReadOnly = args[3:3+n], args[3+n:], ro
	req.Command = string(args[0])
	return req, ""
}

// numKeys parses the numkeys of an EVAL-family command (FCALL's when
// fcall) and checks it against the arguments. It is read as Redis reads
// integers (resp.ParseInt): "01", "+1" and "-0" are not counts.
func numKeys(args [][]byte, fcall bool) (int, string) {
	n, ok := resp.ParseInt(args[2])
	switch {
	case !ok && fcall:
		return 0, "ERR Bad number of keys provided"
	case !ok:
		return 0, "ERR value is not an integer or out of range"
	case n < 0:
		return 0, "ERR Number of keys can't be negative"
	case n > int64(len(args)-3):
		return 0, "ERR Number of keys can't be greater than number of args"
	}
	return int(n), ""
}

// runScript runs req over the keyspaces of c and answers in w. A function,
// or a script with a shebang line, that may write and is not flagged
// allow-oom is refused while a keyspace stays over its memory limit; one
// flagged allow-oom writes past it.
//
// Once the run is busy, the commands that reach its shards are answered
// BUSY (router.Router.Drain) until it ends.
func runScript(srv *Server, c *command.Ctx, req script.Request, w *resp.Writer) {
	if flags, ok := req.Flags(); ok && flags&script.FlagNoWrites == 0 {
		if flags&script.FlagAllowOOM != 0 {
			saved := c.SkipOOM
			c.SkipOOM = true
			defer func() { c.SkipOOM = saved }()
		} else if !c.SkipOOM && !c.MemoryOK() {
			w.AppendError(command.OOMError)
			return
		}
	}
	h := &scriptHost{ctx: c, r: srv.router, srv: srv}
	h.held = h.one[:0]
	c.DBs(func(i int, _ *keyspace.DB) bool {
		h.held = append(h.held, i)
		return true
	})
	req.Host = h
	saved := c.W
	srv.scripts.Run(req, w)
	c.W = saved
}

func (s *session) evalCmd(w *resp.Writer, args [][]byte, kind evalKind, ro bool) {
	eng := s.c.s.scripts
	req, msg := evalRequest(eng, args, kind, ro)
	if msg != "" {
		w.AppendError(msg)
		return
	}
	if r := s.c.user.Load().Rules(); !r.All() {
		req.Check = s.c.scriptCheck(r)
		req.Permits = func(spec *command.Spec, args [][]byte) bool {
			_, ok := r.Check(args, spec.Flags&command.NoAuth != 0)
			return ok
		}
	}
	if s.inExec {
		// EXEC holds the shards already (see exec).
		runScript(s.c.s, &s.ctx, req, w)
		return
	}
	r := s.c.s.router
	clear(s.set)
	if len(req.Keys) == 0 {
		markAll(s.set)
	}
	for _, k := range req.Keys {
		s.set[r.Ring().Lookup(k)] = true
	}
	dbs, ok := s.c.p.Hold(s.set)
	if !ok {
		w.AppendRaw(s.c.p.BusyReply())
		return
	}
	s.sctx.Held(dbs, r.Ring())
	s.sctx.Writer, s.sctx.Track = s.c.id, s.trk.cmd
	runScript(s.c.s, &s.sctx, req, w)
	s.sctx.W = nil
	s.c.p.Release()
}

// scriptHost runs the commands of one script over the keyspaces of ctx.
type scriptHost struct {
	ctx  *command.Ctx
	r    *router.Router
	srv  *Server // for the connection commands; nil on a cluster group
	keys [][]byte
	held []int // the shards ctx holds, for Busy
	one  [1]int
}

// Busy implements script.Host: the shards the script holds answer what
// reaches them with msg until stop is closed.
func (h *scriptHost) Busy(stop <-chan struct{}, msg string) {
	if h.r == nil {
		return
	}
	for _, i := range h.held {
		go h.r.Drain(i, stop, msg)
	}
}

func (h *scriptHost) allHeld() bool {
	n := 0
	h.ctx.DBs(func(int, *keyspace.DB) bool { n++; return true })
	return n == h.ctx.NumShards()
}

// Call implements script.Host.
func (h *scriptHost) Call(spec *command.Spec, args [][]byte, w *resp.Writer) {
	c := h.ctx
	switch spec.Kind {
	case command.Keyed:
		h.keys = spec.Keys(args, h.keys[:0])
		if (len(h.keys) == 0 || spec.ReadsOthers != nil && spec.ReadsOthers(args)) && !h.allHeld() {
			w.AppendError(errAllShards)
			return
		}
		for _, k := range h.keys {
			if !c.Holds(k) {
				w.AppendError(errUndeclared)
				return
			}
		}
	case command.AllShards:
		if !h.allHeld() {
			w.AppendError(errAllShards)
			return
		}
	case command.Cursor:
		if i := spec.Shard(args, c.NumShards()); i >= 0 && c.ShardDB(i) == nil {
			w.AppendError(errUndeclared)
			return
		}
	case command.Conn:
		h.conn(spec, args, w)
		return
	}
	c.W = w
	shard.Exec(c, spec, args)
	c.W = nil
}

// conn runs the connection commands Redis lets scripts call (see
// script.Host). They read or change the server only, through what other
// connections use at the same time, so they may run on the goroutine of a
// shard the script holds.
func (h *scriptHost) conn(spec *command.Spec, args [][]byte, w *resp.Writer) {
	s := h.srv
	if s == nil {
		w.AppendError(script.NotAllowed)
		return
	}
	switch spec.Name {
	case "select":
		SelectDB(w, args, false)
	case "command":
		Command(w, args)
	case "info":
		w.AppendVerbatim("txt", []byte(s.infoText(args[1:])))
	case "lastsave":
		w.AppendInt(s.lastSave())
	case "slowlog":
		s.slowlog(w, args)
	case "publish":
		w.AppendInt(int64(s.hub.Publish(args[1], args[2])))
	case "spublish":
		w.AppendInt(int64(s.hub.SPublish(args[1], args[2])))
	case "pubsub":
		pubsub.AppendPubSub(w, s.hub, args)
	default:
		w.AppendError(script.NotAllowed)
	}
}

func (s *session) scriptCmd(w *resp.Writer, args [][]byte) { ScriptCommand(s.c.s.scripts, w, args) }

// ScriptCommand answers SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP over eng. A
// cluster node uses it too.
func ScriptCommand(eng *script.Engine, w *resp.Writer, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "help" && len(args) == 2:
		appendHelp(w,
			"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"EXISTS <sha1> [<sha1> ...]",
			"    Return information about the existence of the scripts in the script cache.",
			"FLUSH [ASYNC|SYNC]",
			"    Flush the Lua scripts cache. Very dangerous on replicas.",
			"    When called without the optional mode argument, the behavior is determined by the",
			"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
			"    * ASYNC: Asynchronously flush the scripts cache.",
			"    * SYNC: Synchronously flush the scripts cache.",
			"KILL",
			"    Kill the currently executing Lua script.",
			"LOAD <script>",
			"    Load a script into the scripts cache without executing it.",
			"HELP",
			"    Prints this help.")
	case sub == "load" && len(args) == 3:
		sc, err := eng.Cache.Load(args[2])
		if err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendBulkString(sc.SHA)
	case sub == "exists" && len(args) >= 3:
		w.AppendArray(len(args) - 2)
		for _, a := range args[2:] {
			if eng.Cache.Get(string(a)) != nil {
				w.AppendInt(1)
			} else {
				w.AppendInt(0)
			}
		}
	case sub == "flush" && len(args) <= 3:
		if len(args) == 3 {
			if m := strings.ToLower(string(args[2])); m != "sync" && m != "async" {
				w.AppendError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
				return
			}
		}
		eng.Cache.Flush()
		w.AppendOK()
	case sub == "kill" && len(args) == 2:
		if err := eng.Kill(false); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case sub == "load" || sub == "exists" || sub == "flush" || sub == "kill" || sub == "help":
		SubArity(w, "script", sub)
	default:
		UnknownSubcommand(w, "script", args[1])
	}
}

// Scripts whose keys all live on one shard run on that shard, in its batch
// like any command of one key, instead of holding the shard from the
// connection: a pipeline of them is not flushed at each one.

// evalSpecs returns EVAL, EVALSHA, FCALL and their _RO forms as commands
// of their keys' shard, running scripts of srv, counted under their own
// names.
func evalSpecs(srv *Server) map[string]*command.Spec {
	specs := map[string]*command.Spec{}
	for _, name := range []string{"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"} {
		sp := *command.Redis.Lookup([]byte(name))
		sp.Kind = command.Keyed
		kind, ro := evalBody, strings.HasSuffix(name, "_ro")
		switch {
		case strings.HasPrefix(name, "evalsha"):
			kind = evalSHA
		case strings.HasPrefix(name, "fcall"):
			kind = evalFunc
		}
		sp.Run = func(c *command.Ctx, args [][]byte) { runOnShard(srv, c, args, kind, ro) }
		specs[name] = &sp
	}
	return specs
}

// onShard reports whether an EVAL-family command with args runs on one
// shard: it declares keys, all of one shard, outside a transaction. It
// then sends it there.
func (s *session) onShard(spec *command.Spec, args [][]byte) bool {
	sp := s.c.s.evalSpecs[spec.Name]
	if sp == nil || s.inMulti || s.inExec || !s.c.user.Load().Rules().All() {
		// A user with restricted permissions runs scripts here, where
		// the script's commands are checked against them.
		return false
	}
	keys := command.EvalKeys(args, s.keys[:0])
	s.keys = keys[:0]
	if len(keys) == 0 {
		return false
	}
	ring := s.c.s.router.Ring()
	first := ring.Lookup(keys[0])
	for _, k := range keys[1:] {
		if ring.Lookup(k) != first {
			return false
		}
	}
	s.c.p.Do(sp, args)
	return true
}

// runOnShard runs a script of srv on the shard that holds its keys, with
// the shard's context.
func runOnShard(srv *Server, c *command.Ctx, args [][]byte, kind evalKind, ro bool) {
	req, msg := evalRequest(srv.scripts, args, kind, ro)
	if msg != "" {
		c.W.AppendError(msg)
		return
	}
	runScript(srv, c, req, c.W)
}
