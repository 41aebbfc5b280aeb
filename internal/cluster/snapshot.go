package cluster

import (
	"encoding/binary"
	"fmt"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
)

// A group's snapshot data is its whole keyspace:
//
//	version u8 (1) | count uvarint | count × (key | value | expireAt i64)
//
// with key and value each as len uvarint | bytes. Keys that have expired but
// were not yet removed through the log are kept: removing them is the log's
// business, and a replica installing the snapshot must end up with exactly
// the leader's keys.
const snapshotVersion = 1

// engine is what a replica keeps its keys in: an engine that copies its
// entries at once for a snapshot to encode elsewhere (storage.Freezer).
type engine interface {
	storage.Engine
	storage.Freezer
}

func newEngine() engine { return arena.New() }

// encodeKeyspace returns the snapshot data of e's entries.
func encodeKeyspace(e storage.Scanner) []byte {
	buf := make([]byte, 0, 64+e.Len()*32)
	buf = append(buf, snapshotVersion)
	buf = binary.AppendUvarint(buf, uint64(e.Len()))
	var cursor uint64
	for {
		cursor = e.Scan(cursor, func(k, v []byte, at int64) bool {
			buf = binary.AppendUvarint(buf, uint64(len(k)))
			buf = append(buf, k...)
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(at))
			return true
		})
		if cursor == 0 {
			return buf
		}
	}
}

// restore replaces db's keys with those of snapshot data.
func (g *Group) restore(data []byte) error {
	g.db.Flush()
	if len(data) == 0 {
		return nil
	}
	if data[0] != snapshotVersion {
		return fmt.Errorf("cluster: snapshot version %d not understood", data[0])
	}
	d := binread.Reader{B: data[1:]}
	n := d.Uvarint()
	e := g.db.Engine()
	for range n {
		k, v, at := d.Bytes(), d.Bytes(), int64(d.U64())
		if d.Bad {
			return fmt.Errorf("cluster: snapshot data: %w", errBadEntry)
		}
		e.Set(k, v, at)
	}
	g.keysCount.Store(int64(e.Len()))
	return nil
}
