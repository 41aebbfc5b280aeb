package cluster

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/placement"
)

// ReplicaStore keeps the Raft replica id of each group a node holds, so
// that a restarted node opens its replicas under the ids they were created
// with: an id is given by the placement table once and never reused, and a
// Raft log does not record its owner's id.
type ReplicaStore interface {
	// Load returns the replica id of each group held, by group number
	// (the metadata group under its number too).
	Load() (map[int]uint64, error)
	// Save replaces what is kept, durably, before it returns.
	Save(map[int]uint64) error
}

// loadHeld returns what store keeps, by replica index (the metadata group
// at metaIndex). The store keeps the metadata group under MetaStorage; a
// file written before the number of groups could change has it under the
// number of groups, founding, which the node started with.
func loadHeld(store ReplicaStore, founding int) (map[int]uint64, error) {
	m, err := store.Load()
	if err != nil {
		return nil, err
	}
	held := map[int]uint64{}
	_, current := m[MetaStorage]
	for g, id := range m {
		switch {
		case g == MetaStorage || !current && g == founding:
			held[metaIndex] = id
		case g >= 0 && g < placement.MaxShards:
			held[g] = id
		default:
			return nil, fmt.Errorf("cluster: replica ids: no group %d", g)
		}
	}
	return held, nil
}

// saveHeld keeps held in store, the metadata group under MetaStorage.
func saveHeld(store ReplicaStore, held map[int]uint64) error {
	m := make(map[int]uint64, len(held))
	for g, id := range held {
		if g == metaIndex {
			g = MetaStorage
		}
		m[g] = id
	}
	return store.Save(m)
}

// memReplicas is a ReplicaStore in memory, for nodes whose logs are not
// kept either.
type memReplicas struct {
	mu sync.Mutex
	m  map[int]uint64
}

func (s *memReplicas) Load() (map[int]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m), nil
}

func (s *memReplicas) Save(m map[int]uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = maps.Clone(m)
	return nil
}

// FileReplicas is a ReplicaStore in a text file of "group id" lines,
// replaced whole and fsynced on every Save.
type FileReplicas string

// Load reads the file; a missing file holds nothing.
func (f FileReplicas) Load() (map[int]uint64, error) {
	b, err := os.ReadFile(string(f))
	if errors.Is(err, os.ErrNotExist) {
		return map[int]uint64{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[int]uint64{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		gs, ids, ok := strings.Cut(line, " ")
		g, err1 := strconv.Atoi(gs)
		id, err2 := strconv.ParseUint(ids, 10, 64)
		if !ok || err1 != nil || err2 != nil || id == 0 {
			return nil, fmt.Errorf("cluster: %s line %d: %q is not \"group replica-id\"", string(f), i+1, line)
		}
		m[g] = id
	}
	return m, nil
}

// Save writes m to a temporary file, fsyncs it and renames it over the
// file.
func (f FileReplicas) Save(m map[int]uint64) error {
	var b strings.Builder
	for _, g := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%d %d\n", g, m[g])
	}
	return fsutil.WriteFileAtomic(string(f), []byte(b.String()))
}
