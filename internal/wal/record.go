package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Op is the operation of a record.
type Op uint8

// Record operations; see the package documentation.
const (
	OpSet    Op = 1
	OpDelete Op = 2
	OpExpire Op = 3
	OpFlush  Op = 4
	OpHeader Op = 5
	OpEnd    Op = 6
	OpElems  Op = 7
	OpRemove Op = 8
	OpList   Op = 9
	OpStream Op = 10
	OpRange  Op = 11
	OpShard  Op = 12
)

// Flags of an elements or list record.
const (
	flagFresh = 1
	flagLeft  = 2 // a list record's change at the head
	flagPart  = 4 // a stream record's part of a stream logged whole
)

// maxElems bounds the elements a record may hold, against payloads that
// claim more than they have.
const maxElems = 1 << 30

// File kinds named by a header record.
const (
	kindLog      = 'L' // one shard's log, the previous layout: only read, to upgrade
	kindSnapshot = 'S'
	kindJournal  = 'J' // a segment of the generation's log, shared by its shards
)

const (
	headerSize    = 12
	magic         = "dcluster"
	formatVersion = 1
	// sectorSize is the unit a torn write leaves zeroed.
	sectorSize = 512
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one decoded record. Its byte slices point into the reader's
// buffer and stay valid only until the next record is read.
type Record struct {
	Op       Op
	Key      []byte
	Value    []byte
	ExpireAt int64
	// Header fields; Shard is also a shard record's shard, and the shard
	// a record of a journal segment belongs to.
	Kind  byte
	Shard int
	Seq   uint64
	// Count is the number of entry records, for an end record.
	Count uint64
	// Elements and remove records: the collection's kind, whether the
	// record created it, and its elements (field and value pairs for a
	// hash, members for a set).
	ValueKind storage.Kind
	Fresh     bool
	Elems     [][]byte
	// List records: the list's version after the change, and the change,
	// whose elements are also in Elems.
	Version uint64
	List    object.ListOp
	// Stream records: the stream's operations (object.Stream.Apply), and
	// whether they are a part, after the first, of a stream logged whole.
	Stream []byte
	Part   bool
	// Range records: where in the string Value goes.
	Offset uint64
}

// hasValues reports whether elements of kind come with a value: a hash's
// fields their value, a sorted set's members their score.
func hasValues(kind storage.Kind) bool { return kind == storage.KindHash || kind == storage.KindZSet }

// validKind reports whether kind is a collection records may name.
func validKind(kind storage.Kind) bool {
	return kind == storage.KindHash || kind == storage.KindSet || kind == storage.KindZSet
}

// begin reserves room for a record header at the end of b.
func begin(b []byte) ([]byte, int) {
	start := len(b)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), start
}

// seal fills in the header of the record that starts at start and runs to
// the end of b.
func seal(b []byte, start int) []byte {
	n := len(b) - start - headerSize
	if n > 1<<32-1 {
		// Storage engines hold entries of at most 2 GiB.
		panic("wal: record larger than 4 GiB")
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start:start+4], castagnoli))
	binary.LittleEndian.PutUint32(b[start+8:], crc32.Checksum(b[start+headerSize:], castagnoli))
	return b
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// appendSet appends a set record.
func appendSet(b, key, value []byte, expireAt int64) []byte {
	b, start := begin(b)
	b = append(b, byte(OpSet))
	b = appendBytes(b, key)
	b = appendBytes(b, value)
	b = binary.AppendUvarint(b, uint64(expireAt))
	return seal(b, start)
}

// maxRangeOffset bounds a range record's offset: strings are at most 512 MiB
// (proto-max-bulk-len can raise that to what an engine entry holds, 2 GiB).
const maxRangeOffset = 1 << 31

// appendRange appends a range record: key's string holds data from byte
// off.
func appendRange(b, key []byte, off uint64, data []byte) []byte {
	b, start := begin(b)
	b = append(b, byte(OpRange))
	b = appendBytes(b, key)
	b = binary.AppendUvarint(b, off)
	b = appendBytes(b, data)
	return seal(b, start)
}

