package object

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// List is a list value: its elements in chunks, each a byte slice of
// elements back to back (see the package documentation). Reads that walk
// a chunk backwards leave checkpoints in it, so a List is used by one
// goroutine at a time for reads too, as every object is by its owner. The
// zero value is not usable; call NewList.
type List struct {
	chunks []lchunk
	n      int // elements
	// lpEntries is what the entries of Redis's listpack of the elements
	// would take (lpEntryBytes), for Redis's choice of encoding name.
	lpEntries int
	bufs      int    // bytes of every chunk's buffer
	version   uint64 // see Version
	quick     bool   // named quicklist
}

var _ storage.Object = (*List)(nil)

// lchunk is one chunk of a list: its elements are buf[start:end], the rest
// of buf free room on either side. An element is its length, a varint,
// and its bytes, so a chunk is read forwards; cps are the offsets of some
// of its elements, in order, from which it is read backwards (see
// before): empty until something walks the chunk backwards, then about
// every cpStep-th element. Every checkpoint is the offset of an element
// of the chunk: those its pops pass are dropped, and moving the elements
// empties cps.
type lchunk struct {
	buf           []byte // the whole allocation: len(buf) == cap(buf)
	cps           []uint16
	start, end, n uint32 // n: elements
}

func (c *lchunk) used() int { return int(c.end - c.start) }

const (
	// lchunkBytes is what a chunk costs in the list's array of chunks.
	lchunkBytes = 64
	// listBytes is what the List struct costs.
	listBytes = 64
	// listSafetyLimit bounds the bytes of a chunk whatever a positive
	// list-max-listpack-size, as Redis's SIZE_SAFETY_LIMIT does.
	listSafetyLimit = 8192
	// lpHeaderBytes is what a Redis listpack takes besides its entries.
	lpHeaderBytes = 7
	// lchunkMin is the smallest buffer a chunk is given.
	lchunkMin = 16
	// cpStep is how many elements apart a chunk's checkpoints are placed.
	cpStep = 16
	// cpMaxBuf bounds the buffer of a chunk that keeps checkpoints, whose
	// offsets are 16 bits: only a chunk holding one element larger than
	// any limit has a larger one, and needs none.
	cpMaxBuf = math.MaxUint16 + 1
)

// NewList returns an empty list.
func NewList() *List { return &List{} }

// NewListEncoded returns an empty list named by enc as OBJECT ENCODING
// names it, or nil for an unknown name.
func NewListEncoded(enc string) *List {
	switch enc {
	case EncListpack:
		return NewList()
	case EncQuicklist:
		return &List{quick: true}
	}
	return nil
}

// Kind returns storage.KindList.
func (l *List) Kind() storage.Kind { return storage.KindList }

// Len returns the number of elements.
func (l *List) Len() int { return l.n }

// Encoding returns "listpack" or "quicklist".
func (l *List) Encoding() string {
	if l.quick {
		return EncQuicklist
	}
	return EncListpack
}

// MemoryUsage returns an estimate of the bytes the list holds: its struct,
// its array of chunks, their buffers at capacity, and 2 bytes every
// cpStep elements for checkpoints. The checkpoints are counted for every
// chunk although only those walked backwards have them, since reads make
// them and the estimate may change only with writes.
func (l *List) MemoryUsage() int64 {
	return int64(listBytes + cap(l.chunks)*lchunkBytes + l.bufs + l.n*2/cpStep)
}

// Version returns the number of changes logged for the list (see
// SetVersion), which element records carry so that a replay applies each
// change once.
func (l *List) Version() uint64 { return l.version }

// SetVersion sets the number Version returns. The keyspace counts each
// change it logs; a replay sets the number the record carries.
func (l *List) SetVersion(v uint64) { l.version = v }

