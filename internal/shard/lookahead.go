package shard

import (
	"bytes"
	"log/slog"
	"runtime/debug"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// Lookahead gathers the keys, and the collection elements, that a group of
// commands is about to look up, so that the keyspace reads them ahead
// together (see storage.Prefetcher): looking keys up one after the other
// costs a cache miss at a time, and that is most of a simple command's time
// in a large keyspace. A shard and a cluster group each keep one and reuse
// it for every group of commands they run.
type Lookahead struct {
	keys [][]byte
	// elemKeys and elems are the elements the commands look up in
	// collections (command.Spec.Elem), each with its collection's key.
	elemKeys, elems [][]byte
}

// Add notes what the command args of spec will look up.
func (l *Lookahead) Add(spec *command.Spec, args [][]byte) {
	k := spec.FirstKey
	if k <= 0 || k >= len(args) {
		return
	}
	key := args[k]
	// A run of commands on one key (a client's pipeline on one set, say)
	// needs it read ahead once.
	if n := len(l.keys); n == 0 || !bytes.Equal(l.keys[n-1], key) {
		l.keys = append(l.keys, key)
	}
	if e := spec.Elem; e > 0 && e < len(args) {
		l.elemKeys = append(l.elemKeys, key)
		l.elems = append(l.elems, args[e])
	}
}

// Prefetch hands what Add noted to db to read ahead, when there is more
// than one lookup to overlap, and forgets it. Reading ahead changes
// nothing, so a panic in it is logged and the commands run without.
func (l *Lookahead) Prefetch(db *keyspace.DB) {
	if len(l.keys) > 1 || len(l.elems) > 1 {
		l.prefetch(db)
	}
	clear(l.keys)
	l.keys = l.keys[:0]
	clear(l.elemKeys)
	l.elemKeys = l.elemKeys[:0]
	clear(l.elems)
	l.elems = l.elems[:0]
}

func (l *Lookahead) prefetch(db *keyspace.DB) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("panic while reading keys ahead", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if len(l.keys) > 1 {
		db.Prefetch(l.keys)
	}
	for i := 0; i < len(l.elems); {
		j := i + 1
		for j < len(l.elems) && bytes.Equal(l.elemKeys[j], l.elemKeys[i]) {
			j++
		}
		db.PrefetchCollection(l.elemKeys[i], l.elems[i:j])
		i = j
	}
}
