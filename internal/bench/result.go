package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what a run measured, with the settings it ran with. Its JSON
// form is the output of `data-cluster bench --json`.
type Result struct {
	// The settings.
	Addr                  string   `json:"addr"`
	Protocol              Protocol `json:"protocol"`
	Clients               int      `json:"clients"`
	Pipeline              int      `json:"pipeline"`
	Keyspace              int64    `json:"keyspace"`
	Sequential            bool     `json:"sequential"`
	ValueSize             int      `json:"value_size"`
	ReadPercent           int      `json:"read_percent"`
	Seed                  uint64   `json:"seed"`
	TargetRequests        int64    `json:"target_requests"`         // 0 when the run was timed
	TargetDurationSeconds float64  `json:"target_duration_seconds"` // 0 when requests were counted

	// Requests is the number of requests answered, error replies included;
	// Reads of them were GET and Writes SET.
	Requests int64 `json:"requests"`
	Reads    int64 `json:"reads"`
	Writes   int64 `json:"writes"`

	// Misses counts the GETs answered by a null (the key did not exist).
	Misses int64 `json:"misses"`

	// Errors counts error replies; ErrorKinds splits them by their first
	// word (BUSY, ERR …).
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds"`

	// Elapsed is the time from the first batch's send to the last reply.
	Elapsed           time.Duration `json:"-"`
	DurationSeconds   float64       `json:"duration_seconds"`
	RequestsPerSecond float64       `json:"requests_per_second"`

	// Latency summarises Histogram, in microseconds.
	Latency Latency `json:"latency_us"`

	// Interrupted reports that the run's context ended before it was done.
	Interrupted bool `json:"interrupted"`

	// Histogram holds every request's latency in microseconds.
	Histogram *hdrhistogram.Histogram `json:"-"`
}

// Latency is a summary of latencies in microseconds. Percentiles are the
// histogram's values at those quantiles, within its 3 significant digits.
type Latency struct {
	Min  int64   `json:"min"`
	Mean float64 `json:"mean"`
	P50  int64   `json:"p50"`
	P90  int64   `json:"p90"`
	P99  int64   `json:"p99"`
	P999 int64   `json:"p999"`
	Max  int64   `json:"max"`
}

// fill computes the fields derived from Elapsed, Requests and Histogram.
func (r *Result) fill() {
	r.DurationSeconds = r.Elapsed.Seconds()
	if r.DurationSeconds > 0 {
		r.RequestsPerSecond = float64(r.Requests) / r.DurationSeconds
	}
	h := r.Histogram
	if h == nil || h.TotalCount() == 0 {
		return
	}
	r.Latency = Latency{
		Min:  h.Min(),
		Mean: h.Mean(),
		P50:  h.ValueAtQuantile(50),
		P90:  h.ValueAtQuantile(90),
		P99:  h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9),
		Max:  h.Max(),
	}
}

// WriteText writes the result as a short table for people.
func (r *Result) WriteText(w io.Writer) error {
	keys := "random"
	if r.Sequential {
		keys = "sequential"
	}
	limit := fmt.Sprintf("%d requests", r.TargetRequests)
	if r.TargetDurationSeconds > 0 {
		limit = fmt.Sprintf("%v", time.Duration(r.TargetDurationSeconds*float64(time.Second)))
	}
	errs := fmt.Sprint(r.Errors)
	if len(r.ErrorKinds) > 0 {
		kinds := make([]string, 0, len(r.ErrorKinds))
		for k, n := range r.ErrorKinds {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		slices.Sort(kinds)
		errs += " (" + strings.Join(kinds, ", ") + ")"
	}
	ms := func(us int64) string { return fmt.Sprintf("%.3f", float64(us)/1000) }

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "target\t%s %s, %s\n", r.Protocol, r.Addr, limit)
	fmt.Fprintf(tw, "load\t%d clients, pipeline %d, %d%% GET, %d-byte values, %d keys (%s), seed %d\n",
		r.Clients, r.Pipeline, r.ReadPercent, r.ValueSize, r.Keyspace, keys, r.Seed)
	fmt.Fprintf(tw, "requests\t%d in %.3fs (%d GET, %d SET, %d GET misses)\n",
		r.Requests, r.DurationSeconds, r.Reads, r.Writes, r.Misses)
	fmt.Fprintf(tw, "throughput\t%.0f requests/s\n", r.RequestsPerSecond)
	fmt.Fprintf(tw, "errors\t%s\n", errs)
	fmt.Fprintf(tw, "latency (ms)\tp50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %.3f)\n",
		ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.P999), ms(r.Latency.Max),
		r.Latency.Mean/1000)
	if r.Interrupted {
		fmt.Fprintf(tw, "note\tinterrupted before the end\n")
	}
	return tw.Flush()
}