// Clone returns a deep copy, each chunk's buffer cut to its elements.
func (l *List) Clone() storage.Object {
	c := &List{n: l.n, lpEntries: l.lpEntries, version: l.version, quick: l.quick, chunks: make([]lchunk, len(l.chunks))}
	for i := range l.chunks {
		src := &l.chunks[i]
		buf := allocChunk(src.used())
		copy(buf, src.buf[src.start:src.end])
		c.chunks[i] = lchunk{buf: buf, end: uint32(src.used()), n: src.n}
		c.bufs += len(buf)
	}
	return c
}

// allocChunk returns a buffer of at least n bytes, as long as its
// allocation's size class allows.
func allocChunk(n int) []byte {
	b := slices.Grow([]byte(nil), max(n, lchunkMin))
	return b[:cap(b)]
}

// lvarintLen returns the bytes of the varint of n.
func lvarintLen(n int) int {
	w := 1
	for n >= 0x80 {
		n >>= 7
		w++
	}
	return w
}

// lelemSize returns what an element of n bytes takes in a chunk.
func lelemSize(n int) int { return lvarintLen(n) + n }

// putLelem writes elem at the start of b: its length and its bytes.
func putLelem(b, elem []byte) {
	w := binary.PutUvarint(b, uint64(len(elem)))
	copy(b[w:], elem)
}

// lnext decodes the element at offset off of b and returns it and the
// offset after it.
func lnext(b []byte, off int) ([]byte, int) {
	if x := b[off]; x < 0x80 {
		s := off + 1
		e := s + int(x)
		return b[s:e:e], e
	}
	n, w := binary.Uvarint(b[off:])
	s := off + w
	e := s + int(n)
	return b[s:e:e], e
}

// before appends to dst the offsets of the elements of c from its last
// checkpoint below off (or its start) up to off, an element boundary
// above its start, in order, and returns dst: walking a chunk backwards
// takes such stretches one after the other, each read forwards. A walk
// of more than 2·cpStep elements leaves a checkpoint every cpStep
// elements and appends only the offsets after the last one, so that dst
// grows by at most 2·cpStep and the next walk is short.
func (l *List) before(c *lchunk, off int, dst []int) []int {
	i, _ := slices.BinarySearch(c.cps, uint16(min(off, cpMaxBuf-1)))
	s := int(c.start)
	if i > 0 && len(c.buf) <= cpMaxBuf {
		s = int(c.cps[i-1])
	}
	first := len(dst)
	var add []uint16
	for s < off {
		if len(dst)-first == 2*cpStep && len(c.buf) <= cpMaxBuf {
			add = append(add, uint16(dst[first+cpStep]))
			dst = append(dst[:first], dst[first+cpStep:]...)
		}
		dst = append(dst, s)
		_, s = lnext(c.buf, s)
	}
	if len(add) > 0 {
		c.cps = slices.Insert(c.cps, i, add...)
	}
	return dst
}

// lastStart returns the offset of the last element of c: before's walk,
// without keeping the offsets unless it is long.
func (l *List) lastStart(c *lchunk) int {
	end := int(c.end)
	i, _ := slices.BinarySearch(c.cps, uint16(min(end, cpMaxBuf-1)))
	s := int(c.start)
	if i > 0 && len(c.buf) <= cpMaxBuf {
		s = int(c.cps[i-1])
	}
	for k := 0; ; k++ {
		_, next := lnext(c.buf, s)
		if next >= end {
			return s
		}
		if k == 2*cpStep {
			var scratch [2*cpStep + 1]int
			offs := l.before(c, end, scratch[:0])
			return offs[len(offs)-1]
		}
		s = next
	}
}

// shift moves c's checkpoints by delta after its elements moved by delta
// within its buffer or to a new one.
func (c *lchunk) shift(delta int) {
	if len(c.buf) > cpMaxBuf {
		c.cps = c.cps[:0]
		return
	}
	for j := range c.cps {
		c.cps[j] = uint16(int(c.cps[j]) + delta)
	}
}

// moved empties c's checkpoints after its elements moved within it.
func (c *lchunk) moved() { c.cps = c.cps[:0] }

