package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/cluster"
	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/metrics"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/raftlog"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/server"
)

// clusterOptions are the flags of cluster mode, which --initial-cluster
// turns on.
type clusterOptions struct {
	nodeID         string
	peerAddr       string
	initialCluster string
	advertiseAddr  string
	replicas       int
	snapshotCount  int
	nodeDownAfter  time.Duration
	placement      string
	join           string
	snapshotRate   byteSize
	raftLogMemory  byteSize
	redirects      bool
	keyspace       string
	readLease      bool
}

func (c *clusterOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&c.nodeID, "node-id", "", "cluster mode: this node's id (letters, digits, '-', '_')")
	fs.StringVar(&c.peerAddr, "peer-addr", "", "cluster mode: address where this node listens for the other nodes")
	fs.StringVar(&c.initialCluster, "initial-cluster", "", "every founding node as id=peer-addr, comma-separated, the same on every node; turns cluster mode on")
	fs.StringVar(&c.advertiseAddr, "advertise-addr", "", "cluster mode: the client address other nodes and clients are told; empty: --addr")
	fs.IntVar(&c.replicas, "replicas", 3, "cluster mode: copies of each shard, at most the number of nodes")
	fs.IntVar(&c.snapshotCount, "snapshot-count", 100000, "cluster mode: entries a group applies between two snapshots of its keyspace")
	fs.DurationVar(&c.nodeDownAfter, "node-down-after", 30*time.Second, "cluster mode: how long a node may be out of reach before its replicas are re-created on the others")
	c.snapshotRate = 64 << 20
	fs.Var(&c.snapshotRate, "snapshot-rate", "cluster mode: most `bytes` per second of snapshots a node sends to replicas catching up, all groups together; 0: no bound "+unitsHelp)
	c.raftLogMemory = 64 << 20
	fs.Var(&c.raftLogMemory, "raft-log-memory", "cluster mode: most `bytes` of Raft log entries a group keeps in memory; past it the applied ones are dropped, and a replica that needs them is sent a snapshot; 0: no bound "+unitsHelp)
	fs.StringVar(&c.join, "join", "", "cluster mode: the peer address of a member of a running cluster to join (instead of --initial-cluster)")
	fs.StringVar(&c.placement, "placement", "auto", "cluster mode: auto (replicas move to heal and rebalance the cluster on their own) or manual (only when told to)")
	fs.BoolVar(&c.redirects, "cluster-redirects", false, "cluster mode: answer MOVED and ASK as Redis Cluster does, for cluster-aware clients, instead of forwarding")
	fs.StringVar(&c.keyspace, "cluster-keyspace", "node", "cluster mode: what DBSIZE, KEYS, SCAN, RANDOMKEY and INFO's keyspace cover: node (the slots this node is the master of, as on a Redis Cluster node, so that cluster-aware clients count every key once) or cluster (every key, for clients that are not cluster-aware)")
	fs.BoolVar(&c.readLease, "read-lease", true, "cluster mode: a shard's leader serves reads alone for a while after a quorum acknowledged it, instead of asking the followers for each batch; false: every batch asks (for hosts whose monotonic clock may stop while the others run: see the README)")
}

