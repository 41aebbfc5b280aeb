package script

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"log/slog"
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// state is a Lua state with the sandbox set up, used by one run at a time.
type state struct {
	e       *Engine
	L       *lua.LState
	real    *lua.LTable // the globals, behind global
	global  *lua.LTable // the read-only proxy scripts see as _G
	guarded map[*lua.LTable]bool
	handler *lua.LFunction

	// The read-only redis tables of functions and of EVAL's scripts
	// (evalLib), one of which Run puts in real.
	funcRedis, evalRedis lua.LValue

	// Set for each run.
	req  *Request
	run  *run
	resp int // the protocol redis.call replies come in (redis.setresp)
	line int // the script line an error was raised at, 0 if unknown

	w    resp.Writer // scratch reply of redis.call
	args [][]byte

	// ctx stops the state's runs (SCRIPT KILL, the memory bound); it is
	// replaced once cancelled.
	ctx    context.Context
	cancel context.CancelFunc

	rand48 uint64 // math.random's state in a replicated run (local)
	local  bool   // math.random uses rand48, not the engine's

	// Functions (function.go, lib.go). gsrc is where the global proxy
	// looks names up: real, or loadAPI while a library's code runs.
	gsrc    *lua.LTable
	loadAPI *lua.LTable
	regs    []reg // what the library being loaded registered
	libs    map[*Library]map[string]*lua.LFunction
	libGen  uint64 // the Functions generation libs was loaded at
}

const (
	errReadonly = "Attempt to modify a readonly table"
	logPrefix   = "script"
)

func (e *Engine) get() *state {
	if st, ok := e.pool.Get().(*state); ok {
		return st
	}
	return e.newState()
}

func (e *Engine) put(st *state) {
	st.req, st.run = nil, nil
	st.w.Reset()
	clear(st.args)
	st.args = st.args[:0]
	st.L.SetTop(0)
	e.pool.Put(st)
}

// redisPcall is Redis 7's pcall: Lua's, except that an error that is a
// table with a string err field (what redis.call raises, or a script's
// error({err=…})) is returned as that string, so that scripts written for
// Redis can match or concatenate the message.
func redisPcall(L *lua.LState) int {
	L.CheckAny(1)
	if v := L.Get(1); v.Type() != lua.LTFunction && L.GetMetaField(v, "__call").Type() != lua.LTFunction {
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + v.Type().String() + " value"))
		return 2
	}
	if err := L.PCall(L.GetTop()-1, lua.MultRet, nil); err != nil {
		var v lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok {
			v = ae.Object
		}
		if t, ok := v.(*lua.LTable); ok {
			if msg, ok := t.RawGetString("err").(lua.LString); ok {
				v = msg
			}
		}
		L.Push(lua.LFalse)
		L.Push(v)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

func (e *Engine) newState() *state {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       256,
		RegistrySize:        1024,
		RegistryMaxSize:     1 << 20,
		MinimizeStackMemory: true,
	})
	st := &state{e: e, L: L, guarded: make(map[*lua.LTable]bool), libs: make(map[*Library]map[string]*lua.LFunction)}
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	real := L.G.Global
	st.real = real
	for _, name := range []string{"dofile", "loadfile", "load", "require", "module", "getfenv", "setfenv", "newproxy", "print", "_printregs", "channel"} {
		real.RawSetString(name, lua.LNil)
	}
	real.RawSetString("collectgarbage", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 }))
	real.RawSetString("gcinfo", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 }))
	real.RawSetString("error", L.NewFunction(baseError))
	real.RawSetString("pcall", L.NewFunction(redisPcall))
	real.RawSetString("rawset", L.NewFunction(st.rawset))
	real.RawSetString("setmetatable", L.NewFunction(st.setmetatable))
	real.RawSetString("getmetatable", L.NewFunction(getmetatable))
	redis := st.redisLib()
	real.RawSetString("redis", redis)
	st.loadAPI = st.newLoadAPI()
	real.RawSetString("cjson", cjsonLib(L))
	real.RawSetString("bit", bitLib(L))
	real.RawSetString("struct", structLib(L))
	real.RawSetString("cmsgpack", cmsgpackLib(L))
	if mathLib, ok := real.RawGetString("math").(*lua.LTable); ok {
		mathLib.RawSetString("random", L.NewFunction(st.mathRandom))
		mathLib.RawSetString("randomseed", L.NewFunction(func(L *lua.LState) int {
			x := seed48(int32(L.CheckInt(1)))
			if st.local {
				st.rand48 = x
			} else {
				st.e.rand48.Store(x)
			}
			return 0
		}))
	}
	if strLib, ok := real.RawGetString("string").(*lua.LTable); ok {
		strLib.RawSetString("rep", L.NewFunction(st.strRep))
	}
	if tabLib, ok := real.RawGetString("table").(*lua.LTable); ok {
		for _, name := range []string{"insert", "remove", "sort"} {
			orig := tabLib.RawGetString(name).(*lua.LFunction)
			tabLib.RawSetString(name, L.NewFunction(st.guardFirst(orig)))
		}
	}
	// Every library table is replaced by a read-only proxy.
	real.ForEach(func(k, v lua.LValue) {
		if t, ok := v.(*lua.LTable); ok && k != lua.LString("_G") {
			real.RawSet(k, st.readonly(t, false))
		}
	})
	st.funcRedis = real.RawGetString("redis")
	st.evalRedis = st.readonly(st.evalLib(redis), false)
	st.gsrc = real
	st.global = st.readonly(real, true)
	real.RawSetString("_G", st.global)
	L.G.Global = st.global
	L.Env = st.global
	// The string metatable is protected as well.
	if mt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		mt.RawSetString("__metatable", lua.LFalse)
		st.guarded[mt] = true
	}
	st.handler = L.NewFunction(st.onError)
	return st
}

