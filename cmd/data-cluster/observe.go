package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/server"
)

// obsOptions are the flags of logging, the slow log and the metrics address.
type obsOptions struct {
	metricsAddr       string
	slowlogSlowerThan int64
	slowlogMaxLen     int
	logLevel          string
	logFormat         string
	busyThreshold     int64
	latencyThreshold  int64
	latencyTracking   bool
	latencyPercentile string
}

// maxSlowlogLen bounds --slowlog-max-len, as it does CONFIG SET.
const maxSlowlogLen = server.MaxSlowlogLen

func (o *obsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-addr", "",
		"address to serve /metrics (Prometheus), /debug/pprof/ and /healthz on over HTTP; empty: off")
	fs.Int64Var(&o.slowlogSlowerThan, "slowlog-log-slower-than", 10000,
		"commands that run this many `microseconds` or more go to SLOWLOG; -1: none, 0: every command")
	fs.IntVar(&o.slowlogMaxLen, "slowlog-max-len", 128, "most entries SLOWLOG keeps")
	fs.Int64Var(&o.latencyThreshold, "latency-monitor-threshold", 0,
		"commands, expiry cycles and fsyncs taking this many `milliseconds` or more are LATENCY events; 0: off")
	fs.BoolVar(&o.latencyTracking, "latency-tracking", true,
		"keep a latency histogram per command (LATENCY HISTOGRAM, INFO latencystats)")
	fs.StringVar(&o.latencyPercentile, "latency-tracking-info-percentiles", "50 99 99.9",
		"percentiles INFO latencystats shows, separated by spaces")
	fs.StringVar(&o.logLevel, "log-level", "info", "least important level logged: debug, info, warn or error; Redis's verbose, notice and warning are taken too")
	fs.StringVar(&o.logFormat, "log-format", "text", "log line format: text (key=value) or json")
	fs.Int64Var(&o.busyThreshold, "busy-reply-threshold", 5000,
		"`milliseconds` a Lua script or function runs before it is busy: other clients touching its shards are answered BUSY, and SCRIPT KILL or FUNCTION KILL may stop it (0: at once)")
	fs.Int64Var(&o.busyThreshold, "lua-time-limit", 5000, "`milliseconds`: the older name of --busy-reply-threshold")
}

// logLevels are the values of --log-level: slog's names, and Redis's
// loglevel names (verbose lies between debug and info).
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	"verbose": slog.LevelDebug + 2, "notice": slog.LevelInfo, "warning": slog.LevelWarn,
}

// validate checks the values; from names them in errors.
func (o obsOptions) validate(from source) error {
	n := from.name
	if o.metricsAddr != "" {
		if _, _, err := net.SplitHostPort(o.metricsAddr); err != nil {
			return fmt.Errorf("invalid value %q for %s: %v", o.metricsAddr, n("metrics-addr"), err)
		}
	}
	if o.slowlogSlowerThan < -1 {
		return fmt.Errorf("invalid value %d for %s: must be -1 (off) or more", o.slowlogSlowerThan, n("slowlog-log-slower-than"))
	}
	if o.slowlogMaxLen < 0 || o.slowlogMaxLen > maxSlowlogLen {
		return fmt.Errorf("invalid value %d for %s: must be between 0 and %d", o.slowlogMaxLen, n("slowlog-max-len"), maxSlowlogLen)
	}
	if o.latencyThreshold < 0 {
		return fmt.Errorf("invalid value %d for %s: must be 0 (off) or more", o.latencyThreshold, n("latency-monitor-threshold"))
	}
	if _, msg := server.ParsePercentiles(o.latencyPercentile); msg != "" {
		return fmt.Errorf("invalid value %q for %s: %s", o.latencyPercentile, n("latency-tracking-info-percentiles"), msg)
	}
	if o.busyThreshold < 0 {
		return fmt.Errorf("invalid value %d for %s: must be 0 or more", o.busyThreshold, n("busy-reply-threshold"))
	}
	if _, ok := logLevels[strings.ToLower(o.logLevel)]; !ok {
		return fmt.Errorf("invalid value %q for %s: must be debug, info, warn or error (or Redis's verbose, notice or warning)", o.logLevel, n("log-level"))
	}
	if f := strings.ToLower(o.logFormat); f != "text" && f != "json" {
		return fmt.Errorf("invalid value %q for %s: must be text or json", o.logFormat, n("log-format"))
	}
	return nil
}

// logger returns the logger the flags ask for, writing to w, and its
// level, which CONFIG SET loglevel changes.
func (o obsOptions) logger(w io.Writer) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	lv.Set(logLevels[strings.ToLower(o.logLevel)])
	opts := &slog.HandlerOptions{Level: lv}
	if strings.ToLower(o.logFormat) == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), lv
	}
	return slog.New(slog.NewTextHandler(w, opts)), lv
}

// apply sets the server's slow log and latency monitor from the flags.
func (o obsOptions) apply(cfg *server.Config) {
	cfg.SlowlogSlowerThan = o.slowlogSlowerThan
	cfg.SlowlogMaxLen = o.slowlogMaxLen
	cfg.Latency = o.latency()
	cfg.Scripts.BusyThreshold = time.Duration(o.busyThreshold) * time.Millisecond
}

// latency returns the latency monitor's configuration from the flags.
func (o obsOptions) latency() server.LatencyConfig {
	ps, _ := server.ParsePercentiles(o.latencyPercentile)
	return server.LatencyConfig{MonitorThreshold: o.latencyThreshold, Tracking: o.latencyTracking, Percentiles: ps}
}

// listenMetrics listens on the metrics address, or returns nil when it is
// off.
func (o obsOptions) listenMetrics() (net.Listener, error) {
	if o.metricsAddr == "" {
		return nil, nil
	}
	ln, err := listenTCP(o.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s for metrics: %v", o.metricsAddr, err)
	}
	return ln, nil
}

// serveMetrics serves h on ln (nothing if ln is nil) until the returned
// function is called.
func serveMetrics(ln net.Listener, h http.Handler, log *slog.Logger) (stop func()) {
	if ln == nil {
		return func() {}
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server failed", "addr", ln.Addr().String(), "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String(), "paths", "/metrics /debug/pprof/ /healthz")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if hs.Shutdown(ctx) != nil {
			hs.Close()
		}
		<-done
	}
}
