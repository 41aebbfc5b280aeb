package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: latencies are recorded in microseconds from 1µs to 60s
// with 3 significant digits. Shorter latencies count as 1µs, longer as 60s.
const (
	minLatencyUS = 1
	maxLatencyUS = 60_000_000
	sigFigs      = 3
)

// inlineWrite is the largest batch written before its replies are read.
// A larger one is written by a goroutine of its own while the replies are
// read, so that a server blocked on writing replies never waits for a client
// blocked on writing requests.
const inlineWrite = 64 << 10

// ErrStalled is returned when batches were still waiting for replies
// Config.DrainTimeout after the run was told to stop.
var ErrStalled = errors.New("bench: replies still missing after the drain timeout")

// Run connects Config.Clients connections to Config.Addr, drives them until
// Config.Requests requests are answered or Config.Duration has passed, and
// returns what was measured.
//
// When ctx ends first, the run stops as if its duration had passed and the
// Result, with Interrupted set, covers what was answered. A connection that
// fails (closed by the server, a malformed reply) stops the run: Run then
// returns the Result so far and the first failure. Error replies are counted
// and do not stop anything.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	r := &run{cfg: cfg, enc: newEncoder(cfg.Protocol, cfg.ValueSize), failed: make(chan struct{})}

	dialer := net.Dialer{Timeout: cfg.DialTimeout}
	r.clients = make([]*client, cfg.Clients)
	for i := range r.clients {
		conn, err := dialer.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("bench: cannot connect to %s: %w", cfg.Addr, err)
		}
		r.clients[i] = newClient(r, i, conn, newGenerator(cfg, seed, i))
	}
	defer r.close()

	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range r.clients {
		wg.Go(func() {
			if err := c.loop(); err != nil {
				c.err = err
				r.failOnce.Do(func() { close(r.failed) })
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	var (
		deadline    <-chan time.Time
		drain       <-chan time.Time
		tick        <-chan time.Time
		done        = ctx.Done()
		failed      = r.failed
		interrupted bool
		stalled     bool
	)
	if cfg.Duration > 0 {
		t := time.NewTimer(cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	if cfg.Progress != nil {
		t := time.NewTicker(cfg.ProgressInterval)
		defer t.Stop()
		tick = t.C
	}
	stop := func() {
		r.stop.Store(true)
		if drain == nil {
			drain = time.After(cfg.DrainTimeout)
		}
	}
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-deadline:
			deadline = nil
			stop()
		case <-done:
			done = nil
			interrupted = true
			stop()
		case <-failed:
			failed = nil
			stop()
		case <-drain:
			stalled = true
			now := time.Now()
			for _, c := range r.clients {
				c.conn.SetDeadline(now)
			}
		case now := <-tick:
			elapsed := now.Sub(start)
			n := r.completed.Load()
			fmt.Fprintf(cfg.Progress, "\r%.1fs %d requests, %.0f/s\x1b[K", elapsed.Seconds(), n,
				float64(n)/elapsed.Seconds())
		}
	}
	elapsed := time.Since(start)
	if cfg.Progress != nil {
		fmt.Fprint(cfg.Progress, "\r\x1b[K")
	}

	res := r.result(seed, elapsed)
	res.Interrupted = interrupted
	for _, c := range r.clients {
		if c.err == nil {
			continue
		}
		if stalled && errors.Is(c.err, os.ErrDeadlineExceeded) {
			return res, fmt.Errorf("%w (%v)", ErrStalled, cfg.DrainTimeout)
		}
		if c.err == io.EOF {
			return res, fmt.Errorf("bench: connection %d to %s: closed by the server", c.id, cfg.Addr)
		}
		return res, fmt.Errorf("bench: connection %d to %s: %w", c.id, cfg.Addr, c.err)
	}
	return res, nil
}

// run is the state the connections of one Run share.
type run struct {
	cfg       Config
	enc       *encoder
	clients   []*client
	stop      atomic.Bool  // no more batches
	issued    atomic.Int64 // requests handed out
	completed atomic.Int64 // requests answered, updated once per batch
	failed    chan struct{}
	failOnce  sync.Once
}

// claim hands out a connection's next batch: the number of its first
// request in the run, and its size, the pipeline depth or less at the end of
// a counted run; n is 0 when the run is over.
func (r *run) claim() (first uint64, n int) {
	if r.stop.Load() {
		return 0, 0
	}
	p := int64(r.cfg.Pipeline)
	end := r.issued.Add(p)
	begin := end - p
	if r.cfg.Duration > 0 {
		return uint64(begin), int(p)
	}
	if begin >= r.cfg.Requests {
		return 0, 0
	}
	return uint64(begin), int(min(end, r.cfg.Requests) - begin)
}

// close closes every connection.
func (r *run) close() {
	for _, c := range r.clients {
		if c != nil {
			c.conn.Close()
		}
	}
}

// result merges the connections' counts and histograms.
func (r *run) result(seed uint64, elapsed time.Duration) *Result {
	cfg := r.cfg
	res := &Result{
		Addr:        cfg.Addr,
		Protocol:    cfg.Protocol,
		Clients:     cfg.Clients,
		Pipeline:    cfg.Pipeline,
		Keyspace:    cfg.Keyspace,
		Sequential:  cfg.Sequential,
		ValueSize:   cfg.ValueSize,
		ReadPercent: cfg.ReadPercent,
		Seed:        seed,
		ErrorKinds:  map[string]int64{},
		Elapsed:     elapsed,
		Histogram:   hdrhistogram.New(minLatencyUS, maxLatencyUS, sigFigs),
	}
	if cfg.Duration > 0 {
		res.TargetDurationSeconds = cfg.Duration.Seconds()
	} else {
		res.TargetRequests = cfg.Requests
	}
	for _, c := range r.clients {
		res.Requests += c.done
		res.Reads += c.reads
		res.Writes += c.writes
		res.Misses += c.misses
		res.Errors += c.errors
		for k, n := range c.errKinds {
			res.ErrorKinds[k] += n
		}
		res.Histogram.Merge(c.hist)
	}
	res.fill()
	return res
}

// client is one connection and the goroutine that drives it. Its fields
// belong to that goroutine until Run has waited for it.
type client struct {
	r       *run
	id      int
	conn    net.Conn
	replies interface{ read() (Reply, error) }
	gen     *generator
	buf     []byte // the batch's requests
	gets    []bool // whether each request of the batch is a GET
	hist    *hdrhistogram.Histogram

	done, reads, writes, misses, errors int64
	errKinds                            map[string]int64
	err                                 error
}

// readBufferSize is each connection's read buffer: a reply line longer than
// it (a large line-protocol value) is still read, a buffer at a time.
const readBufferSize = 64 << 10

// newClient returns connection id of r, on conn.
func newClient(r *run, id int, conn net.Conn, gen *generator) *client {
	c := &client{
		r:        r,
		id:       id,
		conn:     conn,
		gen:      gen,
		gets:     make([]bool, r.cfg.Pipeline),
		hist:     hdrhistogram.New(minLatencyUS, maxLatencyUS, sigFigs),
		errKinds: map[string]int64{},
	}
	rd := bufio.NewReaderSize(conn, readBufferSize)
	if r.cfg.Protocol == Line {
		c.replies = newLineReader(rd)
	} else {
		c.replies = &respReader{rd: rd}
	}
	return c
}

// loop runs batches until the run is over or the connection fails.
func (c *client) loop() error {
	enc := c.r.enc
	for {
		first, n := c.r.claim()
		if n == 0 {
			return nil
		}
		c.buf = c.buf[:0]
		for i := range n {
			k := c.gen.key(first + uint64(i))
			c.gets[i] = c.gen.read()
			if c.gets[i] {
				c.buf = enc.appendGet(c.buf, k)
			} else {
				c.buf = enc.appendSet(c.buf, k)
			}
		}

		start := time.Now()
		var wrote chan error
		if len(c.buf) <= inlineWrite {
			if _, err := c.conn.Write(c.buf); err != nil {
				return err
			}
		} else {
			// Ends when the write does, at the latest when Run closes
			// the connection.
			wrote = make(chan error, 1)
			go func(b []byte) {
				_, err := c.conn.Write(b)
				wrote <- err
			}(c.buf)
		}
		for i := range n {
			rep, err := c.replies.read()
			if err != nil {
				return err
			}
			c.record(time.Since(start))
			c.done++
			if c.gets[i] {
				c.reads++
			} else {
				c.writes++
			}
			switch {
			case rep.IsError():
				c.errors++
				c.errKinds[string(rep.Code())]++
			case rep.Null:
				c.misses++
			}
		}
		if wrote != nil {
			if err := <-wrote; err != nil {
				return err
			}
		}
		c.r.completed.Add(int64(n))
	}
}

// record adds one latency to the histogram, clamped to its range.
func (c *client) record(d time.Duration) {
	us := d.Microseconds()
	us = max(us, minLatencyUS)
	us = min(us, maxLatencyUS)
	c.hist.RecordValue(us)
}
