package server

import (
	"errors"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/config"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/wal"
)

// settings is everything CONFIG GET reports and CONFIG SET changes: the
// server's Config, the process-wide collection limits and the log level. A
// settings value is a copy: CONFIG SET changes a copy and then applies it.
type settings struct {
	Config
	lim      object.Limits
	logLevel slog.Level
	srv      *Server // for the read-only parameters; nil in a default copy
}

// settings returns a copy of the settings in force.
func (s *Server) settings() settings {
	cfg := s.cfg()
	return settings{Config: *cfg, lim: object.CurrentLimits(), logLevel: cfg.LogLevel.Level(), srv: s}
}

// defaultSettings are the settings of a server started without flags, from
// which CONFIG REWRITE tells which parameters to write.
func defaultSettings() settings {
	return settings{Config: DefaultConfig(), lim: object.DefaultLimits(), logLevel: slog.LevelInfo}
}

// params is the table of configuration parameters of a single server:
// CONFIG GET, CONFIG SET and CONFIG REWRITE all work from it, and --config
// files may name them. Names are Redis's where Redis has the setting;
// aliases are Redis's older names and the server's flag names. Adding a
// parameter is adding an entry here (and, when it changes something other
// than the Config a connection reads, a step to apply).
var params = config.NewTable(append(config.MaxMemoryParams(func(c *settings) *int64 { return &c.MaxMemory },
	func(c *settings) *keyspace.Policy { return &c.MaxMemoryPolicy }, func(c *settings) *int { return &c.MaxMemorySamples }),
	append([]config.Param[settings]{
		config.SecondsParam("timeout", func(c *settings) *time.Duration { return &c.IdleTimeout }),
		config.IntParam("maxclients", 1, MaxClientsLimit, func(c *settings) *int { return &c.MaxClients }).WithAliases("max-clients"),
		config.MemoryParam("client-query-buffer-limit", 1<<20, config.MaxBytes, func(c *settings) *int64 { return &c.MaxQueryBuffer }),
		outputLimitParam(),
		config.SecondsParam("client-output-timeout", func(c *settings) *time.Duration { return &c.OutputTimeout }),
		config.MemoryParam("proto-max-bulk-len", 1<<20, MaxBulkLenLimit, func(c *settings) *int64 { return &c.Limits.MaxBulkLen }),
		config.IntParam("slowlog-log-slower-than", -1, math.MaxInt64, func(c *settings) *int64 { return &c.SlowlogSlowerThan }),
		config.IntParam("slowlog-max-len", 0, MaxSlowlogLen, func(c *settings) *int { return &c.SlowlogMaxLen }),
		config.Param[settings]{
			Name: "requirepass", Kind: config.String,
			Get: func(c *settings) string { return c.RequirePass },
			Set: func(c *settings, v string) error { c.RequirePass = v; return nil },
		},
		config.BoolParam("protected-mode", func(c *settings) *bool { return &c.ProtectedMode }),
		enumParam("appendfsync", []string{"everysec", "always", "no"},
			func(c *settings) string { return c.Persistence.Fsync.String() },
			func(c *settings, v string) { c.Persistence.Fsync, _ = wal.ParseFsync(v) }).WithAliases("fsync"),
		config.LogLevelParam(func(c *settings) *slog.Level { return &c.logLevel }),
		config.Param[settings]{
			Name: "notify-keyspace-events", Kind: config.Special,
			Get: func(c *settings) string { return c.NotifyKeyspaceEvents.String() },
			Set: func(c *settings, v string) error {
				cl, ok := notify.Parse([]byte(v))
				if !ok {
					return notify.ErrClass
				}
				c.NotifyKeyspaceEvents = cl
				return nil
			},
		},
		config.BusyThresholdParam(func(c *settings) *time.Duration { return &c.Scripts.BusyThreshold }),
		config.IntParam("tracking-table-max-keys", 0, math.MaxInt64, func(c *settings) *int64 { return &c.TrackingTableMaxKeys }),

		config.Param[settings]{
			// CONFIG SET save "" is what tools send to turn RDB snapshots
			// off: they are off already.
			Name: "save", Kind: config.Special,
			Get: func(*settings) string { return "" },
			Set: func(_ *settings, v string) error {
				if v != "" {
					return errors.New("only \"\" (no RDB snapshots) is supported: the data directory compacts its logs by --snapshot-log-size")
				}
				return nil
			},
		},
		config.ReadOnly("appendonly", func(c *settings) string { return config.FormatBool(c.Persistence.Dir != "") }),
		config.ReadOnly("auto-aof-rewrite-min-size", func(c *settings) string { return strconv.FormatInt(c.Persistence.SnapshotLogSize, 10) }),
		config.ReadOnly("auto-aof-rewrite-percentage", func(*settings) string { return "100" }),
		config.ReadOnly("bind", func(*settings) string { return "127.0.0.1" }),
		config.ReadOnly("databases", func(*settings) string { return "1" }),
		config.ReadOnly("dir", func(c *settings) string {
			if c.srv == nil {
				return c.Persistence.Dir
			}
			return c.srv.dataDir()
		}),
		config.ReadOnly("hz", func(*settings) string { return "10" }),
		config.ReadOnly("port", func(c *settings) string {
			if c.srv == nil {
				return ""
			}
			return PortOf(c.srv.anyListener())
		}),
	}, append(LatencyParams(func(c *settings) *LatencyConfig { return &c.Latency }),
		config.CollectionParams(func(c *settings) *object.Limits { return &c.lim })...)...)...)...)