// appendDelete appends a delete record.
func appendDelete(b, key []byte) []byte {
	b, start := begin(b)
	b = append(b, byte(OpDelete))
	b = append(b, key...)
	return seal(b, start)
}

// appendExpire appends an expire record.
func appendExpire(b, key []byte, expireAt int64) []byte {
	b, start := begin(b)
	b = append(b, byte(OpExpire))
	b = appendBytes(b, key)
	b = binary.AppendUvarint(b, uint64(expireAt))
	return seal(b, start)
}

// appendElems appends an elements record.
func appendElems(b []byte, kind storage.Kind, key []byte, expireAt int64, fresh bool, elems [][]byte) []byte {
	b, start := begin(b)
	var flags byte
	if fresh {
		flags |= flagFresh
	}
	b = append(b, byte(OpElems), byte(kind), flags)
	b = appendBytes(b, key)
	b = binary.AppendUvarint(b, uint64(expireAt))
	n := len(elems)
	if hasValues(kind) {
		n /= 2
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, e := range elems {
		b = appendBytes(b, e)
	}
	return seal(b, start)
}

// appendRemove appends a remove record.
func appendRemove(b []byte, kind storage.Kind, key []byte, elems [][]byte) []byte {
	b, start := begin(b)
	b = append(b, byte(OpRemove), byte(kind))
	b = appendBytes(b, key)
	b = binary.AppendUvarint(b, uint64(len(elems)))
	for _, e := range elems {
		b = appendBytes(b, e)
	}
	return seal(b, start)
}

// appendList appends a list record: the change op made to key's list,
// after which the list has version; a fresh record carries expireAt.
func appendList(b, key []byte, expireAt int64, version uint64, fresh bool, op object.ListOp) []byte {
	b, start := begin(b)
	var flags byte
	if fresh {
		flags |= flagFresh
	}
	if op.Left {
		flags |= flagLeft
	}
	b = append(b, byte(OpList), flags)
	b = appendBytes(b, key)
	if fresh {
		b = binary.AppendUvarint(b, uint64(expireAt))
	}
	b = binary.AppendUvarint(b, version)
	b = append(b, byte(op.Code))
	switch op.Code {
	case object.ListPush:
		b = appendElemList(b, op.Elems)
	case object.ListPop:
		b = binary.AppendUvarint(b, uint64(op.N))
	case object.ListSet, object.ListInsert:
		b = binary.AppendUvarint(b, uint64(op.N))
		b = appendBytes(b, op.Elems[0])
	case object.ListRem:
		b = binary.AppendVarint(b, op.N)
		b = appendBytes(b, op.Elems[0])
	case object.ListTrim:
		b = binary.AppendUvarint(b, uint64(op.N))
		b = binary.AppendUvarint(b, uint64(op.M))
	case object.ListPart:
		b = binary.AppendUvarint(b, uint64(op.N))
		b = appendElemList(b, op.Elems)
	}
	return seal(b, start)
}

// appendElemList appends a count and that many byte strings.
func appendElemList(b []byte, elems [][]byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(elems)))
	for _, e := range elems {
		b = appendBytes(b, e)
	}
	return b
}

// appendStream appends a stream record: the operations ops applied to
// key's stream, after which it has version; a fresh record carries
// expireAt. A part record continues a stream logged whole at version.
func appendStream(b, key []byte, expireAt int64, version uint64, fresh, part bool, ops []byte) []byte {
	b, start := begin(b)
	var flags byte
	if fresh {
		flags |= flagFresh
	}
	if part {
		flags |= flagPart
	}
	b = append(b, byte(OpStream), flags)
	b = appendBytes(b, key)
	if fresh {
		b = binary.AppendUvarint(b, uint64(expireAt))
	}
	b = binary.AppendUvarint(b, version)
	b = append(b, ops...)
	return seal(b, start)
}

