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
}

// DefaultConfig returns Redis's busy threshold and a 256 MiB memory bound.
func DefaultConfig() Config {
	return Config{BusyThreshold: 5 * time.Second, MaxMemory: 256 << 20}
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	if c.BusyThreshold <= 0 {
		return errors.New("script: BusyThreshold must be positive")
	}
	if c.MaxMemory <= 0 {
		return errors.New("script: MaxMemory must be positive")
	}
	return nil
}

// Errors SCRIPT KILL returns, with Redis's exact reply texts.
var (
	//lint:ignore ST1005 Redis's reply text
	ErrNotBusy = errors.New("NOTBUSY No scripts in execution right now.")
	//lint:ignore ST1005 Redis's reply text
	ErrUnkillable = errors.New("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
)

// Host runs the commands a script calls. It is used only by the goroutine
// running the script, while the script runs.
type Host interface {
	// Call runs the command spec with args and appends its reply to w, in
	// w's protocol version. The Engine has already checked that the
	// command exists, fits its arity and may run from a script; the Host
	// answers an error when the command touches keys it does not hold.
	Call(spec *command.Spec, args [][]byte, w *resp.Writer)
}

// Request is one script run.
type Request struct {
	Script   *Script
	Keys     [][]byte
	Args     [][]byte
	ReadOnly bool // EVAL_RO, EVALSHA_RO: write commands fail
	Host     Host
	// Check, when set, returns the error for a command the script's
	// caller may not run (its ACL permissions), or "" to run it. It is
	// called by the goroutine running the script, after the Engine's own
	// checks.
	Check func(spec *command.Spec, args [][]byte) string
}

// Engine runs scripts. It is safe for concurrent use: each run borrows a
// Lua state of its own from a pool.
type Engine struct {
	cfg   Config
	Cache *Cache

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
	return &Engine{cfg: cfg, Cache: NewCache(), running: make(map[*run]struct{})}
}

// run is one script under way.
type run struct {
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
)

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

// Kill stops every busy script. It returns ErrNotBusy when no script is
// busy and ErrUnkillable, stopping nothing, when a busy script has called a
// write command.
func (e *Engine) Kill() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var busy []*run
	for r := range e.running {
		if r.busy.Load() {
			if r.wrote.Load() {
				return ErrUnkillable
			}
			busy = append(busy, r)
		}
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

// watchEvery is how often a long run's time and memory are checked.
const watchEvery = 10 * time.Millisecond

func (e *Engine) begin() (*run, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{start: time.Now(), cancel: cancel}
	e.mu.Lock()
	e.running[r] = struct{}{}
	if !e.watching {
		e.watching = true
		go e.watcher()
	}
	e.mu.Unlock()
	return r, ctx
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
	if time.Since(r.start) >= e.cfg.BusyThreshold {
		r.busy.Store(true)
	}
	h := heapBytes()
	if r.heap0 == 0 {
		r.heap0 = h
	} else if h > r.heap0 && int64(h-r.heap0) > e.cfg.MaxMemory {
		r.reason.CompareAndSwap(stopNone, stopMemory)
		r.cancel()
	}
}

func (e *Engine) end(r *run) {
	r.cancel()
	e.mu.Lock()
	delete(e.running, r)
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
	r, ctx := e.begin()
	defer e.end(r)

	st.req = &req
	st.run = r
	st.resp = 2
	st.line = 0
	L := st.L
	L.SetContext(ctx)
	defer L.RemoveContext()
	st.real.RawSetString("KEYS", st.strings(req.Keys))
	st.real.RawSetString("ARGV", st.strings(req.Args))

	fn := L.NewFunctionFromProto(req.Script.proto)
	fn.Env = st.global
	top := L.GetTop()
	L.Push(fn)
	err := L.PCall(0, 1, st.handler)
	wrote = r.wrote.Load()
	if err != nil {
		L.SetTop(top)
		w.AppendError(st.errorText(err, r) + " script: " + req.Script.SHA + ", on @" + chunkName + ":" + strconv.Itoa(max(st.line, 1)) + ".")
		return wrote
	}
	v := L.Get(-1)
	L.SetTop(top)
	st.reply(w, v, 0)
	return wrote
}

// errorText is the reply text of a script that failed with err.
func (st *state) errorText(err error, r *run) string {
	switch r.reason.Load() {
	case stopKilled:
		return "ERR Script killed by user with SCRIPT KILL..."
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
		return 0
	}
	n, _, _ := strings.Cut(rest, ":")
	v, _ := strconv.Atoi(n)
	return v
}
