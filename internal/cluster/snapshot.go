package cluster

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
)

// A group's snapshot data is its whole keyspace:
//
//	version u8 (2) | count uvarint | count × entry
//	entry: kind u8 | key | expireAt i64 | string value, or collection
//	collection: encoding u8 | n uvarint | n × element
//
// with keys, values and elements each as len uvarint | bytes. A hash's
// element is a field followed by its value, a sorted set's a member
// followed by its score (8 bytes, IEEE 754, little endian, as
// object.ZScoreBytes gives it), a list's one element, in order from the
// head; a stream has one element, the operations that rebuild it
// (object.Stream.Parts). Encodings are numbered as in snapshotEncodings,
// quicklist being 4 and stream 5.
// Collections keep their encoding and element order, so that a replica that installs the snapshot
// holds them exactly as the leader does, and commands that pick elements
// at random pick the same ones on every replica. Keys that have expired but
// were not yet removed through the log are kept: removing them is the log's
// business, and a replica installing the snapshot must end up with exactly
// the leader's keys.
const snapshotVersion = 2

// snapshotStrings is the version of snapshots written before keys had
// types, which a replica still installs from its data dir:
//
//	version u8 (1) | count uvarint | count × (key | value | expireAt i64)
const snapshotStrings = 1

// Encodings of a collection in snapshot data.
var snapshotEncodings = []string{object.EncListpack, object.EncHashtable, object.EncIntset, object.EncSkiplist, object.EncQuicklist, object.EncStream}

// engine is what a replica keeps its keys in: an engine that copies its
// entries at once for a snapshot to encode elsewhere (storage.Freezer).
type engine interface {
	storage.Engine
	storage.Freezer
}

// newEngine returns a group's keyspace engine (a variable for tests that
// watch what a group asks of it).
var newEngine = func() engine { return arena.New() }

// encodeKeyspace returns the snapshot data of e's entries, followed by
// the group's share of slot migrations (migrate.go). The buffer is sized
// first, by a pass over the entries, to be made once: one grown by appends
// copies itself over and over, and a large buffer's pages are fresh
// memory, which costs a page fault per page to touch. A snapshot written
// to a file is not made this way but written as it is encoded
// (writeKeyspace).
func encodeKeyspace(e storage.Scanner, mv *moves) []byte {
	size := 1 + binary.MaxVarintLen64 + 64
	scanAll(e, func(k, v []byte, obj storage.Object, _ int64) bool {
		size += 1 + binary.MaxVarintLen32 + len(k) + 8 + binary.MaxVarintLen32
		if obj == nil {
			size += len(v)
		} else {
			size++ // the encoding; its elements grow the buffer if need be
		}
		return true
	})
	buf := make([]byte, 0, size)
	buf = append(buf, snapshotVersion)
	buf = binary.AppendUvarint(buf, uint64(e.Len()))
	scanAll(e, func(k, v []byte, obj storage.Object, at int64) bool {
		buf = appendEntry(buf, k, v, obj, at)
		return true
	})
	return mv.append(buf)
}

// keyspaceSize returns the size of the snapshot data of e's entries and
// mv, as encodeKeyspace encodes it, exactly: it encodes every entry once.
func keyspaceSize(e storage.Scanner, mv *moves) int {
	n := 0
	walkKeyspace(e, mv, func(p []byte) { n += len(p) })
	return n
}

// writeKeyspace writes the snapshot data of e's entries and mv to w, as
// encodeKeyspace encodes it, an entry at a time: a snapshot written to a
// file this way is never whole in memory.
func writeKeyspace(w io.Writer, e storage.Scanner, mv *moves) error {
	var err error
	walkKeyspace(e, mv, func(p []byte) {
		if err == nil {
			_, err = w.Write(p)
		}
	})
	return err
}

// walkKeyspace calls emit with the snapshot data of e's entries and mv, in
// order, in parts that are valid only until emit returns: the header, each
// entry, the migrations. It encodes as encodeKeyspace does, which appends
// to one buffer instead, sized ahead.
func walkKeyspace(e storage.Scanner, mv *moves, emit func([]byte)) {
	buf := make([]byte, 0, 4096)
	buf = append(buf, snapshotVersion)
	emit(binary.AppendUvarint(buf, uint64(e.Len())))
	scanAll(e, func(k, v []byte, obj storage.Object, at int64) bool {
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 4096) // not kept after a large collection
		}
		buf = appendEntry(buf[:0], k, v, obj, at)
		emit(buf)
		return true
	})
	if buf = mv.append(buf[:0]); len(buf) > 0 {
		emit(buf)
	}
}