// readStream decodes the rest of a stream record into rec.
func readStream(d *binread.Reader, rec *Record) error {
	if len(d.B) < 1 || d.B[0]&^(flagFresh|flagPart) != 0 || d.B[0] == flagFresh|flagPart {
		return errDecode
	}
	rec.Fresh = d.B[0]&flagFresh != 0
	rec.Part = d.B[0]&flagPart != 0
	rec.ValueKind = storage.KindStream
	d.B = d.B[1:]
	rec.Key = d.Bytes()
	if rec.Fresh {
		rec.ExpireAt = readTime(d)
	}
	rec.Version = d.Uvarint()
	rec.Stream, d.B = d.B, nil
	return nil
}

// readList decodes the rest of a list record into rec.
func readList(d *binread.Reader, rec *Record) error {
	if len(d.B) < 1 || d.B[0]&^(flagFresh|flagLeft) != 0 {
		return errDecode
	}
	rec.Fresh = d.B[0]&flagFresh != 0
	rec.ValueKind = storage.KindList
	op := &rec.List
	op.Left = d.B[0]&flagLeft != 0
	d.B = d.B[1:]
	rec.Key = d.Bytes()
	if rec.Fresh {
		rec.ExpireAt = readTime(d)
	}
	rec.Version = d.Uvarint()
	op.Code = object.ListCode(d.U8())
	index := func() int64 {
		v := d.Uvarint()
		if v > math.MaxInt64 {
			d.Bad = true
		}
		return int64(v)
	}
	switch op.Code {
	case object.ListPush:
		rec.Elems = readElems(d, storage.KindList, false)
	case object.ListPop:
		op.N = index()
	case object.ListSet, object.ListInsert:
		op.N = index()
		rec.Elems = [][]byte{d.Bytes()}
	case object.ListRem:
		op.N = d.Varint()
		rec.Elems = [][]byte{d.Bytes()}
	case object.ListTrim:
		op.N, op.M = index(), index()
	case object.ListPart:
		op.N = index()
		rec.Elems = readElems(d, storage.KindList, false)
	default:
		return fmt.Errorf("unknown list change %d", op.Code)
	}
	op.Elems = rec.Elems
	if !d.Bad && (op.Code == object.ListPush || op.Code == object.ListPart) && len(op.Elems) == 0 {
		return errDecode
	}
	if rec.Fresh && op.Code != object.ListPush {
		return errDecode
	}
	return nil
}

// readElems reads n elements of kind (pairs when they carry values).
func readElems(d *binread.Reader, kind storage.Kind, pairs bool) [][]byte {
	n := d.Uvarint()
	if pairs && hasValues(kind) {
		n *= 2
	}
	// Every element takes at least a byte of length.
	if n > maxElems || n > uint64(len(d.B)) {
		d.Bad = true
		return nil
	}
	elems := make([][]byte, n)
	for i := range elems {
		elems[i] = d.Bytes()
	}
	return elems
}

// appendFlush appends a flush record.
func appendFlush(b []byte) []byte {
	b, start := begin(b)
	b = append(b, byte(OpFlush))
	return seal(b, start)
}

// appendHeader appends the header record of a file.
func appendHeader(b []byte, kind byte, shard int, seq uint64) []byte {
	b, start := begin(b)
	b = append(b, byte(OpHeader))
	b = append(b, magic...)
	b = append(b, kind, formatVersion)
	b = binary.AppendUvarint(b, uint64(shard))
	b = binary.AppendUvarint(b, seq)
	return seal(b, start)
}

// appendShard appends a shard record: the records after it, up to the
// next one, are shard's.
func appendShard(b []byte, shard int) []byte {
	b, start := begin(b)
	b = append(b, byte(OpShard))
	b = binary.AppendUvarint(b, uint64(shard))
	return seal(b, start)
}

