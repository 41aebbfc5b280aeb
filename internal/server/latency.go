package server

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/config"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/wal"
)

// LatencyConfig sets the latency monitor and the per-command latency
// histograms, as Redis's parameters of the same names do.
type LatencyConfig struct {
	// MonitorThreshold is latency-monitor-threshold: commands, expiry
	// cycles and fsyncs that take this many milliseconds or more are
	// latency events (LATENCY LATEST …); 0 (the default) turns it off.
	MonitorThreshold int64
	// Tracking is latency-tracking: keep a latency histogram per command,
	// for LATENCY HISTOGRAM and INFO latencystats (on by default).
	Tracking bool
	// Percentiles is latency-tracking-info-percentiles: the percentiles
	// INFO latencystats shows, each from 0 to 100 (50, 99, 99.9).
	Percentiles []float64
}

// DefaultLatencyConfig returns Redis's defaults.
func DefaultLatencyConfig() LatencyConfig {
	return LatencyConfig{Tracking: true, Percentiles: []float64{50, 99, 99.9}}
}

// Validate checks the values.
func (c LatencyConfig) Validate() error {
	if c.MonitorThreshold < 0 {
		return fmt.Errorf("server: latency-monitor-threshold must be 0 (off) or more, got %d", c.MonitorThreshold)
	}
	for _, p := range c.Percentiles {
		if !(p >= 0 && p <= 100) {
			return fmt.Errorf("server: latency-tracking-info-percentiles must sit between 0 and 100, got %v", p)
		}
	}
	return nil
}

// ParsePercentiles parses latency-tracking-info-percentiles: numbers
// separated by spaces, each from 0 to 100; "" is none. msg is Redis's
// complaint about a bad value.
func ParsePercentiles(s string) (ps []float64, msg string) {
	for _, f := range strings.Fields(s) {
		p, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(p) {
			return nil, "Invalid latency-tracking-info-percentiles parameters"
		}
		if p < 0 || p > 100 {
			return nil, "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
		}
		ps = append(ps, p)
	}
	return ps, ""
}

// LatencyParams are the configuration parameters of the LatencyConfig lc
// returns: latency-monitor-threshold, latency-tracking and
// latency-tracking-info-percentiles, for a single server's table and a
// cluster node's.
func LatencyParams[S any](lc func(*S) *LatencyConfig) []config.Param[S] {
	return []config.Param[S]{
		config.IntParam("latency-monitor-threshold", 0, math.MaxInt64, func(c *S) *int64 { return &lc(c).MonitorThreshold }),
		config.BoolParam("latency-tracking", func(c *S) *bool { return &lc(c).Tracking }),
		{
			Name: "latency-tracking-info-percentiles", Kind: config.Special,
			Get: func(c *S) string { return formatPercentiles(lc(c).Percentiles) },
			Set: func(c *S, v string) error {
				ps, msg := ParsePercentiles(v)
				if msg != "" {
					return errors.New(msg)
				}
				lc(c).Percentiles = ps
				return nil
			},
		},
	}
}

// formatPercentiles renders percentiles as CONFIG GET shows them.
func formatPercentiles(ps []float64) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strconv.FormatFloat(p, 'f', -1, 64)
	}
	return strings.Join(parts, " ")
}

// percentiles returns latency-tracking-info-percentiles as set now.
func (s *Server) percentiles() []float64 {
	return *s.pctl.Load()
}

// Latency returns the server's latency monitor.
func (s *Server) Latency() *latency.Monitor { return s.lat }

// latencyCmd implements LATENCY LATEST, HISTORY, RESET, GRAPH, DOCTOR,
// HISTOGRAM and HELP.
func (s *session) latencyCmd(w *resp.Writer, args [][]byte) {
	Latency(w, args, s.c.s.lat, s.c.s.latencyAdvice(), s.c.s.commandHists)
}