// Upper bounds of parameters that are tighter than Redis's, and the same
// as their flags', so that CONFIG REWRITE writes what a restart reads.
const (
	MaxClientsLimit = 1 << 20 // maxclients
	MaxSlowlogLen   = 1 << 20 // slowlog-max-len
	MaxBulkLenLimit = 1 << 40 // proto-max-bulk-len
)

// enumParam is one of names, set through set once checked.
func enumParam(name string, names []string, get func(*settings) string, set func(*settings, string)) config.Param[settings] {
	return config.Param[settings]{
		Name: name, Kind: config.Enum, Get: get,
		Set: func(c *settings, v string) error {
			i, err := config.ParseEnum(v, names)
			if err == nil {
				set(c, names[i])
			}
			return err
		},
	}
}

// outputLimitParam is client-output-buffer-limit, as Redis writes it:
// "class hard soft seconds" for one or more classes. The normal class is
// NormalOutput, the pubsub class PubSubOutput, which applies to clients
// from their next SUBSCRIBE; the replica class is accepted and ignored. A
// single memory value, as the --client-output-buffer-limit flag takes, is
// MaxOutputBuffer, the server's own bound on one round of any client's
// replies, which CONFIG GET does not show.
func outputLimitParam() config.Param[settings] {
	return config.Param[settings]{
		Name: "client-output-buffer-limit", Kind: config.Special,
		Get: func(c *settings) string {
			return config.FormatOutputLimits(OutputLimit(c.NormalOutput), OutputLimit(c.PubSubOutput))
		},
		Set: func(c *settings, v string) error {
			if f := strings.Fields(v); len(f) == 1 {
				n, err := config.ParseMemory(f[0], 1, config.MaxBytes)
				if err == nil {
					c.MaxOutputBuffer = n
				}
				return err
			}
			ls, err := config.ParseOutputLimits(v)
			if err != nil {
				return err
			}
			normal, ps := c.NormalOutput, c.PubSubOutput
			for _, l := range ls {
				switch l.Class {
				case "normal":
					normal = PubSubLimits(l)
				case "pubsub":
					ps = PubSubLimits(l)
				}
			}
			c.NormalOutput, c.PubSubOutput = normal, ps
			return nil
		},
	}
}

// PubSubLimits converts a class of client-output-buffer-limit (the pubsub
// class, or the normal one, which is bounded the same way).
func PubSubLimits(l config.OutputLimit) pubsub.Limits {
	return pubsub.Limits{Hard: l.Hard, Soft: l.Soft, SoftFor: time.Duration(l.Seconds) * time.Second}
}

