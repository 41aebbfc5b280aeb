// Command robustness tries to break a data-cluster cluster: it starts three
// real data-cluster processes, each in a network namespace of its own,
// drives workloads through every node over both protocols (registers,
// counters, transfers between hash-tagged accounts in MULTI/EXEC; half the
// increments and transfers as Lua scripts), injects
// faults on a seeded schedule (kill -9, SIGSTOP, partitions, a slow disk,
// failing fsyncs), and checks
// every history: porcupine for linearizability, bounds on the counters,
// the banks' totals, and every key read back after every node is killed at
// once. It prints a summary table and exits 0 if nothing was wrong, 1 if
// something was, 2 on bad flags.
//
//	go run ./test/robustness --duration 30m --seed 7
//
// Run it as root with iproute2 (network namespaces), or with --net loopback
// to test without partitions. docs/robustness.md describes the faults, the
// workloads, the checks and how to reproduce a failure from its seed; the
// same code runs in CI as `go test -tags robustness ./test/robustness`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the suite and prints its table to stdout; progress
// goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("robustness", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", 0, "seed of the fault schedule and the clients' choices; 0: one from the clock (printed)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to inject faults (every kind runs at least once)")
	fs.StringVar(&cfg.OutDir, "out", "", "directory for the report, the schedule, the nodes' logs and, on failure, the histories; empty: a new one under "+os.TempDir())
	net := fs.String("net", envOr("ROBUSTNESS_NET", netNetns), "netns: a network namespace per node (root, iproute2); loopback: 127.0.0.1, no partitions (env ROBUSTNESS_NET)")
	fs.StringVar(&cfg.Binary, "bin", "", "data-cluster binary to run, built with -tags faults or the disk faults do nothing; empty: go build -tags faults ./cmd/data-cluster")
	fs.StringVar(&cfg.Fsync, "fsync", cfg.Fsync, "the nodes' --fsync")
	kinds := fs.String("faults", "", "comma-separated fault kinds to schedule; empty: all ("+strings.Join(allKinds, ",")+")")
	fs.DurationVar(&cfg.OpTimeout, "op-timeout", cfg.OpTimeout, "client timeout of each operation; past it the outcome is unknown")
	fs.IntVar(&cfg.Registers, "registers", cfg.Registers, "register workers")
	fs.IntVar(&cfg.Counters, "counters", cfg.Counters, "counter workers")
	fs.IntVar(&cfg.Transfers, "transfers", cfg.Transfers, "transfer workers")
	fs.IntVar(&cfg.Queues, "queues", cfg.Queues, "queue workers: RPUSH producers and BLPOP consumers in turn")
	fs.IntVar(&cfg.Appends, "appends", cfg.Appends, "append workers: RPUSH writers and LRANGE readers in turn")
	fs.BoolVar(&cfg.Reshape, "reshape", cfg.Reshape, "change the number of shard groups (2 to 5) every 4-10 s while faults run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.Net = *net
	cfg.Seed = *seed
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano() % 1_000_000_000
	}
	if *kinds != "" {
		cfg.Kinds = strings.Split(*kinds, ",")
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "robustness:", err)
		return 2
	}
	fmt.Fprintf(stderr, "robustness: seed %d (--seed %d repeats the schedule)\n", cfg.Seed, cfg.Seed)
	rep, err := Run(ctx, cfg, stderr)
	if rep != nil {
		fmt.Fprint(stdout, "\n"+rep.Table())
	}
	if err != nil {
		fmt.Fprintln(stderr, "robustness:", err)
		if errors.Is(err, errNoNetns) {
			fmt.Fprintln(stderr, "robustness: PARTITIONS CANNOT BE TESTED HERE; run as root with iproute2, or pass --net loopback to test without them")
		}
		return 1
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
