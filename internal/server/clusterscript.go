package server

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// Scripts on a cluster node. The node that receives EVAL, EVALSHA, FCALL
// or their _RO forms checks them against its own script cache and
// libraries (ClusterScript) and sends its group a self-contained command:
// EVALSHA becomes EVAL of the script's text, FCALL carries its library's
// code. The group's leader runs it (ClusterRun) with an Effects recorder
// and logs the writes the script made, not the script: every replica
// applies those commands, so a script that is not deterministic (TIME,
// math.random, the order of SMEMBERS) leaves every replica alike (see
// cluster/effects.go). Entries written by older versions, which hold the
// script itself, are still applied by running it (ClusterRun, Replicated).

// cmdFcall names the command FCALL becomes in a group's log:
// cmdFcall code fcall|fcall_ro function numkeys key… arg….
const cmdFcall = "\x00fcall"

// maxLogged bounds the scripts compiled for log entries that a node keeps.
const maxLogged = 1024

// cmdAsUser names the command a script command becomes for a user who may
// not run everything: cmdAsUser rules command…, where rules are the user's
// (acl.Rules.Describe), against which the commands the script calls are
// checked wherever it runs.
const cmdAsUser = "\x00asuser"

// IsClusterScript reports whether args is a command ClusterScript made.
func IsClusterScript(spec *command.Spec, args [][]byte) bool {
	return spec != nil && spec.Flags&command.Scripting != 0 || string(args[0]) == cmdFcall || string(args[0]) == cmdAsUser
}

// ClusterScriptArgs returns the command that args, a command ClusterScript
// made, stands for: the client's, without what the node wrapped it in
// (EVALSHA having become EVAL of its script's text), as the slow log and
// INFO commandstats show it.
func ClusterScriptArgs(args [][]byte) [][]byte {
	for len(args) > 2 && (string(args[0]) == cmdAsUser || string(args[0]) == cmdFcall) {
		args = args[2:]
	}
	return args
}

// scriptUsers keeps the rules of the users whose scripts a node's groups
// ran lately, by their description, so that each run does not parse them
// again. Rules are not changed once made: they may be shared.
var scriptUsers = ruleCache{m: make(map[string]*acl.Rules)}

// maxCachedRules bounds scriptUsers; past it, it starts afresh.
const maxCachedRules = 256

type ruleCache struct {
	mu sync.Mutex
	m  map[string]*acl.Rules
}

