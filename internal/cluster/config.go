package cluster

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/config"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// settings is what CONFIG GET reports and CONFIG SET changes on a node, as
// in Redis Cluster each node has its own: the Server's configuration, the
// process-wide collection limits, the log level and the classes of
// keyspace events the node publishes. A settings value is a copy: CONFIG
// SET changes a copy and then applies it.
type settings struct {
	ServerConfig
	lim      object.Limits
	logLevel slog.Level
	events   notify.Class
	busy     time.Duration // the node's scripts' busy-reply-threshold
	srv      *Server       // for the read-only parameters
}

func (s *Server) settings() settings {
	cfg := s.cfg()
	return settings{ServerConfig: *cfg, lim: object.CurrentLimits(), logLevel: cfg.LogLevel.Level(),
		events: s.node.notify.Classes(), busy: s.node.cfg.Scripts.BusyThreshold(), srv: s}
}

// defaultSettings are those of a node started without flags, from which
// CONFIG REWRITE tells which parameters to write.
func defaultSettings() settings {
	d := server.DefaultProtection()
	return settings{
		ServerConfig: ServerConfig{
			Limits: resp.DefaultLimits(), ProtectedMode: d.ProtectedMode, MaxClients: d.MaxClients,
			QueryBuffer: int(d.MaxQueryBuffer), PubSubOutput: d.PubSubOutput,
			TrackingTableMaxKeys: tracking.DefaultMaxKeys, SlowlogSlowerThan: 10000, SlowlogMaxLen: 128,
			MaxMemorySamples: keyspace.DefaultSamples,
			Latency:          server.DefaultLatencyConfig(),
		},
		lim: object.DefaultLimits(), logLevel: slog.LevelInfo, busy: script.DefaultConfig().BusyThreshold,
	}
}

// params is the table of a cluster node's configuration parameters: those
// of a single server that a node has, under the same names. Adding one is
// adding an entry here (and, when it changes something other than the
// ServerConfig a connection reads, a step to apply).
var params = config.NewTable(append(config.MaxMemoryParams(func(c *settings) *int64 { return &c.MaxMemory },
	func(c *settings) *keyspace.Policy { return &c.MaxMemoryPolicy }, func(c *settings) *int { return &c.MaxMemorySamples }),
	append([]config.Param[settings]{
		config.SecondsParam("timeout", func(c *settings) *time.Duration { return &c.Timeout }),
		config.IntParam("tracking-table-max-keys", 0, math.MaxInt64, func(c *settings) *int64 { return &c.TrackingTableMaxKeys }),
		config.IntParam("slowlog-log-slower-than", -1, math.MaxInt64, func(c *settings) *int64 { return &c.SlowlogSlowerThan }),
		config.IntParam("slowlog-max-len", 0, server.MaxSlowlogLen, func(c *settings) *int { return &c.SlowlogMaxLen }),
		{
			// The node's own, as in Redis Cluster (Node.notify in node.go).
			Name: "notify-keyspace-events", Kind: config.Special,
			Get: func(c *settings) string { return c.events.String() },
			Set: func(c *settings, v string) error {
				cl, ok := notify.Parse([]byte(v))
				if !ok {
					return notify.ErrClass
				}
				c.events = cl
				return nil
			},
		},
		config.IntParam("maxclients", 1, server.MaxClientsLimit, func(c *settings) *int { return &c.MaxClients }).WithAliases("max-clients"),
		{
			Name: "client-query-buffer-limit", Kind: config.Memory,
			Get: func(c *settings) string {
				if c.QueryBuffer <= 0 {
					return strconv.Itoa(maxQueryBuf)
				}
				return strconv.Itoa(c.QueryBuffer)
			},
			Set: func(c *settings, v string) error {
				n, err := config.ParseMemory(v, 1<<20, config.MaxBytes)
				if err == nil {
					c.QueryBuffer = int(min(n, math.MaxInt))
				}
				return err
			},
		},
		config.MemoryParam("proto-max-bulk-len", 1<<20, server.MaxBulkLenLimit, func(c *settings) *int64 { return &c.Limits.MaxBulkLen }),
		{
			Name: "requirepass", Kind: config.String,
			Get: func(c *settings) string { return c.Password },
			Set: func(c *settings, v string) error { c.Password = v; return nil },
		},
		config.BoolParam("protected-mode", func(c *settings) *bool { return &c.ProtectedMode }),
		// The node's own: its groups' leaders run their scripts with it
		// (effects.go).
		config.BusyThresholdParam(func(c *settings) *time.Duration { return &c.busy }),
		config.LogLevelParam(func(c *settings) *slog.Level { return &c.logLevel }),
		outputLimitParam(),
		{
			Name: "save", Kind: config.Special,
			Get: func(*settings) string { return "" },
			Set: func(_ *settings, v string) error {
				if v != "" {
					return errors.New("only \"\" (no RDB snapshots) is supported: Raft snapshots follow --snapshot-count")
				}
				return nil
			},
		},
		{
			// --cluster-keyspace: what DBSIZE, KEYS, SCAN, RANDOMKEY and INFO's
			// keyspace cover (ServerConfig.WholeKeyspace).
			Name: "cluster-keyspace", Kind: config.Enum,
			Get: func(c *settings) string {
				if c.WholeKeyspace {
					return "cluster"
				}
				return "node"
			},
			Set: func(c *settings, v string) error {
				i, err := config.ParseEnum(v, []string{"node", "cluster"})
				if err == nil {
					c.WholeKeyspace = i == 1
				}
				return err
			},
		},
		config.ReadOnly("cluster-enabled", func(*settings) string { return "yes" }),
		config.ReadOnly("databases", func(*settings) string { return "1" }),
		config.ReadOnly("appendonly", func(*settings) string { return "yes" }),
		config.ReadOnly("cluster-read-lease", func(c *settings) string {
			if c.srv == nil || !c.srv.node.cfg.Group.ReadLease {
				return "no"
			}
			return "yes"
		}),
		config.ReadOnly("port", func(c *settings) string {
			if c.srv == nil {
				return ""
			}
			return c.srv.port()
		}),
	}, append(server.LatencyParams(func(c *settings) *server.LatencyConfig { return &c.Latency }),
		config.CollectionParams(func(c *settings) *object.Limits { return &c.lim })...)...)...)...)

