package rdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/object"
)

// A stream in RDB, as Redis's rdbSaveObject writes it and rdbLoadObject
// reads it (STREAM_LISTPACKS, STREAM_LISTPACKS_2 from Redis 7.0,
// STREAM_LISTPACKS_3 from Redis 7.2):
//
//	nodes: count, then each: master id (a string of 16 bytes: ms, seq,
//	       big-endian), a stream listpack (a string)
//	length, last id (ms, seq)
//	v2+:   first id (ms, seq), max deleted id (ms, seq), entries added
//	groups: count, then each: name, last id (ms, seq),
//	       v2+: entries read (a length; 2^64-1 for -1),
//	       PEL: count, then each: id (16 raw bytes), delivery time (8
//	            bytes, little-endian, Unix ms), delivery count (a length)
//	       consumers: count, then each: name, seen time (8 bytes),
//	            v3: active time (8 bytes), PEL: count, then ids (16 raw
//	            bytes), each an id of the group's PEL
//
// A stream listpack starts with its master entry (count of live entries,
// count of deleted ones, number of fields, the fields, 0), then holds
// entries: flags (1 deleted, 2 same fields as the master), the id's ms and
// seq differences from the master id, the number of fields and the field
// and value pairs (or, with same fields, the values only), and lp-count,
// the number of elements before it in the entry.

// Stream entry flags.
const (
	streamDeleted    = 1
	streamSameFields = 2
)

// idBytes is the size of a raw stream id.
const idBytes = 16

