package object

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"github.com/google/btree"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// A stream is a sequence of entries ordered by id, each a list of field
// and value pairs, with consumer groups that track what each of their
// consumers was given and has not acknowledged.
//
// The entries live in nodes, as Redis keeps them in listpacks under a radix
// tree: a node holds up to stream-node-max-entries entries and
// stream-node-max-bytes bytes back to back in one byte slice. The first
// entry of a node is its master: the others store their id as a difference
// from the master's, and their fields only when they differ from the
// master's, so that entries of one shape cost their values and a few bytes.
// A deleted entry stays in its node, flagged, until its node has no live
// entry left; the nodes are a slice in id order, found by binary search.
//
// Every change is also appended to a journal of operations (stream ops):
// the keyspace logs it after each command, and Apply replays it, so that a
// log replays what was done, whatever the settings or the clock at replay.
// A stream logged whole (a snapshot, COPY) is its nodes as they are, byte
// for byte, and its groups; approximate trimming, which cuts at node
// boundaries, then trims alike on every copy.

// StreamID is the id of a stream entry: a time in milliseconds and a
// sequence number.
type StreamID struct{ Ms, Seq uint64 }

// MaxStreamID is the largest id.
var MaxStreamID = StreamID{math.MaxUint64, math.MaxUint64}

