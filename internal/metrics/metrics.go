// Package metrics exposes the server's figures in Prometheus's text format,
// next to the Go runtime's and the process's, and serves the profiling
// endpoints of net/http/pprof and a health check.
//
// The figures are not kept here: a Collector asks for a Snapshot on every
// scrape, and the server builds it from the counters it keeps anyway (per
// shard, per command), so that serving metrics adds nothing to the path of a
// command.
package metrics

import (
	"net/http"
	"net/http/pprof"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace starts the name of every series of the server's own.
const Namespace = "datacluster"

// Snapshot is the server's state at one scrape. Counters count from the
// server's start.
type Snapshot struct {
	// Bounds are the upper bounds, in seconds, of the command duration
	// histogram's buckets, ascending.
	Bounds []float64
	// Commands lists the commands that have been called or refused.
	Commands []Command
	// BusyRouter and BusyShard count the commands refused with BUSY for
	// lack of room in the router and in a shard's queue.
	BusyRouter, BusyShard int64
	// Shards are indexed by shard number.
	Shards []Shard
	// ConnectedClients is the number of open client connections.
	ConnectedClients int64
	// ConnectionsReceived and RejectedConnections count the connections
	// accepted and those refused.
	ConnectionsReceived, RejectedConnections int64
	// ExpiredKeys and EvictedKeys count the keys removed because their
	// time had come and to stay under a memory limit.
	ExpiredKeys, EvictedKeys int64
	// KeyspaceHits and KeyspaceMisses count the reads that found their
	// key and those that did not.
	KeyspaceHits, KeyspaceMisses int64
}

// Command is one command's figures.
type Command struct {
	Name     string
	Calls    uint64 // times it ran
	Failed   uint64 // runs that replied with an error
	Rejected uint64 // times it was refused before running
	Seconds  float64
	// Buckets[i] counts the runs that took at most Bounds[i] and more than
	// Bounds[i-1]; one more, last, counts those above every bound.
	Buckets []uint64
}

// Shard is one shard's figures.
type Shard struct {
	Keys    int64 // keys stored, expired ones not yet removed included
	Expires int64 // keys with an expiry
	Queue   int64 // commands waiting in its queue
	Busy    int64 // commands its queue refused
}

// Collector is a prometheus.Collector over a function that returns a
// Snapshot. It is safe for concurrent use if the function is.
type Collector struct {
	snap func() Snapshot

	commands, failed, rejected, duration *prometheus.Desc
	busy, shardBusy                      *prometheus.Desc
	keys, expires, queue                 *prometheus.Desc
	clients, connections, rejectedConns  *prometheus.Desc
	expired, evicted, hits, misses       *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector that calls snap once per scrape.
func NewCollector(snap func() Snapshot) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
	}
	return &Collector{
		snap:          snap,
		commands:      d("commands_total", "Commands run, by command.", "command"),
		failed:        d("commands_failed_total", "Commands that replied with an error, by command.", "command"),
		rejected:      d("commands_rejected_total", "Commands refused before they ran (wrong arity, BUSY, ...), by command.", "command"),
		duration:      d("command_duration_seconds", "Time commands took to run, by command; a shard's batch is timed whole and its time shared among its commands.", "command"),
		busy:          d("busy_total", "Commands refused with BUSY, by the stage that had no room: router or shard.", "stage"),
		shardBusy:     d("shard_busy_total", "Commands refused with BUSY because the shard's queue was full, by shard.", "shard"),
		keys:          d("keys", "Keys stored, by shard.", "shard"),
		expires:       d("expires", "Keys with an expiry, by shard.", "shard"),
		queue:         d("shard_queue_depth", "Commands waiting in the shard's queue, by shard.", "shard"),
		clients:       d("connected_clients", "Open client connections."),
		connections:   d("connections_received_total", "Client connections accepted."),
		rejectedConns: d("rejected_connections_total", "Client connections refused."),
		expired:       d("expired_keys_total", "Keys removed because their time to live had passed."),
		evicted:       d("evicted_keys_total", "Keys removed to stay under the memory limit."),
		hits:          d("keyspace_hits_total", "Reads that found their key."),
		misses:        d("keyspace_misses_total", "Reads that did not find their key."),
	}
}

// Describe sends the descriptions of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.commands, c.failed, c.rejected, c.duration, c.busy, c.shardBusy,
		c.keys, c.expires, c.queue, c.clients, c.connections, c.rejectedConns,
		c.expired, c.evicted, c.hits, c.misses,
	} {
		ch <- d
	}
}

// Collect takes a snapshot and sends its series.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, cmd := range s.Commands {
		counter(c.commands, float64(cmd.Calls), cmd.Name)
		counter(c.failed, float64(cmd.Failed), cmd.Name)
		counter(c.rejected, float64(cmd.Rejected), cmd.Name)
		buckets := make(map[float64]uint64, len(s.Bounds))
		var n uint64
		for i, le := range s.Bounds {
			if i < len(cmd.Buckets) {
				n += cmd.Buckets[i]
			}
			buckets[le] = n
		}
		for i := len(s.Bounds); i < len(cmd.Buckets); i++ {
			n += cmd.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(c.duration, n, cmd.Seconds, buckets, cmd.Name)
	}
	counter(c.busy, float64(s.BusyRouter), "router")
	counter(c.busy, float64(s.BusyShard), "shard")
	for i, sh := range s.Shards {
		id := strconv.Itoa(i)
		gauge(c.keys, float64(sh.Keys), id)
		gauge(c.expires, float64(sh.Expires), id)
		gauge(c.queue, float64(sh.Queue), id)
		counter(c.shardBusy, float64(sh.Busy), id)
	}
	gauge(c.clients, float64(s.ConnectedClients))
	counter(c.connections, float64(s.ConnectionsReceived))
	counter(c.rejectedConns, float64(s.RejectedConnections))
	counter(c.expired, float64(s.ExpiredKeys))
	counter(c.evicted, float64(s.EvictedKeys))
	counter(c.hits, float64(s.KeyspaceHits))
	counter(c.misses, float64(s.KeyspaceMisses))
}

// Handler returns the handler of the metrics address:
//
//	/metrics        the series of c, of the Go runtime and of the process
//	/debug/pprof/   net/http/pprof's profiles
//	/healthz        200 "ok" while health returns nil, else 503 and the error
func Handler(c prometheus.Collector, health func() error) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := health(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(err.Error() + "\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}