func (c clusterOptions) enabled() bool { return c.initialCluster != "" || c.join != "" }

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// validate checks the cluster flags against each other; the placement table
// checks the rest. Errors name each value as it was given (o.from).
func (c clusterOptions) validate(o options) error {
	n := o.from.name
	if !c.enabled() {
		if c.nodeID != "" || c.peerAddr != "" {
			return fmt.Errorf("%s and %s need %s or %s", n("node-id"), n("peer-addr"), n("initial-cluster"), n("join"))
		}
		return nil
	}
	mode := n("initial-cluster")
	if c.join != "" {
		mode = n("join")
		if c.initialCluster != "" {
			return fmt.Errorf("%s and %s exclude each other: %s founds a cluster, %s enters a running one",
				n("initial-cluster"), n("join"), n("initial-cluster"), n("join"))
		}
		if _, _, err := net.SplitHostPort(c.join); err != nil {
			return fmt.Errorf("invalid value %q for %s: want a member's peer address, host:port", c.join, n("join"))
		}
	}
	switch {
	case !nodeIDPattern.MatchString(c.nodeID):
		return fmt.Errorf("invalid value %q for %s: use 1 to 64 letters, digits, '-' or '_'", c.nodeID, n("node-id"))
	case c.peerAddr == "":
		return fmt.Errorf("--peer-addr is required with %s", mode)
	case o.persist.dataDir == "":
		return fmt.Errorf("--data-dir is required with %s", mode)
	case o.addr == "":
		return fmt.Errorf("--addr is required with %s", mode)
	case c.replicas < 1:
		return fmt.Errorf("invalid value %d for %s: must be at least 1", c.replicas, n("replicas"))
	case c.snapshotCount < 100 || c.snapshotCount > 100_000_000:
		return fmt.Errorf("invalid value %d for %s: must be between 100 and 100000000", c.snapshotCount, n("snapshot-count"))
	case c.nodeDownAfter < time.Second:
		return fmt.Errorf("invalid value %v for %s: must be at least 1s", c.nodeDownAfter, n("node-down-after"))
	case c.snapshotRate < 0:
		return fmt.Errorf("invalid value %d for %s: must be at least 0", c.snapshotRate, n("snapshot-rate"))
	case c.placement != "auto" && c.placement != "manual":
		return fmt.Errorf("invalid value %q for %s: use auto or manual", c.placement, n("placement"))
	case c.keyspace != "node" && c.keyspace != "cluster":
		return fmt.Errorf("invalid value %q for %s: use node or cluster", c.keyspace, n("cluster-keyspace"))
	case o.sec.tlsAddr != "":
		return fmt.Errorf("%s is not supported with %s yet; --tls-cert, --tls-key and --tls-ca secure the traffic between nodes", n("tls-addr"), mode)
	}
	if _, _, err := net.SplitHostPort(c.peerAddr); err != nil {
		return fmt.Errorf("invalid value %q for %s: %v", c.peerAddr, n("peer-addr"), err)
	}
	if c.join != "" {
		return nil // the cluster's table gives the rest
	}
	nodes, err := placement.ParseInitialCluster(c.initialCluster)
	if err != nil {
		return fmt.Errorf("invalid value for %s: %v", n("initial-cluster"), err)
	}
	found := false
	for _, nd := range nodes {
		found = found || nd.ID == c.nodeID
	}
	if !found {
		return fmt.Errorf("%s %q is not in %s", n("node-id"), c.nodeID, n("initial-cluster"))
	}
	if _, err := placement.New(1, nodes, o.shards, c.replicas, o.vnodes); err != nil {
		return err
	}
	return nil
}