// OutputLimit is the inverse of PubSubLimits.
func OutputLimit(l pubsub.Limits) config.OutputLimit {
	return config.OutputLimit{Hard: l.Hard, Soft: l.Soft, Seconds: int64(l.SoftFor / time.Second)}
}

// CheckParam reports whether name and value would be accepted by SetParam,
// without changing anything: for the configuration file's parameters that
// are not flags, checked before the server starts.
func CheckParam(name, value string) error {
	st := defaultSettings()
	return params.SetOne(&st, name, value)
}

// SetParam sets the parameter name of the CONFIG table to value in cfg, as
// a configuration file sets it, before the server starts. The collection
// limits are process-wide and set at once.
func SetParam(cfg *Config, name, value string) error {
	st := settings{Config: *cfg, lim: object.CurrentLimits()}
	if cfg.LogLevel != nil {
		st.logLevel = cfg.LogLevel.Level()
	}
	if err := params.SetOne(&st, name, value); err != nil {
		return err
	}
	*cfg = st.Config
	if cfg.LogLevel != nil {
		cfg.LogLevel.Set(st.logLevel)
	}
	object.SetLimits(st.lim)
	return nil
}

// setConfig runs CONFIG SET's pairs: every pair is checked on a copy of the
// settings, and only when all of them are good is the copy applied, so
// that a bad pair changes nothing. It returns the error to reply, if any.
func (s *Server) setConfig(pairs [][]byte) error {
	s.confMu.Lock()
	defer s.confMu.Unlock()
	old := s.settings()
	next := old
	if err := params.SetArgs(&next, pairs); err != nil {
		return err
	}
	s.apply(&old, &next)
	return nil
}

// apply makes next the settings in force, old being those it replaces:
// connections read the new Config from their next command on, and what
// lives elsewhere (shards, the slow log, the logs' fsync, the log level,
// the collection limits, idle deadlines) is changed here. The caller holds
// s.confMu.
func (s *Server) apply(old, next *settings) {
	cfg := next.Config
	if next.RequirePass != old.RequirePass {
		s.SetRequirePass(next.RequirePass)
	}
	s.cur.Store(&cfg)
	s.confGen.Add(1)
	if next.MaxMemory != old.MaxMemory || next.MaxMemoryPolicy != old.MaxMemoryPolicy || next.MaxMemorySamples != old.MaxMemorySamples {
		shards := s.router.Shards()
		ev := keyspace.Eviction{Policy: next.MaxMemoryPolicy, Samples: next.MaxMemorySamples}
		if next.MaxMemory > 0 {
			ev.MaxMemory = max(1, next.MaxMemory/int64(len(shards)))
		}
		for _, sh := range shards {
			if e, ok := sh.(interface{ SetEviction(keyspace.Eviction) }); ok {
				e.SetEviction(ev)
			}
		}
	}
	if next.SlowlogSlowerThan != old.SlowlogSlowerThan {
		s.slow.SetSlowerThan(next.SlowlogSlowerThan)
	}
	if next.SlowlogMaxLen != old.SlowlogMaxLen {
		s.slow.SetMaxLen(next.SlowlogMaxLen)
	}
	if next.Persistence.Fsync != old.Persistence.Fsync && s.store != nil {
		s.store.SetFsync(next.Persistence.Fsync)
	}
	if next.logLevel != old.logLevel {
		cfg.LogLevel.Set(next.logLevel)
	}
	if next.Scripts.BusyThreshold != old.Scripts.BusyThreshold {
		s.scripts.SetBusyThreshold(next.Scripts.BusyThreshold)
	}
	if next.NotifyKeyspaceEvents != old.NotifyKeyspaceEvents {
		s.notify.Set(next.NotifyKeyspaceEvents)
	}
	if next.TrackingTableMaxKeys != old.TrackingTableMaxKeys {
		s.track.SetMaxKeys(next.TrackingTableMaxKeys)
	}
	if next.Latency.MonitorThreshold != old.Latency.MonitorThreshold {
		s.lat.SetThreshold(next.Latency.MonitorThreshold)
	}
	if next.Latency.Tracking != old.Latency.Tracking {
		s.lat.SetTracking(next.Latency.Tracking)
	}
	if !slices.Equal(next.Latency.Percentiles, old.Latency.Percentiles) {
		ps := slices.Clone(next.Latency.Percentiles)
		s.pctl.Store(&ps)
	}
	if next.lim != old.lim {
		object.SetLimits(next.lim)
	}
	if next.IdleTimeout != old.IdleTimeout {
		s.rearmIdle(next.IdleTimeout)
	}
}