// decodeStream decodes a stream of type t, checking it as Redis's deep
// sanitization does, and more: ids increase through the stream and stay
// at or below its last id, counts match the entries, every entry has a
// field, no group, consumer or pending id is repeated, and every pending
// entry of a group belongs to one of its consumers.
func decodeStream(s source, t byte) (*object.Stream, error) {
	st := object.NewStream()
	nodes, err := readCount(s, 2)
	if err != nil {
		return nil, err
	}
	var elems []entry
	d := streamDecoder{st: st}
	for range nodes {
		key, err := readString(s)
		if err != nil {
			return nil, err
		}
		if len(key) != idBytes {
			return nil, fmt.Errorf("%w: stream node key of %d bytes", ErrFormat, len(key))
		}
		lp, err := readString(s)
		if err != nil {
			return nil, err
		}
		elems = elems[:0]
		if err := listpackEach(lp, func(e entry) error {
			elems = append(elems, e)
			return nil
		}); err != nil {
			return nil, err
		}
		if err := d.node(rawID(key), elems); err != nil {
			return nil, err
		}
	}

	var meta [3]uint64 // length, last ms, last seq
	for i := range meta {
		if meta[i], err = readUint(s); err != nil {
			return nil, err
		}
	}
	length, last := meta[0], object.StreamID{Ms: meta[1], Seq: meta[2]}
	maxDeleted, added := object.StreamID{}, length
	if t != TypeStreamListpack {
		var more [5]uint64 // first ms, first seq, max deleted ms, seq, entries added
		for i := range more {
			if more[i], err = readUint(s); err != nil {
				return nil, err
			}
		}
		// The first id is not kept: the stream finds its first entry.
		maxDeleted, added = object.StreamID{Ms: more[2], Seq: more[3]}, more[4]
	}
	switch {
	case length != uint64(st.Len()):
		return nil, fmt.Errorf("%w: stream length %d, %d entries", ErrFormat, length, st.Len())
	case d.any && last.Less(d.prev):
		return nil, fmt.Errorf("%w: stream last id %s before entry %s", ErrFormat, last, d.prev)
	case added < length:
		return nil, fmt.Errorf("%w: stream of %d entries, %d added", ErrFormat, length, added)
	}
	st.SetMeta(last, added, maxDeleted)
	st.TakeJournal()

	groups, err := readCount(s, 4)
	if err != nil {
		return nil, err
	}
	for range groups {
		if err := decodeGroup(s, t, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// streamDecoder adds the entries of a stream's nodes to st, in order.
type streamDecoder struct {
	st     *object.Stream
	master object.StreamID // the previous node's
	prev   object.StreamID // the previous entry's, deleted or not
	any    bool            // whether there was a node, an entry
	fv     [][]byte
	buf    []byte
}

// node checks the elements of a node's listpack and adds its live
// entries.
func (d *streamDecoder) node(master object.StreamID, elems []entry) error {
	bad := func(what string) error { return fmt.Errorf("%w: stream node %s: %s", ErrFormat, master, what) }
	if d.any && !d.master.Less(master) {
		return bad("out of order")
	}
	d.master = master
	i := 0
	integer := func() (int64, bool) {
		if i >= len(elems) {
			return 0, false
		}
		i++
		return entryInt(elems[i-1])
	}
	count, ok1 := integer()
	deleted, ok2 := integer()
	nf, ok3 := integer()
	if !ok1 || !ok2 || !ok3 || count < 0 || deleted < 0 || nf < 1 || nf > int64(len(elems)-i) {
		return bad("bad master entry")
	}
	masterFields := elems[i : i+int(nf)]
	i += int(nf)
	if zero, ok := integer(); !ok || zero != 0 {
		return bad("no master entry terminator")
	}
	total := count + deleted
	if total == 0 || total > int64(len(elems)) {
		return bad("wrong entry count")
	}
	var live, dead int64
	for range total {
		flags, ok1 := integer()
		msDiff, ok2 := integer()
		seqDiff, ok3 := integer()
		if !ok1 || !ok2 || !ok3 || flags&^(streamDeleted|streamSameFields) != 0 {
			return bad("bad entry header")
		}
		// Redis adds the differences as unsigned numbers, wrapping.
		id := object.StreamID{Ms: master.Ms + uint64(msDiff), Seq: master.Seq + uint64(seqDiff)}
		if id.Less(master) || d.any && !d.prev.Less(id) {
			return bad("entry " + id.String() + " out of order")
		}
		d.prev, d.any = id, true
		n, want := nf, nf+3
		same := flags&streamSameFields != 0
		if !same {
			var ok bool
			if n, ok = integer(); !ok || n < 1 || n > int64(len(elems)-i)/2 {
				return bad("bad field count")
			}
			want = 2*n + 4
		}
		if !same && int64(len(elems)-i) < 2*n || same && int64(len(elems)-i) < n {
			return bad("entry past the end")
		}
		del := flags&streamDeleted != 0
		if del {
			dead++
		} else {
			live++
			d.fv, d.buf = d.fv[:0], d.buf[:0]
			for k := range n {
				var f, v entry
				if same {
					f, v = masterFields[k], elems[i+int(k)]
				} else {
					f, v = elems[i+2*int(k)], elems[i+2*int(k)+1]
				}
				d.fv = append(d.fv, d.bytes(f), d.bytes(v))
			}
			d.st.Add(id, d.fv)
			d.st.TakeJournal()
		}
		if same {
			i += int(n)
		} else {
			i += 2 * int(n)
		}
		if lpCount, ok := integer(); !ok || lpCount != want {
			return bad("wrong lp-count")
		}
	}
	if live != count || dead != deleted {
		return bad("counts do not match its entries")
	}
	if i != len(elems) {
		return bad("elements after its entries")
	}
	return nil
}

// bytes returns e as bytes that stay valid until the next entry.
func (d *streamDecoder) bytes(e entry) []byte {
	if !e.isInt {
		return e.str
	}
	start := len(d.buf)
	d.buf = strconv.AppendInt(d.buf, e.num, 10)
	return d.buf[start:len(d.buf):len(d.buf)]
}

// pending is an entry of a group's PEL while the group is decoded.
type pending struct {
	id       object.StreamID
	time     int64
	count    uint64
	consumer *object.StreamConsumer
}

// decodeGroup decodes a consumer group of a stream of type t into st.
func decodeGroup(s source, t byte, st *object.Stream) error {
	name, err := readString(s)
	if err != nil {
		return err
	}
	if st.Group(name) != nil {
		return fmt.Errorf("%w: stream group %q repeated", ErrFormat, name)
	}
	last, err := readStreamID(s)
	if err != nil {
		return err
	}
	var read int64
	if t == TypeStreamListpack {
		read = st.EstimateEntriesRead(last)
	} else {
		u, err := readUint(s)
		switch {
		case err != nil:
			return err
		case u == math.MaxUint64:
			read = -1
		case u > math.MaxInt64:
			return fmt.Errorf("%w: stream group entries read %d", ErrFormat, u)
		default:
			read = int64(u)
		}
	}
	g := st.SetGroup(name, last, read)
	st.TakeJournal()

	n, err := readCount(s, idBytes+9)
	if err != nil {
		return err
	}
	pel := make([]pending, 0, hint(s, n))
	index := make(map[object.StreamID]int, hint(s, n))
	for range n {
		b, err := s.read(idBytes + 8)
		if err != nil {
			return err
		}
		p := pending{id: rawID(b), time: int64(binary.LittleEndian.Uint64(b[idBytes:]))}
		if p.count, err = readUint(s); err != nil {
			return err
		}
		if _, dup := index[p.id]; dup {
			return fmt.Errorf("%w: stream group %q: pending entry %s repeated", ErrFormat, name, p.id)
		}
		index[p.id] = len(pel)
		pel = append(pel, p)
	}

	consumers, err := readCount(s, 10)
	if err != nil {
		return err
	}
	for range consumers {
		cname, err := readString(s)
		if err != nil {
			return err
		}
		if g.Consumer(cname) != nil {
			return fmt.Errorf("%w: stream group %q: consumer %q repeated", ErrFormat, name, cname)
		}
		times := 8
		if t == TypeStream3 {
			times = 16 // the seen time, then the active time, which is not kept
		}
		b, err := s.read(times)
		if err != nil {
			return err
		}
		c, _ := st.SeeConsumer(g, cname, int64(binary.LittleEndian.Uint64(b)))
		st.TakeJournal()
		owned, err := readCount(s, idBytes)
		if err != nil {
			return err
		}
		for range owned {
			b, err := s.read(idBytes)
			if err != nil {
				return err
			}
			j, ok := index[rawID(b)]
			switch {
			case !ok:
				return fmt.Errorf("%w: stream group %q: consumer %q has %s, which is not in the group's PEL", ErrFormat, name, cname, rawID(b))
			case pel[j].consumer != nil:
				return fmt.Errorf("%w: stream group %q: pending entry %s owned twice", ErrFormat, name, rawID(b))
			}
			pel[j].consumer = c
		}
	}
	for _, p := range pel {
		if p.consumer == nil {
			return fmt.Errorf("%w: stream group %q: pending entry %s without a consumer", ErrFormat, name, p.id)
		}
		st.SetNack(g, p.consumer, p.id, p.time, p.count)
		st.TakeJournal()
	}
	return nil
}

// entryInt returns the integer a listpack element holds, as an integer or
// as the text of one, as Redis's lpGetIntegerIfValid reads it.
func entryInt(e entry) (int64, bool) {
	if e.isInt {
		return e.num, true
	}
	return parseInt(e.str)
}

// rawID returns the id written big-endian in the first 16 bytes of b.
func rawID(b []byte) object.StreamID {
	return object.StreamID{Ms: binary.BigEndian.Uint64(b), Seq: binary.BigEndian.Uint64(b[8:])}
}

// appendRawID appends id as 16 bytes, big-endian.
func appendRawID(dst []byte, id object.StreamID) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(dst, id.Ms), id.Seq)
}

// readUint reads a length that is a number of its own, not a count.
func readUint(s source) (uint64, error) {
	n, enc, err := readLength(s)
	if err == nil && enc {
		err = fmt.Errorf("%w: an encoded string instead of a number", ErrFormat)
	}
	return n, err
}

// readStreamID reads an id written as two lengths.
func readStreamID(s source) (object.StreamID, error) {
	ms, err := readUint(s)
	if err != nil {
		return object.StreamID{}, err
	}
	seq, err := readUint(s)
	return object.StreamID{Ms: ms, Seq: seq}, err
}

// appendStream writes st as type t (TypeStreamListpack, TypeStream2 or
// TypeStream3) as Redis writes it: Encode writes TypeStream2, Redis 7.0's.
// Its live entries are cut into nodes as Redis's streamAppendItem cuts
// them, by stream-node-max-bytes and stream-node-max-entries; a consumer's
// active time, which is not kept, is written as its seen time.
func appendStream(dst []byte, st *object.Stream, t byte) []byte {
	l := object.CurrentLimits()
	maxBytes := int(l.StreamNodeMaxBytes)
	if maxBytes <= 0 || maxBytes > 1<<30 {
		maxBytes = 1 << 30 // Redis's STREAM_LISTPACK_MAX_SIZE
	}
	maxEntries := int(l.StreamNodeMaxEntries)

	var nodes [][]byte // master id, listpack, each
	var n *streamNode
	st.Ascend(object.StreamID{}, object.MaxStreamID, func(id object.StreamID, fv [][]byte) bool {
		size := 0
		for _, b := range fv {
			size += len(b)
		}
		if n != nil && (n.bytes()+size >= maxBytes || maxEntries > 0 && n.count >= maxEntries) {
			nodes = append(nodes, appendRawID(nil, n.master), n.finish())
			n = nil
		}
		if n == nil {
			n = newStreamNode(id, fv)
		}
		n.add(id, fv)
		return true
	})
	if n != nil {
		nodes = append(nodes, appendRawID(nil, n.master), n.finish())
	}

	dst = appendLength(append(dst, t), uint64(len(nodes)/2))
	for _, b := range nodes {
		dst = append(appendLength(dst, uint64(len(b))), b...)
	}
	dst = appendLength(dst, uint64(st.Len()))
	dst = appendID(dst, st.LastID)
	if t != TypeStreamListpack {
		dst = appendID(dst, st.FirstID())
		dst = appendID(dst, st.MaxDeleted)
		dst = appendLength(dst, st.EntriesAdded)
	}
	groups := st.Groups()
	dst = appendLength(dst, uint64(len(groups)))
	for _, g := range groups {
		dst = appendString(dst, []byte(g.Name))
		dst = appendID(dst, g.LastID)
		if t != TypeStreamListpack {
			dst = appendLength(dst, uint64(g.EntriesRead)) // -1 as 2^64-1
		}
		dst = appendLength(dst, uint64(g.Pending()))
		g.AscendPending(nil, object.StreamID{}, func(p *object.StreamNack) bool {
			dst = appendRawID(dst, p.ID)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(p.DeliveryTime))
			dst = appendLength(dst, p.DeliveryCount)
			return true
		})
		cs := g.Consumers()
		dst = appendLength(dst, uint64(len(cs)))
		for _, c := range cs {
			dst = appendString(dst, []byte(c.Name))
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime))
			if t == TypeStream3 {
				dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime))
			}
			dst = appendLength(dst, uint64(c.Pending()))
			g.AscendPending(c, object.StreamID{}, func(p *object.StreamNack) bool {
				dst = appendRawID(dst, p.ID)
				return true
			})
		}
	}
	return dst
}