// passed drops the checkpoints of c that are no longer at one of its
// elements after pops at either end.
func (c *lchunk) passed() {
	k := 0
	for k < len(c.cps) && uint32(c.cps[k]) < c.start {
		k++
	}
	c.cps = slices.Delete(c.cps, 0, k)
	for len(c.cps) > 0 && uint32(c.cps[len(c.cps)-1]) >= c.end {
		c.cps = c.cps[:len(c.cps)-1]
	}
}

// lpEntryBytes returns what elem takes as an entry of a Redis listpack:
// an integer in 2 to 10 bytes, a string in its bytes plus 2 to 10.
func lpEntryBytes(elem []byte) int {
	if v, ok := parseInt(elem); ok {
		switch {
		case v >= 0 && v <= 127:
			return 2
		case v >= -4096 && v <= 4095:
			return 3
		case v >= math.MinInt16 && v <= math.MaxInt16:
			return 4
		case v >= -1<<23 && v < 1<<23:
			return 5
		case v >= math.MinInt32 && v <= math.MaxInt32:
			return 6
		}
		return 10
	}
	n := len(elem)
	switch {
	case n < 64:
		n++
	case n < 4096:
		n += 2
	default:
		n += 5
	}
	switch {
	case n < 128:
		return n + 1
	case n < 16384:
		return n + 2
	case n < 2097152:
		return n + 3
	case n < 268435456:
		return n + 4
	}
	return n + 5
}

// listLimits returns the bounds of a chunk's bytes and elements under
// list-max-listpack-size fill, as Redis's quicklistNodeLimit does.
func listLimits(fill int64) (size, count int) {
	if fill >= 0 {
		return listSafetyLimit, int(min(max(fill, 1), math.MaxInt32))
	}
	level := min(-(max(fill, -5) + 1), 4)
	return 4096 << level, math.MaxInt
}

// listExceeds reports whether a listpack of size bytes and count elements
// is past fill, as Redis's quicklistNodeExceedsLimit decides.
func listExceeds(fill int64, size, count int) bool {
	sz, cnt := listLimits(fill)
	if fill < 0 {
		return size > sz
	}
	return size > listSafetyLimit || count > cnt
}

// fill returns list-max-listpack-size.
func listFill() int64 { return limits.Load().ListMaxListpackSize }

// grow names the list quicklist when adding elems (of total bytes add,
// count of them) would take Redis's listpack past fill, as Redis's
// listTypeTryConvertListpack does before a command adds them.
func (l *List) grow(fill int64, add, count int) {
	if !l.quick && listExceeds(fill, lpHeaderBytes+l.lpEntries+add, l.n+count) {
		l.quick = true
	}
}

// shrink names the list listpack again once it is one chunk of at most
// half of fill, as Redis's listTypeTryConvertQuicklist does after a
// command removes elements.
func (l *List) shrink(fill int64) {
	if !l.quick || len(l.chunks) != 1 {
		return
	}
	sz, cnt := listLimits(fill)
	if fill < 0 && lpHeaderBytes+l.lpEntries <= sz/2 || fill >= 0 && l.n <= cnt/2 {
		l.quick = false
	}
}

// allows reports whether c may take one more element of size bytes
// under fill.
func (c *lchunk) allows(size int, fill int64) bool {
	sz, cnt := listLimits(fill)
	return c.used()+size <= sz && int(c.n) < cnt
}

// Push adds elems at the head (left) or the tail, one after the other, as
// LPUSH and RPUSH do (LPUSH a b leaves b first). It costs O(1) per element
// amortised.
func (l *List) Push(left bool, elems ...[]byte) {
	fill := listFill()
	add := 0
	for _, e := range elems {
		add += len(e)
	}
	l.grow(fill, add, len(elems))
	rest := 0
	for _, e := range elems {
		rest += lelemSize(len(e))
	}
	for _, e := range elems {
		size := lelemSize(len(e))
		l.push(left, e, size, rest, fill)
		rest -= size
	}
}

