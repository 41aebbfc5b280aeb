package raftlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/data-cluster/data-cluster/internal/binread"
)

// snapFile is a group's snapshot file checked by scanGroupSnapshot: its
// snapshot's metadata, and where its data lies, to be read a part at a
// time (open) rather than whole. A group's data is its whole keyspace.
type snapFile struct {
	path string
	meta *raftpb.Snapshot // the snapshot without its data
	// The snapshot record's payload runs from payload to end, its data
	// from data, size bytes; want is the payload's checksum.
	payload, data, size, end int64
	want                     uint32
}

// scanBuf is the size of the reads that scan and read a snapshot file.
const scanBuf = 1 << 20

// maxSnapField bounds a snapshot record's fields other than its data (the
// metadata: a configuration of a few replicas).
const maxSnapField = 64 << 20

// scanGroupSnapshot checks the snapshot file at path, which should hold
// the snapshot of group id at index, as readGroupSnapshot does (the same
// records, checksums and errors), reading it a part at a time instead of
// whole.
func scanGroupSnapshot(path string, id uint32, index uint64) (*snapFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	corrupt := func(off int64, reason string) error {
		return &CorruptError{Path: path, Offset: off, Reason: reason}
	}
	// The header record and the snapshot record's header and the start of
	// its payload are in the first part.
	first := make([]byte, min(size, 4096))
	if _, err := io.ReadFull(f, first); err != nil {
		return nil, err
	}
	off, err := fileHeader(first, path, kindGroupSnapshot, index)
	if err != nil {
		return nil, err
	}
	if size-off < headerSize || int64(len(first))-off < headerSize {
		return nil, corrupt(off, fmt.Sprintf("partial record header (%d bytes)", size-off))
	}
	rh := first[off : off+headerSize]
	n := int64(binary.LittleEndian.Uint32(rh))
	if crc32.Checksum(rh[:4], castagnoli) != binary.LittleEndian.Uint32(rh[4:]) {
		return nil, corrupt(off, "record length checksum mismatch")
	}
	sf := &snapFile{path: path, payload: off + headerSize, end: off + headerSize + n, want: binary.LittleEndian.Uint32(rh[8:])}
	switch {
	case sf.end > size:
		return nil, corrupt(off, fmt.Sprintf("record of %d bytes runs past the end of the file", n))
	case sf.end < size:
		return nil, corrupt(sf.end, "bytes after the snapshot")
	}
	// The whole payload's checksum, read a part at a time.
	h := crc32.New(castagnoli)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, sf.payload, n), make([]byte, scanBuf)); err != nil {
		return nil, err
	}
	if h.Sum32() != sf.want {
		return nil, corrupt(off, "record checksum mismatch")
	}
	if err := sf.parse(f, id); err != nil {
		return nil, corrupt(off, err.Error())
	}
	if got := sf.meta.GetMetadata().GetIndex(); got != index {
		return nil, corrupt(off, fmt.Sprintf("snapshot at index %d in the file of index %d", got, index))
	}
	return sf, nil
}

