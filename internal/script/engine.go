package script

import (
	"context"
	"errors"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Config sets an Engine's limits.
type Config struct {
	// BusyThreshold is how long a script runs before it counts as busy:
	// SCRIPT KILL stops only busy scripts, and the server answers BUSY for
	// them (Redis's busy-reply-threshold, 5 s by default).
	BusyThreshold time.Duration
	// MaxMemory bounds, in bytes, how much the process's heap may grow
	// while one script runs, and the length of a string string.rep builds.
	MaxMemory int64
	// Lib, when not nil, adds its functions to the redis table of every
	// script, as redis.<name>: for a program's own helpers, and for tests
	// that need a script to wait for them.
	Lib map[string]lua.LGFunction
}

// DefaultConfig returns Redis's busy threshold and a 256 MiB memory bound.
func DefaultConfig() Config {
	return Config{BusyThreshold: 5 * time.Second, MaxMemory: 256 << 20}
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	if c.BusyThreshold < 0 {
		return errors.New("script: BusyThreshold must not be negative")
	}
	if c.MaxMemory <= 0 {
		return errors.New("script: MaxMemory must be positive")
	}
	return nil
}

// Errors SCRIPT KILL and FUNCTION KILL return, with Redis's exact reply
// texts. ErrBusyScript and ErrBusyFunction are also the replies to other
// commands while a script or a function is busy.
var (
	//lint:ignore ST1005 Redis's reply text
	ErrNotBusy = errors.New("NOTBUSY No scripts in execution right now.")
	//lint:ignore ST1005 Redis's reply text
	ErrBusyScript = errors.New("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
	//lint:ignore ST1005 Redis's reply text
	ErrBusyFunction = errors.New("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
	//lint:ignore ST1005 Redis's reply text
	ErrUnkillable = errors.New("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
)

// Host runs the commands a script calls. It is used only by the goroutine
// running the script, while the script runs, except for Busy.
type Host interface {
	// Call runs the command spec with args and appends its reply to w, in
	// w's protocol version. The Engine has already checked that the
	// command exists, fits its arity and may run from a script; the Host
	// answers an error when the command touches keys it does not hold.
	// Call is also given the connection commands of the server that Redis
	// lets scripts call (SELECT, COMMAND, INFO, LASTSAVE, SLOWLOG,
	// PUBLISH, SPUBLISH, PUBSUB), answering NotAllowed for those it
	// cannot run; the Engine answers PING, ECHO and TIME itself.
	Call(spec *command.Spec, args [][]byte, w *resp.Writer)
	// Busy is called once, on a goroutine of its own, when the run has
	// lasted the busy threshold; stop is closed when the run ends or is
	// killed. msg is the error other clients are to be answered
	// (ErrBusyScript's or ErrBusyFunction's text). The server answers the
	// commands that reach the run's shards meanwhile with it.
	Busy(stop <-chan struct{}, msg string)
}

// Request is one script run: of Script (EVAL) or of Func (FCALL).
type Request struct {
	Script   *Script
	Func     *Function
	Command  string // FCALL's name as called (fcall, fcall_ro), for FUNCTION STATS
	Keys     [][]byte
	Args     [][]byte
	ReadOnly bool // EVAL_RO, EVALSHA_RO: write commands fail
	Host     Host
	// Replicated marks a run that every replica of a cluster group makes
	// from its log: it is neither killed (SCRIPT KILL, the memory bound)
	// nor counted as busy, since every replica must end it alike.
	Replicated bool
	// Check, when set, returns the error for a command the script's
	// caller may not run (its ACL permissions), or "" to run it. It is
	// called by the goroutine running the script, after the Engine's own
	// checks.
	Check func(spec *command.Spec, args [][]byte) string
	// Permits, when set, reports whether the script's caller may run the
	// command args, for redis.acl_check_cmd, without recording a denial;
	// nil permits every command. It is called by the goroutine running
	// the script.
	Permits func(spec *command.Spec, args [][]byte) bool
}

// Flags returns the flags r runs under: its function's, or its script's
// when the script has a shebang line. ok is false for a script without
// one, which runs as scripts did before Redis 7: its writes are allowed
// (EVAL_RO aside), and refused once the server is out of memory only
// command by command.
func (r *Request) Flags() (f FuncFlags, ok bool) {
	if r.Func != nil {
		return r.Func.Flags, true
	}
	if r.Script != nil && r.Script.Shebang {
		return r.Script.Flags, true
	}
	return 0, false
}

// Clock is implemented by a Host that fixes the time scripts see (TIME):
// a cluster group's replicas all apply an entry at its leader's clock.
type Clock interface {
	Now() time.Time
}

// Engine runs scripts. It is safe for concurrent use: each run borrows a
// Lua state of its own from a pool.
type Engine struct {
	cfg   Config
	Cache *Cache
	Funcs *Functions
	// Logged compiles the scripts of a cluster group's log entries, apart
	// from Cache: running a script another node was sent does not load
	// it here for EVALSHA.
	Logged *Cache

	busyNanos atomic.Int64  // the busy threshold, changed by SetBusyThreshold
	rand48    atomic.Uint64 // math.random's state (state.go)

	pool sync.Pool // *state

	mu       sync.Mutex
	running  map[*run]struct{}
	watching bool // the watcher goroutine runs
}

// New returns an Engine with an empty cache. It panics on an invalid Config.
func New(cfg Config) *Engine {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	e := &Engine{cfg: cfg, Cache: NewCache(), Logged: NewCache(), running: make(map[*run]struct{})}
	e.busyNanos.Store(int64(cfg.BusyThreshold))
	e.rand48.Store(rand48Init)
	e.Funcs = newFunctions(e)
	return e
}

// run is one script under way.
type run struct {
	fn     *Function // nil for EVAL
	script *Script   // nil for FCALL
	argv   []string  // a function's call, for FUNCTION STATS
	host   Host
	stop   chan struct{} // made when the run turns busy, closed when it ends (under mu)
	start  time.Time
	cancel context.CancelFunc
	wrote  atomic.Bool
	busy   atomic.Bool
	reason atomic.Int32 // why cancel was called

	heap0 uint64 // the heap when the watcher first saw it (watcher only)
}

const (
	stopNone int32 = iota
	stopKilled
	stopMemory
	stopShutdown
)

// BusyThreshold returns how long a script runs before it counts as busy.
func (e *Engine) BusyThreshold() time.Duration { return time.Duration(e.busyNanos.Load()) }

// SetBusyThreshold changes the busy threshold (CONFIG SET
// busy-reply-threshold); runs under way are measured against the new one.
func (e *Engine) SetBusyThreshold(d time.Duration) { e.busyNanos.Store(int64(max(d, 0))) }

// Busy reports whether a script has run for longer than the busy threshold.
func (e *Engine) Busy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for r := range e.running {
		if r.busy.Load() {
			return true
		}
	}
	return false
}

// Running describes the longest script under way, for FUNCTION STATS.
type Running struct {
	Name     string   // the function's name, or "f_<sha1>" for a script
	Func     bool     // a function (FCALL), not a script (EVAL)
	Command  []string // a function's call
	Duration time.Duration
}

// Running reports the script under way that started first, if any.
func (e *Engine) Running() (Running, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var first *run
	for r := range e.running {
		if first == nil || r.start.Before(first.start) {
			first = r
		}
	}
	if first == nil {
		return Running{}, false
	}
	var name string
	if first.fn != nil {
		name = first.fn.Name
	} else {
		name = "f_" + first.script.SHA
	}
	return Running{Name: name, Func: first.fn != nil, Command: first.argv, Duration: time.Since(first.start)}, true
}

// Kill stops every busy script (SCRIPT KILL with funcs false) or function
// (FUNCTION KILL, funcs true). It returns ErrNotBusy when none is busy,
// ErrUnkillable, stopping nothing, when a busy one has called a write
// command, and ErrBusyFunction (SCRIPT KILL) or ErrBusyScript (FUNCTION
// KILL) when only the other kind is busy.
func (e *Engine) Kill(funcs bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var busy []*run
	other := false
	for r := range e.running {
		if r.busy.Load() {
			if r.wrote.Load() {
				return ErrUnkillable
			}
			if (r.fn != nil) != funcs {
				other = true
				continue
			}
			busy = append(busy, r)
		}
	}
	if len(busy) == 0 && other {
		if funcs {
			return ErrBusyScript
		}
		return ErrBusyFunction
	}
	if len(busy) == 0 {
		return ErrNotBusy
	}
	for _, r := range busy {
		r.reason.CompareAndSwap(stopNone, stopKilled)
		r.cancel()
	}
	return nil
}

// BusyError returns the error other commands are answered while a run is
// busy: ErrBusyScript, or ErrBusyFunction when only functions are; nil
// when none is busy.
func (e *Engine) BusyError() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	for r := range e.running {
		if !r.busy.Load() {
			continue
		}
		if r.fn == nil {
			return ErrBusyScript
		}
		err = ErrBusyFunction
	}
	return err
}

// StopAll stops every run under way, busy or not, those that called a
// write command too: for SHUTDOWN NOSAVE, which stops the server whatever
// runs. The writes a stopped run made stay, as those of a script that
// failed. It returns the number of runs stopped.
func (e *Engine) StopAll() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	for r := range e.running {
		r.reason.CompareAndSwap(stopNone, stopShutdown)
		r.cancel()
	}
	return len(e.running)
}

// watchEvery is how often a long run's time and memory are checked.
const watchEvery = 10 * time.Millisecond

// begin registers a run of req on st. The run is stopped through st's
// context, which lives as long as no run of st is stopped: a context per
// run cost three allocations of every EVAL.
func (e *Engine) begin(req *Request, st *state) *run {
	if st.ctx == nil || st.ctx.Err() != nil {
		st.ctx, st.cancel = context.WithCancel(context.Background())
	}
	r := &run{start: time.Now(), cancel: st.cancel, fn: req.Func, script: req.Script}
	if req.Replicated {
		return r
	}
	r.host = req.Host
	if req.Func != nil {
		r.argv = make([]string, 0, 3+len(req.Keys)+len(req.Args))
		r.argv = append(r.argv, req.Command, req.Func.Name, strconv.Itoa(len(req.Keys)))
		for _, a := range append(req.Keys[:len(req.Keys):len(req.Keys)], req.Args...) {
			r.argv = append(r.argv, string(a))
		}
	}
	e.mu.Lock()
	e.running[r] = struct{}{}
	if !e.watching {
		e.watching = true
		go e.watcher()
	}
	e.mu.Unlock()
	return r
}

// watcher checks the time and memory of the runs under way every
// watchEvery, and ends when there is none left: one goroutine for all the
// scripts of the engine, so that a short script costs no timer.
func (e *Engine) watcher() {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	var rs []*run
	for range t.C {
		e.mu.Lock()
		if len(e.running) == 0 {
			e.watching = false
			e.mu.Unlock()
			return
		}
		rs = rs[:0]
		for r := range e.running {
			rs = append(rs, r)
		}
		e.mu.Unlock()
		for _, r := range rs {
			e.watch(r)
		}
	}
}

// watch checks a run's time and memory.
func (e *Engine) watch(r *run) {
	if time.Since(r.start) >= e.BusyThreshold() && !r.busy.Swap(true) && r.host != nil {
		msg := ErrBusyScript.Error()
		if r.fn != nil {
			msg = ErrBusyFunction.Error()
		}
		e.mu.Lock()
		if _, ok := e.running[r]; ok {
			r.stop = make(chan struct{})
			go r.host.Busy(r.stop, msg)
		}
		e.mu.Unlock()
	}
	h := heapBytes()
	if r.heap0 == 0 {
		r.heap0 = h
	} else if h > r.heap0 && int64(h-r.heap0) > e.cfg.MaxMemory {
		// Under mu, and only while r runs: r.cancel stops its state,
		// which a later run may have by now.
		e.mu.Lock()
		if _, ok := e.running[r]; ok {
			r.reason.CompareAndSwap(stopNone, stopMemory)
			r.cancel()
		}
		e.mu.Unlock()
	}
}

func (e *Engine) end(r *run) {
	if r.host == nil {
		return // a replicated run, not registered
	}
	e.mu.Lock()
	delete(e.running, r)
	if r.stop != nil {
		close(r.stop)
	}
	e.mu.Unlock()
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
var heapMu sync.Mutex

func heapBytes() uint64 {
	heapMu.Lock()
	defer heapMu.Unlock()
	metrics.Read(heapSample)
	if heapSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return heapSample[0].Value.Uint64()
}

// Run runs req and appends the script's reply to w, in w's protocol. It
// reports whether the script called a write command.
func (e *Engine) Run(req Request, w *resp.Writer) (wrote bool) {
	st := e.get()
	defer e.put(st)
	r := e.begin(&req, st)
	defer e.end(r)

	st.req = &req
	st.run = r
	st.resp = 2
	st.line = 0
	st.local = false
	if sd, ok := req.Host.(Seeder); ok {
		st.local, st.rand48 = true, sd.Seed()&rand48Mask
	}
	L := st.L
	if L.Context() != st.ctx {
		L.SetContext(st.ctx)
	}
	var fn *lua.LFunction
	name, chunk := "", chunkName
	if f := req.Func; f != nil {
		name, chunk = f.Name, libChunkName
		cb, err := st.callback(f)
		if err != nil {
			w.AppendError(err.Error())
			return false
		}
		fn = cb
		st.real.RawSetString("KEYS", lua.LNil)
		st.real.RawSetString("ARGV", lua.LNil)
		st.real.RawSetString("redis", st.funcRedis)
	} else {
		name = req.Script.SHA
		fn = L.NewFunctionFromProto(req.Script.proto)
		fn.Env = st.global
		st.real.RawSetString("KEYS", st.strings(req.Keys))
		st.real.RawSetString("ARGV", st.strings(req.Args))
		st.real.RawSetString("redis", st.evalRedis)
	}
	top := L.GetTop()
	L.Push(fn)
	nargs := 0
	if req.Func != nil {
		L.Push(st.strings(req.Keys))
		L.Push(st.strings(req.Args))
		nargs = 2
	}
	err := L.PCall(nargs, 1, st.handler)
	wrote = r.wrote.Load()
	if err != nil {
		L.SetTop(top)
		w.AppendError(st.errorText(err, r) + " script: " + name + ", on @" + chunk + ":" + strconv.Itoa(max(st.line, 1)) + ".")
		return wrote
	}
	v := L.Get(-1)
	L.SetTop(top)
	st.reply(w, v, 0)
	return wrote
}

// errorText is the reply text of a script that failed with err.
func (st *state) errorText(err error, r *run) string {
	reason := stopNone
	if r != nil {
		reason = r.reason.Load()
	}
	switch reason {
	case stopKilled:
		return "ERR Script killed by user with SCRIPT KILL..."
	case stopShutdown:
		return "ERR Script stopped by SHUTDOWN NOSAVE"
	case stopMemory:
		return "ERR Script used more memory than allowed (" + strconv.FormatInt(st.e.cfg.MaxMemory, 10) + " bytes)"
	}
	var ae *lua.ApiError
	if !errors.As(err, &ae) {
		return "ERR " + err.Error()
	}
	switch o := ae.Object.(type) {
	case *lua.LTable:
		if s, ok := o.RawGetString("err").(lua.LString); ok {
			return string(s)
		}
		return "ERR Error running script"
	case lua.LString:
		s := string(o)
		if st.line == 0 {
			st.line = lineOf(s)
		}
		return "ERR " + s
	case *lua.LNilType:
		return "ERR nil"
	default:
		return "ERR " + o.String()
	}
}

// lineOf returns N from a message that starts "user_script:N:", else 0.
func lineOf(msg string) int {
	rest, ok := strings.CutPrefix(msg, chunkName+":")
	if !ok {
		if rest, ok = strings.CutPrefix(msg, libChunkName+":"); !ok {
			return 0
		}
	}
	n, _, _ := strings.Cut(rest, ":")
	v, _ := strconv.Atoi(n)
	return v
}
