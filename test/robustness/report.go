package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/anishathalye/porcupine"
)

// Report is what a run did and found.
type Report struct {
	Seed      int64
	Net       string
	OutDir    string
	Elapsed   time.Duration
	Workloads []WorkloadStats
	Faults    []Fault
	// Shape counts the changes of the number of groups asked meanwhile.
	Shape ShapeStats
	// Checks say what each check covered and concluded.
	Checks []string
	// Problems are what the cluster did wrong (and runs that could not
	// be carried out); a run passes with none.
	Problems []string
	Notes    []string

	// files are written to OutDir on failure: name → contents.
	files map[string]func(f *os.File) error
}

// WorkloadStats counts one workload's operations.
type WorkloadStats struct {
	Name    string
	Writes  int64 // acknowledged writes (SET, INCR, transfers)
	Reads   int64 // reads answered
	Unknown int64 // writes of unknown outcome
	NotRun  int64 // operations the server refused before running them, or that failed to be sent, and failed reads
	Checked int   // operations in the checked history (or reads checked)
	Keys    int
}

// OK reports whether the run found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// FaultCount returns how many faults of kind ran.
func (r *Report) FaultCount(kind string) int {
	n := 0
	for _, f := range r.Faults {
		if f.Kind == kind {
			n++
		}
	}
	return n
}

// Table is the summary: operations by workload, faults by kind with their
// failover and recovery times, the checks and the verdict.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "robustness run: seed %d, network %s, %v\n\n", r.Seed, r.Net, r.Elapsed.Round(time.Second))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tacked writes\treads\tunknown\tnot run/failed\tin checked history\tkeys\t")
	for _, w := range r.Workloads {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", w.Name, w.Writes, w.Reads, w.Unknown, w.NotRun, w.Checked, w.Keys)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "fault\tcount\tfailover min\tmedian\tmax\trecovery min\tmedian\tmax\trejoin max\t")
	kinds := append(append([]string(nil), allKinds...), faultKillAll)
	for _, k := range kinds {
		var fo, rec, rej []time.Duration
		n, missed := 0, 0
		for _, f := range r.Faults {
			if f.Kind != k {
				continue
			}
			n++
			if f.Failover >= 0 {
				fo = append(fo, f.Failover)
			}
			rej = append(rej, f.Rejoin)
			if f.Recovery >= 0 {
				rec = append(rec, f.Recovery)
			} else {
				missed++
			}
		}
		if n == 0 {
			continue
		}
		a, m, z := stats(fo)
		c, d, e := stats(rec)
		if missed > 0 {
			e += fmt.Sprintf(" (%d never)", missed)
		}
		_, _, rz := stats(rej)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", k, n, a, m, z, c, d, e, rz)
	}
	tw.Flush()
	b.WriteString("\nfailover: from the fault's start until every group has acknowledged a write started after it\n")
	b.WriteString("recovery: from the fault's end (restart, SIGCONT, links restored) until every group has acknowledged a write started after it\n")
	b.WriteString("rejoin: from the fault's end until every node says cluster_state:ok\n\n")
	if sh := r.Shape; sh.Asked > 0 {
		fmt.Fprintf(&b, "shape: %d changes of the number of groups asked, %d accepted, %d refused while one ran, %d failed; %d groups at the end\n\n",
			sh.Asked, sh.Accepted, sh.Refused, sh.Failed, sh.Final)
	}
	for _, c := range r.Checks {
		b.WriteString("check: " + c + "\n")
	}
	for _, n := range r.Notes {
		b.WriteString("note: " + n + "\n")
	}
	if r.OK() {
		b.WriteString("verdict: PASS\n")
	} else {
		fmt.Fprintf(&b, "verdict: FAIL (seed %d), %d problem(s):\n", r.Seed, len(r.Problems))
		for _, p := range r.Problems {
			b.WriteString("  - " + p + "\n")
		}
	}
	fmt.Fprintf(&b, "output: %s\n", r.OutDir)
	return b.String()
}

// stats returns the minimum, median and maximum, "-" for none.
func stats(ds []time.Duration) (string, string, string) {
	if len(ds) == 0 {
		return "-", "-", "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	f := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return f(s[0]), f(s[len(s)/2]), f(s[len(s)-1])
}

// write writes the summary and the fault schedule to OutDir, and on
// failure the histories and their visualizations.
func (r *Report) write() error {
	if r.OutDir == "" {
		return nil
	}
	var sched strings.Builder
	fmt.Fprintf(&sched, "seed %d\n", r.Seed)
	for _, f := range r.Faults {
		sched.WriteString(f.String() + "\n")
	}
	files := map[string]string{
		"seed.txt":     strconv.FormatInt(r.Seed, 10) + "\n",
		"summary.txt":  r.Table(),
		"schedule.txt": sched.String(),
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(r.OutDir, name), []byte(s), 0o644); err != nil {
			return err
		}
	}
	if r.OK() {
		return nil
	}
	for name, fill := range r.files {
		f, err := os.Create(filepath.Join(r.OutDir, name))
		if err != nil {
			return err
		}
		err = fill(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addFile has name written to OutDir on failure.
func (r *Report) addFile(name string, fill func(f *os.File) error) {
	if r.files == nil {
		r.files = map[string]func(*os.File) error{}
	}
	r.files[name] = fill
}

// historyJSON writes ops one JSON object per line, in call order.
func historyJSON(ops []porcupine.Operation) func(f *os.File) error {
	return func(f *os.File) error {
		s := slices.Clone(ops)
		slices.SortStableFunc(s, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
		enc := json.NewEncoder(f)
		for _, op := range s {
			ret := any(op.Return)
			if op.Return == never {
				ret = "never"
			}
			if err := enc.Encode(map[string]any{"client": op.ClientId, "call_ns": op.Call, "return_ns": ret,
				"input": op.Input, "output": op.Output, "meta": op.Metadata}); err != nil {
				return err
			}
		}
		return nil
	}
}