// latencyAdvice is what LATENCY DOCTOR needs to know of the server.
func (s *Server) latencyAdvice() latency.Advice {
	return latency.Advice{
		SlowlogSlowerThan: s.slow.SlowerThan(),
		FsyncAlways:       s.store != nil && s.cfg().Persistence.Fsync == wal.FsyncAlways,
	}
}

// Latency answers LATENCY from m; hists returns the per-command latency
// histograms by command ID (nil entries for commands never timed). A
// cluster node answers it the same way.
func Latency(w *resp.Writer, args [][]byte, m *latency.Monitor, a latency.Advice, hists func() []*cmdstat.Hist) {
	sub := lower(args[1])
	arity := func(ok bool) bool {
		if !ok {
			SubArity(w, "latency", sub)
		}
		return ok
	}
	switch sub {
	case "latest":
		if !arity(len(args) == 2) {
			return
		}
		all := m.Latest()
		w.AppendArray(len(all))
		for _, l := range all {
			w.AppendArray(4)
			w.AppendBulkString(l.Event)
			w.AppendInt(l.Time)
			w.AppendInt(l.Latency)
			w.AppendInt(l.Max)
		}
	case "history":
		if !arity(len(args) == 3) {
			return
		}
		h := m.History(string(args[2]))
		w.AppendArray(len(h))
		for _, x := range h {
			w.AppendArray(2)
			w.AppendInt(x.Time)
			w.AppendInt(x.Latency)
		}
	case "reset":
		events := make([]string, len(args)-2)
		for i, e := range args[2:] {
			events[i] = string(e)
		}
		w.AppendInt(int64(m.Reset(events...)))
	case "graph":
		if !arity(len(args) == 3) {
			return
		}
		g, ok := m.Graph(string(args[2]))
		if !ok {
			w.AppendError("ERR No samples available for event '" + string(args[2]) + "'")
			return
		}
		w.AppendVerbatim("txt", []byte(g))
	case "doctor":
		if !arity(len(args) == 2) {
			return
		}
		w.AppendVerbatim("txt", []byte(m.Doctor(a)))
	case "histogram":
		appendHistograms(w, args[2:], hists())
	case "help":
		if !arity(len(args) == 2) {
			return
		}
		appendHelp(w,
			"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"DOCTOR",
			"    Return a human readable latency analysis report.",
			"GRAPH <event>",
			"    Return an ASCII latency graph for the <event> class.",
			"HISTORY <event>",
			"    Return time-latency samples for the <event> class.",
			"LATEST",
			"    Return the latest latency samples for all events.",
			"RESET [<event> ...]",
			"    Reset latency data of one or more <event> classes.",
			"    (default: reset all data for all event classes)",
			"HISTOGRAM [COMMAND ...]",
			"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
			"    If no commands are specified then all histograms are replied.",
			"HELP",
			"    Prints this help.")
	default:
		UnknownSubcommand(w, "latency", args[1])
	}
}

// appendHistograms writes LATENCY HISTOGRAM's reply: for each command
// named (every command timed when none is, unknown names skipped), a map
// of "calls" and "histogram_usec", the latter the cumulative number of
// runs below each power of two nanoseconds from 1024, labelled in
// microseconds as Redis labels them (1, 2, 4, 8, 16, 33, 66 …), listing
// only the bounds where the count grew, up to the one that counts every run.
func appendHistograms(w *resp.Writer, names [][]byte, hists []*cmdstat.Hist) {
	var ids []int
	if len(names) == 0 {
		ids = commandIDsByName()
	} else {
		for _, n := range names {
			if spec := command.Redis.Lookup(n); spec != nil && !slices.Contains(ids, spec.ID) {
				ids = append(ids, spec.ID)
			}
		}
	}
	ids = slices.DeleteFunc(ids, func(id int) bool { return id >= len(hists) || hists[id] == nil || hists[id].Total() == 0 })
	w.AppendMap(len(ids))
	for _, id := range ids {
		h := hists[id]
		total := h.Total()
		w.AppendBulkString(command.NameOf(id))
		w.AppendMap(2)
		w.AppendBulkString("calls")
		w.AppendInt(total)
		w.AppendBulkString("histogram_usec")
		type point struct{ us, n int64 }
		var pts []point
		var prev int64
		for e := 10; ; e++ {
			bound := time.Duration(1) << e
			n := h.Cumulative(bound)
			if e >= 62 {
				n = total
			}
			if n > prev {
				pts = append(pts, point{redisMicros(e), n})
			}
			prev = n
			if n >= total {
				break
			}
		}
		w.AppendMap(len(pts))
		for _, p := range pts {
			w.AppendInt(p.us)
			w.AppendInt(p.n)
		}
	}
}