// rules returns the rules desc describes (acl.ParseRules).
func (c *ruleCache) rules(desc string) (*acl.Rules, error) {
	c.mu.Lock()
	r := c.m[desc]
	c.mu.Unlock()
	if r != nil {
		return r, nil
	}
	r, err := acl.ParseRules(desc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedRules {
		clear(c.m)
	}
	c.m[desc] = r
	c.mu.Unlock()
	return r, nil
}

// UnwrapScript returns the command a ClusterScriptAs command wraps, args
// itself for any other: what slot migrations look at for the script's keys.
func UnwrapScript(args [][]byte) [][]byte {
	if len(args) > 2 && string(args[0]) == cmdAsUser {
		return args[2:]
	}
	return args
}

// ClusterScriptAs returns the command ClusterScript made, out, to be run
// for a user with rules r: the commands the script calls are then checked
// against r, as a single server checks them (without its ACL LOG entries:
// the script runs on the group's leader, which may be another node).
func ClusterScriptAs(r *acl.Rules, out [][]byte) [][]byte {
	if r.All() {
		return out
	}
	return append([][]byte{[]byte(cmdAsUser), []byte(r.Describe())}, out...)
}

// ClusterScript checks an EVAL-family command a cluster node received
// and returns the command to send the group of its keys' slot, its keys,
// and whether it may write; or the error to answer.
func ClusterScript(eng *script.Engine, args [][]byte) (out, keys [][]byte, write bool, errText string) {
	name := strings.ToLower(string(args[0]))
	kind, ro := evalBody, strings.HasSuffix(name, "_ro")
	switch {
	case strings.HasPrefix(name, "evalsha"):
		kind = evalSHA
	case strings.HasPrefix(name, "fcall"):
		kind = evalFunc
	}
	req, msg := evalRequest(eng, args, kind, ro)
	if msg != "" {
		return nil, nil, false, msg
	}
	switch kind {
	case evalBody:
		out = args
	case evalSHA:
		out = append([][]byte{[]byte(strings.Replace(name, "evalsha", "eval", 1)), []byte(req.Script.Body)}, args[2:]...)
	case evalFunc:
		out = append([][]byte{[]byte(cmdFcall), []byte(req.Func.Lib.Code)}, args...)
	}
	if flags, ok := req.Flags(); ok && flags&script.FlagNoCluster != 0 {
		return nil, nil, false, "ERR Can not run script on cluster, 'no-cluster' flag is set."
	}
	return out, req.Keys, !req.ReadOnly, ""
}

// Effects records what a script run by ClusterRun writes. Its methods are
// called by the goroutine running the script.
type Effects interface {
	// Before is called before the script runs the write command spec with
	// args, once the command passed every check: the recorder saves what
	// the command may change.
	Before(spec *command.Spec, args [][]byte)
	// After is called once the command ran, with its reply. args and
	// reply are valid only during the call.
	After(spec *command.Spec, args [][]byte, reply []byte)
}

// RunOptions says how ClusterRun runs a script.
type RunOptions struct {
	// Now is the time the script runs at: what TIME answers, and the time
	// of its commands.
	Now time.Time
	// Replicated marks the run of a log entry written by an older version,
	// which holds the script itself and which every replica runs alike
	// (script.Request.Replicated): it is neither killed nor counted busy.
	Replicated bool
	// Effects, when set, is told of every write command the script runs.
	Effects Effects
	// Busy, when set, is script.Host.Busy: called on a goroutine of its own
	// once the run has lasted the busy threshold.
	Busy func(stop <-chan struct{}, msg string)
}

// ClusterRun runs, over a group's keyspace c, a command ClusterScript
// made, as opt says, and appends its reply to c.W. Every key the script
// touches must be in the slot of its declared keys.
func ClusterRun(eng *script.Engine, c *command.Ctx, args [][]byte, opt RunOptions) {
	var req script.Request
	var msg string
	var rules *acl.Rules
	if string(args[0]) == cmdAsUser {
		var err error
		if len(args) < 3 {
			err = errors.New("no command")
		} else {
			rules, err = scriptUsers.rules(string(args[1]))
		}
		if err != nil {
			c.W.AppendError("ERR the script's user rules are unreadable: " + err.Error())
			return
		}
		args = args[2:]
	}
	if string(args[0]) == cmdFcall {
		lib, err := eng.Funcs.LibraryByCode(string(args[1]))
		if err != nil {
			c.W.AppendError(err.Error())
			return
		}
		args = args[2:]
		for _, fn := range lib.Functions {
			if strings.EqualFold(fn.Name, string(args[1])) {
				req.Func = fn
			}
		}
		if req.Func == nil {
			c.W.AppendError("ERR Function not found")
			return
		}
		req, msg = evalRequestFunc(req.Func, args, strings.EqualFold(string(args[0]), "fcall_ro"))
	} else {
		n, m := numKeys(args, false)
		if m != "" {
			c.W.AppendError(m)
			return
		}
		if eng.Logged.Len() >= maxLogged {
			eng.Logged.Flush()
		}
		sc, err := eng.Logged.Load(args[1])
		if err != nil {
			c.W.AppendError(err.Error())
			return
		}
		req = script.Request{Script: sc, Keys: args[3 : 3+n], Args: args[3+n:]}
		req.ReadOnly, msg = readOnly(&req, strings.EqualFold(string(args[0]), "eval_ro"))
	}
	if msg != "" {
		c.W.AppendError(msg)
		return
	}
	if rules != nil {
		req.Check = checkScriptCalls(rules, nil)
		req.Permits = func(spec *command.Spec, args [][]byte) bool {
			_, ok := rules.Check(args, spec.Flags&command.NoAuth != 0)
			return ok
		}
	}
	req.Replicated = opt.Replicated
	h := &clusterHost{scriptHost: scriptHost{ctx: c}, slot: -1, now: opt.Now, fx: opt.Effects, busy: opt.Busy}
	if len(req.Keys) > 0 {
		h.slot = int(slot.Of(req.Keys[0]))
	}
	req.Host = h
	w := c.W
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
	eng.Run(req, w)
	c.W = w
}

// clusterHost is scriptHost on a cluster group, where a script's keys must
// be in its declared keys' slot, and TIME is the run's.
type clusterHost struct {
	scriptHost
	slot int // of the declared keys; -1 when none were declared
	now  time.Time
	fx   Effects
	busy func(stop <-chan struct{}, msg string)
}

// Busy implements script.Host.
func (h *clusterHost) Busy(stop <-chan struct{}, msg string) {
	if h.busy != nil {
		h.busy(stop, msg)
	}
}

// Seed implements script.Seeder: a replicated entry's commands draw from
// a generator seeded alike on every replica.
func (h *clusterHost) Seed() uint64 {
	if r := h.ctx.Rand; r != nil {
		return r.Uint64()
	}
	return uint64(h.now.UnixNano())
}

// Now implements script.Clock.
func (h *clusterHost) Now() time.Time { return h.now }

// Call implements script.Host.
func (h *clusterHost) Call(spec *command.Spec, args [][]byte, w *resp.Writer) {
	if spec.Kind == command.Conn {
		h.conn(spec, args, w)
		return
	}
	if spec.Kind == command.Keyed {
		h.keys = spec.Keys(args, h.keys[:0])
		for _, k := range h.keys {
			switch {
			case h.slot < 0:
				w.AppendError("ERR Script attempted to access a non local key in a cluster node")
				return
			case int(slot.Of(k)) != h.slot:
				w.AppendError("ERR Script attempted to access keys that do not hash to the same slot")
				return
			}
		}
	}
	if h.fx == nil || spec.Flags&command.Write == 0 {
		h.scriptHost.Call(spec, args, w)
		return
	}
	h.fx.Before(spec, args)
	start := w.Len()
	h.scriptHost.Call(spec, args, w)
	h.fx.After(spec, args, w.Bytes()[start:])
}

// conn runs the connection commands Redis lets scripts call that need no
// node: SELECT and COMMAND. The others (PUBLISH, SPUBLISH, PUBSUB, INFO,
// LASTSAVE, SLOWLOG) are refused. The script runs on its group's leader,
// as a dry run whose writes are proposed afterwards, or on every replica
// for an entry holding the script: a message published from it would go
// out even when its writes are lost and the client is told to try again,
// or once per replica.
func (h *clusterHost) conn(spec *command.Spec, args [][]byte, w *resp.Writer) {
	switch spec.Name {
	case "select":
		SelectDB(w, args, true)
	case "command":
		Command(w, args)
	default:
		w.AppendError(script.NotAllowed)
	}
}
