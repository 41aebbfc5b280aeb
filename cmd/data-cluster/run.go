package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/gcpace"
	"github.com/data-cluster/data-cluster/internal/idlemem"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/server"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the server could not start or failed
	exitUsage = 2 // bad flags or environment
)

// shutdownGrace bounds how long a signalled server waits for its clients.
const shutdownGrace = 5 * time.Second

// envPrefix starts the environment variable of every flag: --shard-queue is
// DATA_CLUSTER_SHARD_QUEUE.
const envPrefix = "DATA_CLUSTER_"

// options are the parsed command line.
type options struct {
	addr        string
	respAddr    string // the RESP-only listener, "" for none
	shards      int
	vnodes      int
	shardQueue  int
	routerQueue int
	procs       int // GOMAXPROCS; 0 picks it (see setProcs)
	maxBulkLen  byteSize
	idleRelease bool           // give free heap back to the system when idle (internal/idlemem)
	ioURing     bool           // serve plain connections from one io_uring loop (server.Config.IOURing)
	notify      string         // notify-keyspace-events
	trackingMax int64          // tracking-table-max-keys
	obs         obsOptions     // metrics, slow log, logging (observe.go)
	sec         secOptions     // client limits, AUTH, maxmemory, TLS (protect.go)
	persist     persistOptions // data directory, fsync, snapshots (persist.go)
	cluster     clusterOptions // cluster mode (cluster.go)
	configFile  string         // --config, a redis.conf-style file (conffile.go)
	params      []param        // the file's parameters that are not flags
	from        source         // the flags read from the environment or the file
}

// run starts the server with args (without the program name) and serves
// until ctx ends. It returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "repair" {
		return runRepair(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "cluster" {
		return runAdmin(ctx, args[1:], stdout, stderr)
	}
	opts, code, ok := parseFlags(args, stderr)
	if !ok {
		return code
	}
	log, level := opts.obs.logger(stderr)
	setGCPercent(ctx, opts.cluster.enabled())
	procs := setProcs(opts.procs)
	if opts.idleRelease {
		go new(idlemem.Releaser).Run(ctx)
	}
	slog.SetDefault(log)
	if opts.cluster.enabled() {
		return runCluster(ctx, opts, log, level, stdout, stderr)
	}

	// A client's SHUTDOWN stops the server as a signal does.
	ctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	cfg := server.DefaultConfig()
	cfg.OnShutdown = stopServing
	cfg.Logger = log
	cfg.Router.Shards = opts.shards
	cfg.Router.Vnodes = opts.vnodes
	cfg.Router.ShardQueue = opts.shardQueue
	cfg.Router.RouterQueue = opts.routerQueue
	cfg.Limits.MaxBulkLen = int64(opts.maxBulkLen)
	cfg.NotifyKeyspaceEvents, _ = notify.Parse([]byte(opts.notify))
	cfg.TrackingTableMaxKeys = opts.trackingMax
	cfg.IOURing = opts.ioURing
	opts.obs.apply(&cfg)
	opts.sec.apply(&cfg)
	opts.persist.apply(&cfg, log)
	cfg.LogLevel = level
	cfg.ConfigFile = configPath(opts.configFile)
	if err := applyParams(&cfg, opts.params); err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitUsage
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitUsage
	}

	lns, err := opts.sec.listen(opts.addr, opts.from)
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	ln := lns[0] // the plain listener, or the TLS one when it is the only one
	rln, err := listenRESP(opts.respAddr)
	if err != nil {
		closeAll(lns)
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	if rln != nil {
		lns = append(lns, rln)
	}
	srv, err := server.New(cfg)
	if err != nil {
		closeAll(lns)
		fmt.Fprintf(stderr, "data-cluster: %v\n", opts.persist.explain(err))
		if _, bad := errors.AsType[*server.ACLFileError](err); bad {
			return exitUsage
		}
		return exitError
	}
	mln, err := opts.obs.listenMetrics()
	if err != nil {
		closeAll(lns)
		srv.Shutdown(context.Background())
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	stopMetrics := serveMetrics(mln, srv.MetricsHandler(), log)
	defer stopMetrics()
	fmt.Fprintf(stdout, "Server listening on %s — commands: GET <key> | SET <key> <value> | DELETE <key> | LIST\n", ln.Addr())
	log.Info("server started", "addr", ln.Addr().String(), "shards", opts.shards, "vnodes", opts.vnodes,
		"shard_queue", opts.shardQueue, "router_queue", opts.routerQueue, "procs", procs)
	if opts.addr != "" && opts.sec.tlsAddr != "" {
		log.Info("TLS listener started", "addr", lns[1].Addr().String())
	}
	if rln != nil {
		log.Info("RESP listener started", "addr", rln.Addr().String())
	}

	serveErr := make(chan error, len(lns))
	for _, l := range lns {
		if l == rln {
			go func() { serveErr <- srv.ServeRESP(l) }()
		} else {
			go func() { serveErr <- srv.Serve(l) }()
		}
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		log.Error("server failed", "err", err)
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		srv.Shutdown(sctx)
		cancel()
		return exitError
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time; connections were closed", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, server.ErrServerClosed) {
		log.Error("server failed", "err", err)
		return exitError
	}
	log.Info("server stopped")
	return exitOK
}

// parseFlags reads the flags, then, for each flag not given, its
// environment variable, then, for each flag set by neither, the
// configuration file of --config (or DATA_CLUSTER_CONFIG). It returns ok
// false with the exit status when the process should end (after --help, or
// on an invalid value).
func parseFlags(args []string, stderr io.Writer) (opts options, code int, ok bool) {
	fs := flagSet(&opts, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, exitOK, false
		}
		return opts, exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "data-cluster: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return opts, exitUsage, false
	}
	opts.from = source{}
	if err := opts.from.readEnv(fs); err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return opts, exitUsage, false
	}
	if opts.configFile != "" {
		skip := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { skip[f.Name] = true }) // the command line's and the environment's
		params, err := opts.from.readConfigFile(fs, opts.configFile, skip)
		if err != nil {
			fmt.Fprintf(stderr, "data-cluster: %v\n", err)
			return opts, exitUsage, false
		}
		opts.params = params
		if opts.cluster.enabled() {
			if err := checkClusterParams(params); err != nil {
				fmt.Fprintf(stderr, "data-cluster: %v\n", err)
				return opts, exitUsage, false
			}
		}
	}
	if err := opts.validate(); err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return opts, exitUsage, false
	}
	return opts, exitOK, true
}

