// Package cmdstat counts, for every command, how often it ran, how long it
// ran, how often it failed or was refused, and how its durations spread over
// a fixed histogram; and it hands the commands that ran for too long to a
// slow log and to a latency monitor. It also counts error replies by
// their prefix (INFO errorstats) and, while latency tracking is on, keeps a
// fine latency histogram per command (LATENCY HISTOGRAM, INFO latencystats).
//
// Counting costs the hot path plain increments: a Recorder belongs to one
// goroutine (a shard's, or a connection's) and keeps its counts in ordinary
// fields; Flush, called once per batch of commands, adds them to a Table
// with one atomic add per counter that moved. Readers (INFO, the metrics
// collector) add up the Tables.
package cmdstat

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

// Bounds are the upper bounds of the duration histogram's buckets, from 1µs
// to 10s; one more bucket counts the durations above the last bound.
var Bounds = [...]time.Duration{
	1 * time.Microsecond, 2500 * time.Nanosecond, 5 * time.Microsecond,
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	1 * time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	1 * time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// NumBuckets is the number of histogram buckets: one per bound, and one for
// the rest.
const NumBuckets = len(Bounds) + 1

// Counters are the figures of one command.
type Counters struct {
	Calls    int64 // times it ran
	Failed   int64 // runs that replied with an error
	Rejected int64 // times it was refused before it ran (wrong arity, BUSY, …)
	Nanos    int64 // total time it ran, in nanoseconds
	// Buckets[i] counts the runs that took at most Bounds[i] and more than
	// Bounds[i-1]; the last one counts those above every bound.
	Buckets [NumBuckets]int64
}

// Add adds o to c.
func (c *Counters) Add(o *Counters) {
	c.Calls += o.Calls
	c.Failed += o.Failed
	c.Rejected += o.Rejected
	c.Nanos += o.Nanos
	for i := range c.Buckets {
		c.Buckets[i] += o.Buckets[i]
	}
}

// Sub subtracts o from c.
func (c *Counters) Sub(o *Counters) {
	c.Calls -= o.Calls
	c.Failed -= o.Failed
	c.Rejected -= o.Rejected
	c.Nanos -= o.Nanos
	for i := range c.Buckets {
		c.Buckets[i] -= o.Buckets[i]
	}
}

// Zero reports whether nothing was counted.
func (c *Counters) Zero() bool { return c.Calls == 0 && c.Failed == 0 && c.Rejected == 0 }

// Table holds the counters of every command, indexed by command ID. It is
// safe for concurrent use: Recorders add to it, readers read it.
type Table struct {
	rows []row

	errMu    sync.Mutex
	errs     map[string]int64 // error replies by prefix, at most MaxErrorPrefixes
	errTotal atomic.Int64     // every error reply
}

type row struct {
	calls, failed, rejected, nanos atomic.Int64
	buckets                        [NumBuckets]atomic.Int64
	// hist is the fine latency histogram, made when the command is first
	// counted with latency tracking on: most commands never run.
	hist atomic.Pointer[[HistBuckets]atomic.Int64]
}

// MaxErrorPrefixes bounds the distinct error prefixes a Table counts, as
// Redis bounds its errorstats (128): a client sending made-up error codes
// through a script cannot grow it without end. Error replies past the bound
// count only in the total.
const MaxErrorPrefixes = 128

// NewTable returns a Table with a row for every command ID.
func NewTable() *Table { return &Table{rows: make([]row, command.NumIDs())} }

// AddTo adds the table's counters to dst, indexed by command ID.
func (t *Table) AddTo(dst []Counters) {
	for i := range min(len(dst), len(t.rows)) {
		r, d := &t.rows[i], &dst[i]
		d.Calls += r.calls.Load()
		d.Failed += r.failed.Load()
		d.Rejected += r.rejected.Load()
		d.Nanos += r.nanos.Load()
		for j := range d.Buckets {
			d.Buckets[j] += r.buckets[j].Load()
		}
	}
}

// AddHistTo adds the table's latency histograms to dst, indexed by command
// ID, making a Hist in dst for each command that has one.
func (t *Table) AddHistTo(dst []*Hist) {
	for i := range min(len(dst), len(t.rows)) {
		h := t.rows[i].hist.Load()
		if h == nil {
			continue
		}
		if dst[i] == nil {
			dst[i] = new(Hist)
		}
		for j := range h {
			dst[i][j] += h[j].Load()
		}
	}
}

// ResetHist drops the latency histograms.
func (t *Table) ResetHist() {
	for i := range t.rows {
		t.rows[i].hist.Store(nil)
	}
}

// AddErrorsTo adds the table's error replies by prefix to dst and returns
// how many error replies there were in all.
func (t *Table) AddErrorsTo(dst map[string]int64) int64 {
	t.errMu.Lock()
	for p, n := range t.errs {
		dst[p] += n
	}
	t.errMu.Unlock()
	return t.errTotal.Load()
}

// ErrorPrefix returns the prefix under which an error reply counts: its
// first word (the code, as "ERR" or "WRONGTYPE"), cut at 128 bytes. msg is
// the reply's text after the '-'.
func ErrorPrefix(msg []byte) string {
	end := 0
	for end < len(msg) && end < 128 && msg[end] != ' ' && msg[end] != '\r' && msg[end] != '\n' {
		end++
	}
	return string(msg[:end])
}

// Recorder counts the commands run by one goroutine and adds them to a
// Table on Flush. It is used by that goroutine only. The zero of *Recorder,
// nil, is valid and counts nothing.
//
// It times commands in one of two ways. Start and Stop time one command
// with a clock read at each end: for the commands a connection runs itself.
// Begin, Done and End time a batch of commands (a shard's): reading the
// clock costs as much as running a small command, so a batch is timed as a
// whole, with one clock read at its end, and its duration is shared among
// its commands: among the commands of one name equally, between names in
// proportion to what their commands took in and gave out (see Weight). A
// batch of one command is thus timed exactly. After a batch of several
// commands took the slow log's threshold or longer, and while the threshold
// is 0, batches are timed command by command, so that the slow log gets
// each command's own duration.
type Recorder struct {
	t      *Table
	slow   *slowlog.Log
	slowAt time.Duration // log a command that ran this long or longer

	idx []int32 // by command ID: 1 + the index of its entry in acc, or 0
	acc []entry // the commands counted since the last Flush

	// The batch under way.
	w       *resp.Writer
	at      time.Duration // when it started, or when its last command ended if exact
	pos     int           // where the next reply starts in w
	errs    int           // w.Errors() at pos
	exact   bool          // timing command by command
	precise int           // batches still to be timed command by command
	n       int32         // commands so far
	total   int64         // their weight

	lat   *latency.Monitor
	latAt time.Duration // a command this long or longer is a latency event
	track bool          // latency tracking on: fill the fine histograms
	spill []histCount   // fine histogram counts moved out of their entry

	prefixes map[string]int64 // error replies by prefix since the last Flush
	errTotal int64

	clock func() time.Duration // for tests; nil reads the monotonic clock
}

// histCount is n runs of command id counted in fine histogram bucket idx.
type histCount struct {
	id, idx int32
	n       int64
}

type entry struct {
	id int
	Counters
	// The batch under way, unless timed command by command: how many of
	// its commands have this ID, their weight, the position of the last.
	bCalls, bWeight int64
	bLast           int32
	// The fine histogram bucket counted last, plus one (0 for none), and
	// its count: a run of commands of one ID mostly fall in one bucket.
	hIdx int32
	hN   int64
}

// Batch gives End the arguments of a batch's commands, by position, for
// the slow log.
type Batch interface {
	Args(i int) [][]byte
}

// preciseBatches is how many batches are timed command by command after a
// batch of several commands reached the slow log's threshold.
const preciseBatches = 1000

// Weight is the share of a batch's time given to a command that took in
// and gave out n bytes: a fixed part worth the time of copying 1 KiB, plus
// one per byte.
func Weight(n int) int64 { return 1024 + int64(n) }

// NewRecorder returns a Recorder that adds to t and logs slow commands to
// slow (nil for none).
func NewRecorder(t *Table, slow *slowlog.Log) *Recorder {
	return &Recorder{t: t, slow: slow, slowAt: 1<<63 - 1, latAt: 1<<63 - 1, idx: make([]int32, len(t.rows))}
}

// Watch makes r report slow commands to m, as "command" or "fast-command"
// latency events, and keep fine latency histograms while m's tracking is
// on. Call it before r counts anything.
func (r *Recorder) Watch(m *latency.Monitor) {
	if r != nil {
		r.lat = m
	}
}

// tableIDs are what a Recorder reads of the command tables: EXEC's ID
// (EXEC is not logged in the slow log itself, the commands it runs are),
// and by command ID which commands are flagged fast (their slow runs are
// "fast-command" latency events). They are read at first use, once every
// command is in the tables: the server puts its connection commands, EXEC
// among them, in the Redis table while it is initialised, after this
// package (see command.RegisterConn).
var tableIDs = sync.OnceValue(func() (ids struct {
	exec int
	fast []bool
}) {
	if s := command.Redis["exec"]; s != nil {
		ids.exec = s.ID
	}
	ids.fast = make([]bool, command.NumIDs())
	for _, t := range []command.Table{command.Redis, command.Line} {
		for _, s := range t {
			if s.ID > 0 && s.Flags&command.Fast != 0 {
				ids.fast[s.ID] = true
			}
		}
	}
	return ids
})

// Mark is the moment a command started: its time, and where its reply
// starts in the writer it replies to.
type Mark struct {
	at     time.Duration
	w      *resp.Writer
	start  int
	errs   int
	paused time.Duration // when Pause was called
}

// epoch is the origin of the monotonic clock the Recorder reads: reading
// time.Since of a monotonic time costs one clock read, half of time.Now.
var epoch = time.Now()

func (r *Recorder) now() time.Duration {
	if r.clock != nil {
		return r.clock()
	}
	return time.Since(epoch)
}

func (r *Recorder) threshold() {
	if r.slow != nil {
		r.slowAt = r.slow.Threshold()
	}
	if r.lat != nil {
		r.latAt = r.lat.Threshold()
		r.track = r.lat.Tracking()
	}
}

// slowAtAll is the shortest duration that the slow log or the latency
// monitor keeps.
func (r *Recorder) slowAtAll() time.Duration { return min(r.slowAt, r.latAt) }

// Start marks the start of a command that replies to w.
func (r *Recorder) Start(w *resp.Writer) Mark {
	if r == nil {
		return Mark{}
	}
	r.threshold()
	return Mark{at: r.now(), w: w, start: w.Len(), errs: w.Errors()}
}

// Pause stops counting time for the command started at m until Resume:
// a command that waits between its parts (for a shard, say) is timed
// without its waits.
func (r *Recorder) Pause(m *Mark) {
	if r == nil {
		return
	}
	m.paused = r.now()
}

// Resume starts counting time again for the command paused at m.
func (r *Recorder) Resume(m *Mark) {
	if r == nil {
		return
	}
	m.at += r.now() - m.paused
}

// Stop counts a run of spec, with arguments args, that started at m and was
// sent by client c. A command failed when its reply is an error (an EXEC
// whose queued commands failed did not fail itself). A command that ran for
// the slow log's threshold or longer is logged, the threshold being the
// one in force now, as in Redis: a CONFIG SET that turns the slow log off
// is not logged itself.
func (r *Recorder) Stop(m Mark, spec *command.Spec, args [][]byte, c slowlog.Client) {
	if r == nil || m.w == nil {
		return
	}
	d := r.now() - m.at
	f := r.countErrors(m.w, m.start, m.errs)
	r.threshold()
	if e := r.entry(spec.ID); e != nil {
		e.count(d, f)
		r.hist(e, d, 1)
	}
	r.slowRun(spec.ID, d, args, c)
}

// Discard ends the command started at m without counting it: only its
// reply is, if it is an error.
func (r *Recorder) Discard(m Mark) {
	if r == nil || m.w == nil {
		return
	}
	r.countErrors(m.w, m.start, m.errs)
}

// slowRun hands a run of command id that took d to the slow log and the
// latency monitor if it took long enough for them.
func (r *Recorder) slowRun(id int, d time.Duration, args [][]byte, c slowlog.Client) {
	if d >= r.slowAt {
		r.logSlow(id, d, args, c)
	}
	if d >= r.latAt {
		ev := latency.Command
		if fast := tableIDs().fast; id > 0 && id < len(fast) && fast[id] {
			ev = latency.FastCommand
		}
		r.lat.Add(ev, d)
	}
}

// countErrors counts the reply that starts at start in w, appended since w
// held errs error replies, if it is an error, and reports whether it is
// (the command failed). An error nested in a reply (EXEC's) is not counted
// here: the command that replied with it counted it.
func (r *Recorder) countErrors(w *resp.Writer, start, errs int) bool {
	if w.Errors() == errs || start >= w.Len() || w.Bytes()[start] != '-' {
		return false
	}
	r.errTotal++
	r.countPrefix(ErrorPrefix(w.Bytes()[start+1:]))
	return true
}

func (r *Recorder) countPrefix(p string) {
	if r.prefixes == nil {
		r.prefixes = map[string]int64{}
	}
	r.prefixes[p]++
}

// Error counts an error reply with text msg (after the '-') that was sent
// without running a command: an unknown command, a refusal.
func (r *Recorder) Error(msg []byte) {
	if r == nil {
		return
	}
	r.errTotal++
	r.countPrefix(ErrorPrefix(msg))
}

// hist counts n runs of e's command that took d each in its fine histogram,
// while latency tracking is on.
func (r *Recorder) hist(e *entry, d time.Duration, n int64) {
	if !r.track {
		return
	}
	i := int32(HistIndex(d)) + 1
	if e.hIdx == i {
		e.hN += n
		return
	}
	if e.hIdx != 0 {
		r.spill = append(r.spill, histCount{int32(e.id), e.hIdx - 1, e.hN})
	}
	e.hIdx, e.hN = i, n
}

// Begin starts a batch of commands that reply to w, the first of them
// starting at t (a time read with time.Now for another purpose, so that it
// costs no clock read here).
func (r *Recorder) Begin(t time.Time, w *resp.Writer) {
	if r == nil {
		return
	}
	r.threshold()
	r.w, r.pos, r.errs = w, w.Len(), w.Errors()
	r.n, r.total = 0, 0
	r.exact = r.precise > 0 || r.slowAtAll() == 0
	if r.precise > 0 {
		r.precise--
	}
	if r.clock != nil {
		r.at = r.clock()
	} else {
		r.at = t.Sub(epoch)
	}
}

// Done counts the batch's next command, spec with arguments args from client
// c, which has just written its reply. args and c are used at once or not
// at all: End gets them again from its Batch.
func (r *Recorder) Done(spec *command.Spec, args [][]byte, c slowlog.Client) {
	if r == nil || r.w == nil {
		return
	}
	w, start := r.w, r.pos
	f := r.countErrors(w, start, r.errs)
	r.pos, r.errs = w.Len(), w.Errors()
	e := r.entry(spec.ID)
	if r.exact {
		now := r.now()
		d := now - r.at
		r.at = now
		if e != nil {
			e.count(d, f)
			r.hist(e, d, 1)
		}
		r.slowRun(spec.ID, d, args, c)
		return
	}
	if e != nil {
		n := r.pos - start
		for _, a := range args {
			n += len(a)
		}
		wt := Weight(n)
		e.bCalls++
		e.bWeight += wt
		e.bLast = r.n
		if f {
			e.Failed++
		}
		r.total += wt
	}
	r.n++
}

// End ends the batch: unless it was timed command by command, it reads the
// clock once and shares the batch's time among its commands. b gives the
// arguments, and c the client, of a command to log as slow.
func (r *Recorder) End(b Batch, c slowlog.Client) {
	if r == nil || r.w == nil {
		return
	}
	r.w = nil
	if r.exact || r.total == 0 {
		return
	}
	d := r.now() - r.at
	perWeight := float64(d) / float64(r.total)
	for i := range r.acc {
		e := &r.acc[i]
		if e.bCalls == 0 {
			continue
		}
		share := time.Duration(float64(e.bWeight) * perWeight)
		each := share / time.Duration(e.bCalls)
		e.Calls += e.bCalls
		e.Nanos += int64(share)
		e.Buckets[bucket(each)] += e.bCalls
		r.hist(e, each, e.bCalls)
		if b != nil {
			r.slowRun(e.id, each, b.Args(int(e.bLast)), c)
		}
		e.bCalls, e.bWeight = 0, 0
	}
	if d >= r.slowAtAll() && r.n > 1 {
		r.precise = preciseBatches
	}
}

// bucket returns the histogram bucket of a run that took d.
func bucket(d time.Duration) int {
	b := 0
	for b < len(Bounds) && d > Bounds[b] {
		b++
	}
	return b
}

// count counts one run that took d.
func (e *entry) count(d time.Duration, failed bool) {
	e.Calls++
	e.Nanos += int64(d)
	if failed {
		e.Failed++
	}
	e.Buckets[bucket(d)]++
}

// logSlow logs a command that ran for the threshold or longer.
func (r *Recorder) logSlow(id int, d time.Duration, args [][]byte, c slowlog.Client) {
	if len(args) > 0 && r.slow != nil && id != tableIDs().exec {
		r.slow.Add(d, args, c)
	}
}

// Reject counts a command refused before it ran.
func (r *Recorder) Reject(spec *command.Spec) {
	if r == nil {
		return
	}
	if e := r.entry(spec.ID); e != nil {
		e.Rejected++
	}
}

// entry returns the entry of command ID id, or nil for an ID that is not
// counted (0, or a Spec from no table).
func (r *Recorder) entry(id int) *entry {
	if id <= 0 || id >= len(r.idx) {
		return nil
	}
	i := r.idx[id]
	if i == 0 {
		r.acc = append(r.acc, entry{id: id})
		i = int32(len(r.acc))
		r.idx[id] = i
	}
	return &r.acc[i-1]
}

// Flush adds what was counted since the last Flush to the Table.
func (r *Recorder) Flush() {
	if r == nil {
		return
	}
	if r.errTotal != 0 {
		r.flushErrors()
	}
	if len(r.acc) == 0 {
		return
	}
	for i := range r.acc {
		e := &r.acc[i]
		row := &r.t.rows[e.id]
		if e.hIdx != 0 {
			r.spill = append(r.spill, histCount{int32(e.id), e.hIdx - 1, e.hN})
		}
		if e.Calls != 0 {
			row.calls.Add(e.Calls)
			row.nanos.Add(e.Nanos)
			for b, n := range e.Buckets {
				if n != 0 {
					row.buckets[b].Add(n)
				}
			}
		}
		if e.Failed != 0 {
			row.failed.Add(e.Failed)
		}
		if e.Rejected != 0 {
			row.rejected.Add(e.Rejected)
		}
		r.idx[e.id] = 0
	}
	r.acc = r.acc[:0]
	for _, h := range r.spill {
		r.t.rows[h.id].histogram()[h.idx].Add(h.n)
	}
	r.spill = r.spill[:0]
}

// histogram returns the row's fine histogram, making it if need be.
func (w *row) histogram() *[HistBuckets]atomic.Int64 {
	if h := w.hist.Load(); h != nil {
		return h
	}
	w.hist.CompareAndSwap(nil, new([HistBuckets]atomic.Int64))
	return w.hist.Load()
}

func (r *Recorder) flushErrors() {
	t := r.t
	t.errTotal.Add(r.errTotal)
	r.errTotal = 0
	t.errMu.Lock()
	if t.errs == nil {
		t.errs = map[string]int64{}
	}
	for p, n := range r.prefixes {
		if _, ok := t.errs[p]; ok || len(t.errs) < MaxErrorPrefixes {
			t.errs[p] += n
		}
	}
	t.errMu.Unlock()
	clear(r.prefixes)
}