// parse reads the payload's fields, as decodeGroup and decodeSnapshot do,
// without reading the data: its place is kept, and the other fields are
// decoded into meta.
func (sf *snapFile) parse(f *os.File, id uint32) error {
	at := sf.payload
	// read returns the payload's bytes from at, at most n.
	read := func(n int64) ([]byte, error) {
		b := make([]byte, min(n, sf.end-at))
		if _, err := f.ReadAt(b, at); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := read(1 + binary.MaxVarintLen32 + 1)
	if err != nil {
		return err
	}
	d := binread.Reader{B: b}
	typ, got := recType(d.U8()), d.Uvarint()
	inner := recType(d.U8())
	switch {
	case d.Bad || typ != recGroup:
		return errDecode
	case got != uint64(id):
		return fmt.Errorf("snapshot of group %d in the file of group %d", got, id)
	case inner != recSnapshot:
		return fmt.Errorf("unexpected record type %d in a snapshot", inner)
	}
	at += int64(len(b) - len(d.B))
	sf.data = -1
	var rest []byte // the fields but the data
	for at < sf.end {
		b, err := read(2 * binary.MaxVarintLen64)
		if err != nil {
			return err
		}
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		var value int64 // the field's bytes after its tag
		if wt == protowire.BytesType {
			l, m := protowire.ConsumeVarint(b[n:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			if l > uint64(sf.end-at-int64(n+m)) {
				return io.ErrUnexpectedEOF
			}
			if num == 1 {
				// The data; the last one wins, as in proto.
				sf.data, sf.size = at+int64(n+m), int64(l)
				at = sf.data + sf.size
				continue
			}
			value = int64(m) + int64(l)
		} else {
			if wt == protowire.StartGroupType {
				// A group runs to its end tag, anywhere after.
				if b, err = read(maxSnapField); err != nil {
					return err
				}
			}
			m := protowire.ConsumeFieldValue(num, wt, b[n:])
			if m < 0 {
				return protowire.ParseError(m)
			}
			value = int64(m)
		}
		if value > maxSnapField {
			return fmt.Errorf("snapshot field %d of %d bytes", num, value)
		}
		field, err := read(int64(n) + value)
		if err != nil {
			return err
		}
		rest = append(rest, field...)
		at += int64(len(field))
	}
	sf.meta = &raftpb.Snapshot{}
	if err := proto.Unmarshal(rest, sf.meta); err != nil {
		return err
	}
	if sf.data < 0 {
		sf.data = at // no data: an empty part at the end
	}
	return nil
}

// errChanged is returned by a snapshot's data reader whose file no longer
// holds what scanGroupSnapshot checked.
var errChanged = errors.New("snapshot file changed since it was checked")

// open returns a reader of the snapshot's data, which reads it from the
// file a part at a time and, once it has all been read, checks the
// record's checksum again: the last Read fails with an ErrCorrupt error
// instead of io.EOF when the file changed since it was scanned.
func (sf *snapFile) open() (io.ReadCloser, error) {
	f, err := os.Open(sf.path)
	if err != nil {
		return nil, err
	}
	// The whole payload goes through the checksum: the fields before the
	// data are skipped, those after it read at the data's end.
	h := crc32.New(castagnoli)
	payload := io.TeeReader(bufio.NewReaderSize(io.NewSectionReader(f, sf.payload, sf.end-sf.payload), scanBuf), h)
	s := &snapData{f: f, sf: sf, payload: payload, h: h, data: io.LimitReader(payload, sf.size)}
	if _, err := io.CopyN(io.Discard, payload, sf.data-sf.payload); err != nil {
		f.Close()
		return nil, s.fail(err)
	}
	return s, nil
}

// snapData reads a snapshot's data from its file (snapFile.open).
type snapData struct {
	f       *os.File
	sf      *snapFile
	payload io.Reader // the record's payload, through h
	h       hash.Hash32
	data    io.Reader // the data, in payload
	n       int64     // data bytes read
	done    error
}

func (s *snapData) Read(p []byte) (int, error) {
	if s.done != nil {
		return 0, s.done
	}
	n, err := s.data.Read(p)
	s.n += int64(n)
	switch {
	case err == nil:
		return n, nil
	case err != io.EOF:
		return n, s.fail(err)
	case s.n != s.sf.size:
		return n, s.fail(io.ErrUnexpectedEOF)
	}
	rest, err := io.Copy(io.Discard, s.payload)
	if err != nil {
		return n, s.fail(err)
	}
	if h := s.h.Sum32(); h != s.sf.want || rest != s.sf.end-s.sf.data-s.sf.size {
		return n, s.fail(errChanged)
	}
	s.done = io.EOF
	return n, io.EOF
}

// fail ends the reader with err, as an ErrCorrupt error of the file.
func (s *snapData) fail(err error) error {
	s.done = &CorruptError{Path: s.sf.path, Offset: s.sf.data + s.n, Reason: err.Error()}
	return s.done
}

func (s *snapData) Close() error { return s.f.Close() }