// appendEnd appends the end record of a snapshot of count entries.
func appendEnd(b []byte, count uint64) []byte {
	b, start := begin(b)
	b = append(b, byte(OpEnd))
	b = binary.AppendUvarint(b, count)
	return seal(b, start)
}

var errDecode = errors.New("record does not decode")

// decode parses payload p into rec.
func decode(p []byte, rec *Record) error {
	*rec = Record{}
	if len(p) == 0 {
		return errDecode
	}
	rec.Op = Op(p[0])
	d := binread.Reader{B: p[1:]}
	switch rec.Op {
	case OpSet:
		rec.Key = d.Bytes()
		rec.Value = d.Bytes()
		rec.ExpireAt = readTime(&d)
	case OpDelete:
		rec.Key, d.B = d.B, nil
	case OpExpire:
		rec.Key = d.Bytes()
		rec.ExpireAt = readTime(&d)
	case OpFlush:
	case OpHeader:
		if len(d.B) < len(magic)+2 || string(d.B[:len(magic)]) != magic {
			return errors.New("bad file header")
		}
		rec.Kind = d.B[len(magic)]
		if v := d.B[len(magic)+1]; v != formatVersion {
			return fmt.Errorf("unknown format version %d", v)
		}
		d.B = d.B[len(magic)+2:]
		rec.Shard = int(d.Uvarint())
		rec.Seq = d.Uvarint()
	case OpEnd:
		rec.Count = d.Uvarint()
	case OpShard:
		rec.Shard = int(min(d.Uvarint(), 1<<31))
	case OpElems, OpRemove:
		if len(d.B) < 1 {
			return errDecode
		}
		rec.ValueKind = storage.Kind(d.B[0])
		d.B = d.B[1:]
		if !validKind(rec.ValueKind) {
			return fmt.Errorf("unknown value kind %d", rec.ValueKind)
		}
		if rec.Op == OpElems {
			if len(d.B) < 1 || d.B[0]&^flagFresh != 0 {
				return errDecode
			}
			rec.Fresh = d.B[0]&flagFresh != 0
			d.B = d.B[1:]
		}
		rec.Key = d.Bytes()
		if rec.Op == OpElems {
			rec.ExpireAt = readTime(&d)
		}
		rec.Elems = readElems(&d, rec.ValueKind, rec.Op == OpElems)
		if rec.Op == OpElems && rec.ValueKind == storage.KindZSet {
			// A score is 8 bytes and never NaN.
			for i := 1; i < len(rec.Elems); i += 2 {
				if f := rec.Elems[i]; len(f) != 8 || math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(f))) {
					return errDecode
				}
			}
		}
	case OpList:
		if err := readList(&d, rec); err != nil {
			return err
		}
	case OpStream:
		if err := readStream(&d, rec); err != nil {
			return err
		}
	case OpRange:
		rec.Key = d.Bytes()
		rec.Offset = d.Uvarint()
		rec.Value = d.Bytes()
		if rec.Offset > maxRangeOffset {
			return errDecode
		}
	default:
		return fmt.Errorf("unknown operation %d", rec.Op)
	}
	if d.Bad || len(d.B) != 0 {
		return errDecode
	}
	return nil
}

// readTime reads a time in Unix milliseconds.
func readTime(d *binread.Reader) int64 {
	v := d.Uvarint()
	if v > 1<<62 {
		d.Bad = true
	}
	return int64(v)
}

// damage describes bytes that are not a whole valid record.
type damage struct {
	off    int64
	reason string
	// torn reports that the damage looks like a write cut short by a
	// crash: a partial record, or zeros, running to the end of the file.
	torn bool
	// zeros reports that the bytes from off to the end of the file are
	// all zero: a journal segment written ahead with zeros ends so.
	zeros bool
}

func (d *damage) Error() string { return fmt.Sprintf("offset %d: %s", d.off, d.reason) }