// push adds e, of size bytes in a chunk, at one end; hint is the bytes of
// it and of the elements pushed after it by the same call.
func (l *List) push(left bool, e []byte, size, hint int, fill int64) {
	l.n++
	l.lpEntries += lpEntryBytes(e)
	limit, _ := listLimits(fill)
	if len(l.chunks) > 0 {
		i := 0
		if !left {
			i = len(l.chunks) - 1
		}
		c := &l.chunks[i]
		if c.allows(size, fill) {
			l.room(c, left, size, hint, limit)
			if left {
				c.start -= uint32(size)
				putLelem(c.buf[c.start:], e)
			} else {
				putLelem(c.buf[c.end:], e)
				c.end += uint32(size)
			}
			c.n++
			return
		}
	}
	buf := allocChunk(max(size, min(hint, limit)))
	l.bufs += len(buf)
	c := lchunk{buf: buf, n: 1}
	if left {
		c.start, c.end = uint32(len(buf)-size), uint32(len(buf))
		putLelem(buf[c.start:], e)
		l.chunks = slices.Insert(l.chunks, 0, c)
	} else {
		c.end = uint32(size)
		putLelem(buf, e)
		l.chunks = append(l.chunks, c)
	}
}

// room makes sure that c has need free bytes on its left or right side.
// A chunk whose free room is on the other side moves its elements when
// that is cheap or the chunk may not grow, splitting the room between
// the sides so that pushes alternating between them move it rarely;
// otherwise it doubles, or grows to hint, at most to limit, with the new
// room on the side pushed to. Doubling rather than growing by half makes
// half the garbage on the way to a full chunk (6 KiB for 8, not 12), which
// the process holds on to until the collector runs: 1 byte less resident
// per element for 1,000 lists of 1,000 elements of 16 bytes.
func (l *List) room(c *lchunk, left bool, need, hint, limit int) {
	if left && int(c.start) >= need || !left && len(c.buf)-int(c.end) >= need {
		return
	}
	used := c.used()
	free := len(c.buf) - used
	if free >= need && (used <= len(c.buf)/2 || len(c.buf) >= limit) {
		front := free / 2
		if left {
			front = max(front, need)
		} else {
			front = min(front, free-need)
		}
		copy(c.buf[front:], c.buf[c.start:c.end])
		c.shift(front - int(c.start))
		c.start, c.end = uint32(front), uint32(front+used)
		return
	}
	want := max(used+need, min(used+hint, limit), len(c.buf)*2)
	if want > limit {
		want = max(limit, used+need)
	}
	nb := allocChunk(want)
	l.bufs += len(nb) - len(c.buf)
	s := 0
	if left {
		s = len(nb) - used
	}
	copy(nb[s:], c.buf[c.start:c.end])
	c.buf = nb
	c.shift(s - int(c.start))
	c.start, c.end = uint32(s), uint32(s+used)
}

// dropChunk removes chunk i, which is empty or whose elements the list no
// longer counts.
func (l *List) dropChunk(i int) {
	l.bufs -= len(l.chunks[i].buf)
	l.chunks = slices.Delete(l.chunks, i, i+1)
	if len(l.chunks) == 0 {
		l.chunks = nil
	}
}

// Pop removes the element at the head (left) or the tail and returns it;
// the list must not be empty. The bytes belong to the list: popping
// writes nothing, so elements popped one after another stay valid until
// the list is next pushed to, inserted into or set.
func (l *List) Pop(left bool) []byte {
	i := 0
	if !left {
		i = len(l.chunks) - 1
	}
	c := &l.chunks[i]
	e := l.popFrom(c, left)
	l.n--
	l.lpEntries -= lpEntryBytes(e)
	if c.n == 0 {
		l.dropChunk(i)
	}
	l.shrink(listFill())
	return e
}