// readonly returns a proxy of t that refuses writes; globals also makes a
// read of a missing name an error.
func (st *state) readonly(t *lua.LTable, globals bool) *lua.LTable {
	L := st.L
	p := L.NewTable()
	mt := L.NewTable()
	if globals {
		mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			k := L.Get(2)
			src := t
			if t == st.real {
				src = st.gsrc
			}
			v := src.RawGet(k)
			if v == lua.LNil {
				L.RaiseError("Script attempted to access nonexistent global variable '%s'", lua.LVAsString(k))
			}
			L.Push(v)
			return 1
		}))
	} else {
		mt.RawSetString("__index", t)
	}
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError(errReadonly)
		return 0
	}))
	mt.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(p, mt)
	st.guarded[p] = true
	st.guarded[t] = true
	st.guarded[mt] = true
	return p
}

// refuse raises the read-only error without a position, as Redis's C
// functions do.
func (st *state) refuse(L *lua.LState) {
	st.line = currentLine(L)
	L.Error(lua.LString(errReadonly), 0)
}

func (st *state) rawset(L *lua.LState) int {
	t := L.CheckTable(1)
	if st.guarded[t] {
		st.refuse(L)
	}
	L.RawSet(t, L.CheckAny(2), L.CheckAny(3))
	L.SetTop(1)
	return 1
}

func (st *state) setmetatable(L *lua.LState) int {
	if t, ok := L.Get(1).(*lua.LTable); ok && st.guarded[t] {
		st.refuse(L)
	}
	L.CheckTypes(2, lua.LTNil, lua.LTTable)
	obj := L.Get(1)
	if obj == lua.LNil {
		L.RaiseError("cannot set metatable to a nil object.")
	}
	if m, ok := L.GetMetatable(obj).(*lua.LTable); ok && m.RawGetString("__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	L.SetMetatable(obj, L.Get(2))
	L.SetTop(1)
	return 1
}

// getmetatable honours __metatable, as Lua does.
func getmetatable(L *lua.LState) int {
	mt := L.GetMetatable(L.CheckAny(1))
	if t, ok := mt.(*lua.LTable); ok {
		if p := t.RawGetString("__metatable"); p != lua.LNil {
			L.Push(p)
			return 1
		}
	}
	L.Push(mt)
	return 1
}

// guardFirst wraps a table library function so that it refuses a
// protected table as its first argument.
func (st *state) guardFirst(fn *lua.LFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && st.guarded[t] {
			st.refuse(L)
		}
		return fn.GFunction(L)
	}
}

