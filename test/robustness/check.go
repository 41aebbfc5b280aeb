package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// maxVisualized bounds the non-linearizable keys drawn as HTML per model.
const maxVisualized = 5

// checkLinear checks ops against model with porcupine, keys apart. It
// returns a line saying what was checked, and the problems: a key whose
// history is not linearizable (drawn to <name>-<key>.html in outDir), or a
// check that did not finish within timeout.
func checkLinear(name string, model porcupine.Model, ops []porcupine.Operation, timeout time.Duration, outDir string) (string, []string) {
	parts := model.Partition(ops)
	begin := time.Now()
	res := porcupine.CheckOperationsTimeout(model, ops, timeout)
	took := time.Since(begin).Round(time.Millisecond)
	summary := fmt.Sprintf("%s: porcupine on %d operations over %d keys: %s in %v", name, len(ops), len(parts), verdict(res), took)
	switch res {
	case porcupine.Ok:
		return summary, nil
	case porcupine.Unknown:
		return summary, []string{fmt.Sprintf("%s: the linearizability check did not finish within %v: inconclusive", name, timeout)}
	}
	// Find the keys at fault and draw them.
	var probs []string
	for _, part := range parts {
		r, info := porcupine.CheckOperationsVerbose(model, part, timeout)
		if r != porcupine.Illegal {
			continue
		}
		key := part[0].Input.(opInput).Key
		msg := fmt.Sprintf("linearizability: %s history of key %s (%d operations) is not linearizable", name, key, len(part))
		if len(probs) < maxVisualized {
			path := filepath.Join(outDir, fmt.Sprintf("%s-%s.html", name, safeName(key)))
			if err := porcupine.VisualizePath(model, info, path); err != nil {
				msg += fmt.Sprintf(" (drawing it failed: %v)", err)
			} else {
				msg += "; see " + path
			}
		}
		probs = append(probs, msg)
	}
	if len(probs) == 0 {
		probs = append(probs, fmt.Sprintf("linearizability: %s history is not linearizable, but no key alone is", name))
	}
	return summary, probs
}

func verdict(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "NOT linearizable"
	}
	return "inconclusive (timed out)"
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// check runs every check on what the workloads recorded; final holds the
// values read back at the end.
func (r *runner) check(rep *Report, final map[string]string) {
	w := r.work
	regOps, ctrOps := w.reg.snapshot(), w.ctr.snapshot()
	bank := w.bank
	bank.mu.Lock()
	bad, banklog := append([]string(nil), bank.bad...), append([]string(nil), bank.log...)
	bank.mu.Unlock()
	rep.Workloads = []WorkloadStats{
		{Name: "register", Writes: w.regN.ok.Load(), Reads: w.regN.reads.Load(), Unknown: w.regN.unknown.Load(),
			NotRun: w.regN.failed.Load(), Checked: len(regOps), Keys: len(registerModel.Partition(regOps))},
		{Name: "counter", Writes: w.ctrN.ok.Load(), Reads: w.ctrN.reads.Load(), Unknown: w.ctrN.unknown.Load(),
			NotRun: w.ctrN.failed.Load(), Checked: len(ctrOps), Keys: len(counterModel.Partition(ctrOps))},
		{Name: "transfer", Writes: bank.n.ok.Load(), Reads: bank.n.reads.Load(), Unknown: bank.n.unknown.Load(),
			NotRun: bank.n.failed.Load(), Checked: int(bank.checked.Load()), Keys: len(bank.tags) * bankAccounts},
		w.queue.stats(),
		w.appends.stats(),
	}
	var probs []string
	sum, p := checkLinear("register", registerModel, regOps, r.cfg.CheckTimeout, rep.OutDir)
	rep.Checks, probs = append(rep.Checks, sum), append(probs, p...)
	sum, p = checkLinear("counter", counterModel, ctrOps, r.cfg.CheckTimeout, rep.OutDir)
	rep.Checks, probs = append(rep.Checks, sum), append(probs, p...)

	finals := map[string]int64{}
	for k, v := range final {
		if !strings.HasPrefix(k, "c") {
			continue
		}
		n, err := int64(0), error(nil)
		if v != "" {
			n, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			probs = append(probs, fmt.Sprintf("counter %s holds %q", k, v))
			continue
		}
		finals[k] = n
	}
	cb := counterBounds(ctrOps, finals)
	rep.Checks = append(rep.Checks, fmt.Sprintf("counter: final value within [acknowledged, acknowledged+unknown] increments on %d keys: %d violation(s)",
		len(finals), len(cb)))
	probs = append(probs, cb...)
	rep.Checks = append(rep.Checks, fmt.Sprintf("transfer: total %d in each of %d bank reads (%d by MULTI/EXEC, the rest by MGET): %d violation(s)",
		bank.total(), bank.checked.Load(), bank.snapshot.Load(), len(bad)))
	for _, b := range bad {
		probs = append(probs, "transfer: "+b)
	}
	qb := w.queue.check()
	rep.Checks = append(rep.Checks, fmt.Sprintf("queue: %d pushes, %d deliveries by BLPOP: each element delivered at most once, only if pushed, every acknowledged push delivered or left (but for pops whose reply was lost), producers' order kept: %d violation(s)",
		w.queue.stats().Checked, w.queue.delivered(), len(qb)))
	probs = append(probs, qb...)
	ab := w.appends.check()
	rep.Checks = append(rep.Checks, fmt.Sprintf("append: %d pushes, %d reads of whole lists: no element twice, only if pushed, every acknowledged push kept, every read the start of the final list and holding what was acknowledged or read before it began: %d violation(s)",
		w.appends.stats().Checked, w.appends.readCount(), len(ab)))
	probs = append(probs, ab...)
	r.probMu.Lock()
	r.probs = append(r.probs, probs...)
	r.probMu.Unlock()

	rep.addFile("history-register.jsonl", historyJSON(regOps))
	rep.addFile("history-counter.jsonl", historyJSON(ctrOps))
	rep.addFile("history-transfer.txt", func(f *os.File) error {
		_, err := f.WriteString(strings.Join(banklog, "\n") + "\n")
		return err
	})
	rep.addFile("history-queue.txt", func(f *os.File) error {
		_, err := f.WriteString(w.queue.history())
		return err
	})
	rep.addFile("history-append.txt", func(f *os.File) error {
		_, err := f.WriteString(w.appends.history())
		return err
	})
}