// outputLimitParam is client-output-buffer-limit: the normal class
// (NormalOutput) and the pubsub class (PubSubOutput, applied from a
// client's next SUBSCRIBE); the replica class is ignored.
func outputLimitParam() config.Param[settings] {
	return config.Param[settings]{
		Name: "client-output-buffer-limit", Kind: config.Special,
		Get: func(c *settings) string {
			return config.FormatOutputLimits(server.OutputLimit(c.NormalOutput), server.OutputLimit(c.PubSubOutput))
		},
		Set: func(c *settings, v string) error {
			ls, err := config.ParseOutputLimits(v)
			if err != nil {
				return err
			}
			normal, ps := c.NormalOutput, c.PubSubOutput
			for _, l := range ls {
				switch l.Class {
				case "normal":
					normal = server.PubSubLimits(l)
				case "pubsub":
					ps = server.PubSubLimits(l)
				}
			}
			c.NormalOutput, c.PubSubOutput = normal, ps
			return nil
		},
	}
}

// CheckParam reports whether a node would accept name and value from its
// configuration file, without changing anything.
func CheckParam(name, value string) error {
	st := defaultSettings()
	return params.SetOne(&st, name, value)
}

// SetParam sets the parameter name to value in cfg, as a configuration
// file sets it, before the node starts. The collection limits are
// process-wide and set at once.
func SetParam(cfg *ServerConfig, name, value string) error {
	st := settings{ServerConfig: *cfg, lim: object.CurrentLimits()}
	if err := params.SetOne(&st, name, value); err != nil {
		return err
	}
	*cfg = st.ServerConfig
	object.SetLimits(st.lim)
	return nil
}