// popFrom removes the first (left) or last element of c and returns it.
func (l *List) popFrom(c *lchunk, left bool) []byte {
	var e []byte
	if left {
		var next int
		e, next = lnext(c.buf, int(c.start))
		c.start = uint32(next)
	} else {
		o := l.lastStart(c)
		e, _ = lnext(c.buf, o)
		c.end = uint32(o)
	}
	c.n--
	c.passed()
	return e
}

// locate returns the chunk holding element i, 0 ≤ i < Len, the element's
// index in the chunk and its offset, walking whole chunks from the nearer
// end of the list and then elements from the nearer end of the chunk.
func (l *List) locate(i int) (ci, k, off int) {
	if i < l.n/2 {
		for ci = range l.chunks {
			if n := int(l.chunks[ci].n); i >= n {
				i -= n
				continue
			}
			break
		}
	} else {
		j := l.n - 1 - i
		for ci = len(l.chunks) - 1; ci > 0; ci-- {
			n := int(l.chunks[ci].n)
			if j < n {
				break
			}
			j -= n
		}
		i = int(l.chunks[ci].n) - 1 - j
	}
	return ci, i, l.offset(&l.chunks[ci], i)
}

// offset returns the offset of element k of c, walking from the nearer
// end of the chunk.
func (l *List) offset(c *lchunk, k int) int {
	if k <= int(c.n)/2 {
		off := int(c.start)
		for ; k > 0; k-- {
			_, off = lnext(c.buf, off)
		}
		return off
	}
	var scratch [2*cpStep + 1]int
	j := int(c.n) - 1 - k // elements after k
	off := int(c.end)
	for {
		offs := l.before(c, off, scratch[:0])
		if j < len(offs) {
			return offs[len(offs)-1-j]
		}
		j -= len(offs)
		off = offs[0]
	}
}

// Index returns element i, 0 ≤ i < Len. Its bytes belong to the list and
// stay valid until the list changes.
func (l *List) Index(i int) []byte {
	ci, _, off := l.locate(i)
	e, _ := lnext(l.chunks[ci].buf, off)
	return e
}

// Ascend calls fn with the elements from index from on, in order, with
// their index, until fn returns false. fn must not change the list.
func (l *List) Ascend(from int, fn func(i int, elem []byte) bool) {
	if from < 0 || from >= l.n {
		return
	}
	ci, _, off := l.locate(from)
	i := from
	for ; ci < len(l.chunks); ci++ {
		c := &l.chunks[ci]
		if off < 0 {
			off = int(c.start)
		}
		for off < int(c.end) {
			var e []byte
			e, off = lnext(c.buf, off)
			if !fn(i, e) {
				return
			}
			i++
		}
		off = -1
	}
}

// Descend calls fn with the elements from index from down to index 0,
// with their index, until fn returns false. fn must not change the list.
func (l *List) Descend(from int, fn func(i int, elem []byte) bool) {
	if from < 0 || from >= l.n {
		return
	}
	ci, _, off := l.locate(from)
	_, end := lnext(l.chunks[ci].buf, off)
	i := from
	var scratch [2*cpStep + 1]int
	for ; ci >= 0; ci-- {
		c := &l.chunks[ci]
		if end < 0 {
			end = int(c.end)
		}
		for end > int(c.start) {
			offs := l.before(c, end, scratch[:0])
			for j := len(offs) - 1; j >= 0; j-- {
				e, _ := lnext(c.buf, offs[j])
				if !fn(i, e) {
					return
				}
				i--
			}
			end = offs[0]
		}
		end = -1
	}
}

// Set replaces element i, 0 ≤ i < Len, with v, as LSET does: the list is
// named quicklist first when v would take Redis's listpack past the
// limit, and listpack again after when it fits half of it.
func (l *List) Set(i int, v []byte) {
	fill := listFill()
	l.grow(fill, len(v), 1)
	ci, _, off := l.locate(i)
	c := &l.chunks[ci]
	old, next := lnext(c.buf, off)
	if lelemSize(len(v)) == next-off {
		l.lpEntries += lpEntryBytes(v) - lpEntryBytes(old)
		putLelem(c.buf[off:], v)
	} else {
		l.removeAt(ci, off)
		l.insert(i, v, fill)
	}
	l.shrink(fill)
}