// reader reads the records of one file in order.
type reader struct {
	br   *bufio.Reader
	size int64 // length of the file
	off  int64 // offset of the next record
	buf  []byte
	hdr  [headerSize]byte
}

func newReader(f io.Reader, size int64) *reader {
	return &reader{br: bufio.NewReaderSize(f, int(min(max(size, 16), 1<<20))), size: size}
}

// next reads the next record into rec. It returns io.EOF at the clean end of
// the file, a *damage when the bytes at r.off are not a valid record, or an
// I/O error.
func (r *reader) next(rec *Record) error {
	rest := r.size - r.off
	if rest == 0 {
		return io.EOF
	}
	if rest < headerSize {
		if _, err := io.ReadFull(r.br, r.hdr[:rest]); err != nil {
			return r.ioErr(err)
		}
		return &damage{off: r.off, reason: fmt.Sprintf("partial record header (%d bytes)", rest), torn: true}
	}
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return r.ioErr(err)
	}
	n := binary.LittleEndian.Uint32(r.hdr[0:])
	if crc32.Checksum(r.hdr[0:4], castagnoli) != binary.LittleEndian.Uint32(r.hdr[4:]) {
		zero, err := r.zeroToEnd(r.hdr[:])
		if err != nil {
			return err
		}
		if zero {
			return &damage{off: r.off, reason: "zeroed bytes to the end of the file", torn: true, zeros: true}
		}
		return &damage{off: r.off, reason: "record length checksum mismatch"}
	}
	if int64(n) > rest-headerSize {
		return &damage{off: r.off, reason: fmt.Sprintf("record of %d bytes runs past the end of the file", n), torn: true}
	}
	if int(n) > cap(r.buf) {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.br, p); err != nil {
		return r.ioErr(err)
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(r.hdr[8:]) {
		// Torn: zero from a sector boundary inside the record on, and to
		// the end of the file after it (a segment written ahead with
		// zeros goes on with zeros).
		torn := hasZeroSector(r.off, r.hdr[:], p)
		if torn && r.off+headerSize+int64(n) < r.size {
			zero, err := r.zeroToEnd(nil)
			if err != nil {
				return err
			}
			torn = zero
		}
		return &damage{off: r.off, reason: "record checksum mismatch", torn: torn}
	}
	if err := decode(p, rec); err != nil {
		return &damage{off: r.off, reason: err.Error()}
	}
	r.off += headerSize + int64(n)
	if cap(r.buf) > 4<<20 && n < 1<<20 {
		r.buf = nil // do not keep a huge value's buffer
	}
	return nil
}

func (r *reader) ioErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file shrank while being read at offset %d", r.off)
	}
	return err
}

// zeroToEnd reports whether head and every byte after it to the end of the
// file are zero.
func (r *reader) zeroToEnd(head []byte) (bool, error) {
	for _, c := range head {
		if c != 0 {
			return false, nil
		}
	}
	var chunk [4096]byte
	for {
		n, err := r.br.Read(chunk[:])
		for _, c := range chunk[:n] {
			if c != 0 {
				return false, nil
			}
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// hasZeroSector reports whether the record at off, made of hdr and payload
// and ending the file, is zero from a sector boundary inside it to its end:
// what a write cut short by a power failure leaves when the file's length
// reached the disk and its last sectors did not (etcd's WAL makes the same
// check).
func hasZeroSector(off int64, hdr, payload []byte) bool {
	n := int64(len(hdr) + len(payload))
	at := func(i int64) byte {
		if i < int64(len(hdr)) {
			return hdr[i]
		}
		return payload[i-int64(len(hdr))]
	}
	// The last sector boundary inside the record: if the record is zero
	// from any boundary on, it is zero from this one.
	b := (off+n-1)/sectorSize*sectorSize - off
	if b <= 0 {
		return false
	}
	for i := b; i < n; i++ {
		if at(i) != 0 {
			return false
		}
	}
	return true
}
