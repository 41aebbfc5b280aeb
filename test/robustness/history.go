package main

import (
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/anishathalye/porcupine"
)

// never is the return time of an operation whose outcome is unknown: it
// may take effect at any time after its call, or never.
const never int64 = 1 << 62

// Kinds of register and counter operations.
const (
	opRead  = "get"
	opWrite = "set"
	opIncr  = "incr"
)

// opInput is what a register or counter operation asked.
type opInput struct {
	Key   string `json:"key"`
	Kind  string `json:"kind"`
	Value string `json:"value,omitempty"` // a set's value
}

// opOutput is what it got: a get's value ("" for none) or an incr's new
// value; Unknown for an operation whose outcome is unknown.
type opOutput struct {
	Value   string `json:"value"`
	Unknown bool   `json:"unknown,omitempty"`
}

// opMeta says how an operation was sent, for the visualization and the
// history file.
type opMeta struct {
	Node  int    `json:"node"` // 1-based
	Proto string `json:"proto"`
	Err   string `json:"err,omitempty"`
}

// readOp is a read over RESP through node (0-based) that returned value.
func readOp(client int, key, value string, call, ret int64, node int) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: opInput{Key: key, Kind: opRead}, Output: opOutput{Value: value},
		Call: call, Return: ret, Metadata: opMeta{Node: node + 1, Proto: "resp"}}
}

// history is the operations of one workload. Its methods are safe for
// concurrent use.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
}

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

func (h *history) snapshot() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// byKey partitions a history by key, in the order keys first appear.
func byKey(ops []porcupine.Operation) [][]porcupine.Operation {
	idx := map[string]int{}
	var out [][]porcupine.Operation
	for _, op := range ops {
		k := op.Input.(opInput).Key
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], op)
	}
	return out
}

func describeMeta(m any) string {
	md, ok := m.(opMeta)
	if !ok {
		return ""
	}
	s := fmt.Sprintf("n%d %s", md.Node, md.Proto)
	if md.Err != "" {
		s += " " + md.Err
	}
	return s
}

// registerModel is a register per key: a get returns the last value set,
// "" before any. A set of unknown outcome may take effect at any time
// after its call, or never (it is given return time never, and so can be
// linearized after everything else).
var registerModel = porcupine.Model{
	Partition: byKey,
	Init:      func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(opInput), output.(opOutput)
		if in.Kind == opWrite {
			return true, in.Value
		}
		return out.Value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		if in.Kind == opWrite {
			if out.Unknown {
				return fmt.Sprintf("set %s %s ?", in.Key, in.Value)
			}
			return fmt.Sprintf("set %s %s", in.Key, in.Value)
		}
		return fmt.Sprintf("get %s → %q", in.Key, out.Value)
	},
	DescribeState:             func(state any) string { return fmt.Sprintf("%q", state) },
	DescribeOperationMetadata: describeMeta,
}

// counterModel is an integer per key, 0 at first: incr adds one and
// returns the new value (any value if its outcome is unknown), get
// returns the value.
var counterModel = porcupine.Model{
	Partition: byKey,
	Init:      func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(opInput), output.(opOutput)
		v := state.(int64)
		if in.Kind == opIncr {
			if out.Unknown {
				return true, v + 1
			}
			return out.Value == strconv.FormatInt(v+1, 10), v + 1
		}
		got := int64(0)
		if out.Value != "" {
			var err error
			if got, err = strconv.ParseInt(out.Value, 10, 64); err != nil {
				return false, state
			}
		}
		return got == v, state
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		if in.Kind == opIncr {
			if out.Unknown {
				return fmt.Sprintf("incr %s → ?", in.Key)
			}
			return fmt.Sprintf("incr %s → %s", in.Key, out.Value)
		}
		return fmt.Sprintf("get %s → %q", in.Key, out.Value)
	},
	DescribeState:             func(state any) string { return strconv.FormatInt(state.(int64), 10) },
	DescribeOperationMetadata: describeMeta,
}

// counterBounds checks each counter's final value against its increments:
// at least every acknowledged one, at most those plus every one of unknown
// outcome. final maps each key to its value read after the run; every key
// incremented must be in it. It returns one line per violation.
func counterBounds(ops []porcupine.Operation, final map[string]int64) []string {
	type count struct{ acked, unknown int64 }
	counts := map[string]*count{}
	for _, op := range ops {
		in := op.Input.(opInput)
		if in.Kind != opIncr {
			continue
		}
		c := counts[in.Key]
		if c == nil {
			c = &count{}
			counts[in.Key] = c
		}
		if op.Output.(opOutput).Unknown {
			c.unknown++
		} else {
			c.acked++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var bad []string
	for _, k := range keys {
		c := counts[k]
		v, ok := final[k]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("counter %s: no final value read", k))
		case v < c.acked:
			bad = append(bad, fmt.Sprintf("counter %s: final value %d < %d acknowledged increments (lost increments)", k, v, c.acked))
		case v > c.acked+c.unknown:
			bad = append(bad, fmt.Sprintf("counter %s: final value %d > %d acknowledged + %d unknown increments (an increment applied twice, or a failed one applied)", k, v, c.acked, c.unknown))
		}
	}
	return bad
}
