package wal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// syncer is a Store's group commit across shards for FsyncAlways: one
// goroutine to which every shard's reply goroutine hands its wait
// (Log.WaitDurable). It takes every request waiting, fsyncs the current
// segment of each log they name, all at once (fsutil.DatasyncAll: one
// submission per file, run together by the kernel), and answers them; the
// requests that come in meanwhile wait for the next round. A round thus
// costs one fdatasync per shard that wrote, issued together, instead of
// each shard's goroutine fsyncing on its own schedule.
//
// Open starts the goroutine and Close stops it, once the shards, the only
// senders, have stopped.
type syncer struct {
	reqs     chan syncReq
	done     chan struct{}
	stopOnce sync.Once
	// datasync is fsutil.DatasyncAll; tests replace it before the first
	// request.
	datasync func(files []*os.File, errs []error)
}

// syncReq asks that l be durable up to pos. The syncer answers on
// l.durable.
type syncReq struct {
	l   *Log
	pos int64
}

func newSyncer() *syncer {
	return &syncer{reqs: make(chan syncReq, 64), done: make(chan struct{}), datasync: fsutil.DatasyncAll}
}

// run serves the requests until reqs is closed.
func (s *syncer) run() {
	defer close(s.done)
	var (
		batch []syncReq
		logs  []*Log
		files []*os.File
		upTo  []int64
		errs  []error
	)
	for r := range s.reqs {
		batch = append(batch[:0], r)
	more:
		for {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		logs, files, upTo = logs[:0], files[:0], upTo[:0]
		for _, r := range batch {
			if r.l.synced.Load() >= r.pos || containsLog(logs, r.l) {
				continue
			}
			// Everything written so far is in the current segment or in
			// earlier ones, which rotate made durable before switching:
			// read the position first, then the segment.
			pos := r.l.pos.Load()
			f := r.l.cur.Load()
			if f == nil {
				continue // closed: close synced it
			}
			logs, files, upTo = append(logs, r.l), append(files, f), append(upTo, pos)
		}
		if len(files) > 0 {
			errs = append(errs[:0], make([]error, len(files))...)
			start := time.Now()
			s.datasync(files, errs)
			for i, l := range logs {
				if err := errs[i]; err != nil && !errors.Is(err, os.ErrClosed) {
					l.syncFailed(files[i], err)
					continue
				}
				l.tellSynced(start)
				storeMax(&l.synced, upTo[i])
			}
		}
		for i, r := range batch {
			r.l.durable <- struct{}{}
			batch[i] = syncReq{}
		}
		clear(files)
		clear(logs)
	}
}

func containsLog(logs []*Log, l *Log) bool {
	for _, m := range logs {
		if m == l {
			return true
		}
	}
	return false
}

// stop stops the goroutine once it has answered every request. No request
// may be sent after it.
func (s *syncer) stop() {
	s.stopOnce.Do(func() { close(s.reqs) })
	<-s.done
}

// syncFailed reports that the fsync of f, l's segment, failed with
// FsyncAlways: the log is marked as not written and Config.Fatal is
// called.
func (l *Log) syncFailed(f *os.File, err error) {
	l.writeOK.Store(false)
	l.st.log.Error("cannot fsync the log", "shard", l.shard, "file", f.Name(), "err", err)
	if l.st.cfg.Fatal != nil {
		l.st.cfg.Fatal(fmt.Errorf("shard %d: fsync of %s: %w", l.shard, f.Name(), err))
	}
}