// clusterID names the cluster from what every founding node is started
// with, so that all agree on it without talking first: nodes started with
// another initial cluster, shard or replica count are strangers.
func clusterID(nodes []placement.Node, shards, replicas, vnodes int) string {
	h := sha256.New()
	for _, n := range nodes {
		fmt.Fprintf(h, "%s=%s,", n.ID, n.PeerAddr)
	}
	fmt.Fprintf(h, "/%d/%d/%d", shards, replicas, vnodes)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// identityFile, in a cluster node's data directory, names the cluster and
// the node the directory belongs to.
const identityFile = "CLUSTER"

// claimDataDir checks that dir belongs to this cluster and node, or makes
// it theirs if it is new. A single server's data dir becomes theirs too
// when the node founds the cluster alone: its files move into importDir,
// and load reports that the node has them to load (single.go).
func claimDataDir(dir, id, node string, alone bool) (load bool, err error) {
	want := "cluster=" + id + "\nnode=" + node + "\n"
	path := filepath.Join(dir, identityFile)
	got, err := os.ReadFile(path)
	switch {
	case err == nil:
		if string(got) != want {
			return false, fmt.Errorf("data dir %s belongs to another cluster or node (%s); start with the flags it was made with, or use an empty dir",
				dir, strings.ReplaceAll(strings.TrimSpace(string(got)), "\n", " "))
		}
		if err := os.RemoveAll(filepath.Join(dir, importDir+doneExt)); err != nil {
			return false, err
		}
		_, err := os.Stat(filepath.Join(dir, importDir))
		return err == nil, nil
	case !errors.Is(err, os.ErrNotExist):
		return false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) > 0 {
		single, err := singleServerDir(dir)
		if err != nil {
			return false, err
		}
		if !single {
			return false, fmt.Errorf("data dir %s holds data that is not a cluster node's; use an empty dir", dir)
		}
		if !alone {
			return false, fmt.Errorf("data dir %s holds a single server's data: to keep its keys, found a cluster of this node alone "+
				"(--initial-cluster %s=PEER-ADDR --replicas 1), then start the other nodes with --join and raise the copies with "+
				"`data-cluster cluster set-replicas 3`", dir, node)
		}
		if err := moveInto(dir, importDir); err != nil {
			return false, fmt.Errorf("moving a single server's data aside in %s: %w", dir, err)
		}
		load = true
	}
	return load, fsutil.WriteFileAtomic(path, []byte(want))
}

// replicasFile, in a cluster node's data directory, names the replica id
// of each group the node holds.
const replicasFile = "REPLICAS"

// metaLogID is the metadata group's id in the node's shared log; data
// groups use their number.
const metaLogID = math.MaxUint32

// runCluster runs a cluster node until ctx is done or a client's
// SHUTDOWN asks it to stop.
func runCluster(ctx context.Context, opts options, log *slog.Logger, level *slog.LevelVar, stdout, stderr io.Writer) int {
	// A client's SHUTDOWN stops the node as a signal does.
	ctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	co := opts.cluster
	var err error
	var ptls *tls.Config // mutual TLS between the nodes, with the CA of --tls-ca
	if opts.sec.tlsCert != "" {
		if ptls, err = opts.sec.tlsConfig(opts.from); err != nil {
			fmt.Fprintf(stderr, "data-cluster: %v\n", err)
			return exitUsage
		}
	}
	var table *placement.Table
	var id string
	var load bool
	if co.join != "" {
		// The cluster's id and table come from the member asked, or from
		// the data dir on a restart.
		if id, table, err = joinCluster(ctx, co, ptls, opts.persist.dataDir, log); err != nil {
			fmt.Fprintf(stderr, "data-cluster: %v\n", err)
			return exitError
		}
	} else {
		nodes, _ := placement.ParseInitialCluster(co.initialCluster)
		if table, err = placement.New(1, nodes, opts.shards, co.replicas, opts.vnodes); err != nil {
			fmt.Fprintf(stderr, "data-cluster: %v\n", err)
			return exitUsage
		}
		id = clusterID(table.Nodes(), opts.shards, co.replicas, opts.vnodes)
		if load, err = claimDataDir(opts.persist.dataDir, id, co.nodeID, len(nodes) == 1); err != nil {
			fmt.Fprintf(stderr, "data-cluster: %v\n", err)
			return exitError
		}
	}
	var single *singleData
	if load {
		if single, err = openSingle(filepath.Join(opts.persist.dataDir, importDir), log); err != nil {
			fmt.Fprintf(stderr, "data-cluster: %v\n", err)
			return exitError
		}
	}
	mode, err := raftlog.ParseSyncMode(opts.persist.fsync)
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitUsage
	}
	advertise := co.advertiseAddr
	if advertise == "" {
		advertise = opts.addr
	}

	lcfg := raftlog.DefaultConfig()
	lcfg.Sync = mode
	lcfg.Logger = log
	// One log stream for every group of the node, so that their writes
	// share each fsync.
	opened := time.Now()
	shared, err := raftlog.OpenShared(filepath.Join(opts.persist.dataDir, "raft"), lcfg)
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	log.Info("raft log opened", "dir", filepath.Join(opts.persist.dataDir, "raft"), "took", time.Since(opened).Round(time.Microsecond))
	defer shared.Close()
	gcfg := cluster.DefaultGroupConfig()
	gcfg.QueueSize = opts.shardQueue
	gcfg.SnapshotEntries = uint64(co.snapshotCount)
	gcfg.MaxLogBytes = uint64(co.raftLogMemory)
	gcfg.ReadLease = co.readLease
	// Entries kept in memory after a snapshot, for followers a little
	// behind: a tenth of the interval, at most the default.
	gcfg.CompactKeep = min(gcfg.CompactKeep, gcfg.SnapshotEntries/10)
	follow := &tableFollower{self: co.nodeID, log: log}
	if co.join != "" {
		follow.file = filepath.Join(opts.persist.dataDir, tableFile)
	}
	// Scripts: this node's script cache, and its copy of the cluster's
	// function libraries, which the metadata group keeps. Libraries an
	// older version kept in the data directory are offered to the cluster
	// once (cluster/functions.go); the file is no longer written.
	sccfg := script.DefaultConfig()
	sccfg.BusyThreshold = time.Duration(opts.obs.busyThreshold) * time.Millisecond
	scripts := script.New(sccfg)
	oldLibs, err := server.ReadFunctions(opts.persist.dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	events, _ := notify.Parse([]byte(opts.notify))
	node, err := cluster.NewNode(cluster.NodeConfig{
		Scripts: scripts, Functions: oldLibs,
		NodeID: co.nodeID, Addr: advertise, Table: table, Group: gcfg, Logger: log,
		DownAfter: co.nodeDownAfter, ManualPlacement: co.placement == "manual", Joined: co.join != "",
		SnapshotRate:         int64(co.snapshotRate),
		OnTable:              func(t *placement.Table) { follow.table(t) },
		NotifyKeyspaceEvents: events,
		Replicas:             cluster.FileReplicas(filepath.Join(opts.persist.dataDir, replicasFile)),
		OpenStorage: func(g int) (cluster.Storage, cluster.State, error) {
			id := uint32(g)
			if g == cluster.MetaStorage {
				id = metaLogID
			}
			gl := shared.Group(id)
			hs, snap, ents := gl.State()
			return gl, cluster.State{HardState: hs, Snapshot: snap, Entries: ents, SnapshotData: gl.SnapshotData}, nil
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}

	ln, err := listenTCP(opts.addr)
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	pln, err := listenTCP(co.peerAddr)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	rln, err := listenRESP(opts.respAddr)
	if err != nil {
		ln.Close()
		pln.Close()
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	mln, err := opts.obs.listenMetrics()
	if err != nil {
		ln.Close()
		pln.Close()
		if rln != nil {
			rln.Close()
		}
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	peers := map[string]string{}
	for _, n := range table.Nodes() {
		if n.ID != co.nodeID {
			peers[n.ID] = n.PeerAddr
		}
	}
	jh := joinHandler{node: node, clusterID: id}
	tr, err := peer.New(peer.Config{ClusterID: id, NodeID: co.nodeID, Meta: advertise, Listener: pln,
		Peers: peers, TLS: ptls, Logger: log, OnDisconnect: node.PeerDown, Join: jh.handle}, node)
	if err != nil {
		ln.Close()
		pln.Close()
		if rln != nil {
			rln.Close()
		}
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitUsage
	}
	node.SetTransport(tr)
	follow.setTransport(tr, table)

	nctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tr.Run(nctx) })
	wg.Go(func() { node.Run(nctx) })
	lim := resp.DefaultLimits()
	lim.MaxBulkLen = int64(opts.maxBulkLen)
	scfg := cluster.ServerConfig{Limits: lim, Password: opts.sec.requirePass, ACLFile: opts.sec.aclFile,
		ProtectedMode: bool(opts.sec.protectedMode), MaxClients: opts.sec.maxClients,
		Timeout: time.Duration(opts.sec.timeout) * time.Second, QueryBuffer: int(opts.sec.queryBuffer),
		Redirects: co.redirects, WholeKeyspace: co.keyspace == "cluster", PubSubOutput: pubsub.Limits(opts.sec.pubsubLimit),
		NormalOutput: pubsub.Limits(opts.sec.normalLimit), Logger: log, TrackingTableMaxKeys: opts.trackingMax,
		SlowlogSlowerThan: opts.obs.slowlogSlowerThan, SlowlogMaxLen: opts.obs.slowlogMaxLen, Latency: opts.obs.latency(),
		LogLevel: level, ConfigFile: configPath(opts.configFile), OnShutdown: stopServing,
		MaxMemory: int64(opts.sec.maxMemory), MaxMemorySamples: opts.sec.samples}
	scfg.MaxMemoryPolicy, _ = keyspace.ParsePolicy(opts.sec.policy) // checked by parseFlags
	for _, p := range opts.params {
		// Checked by parseFlags (checkClusterParams): this cannot fail.
		cluster.SetParam(&scfg, p.name, p.value)
	}
	srv := cluster.NewServer(node, scfg)
	if single != nil {
		node.SetLoading(true)
		wg.Go(func() { single.load(nctx, node, filepath.Join(opts.persist.dataDir, importDir), log) })
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if rln != nil {
		go func() { serveErr <- srv.ServeRESP(rln) }()
	}

	stopMetrics := serveMetrics(mln, metrics.Handler(cluster.NewCollector(node), node.Healthy), log)
	defer stopMetrics()
	fmt.Fprintf(stdout, "Server listening on %s — commands: GET <key> | SET <key> <value> | DELETE <key> | LIST\n", ln.Addr())
	log.Info("cluster node started", "node", co.nodeID, "addr", ln.Addr().String(), "peer_addr", pln.Addr().String(),
		"advertise", advertise, "nodes", len(table.Nodes()), "shards", len(table.Groups()), "replicas", len(table.Group(0).Replicas), "fsync", mode.String())
	if rln != nil {
		log.Info("RESP listener started", "addr", rln.Addr().String())
	}

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		log.Error("server failed", "err", err)
		code = exitError
	case err := <-node.Failed():
		log.Error("the node's Raft log could not be saved; stopping, to start again from what is on disk", "err", err)
		code = exitError
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time; connections were closed", "err", err)
	}
	stop()
	wg.Wait()
	log.Info("server stopped")
	return code
}
