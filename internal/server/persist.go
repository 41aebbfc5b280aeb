package server

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/router"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/wal"
)

const errNoPersistence = "ERR persistence is off: start the server with --data-dir"

// openStore opens the data directory when cfg asks for one: it loads the
// data into the shards' engines and gives each shard its log, through
// cfg.Router. It returns nil when persistence is off. Slow fsyncs go to
// lat as aof-fsync-always events.
func openStore(cfg *Config, lat *latency.Monitor) (*wal.Store, error) {
	pc := cfg.Persistence
	if pc.Dir == "" {
		return nil, nil
	}
	if pc.Logger == nil {
		pc.Logger = cfg.Logger
	}
	if pc.Synced == nil && lat != nil {
		pc.Synced = func(d time.Duration) { lat.Add(latency.FsyncAlways, d) }
	}
	rg, err := ring.New(cfg.Router.Shards, cfg.Router.Vnodes)
	if err != nil {
		return nil, err
	}
	newEngine := cfg.Router.NewEngine
	if newEngine == nil {
		newEngine = router.DefaultEngine
	}
	engines := make([]storage.Engine, cfg.Router.Shards)
	for i := range engines {
		engines[i] = newEngine()
	}
	st, err := wal.Open(pc, rg, engines)
	if err != nil {
		return nil, err
	}
	ld := st.Loaded()
	if pc.Logger != nil {
		pc.Logger.Info("data loaded", "dir", pc.Dir, "keys", ld.Keys, "expired_skipped", ld.Expired,
			"bytes", ld.Bytes, "took", ld.Duration.String(), "fsync", pc.Fsync.String())
	}
	logs := make([]keyspace.Log, len(st.Logs()))
	for i, l := range st.Logs() {
		logs[i] = l
	}
	cfg.Router.Engines = engines
	cfg.Router.Logs = logs
	return st, nil
}

// startStore starts the store's background work once the shards run.
func startStore(st *wal.Store, r *router.Router) {
	if st != nil {
		st.Start(r)
	}
}

// closeRouter stops the shards, and around them the store: its background
// work first (it holds shards), its files last.
func (s *Server) closeRouter() {
	if s.store == nil {
		s.router.Close()
		return
	}
	s.store.Stop()
	s.router.Close()
	if err := s.store.Close(); err != nil {
		s.log.Error("closing the data directory", "err", err)
	}
}

// dataDir returns the directory CONFIG GET dir reports.
func (s *Server) dataDir() string {
	if d := s.cfg().Persistence.Dir; d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return wd
}

// lastSave returns the Unix time of the last completed snapshot of every
// shard, or the server's start.
func (s *Server) lastSave() int64 {
	if s.store == nil {
		return s.start.Unix()
	}
	return s.store.LastSave()
}

// save implements SAVE: it returns once every shard has written a snapshot
// begun after the call. Other clients are served meanwhile.
func (s *session) save(w *resp.Writer, _ [][]byte) {
	st := s.c.s.store
	if st == nil {
		w.AppendError(errNoPersistence)
		return
	}
	if err := st.Save(context.Background(), true, false); err != nil {
		s.c.logger().Error("SAVE failed", "err", err)
		w.AppendError("ERR " + err.Error())
		return
	}
	w.AppendOK()
}

// ParseBGSave reads BGSAVE's arguments: whether SCHEDULE is given, false
// for anything else (Redis's ERR syntax error).
func ParseBGSave(args [][]byte) (schedule, ok bool) {
	switch {
	case len(args) == 1:
		return false, true
	case len(args) == 2 && ascii.EqualFold(args[1], "schedule"):
		return true, true
	}
	return false, false
}

// bgsave implements BGSAVE [SCHEDULE].
func (s *session) bgsave(w *resp.Writer, args [][]byte) {
	schedule, ok := ParseBGSave(args)
	if !ok {
		w.AppendError("ERR syntax error")
		return
	}
	st := s.c.s.store
	if st == nil {
		w.AppendError(errNoPersistence)
		return
	}
	running := st.Saving()
	switch err := st.Save(context.Background(), false, schedule); {
	case errors.Is(err, wal.ErrSaveInProgress):
		w.AppendError("ERR Background save already in progress")
	case err != nil:
		w.AppendError("ERR " + err.Error())
	case running:
		w.AppendSimple("Background saving scheduled")
	default:
		w.AppendSimple("Background saving started")
	}
}

// lastsave implements LASTSAVE.
func (s *session) lastsave(w *resp.Writer, _ [][]byte) { w.AppendInt(s.c.s.lastSave()) }

// persistenceInfo returns the fields of INFO persistence, with Redis's names:
// snapshots are reported both as RDB saves and as AOF rewrites, the log as
// the AOF.
func (s *Server) persistenceInfo() [][2]string {
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	okErr := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "err"
	}
	st := wal.Stats{LastSave: s.start.Unix(), LastSaveOK: true, WriteOK: true, SaveSeconds: -1, LastSaveSeconds: -1}
	enabled := s.store != nil
	if enabled {
		st = s.store.Stats()
	}
	saving := "0"
	if st.SaveInProgress {
		saving = "1"
	}
	f := [][2]string{
		{"loading", "0"},
		{"async_loading", "0"},
		{"rdb_changes_since_last_save", itoa(st.ChangesSinceSave)},
		{"rdb_bgsave_in_progress", saving},
		{"rdb_last_save_time", itoa(st.LastSave)},
		{"rdb_last_bgsave_status", okErr(st.LastSaveOK)},
		{"rdb_last_bgsave_time_sec", itoa(st.LastSaveSeconds)},
		{"rdb_current_bgsave_time_sec", itoa(st.SaveSeconds)},
		{"rdb_saves", itoa(st.Saves)},
		{"rdb_last_load_keys_expired", itoa(st.Load.Expired)},
		{"rdb_last_load_keys_loaded", itoa(st.Load.Keys)},
		{"aof_enabled", map[bool]string{true: "1", false: "0"}[enabled]},
		{"aof_rewrite_in_progress", saving},
		{"aof_rewrite_scheduled", "0"},
		{"aof_last_rewrite_time_sec", itoa(st.LastSaveSeconds)},
		{"aof_current_rewrite_time_sec", itoa(st.SaveSeconds)},
		{"aof_last_bgrewrite_status", okErr(st.LastSaveOK)},
		{"aof_rewrites", itoa(st.Saves)},
		{"aof_last_write_status", okErr(st.WriteOK)},
	}
	if enabled {
		f = append(f,
			[2]string{"aof_current_size", itoa(st.LogBytes + st.SnapshotBytes)},
			[2]string{"aof_base_size", itoa(st.SnapshotBytes)},
			[2]string{"aof_buffer_length", "0"},
			[2]string{"aof_delayed_fsync", "0"},
			[2]string{"aof_fsync", st.Fsync.String()},
			[2]string{"data_dir", s.cfg().Persistence.Dir},
			[2]string{"last_load_time_ms", itoa(st.Load.Duration.Milliseconds())},
		)
	}
	return f
}
