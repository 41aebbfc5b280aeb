package server

import (
	"errors"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
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

func (s *session) eval(w *resp.Writer, args [][]byte)      { s.evalCmd(w, args, false, false) }
func (s *session) evalsha(w *resp.Writer, args [][]byte)   { s.evalCmd(w, args, true, false) }
func (s *session) evalRO(w *resp.Writer, args [][]byte)    { s.evalCmd(w, args, false, true) }
func (s *session) evalshaRO(w *resp.Writer, args [][]byte) { s.evalCmd(w, args, true, true) }

func (s *session) evalCmd(w *resp.Writer, args [][]byte, bySHA, ro bool) {
	n, err := strconv.ParseInt(string(args[2]), 10, 64)
	switch {
	case err != nil:
		w.AppendError("ERR value is not an integer or out of range")
		return
	case n < 0:
		w.AppendError("ERR Number of keys can't be negative")
		return
	case n > int64(len(args)-3):
		w.AppendError("ERR Number of keys can't be greater than number of args")
		return
	}
	eng := s.c.s.scripts
	var sc *script.Script
	if bySHA {
		if sc = eng.Cache.Get(string(args[1])); sc == nil {
			w.AppendError("NOSCRIPT No matching script. Please use EVAL.")
			return
		}
	} else if sc, err = eng.Cache.Load(args[1]); err != nil {
		w.AppendError(err.Error())
		return
	}
	keys := args[3 : 3+n]
	req := script.Request{Script: sc, Keys: keys, Args: args[3+n:], ReadOnly: ro}
	if r := s.c.user.Load().Rules(); !r.All() {
		req.Check = s.c.scriptCheck(r)
	}
	if s.inExec {
		// EXEC holds the shards already (see exec).
		saved := s.ctx.W
		req.Host = &scriptHost{ctx: &s.ctx}
		eng.Run(req, w)
		s.ctx.W = saved
		return
	}
	r := s.c.s.router
	clear(s.set)
	if n == 0 {
		markAll(s.set)
	}
	for _, k := range keys {
		s.set[r.Ring().Lookup(k)] = true
	}
	dbs, ok := s.c.p.Hold(s.set)
	if !ok {
		w.AppendRaw(respBusy)
		return
	}
	s.sctx.Held(dbs, r.Ring())
	req.Host = &scriptHost{ctx: &s.sctx}
	eng.Run(req, w)
	s.sctx.W = nil
	s.c.p.Release()
}

// scriptHost runs the commands of one script over the keyspaces of ctx.
type scriptHost struct {
	ctx  *command.Ctx
	keys [][]byte
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
		if len(h.keys) == 0 && !h.allHeld() {
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
	}
	c.W = w
	shard.Exec(c, spec, args)
	c.W = nil
}

// scriptCmd implements SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP.
func (s *session) scriptCmd(w *resp.Writer, args [][]byte) {
	eng := s.c.s.scripts
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
		switch err := eng.Kill(); {
		case errors.Is(err, script.ErrNotBusy), errors.Is(err, script.ErrUnkillable):
			w.AppendError(err.Error())
		default:
			w.AppendOK()
		}
	case sub == "load" || sub == "exists" || sub == "flush" || sub == "kill" || sub == "help":
		subArity(w, "script", sub)
	default:
		unknownSubcommand(w, "script", args[1])
	}
}

// Scripts whose keys all live on one shard run on that shard, in its batch
// like any command of one key, instead of holding the shard from the
// connection: a pipeline of them is not flushed at each one.

// evalSpecs returns EVAL, EVALSHA and their _RO forms as commands of
// their keys' shard, running scripts with eng, counted under their own
// names.
func evalSpecs(eng *script.Engine) map[string]*command.Spec {
	specs := map[string]*command.Spec{}
	for _, name := range []string{"eval", "evalsha", "eval_ro", "evalsha_ro"} {
		sp := *command.Redis.Lookup([]byte(name))
		sp.Kind = command.Keyed
		bySHA, ro := strings.HasPrefix(name, "evalsha"), strings.HasSuffix(name, "_ro")
		sp.Run = func(c *command.Ctx, args [][]byte) { runOnShard(eng, c, args, bySHA, ro) }
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

// runOnShard runs a script with eng on the shard that holds its keys,
// with the shard's context.
func runOnShard(eng *script.Engine, c *command.Ctx, args [][]byte, bySHA, ro bool) {
	n, _ := strconv.ParseInt(string(args[2]), 10, 64)
	var sc *script.Script
	var err error
	if bySHA {
		if sc = eng.Cache.Get(string(args[1])); sc == nil {
			c.W.AppendError("NOSCRIPT No matching script. Please use EVAL.")
			return
		}
	} else if sc, err = eng.Cache.Load(args[1]); err != nil {
		c.W.AppendError(err.Error())
		return
	}
	w := c.W
	eng.Run(script.Request{Script: sc, Keys: args[3 : 3+n], Args: args[3+n:], ReadOnly: ro, Host: &scriptHost{ctx: c}}, w)
	c.W = w
}
