//go:build robustness

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestRobustness runs the suite against real processes for fixed seeds,
// each for ciDuration of faults (every kind at least once), as
// .ci/robustness.sh does:
//
//	go test -tags robustness -count=1 -v -timeout 15m ./test/robustness
//
// It needs root and iproute2 for the network namespaces; without them it
// fails, loudly, unless ROBUSTNESS_NET=loopback asks for a run without
// partitions, which it then reports. Each run's output directory (report,
// schedule, nodes' logs, and on failure the histories and porcupine's
// visualizations) is kept under os.TempDir() and printed.
func TestRobustness(t *testing.T) {
	const ciDuration = 60 * time.Second
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "robustness-bin-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin, err := buildBinary(context.Background(), root, dir)
	if err != nil {
		t.Fatal(err)
	}
	mode := envOr("ROBUSTNESS_NET", netNetns)
	if mode == netLoopback {
		t.Log("ROBUSTNESS_NET=loopback: PARTITIONS ARE NOT TESTED in this run")
	}
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			out, err := os.MkdirTemp("", fmt.Sprintf("robustness-seed%d-", seed))
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Seed, cfg.Duration, cfg.Net, cfg.Binary, cfg.OutDir = seed, ciDuration, mode, bin, out
			rep, err := Run(context.Background(), cfg, testWriter{t})
			if rep != nil {
				t.Log("\n" + rep.Table())
			}
			if errors.Is(err, errNoNetns) {
				t.Fatalf("seed %d: NETWORK NAMESPACES ARE NOT AVAILABLE, SO PARTITIONS CANNOT BE TESTED: %v\n"+
					"run as root with iproute2 (.ci/robustness.sh installs it), or set ROBUSTNESS_NET=loopback to test without partitions", seed, err)
			}
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if !rep.OK() {
				t.Fatalf("seed %d: %d problem(s), first: %s; output in %s", seed, len(rep.Problems), rep.Problems[0], rep.OutDir)
			}
			for _, k := range cfg.kinds(mode == netNetns) {
				if rep.FaultCount(k) == 0 {
					t.Fatalf("seed %d: no %s fault was injected", seed, k)
				}
			}
			if rep.Shape.Accepted == 0 {
				t.Fatalf("seed %d: no change of the number of groups was accepted (%+v)", seed, rep.Shape)
			}
			for _, w := range rep.Workloads {
				if w.Writes < 100 || w.Checked < 100 {
					t.Fatalf("seed %d: workload %s: %d acknowledged writes, %d checked: too few to mean anything", seed, w.Name, w.Writes, w.Checked)
				}
			}
		})
	}
}

// testWriter sends the run's progress to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-min(1, len(p))]))
	return len(p), nil
}