// rearmIdle gives every connection waiting for a command the new idle
// timeout d, counted from now, as Redis's cron applies a new timeout to
// every client (0 removes the deadline). A connection that reads its next
// command meanwhile sets its own deadline from the new Config.
func (s *Server) rearmIdle(d time.Duration) {
	var at time.Time
	if d > 0 {
		at = time.Now().Add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.rearmIdle(at)
	}
}

// rearmIdle sets the read deadline of a connection that waits for its next
// command to at. A client parked in a blocking command is left alone, as
// in Redis: its deadline is its wait's (block.go). The wake lock orders this
// with the deadlines of a wait, its wake-ups and stop.
func (c *conn) rearmIdle(at time.Time) {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	if c.stopping.Load() || c.parked.Load() != nil {
		return
	}
	c.nc.SetReadDeadline(at)
}

// refreshConfig brings the connection up to date with CONFIG SET before it
// parses what it read: the protocol limits, and authentication when the
// password was removed (a client is then authenticated, as Redis's default
// user with nopass). It runs on the connection's goroutine.
func (c *conn) refreshConfig() {
	g := c.s.confGen.Load()
	if g == c.confGen {
		return
	}
	c.confGen = g
	c.setAuthed(c.gate.authed || c.s.acl.DefaultOpen())
}

// ErrNoConfigFile is CONFIG REWRITE's answer on a server started without
// --config, Redis's text.
var ErrNoConfigFile = errors.New("ERR The server is running without a config file")

// rewriteConfig writes the parameters CONFIG SET can change into the
// configuration file, as CONFIG REWRITE does (config.Rewrite).
func (s *Server) rewriteConfig() error {
	s.confMu.Lock()
	defer s.confMu.Unlock()
	path := s.cfg().ConfigFile
	if path == "" {
		return ErrNoConfigFile
	}
	cur, def := s.settings(), defaultSettings()
	return config.Rewrite(path, params.Settings(&cur, &def))
}

// config implements CONFIG GET, SET, RESETSTAT, REWRITE and HELP.
func (s *session) config(w *resp.Writer, args [][]byte) {
	switch sub := lower(args[1]); sub {
	case "get":
		if len(args) < 3 {
			SubArity(w, "config", sub)
			return
		}
		st := s.c.s.settings()
		match := params.Get(&st, args[2:])
		w.AppendMap(len(match))
		for _, p := range match {
			w.AppendBulkString(p[0])
			w.AppendBulkString(p[1])
		}
	case "set":
		if len(args) < 4 || len(args)%2 != 0 {
			SubArity(w, "config", sub)
			return
		}
		if err := s.c.s.setConfig(args[2:]); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case "resetstat":
		s.c.rec.Flush()
		s.c.s.resetCommandStats()
		w.AppendOK()
	case "rewrite":
		if len(args) != 2 {
			SubArity(w, "config", sub)
			return
		}
		if err := s.c.s.rewriteConfig(); err != nil {
			if errors.Is(err, ErrNoConfigFile) {
				w.AppendError(err.Error())
			} else {
				s.c.s.log.Warn("CONFIG REWRITE failed", "err", err)
				w.AppendError("ERR Rewriting config file: " + err.Error())
			}
			return
		}
		s.c.s.log.Info("CONFIG REWRITE executed with success")
		w.AppendOK()
	case "help":
		appendHelp(w, ConfigHelp...)
	default:
		UnknownSubcommand(w, "config", args[1])
	}
}

// ConfigHelp is CONFIG HELP's text, Redis's.
var ConfigHelp = []string{
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
	"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
	"RESETSTAT", "    Reset statistics reported by the INFO command.",
	"REWRITE", "    Rewrite the configuration file.",
	"HELP", "    Prints this help.",
}