// flagSet returns the server's flags, which set opts, with their defaults
// set in opts. Its usage (--help) goes to stderr.
func flagSet(opts *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("data-cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:8080", "address to listen on for both protocols; empty: no plain listener (then --tls-addr is needed)")
	fs.StringVar(&opts.respAddr, "resp-addr", "", "address of an extra listener that speaks only RESP, as Redis does (inline commands included, no line protocol), e.g. 127.0.0.1:6379; empty: none")
	fs.IntVar(&opts.shards, "shards", 3, "number of shards")
	fs.IntVar(&opts.vnodes, "vnodes", 64, "points per shard on the consistent-hash ring")
	fs.IntVar(&opts.shardQueue, "shard-queue", 1024, "most commands waiting in one shard's queue; more get BUSY")
	fs.IntVar(&opts.routerQueue, "router-queue", 2048, "most commands in flight across the server; more get BUSY")
	fs.StringVar(&opts.configFile, "config", "", "redis.conf-style `file` of settings: one \"name value\" per line, by flag name or Redis name; flags and environment variables win over it (README: Configuration)")
	fs.IntVar(&opts.procs, "procs", 0, "threads running Go code at once (GOMAXPROCS); 0: GOMAXPROCS if set, else one less than the CPUs, at least 1")
	opts.maxBulkLen = 512 << 20
	fs.Var(&opts.maxBulkLen, "proto-max-bulk-len", "longest RESP bulk string accepted, in `bytes` "+unitsHelp)
	fs.BoolVar(&opts.idleRelease, "idle-release", true, "once a second, when the process has allocated little since the last look, collect garbage and give the free heap back to the system")
	fs.BoolVar(&opts.ioURing, "io-uring", true, "serve the plain connections (not TLS) from one io_uring loop instead of a goroutine each, where the kernel allows it (Linux 6.1 and later; elsewhere, or false: a goroutine each); a cluster node ignores it")
	fs.StringVar(&opts.notify, "notify-keyspace-events", "",
		"`classes` of keyspace events published to subscribers, in Redis's letters (K E g $ l s h z x e t m d n A, e.g. KEA); empty: none")
	fs.Int64Var(&opts.trackingMax, "tracking-table-max-keys", 1_000_000,
		"most keys client-side caching (CLIENT TRACKING) remembers; past it keys are forgotten at random, their readers told; 0: no bound")
	opts.obs.register(fs)
	opts.sec.register(fs)
	opts.persist.register(fs)
	opts.cluster.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: data-cluster [flags]\n")
		fmt.Fprintf(stderr, "       data-cluster bench [flags]   load generator (see data-cluster bench --help)\n")
		fmt.Fprintf(stderr, "       data-cluster import --rdb FILE [flags]   restore the keys of a Redis RDB file (see data-cluster import -h)\n")
		fmt.Fprintf(stderr, "       data-cluster repair --data-dir DIR   truncate damaged data at its first bad record\n")
		fmt.Fprintf(stderr, "       data-cluster cluster COMMAND [flags]   administer a running cluster (see data-cluster cluster -h)\n\n")
		fmt.Fprintf(stderr, "Every flag can also be set by the environment variable %s<NAME>,\n", envPrefix)
		fmt.Fprintf(stderr, "e.g. %sSHARD_QUEUE for --shard-queue; a flag wins over its variable,\n", envPrefix)
		fmt.Fprintf(stderr, "which is then not read.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// validate checks each value against its flag's range. Errors name each
// value as it was given: --shards, or DATA_CLUSTER_SHARDS when it came from
// the environment.
func (o options) validate() error {
	n := o.from.name
	checks := []struct {
		name     string
		v        int
		min, max int
	}{
		{"shards", o.shards, 1, 1024},
		{"vnodes", o.vnodes, 1, 4096},
		{"shard-queue", o.shardQueue, 1, 1 << 24},
		{"router-queue", o.routerQueue, 1, 1 << 24},
		{"procs", o.procs, 0, 1 << 12},
	}
	for _, c := range checks {
		if c.v < c.min || c.v > c.max {
			return fmt.Errorf("invalid value %d for %s: must be between %d and %d", c.v, n(c.name), c.min, c.max)
		}
	}
	if o.maxBulkLen < 1 || o.maxBulkLen > server.MaxBulkLenLimit {
		return fmt.Errorf("invalid value %d for %s: must be between 1 and %d", o.maxBulkLen, n("proto-max-bulk-len"), int64(server.MaxBulkLenLimit))
	}
	if o.shards*o.vnodes > 1<<20 {
		return fmt.Errorf("%s times %s must be at most %d, got %d", n("shards"), n("vnodes"), 1<<20, o.shards*o.vnodes)
	}
	if _, _, err := net.SplitHostPort(o.addr); o.addr != "" && err != nil {
		return fmt.Errorf("invalid value %q for %s: %v", o.addr, n("addr"), err)
	}
	if _, _, err := net.SplitHostPort(o.respAddr); o.respAddr != "" && err != nil {
		return fmt.Errorf("invalid value %q for %s: %v", o.respAddr, n("resp-addr"), err)
	}
	if o.trackingMax < 0 {
		return fmt.Errorf("invalid value %d for %s: must be at least 0", o.trackingMax, n("tracking-table-max-keys"))
	}
	if _, ok := notify.Parse([]byte(o.notify)); !ok {
		return fmt.Errorf("invalid value %q for %s: %s", o.notify, n("notify-keyspace-events"), notify.ErrText)
	}
	if err := o.obs.validate(o.from); err != nil {
		return err
	}
	if err := o.sec.validate(o.addr, o.cluster.enabled(), o.from); err != nil {
		return err
	}
	if err := o.persist.validate(o.from); err != nil {
		return err
	}
	return o.cluster.validate(o)
}

// listenTCP listens on addr. An IPv4 address, 0.0.0.0 included, is listened
// on over IPv4 only, as Redis binds it, so that the listener names itself as
// it was given: over "tcp", Go serves 0.0.0.0 on a dual-stack socket that
// calls itself [::]. Other addresses (a name, IPv6, an empty host) are
// listened on as Go does.
func listenTCP(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil && !strings.Contains(host, ":") {
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
			network = "tcp4"
		}
	}
	return net.Listen(network, addr)
}

// listenRESP opens the RESP-only listener on addr, or returns nil for an
// empty addr.
func listenRESP(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := listenTCP(addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}

// source records the flags whose value came from the environment, so that
// an invalid value is reported under the name it was given as: --shards on
// the command line, DATA_CLUSTER_SHARDS in the environment. It maps a flag's
// name to its variable's.
type source map[string]string

// envName returns the environment variable of a flag: shard-queue is
// DATA_CLUSTER_SHARD_QUEUE.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// readEnv sets each flag of fs that the command line left out from its
// environment variable, when that is set, and records it in s. The variable
// of a flag given on the command line is not read at all: the flag wins,
// even over a variable whose value is invalid.
func (s source) readEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v, set := os.LookupEnv(name)
		if !set || given[f.Name] || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("invalid value %q for %s: %v", v, name, e)
		}
		s[f.Name] = name
	})
	return err
}