// baseError is Lua 5.1's error: a number message gets the position too.
func baseError(L *lua.LState) int {
	obj := L.Get(1)
	level := L.OptInt(2, 1)
	if n, ok := obj.(lua.LNumber); ok {
		obj = lua.LString(n.String())
	}
	L.Error(obj, level)
	return 0
}

func (st *state) strRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if int64(len(s))*int64(n) > st.e.cfg.MaxMemory {
		L.RaiseError("resulting string too large")
	}
	L.Push(lua.LString(strings.Repeat(s, n)))
	return 1
}

// onError records the script line an error was raised at.
func (st *state) onError(L *lua.LState) int {
	if st.line == 0 {
		st.line = currentLine(L)
	}
	L.Push(L.Get(1))
	return 1
}

// currentLine returns the line the innermost frame of the script is at.
func currentLine(L *lua.LState) int {
	for i := 0; i < 64; i++ {
		dbg, ok := L.GetStack(i)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			continue
		}
		if (dbg.Source == chunkName || dbg.Source == libChunkName) && dbg.CurrentLine > 0 {
			return dbg.CurrentLine
		}
	}
	return 0
}

// strings returns a Lua array of b's elements.
func (st *state) strings(b [][]byte) *lua.LTable {
	t := st.L.CreateTable(len(b), 0)
	for _, s := range b {
		t.Append(lua.LString(s))
	}
	return t
}

// evalLib returns a copy of the redis table with the functions EVAL's
// scripts have and functions do not, as in Redis: those of the Lua
// debugger, which this server does not have. As outside Redis's debugger,
// redis.breakpoint returns false and redis.debug does nothing.
func (st *state) evalLib(redis *lua.LTable) *lua.LTable {
	L := st.L
	t := L.NewTable()
	redis.ForEach(func(k, v lua.LValue) { t.RawSet(k, v) })
	t.RawSetString("breakpoint", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LFalse)
		return 1
	}))
	t.RawSetString("debug", L.NewFunction(func(*lua.LState) int { return 0 }))
	return t
}

// redisLib builds the redis table.
func (st *state) redisLib() *lua.LTable {
	L := st.L
	t := L.NewTable()
	fns := map[string]lua.LGFunction{
		"call":         func(L *lua.LState) int { return st.call(L, true) },
		"pcall":        func(L *lua.LState) int { return st.call(L, false) },
		"error_reply":  func(L *lua.LState) int { return singleField(L, "err") },
		"status_reply": func(L *lua.LState) int { return singleField(L, "ok") },
		"sha1hex": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				st.raise(L, "wrong number of arguments")
			}
			h := sha1.Sum([]byte(L.ToString(1)))
			L.Push(lua.LString(hex.EncodeToString(h[:])))
			return 1
		},
		"log": func(L *lua.LState) int {
			if L.GetTop() < 2 {
				st.raise(L, "redis.log() requires two arguments or more.")
			}
			level := L.CheckInt(1)
			if level < 0 || level > 3 {
				st.raise(L, "Invalid debug level.")
			}
			parts := make([]string, 0, L.GetTop()-1)
			for i := 2; i <= L.GetTop(); i++ {
				parts = append(parts, L.ToString(i))
			}
			lv := []slog.Level{slog.LevelDebug, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn}[level]
			slog.Log(context.Background(), lv, strings.Join(parts, " "), "from", logPrefix)
			return 0
		},
		"setresp": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				st.raise(L, "redis.setresp() requires one argument.")
			}
			v := L.CheckInt(1)
			if v != 2 && v != 3 {
				st.raise(L, "RESP version must be 2 or 3.")
			}
			st.resp = v
			return 0
		},
		"set_repl": func(L *lua.LState) int {
			if L.GetTop() != 1 {
				st.raise(L, "redis.set_repl() requires one argument.")
			}
			if v := L.CheckInt(1); v < 0 || v > 3 {
				st.raise(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
			}
			return 0
		},
		"replicate_commands": func(L *lua.LState) int {
			L.Push(lua.LTrue)
			return 1
		},
		"acl_check_cmd": st.aclCheckCmd,
	}
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
	for name, fn := range st.e.cfg.Lib {
		t.RawSetString(name, L.NewFunction(fn))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(command.RedisVersion))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(versionNum(command.RedisVersion)))
	for name, v := range map[string]int{
		"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3,
	} {
		t.RawSetString(name, lua.LNumber(v))
	}
	return t
}