// Compare returns -1, 0 or 1 as id is before, equal to or after o.
func (id StreamID) Compare(o StreamID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Less reports whether id is before o.
func (id StreamID) Less(o StreamID) bool { return id.Compare(o) < 0 }

// IsZero reports whether id is 0-0.
func (id StreamID) IsZero() bool { return id.Ms == 0 && id.Seq == 0 }

// Next returns the id after id, and false for MaxStreamID.
func (id StreamID) Next() (StreamID, bool) {
	switch {
	case id.Seq < math.MaxUint64:
		return StreamID{id.Ms, id.Seq + 1}, true
	case id.Ms < math.MaxUint64:
		return StreamID{id.Ms + 1, 0}, true
	}
	return id, false
}

// Prev returns the id before id, and false for 0-0.
func (id StreamID) Prev() (StreamID, bool) {
	switch {
	case id.Seq > 0:
		return StreamID{id.Ms, id.Seq - 1}, true
	case id.Ms > 0:
		return StreamID{id.Ms - 1, math.MaxUint64}, true
	}
	return id, false
}

// Append appends id as Redis writes it, "ms-seq".
func (id StreamID) Append(b []byte) []byte {
	b = strconv.AppendUint(b, id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// String returns id as Redis writes it.
func (id StreamID) String() string { return string(id.Append(nil)) }

// Stream limits, as Redis's settings name them.
const (
	defaultStreamNodeMaxBytes   = 4096
	defaultStreamNodeMaxEntries = 100
)

// Entry flags.
const (
	seDeleted    = 1
	seSameFields = 2
	seIDNext     = 4 // the id is the previous one's milliseconds and sequence + 1
	seSeqZero    = 8 // the sequence is 0; only the milliseconds' delta follows
)

// snode is a node of entries. An entry is its flags byte, its id (nothing
// when it follows the previous entry's, with seIDNext; else the
// difference of its milliseconds from the previous entry's, and its
// sequence number unless seSeqZero, as varints; the first entry's previous
// is the master's milliseconds and sequence 0), then its values (with
// seSameFields) or its number of fields and its field and value pairs:
// fields as a varint length and bytes, values as appendSval writes them.
type snode struct {
	master StreamID // the first entry's id
	last   StreamID // the last entry's id, deleted or not
	fields []byte   // the master's fields: count, then each length and bytes
	data   []byte
	count  int // entries, deleted ones included
	live   int
	// lastOff is the offset of the last entry.
	lastOff int
}

const snodeBytes = 112 // the node struct and its pointer in the slice

// StreamNack is an entry delivered to a consumer of a group and not
// acknowledged yet: an entry of the group's pending entries list (PEL).
type StreamNack struct {
	ID            StreamID
	Consumer      *StreamConsumer
	DeliveryTime  int64 // Unix milliseconds of the last delivery
	DeliveryCount uint64
}

func nackLess(a, b *StreamNack) bool { return a.ID.Less(b.ID) }

func newPEL() *btree.BTreeG[*StreamNack] { return btree.NewG(16, nackLess) }

// StreamConsumer is a consumer of a group.
type StreamConsumer struct {
	Name     string
	SeenTime int64 // Unix milliseconds of its last read or claim
	pel      *btree.BTreeG[*StreamNack]
}

// Pending returns the number of entries delivered to the consumer and not
// acknowledged.
func (c *StreamConsumer) Pending() int { return c.pel.Len() }

// StreamGroup is a consumer group.
type StreamGroup struct {
	Name string
	// LastID is the id of the last entry delivered to the group.
	LastID StreamID
	// EntriesRead is the group's count of entries read (its logical
	// position in the stream), or -1 when it is not known.
	EntriesRead int64
	pel         *btree.BTreeG[*StreamNack]
	consumers   map[string]*StreamConsumer
}

// Pending returns the number of entries in the group's PEL.
func (g *StreamGroup) Pending() int { return g.pel.Len() }

// Consumer returns the consumer named name, or nil.
func (g *StreamGroup) Consumer(name []byte) *StreamConsumer { return g.consumers[string(name)] }

// Consumers returns the group's consumers, ordered by name.
func (g *StreamGroup) Consumers() []*StreamConsumer {
	cs := make([]*StreamConsumer, 0, len(g.consumers))
	for _, c := range g.consumers {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *StreamConsumer) int { return compareStrings(a.Name, b.Name) })
	return cs
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Nack returns the group's pending entry of id, or nil.
func (g *StreamGroup) Nack(id StreamID) *StreamNack {
	n, _ := g.pel.Get(&StreamNack{ID: id})
	return n
}

// AscendPending calls fn with the group's pending entries from id from on,
// or with those of consumer c when c is not nil, until fn returns false.
// fn may not change the group.
func (g *StreamGroup) AscendPending(c *StreamConsumer, from StreamID, fn func(n *StreamNack) bool) {
	pel := g.pel
	if c != nil {
		pel = c.pel
	}
	pel.AscendGreaterOrEqual(&StreamNack{ID: from}, fn)
}

// Stream is a stream value.
type Stream struct {
	nodes        []*snode
	length       int
	bytes        int // the nodes' buffers
	LastID       StreamID
	MaxDeleted   StreamID // the largest id XDEL removed
	EntriesAdded uint64
	groups       []*StreamGroup // by name
	groupBytes   int            // what groups, consumers and pending entries cost (MemoryUsage)

	version uint64
	journal []byte
	// hint is where the last Ascend stopped inside a node: the offset of
	// the entry it stopped at, and the id of the entry before it, so that
	// reading on from there (a consumer reading a stream in order) starts
	// there instead of at the node's first entry. Offsets stay valid while
	// the node exists: entries are only appended to it and flagged.
	hint struct {
		n      *snode
		off    int
		before StreamID
	}
}

// NewStream returns an empty stream.
func NewStream() *Stream { return &Stream{} }

// Kind returns storage.KindStream.
func (s *Stream) Kind() storage.Kind { return storage.KindStream }

// Len returns the number of entries.
func (s *Stream) Len() int { return s.length }

// Encoding returns "stream".
func (s *Stream) Encoding() string { return EncStream }

// EncStream is a stream's OBJECT ENCODING.
const EncStream = "stream"

// What the parts of a consumer group cost: a pending entry (the struct and
// its places in the group's and the consumer's trees), a group and a
// consumer, besides their names.
const (
	nackBytes     = 96
	groupBytes    = 96
	consumerBytes = 80
)

// MemoryUsage returns an estimate of the bytes the stream holds.
func (s *Stream) MemoryUsage() int64 {
	return int64(128 + cap(s.nodes)*8 + len(s.nodes)*snodeBytes + s.bytes + s.groupBytes)
}

// Version returns the number of changes logged for the stream; records
// carry it so that a replay applies each change once (see List.Version).
func (s *Stream) Version() uint64 { return s.version }

// SetVersion sets the number Version returns.
func (s *Stream) SetVersion(v uint64) { s.version = v }

// TakeJournal returns the operations recorded since the last call, in the
// form Apply takes, and forgets them; the result is valid until the next
// change.
func (s *Stream) TakeJournal() []byte {
	j := s.journal
	s.journal = s.journal[:0]
	return j
}

// Clone returns a deep copy.
func (s *Stream) Clone() storage.Object {
	c := NewStream()
	c.Apply(s.appendWhole(nil))
	c.version = s.version
	return c
}

// Nodes returns the number of nodes the entries are kept in.
func (s *Stream) Nodes() int { return len(s.nodes) }

// FirstID returns the id of the first entry, or 0-0 for an empty stream.
func (s *Stream) FirstID() StreamID {
	var id StreamID
	s.Ascend(StreamID{}, MaxStreamID, func(e StreamID, _ [][]byte) bool {
		id = e
		return false
	})
	return id
}

// Groups returns the consumer groups, ordered by name.
func (s *Stream) Groups() []*StreamGroup { return s.groups }

// Group returns the group named name, or nil.
func (s *Stream) Group(name []byte) *StreamGroup {
	i, ok := s.groupIndex(name)
	if !ok {
		return nil
	}
	return s.groups[i]
}

func (s *Stream) groupIndex(name []byte) (int, bool) {
	return slices.BinarySearchFunc(s.groups, name, func(g *StreamGroup, n []byte) int {
		return bytes.Compare([]byte(g.Name), n)
	})
}

// Stream operations, as the journal records them and Apply replays them.
const (
	sopAdd          = 1 // id, pairs: an entry appended
	sopDelete       = 2 // id: an entry deleted (XDEL)
	sopTrim         = 3 // id: every entry before it deleted
	sopMeta         = 4 // last id, entries added, max deleted id
	sopNode         = 5 // a node as it is
	sopGroup        = 6 // name, last id, entries read: a group created or set
	sopGroupDel     = 7 // name
	sopConsumer     = 8 // group, name, seen time: a consumer created or seen
	sopConsumerDel  = 9 // group, name
	sopNack         = 10
	sopAck          = 11 // group, id
	maxStreamFields = 1 << 24
)

func appendID(b []byte, id StreamID) []byte {
	b = binary.AppendUvarint(b, id.Ms)
	return binary.AppendUvarint(b, id.Seq)
}

func readID(d *binread.Reader) StreamID { return StreamID{d.Uvarint(), d.Uvarint()} }

func (s *Stream) op(code byte) { s.journal = append(s.journal, code) }
func (s *Stream) opID(id StreamID) {
	s.journal = appendID(s.journal, id)
}
func (s *Stream) opBytes(b []byte) { s.journal = lpAppend(s.journal, b) }
func (s *Stream) opInt(v int64) {
	s.journal = binary.AppendVarint(s.journal, v)
}

func streamLimits() (maxBytes, maxEntries int) {
	l := limits.Load()
	return int(l.StreamNodeMaxBytes), int(l.StreamNodeMaxEntries)
}

// Add appends an entry of field and value pairs fv with id, which must be
// after LastID: the caller checks.
func (s *Stream) Add(id StreamID, fv [][]byte) {
	s.op(sopAdd)
	s.opID(id)
	s.journal = binary.AppendUvarint(s.journal, uint64(len(fv)))
	for _, b := range fv {
		s.opBytes(b)
	}
	s.add(id, fv)
}

func (s *Stream) add(id StreamID, fv [][]byte) {
	maxBytes, maxEntries := streamLimits()
	var n *snode
	if len(s.nodes) > 0 {
		n = s.nodes[len(s.nodes)-1]
		size := 0
		for _, b := range fv {
			size += lpSize(len(b))
		}
		if (maxBytes > 0 && len(n.data)+size >= maxBytes) || (maxEntries > 0 && n.count >= maxEntries) {
			n = nil
		}
	}
	if n == nil {
		if len(s.nodes) > 0 {
			// The last node is full: give back its spare room, a fifth
			// of it on average after append's growth.
			last := s.nodes[len(s.nodes)-1]
			if spare := cap(last.data) - len(last.data); spare > 0 {
				s.bytes -= spare
				last.data = bytes.Clone(last.data)
				s.bytes += cap(last.data) - len(last.data)
			}
		}
		n = &snode{master: id}
		n.fields = binary.AppendUvarint(n.fields, uint64(len(fv)/2))
		for i := 0; i < len(fv); i += 2 {
			n.fields = lpAppend(n.fields, fv[i])
		}
		s.nodes = append(s.nodes, n)
		s.bytes += cap(n.fields)
	}
	before := cap(n.data)
	at := len(n.data)
	same := n.sameFields(fv)
	flags := byte(0)
	if same {
		flags = seSameFields
	}
	prev := n.origin()
	if n.count > 0 {
		prev = n.last
	}
	switch {
	case id.Ms == prev.Ms && id.Seq == prev.Seq+1:
		n.data = append(n.data, flags|seIDNext)
	case id.Seq == 0:
		n.data = append(n.data, flags|seSeqZero)
		n.data = binary.AppendUvarint(n.data, id.Ms-prev.Ms)
	default:
		n.data = append(n.data, flags)
		n.data = binary.AppendUvarint(n.data, id.Ms-prev.Ms)
		n.data = binary.AppendUvarint(n.data, id.Seq)
	}
	if same {
		for i := 1; i < len(fv); i += 2 {
			n.data = appendSval(n.data, fv[i])
		}
	} else {
		n.data = binary.AppendUvarint(n.data, uint64(len(fv)/2))
		for i := 0; i < len(fv); i += 2 {
			n.data = lpAppend(n.data, fv[i])
			n.data = appendSval(n.data, fv[i+1])
		}
	}
	s.bytes += cap(n.data) - before
	n.lastOff = at
	n.last = id
	n.count++
	n.live++
	s.length++
	s.LastID = id
	s.EntriesAdded++
}

// sameFields reports whether fv has the master's fields, in order.
func (n *snode) sameFields(fv [][]byte) bool {
	cnt, w := binary.Uvarint(n.fields)
	if int(cnt) != len(fv)/2 {
		return false
	}
	rest := n.fields[w:]
	for i := 0; i < len(fv); i += 2 {
		var f []byte
		f, rest = lpNext(rest)
		if !bytes.Equal(f, fv[i]) {
			return false
		}
	}
	return true
}

// sentry is a decoded entry of a node.
type sentry struct {
	id      StreamID
	off     int // of its flags byte
	deleted bool
}

// appendSval appends a value to a node: an integer in its canonical
// decimal form (as Redis's listpacks keep integers) as its zigzag value
// shifted left with the low bit set, any other as its length shifted left
// and its bytes.
func appendSval(b, v []byte) []byte {
	// The tag bit leaves 63 bits: integers of magnitude below 2^62.
	if i, ok := canonicalInt(v); ok && i >= -1<<62 && i < 1<<62 {
		return binary.AppendUvarint(b, (uint64(i<<1)^uint64(i>>63))<<1|1)
	}
	b = binary.AppendUvarint(b, uint64(len(v))<<1)
	return append(b, v...)
}

// canonicalInt parses v when it is an int64 written as strconv.FormatInt
// writes it: no sign but '-', no leading zero, no "-0".
func canonicalInt(v []byte) (int64, bool) {
	neg := len(v) > 1 && v[0] == '-'
	d := v
	if neg {
		d = v[1:]
	}
	if len(d) == 0 || len(d) > 19 || d[0] == '0' && (len(d) > 1 || neg) {
		return 0, false
	}
	var u uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// svalMax is the most bytes an integer value takes as text.
const svalMax = 20

// readSval reads the value at b[off:] and returns it and the offset after
// it; an integer is written as text at the end of *scratch, which has room
// for it (svalMax bytes), or skipped when scratch is nil.
func readSval(b []byte, off int, scratch *[]byte) ([]byte, int) {
	h, w := binary.Uvarint(b[off:])
	off += w
	if h&1 == 0 {
		end := off + int(h>>1)
		return b[off:end:end], end
	}
	if scratch == nil {
		return nil, off
	}
	z := h >> 1
	start := len(*scratch)
	*scratch = strconv.AppendInt(*scratch, int64(z>>1)^-int64(z&1), 10)
	return (*scratch)[start:len(*scratch):len(*scratch)], off
}

// origin is the id the first entry of the node is written relative to.
func (n *snode) origin() StreamID { return StreamID{Ms: n.master.Ms} }

// next decodes the entry at off, whose previous entry's id is e.id (the
// node's origin for the first), appending its pairs to fv (when fv is not
// nil; integer values are written to *scratch, which fv's slices then
// share), and returns the offset after it.
func (n *snode) next(off int, e *sentry, fv *[][]byte, scratch *[]byte) int {
	b := n.data
	e.off = off
	flags := b[off]
	e.deleted = flags&seDeleted != 0
	off++
	var w int
	switch prev := e.id; {
	case flags&seIDNext != 0:
		e.id = StreamID{prev.Ms, prev.Seq + 1}
	case flags&seSeqZero != 0:
		var ms uint64
		ms, w = binary.Uvarint(b[off:])
		off += w
		e.id = StreamID{prev.Ms + ms, 0}
	default:
		var ms, seq uint64
		ms, w = binary.Uvarint(b[off:])
		off += w
		seq, w = binary.Uvarint(b[off:])
		off += w
		e.id = StreamID{prev.Ms + ms, seq}
	}
	var sc *[]byte
	var cnt uint64
	if flags&seSameFields != 0 {
		cnt, _ = binary.Uvarint(n.fields)
	} else {
		cnt, w = binary.Uvarint(b[off:])
		off += w
	}
	if fv != nil {
		if need := int(cnt) * svalMax; cap(*scratch)-len(*scratch) < need {
			// A new buffer, so that values already handed out stay.
			*scratch = make([]byte, 0, max(need, 2*cap(*scratch)))
		}
		sc = scratch
	}
	if flags&seSameFields != 0 {
		_, w := binary.Uvarint(n.fields)
		fields := n.fields[w:]
		for range cnt {
			var f, v []byte
			f, fields = lpNext(fields)
			v, off = readSval(b, off, sc)
			if fv != nil {
				*fv = append(*fv, f, v)
			}
		}
		return off
	}
	for range cnt {
		f, _ := lpNext(b[off:])
		off += lpSize(len(f))
		var v []byte
		v, off = readSval(b, off, sc)
		if fv != nil {
			*fv = append(*fv, f, v)
		}
	}
	return off
}

// nodeAt returns the index of the first node whose last id is at least id.
func (s *Stream) nodeAt(id StreamID) int {
	i, _ := slices.BinarySearchFunc(s.nodes, id, func(n *snode, id StreamID) int { return n.last.Compare(id) })
	return i
}

// Ascend calls fn with the entries from start to end inclusive, in order,
// until fn returns false. fv holds field and value pairs and is valid
// only during the call; fn may not change the stream.
func (s *Stream) Ascend(start, end StreamID, fn func(id StreamID, fv [][]byte) bool) {
	var fv [][]byte
	var scratch []byte
	var e sentry
	for i := s.nodeAt(start); i < len(s.nodes); i++ {
		n := s.nodes[i]
		if end.Less(n.master) {
			return
		}
		off, prev := 0, n.origin()
		if h := &s.hint; h.n == n && h.before.Less(start) {
			off, prev = h.off, h.before
		}
		for off < len(n.data) {
			fv, scratch = fv[:0], scratch[:0]
			e.id = prev
			next := n.next(off, &e, &fv, &scratch)
			if e.deleted || e.id.Less(start) {
				off, prev = next, e.id
				continue
			}
			if end.Less(e.id) || !fn(e.id, fv) {
				if off > 0 {
					s.hint.n, s.hint.off, s.hint.before = n, off, prev
				}
				return
			}
			off, prev = next, e.id
		}
	}
}

// LastEntryID returns the id of the last entry, or 0-0 for none.
func (s *Stream) LastEntryID() StreamID {
	if len(s.nodes) == 0 {
		return StreamID{}
	}
	n := s.nodes[len(s.nodes)-1]
	if n.data[n.lastOff]&seDeleted == 0 {
		return n.last
	}
	var last StreamID
	s.Descend(MaxStreamID, StreamID{}, func(id StreamID, _ [][]byte) bool {
		last = id
		return false
	})
	return last
}

// Descend calls fn with the entries from end down to start inclusive,
// until fn returns false, as Ascend.
func (s *Stream) Descend(end, start StreamID, fn func(id StreamID, fv [][]byte) bool) {
	var fv [][]byte
	var scratch []byte
	var e sentry
	var offs []int
	var prevs []StreamID
	i := s.nodeAt(end)
	if i == len(s.nodes) {
		i--
	}
	for ; i >= 0; i-- {
		n := s.nodes[i]
		if n.last.Less(start) {
			return
		}
		offs, prevs = offs[:0], prevs[:0]
		e.id = n.origin()
		for off := 0; off < len(n.data); {
			offs, prevs = append(offs, off), append(prevs, e.id)
			off = n.next(off, &e, nil, nil)
		}
		for j := len(offs) - 1; j >= 0; j-- {
			fv, scratch = fv[:0], scratch[:0]
			e.id = prevs[j]
			n.next(offs[j], &e, &fv, &scratch)
			if e.deleted || end.Less(e.id) {
				continue
			}
			if e.id.Less(start) || !fn(e.id, fv) {
				return
			}
		}
	}
}

// Get returns the pairs of the entry id, valid until the next change, and
// whether it is there.
func (s *Stream) Get(id StreamID) ([][]byte, bool) {
	var out [][]byte
	found := false
	s.Ascend(id, id, func(_ StreamID, fv [][]byte) bool {
		out, found = fv, true
		return false
	})
	return out, found
}

// Delete deletes the entry id, reporting whether it was there.
func (s *Stream) Delete(id StreamID) bool {
	if !s.delete(id) {
		return false
	}
	s.op(sopDelete)
	s.opID(id)
	if s.MaxDeleted.Less(id) {
		s.MaxDeleted = id
	}
	return true
}

func (s *Stream) delete(id StreamID) bool {
	i := s.nodeAt(id)
	if i == len(s.nodes) {
		return false
	}
	n := s.nodes[i]
	e := sentry{id: n.origin()}
	for off := 0; off < len(n.data); {
		off = n.next(off, &e, nil, nil)
		if e.id == id {
			if e.deleted {
				return false
			}
			n.data[e.off] |= seDeleted
			n.live--
			s.length--
			if n.live == 0 {
				s.dropNode(i)
			}
			return true
		}
		if id.Less(e.id) {
			return false
		}
	}
	return false
}

func (s *Stream) dropNode(i int) {
	n := s.nodes[i]
	if s.hint.n == n {
		s.hint.n = nil
	}
	s.bytes -= cap(n.data) + cap(n.fields)
	s.nodes = slices.Delete(s.nodes, i, i+1)
}

// Trim removes entries from the start as XTRIM does: down to maxLen
// entries (when minID is nil) or those before *minID. Approximate trimming
// removes whole nodes only, at most limit entries when limit is above 0.
// It returns the number of entries removed.
func (s *Stream) Trim(maxLen int64, minID *StreamID, approx bool, limit int64) int64 {
	var removed int64
	for len(s.nodes) > 0 {
		if minID == nil && int64(s.length) <= maxLen {
			break
		}
		n := s.nodes[0]
		whole := false
		if minID == nil {
			whole = int64(s.length-n.live) >= maxLen
		} else {
			whole = n.last.Less(*minID)
		}
		if whole {
			if limit > 0 && removed+int64(n.live) > limit {
				break
			}
			removed += int64(n.live)
			s.length -= n.live
			s.dropNode(0)
			continue
		}
		if approx {
			break
		}
		e := sentry{id: n.origin()}
		for off := 0; off < len(n.data); {
			off = n.next(off, &e, nil, nil)
			if e.deleted {
				continue
			}
			if minID == nil && int64(s.length) <= maxLen || minID != nil && !e.id.Less(*minID) {
				break
			}
			n.data[e.off] |= seDeleted
			n.live--
			s.length--
			removed++
		}
		if n.live == 0 {
			s.dropNode(0)
		}
		break
	}
	if removed > 0 {
		// The first entry left, or MaxStreamID for none: trimBefore.
		first := MaxStreamID
		if s.length > 0 {
			first = s.FirstID()
		}
		s.op(sopTrim)
		s.opID(first)
	}
	return removed
}

// trimBefore deletes every entry before id, or every entry for
// MaxStreamID.
func (s *Stream) trimBefore(id StreamID) {
	if id == MaxStreamID {
		for len(s.nodes) > 0 {
			s.length -= s.nodes[0].live
			s.dropNode(0)
		}
		return
	}
	s.Trim(0, &id, false, 0)
}

// SetMeta sets the last id, the count of entries added and the largest
// deleted id, as XSETID does.
func (s *Stream) SetMeta(last StreamID, added uint64, maxDeleted StreamID) {
	s.LastID, s.EntriesAdded, s.MaxDeleted = last, added, maxDeleted
	s.op(sopMeta)
	s.opID(last)
	s.journal = binary.AppendUvarint(s.journal, added)
	s.opID(maxDeleted)
}

// SetGroup creates the group name, or sets its last id and entries read
// when it exists, and returns it.
func (s *Stream) SetGroup(name []byte, last StreamID, entriesRead int64) *StreamGroup {
	s.op(sopGroup)
	s.opBytes(name)
	s.opID(last)
	s.opInt(entriesRead)
	i, ok := s.groupIndex(name)
	if ok {
		g := s.groups[i]
		g.LastID, g.EntriesRead = last, entriesRead
		return g
	}
	g := &StreamGroup{Name: string(name), LastID: last, EntriesRead: entriesRead, pel: newPEL(), consumers: map[string]*StreamConsumer{}}
	s.groups = slices.Insert(s.groups, i, g)
	s.groupBytes += groupBytes + len(name)
	return g
}

// DeleteGroup deletes the group name, reporting whether it was there.
func (s *Stream) DeleteGroup(name []byte) bool {
	i, ok := s.groupIndex(name)
	if !ok {
		return false
	}
	s.op(sopGroupDel)
	s.opBytes(name)
	g := s.groups[i]
	s.groupBytes -= groupBytes + len(g.Name) + g.pel.Len()*nackBytes
	for name := range g.consumers {
		s.groupBytes -= consumerBytes + len(name)
	}
	s.groups = slices.Delete(s.groups, i, i+1)
	return true
}

// SeeConsumer returns g's consumer name, created if needed, after setting
// its seen time to now, and whether it was created.
func (s *Stream) SeeConsumer(g *StreamGroup, name []byte, now int64) (*StreamConsumer, bool) {
	s.op(sopConsumer)
	s.opBytes([]byte(g.Name))
	s.opBytes(name)
	s.opInt(now)
	c := g.consumers[string(name)]
	created := c == nil
	if created {
		c = &StreamConsumer{Name: string(name), pel: newPEL()}
		g.consumers[c.Name] = c
		s.groupBytes += consumerBytes + len(name)
	}
	c.SeenTime = now
	return c, created
}

// DeleteConsumer deletes g's consumer c and its pending entries, and
// returns how many it had.
func (s *Stream) DeleteConsumer(g *StreamGroup, c *StreamConsumer) int {
	s.op(sopConsumerDel)
	s.opBytes([]byte(g.Name))
	s.opBytes([]byte(c.Name))
	n := c.pel.Len()
	c.pel.Ascend(func(p *StreamNack) bool {
		g.pel.Delete(p)
		return true
	})
	s.groupBytes -= n*nackBytes + consumerBytes + len(c.Name)
	delete(g.consumers, c.Name)
	return n
}

// SetNack makes id a pending entry of g owned by c, delivered at time with
// count deliveries, moving it from the consumer that had it.
func (s *Stream) SetNack(g *StreamGroup, c *StreamConsumer, id StreamID, time int64, count uint64) *StreamNack {
	s.op(sopNack)
	s.opBytes([]byte(g.Name))
	s.opBytes([]byte(c.Name))
	s.opID(id)
	s.opInt(time)
	s.journal = binary.AppendUvarint(s.journal, count)
	n := g.Nack(id)
	if n == nil {
		n = &StreamNack{ID: id}
		g.pel.ReplaceOrInsert(n)
		s.groupBytes += nackBytes
	} else if n.Consumer != c {
		n.Consumer.pel.Delete(n)
	}
	n.Consumer, n.DeliveryTime, n.DeliveryCount = c, time, count
	c.pel.ReplaceOrInsert(n)
	return n
}

// Ack removes id from g's pending entries, reporting whether it was there.
func (s *Stream) Ack(g *StreamGroup, id StreamID) bool {
	n, ok := g.pel.Delete(&StreamNack{ID: id})
	if !ok {
		return false
	}
	n.Consumer.pel.Delete(n)
	s.groupBytes -= nackBytes
	s.op(sopAck)
	s.opBytes([]byte(g.Name))
	s.opID(id)
	return true
}

// HasTombstones reports whether entries between start and end (nil for
// no bound) may have been deleted, as Redis's streamRangeHasTombstones.
func (s *Stream) HasTombstones(start, end *StreamID) bool {
	if s.length == 0 || s.MaxDeleted.IsZero() {
		return false
	}
	if s.MaxDeleted.Less(s.FirstID()) {
		return false
	}
	lo, hi := StreamID{}, MaxStreamID
	if start != nil {
		lo = *start
	}
	if end != nil {
		hi = *end
	}
	return !s.MaxDeleted.Less(lo) && !hi.Less(s.MaxDeleted)
}

// EstimateEntriesRead returns the logical position of id in the stream
// (how many entries were added up to it), or -1 when it cannot tell, as
// Redis's streamEstimateDistanceFromFirstEverEntry.
func (s *Stream) EstimateEntriesRead(id StreamID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.Compare(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	switch cmp := id.Compare(s.LastID); {
	case cmp == 0:
		return int64(s.EntriesAdded)
	case cmp > 0:
		return -1
	}
	first := s.FirstID()
	if s.MaxDeleted.IsZero() || s.MaxDeleted.Less(first) {
		switch id.Compare(first) {
		case -1:
			return int64(s.EntriesAdded) - int64(s.length)
		case 0:
			return int64(s.EntriesAdded) - int64(s.length) + 1
		}
	}
	return -1
}

// Lag returns the number of entries not yet read by g, and false when it
// cannot tell, as Redis's streamReplyWithCGLag.
func (s *Stream) Lag(g *StreamGroup) (int64, bool) {
	if s.EntriesAdded == 0 {
		return 0, true
	}
	if g.EntriesRead != -1 && !s.HasTombstones(&g.LastID, nil) {
		return int64(s.EntriesAdded) - g.EntriesRead, true
	}
	if read := s.EstimateEntriesRead(g.LastID); read != -1 {
		return int64(s.EntriesAdded) - read, true
	}
	return 0, false
}

// Delivered records that the entry id was read by g: it moves the group's
// last id and entries read as Redis's streamReplyWithRange does.
func (s *Stream) Delivered(g *StreamGroup, id StreamID) {
	if !g.LastID.Less(id) {
		return
	}
	read := g.EntriesRead
	if read != -1 && !s.HasTombstones(&id, nil) {
		read++
	} else if s.EntriesAdded > 0 {
		read = s.EstimateEntriesRead(id)
	}
	s.SetGroup([]byte(g.Name), id, read)
}

// appendWhole appends the operations that rebuild the stream: its nodes
// as they are, its counters, its groups, consumers and pending entries.
func (s *Stream) appendWhole(b []byte) []byte {
	s.Parts(0, func(part []byte) { b = append(b, part...) })
	return b
}

// Parts calls fn with the stream written whole as operations for Apply,
// in parts of about size bytes (one part when size is 0); each part is
// valid during the call only.
func (s *Stream) Parts(size int, fn func(part []byte)) {
	var b []byte
	flush := func(force bool) {
		if force || size > 0 && len(b) >= size {
			fn(b)
			b = b[:0]
		}
	}
	for _, n := range s.nodes {
		b = append(b, sopNode)
		b = appendID(b, n.master)
		b = appendID(b, n.last)
		b = binary.AppendUvarint(b, uint64(n.count))
		b = binary.AppendUvarint(b, uint64(n.live))
		b = lpAppend(b, n.fields)
		b = lpAppend(b, n.data)
		flush(false)
	}
	b = append(b, sopMeta)
	b = appendID(b, s.LastID)
	b = binary.AppendUvarint(b, s.EntriesAdded)
	b = appendID(b, s.MaxDeleted)
	for _, g := range s.groups {
		b = append(b, sopGroup)
		b = lpAppend(b, []byte(g.Name))
		b = appendID(b, g.LastID)
		b = binary.AppendVarint(b, g.EntriesRead)
		for _, c := range g.Consumers() {
			b = append(b, sopConsumer)
			b = lpAppend(b, []byte(g.Name))
			b = lpAppend(b, []byte(c.Name))
			b = binary.AppendVarint(b, c.SeenTime)
		}
		g.pel.Ascend(func(n *StreamNack) bool {
			b = append(b, sopNack)
			b = lpAppend(b, []byte(g.Name))
			b = lpAppend(b, []byte(n.Consumer.Name))
			b = appendID(b, n.ID)
			b = binary.AppendVarint(b, n.DeliveryTime)
			b = binary.AppendUvarint(b, n.DeliveryCount)
			flush(false)
			return true
		})
	}
	flush(true)
}

// Apply replays operations recorded by the journal or Parts, and reports
// false for bytes that do not decode or do not fit the stream, leaving
// the stream with the operations before the bad one applied.
func (s *Stream) Apply(ops []byte) bool {
	d := binread.Reader{B: ops}
	var fv [][]byte
	for len(d.B) > 0 && !d.Bad {
		code := d.U8()
		switch code {
		case sopAdd:
			id := readID(&d)
			cnt := d.Uvarint()
			if cnt > uint64(len(d.B)) || cnt%2 != 0 || cnt == 0 {
				return false
			}
			fv = fv[:0]
			for range cnt {
				fv = append(fv, d.Bytes())
			}
			if d.Bad || !s.LastID.Less(id) {
				return false
			}
			s.add(id, fv)
		case sopDelete:
			id := readID(&d)
			if d.Bad {
				return false
			}
			if s.delete(id) && s.MaxDeleted.Less(id) {
				s.MaxDeleted = id
			}
		case sopTrim:
			id := readID(&d)
			if d.Bad {
				return false
			}
			s.trimBefore(id)
		case sopMeta:
			last, added, maxDel := readID(&d), d.Uvarint(), readID(&d)
			if d.Bad {
				return false
			}
			s.LastID, s.EntriesAdded, s.MaxDeleted = last, added, maxDel
		case sopNode:
			if !s.applyNode(&d) {
				return false
			}
		case sopGroup:
			name, last, read := d.Bytes(), readID(&d), d.Varint()
			if d.Bad {
				return false
			}
			s.SetGroup(name, last, read)
		case sopGroupDel:
			name := d.Bytes()
			if d.Bad {
				return false
			}
			s.DeleteGroup(name)
		case sopConsumer:
			gname, name, seen := d.Bytes(), d.Bytes(), d.Varint()
			g := s.Group(gname)
			if d.Bad || g == nil {
				return false
			}
			s.SeeConsumer(g, name, seen)
		case sopConsumerDel:
			gname, name := d.Bytes(), d.Bytes()
			g := s.Group(gname)
			if d.Bad || g == nil {
				return false
			}
			if c := g.Consumer(name); c != nil {
				s.DeleteConsumer(g, c)
			}
		case sopNack:
			gname, cname, id, t, cnt := d.Bytes(), d.Bytes(), readID(&d), d.Varint(), d.Uvarint()
			g := s.Group(gname)
			if d.Bad || g == nil {
				return false
			}
			c := g.Consumer(cname)
			if c == nil {
				c, _ = s.SeeConsumer(g, cname, t)
			}
			s.SetNack(g, c, id, t, cnt)
		case sopAck:
			gname, id := d.Bytes(), readID(&d)
			g := s.Group(gname)
			if d.Bad || g == nil {
				return false
			}
			s.Ack(g, id)
		default:
			return false
		}
	}
	s.journal = s.journal[:0]
	return !d.Bad
}

// applyNode appends a node as Parts wrote it, checking that its entries
// decode, follow the stream's and each other's ids and count as it says.
func (s *Stream) applyNode(d *binread.Reader) bool {
	n := &snode{master: readID(d), last: readID(d)}
	count, live := d.Uvarint(), d.Uvarint()
	n.fields = bytes.Clone(d.Bytes())
	n.data = bytes.Clone(d.Bytes())
	if d.Bad || count == 0 || live == 0 || live > count || count > uint64(len(n.data)) {
		return false
	}
	if len(s.nodes) > 0 && !s.nodes[len(s.nodes)-1].last.Less(n.master) {
		return false
	}
	if !n.valid(int(count), int(live)) {
		return false
	}
	e := sentry{id: n.origin()}
	for off := 0; off < len(n.data); off = n.next(off, &e, nil, nil) {
		n.lastOff = off
	}
	n.count, n.live = int(count), int(live)
	s.nodes = append(s.nodes, n)
	s.length += n.live
	s.bytes += cap(n.data) + cap(n.fields)
	return true
}

// valid checks a node's encoding before it is walked.
func (n *snode) valid(count, live int) bool {
	fd := binread.Reader{B: n.fields}
	nf := fd.Uvarint()
	if nf == 0 || nf > uint64(len(n.fields)) {
		return false
	}
	for range nf {
		fd.Bytes()
	}
	if fd.Bad || len(fd.B) != 0 {
		return false
	}
	d := binread.Reader{B: n.data}
	prev, seen, alive := n.origin(), 0, 0
	for len(d.B) > 0 && !d.Bad {
		flags := d.U8()
		if flags&^(seDeleted|seSameFields|seIDNext|seSeqZero) != 0 || flags&seIDNext != 0 && flags&seSeqZero != 0 {
			return false
		}
		var id StreamID
		switch {
		case flags&seIDNext != 0:
			if prev.Seq == math.MaxUint64 {
				return false
			}
			id = StreamID{prev.Ms, prev.Seq + 1}
		default:
			ms := d.Uvarint()
			seq := uint64(0)
			if flags&seSeqZero == 0 {
				seq = d.Uvarint()
			}
			if ms > math.MaxUint64-prev.Ms {
				return false
			}
			id = StreamID{prev.Ms + ms, seq}
		}
		if seen == 0 && id != n.master || seen > 0 && !prev.Less(id) {
			return false
		}
		if flags&seSameFields != 0 {
			for range nf {
				readSvalChecked(&d)
			}
		} else {
			cnt := d.Uvarint()
			if cnt == 0 || cnt > uint64(len(d.B)) {
				return false
			}
			for range cnt {
				d.Bytes()
				readSvalChecked(&d)
			}
		}
		prev = id
		seen++
		if flags&seDeleted == 0 {
			alive++
		}
	}
	return !d.Bad && seen == count && alive == live && prev == n.last
}

// readSvalChecked skips a value written by appendSval, marking d bad when
// it does not fit.
func readSvalChecked(d *binread.Reader) {
	h := d.Uvarint()
	if h&1 == 0 && !d.Bad {
		n := h >> 1
		if n > uint64(len(d.B)) {
			d.Bad = true
			return
		}
		d.B = d.B[n:]
	}
}