// Insert puts v at index i, 0 ≤ i ≤ Len, moving the elements from i on
// one place up, as LINSERT does.
func (l *List) Insert(i int, v []byte) {
	fill := listFill()
	l.grow(fill, len(v), 1)
	l.insert(i, v, fill)
}

// insert puts v at index i. A full chunk is split at the place, v going to
// the end of the first part, the start of the second or a chunk of its
// own between them, whichever has room.
func (l *List) insert(i int, v []byte, fill int64) {
	size := lelemSize(len(v))
	if i == 0 || i == l.n {
		l.push(i == 0, v, size, size, fill)
		return
	}
	limit, _ := listLimits(fill)
	ci, k, off := l.locate(i)
	l.n++
	l.lpEntries += lpEntryBytes(v)
	c := &l.chunks[ci]
	if k == 0 && ci > 0 && l.chunks[ci-1].allows(size, fill) {
		// Before the first element of a chunk: the end of the previous
		// one is as good a place.
		p := &l.chunks[ci-1]
		l.room(p, false, size, size, limit)
		putLelem(p.buf[p.end:], v)
		p.end += uint32(size)
		p.n++
		return
	}
	if c.allows(size, fill) {
		if len(c.buf)-c.used() < size {
			l.room(c, false, size, size, limit)
			off = l.offset(c, k)
		}
		if len(c.buf)-int(c.end) >= size {
			copy(c.buf[off+size:], c.buf[off:c.end])
			c.end += uint32(size)
		} else if int(c.start) >= size {
			copy(c.buf[int(c.start)-size:], c.buf[c.start:off])
			c.start -= uint32(size)
			off -= size
		} else {
			// The room is split between the sides: gather it at the end.
			used := c.used()
			rel := off - int(c.start)
			copy(c.buf, c.buf[c.start:c.end])
			c.start, c.end = 0, uint32(used)
			off = rel
			copy(c.buf[off+size:], c.buf[off:c.end])
			c.end += uint32(size)
		}
		putLelem(c.buf[off:], v)
		c.n++
		c.moved()
		return
	}
	if k > 0 {
		l.split(ci, k, off)
	}
	// v goes before chunk ci+1 when split, else before chunk ci.
	next := ci
	if k > 0 {
		next = ci + 1
		if p := &l.chunks[ci]; p.allows(size, fill) {
			l.room(p, false, size, size, limit)
			putLelem(p.buf[p.end:], v)
			p.end += uint32(size)
			p.n++
			return
		}
	}
	if nc := &l.chunks[next]; nc.allows(size, fill) {
		l.room(nc, true, size, size, limit)
		nc.start -= uint32(size)
		putLelem(nc.buf[nc.start:], v)
		nc.n++
		return
	}
	buf := allocChunk(size)
	l.bufs += len(buf)
	putLelem(buf, v)
	l.chunks = slices.Insert(l.chunks, next, lchunk{buf: buf, end: uint32(size), n: 1})
}

// split cuts chunk ci before its element k, at offset off, 0 < k < n: the
// elements from k on go to a new chunk after it.
func (l *List) split(ci, k, off int) {
	c := &l.chunks[ci]
	tail := c.buf[off:c.end]
	buf := allocChunk(len(tail))
	copy(buf, tail)
	l.bufs += len(buf)
	nc := lchunk{buf: buf, end: uint32(len(tail)), n: c.n - uint32(k)}
	c.end = uint32(off)
	c.n = uint32(k)
	c.passed()
	l.chunks = slices.Insert(l.chunks, ci+1, nc)
}

