package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/data-cluster/data-cluster/internal/binread"
)

// recType is the first byte of a record's payload.
type recType uint8

// Record types; see the package documentation.
const (
	recHeader    recType = 1
	recEntries   recType = 2
	recHardState recType = 3
	recSnapMark  recType = 4
	recSnapshot  recType = 5
)

// File kinds named by a header record.
const (
	kindSegment  = 'L'
	kindSnapshot = 'S'
)

const (
	headerSize    = 12
	magic         = "dcraftlg"
	formatVersion = 1
	maxPayload    = 1<<32 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	sizeOpts   = proto.MarshalOptions{}
	appendOpts = proto.MarshalOptions{UseCachedSize: true}
)

// begin reserves room for a record header at the end of b and appends the
// record type.
func begin(b []byte, t recType) ([]byte, int) {
	start := len(b)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(t)), start
}

// seal fills in the header of the record that starts at start and runs to
// the end of b. A record too large to frame is removed again.
func seal(b []byte, start int) ([]byte, error) {
	return sealParts(b, start)
}

// sealParts is seal for a record whose payload goes on past the end of b
// with parts, which the caller writes right after b.
func sealParts(b []byte, start int, parts ...[]byte) ([]byte, error) {
	n := len(b) - start - headerSize
	crc := crc32.Checksum(b[start+headerSize:], castagnoli)
	for _, p := range parts {
		n += len(p)
		crc = crc32.Update(crc, castagnoli, p)
	}
	if n > maxPayload {
		return b[:start], fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start:start+4], castagnoli))
	binary.LittleEndian.PutUint32(b[start+8:], crc)
	return b, nil
}

// appendHeader appends the header record of a file of kind; seq is the
// segment number or the snapshot index.
func appendHeader(b []byte, kind byte, seq uint64) []byte {
	b, start := begin(b, recHeader)
	b = append(b, magic...)
	b = append(b, kind, formatVersion)
	b = binary.AppendUvarint(b, seq)
	b, _ = seal(b, start) // small
	return b
}

// appendEntries appends an entries record; ents must not be empty.
func appendEntries(b []byte, ents []*raftpb.Entry) ([]byte, error) {
	b, start := begin(b, recEntries)
	return finishEntries(b, start, ents)
}

// finishEntries appends the body of the entries record begun at start and
// seals it.
func finishEntries(b []byte, start int, ents []*raftpb.Entry) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(ents)))
	for _, e := range ents {
		b = binary.AppendUvarint(b, uint64(sizeOpts.Size(e)))
		var err error
		if b, err = appendOpts.MarshalAppend(b, e); err != nil {
			return b[:start], err
		}
	}
	return seal(b, start)
}

// appendHardState appends a hardstate record.
func appendHardState(b []byte, hs *raftpb.HardState) []byte {
	b, start := begin(b, recHardState)
	return finishHardState(b, start, hs)
}

// finishHardState appends the body of the hardstate record begun at start
// and seals it.
func finishHardState(b []byte, start int, hs *raftpb.HardState) []byte {
	b, err := sizeOpts.MarshalAppend(b, hs)
	if err != nil {
		// A HardState has three optional integers: it always marshals.
		panic("raftlog: cannot marshal a HardState: " + err.Error())
	}
	b, _ = seal(b, start) // small
	return b
}

// appendSnapMark appends a snapmark record.
func appendSnapMark(b []byte, index, term uint64) []byte {
	b, start := begin(b, recSnapMark)
	return finishSnapMark(b, start, index, term)
}

// finishSnapMark appends the body of the snapmark record begun at start and
// seals it.
func finishSnapMark(b []byte, start int, index, term uint64) []byte {
	b = binary.AppendUvarint(b, index)
	b = binary.AppendUvarint(b, term)
	b, _ = seal(b, start) // small
	return b
}

// appendSnapshot appends a snapshot record.
func appendSnapshot(b []byte, snap *raftpb.Snapshot) ([]byte, error) {
	b, start := begin(b, recSnapshot)
	return finishSnapshot(b, start, snap)
}

// finishSnapshot appends the body of the snapshot record begun at start and
// seals it.
func finishSnapshot(b []byte, start int, snap *raftpb.Snapshot) ([]byte, error) {
	b, err := sizeOpts.MarshalAppend(b, snap)
	if err != nil {
		return b[:start], err
	}
	return seal(b, start)
}

// record is one decoded record; only the fields of its type are set.
type record struct {
	typ recType
	// header
	kind byte
	seq  uint64
	// entries
	ents []*raftpb.Entry
	// hardstate
	hs *raftpb.HardState
	// snapmark
	index, term uint64
	// snapshot
	snap *raftpb.Snapshot
}

