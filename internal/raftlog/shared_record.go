package raftlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/data-cluster/data-cluster/internal/binread"
)

// recGroup is the type of a record that carries a record of one group of a
// shared log: the group's id, then the payload of an entries, hardstate,
// snapmark, drop or snapshot record.
const recGroup recType = 6

// recDrop is the type of a record that ends a group's log on this node: the
// entries, hard state and snapshots of the group written before it are
// discarded. It has no body and is found only in a group record.
const recDrop recType = 7

// File kinds of a shared log, named by header records.
const (
	kindShared        = 'M' // a segment of a shared log
	kindGroupSnapshot = 'G' // the snapshot of one group of a shared log
)

// beginGroup reserves room for a record header at the end of b and starts a
// group record of group id wrapping a record of type t. The finish function
// of t completes it.
func beginGroup(b []byte, id uint32, t recType) ([]byte, int) {
	b, start := begin(b, recGroup)
	b = binary.AppendUvarint(b, uint64(id))
	return append(b, byte(t)), start
}

// appendGroupEntries appends a group record of id holding an entries
// record; ents must not be empty.
func appendGroupEntries(b []byte, id uint32, ents []*raftpb.Entry) ([]byte, error) {
	b, start := beginGroup(b, id, recEntries)
	return finishEntries(b, start, ents)
}

// appendGroupHardState appends a group record of id holding a hardstate
// record.
func appendGroupHardState(b []byte, id uint32, hs *raftpb.HardState) []byte {
	b, start := beginGroup(b, id, recHardState)
	return finishHardState(b, start, hs)
}

// appendGroupSnapMark appends a group record of id holding a snapmark
// record.
func appendGroupSnapMark(b []byte, id uint32, index, term uint64) []byte {
	b, start := beginGroup(b, id, recSnapMark)
	return finishSnapMark(b, start, index, term)
}

// groupSnapshotParts appends to b a group record of id holding a snapshot
// record of snap, and returns it in three parts to be written one after
// the other: b with the records' headers, snap's data itself (not copied),
// and the snapshot's metadata. So a large snapshot is written without a
// second copy of its data in memory.
func groupSnapshotParts(b []byte, id uint32, snap *raftpb.Snapshot) ([3][]byte, error) {
	b, start := beginGroup(b, id, recSnapshot)
	// Encoded as proto encodes the message: the data (field 1, left out
	// when nil), then the metadata (field 2).
	if snap.Data != nil {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(len(snap.Data)))
	}
	md, err := sizeOpts.Marshal(&raftpb.Snapshot{Metadata: snap.GetMetadata()})
	if err != nil {
		return [3][]byte{}, err
	}
	b, err = sealParts(b, start, snap.Data, md)
	return [3][]byte{b, snap.Data, md}, err
}

// groupSnapshotHead appends to b the start of a group record of id holding
// a snapshot record whose data, size bytes, the caller writes after it,
// followed by the metadata md returns: the record as groupSnapshotParts
// frames it, but for the header's payload checksum, which finishCRC fills
// in once the payload went by. start is where the record begins in b.
func groupSnapshotHead(b []byte, id uint32, md *raftpb.SnapshotMetadata, size int) (head []byte, start int, mdb []byte, err error) {
	b, start = beginGroup(b, id, recSnapshot)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	mdb, err = sizeOpts.Marshal(&raftpb.Snapshot{Metadata: md})
	if err != nil {
		return nil, 0, nil, err
	}
	n := len(b) - start - headerSize + size + len(mdb)
	if n > maxPayload {
		return nil, 0, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start:start+4], castagnoli))
	return b, start, mdb, nil
}

// appendGroupDrop appends a group record of id holding a drop record.
func appendGroupDrop(b []byte, id uint32) []byte {
	b, start := beginGroup(b, id, recDrop)
	return finishDrop(b, start)
}

// finishDrop seals the drop record begun at start, which has no body.
func finishDrop(b []byte, start int) []byte {
	b, _ = seal(b, start) // small
	return b
}

// decodeGroup parses the payload p of a group record: it returns the group
// id and the record it wraps, which is of type entries, hardstate,
// snapmark, drop or snapshot. The messages it returns do not alias p.
func decodeGroup(p []byte) (uint32, record, error) {
	if len(p) == 0 || recType(p[0]) != recGroup {
		if len(p) > 0 {
			return 0, record{}, fmt.Errorf("unexpected record type %d in a shared log", p[0])
		}
		return 0, record{}, errDecode
	}
	d := binread.Reader{B: p[1:]}
	id := d.Uvarint()
	if d.Bad || id > math.MaxUint32 {
		return 0, record{}, errDecode
	}
	rec, err := decode(d.B)
	if err != nil {
		return 0, rec, err
	}
	switch rec.typ {
	case recEntries, recHardState, recSnapMark, recDrop, recSnapshot:
		return uint32(id), rec, nil
	}
	return 0, record{}, fmt.Errorf("unexpected record type %d in a group record", rec.typ)
}
