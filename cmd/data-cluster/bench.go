package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/data-cluster/data-cluster/internal/bench"
)

// runBench runs `data-cluster bench` with args (those after "bench") and
// returns the process exit status: 0 after a run (also one interrupted by
// ctx, whose report covers what was answered), 1 when the server could not
// be reached or a connection failed, 2 for invalid flags.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := bench.DefaultConfig()
	var (
		protocol = string(cfg.Protocol)
		asJSON   bool
	)
	fs := flag.NewFlagSet("data-cluster bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address of the server")
	fs.StringVar(&protocol, "protocol", protocol, "protocol to speak: resp or line")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, fmt.Sprintf("number of connections (1-%d)", bench.MaxClients))
	fs.IntVar(&cfg.Pipeline, "pipeline", cfg.Pipeline, fmt.Sprintf("requests each connection sends before reading their replies (1-%d)", bench.MaxPipeline))
	fs.Int64Var(&cfg.Requests, "requests", cfg.Requests, "total number of requests, across all connections")
	fs.DurationVar(&cfg.Duration, "duration", 0, "run for this long (e.g. 10s) instead of a number of requests; wins over --requests")
	fs.Int64Var(&cfg.Keyspace, "keyspace", cfg.Keyspace, "number of distinct keys, named key:%012d")
	fs.BoolVar(&cfg.Sequential, "sequential", false, "give the n-th request key n modulo --keyspace instead of a random key")
	fs.IntVar(&cfg.ValueSize, "value-size", cfg.ValueSize, "length of each SET value in bytes")
	fs.IntVar(&cfg.ReadPercent, "read-percent", cfg.ReadPercent, "share of requests that are GET, 0-100; the others are SET")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of the random keys and operations; 0 picks one (the report shows it)")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: data-cluster bench [flags]\n\n")
		fmt.Fprintf(stderr, "Sends GET and SET requests to a server over the Redis protocol or the line\n")
		fmt.Fprintf(stderr, "protocol and reports throughput and latency percentiles. Flags only: the\n")
		fmt.Fprintf(stderr, "%s* environment variables do not apply to bench.\n\nFlags:\n", envPrefix)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "data-cluster bench: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	cfg.Protocol = bench.Protocol(protocol)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "data-cluster bench: %v\n", err)
		return exitUsage
	}
	if isTerminal(stderr) {
		cfg.Progress = stderr
	}

	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = res.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster bench: %v\n", err)
		return exitError
	}
	return exitOK
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