// singleField is redis.error_reply (field "err") and redis.status_reply
// ("ok"): a table holding the one string argument. A wrong argument is
// not raised but returned as an error table, as Redis does.
func singleField(L *lua.LState, field string) int {
	s, ok := L.Get(1).(lua.LString)
	if L.GetTop() != 1 || !ok {
		field, s = "err", "ERR wrong number or type of arguments"
	} else if field == "err" {
		s = lua.LString(errorCode(string(s)))
	}
	t := L.NewTable()
	t.RawSetString(field, s)
	L.Push(t)
	return 1
}

// errorCode gives msg, an error reply's line with or without its '-', an
// error code as Redis's luaPushErrorBuff does: the first word is the code
// when a space follows it, else the code is ERR; the message after it
// loses the line breaks at its ends. So "my err" keeps "my" as its code
// and "oops" becomes "ERR oops".
func errorCode(msg string) string {
	msg = strings.TrimPrefix(msg, "-")
	code, text, ok := strings.Cut(msg, " ")
	if !ok {
		code, text = "ERR", msg
	}
	return code + " " + strings.Trim(text, "\r\n")
}

// raise raises an error table {err = "ERR " .. msg}, as Redis raises the
// errors of its library functions.
func (st *state) raise(L *lua.LState, msg string) {
	if !strings.HasPrefix(msg, "ERR ") {
		msg = "ERR " + msg
	}
	st.line = currentLine(L)
	t := L.NewTable()
	t.RawSetString("err", lua.LString(msg))
	L.Error(t, 0)
}

// fail answers an error of redis.call (raise: raise it) or redis.pcall
// (return it as a table).
func (st *state) fail(L *lua.LState, raise bool, msg string) int {
	if raise {
		st.line = currentLine(L)
		t := L.NewTable()
		t.RawSetString("err", lua.LString(msg))
		L.Error(t, 0)
		return 0
	}
	t := L.NewTable()
	t.RawSetString("err", lua.LString(msg))
	L.Push(t)
	return 1
}

// commandArgs returns the arguments of redis.call and the like as a
// command's, in st.args, raising Redis's errors for none and for one that
// is not a string or a number.
func (st *state) commandArgs(L *lua.LState) [][]byte {
	n := L.GetTop()
	if n == 0 {
		st.raise(L, "ERR Please specify at least one argument for this redis lib call")
	}
	args := st.args[:0]
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args = append(args, []byte(v))
		case lua.LNumber:
			args = append(args, []byte(v.String()))
		default:
			st.args = args
			st.raise(L, "ERR Lua redis lib command arguments must be strings or integers")
		}
	}
	st.args = args
	return args
}

// aclCheckCmd is redis.acl_check_cmd: whether the script's caller may run
// the command its arguments make (Request.Permits), as Redis 7.0 answers
// it: a command or subcommand it does not know is an error.
func (st *state) aclCheckCmd(L *lua.LState) int {
	args := st.commandArgs(L)
	spec := command.Redis.Lookup(args[0])
	if spec == nil || acl.UnknownSubcommand(args) {
		st.raise(L, "Invalid command passed to redis.acl_check_cmd()")
	}
	L.Push(lua.LBool(st.req.Permits == nil || st.req.Permits(spec, args)))
	return 1
}