// name returns how a flag's value was given, for error messages: the
// flag's environment variable when the value came from there, else --flag.
func (s source) name(flag string) string {
	if v, ok := s[flag]; ok {
		return v
	}
	return "--" + flag
}

// gcPercent is the garbage collector's target unless GOGC is set: the heap
// may grow 25% past the live data between collections instead of Go's
// default 100%. With the arena engine a collection costs a few milliseconds
// of background marking whatever the number of keys, so the lower target
// buys resident memory cheaply (README: "The arena engine").
const gcPercent = 25

// clusterGCPercent is the target on a cluster node while its live heap is
// small, Go's default: Raft's messages and log entries are many
// short-lived allocations, and with the lower target the collector ran so
// often that a node served a third fewer writes (bench/cluster.sh, see the
// README). As the live heap grows past clusterGCGrowth, the target falls
// towards gcPercent, keeping that much room between collections
// (gcpace.Pacer), so that a node holding much data is not resident at
// twice its size.
const clusterGCPercent = 100

// clusterGCGrowth is the least the heap of a cluster node may grow between
// collections while its target is above gcPercent.
const clusterGCGrowth = 256 << 20

// setProcs sets GOMAXPROCS to procs, or, for 0, leaves it to the GOMAXPROCS
// variable when set and otherwise to defaultProcs. It returns the value in
// effect.
func setProcs(procs int) int {
	if procs == 0 {
		if _, set := os.LookupEnv("GOMAXPROCS"); set {
			return runtime.GOMAXPROCS(0)
		}
		procs = defaultProcs(goProcs)
	}
	runtime.GOMAXPROCS(procs)
	return procs
}

