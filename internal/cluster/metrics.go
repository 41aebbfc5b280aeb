package cluster

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/data-cluster/data-cluster/internal/metrics"
	"github.com/data-cluster/data-cluster/internal/peer"
)

// Collector exposes a node's replicas and peer links to Prometheus: per
// group its role, term, commit and applied index, leader changes,
// proposals and their latency; per peer the bytes sent and received. Every
// scrape reads the counters the node keeps anyway.
type Collector struct {
	n *Node

	leader, term, commit, applied, keys                         *prometheus.Desc
	changes, proposals, propSecs, dropped, unknown, overwritten *prometheus.Desc
	reads, snapshots, evicted, peerSent, peerRecv, peerUp       *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns the Collector of node n.
func NewCollector(n *Node) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(metrics.Namespace+"_"+name, help, labels, nil)
	}
	return &Collector{n: n,
		leader:      d("raft_is_leader", "1 when this node's replica leads the group.", "group"),
		term:        d("raft_term", "The replica's Raft term.", "group"),
		commit:      d("raft_commit_index", "The highest log index known committed.", "group"),
		applied:     d("raft_applied_index", "The highest log index applied to the keyspace.", "group"),
		keys:        d("keys", "Keys stored in this node's replica, by group.", "group"),
		changes:     d("raft_leader_changes_total", "Leaders this replica has seen take over.", "group"),
		proposals:   d("raft_proposals_total", "Writes proposed by this replica as leader.", "group"),
		propSecs:    d("raft_proposal_seconds_total", "Time from proposal to apply, summed over the proposals.", "group"),
		dropped:     d("raft_proposals_dropped_total", "Proposals Raft refused (no leader, too much uncommitted).", "group"),
		unknown:     d("raft_writes_unknown_total", "Writes not seen applied in time, whose outcome the client was told is unknown.", "group"),
		overwritten: d("raft_writes_overwritten_total", "Writes proposed by this replica whose entries a later leader replaced: not applied, and retried.", "group"),
		reads:       d("raft_reads_total", "Linearizable reads served after a ReadIndex round.", "group"),
		snapshots:   d("raft_snapshots_total", "Snapshots this replica took.", "group"),
		evicted:     d("evicted_keys_total", "Keys evicted for --maxmemory by entries this replica applied as the group's leader.", "group"),
		peerSent:    d("peer_sent_bytes_total", "Bytes sent to a peer node.", "peer"),
		peerRecv:    d("peer_received_bytes_total", "Bytes received from a peer node.", "peer"),
		peerUp:      d("peer_connected", "1 while the connection to a peer node is up.", "peer"),
	}
}

// Describe sends the descriptions of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.leader, c.term, c.commit, c.applied, c.keys, c.changes,
		c.proposals, c.propSecs, c.dropped, c.unknown, c.overwritten, c.reads, c.snapshots, c.evicted, c.peerSent, c.peerRecv, c.peerUp} {
		ch <- d
	}
}

// Collect sends the current value of every series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l)
	}
	counter := func(d *prometheus.Desc, v float64, l string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l)
	}
	for g := range c.n.Groups() {
		loc := c.n.local(g)
		if loc == nil {
			continue
		}
		id := strconv.Itoa(g)
		st, s := loc.Status(), loc.Stats()
		lead := 0.0
		if st.Role == "leader" {
			lead = 1
		}
		gauge(c.leader, lead, id)
		gauge(c.term, float64(st.Term), id)
		gauge(c.commit, float64(st.Commit), id)
		gauge(c.applied, float64(st.Applied), id)
		gauge(c.keys, float64(st.Keys), id)
		counter(c.changes, float64(s.LeaderChanges.Load()), id)
		counter(c.proposals, float64(s.Proposals.Load()), id)
		counter(c.propSecs, float64(s.ProposalNanos.Load())/1e9, id)
		counter(c.dropped, float64(s.Dropped.Load()), id)
		counter(c.unknown, float64(s.Unknown.Load()), id)
		counter(c.overwritten, float64(s.Overwritten.Load()), id)
		counter(c.reads, float64(s.Reads.Load()), id)
		counter(c.snapshots, float64(s.Snapshots.Load()), id)
		counter(c.evicted, float64(s.Evicted.Load()), id)
	}
	if ps, ok := c.n.tr.(interface {
		Stats() map[string]peer.PeerStats
	}); ok {
		for id, st := range ps.Stats() {
			counter(c.peerSent, float64(st.BytesSent), id)
			counter(c.peerRecv, float64(st.BytesRecv), id)
			gauge(c.peerUp, float64(b2i(st.Connected)), id)
		}
	}
}

// errClusterDown is the health check's answer while some group has no
// leader.
var errClusterDown = errors.New("cluster_state:fail: a shard group has no leader")

// Healthy returns nil while every group has a leader (cluster_state:ok).
func (n *Node) Healthy() error {
	if !n.State() {
		return errClusterDown
	}
	return nil
}
