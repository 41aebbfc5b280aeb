package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/data-cluster/data-cluster/internal/cluster"
	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/router"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/wal"
)

// A single server's data dir becomes a cluster's first node: started with
// cluster flags that name it alone, the node moves the server's files
// into importDir (claimDataDir), reads them as the server would, and writes
// every key through its groups (cluster.Node.Load) before it serves any
// key; then it removes importDir. A crash before that loads them again.

// importDir, in a cluster node's data directory, holds a single server's
// data that the node has still to load.
const importDir = "import"

// doneExt names importDir once it is loaded, while it is removed.
const doneExt = ".done"

// singleServerDir reports whether dir holds a single server's data, or
// what is left of one being moved into importDir.
func singleServerDir(dir string) (bool, error) {
	if _, _, ok, err := wal.Shape(dir); ok || err != nil {
		return ok, err
	}
	st, err := os.Stat(filepath.Join(dir, importDir))
	return err == nil && st.IsDir(), nil
}

// moveInto moves every entry of dir but sub into dir/sub.
func moveInto(dir, sub string) error {
	to := filepath.Join(dir, sub)
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == sub {
			continue
		}
		if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	if err := fsutil.SyncDir(to); err != nil {
		return err
	}
	return fsutil.SyncDir(dir)
}

// singleData is a single server's keys, read from its data dir.
type singleData struct {
	engines []storage.Engine
	keys    int64
}

// openSingle reads the single server's data in dir, with the shards it
// was written with.
func openSingle(dir string, log *slog.Logger) (*singleData, error) {
	shards, vnodes, ok, err := wal.Shape(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the single server's data in %s: %w", dir, err)
	}
	if !ok {
		return &singleData{}, nil // a server that never wrote a key
	}
	r, err := ring.New(shards, vnodes)
	if err != nil {
		return nil, fmt.Errorf("reading the single server's data in %s: %w", dir, err)
	}
	d := &singleData{engines: make([]storage.Engine, shards)}
	for i := range d.engines {
		d.engines[i] = router.DefaultEngine()
	}
	cfg := wal.DefaultConfig()
	cfg.Dir, cfg.Fsync, cfg.Logger = dir, wal.FsyncNo, log
	st, err := wal.Open(cfg, r, d.engines)
	if err != nil {
		return nil, fmt.Errorf("reading the single server's data in %s: %w", dir, err)
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	d.keys = st.Loaded().Keys
	log.Info("single server data read", "dir", dir, "keys", d.keys, "shards", shards)
	return d, nil
}

// load writes the keys through node's groups once they have leaders, then
// removes dir and lets the node serve. It gives up when ctx is done: the
// next start loads them again.
func (d *singleData) load(ctx context.Context, node *cluster.Node, dir string, log *slog.Logger) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !node.State() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	start := time.Now()
	total := 0
	for _, e := range d.engines {
		n, err := node.Load(ctx, e)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				log.Error("loading the single server's data failed; the node keeps answering LOADING until a restart loads it again", "err", err)
			}
			return
		}
	}
	// Renamed first, so that a crash while it is removed leaves no half
	// of it to load again.
	if err := os.Rename(dir, dir+doneExt); err != nil {
		log.Error("removing the loaded single server's data", "dir", dir, "err", err)
		return
	}
	if err := fsutil.SyncDir(filepath.Dir(dir)); err != nil {
		log.Error("removing the loaded single server's data", "dir", dir, "err", err)
		return
	}
	if err := os.RemoveAll(dir + doneExt); err != nil {
		log.Warn("removing the loaded single server's data", "dir", dir+doneExt, "err", err)
	}
	d.engines = nil
	node.SetLoading(false)
	log.Info("single server data loaded", "keys", total, "took", time.Since(start).Round(time.Millisecond).String())
}