// appendID appends id as two lengths.
func appendID(dst []byte, id object.StreamID) []byte {
	return appendLength(appendLength(dst, id.Ms), id.Seq)
}

// streamNode builds a stream listpack as Redis's streamAppendItem does.
type streamNode struct {
	master object.StreamID
	fields [][]byte  // the master entry's
	rest   *listpack // the master entry after its count, then the entries
	count  int       // entries
}

// newStreamNode starts a node whose master entry is the entry id with
// field and value pairs fv.
func newStreamNode(id object.StreamID, fv [][]byte) *streamNode {
	n := &streamNode{master: id, rest: newListpack()}
	n.rest.addInt(0) // deleted entries
	n.rest.addInt(int64(len(fv) / 2))
	for i := 0; i < len(fv); i += 2 {
		n.fields = append(n.fields, fv[i])
		n.rest.add(fv[i])
	}
	n.rest.addInt(0) // the master entry's terminator
	return n
}

// bytes returns the size of the listpack so far, as lpBytes would.
func (n *streamNode) bytes() int {
	return n.rest.size() + intSize(int64(n.count)) + 1
}

// add appends the entry id with field and value pairs fv.
func (n *streamNode) add(id object.StreamID, fv [][]byte) {
	same := len(fv)/2 == len(n.fields)
	for i := 0; same && i < len(fv); i += 2 {
		same = string(fv[i]) == string(n.fields[i/2])
	}
	flags, lpCount := int64(0), int64(len(fv)/2+3)
	if same {
		flags = streamSameFields
	} else {
		lpCount += int64(len(fv)/2) + 1
	}
	lp := n.rest
	lp.addInt(flags)
	lp.addInt(int64(id.Ms - n.master.Ms))
	lp.addInt(int64(id.Seq - n.master.Seq))
	if !same {
		lp.addInt(int64(len(fv) / 2))
	}
	for i := 0; i < len(fv); i += 2 {
		if !same {
			lp.add(fv[i])
		}
		lp.add(fv[i+1])
	}
	lp.addInt(lpCount)
	n.count++
}

// finish returns the node's listpack: its count of entries, then the rest.
func (n *streamNode) finish() []byte {
	lp := newListpack()
	lp.addInt(int64(n.count))
	lp.b = append(lp.b, n.rest.b[6:]...)
	lp.n += n.rest.n
	return lp.finish()
}
