package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// These tests check the suite's own parts without starting a cluster; the
// run against real processes is robustness_ci_test.go (build tag
// robustness).

func set(client int, key, value string, call, ret int64) porcupine.Operation {
	out := opOutput{}
	if ret == never {
		out.Unknown = true
	}
	return porcupine.Operation{ClientId: client, Input: opInput{Key: key, Kind: opWrite, Value: value}, Output: out, Call: call, Return: ret}
}

func get(client int, key, value string, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: opInput{Key: key, Kind: opRead}, Output: opOutput{Value: value}, Call: call, Return: ret}
}

func incr(client int, key, value string, call, ret int64) porcupine.Operation {
	out := opOutput{Value: value}
	if ret == never {
		out = opOutput{Unknown: true}
	}
	return porcupine.Operation{ClientId: client, Input: opInput{Key: key, Kind: opIncr}, Output: out, Call: call, Return: ret}
}

func TestRegisterModel(t *testing.T) {
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want bool
	}{
		{"sequential", []porcupine.Operation{set(0, "k", "a", 0, 1), get(1, "k", "a", 2, 3)}, true},
		{"empty before any set", []porcupine.Operation{get(0, "k", "", 0, 1), set(1, "k", "a", 2, 3)}, true},
		{"stale read", []porcupine.Operation{set(0, "k", "a", 0, 1), set(0, "k", "b", 2, 3), get(1, "k", "a", 4, 5)}, false},
		{"lost acknowledged write", []porcupine.Operation{set(0, "k", "a", 0, 1), get(1, "k", "", 2, 3)}, false},
		{"read of a value never written", []porcupine.Operation{get(0, "k", "z", 0, 1)}, false},
		{"unknown write seen later", []porcupine.Operation{set(0, "k", "a", 0, never), get(1, "k", "a", 5, 6)}, true},
		{"unknown write never seen", []porcupine.Operation{set(0, "k", "a", 0, never), get(1, "k", "", 5, 6)}, true},
		{"unknown write seen then unseen", []porcupine.Operation{set(0, "k", "a", 0, never), get(1, "k", "a", 5, 6), get(1, "k", "", 7, 8)}, false},
		{"keys apart", []porcupine.Operation{set(0, "k", "a", 0, 1), set(0, "j", "b", 2, 3), get(1, "k", "a", 4, 5), get(1, "j", "b", 4, 5)}, true},
		{"concurrent read may see either", []porcupine.Operation{set(0, "k", "a", 0, 1), set(0, "k", "b", 2, 10), get(1, "k", "a", 3, 4), get(2, "k", "b", 5, 6)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(registerModel, tt.ops); got != tt.want {
				t.Fatalf("linearizable: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCounterModel(t *testing.T) {
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want bool
	}{
		{"sequential", []porcupine.Operation{incr(0, "c", "1", 0, 1), incr(0, "c", "2", 2, 3), get(1, "c", "2", 4, 5)}, true},
		{"zero before any incr", []porcupine.Operation{get(0, "c", "", 0, 1), incr(0, "c", "1", 2, 3)}, true},
		{"applied twice", []porcupine.Operation{incr(0, "c", "1", 0, 1), get(1, "c", "2", 2, 3)}, false},
		{"lost increment", []porcupine.Operation{incr(0, "c", "1", 0, 1), incr(0, "c", "2", 2, 3), get(1, "c", "1", 4, 5)}, false},
		{"unknown applied", []porcupine.Operation{incr(0, "c", "", 0, never), incr(1, "c", "2", 2, 3)}, true},
		{"unknown not applied", []porcupine.Operation{incr(0, "c", "", 0, never), incr(1, "c", "1", 2, 3), get(1, "c", "1", 4, 5)}, true},
		{"duplicate reply", []porcupine.Operation{incr(0, "c", "1", 0, 1), incr(1, "c", "1", 2, 3)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(counterModel, tt.ops); got != tt.want {
				t.Fatalf("linearizable: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCounterBounds(t *testing.T) {
	ops := []porcupine.Operation{incr(0, "c", "1", 0, 1), incr(0, "c", "2", 2, 3), incr(1, "c", "", 4, never), incr(0, "d", "1", 0, 1)}
	tests := []struct {
		name  string
		final map[string]int64
		bad   []string // substrings of the violations, in key order
	}{
		{"acknowledged only", map[string]int64{"c": 2, "d": 1}, nil},
		{"with the unknown one", map[string]int64{"c": 3, "d": 1}, nil},
		{"lost", map[string]int64{"c": 1, "d": 1}, []string{"lost increments"}},
		{"too many", map[string]int64{"c": 4, "d": 0}, []string{"applied twice", "lost increments"}},
		{"missing", map[string]int64{"c": 2}, []string{"no final value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := counterBounds(ops, tt.final)
			if len(got) != len(tt.bad) {
				t.Fatalf("got %q, want %d violations", got, len(tt.bad))
			}
			for i, want := range tt.bad {
				if !strings.Contains(got[i], want) {
					t.Fatalf("violation %d: got %q, want it to mention %q", i, got[i], want)
				}
			}
		})
	}
}

func TestScheduleIsSeeded(t *testing.T) {
	a, b := newSchedule(42, allKinds), newSchedule(42, allKinds)
	var kinds []string
	for i := range 30 {
		sa, sb := a.next(), b.next()
		if sa.kind != sb.kind || sa.hold != sb.hold || sa.quiet != sb.quiet || !slices.Equal(sa.nodes, sb.nodes) {
			t.Fatalf("step %d: got %+v and %+v from the same seed", i, sa, sb)
		}
		if sa.kind == faultPauseLeader && sa.hold < 2*time.Second {
			t.Fatalf("step %d: a pause of %v is not longer than the election timeout (1-2 s)", i, sa.hold)
		}
		if i < len(allKinds) {
			kinds = append(kinds, sa.kind)
		}
	}
	slices.Sort(kinds)
	want := slices.Sorted(slices.Values(allKinds))
	if !slices.Equal(kinds, want) {
		t.Fatalf("the first %d steps ran %v, want every kind once", len(allKinds), kinds)
	}
	if !a.covered() {
		t.Fatal("covered() is false after every kind was drawn")
	}
	c := newSchedule(43, allKinds)
	differ := false
	for range 10 {
		sa, sc := a.next(), c.next()
		differ = differ || sa.kind != sc.kind || sa.hold != sc.hold
	}
	if !differ {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		in   string
		want reply
	}{
		{"+OK\r\n", reply{kind: '+', str: "OK"}},
		{"-CLUSTERDOWN The cluster is down\r\n", reply{kind: '-', str: "CLUSTERDOWN The cluster is down"}},
		{":42\r\n", reply{kind: ':', num: 42}},
		{"$3\r\nabc\r\n", reply{kind: '$', str: "abc"}},
		{"$-1\r\n", reply{kind: '$', null: true}},
		{"*2\r\n:1\r\n$1\r\nx\r\n", reply{kind: '*', arr: []reply{{kind: ':', num: 1}, {kind: '$', str: "x"}}}},
	}
	for _, tt := range tests {
		got, err := readReply(bufio.NewReader(strings.NewReader(tt.in)), 0)
		if err != nil || !equalReply(got, tt.want) {
			t.Fatalf("readReply(%q): got %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "?\r\n", ":x\r\n", "$5\r\nab"} {
		if _, err := readReply(bufio.NewReader(strings.NewReader(bad)), 0); err == nil {
			t.Fatalf("readReply(%q): no error", bad)
		}
	}
}

func equalReply(a, b reply) bool {
	if a.kind != b.kind || a.str != b.str || a.num != b.num || a.null != b.null || len(a.arr) != len(b.arr) {
		return false
	}
	for i := range a.arr {
		if !equalReply(a.arr[i], b.arr[i]) {
			return false
		}
	}
	return true
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		r    reply
		err  error
		sent bool
		want outcome
	}{
		{"ok", reply{kind: '+', str: "OK"}, nil, true, done},
		{"line value", reply{kind: 'L', str: "v1.2"}, nil, true, done},
		{"never sent", reply{}, errors.New("refused"), false, notDone},
		{"cluster down", reply{kind: '-', str: "CLUSTERDOWN The cluster is down"}, nil, true, notDone},
		{"busy on the line protocol", reply{kind: 'L', str: "BUSY server is busy, try again later"}, nil, true, notDone},
		{"unknown", reply{kind: '-', str: "UNKNOWN the write was not confirmed in time"}, nil, true, unknown},
		{"unknown on the line protocol", reply{kind: 'L', str: "UNKNOWN the write was not confirmed in time"}, nil, true, unknown},
		{"timeout", reply{}, io.ErrUnexpectedEOF, true, unknown},
		{"another error", reply{kind: '-', str: "ERR something"}, nil, true, unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.r, tt.err, tt.sent); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// A report with a problem fails and names its seed; one without passes.
func TestReportVerdict(t *testing.T) {
	rep := &Report{Seed: 9, Faults: []Fault{{Kind: faultKill, Failover: time.Second, Recovery: 10 * time.Millisecond}}}
	if !rep.OK() || !strings.Contains(rep.Table(), "verdict: PASS") || rep.FaultCount(faultKill) != 1 {
		t.Fatalf("a report without problems: got %q", rep.Table())
	}
	rep.Problems = append(rep.Problems, "linearizability: x")
	if rep.OK() || !strings.Contains(rep.Table(), "verdict: FAIL (seed 9)") {
		t.Fatalf("a report with a problem: got %q", rep.Table())
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{{"--net", "bogus"}, {"--faults", "nope"}, {"--net", "loopback", "--faults", "bridge"}, {"--undefined"}} {
		var out, errw strings.Builder
		if code := run(context.Background(), args, &out, &errw); code != 2 {
			t.Fatalf("run %v: got exit %d, want 2; stderr %q", args, code, errw.String())
		}
	}
}

// TestQueueCheck plants each fault the queue check looks for in a small
// history and checks that it is found, and that a clean history passes.
func TestQueueCheck(t *testing.T) {
	build := func(pushes map[string]outcome, pops []string, lost int64, final map[string][]string) *queues {
		q := newQueues([]string{"q0", "q1"})
		for _, e := range []string{"p0.0", "p0.1", "p0.2", "p1.0"} {
			if o, ok := pushes[e]; ok {
				key := "q0"
				if e == "p1.0" {
					key = "q1"
				}
				q.pushed[e] = queuePush{key: key, o: o}
				if o == done {
					pk := e[1:2] + "/" + key
					q.order[pk] = append(q.order[pk], e)
				}
			}
		}
		for _, e := range pops {
			q.popped[e] = append(q.popped[e], "n1")
		}
		q.lostPops = lost
		q.final = final
		return q
	}
	all := map[string]outcome{"p0.0": done, "p0.1": done, "p0.2": done, "p1.0": done}
	tests := []struct {
		name   string
		q      *queues
		expect string // a violation containing it, or "" for none
	}{
		{"clean", build(all, []string{"p0.0"}, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), ""},
		{"delivered twice", build(all, []string{"p0.0", "p0.0"}, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), "delivered 2 times"},
		{"delivered and left", build(all, []string{"p0.1"}, 1, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), "is still in q0"},
		{"never pushed", build(map[string]outcome{"p0.1": done, "p0.2": done, "p1.0": done}, []string{"p0.0"}, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), "never pushed"},
		{"push that did not run delivered", build(map[string]outcome{"p0.0": notDone, "p0.1": done, "p0.2": done, "p1.0": done}, []string{"p0.0"}, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), "never pushed"},
		{"lost", build(all, nil, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), "neither delivered nor in their list"},
		{"lost, but a pop lost its reply", build(all, nil, 1, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), ""},
		{"unknown push never seen", build(map[string]outcome{"p0.0": unknown, "p0.1": done, "p0.2": done, "p1.0": done}, nil, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0"}}), ""},
		{"wrong list", build(all, []string{"p0.0"}, 0, map[string][]string{"q0": {"p0.1"}, "q1": {"p0.2", "p1.0"}}), "was pushed to q0 and is in q1"},
		{"reordered", build(all, []string{"p0.0"}, 0, map[string][]string{"q0": {"p0.2", "p0.1"}, "q1": {"p1.0"}}), "pushed after it by the same producer"},
		{"in two lists", build(all, []string{"p0.0"}, 0, map[string][]string{"q0": {"p0.1", "p0.2"}, "q1": {"p1.0", "p0.1"}}), "at the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectViolation(t, tt.q.check(), tt.expect) })
	}
}

// expectViolation fails t unless bad holds a violation containing expect,
// or, with expect empty, none at all.
func expectViolation(t *testing.T, bad []string, expect string) {
	t.Helper()
	if expect == "" {
		if len(bad) > 0 {
			t.Fatalf("violations in a clean history: %q", bad)
		}
		return
	}
	if !slices.ContainsFunc(bad, func(s string) bool { return strings.Contains(s, expect) }) {
		t.Fatalf("violations %q, want one saying %q", bad, expect)
	}
}

// TestAppendCheck plants each fault the append check looks for in a small
// history of one list and checks that it is found, and that a clean
// history passes.
func TestAppendCheck(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// The pushes: a0.0 sent at 0 ms, acknowledged at 10 ms; a0.1 sent at
	// 20, acknowledged at 30; a0.2 sent at 40, unknown.
	type read struct {
		start, end int
		elems      []string
	}
	build := func(outcomes []outcome, final []string, reads ...read) *appends {
		a := newAppends()
		a.keys["a0:0"] = true
		for i, o := range outcomes {
			a.pushed[fmt.Sprintf("a0.%d", i)] = appendPush{key: "a0:0", o: o, sent: ms(20 * i), ack: ms(20*i + 10)}
		}
		for _, r := range reads {
			a.reads = append(a.reads, appendRead{key: "a0:0", start: ms(r.start), end: ms(r.end), n: len(r.elems), sum: sumOf(r.elems), node: 1})
		}
		a.final["a0:0"] = final
		return a
	}
	pushes := []outcome{done, done, unknown}
	full := []string{"a0.0", "a0.1", "a0.2"}
	tests := []struct {
		name   string
		a      *appends
		expect string // a violation containing it, or "" for none
	}{
		{"clean", build(pushes, full, read{5, 8, nil}, read{12, 15, full[:1]}, read{35, 45, full[:2]}, read{50, 60, full}), ""},
		{"unknown push never applied", build(pushes, full[:2], read{50, 60, full[:2]}), ""},
		{"applied twice", build(pushes, []string{"a0.0", "a0.1", "a0.1"}), "in a0:0 twice (at 1 and 2)"},
		{"in two lists", func() *appends {
			a := build(pushes, full)
			a.keys["a0:1"], a.final["a0:1"] = true, []string{"a0.1"}
			return a
		}(), "a0.1 is in a0:0 and in a0:1"},
		{"never pushed", build(pushes, []string{"a0.0", "a0.1", "a0.7"}), "never pushed"},
		{"push that did not run applied", build([]outcome{done, done, notDone}, full), "never pushed"},
		{"acknowledged push lost", build(pushes, []string{"a0.1"}), "not in their list at the end"},
		{"read not a prefix", build(pushes, full, read{35, 45, []string{"a0.1"}}), "not the first 1"},
		{"read of what was lost", build(pushes, full[:2], read{50, 60, full}), "not the first 3"},
		{"stale read", build(pushes, full, read{12, 15, nil}), "after the push at place 0 was acknowledged"},
		{"read going back", build(pushes, full, read{41, 43, full}, read{45, 50, full[:2]}), "after an earlier read saw 3"},
		{"read from the future", build(pushes, full, read{30, 35, full}), "pushed at 40ms, after the read ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { expectViolation(t, tt.a.check(), tt.expect) })
	}
}