// redisMicros is the label Redis gives the histogram bound 2^e ns: the
// highest value its histogram (of two significant digits) holds with it,
// in whole microseconds.
func redisMicros(e int) int64 {
	v := int64(1) << e
	return (v + int64(1)<<(e-7) - 1) / 1000
}

// infoLatencyStats renders INFO's latencystats section: for each command
// timed, the percentiles of latency-tracking-info-percentiles in
// microseconds, as the upper bounds of the histogram buckets that hold them.
//
//	latency_percentiles_usec_get:p50=1.023,p99=3.071,p99.9=8.191
func (s *Server) infoLatencyStats() [][2]string {
	if !s.lat.Tracking() {
		return nil
	}
	return LatencyStats(s.commandHists(), s.percentiles())
}

// LatencyStats renders hists, the latency histograms by command ID, as
// INFO's latencystats section does, at percentiles ps (see
// infoLatencyStats).
func LatencyStats(hists []*cmdstat.Hist, ps []float64) [][2]string {
	var out [][2]string
	for _, id := range commandIDsByName() {
		h := hists[id]
		if h == nil || h.Total() == 0 {
			continue
		}
		var b strings.Builder
		for i, p := range ps {
			if i > 0 {
				b.WriteByte(',')
			}
			us := float64(h.Percentile(p)) / 1000
			b.WriteString("p" + strconv.FormatFloat(p, 'f', -1, 64) + "=" + strconv.FormatFloat(us, 'f', 3, 64))
		}
		out = append(out, [2]string{"latency_percentiles_usec_" + command.NameOf(id), b.String()})
	}
	return out
}

// commandHists returns the latency histograms of every command, by ID,
// since the start or the last CONFIG RESETSTAT.
func (s *Server) commandHists() []*cmdstat.Hist {
	out := make([]*cmdstat.Hist, command.NumIDs())
	for _, sh := range s.router.Shards() {
		sh.Stats().AddHistTo(out)
	}
	s.connStats.AddHistTo(out)
	return out
}

// resetHists drops the latency histograms, as CONFIG RESETSTAT does.
func (s *Server) resetHists() {
	for _, sh := range s.router.Shards() {
		sh.Stats().ResetHist()
	}
	s.connStats.ResetHist()
}

// errorCounts returns the error replies by prefix and in all, since the
// start or the last CONFIG RESETSTAT.
func (s *Server) errorCounts() (map[string]int64, int64) {
	return s.reset.Errors(s.errorCountsEver())
}

func (s *Server) errorCountsEver() (map[string]int64, int64) {
	m := map[string]int64{}
	var total int64
	for _, sh := range s.router.Shards() {
		total += sh.Stats().AddErrorsTo(m)
	}
	total += s.connStats.AddErrorsTo(m)
	return m, total
}

// infoErrorStats renders INFO's errorstats section, sorted by prefix:
//
//	errorstat_ERR:count=3
func (s *Server) infoErrorStats() [][2]string {
	m, _ := s.errorCounts()
	return ErrorStats(m)
}

// ErrorStats renders m, error replies by prefix, as INFO's errorstats
// section does (see infoErrorStats).
func ErrorStats(m map[string]int64) [][2]string {
	prefixes := make([]string, 0, len(m))
	for p := range m {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)
	out := make([][2]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = [2]string{"errorstat_" + p, "count=" + strconv.FormatInt(m[p], 10)}
	}
	return out
}