// scanAll calls fn with each of e's entries.
func scanAll(e storage.Scanner, fn func(k, v []byte, obj storage.Object, at int64) bool) {
	var cursor uint64
	for {
		if cursor = e.Scan(cursor, fn); cursor == 0 {
			return
		}
	}
}

// appendEntry appends one entry of snapshot data to buf.
func appendEntry(buf, k, v []byte, obj storage.Object, at int64) []byte {
	kind := storage.KindString
	if obj != nil {
		kind = obj.Kind()
	}
	buf = append(buf, byte(kind))
	buf = binary.AppendUvarint(buf, uint64(len(k)))
	buf = append(buf, k...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(at))
	if obj == nil {
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		return append(buf, v...)
	}
	buf = append(buf, byte(slices.Index(snapshotEncodings, object.Encoding(obj))))
	if s, ok := obj.(*object.Stream); ok {
		// One element: the stream's operations (object.Stream.Parts).
		buf = binary.AppendUvarint(buf, 1)
		s.Parts(0, func(ops []byte) {
			buf = binary.AppendUvarint(buf, uint64(len(ops)))
			buf = append(buf, ops...)
		})
		return buf
	}
	buf = binary.AppendUvarint(buf, uint64(obj.Len()))
	object.Elements(obj, func(e, v []byte) bool {
		buf = binary.AppendUvarint(buf, uint64(len(e)))
		buf = append(buf, e...)
		if object.HasValues(kind) {
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
		}
		return true
	})
	return buf
}

// restore replaces db's keys, and the group's share of slot migrations,
// with those of snapshot data.
func (g *Group) restore(data []byte) error {
	// The whole data, read already: the window decodes it in place.
	_, err := g.restoreWindow(&window{buf: data, total: int64(len(data)), eof: true})
	return err
}

// restoreBuf is the size of the parts restoreFrom reads.
const restoreBuf = 1 << 20

// restoreFrom is restore for snapshot data read from r a part at a time,
// so that the data, as large as the keyspace, is never whole in memory (a
// replica rebuilt from its log's snapshot file). It returns the data's
// size.
func (g *Group) restoreFrom(r io.Reader) (int64, error) {
	return g.restoreWindow(&window{r: r, buf: make([]byte, 0, restoreBuf)})
}

// restoreWindow is restore for the data w reads. Each entry is read into
// the keyspace once the window holds it whole: an entry larger than the
// window grows it. What the keyspace keeps of an entry it copies, so the
// window's memory is reused. It returns the data's size.
func (g *Group) restoreWindow(w *window) (int64, error) {
	g.db.Flush()
	g.mv.reset()
	if err := w.more(); err != nil || len(w.buf) == 0 {
		return w.total, err
	}
	version := w.buf[0]
	if version != snapshotVersion && version != snapshotStrings {
		return w.total, fmt.Errorf("cluster: snapshot version %d not understood", version)
	}
	w.off = 1
	bad := fmt.Errorf("cluster: snapshot data: %w", errBadEntry)
	var n uint64
	if !w.decodeN(1, func(d *binread.Reader) bool { n = d.Uvarint(); return !d.Bad }) {
		return w.total, w.failed(bad)
	}
	e := g.db.Engine()
	var elems [][]byte
	entry := func(d *binread.Reader) bool { return readEntry(d, e, &elems) }
	if version == snapshotStrings {
		entry = func(d *binread.Reader) bool {
			k, v, at := d.Bytes(), d.Bytes(), int64(d.U64())
			if d.Bad {
				return false
			}
			e.Set(k, v, at)
			return true
		}
	}
	if !w.decodeN(n, entry) {
		return w.total, w.failed(bad)
	}
	g.keysCount.Store(int64(e.Len()))
	for !w.eof {
		if err := w.more(); err != nil {
			return w.total, err
		}
	}
	if version == snapshotStrings {
		return w.total, nil
	}
	d := binread.Reader{B: w.buf[w.off:]}
	if err := g.mv.read(&d); err != nil {
		return w.total, fmt.Errorf("cluster: snapshot data: %w", err)
	}
	return w.total, nil
}