// removeAt removes the element at offset off of chunk ci, moving the
// smaller side of the chunk over it.
func (l *List) removeAt(ci, off int) {
	c := &l.chunks[ci]
	e, next := lnext(c.buf, off)
	size := next - off
	l.n--
	l.lpEntries -= lpEntryBytes(e)
	if off-int(c.start) < int(c.end)-next {
		copy(c.buf[int(c.start)+size:], c.buf[c.start:off])
		c.start += uint32(size)
	} else {
		copy(c.buf[off:], c.buf[next:c.end])
		c.end -= uint32(size)
	}
	c.n--
	c.moved()
	if c.n == 0 {
		l.dropChunk(ci)
	}
}

// Remove removes elements equal to v as LREM does: the first count from
// the head, the last -count from the tail when count is negative, all of
// them when it is 0. It returns how many it removed.
func (l *List) Remove(count int64, v []byte) int {
	removed := 0
	limit := int64(math.MaxInt64)
	if count != 0 {
		limit = count
		if count < 0 {
			limit = -count
		}
	}
	if count >= 0 {
		for ci := 0; ci < len(l.chunks) && int64(removed) < limit; {
			c := &l.chunks[ci]
			removed += c.filterForward(v, int(limit-int64(removed)))
			if c.n == 0 {
				l.dropChunk(ci)
				continue
			}
			ci++
		}
	} else {
		for ci := len(l.chunks) - 1; ci >= 0 && int64(removed) < limit; ci-- {
			c := &l.chunks[ci]
			removed += c.filterBackward(v, int(limit-int64(removed)))
			if c.n == 0 {
				l.dropChunk(ci)
			}
		}
	}
	if removed > 0 {
		l.n -= removed
		l.lpEntries -= removed * lpEntryBytes(v)
		l.tidy()
		l.shrink(listFill())
	}
	return removed
}

// filterForward removes up to max elements equal to v from c, the first
// ones, and returns how many it removed.
func (c *lchunk) filterForward(v []byte, max int) int {
	removed := 0
	w, r, end := int(c.start), int(c.start), int(c.end)
	for r < end && removed < max {
		e, next := lnext(c.buf, r)
		if bytes.Equal(e, v) {
			removed++
		} else {
			if w != r {
				copy(c.buf[w:], c.buf[r:next])
			}
			w += next - r
		}
		r = next
	}
	if removed == 0 {
		return 0
	}
	w += copy(c.buf[w:], c.buf[r:end])
	c.end = uint32(w)
	c.n -= uint32(removed)
	c.moved()
	return removed
}

// filterBackward removes up to max elements equal to v from c, the last
// ones, and returns how many it removed.
func (c *lchunk) filterBackward(v []byte, max int) int {
	offs := make([]int, 0, c.n+1)
	for off := int(c.start); off < int(c.end); {
		offs = append(offs, off)
		_, off = lnext(c.buf, off)
	}
	offs = append(offs, int(c.end))
	removed := 0
	w, i := int(c.end), len(offs)-2
	for ; i >= 0 && removed < max; i-- {
		s, e := offs[i], offs[i+1]
		if el, _ := lnext(c.buf, s); bytes.Equal(el, v) {
			removed++
			continue
		}
		w -= e - s
		if w != s {
			copy(c.buf[w:], c.buf[s:e])
		}
	}
	if removed == 0 {
		return 0
	}
	rest := offs[i+1] - int(c.start)
	w -= rest
	copy(c.buf[w:], c.buf[c.start:offs[i+1]])
	c.start = uint32(w)
	c.n -= uint32(removed)
	c.moved()
	return removed
}

// Trim keeps the elements from index start to stop only, 0 ≤ start ≤
// stop < Len, as LTRIM does.
func (l *List) Trim(start, stop int) {
	l.cut(true, start)
	l.cut(false, l.n-1-(stop-start))
	l.tidy()
	l.shrink(listFill())
}