// setConfig runs CONFIG SET's pairs on this node: all are checked on a
// copy of the settings, which is applied only when every pair is good.
func (s *Server) setConfig(pairs [][]byte) error {
	s.confMu.Lock()
	defer s.confMu.Unlock()
	old := s.settings()
	next := old
	if err := params.SetArgs(&next, pairs); err != nil {
		return err
	}
	cfg := next.ServerConfig
	s.cur.Store(&cfg)
	if next.Password != old.Password {
		s.setRequirePass(next.Password)
	}
	if next.logLevel != old.logLevel {
		cfg.LogLevel.Set(next.logLevel)
	}
	if next.events != old.events {
		s.node.notify.Set(next.events)
	}
	if next.lim != old.lim {
		object.SetLimits(next.lim)
	}
	if next.busy != old.busy {
		s.node.cfg.Scripts.SetBusyThreshold(next.busy)
	}
	if next.Timeout != old.Timeout {
		s.rearmIdle(next.Timeout)
	}
	if next.SlowlogSlowerThan != old.SlowlogSlowerThan {
		s.node.slow.SetSlowerThan(next.SlowlogSlowerThan)
	}
	if next.SlowlogMaxLen != old.SlowlogMaxLen {
		s.node.slow.SetMaxLen(next.SlowlogMaxLen)
	}
	if next.Latency.MonitorThreshold != old.Latency.MonitorThreshold {
		s.node.lat.SetThreshold(next.Latency.MonitorThreshold)
	}
	if next.Latency.Tracking != old.Latency.Tracking {
		s.node.lat.SetTracking(next.Latency.Tracking)
	}
	if next.TrackingTableMaxKeys != old.TrackingTableMaxKeys {
		s.track.SetMaxKeys(next.TrackingTableMaxKeys)
	}
	if next.MaxMemory != old.MaxMemory || next.MaxMemoryPolicy != old.MaxMemoryPolicy || next.MaxMemorySamples != old.MaxMemorySamples {
		s.node.setEviction(next.MaxMemory, next.MaxMemoryPolicy, next.MaxMemorySamples)
	}
	return nil
}

// rearmIdle gives every client the new idle timeout d, counted from now
// (0 removes the deadline).
func (s *Server) rearmIdle(d time.Duration) {
	var at time.Time
	if d > 0 {
		at = time.Now().Add(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	for c := range s.conns {
		c.wakeMu.Lock()
		if !c.parked { // a parked client's deadline is its wait's (block.go)
			c.nc.SetReadDeadline(at)
		}
		c.wakeMu.Unlock()
	}
}

// port returns the port of one of the node's client listeners.
func (s *Server) port() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.lns {
		if p := server.PortOf(ln.Addr().String()); p != "" {
			return p
		}
	}
	return ""
}

// rewriteConfig writes the parameters CONFIG SET can change into the
// node's configuration file (config.Rewrite).
func (s *Server) rewriteConfig() error {
	s.confMu.Lock()
	defer s.confMu.Unlock()
	path := s.cfg().ConfigFile
	if path == "" {
		return server.ErrNoConfigFile
	}
	cur, def := s.settings(), defaultSettings()
	return config.Rewrite(path, params.Settings(&cur, &def))
}

// config implements CONFIG GET, SET, RESETSTAT, REWRITE and HELP on this
// node, as a Redis Cluster node answers them for itself.
func (c *clientConn) config(w *resp.Writer, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	arity := func() { w.AppendError("ERR wrong number of arguments for 'config|" + sub + "' command") }
	switch sub {
	case "get":
		if len(args) < 3 {
			arity()
			return
		}
		st := c.s.settings()
		match := params.Get(&st, args[2:])
		w.AppendMap(len(match))
		for _, p := range match {
			w.AppendBulkString(p[0])
			w.AppendBulkString(p[1])
		}
	case "set":
		if len(args) < 4 || len(args)%2 != 0 {
			arity()
			return
		}
		if err := c.s.setConfig(args[2:]); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case "resetstat":
		if len(args) != 2 {
			arity()
			return
		}
		c.s.resetCommandStats()
		w.AppendOK()
	case "rewrite":
		if len(args) != 2 {
			arity()
			return
		}
		if err := c.s.rewriteConfig(); err != nil {
			if errors.Is(err, server.ErrNoConfigFile) {
				w.AppendError(err.Error())
			} else {
				c.s.log.Warn("CONFIG REWRITE failed", "err", err)
				w.AppendError("ERR Rewriting config file: " + err.Error())
			}
			return
		}
		c.s.log.Info("CONFIG REWRITE executed with success")
		w.AppendOK()
	case "help":
		w.AppendArray(len(server.ConfigHelp))
		for _, l := range server.ConfigHelp {
			w.AppendSimple(l)
		}
	default:
		w.AppendError("ERR unknown subcommand '" + string(args[1][:min(len(args[1]), 128)]) + "'. Try CONFIG HELP.")
	}
}