// goProcs is Go's own GOMAXPROCS for this process (the CPUs it may use, as
// the runtime counts them), read before anything changes it.
var goProcs = runtime.GOMAXPROCS(0)

// defaultProcs is the GOMAXPROCS used on a machine where Go's default is n
// (the CPUs available): one less, at least 1. Most of the work of a simple
// command is the kernel's (the socket reads and writes and the loopback or
// NIC processing behind them), and runs outside the Go scheduler's threads;
// a Go thread left without work spins looking for some, taking CPU from
// that work. On the 2-CPU machine of the README's benchmarks one thread
// served 20-40% more requests per second than two at every pipeline depth,
// using less CPU per request.
func defaultProcs(n int) int { return max(1, n-1) }

// setGCPercent sets the collector's target unless GOGC is set: gcPercent,
// or on a cluster node a gcpace.Pacer between gcPercent and
// clusterGCPercent until ctx is done.
func setGCPercent(ctx context.Context, cluster bool) {
	if _, set := os.LookupEnv("GOGC"); !set {
		if cluster {
			p := &gcpace.Pacer{Low: gcPercent, High: clusterGCPercent, MinGrowth: clusterGCGrowth}
			go p.Run(ctx)
			return
		}
		debug.SetGCPercent(gcPercent)
	}
}