// window is the part of snapshot data read and not yet decoded:
// buf[off:].
type window struct {
	r     io.Reader
	buf   []byte
	off   int
	total int64
	eof   bool
	err   error // a read's error other than io.EOF
}

// more reads more of the data after what the window holds, moving that to
// the front of the buffer, growing it when it is full, and filling it: so
// an entry larger than the buffer is tried once per doubling, however
// little each of r's reads gives.
func (w *window) more() error {
	if w.err != nil || w.eof {
		return w.err
	}
	if w.off > 0 {
		w.buf, w.off = w.buf[:copy(w.buf, w.buf[w.off:])], 0
	}
	if len(w.buf) == cap(w.buf) {
		w.buf = slices.Grow(w.buf, cap(w.buf))
	}
	n, err := io.ReadFull(w.r, w.buf[len(w.buf):cap(w.buf)])
	w.buf, w.total = w.buf[:len(w.buf)+n], w.total+int64(n)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		w.eof = true
	case err != nil:
		w.err = err
	}
	return w.err
}

// decodeN runs fn, which decodes one item, n times over the window, and
// moves past what it decoded. fn must report false, having done nothing,
// when it cannot decode: the item is then tried again after more is read.
// decodeN reports false once fn fails with all the data read, or a read
// fails.
func (w *window) decodeN(n uint64, fn func(d *binread.Reader) bool) bool {
	for n > 0 {
		d := binread.Reader{B: w.buf[w.off:]}
		for n > 0 {
			rest := d.B
			if !fn(&d) {
				d.B = rest
				break
			}
			n--
		}
		w.off = len(w.buf) - len(d.B)
		if n > 0 && (w.eof || w.more() != nil) {
			return false
		}
	}
	return true
}

// failed returns the error of a decode that failed: the read's, or bad.
func (w *window) failed(bad error) error {
	if w.err != nil {
		return w.err
	}
	return bad
}

// readEntry reads one entry of snapshot data into e, replacing the key's
// value if it has one; elems is scratch space. It reports false for data
// that does not decode, having changed nothing.
func readEntry(d *binread.Reader, e storage.Engine, elems *[][]byte) bool {
	kind := storage.Kind(d.U8())
	k, at := d.Bytes(), int64(d.U64())
	if kind == storage.KindString {
		v := d.Bytes()
		if d.Bad {
			return false
		}
		e.Set(k, v, at)
		return true
	}
	enc := int(d.U8())
	count := d.Uvarint()
	if d.Bad || enc >= len(snapshotEncodings) || count > uint64(len(d.B)) {
		return false
	}
	var obj storage.Object
	switch kind {
	case storage.KindHash:
		if h := object.NewHashEncoded(snapshotEncodings[enc]); h != nil {
			obj = h
		}
		count *= 2
	case storage.KindSet:
		if s := object.NewSetEncoded(snapshotEncodings[enc]); s != nil {
			obj = s
		}
	case storage.KindZSet:
		if z := object.NewZSetEncoded(snapshotEncodings[enc]); z != nil {
			obj = z
		}
		count *= 2
	case storage.KindList:
		if l := object.NewListEncoded(snapshotEncodings[enc]); l != nil {
			obj = l
		}
	case storage.KindStream:
		ops := d.Bytes()
		s := object.NewStream()
		// ops are copied: restoreFrom reuses the data's memory.
		if d.Bad || count != 1 || snapshotEncodings[enc] != object.EncStream || !s.Apply(bytes.Clone(ops)) {
			return false
		}
		e.SetObject(k, s, at)
		return true
	}
	if obj == nil {
		return false
	}
	*elems = (*elems)[:0]
	for range count {
		*elems = append(*elems, d.Bytes())
	}
	if d.Bad || count == 0 {
		return false
	}
	object.AddElements(obj, *elems)
	if obj.Len() == 0 {
		// Only a sorted set whose every score was bad gets here.
		return false
	}
	e.SetObject(k, obj, at)
	return true
}
