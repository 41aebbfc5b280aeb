package cluster

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// State reports whether the placement table is agreed and every group has
// a leader whose client address is known here: Redis Cluster's
// cluster_state:ok.
func (n *Node) State() bool {
	if !n.agreed.Load() {
		return false
	}
	v := n.v()
	for g := range v.ngroups {
		if !n.served(v, g) {
			return false
		}
	}
	return true
}

// served reports whether group g has a leader whose client address is
// known here. A local replica that knew a leader and knows none now (an
// election is under way, or the replica cannot reach a majority) speaks
// for the group, even where the node still has a hint of the last leader
// for forwarding: that leader may be gone.
func (n *Node) served(v *view, g int) bool {
	if loc := n.local(g); loc != nil && !loc.Removed() && loc.Leader() == 0 && loc.leaderTerm.Load() != 0 {
		return false
	}
	l := n.Leader(v, g)
	return l >= 0 && n.ClientAddr(v, l) != ""
}

// order returns group g's nodes in v, its leader first when known.
func (n *Node) order(v *view, g int) []int {
	reps := v.table.Group(g).Replicas
	l := n.Leader(v, g)
	out := make([]int, 0, len(reps))
	if l >= 0 {
		out = append(out, l)
	}
	for _, r := range reps {
		if r != l {
			out = append(out, r)
		}
	}
	return out
}

// master returns the index in v of the node CLUSTER SLOTS shows first for
// group g (order's first): its leader, or while it has none the preferred
// one; -1 when the group has no replicas.
func (n *Node) master(v *view, g int) int {
	if l := n.Leader(v, g); l >= 0 {
		return l
	}
	if reps := v.table.Group(g).Replicas; len(reps) > 0 {
		return reps[0]
	}
	return -1
}