// cut removes k elements from the head (left) or the tail: whole chunks
// while they are no more than what is left to remove, then part of one.
func (l *List) cut(left bool, k int) {
	for k > 0 && len(l.chunks) > 0 {
		i := 0
		if !left {
			i = len(l.chunks) - 1
		}
		c := &l.chunks[i]
		whole := int(c.n) <= k
		for j := min(k, int(c.n)); j > 0; j-- {
			e := l.popFrom(c, left)
			k--
			l.n--
			l.lpEntries -= lpEntryBytes(e)
		}
		if whole {
			l.dropChunk(i)
		}
	}
}

// tidy merges each chunk into its neighbour when they fit in half a
// chunk together, and gives back most of a buffer that is three quarters
// free, after removals in the middle or at both ends.
func (l *List) tidy() {
	limit, cnt := listLimits(listFill())
	for i := 0; i < len(l.chunks); i++ {
		c := &l.chunks[i]
		if i+1 < len(l.chunks) {
			nc := &l.chunks[i+1]
			if c.used()+nc.used() <= limit/2 && int(c.n+nc.n) <= cnt {
				buf := allocChunk(c.used() + nc.used())
				w := copy(buf, c.buf[c.start:c.end])
				w += copy(buf[w:], nc.buf[nc.start:nc.end])
				l.bufs += len(buf) - len(c.buf) - len(nc.buf)
				*c = lchunk{buf: buf, end: uint32(w), n: c.n + nc.n}
				l.chunks = slices.Delete(l.chunks, i+1, i+2)
				i--
				continue
			}
		}
		if len(c.buf) > 256 && c.used() < len(c.buf)/4 {
			buf := allocChunk(c.used())
			w := copy(buf, c.buf[c.start:c.end])
			l.bufs += len(buf) - len(c.buf)
			*c = lchunk{buf: buf, end: uint32(w), n: c.n}
		}
	}
	if cap(l.chunks) > 8 && len(l.chunks) < cap(l.chunks)/4 {
		l.chunks = slices.Clip(slices.Clone(l.chunks))
	}
}

// ListCode names the change a ListOp makes.
type ListCode uint8

// The changes to a list that element records log.
const (
	ListPush   ListCode = iota + 1 // Elems pushed at the head (Left) or the tail, in the order pushed
	ListPop                        // N elements popped from the head (Left) or the tail
	ListSet                        // element N set to Elems[0]
	ListInsert                     // Elems[0] inserted at index N
	ListRem                        // elements equal to Elems[0] removed as LREM N removes them
	ListTrim                       // elements N to M kept, the others removed
	ListPart                       // Elems appended at the tail of a list of N elements: a part of a list logged whole
)

// ListOp is one change to a list, as a log records it.
type ListOp struct {
	Code  ListCode
	Left  bool
	N, M  int64
	Elems [][]byte
}

// Apply makes the change op describes and reports whether it could: an
// index out of range, a count below 1 or missing elements change nothing.
func (l *List) Apply(op ListOp) bool {
	one := len(op.Elems) == 1
	inRange := func(i int64) bool { return i >= 0 && i < int64(l.n) }
	switch op.Code {
	case ListPush:
		if len(op.Elems) == 0 {
			return false
		}
		l.Push(op.Left, op.Elems...)
	case ListPart:
		if op.N != int64(l.n) || len(op.Elems) == 0 {
			return false
		}
		l.Push(false, op.Elems...)
	case ListPop:
		if op.N < 1 || op.N > int64(l.n) {
			return false
		}
		for range op.N {
			l.Pop(op.Left)
		}
	case ListSet:
		if !one || !inRange(op.N) {
			return false
		}
		l.Set(int(op.N), op.Elems[0])
	case ListInsert:
		if !one || op.N < 0 || op.N > int64(l.n) {
			return false
		}
		l.Insert(int(op.N), op.Elems[0])
	case ListRem:
		if !one {
			return false
		}
		l.Remove(op.N, op.Elems[0])
	case ListTrim:
		if !inRange(op.N) || !inRange(op.M) || op.N > op.M {
			return false
		}
		l.Trim(int(op.N), int(op.M))
	default:
		return false
	}
	return true
}
