package shard

import (
	"fmt"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// readAhead is an engine that records what it is asked to read ahead.
type readAhead struct {
	*memory.Engine
	keys  []string
	colls []string // "key: elem elem …" per PrefetchCollection call
}

func (e *readAhead) Prefetch(keys [][]byte) {
	for _, k := range keys {
		e.keys = append(e.keys, string(k))
	}
}

func (e *readAhead) PrefetchCollection(key []byte, elems [][]byte) {
	e.colls = append(e.colls, fmt.Sprintf("%s: %q", key, elems))
}

// TestLookahead checks what a Lookahead hands to the keyspace: each key
// once per run of commands on it, the elements by runs of one collection,
// nothing for a single key or keyless commands, and nothing left over for
// the next group.
func TestLookahead(t *testing.T) {
	spec := func(name string) *command.Spec {
		s := command.Redis.Lookup([]byte(name))
		if s == nil {
			t.Fatalf("no command %s", name)
		}
		return s
	}
	args := func(a ...string) [][]byte {
		b := make([][]byte, len(a))
		for i, s := range a {
			b[i] = []byte(s)
		}
		return b
	}
	e := &readAhead{Engine: memory.New()}
	db := keyspace.New(e)
	var l Lookahead

	l.Add(spec("get"), args("get", "a"))
	l.Add(spec("set"), args("set", "a", "1"))
	l.Add(spec("randomkey"), args("randomkey"))
	l.Add(spec("sismember"), args("sismember", "s", "x"))
	l.Add(spec("sismember"), args("sismember", "s", "y"))
	l.Add(spec("hget"), args("hget", "h", "f"))
	l.Add(spec("get"), args("get")) // arity is checked later; no key here
	l.Prefetch(db)
	if want := []string{"a", "s", "h"}; !slices.Equal(e.keys, want) {
		t.Errorf("keys read ahead %q, want %q", e.keys, want)
	}
	if want := []string{`s: ["x" "y"]`, `h: ["f"]`}; !slices.Equal(e.colls, want) {
		t.Errorf("collections read ahead %q, want %q", e.colls, want)
	}

	e.keys, e.colls = nil, nil
	l.Add(spec("get"), args("get", "b"))
	l.Prefetch(db)
	if len(e.keys) != 0 || len(e.colls) != 0 {
		t.Errorf("one lookup read ahead: keys %q, collections %q; want nothing (and nothing from the group before)", e.keys, e.colls)
	}
	l.Add(spec("get"), args("get", "c"))
	l.Add(spec("get"), args("get", "d"))
	l.Prefetch(db)
	if want := []string{"c", "d"}; !slices.Equal(e.keys, want) {
		t.Errorf("keys read ahead %q, want %q (only this group's)", e.keys, want)
	}
}