var errDecode = errors.New("record does not decode")

// decode parses payload p. The messages it returns do not alias p, but
// for a snapshot's data (decodeSnapshot).
func decode(p []byte) (record, error) {
	var rec record
	if len(p) == 0 {
		return rec, errDecode
	}
	rec.typ = recType(p[0])
	d := binread.Reader{B: p[1:]}
	switch rec.typ {
	case recHeader:
		if len(d.B) < len(magic)+2 || string(d.B[:len(magic)]) != magic {
			return rec, errors.New("bad file header")
		}
		rec.kind = d.B[len(magic)]
		if v := d.B[len(magic)+1]; v != formatVersion {
			return rec, fmt.Errorf("unknown format version %d", v)
		}
		d.B = d.B[len(magic)+2:]
		rec.seq = d.Uvarint()
	case recEntries:
		n := d.Uvarint()
		// Each entry takes at least its length byte.
		if n == 0 || n > uint64(len(d.B)) {
			return rec, errDecode
		}
		rec.ents = make([]*raftpb.Entry, n)
		for i := range rec.ents {
			b := d.Bytes()
			if d.Bad {
				return rec, errDecode
			}
			e := &raftpb.Entry{}
			if err := proto.Unmarshal(b, e); err != nil {
				return rec, fmt.Errorf("entry does not decode: %v", err)
			}
			if i > 0 && e.GetIndex() != rec.ents[i-1].GetIndex()+1 {
				return rec, fmt.Errorf("entry %d follows entry %d", e.GetIndex(), rec.ents[i-1].GetIndex())
			}
			rec.ents[i] = e
		}
	case recHardState:
		rec.hs = &raftpb.HardState{}
		if err := proto.Unmarshal(d.B, rec.hs); err != nil {
			return rec, fmt.Errorf("hard state does not decode: %v", err)
		}
		d.B = nil
	case recSnapMark:
		rec.index = d.Uvarint()
		rec.term = d.Uvarint()
	case recDrop:
		// No body.
	case recSnapshot:
		snap, err := decodeSnapshot(d.B)
		if err != nil {
			return rec, fmt.Errorf("snapshot does not decode: %v", err)
		}
		rec.snap, d.B = snap, nil
	default:
		return rec, fmt.Errorf("unknown record type %d", rec.typ)
	}
	if d.Bad || len(d.B) != 0 {
		return rec, errDecode
	}
	return rec, nil
}

// damage describes bytes that are not a whole valid record.
type damage struct {
	off    int64
	reason string
	// torn reports that the damage looks like a write cut short by a
	// crash and runs to the end of the file.
	torn bool
}

// next checks the record at off in data and returns its payload and the
// offset after it, or a *damage.
func next(data []byte, off int64) ([]byte, int64, *damage) {
	rest := int64(len(data)) - off
	if rest < headerSize {
		return nil, off, &damage{off: off, reason: fmt.Sprintf("partial record header (%d bytes)", rest), torn: true}
	}
	h := data[off : off+headerSize]
	n := int64(binary.LittleEndian.Uint32(h))
	if crc32.Checksum(h[:4], castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		if allZero(data[off:]) {
			return nil, off, &damage{off: off, reason: "zeroed bytes to the end of the file", torn: true}
		}
		return nil, off, &damage{off: off, reason: "record length checksum mismatch"}
	}
	if n > rest-headerSize {
		return nil, off, &damage{off: off, reason: fmt.Sprintf("record of %d bytes runs past the end of the file", n), torn: true}
	}
	end := off + headerSize + n
	p := data[off+headerSize : end]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[8:]) {
		return nil, off, &damage{off: off, reason: "record checksum mismatch", torn: end == int64(len(data))}
	}
	return p, end, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeSnapshot decodes the raftpb.Snapshot p holds, its data aliasing
// p: the data is a group's whole keyspace, which a copy would hold twice in
// memory while the file is read. Only snapshot files hold snapshot
// records, and a file's buffer is the snapshot's alone.
func decodeSnapshot(p []byte) (*raftpb.Snapshot, error) {
	var data, rest []byte
	for len(p) > 0 {
		num, typ, n := protowire.ConsumeTag(p)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if num == 1 && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(p[n:])
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			data, p = v[:len(v):len(v)], p[n+m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, p[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		rest, p = append(rest, p[:n+m]...), p[n+m:]
	}
	snap := &raftpb.Snapshot{}
	if err := proto.Unmarshal(rest, snap); err != nil {
		return nil, err
	}
	snap.Data = data
	return snap, nil
}