// hostPort splits node i's client address for CLUSTER replies.
func (n *Node) hostPort(v *view, i int) (string, int) {
	h, p, err := net.SplitHostPort(n.ClientAddr(v, i))
	if err != nil {
		return "", 0
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

// busPort returns the port of a node's peer address, where the other nodes
// reach it: the cluster bus port of CLUSTER NODES. Redis's convention, the
// client port plus 10000, stands for an address without one.
func busPort(peerAddr string, clientPort int) int {
	if _, p, err := net.SplitHostPort(peerAddr); err == nil {
		if port, err := strconv.Atoi(p); err == nil {
			return port
		}
	}
	return clientPort + 10000
}

// clusterServed are the CLUSTER subcommands a node serves: Redis's that
// it implements, and its own (admin.go). Every subcommand's number of
// arguments, Redis's and ours (server's clusterSubs), is checked with the
// command's own, before it runs (command.Spec.SubError); one of Redis's
// not listed here is answered as unknown.
var clusterServed = map[string]bool{
	"info": true, "myid": true, "slots": true, "shards": true, "nodes": true, "help": true,
	"keyslot": true, "countkeysinslot": true, "getkeysinslot": true, "forget": true,
	"status": true, "move": true, "addnode": true, "setshards": true, "setreplicas": true, "rebalance": true,
}

// clusterHelp is CLUSTER HELP's reply: Redis 7.0's lines for the
// subcommands of Redis served here, in its order, then ours.
var clusterHelp = []string{
	"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"COUNTKEYSINSLOT <slot>",
	"    Return the number of keys in <slot>.",
	"FORGET <node-id>",
	"    Remove a node from the cluster.",
	"GETKEYSINSLOT <slot> <count>",
	"    Return key names stored by current node in a slot.",
	"INFO",
	"    Return information about the cluster.",
	"KEYSLOT <key>",
	"    Return the hash slot for <key>.",
	"MYID",
	"    Return the node id.",
	"NODES",
	"    Return cluster configuration seen by node. Output format:",
	"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
	"SLOTS",
	"    Return information about slots range mappings. Each range is made of:",
	"    start, end, master and replicas IP addresses, ports and ids",
	"SHARDS",
	"    Return information about slot range mappings and the nodes associated with them.",
	"STATUS",
	"    Return the placement table this node follows and its replicas' state, as JSON.",
	"MOVE <group|meta> <from-node> <to-node>",
	"    Move a group's replica from one node to another.",
	"ADDNODE <node-id> <peer-addr>",
	"    Admit a node to the cluster, holding nothing.",
	"SETSHARDS <count>",
	"    Change the number of shard groups, moving slots between them.",
	"SETREPLICAS <count>",
	"    Change the number of replicas of every shard group.",
	"REBALANCE",
	"    Take the next step toward a balanced placement.",
	"HELP",
	"    Prints this help.",
}

// cluster implements CLUSTER INFO|SLOTS|SHARDS|NODES|MYID|KEYSLOT|
// COUNTKEYSINSLOT|GETKEYSINSLOT|HELP in Redis 7's formats, with its
// errors, and our own subcommands (admin.go).
func (c *clientConn) cluster(args [][]byte) {
	w := &c.out.W
	n := c.s.node
	if len(args) < 2 {
		w.AppendError("ERR wrong number of arguments for 'cluster' command")
		return
	}
	sub := strings.ToLower(string(args[1]))
	if !clusterServed[sub] {
		server.UnknownSubcommand(w, "cluster", args[1])
		return
	}
	if c.admin(sub, args) {
		return
	}
	switch sub {
	case "info":
		w.AppendVerbatim("txt", []byte(n.clusterInfo()))
	case "myid":
		w.AppendBulkString(placement.NodeName(n.cfg.NodeID))
	case "slots":
		n.appendSlots(w)
	case "shards":
		n.appendShards(w)
	case "nodes":
		w.AppendVerbatim("txt", []byte(n.clusterNodes()))
	case "keyslot":
		w.AppendInt(int64(slot.Of(args[2])))
	case "countkeysinslot":
		// Parsed as Redis parses them (getLongLongFromObjectOrReply), then
		// checked.
		s, ok := resp.ParseInt(args[2])
		if !ok {
			w.AppendError(errNotInt)
			return
		}
		if s < 0 || s >= slot.Count {
			w.AppendError("ERR Invalid slot")
			return
		}
		keys, err := c.keysInSlot(uint16(s), -1)
		if err != nil {
			w.AppendError(errorText(err))
			return
		}
		w.AppendInt(int64(len(keys)))
	case "getkeysinslot":
		s, ok := resp.ParseInt(args[2])
		cnt, cntOK := resp.ParseInt(args[3])
		if !ok || !cntOK {
			w.AppendError(errNotInt)
			return
		}
		if s < 0 || s >= slot.Count || cnt < 0 {
			w.AppendError("ERR Invalid slot or number of keys")
			return
		}
		keys, kerr := c.keysInSlot(uint16(s), int(cnt))
		if kerr != nil {
			w.AppendError(errorText(kerr))
			return
		}
		w.AppendArray(len(keys))
		for _, k := range keys {
			w.AppendBulk(k)
		}
	case "help":
		w.AppendArray(len(clusterHelp))
		for _, l := range clusterHelp {
			w.AppendSimple(l)
		}
	}
}

// keysInSlot returns up to max keys (all for -1) of slot s, sorted.
// While the slot moves between groups its keys are in both, a key being
// copied in both at once: both are read and the keys merged.
func (c *clientConn) keysInSlot(s uint16, max int) ([][]byte, error) {
	t := c.s.node.Table()
	groups := []int{t.GroupOf(s)}
	if to, ok := t.Migrating(s); ok {
		groups = append(groups, to)
	}
	var keys [][]byte
	for _, g := range groups {
		p := c.run(g, [][][]byte{{[]byte("keys"), []byte("*")}}, c.mode(false))
		if p.err != nil {
			return nil, p.err
		}
		all, _, ok := parseBulkArray(p.reply)
		if !ok {
			return nil, errBadReply
		}
		for _, k := range all {
			if slot.Of(k) == s {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	keys = slices.CompactFunc(keys, bytes.Equal)
	if max >= 0 && len(keys) > max {
		keys = keys[:max]
	}
	return keys, nil
}

func (n *Node) clusterInfo() string {
	state := "fail"
	if n.State() {
		state = "ok"
	}
	v := n.v()
	leaders := map[int]bool{}
	for g := range v.ngroups {
		if l := n.Leader(v, g); l >= 0 {
			leaders[l] = true
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cluster_state:%s\r\n", state)
	ok := n.slotsOK(v)
	fmt.Fprintf(&b, "cluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n", slot.Count, ok)
	fmt.Fprintf(&b, "cluster_slots_pfail:0\r\ncluster_slots_fail:%d\r\n", slot.Count-ok)
	fmt.Fprintf(&b, "cluster_known_nodes:%d\r\ncluster_size:%d\r\n", len(v.nodes), len(leaders))
	fmt.Fprintf(&b, "cluster_current_epoch:%d\r\ncluster_my_epoch:%d\r\n", v.table.Epoch(), v.table.Epoch())
	fmt.Fprintf(&b, "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n")
	fmt.Fprintf(&b, "total_cluster_links_buffer_limit_exceeded:0\r\n")
	return b.String()
}

// slotsOK counts the slots whose group has a known leader.
func (n *Node) slotsOK(v *view) int {
	ok := 0
	for g := range v.ngroups {
		if n.served(v, g) {
			for _, r := range v.table.Ranges(g) {
				ok += int(r.End-r.Start) + 1
			}
		}
	}
	return ok
}

// appendNodeEntry writes one node of a CLUSTER SLOTS range: ip, port, id
// and an empty metadata map.
func (n *Node) appendNodeEntry(w *resp.Writer, v *view, i int) {
	h, p := n.hostPort(v, i)
	w.AppendArray(4)
	w.AppendBulkString(h)
	w.AppendInt(int64(p))
	w.AppendBulkString(placement.NodeName(v.nodes[i].ID))
	w.AppendMap(0)
}

func (n *Node) appendSlots(w *resp.Writer) {
	type rg struct {
		g int
		r placement.Range
	}
	var all []rg
	v := n.v()
	for g := range v.ngroups {
		for _, r := range v.table.Ranges(g) {
			all = append(all, rg{g, r})
		}
	}
	w.AppendArray(len(all))
	for _, x := range all {
		// As Redis Cluster, a replica that failed is left out; the
		// leader, first, stays.
		nodes := n.order(v, x.g)
		lead := n.Leader(v, x.g)
		nodes = slices.DeleteFunc(nodes, func(i int) bool { return i != lead && n.unreachable(v, i) == "fail" })
		w.AppendArray(2 + len(nodes))
		w.AppendInt(int64(x.r.Start))
		w.AppendInt(int64(x.r.End))
		for _, i := range nodes {
			n.appendNodeEntry(w, v, i)
		}
	}
}

func (n *Node) appendShards(w *resp.Writer) {
	v := n.v()
	w.AppendArray(v.ngroups)
	for g := range v.ngroups {
		w.AppendMap(2)
		w.AppendBulkString("slots")
		rs := v.table.Ranges(g)
		w.AppendArray(2 * len(rs))
		for _, r := range rs {
			w.AppendInt(int64(r.Start))
			w.AppendInt(int64(r.End))
		}
		w.AppendBulkString("nodes")
		nodes := n.order(v, g)
		w.AppendArray(len(nodes))
		lead := n.Leader(v, g)
		for _, i := range nodes {
			h, p := n.hostPort(v, i)
			role, health := "replica", "online"
			if i == lead {
				role = "master"
			}
			if h == "" || n.unreachable(v, i) == "fail" {
				health = "fail"
			}
			var offset uint64
			if loc := n.local(g); loc != nil {
				offset = loc.Status().Applied
			}
			w.AppendMap(7)
			w.AppendBulkString("id")
			w.AppendBulkString(placement.NodeName(v.nodes[i].ID))
			w.AppendBulkString("port")
			w.AppendInt(int64(p))
			w.AppendBulkString("ip")
			w.AppendBulkString(h)
			w.AppendBulkString("endpoint")
			w.AppendBulkString(h)
			w.AppendBulkString("role")
			w.AppendBulkString(role)
			w.AppendBulkString("replication-offset")
			w.AppendInt(int64(offset))
			w.AppendBulkString("health")
			w.AppendBulkString(health)
		}
	}
}

// clusterNodes is CLUSTER NODES: every node is a master of the slots of
// the groups it leads.
func (n *Node) clusterNodes() string {
	var b strings.Builder
	v := n.v()
	for i, nd := range v.nodes {
		h, p := n.hostPort(v, i)
		flags, link := "master", "connected"
		if i == v.self {
			flags = "myself,master"
		}
		if h == "" {
			flags += ",fail"
			link = "disconnected"
		} else if f := n.unreachable(v, i); f != "" {
			flags += "," + f
			link = "disconnected"
		}
		fmt.Fprintf(&b, "%s %s:%d@%d %s - 0 0 %d %s", placement.NodeName(nd.ID), h, p, busPort(nd.PeerAddr, p), flags, v.table.Epoch(), link)
		for g := range v.ngroups {
			if n.Leader(v, g) != i {
				continue
			}
			for _, r := range v.table.Ranges(g) {
				if r.Start == r.End {
					fmt.Fprintf(&b, " %d", r.Start)
				} else {
					fmt.Fprintf(&b, " %d-%d", r.Start, r.End)
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// nodeInfoSections are INFO's sections on a cluster node, in the order
// they come: Redis's that a node has, then its Raft replicas and peers
// before the keyspace.
var nodeInfoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats", "errorstats", "latencystats", "cluster", "raft", "peers", "keyspace"}

// info is INFO [section ...] on a cluster node (server.InfoWant picks the
// sections): the process, this node's clients, the memory of its
// replicas' keyspaces, the commands its clients ran, the cluster's state,
// each local replica's Raft state, the traffic to each peer, and the keys
// of the groups it is the master of (all its replicas' with WholeKeyspace).
func (s *Server) info(args [][]byte) string {
	want := server.InfoWant(args, nodeInfoSections, "commandstats", "latencystats")
	n, v := s.node, s.node.v()
	var t server.InfoText
	keys, expires, used := n.localTotals(v)
	if want["server"] {
		t.Add("Server", append(server.ServerFields("cluster", s.port(), s.start, time.Now()),
			[2]string{"node_id", n.cfg.NodeID}))
	}
	if want["clients"] {
		t.Add("Clients", s.clientsInfo())
	}
	if want["memory"] {
		cfg := s.cfg()
		t.Add("Memory", server.MemoryFields(used, cfg.MaxMemory, cfg.MaxMemoryPolicy.String()))
	}
	if want["persistence"] {
		// What redis-cli --stat, readiness checks and backup scripts
		// read: the replicas' snapshots are the node's RDB saves
		// (save.go); it rewrites no AOF (the replicas' Raft logs are
		// its log: see the Raft section).
		t.Add("Persistence", append([][2]string{{"loading", strconv.Itoa(b2i(n.Loading()))},
			{"async_loading", "0"}}, append(n.saveFields(), [2]string{"aof_rewrite_in_progress", "0"})...))
	}
	if want["stats"] {
		t.Add("Stats", s.statsInfo())
	}
	if want["replication"] {
		// Every node takes writes for every key; its replicas' roles are
		// in the Raft section.
		t.Add("Replication", [][2]string{{"role", "master"}, {"connected_slaves", "0"}})
	}
	if want["cpu"] {
		t.Add("CPU", server.CPUFields())
	}
	if want["commandstats"] {
		t.Add("Commandstats", server.CommandStats(s.commandCounters()))
	}
	if want["errorstats"] {
		m, _ := s.errorCounts()
		t.Add("Errorstats", server.ErrorStats(m))
	}
	if want["latencystats"] && n.lat.Tracking() {
		t.Add("Latencystats", server.LatencyStats(s.commandHists(), s.cfg().Latency.Percentiles))
	}
	if want["cluster"] {
		t.Add("Cluster", n.clusterFields(v))
	}
	if want["raft"] {
		t.Add("Raft", n.raftFields(v))
	}
	if want["peers"] {
		if f := n.peerFields(v); f != nil {
			t.Add("Peers", f)
		}
	}
	if want["keyspace"] {
		if !s.cfg().WholeKeyspace {
			keys, expires = n.masteredTotals(v)
		}
		var f [][2]string
		if keys > 0 {
			f = append(f, [2]string{"db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", keys, expires)})
		}
		t.Add("Keyspace", f)
	}
	return t.String()
}

// commandCounters returns the counters of the commands this node's
// replicas ran (Node.cmdStats) since the start or the last CONFIG
// RESETSTAT, by command ID.
func (s *Server) commandCounters() []cmdstat.Counters {
	return s.reset.Counters(s.commandCountersEver())
}

// commandCountersEver returns the counters of the commands this node's
// replicas ran and those it answered itself, since the start, by command
// ID.
func (s *Server) commandCountersEver() []cmdstat.Counters {
	out := make([]cmdstat.Counters, command.NumIDs())
	s.node.cmdStats.AddTo(out)
	s.connStats.AddTo(out)
	return out
}

// commandHists returns the latency histograms of the commands this node's
// replicas ran, by command ID, since the start or the last CONFIG
// RESETSTAT.
func (s *Server) commandHists() []*cmdstat.Hist {
	out := make([]*cmdstat.Hist, command.NumIDs())
	s.node.cmdStats.AddHistTo(out)
	s.connStats.AddHistTo(out)
	return out
}

// errorCounts returns the error replies by prefix, and in all, since the
// start or the last CONFIG RESETSTAT: the node's own and those of the
// commands its replicas ran.
func (s *Server) errorCounts() (map[string]int64, int64) {
	return s.reset.Errors(s.errorCountsEver())
}

// errorCountsEver returns the error replies by prefix, and in all, since
// the start.
func (s *Server) errorCountsEver() (map[string]int64, int64) {
	m := map[string]int64{}
	return m, s.node.cmdStats.AddErrorsTo(m) + s.connStats.AddErrorsTo(m)
}

// resetCommandStats makes INFO commandstats and latencystats count from now
// on (CONFIG RESETSTAT); the latency monitor's events stay, as in Redis.
func (s *Server) resetCommandStats() {
	now := s.commandCountersEver()
	errs, total := s.errorCountsEver()
	s.node.cmdStats.ResetHist()
	s.connStats.ResetHist()
	s.reset.Reset(now, errs, total)
}

// localTotals sums the keys, the keys with an expiry and the memory
// estimates of this node's replicas (see Status).
func (n *Node) localTotals(v *view) (keys, expires, used int64) {
	for g := range v.ngroups {
		if loc := n.local(g); loc != nil {
			st := loc.Status()
			keys, expires, used = keys+st.Keys, expires+st.Expires, used+st.Memory
		}
	}
	return keys, expires, used
}

// mastered returns the data groups this node is the master of (master),
// in order: those whose slots CLUSTER SLOTS shows it first for.
func (n *Node) mastered(v *view) []int {
	var gs []int
	for g := range v.ngroups {
		if v.self >= 0 && n.master(v, g) == v.self {
			gs = append(gs, g)
		}
	}
	return gs
}

// masteredTotals sums the keys and the keys with an expiry of the groups
// this node is the master of (mastered), as its replicas of them count
// them: INFO's keyspace, as on a Redis Cluster master.
func (n *Node) masteredTotals(v *view) (keys, expires int64) {
	for _, g := range n.mastered(v) {
		if loc := n.local(g); loc != nil {
			st := loc.Status()
			keys, expires = keys+st.Keys, expires+st.Expires
		}
	}
	return keys, expires
}

// clusterFields are INFO's cluster section: whether every slot's group has
// a leader, the groups, the placement's epoch and whether this node
// agrees on it, the metadata group's leader and the slot moves under way.
func (n *Node) clusterFields(v *view) [][2]string {
	state := "fail"
	if n.State() {
		state = "ok"
	}
	lead := "none"
	if l := n.Leader(v, n.meta); l >= 0 {
		lead = v.nodes[l].ID
	}
	moving := 0
	for _, g := range v.indexes() {
		if v.group(g, n.meta).Moving() {
			moving++
		}
	}
	return [][2]string{
		{"cluster_enabled", "1"},
		{"cluster_state", state},
		{"shard_groups", strconv.Itoa(v.ngroups)},
		{"placement_epoch", strconv.FormatUint(v.table.Epoch(), 10)},
		{"placement_agreed", strconv.Itoa(b2i(n.agreed.Load()))},
		{"meta_leader", lead},
		{"moves_in_flight", strconv.Itoa(moving)},
	}
}

// raftFields are INFO's Raft section: a line per local replica.
func (n *Node) raftFields(v *view) [][2]string {
	var f [][2]string
	for g := range v.ngroups {
		loc := n.local(g)
		if loc == nil {
			continue
		}
		st, s := loc.Status(), loc.Stats()
		lead := "none"
		if l := n.Leader(v, g); l >= 0 {
			lead = v.nodes[l].ID
		}
		avg := int64(0)
		if p := s.Proposals.Load(); p > 0 {
			avg = s.ProposalNanos.Load() / p / 1000
		}
		var syncs int64
		if sc, ok := loc.cfg.Storage.(interface{ Syncs() int64 }); ok {
			syncs = sc.Syncs()
		}
		f = append(f, [2]string{"group" + strconv.Itoa(g), fmt.Sprintf("role=%s,leader=%s,term=%d,commit=%d,applied=%d,leader_changes=%d,proposals=%d,proposal_avg_us=%d,dropped=%d,unknown=%d,overwritten=%d,reads=%d,read_rounds=%d,lease_reads=%d,snapshots=%d,installed=%d,fsyncs=%d,keys=%d,readies=%d,log_writes=%d,apps_sent=%d,app_entries_sent=%d,app_resps_sent=%d,stepped=%d,log_bytes=%d,log_trims=%d",
			st.Role, lead, st.Term, st.Commit, st.Applied, s.LeaderChanges.Load(), s.Proposals.Load(), avg,
			s.Dropped.Load(), s.Unknown.Load(), s.Overwritten.Load(), s.Reads.Load(), s.ReadRounds.Load(), s.LeaseReads.Load(), s.Snapshots.Load(), s.Installed.Load(), syncs, st.Keys,
			s.Readies.Load(), s.LogWrites.Load(), s.Apps.Load(), s.AppEntries.Load(), s.AppResps.Load(), s.Stepped.Load(),
			s.LogBytes.Load(), s.Trims.Load())})
	}
	return f
}

// peerFields are INFO's Peers section: the traffic to each node, and the
// heartbeats coalesced; nil when the transport keeps no counts.
func (n *Node) peerFields(v *view) [][2]string {
	ps, ok := n.tr.(interface {
		Stats() map[string]peer.PeerStats
	})
	if !ok {
		return nil
	}
	var f [][2]string
	stats := ps.Stats()
	for _, nd := range v.nodes {
		if st, ok := stats[nd.ID]; ok {
			f = append(f, [2]string{"peer_" + nd.ID, fmt.Sprintf("connected=%d,bytes_sent=%d,bytes_received=%d,frames_sent=%d,frames_dropped=%d,writes=%d",
				b2i(st.Connected), st.BytesSent, st.BytesRecv, st.FramesSent, st.FramesDropped, st.Writes)})
		}
	}
	return append(f,
		[2]string{"heartbeats_coalesced", strconv.FormatInt(n.hbQueued.Load(), 10)},
		[2]string{"heartbeat_frames", strconv.FormatInt(n.hbFrames.Load(), 10)})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