// call runs redis.call (raise true) or redis.pcall.
func (st *state) call(L *lua.LState, raise bool) int {
	args := st.commandArgs(L)
	spec := command.Redis.Lookup(args[0])
	if spec == nil {
		return st.fail(L, raise, "ERR Unknown Redis command called from script")
	}
	if !spec.ArityOK(len(args)) {
		return st.fail(L, raise, "ERR Wrong number of args calling Redis command from script")
	}
	if msg := notAllowed(spec, args); msg != "" {
		return st.fail(L, raise, msg)
	}
	if st.req.Check != nil {
		if msg := st.req.Check(spec, args); msg != "" {
			return st.fail(L, raise, msg)
		}
	}
	if spec.Flags&command.Write != 0 || mayReplicate(spec) {
		if st.req.ReadOnly {
			return st.fail(L, raise, "ERR Write commands are not allowed from read-only scripts.")
		}
		if spec.Flags&command.Write != 0 {
			st.run.wrote.Store(true)
		}
	}
	st.w.Reset()
	st.w.SetProto(st.resp)
	if spec.Kind == command.Conn && !hostConn[spec.Name] {
		connCall(spec, args, &st.w, st.req.Host)
	} else {
		st.req.Host.Call(spec, args, &st.w)
	}
	b := st.w.Bytes()
	if len(b) > 0 && b[0] == '-' {
		return st.fail(L, raise, string(b[1:len(b)-2]))
	}
	v, _ := st.parse(b)
	L.Push(v)
	return 1
}

// NotAllowed is the error of a command a script may not call. A Host
// answers it for a connection command it is given (see Host.Call) but
// cannot run where the script runs.
const NotAllowed = "ERR This Redis command is not allowed from script"

// hostConn are the connection commands, besides PING, ECHO and TIME
// (connCall), that Redis lets scripts call: they read or change the
// server, not the caller's connection, so the Host runs them.
var hostConn = map[string]bool{
	"select": true, "command": true, "info": true, "lastsave": true, "slowlog": true,
	"publish": true, "spublish": true, "pubsub": true,
}

// mayReplicate reports whether spec is one of the commands Redis flags
// may-replicate that scripts may call: no read-only script runs them.
func mayReplicate(spec *command.Spec) bool {
	return spec.Kind == command.Conn && (spec.Name == "publish" || spec.Name == "spublish")
}

// notAllowed returns the error for a command a script may not call, or "".
func notAllowed(spec *command.Spec, args [][]byte) string {
	if spec.Flags&command.NoScript != 0 {
		return NotAllowed
	}
	if spec.Kind == command.Conn {
		switch spec.Name {
		case "ping", "echo", "time":
			return ""
		}
		if hostConn[spec.Name] {
			return ""
		}
		return NotAllowed
	}
	if spec.Block != nil {
		if spec.Block.TimeoutAt == nil {
			return NotAllowed
		}
		if spec.Block.TimeoutAt(args) >= 0 {
			return "ERR " + spec.Name + " command is not allowed with BLOCK option from scripts"
		}
	}
	return ""
}

// versionNum returns "7.2.0" as 0x070200, as redis.REDIS_VERSION_NUM.
func versionNum(v string) int {
	n := 0
	for _, p := range strings.SplitN(v, ".", 3) {
		d := 0
		for i := 0; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
			d = d*10 + int(p[i]-'0')
		}
		n = n<<8 | d&0xff
	}
	return n
}

// Redis's rand48 (rand48.c) drives math.random: one sequence for every
// script of the process, from rand48's initial state, as in Redis 7.0. A
// run every replica of a cluster group makes from its log instead starts
// from a seed its host gives (Seeder), so that they all draw alike.
const (
	rand48Init = 0x1234abcd330e
	rand48Mask = 1<<48 - 1
)

func seed48(seed int32) uint64 { return uint64(uint32(seed))<<16 | 0x330e }

func next48(x uint64) uint64 { return (0x5deece66d*x + 0xb) & rand48Mask }

func (st *state) lrand48() int32 {
	if st.local {
		st.rand48 = next48(st.rand48)
		return int32(st.rand48 >> 17)
	}
	for {
		x := st.e.rand48.Load()
		if n := next48(x); st.e.rand48.CompareAndSwap(x, n) {
			return int32(n >> 17)
		}
	}
}

// Seeder is implemented by a Host whose runs must draw the same random
// numbers wherever they are made (a cluster group's replicas).
type Seeder interface {
	Seed() uint64
}

// mathRandom is Redis's math.random over rand48.
func (st *state) mathRandom(L *lua.LState) int {
	const max = 2147483647
	r := float64(st.lrand48()%max) / max
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			argError(L, 1, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l, u := L.CheckInt(1), L.CheckInt(2)
		if l > u {
			argError(L, 2, "random", "interval is empty")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}
