package object

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// Set is a set value, an intset while it holds few integers only, a
// listpack while it holds few short members, and a table past the set
// limits. The zero value is not usable; call NewSet or NewSetFor.
type Set struct {
	// k holds the intset, n sorted integers of width bytes each, little
	// endian, or the listpack, n members in order of insertion, or the
	// table. Packed so, the struct, which every set pays for, takes 24
	// bytes.
	k     packed
	n     uint32 // members of an intset or listpack
	enc   uint8  // setIntset, setListpack or setTable
	width uint8  // of the intset's integers
}

var _ storage.Object = (*Set)(nil)

// setBytes is what a Set's struct takes.
const setStructBytes = 24

// Set encodings, for NewSetEncoded.
const (
	setIntset = iota
	setListpack
	setTable
)

// NewSet returns an empty set in an intset.
func NewSet() *Set { return &Set{width: 2, enc: setIntset} }

// NewSetFor returns an empty set in the encoding Redis's setTypeCreate
// picks for a first member and about hint members: an intset for an
// integer within the intset limit, else a listpack within the listpack
// limit, else a table.
func NewSetFor(first []byte, hint int) *Set {
	l := CurrentLimits()
	if _, ok := parseInt(first); ok && int64(hint) <= l.SetMaxIntsetEntries {
		return NewSet()
	}
	if int64(hint) <= l.SetMaxListpackEntries {
		return &Set{enc: setListpack}
	}
	return newTableSet(hint)
}

// newTableSet returns an empty set in a table sized for hint members.
func newTableSet(hint int) *Set {
	s := &Set{enc: setTable}
	s.k.setTable(newTable(false, hint))
	return s
}

// b returns the intset's or listpack's bytes.
func (s *Set) b() []byte { return s.k.bytes() }

// t returns the table.
func (s *Set) t() *table { return s.k.table() }

// NewSetEncoded returns an empty set in the encoding named as OBJECT
// ENCODING names it, or nil for an unknown name.
func NewSetEncoded(enc string) *Set {
	switch enc {
	case EncIntset:
		return NewSet()
	case EncListpack:
		return &Set{enc: setListpack}
	case EncHashtable:
		return newTableSet(0)
	}
	return nil
}

// NewHashEncoded returns an empty hash in the encoding named, or nil.
func NewHashEncoded(enc string) *Hash {
	switch enc {
	case EncListpack:
		return NewHash()
	case EncHashtable:
		h := &Hash{isTable: true}
		h.k.setTable(newTable(true, 0))
		return h
	}
	return nil
}

// Kind returns storage.KindSet.
func (s *Set) Kind() storage.Kind { return storage.KindSet }

// Encoding returns "intset", "listpack" or "hashtable".
func (s *Set) Encoding() string {
	switch s.enc {
	case setTable:
		return EncHashtable
	case setIntset:
		return EncIntset
	}
	return EncListpack
}

// Len returns the number of members.
func (s *Set) Len() int {
	if s.enc == setTable {
		return s.t().len()
	}
	return int(s.n)
}

// MemoryUsage returns an estimate of the bytes the set holds.
func (s *Set) MemoryUsage() int64 {
	if s.enc == setTable {
		return setStructBytes + s.t().memory()
	}
	return setStructBytes + int64(s.k.capacity())
}

// Clone returns a deep copy.
func (s *Set) Clone() storage.Object {
	c := &Set{n: s.n, enc: s.enc, width: s.width}
	if s.enc == setTable {
		c.k.setTable(s.t().clone())
	} else {
		c.k.setBytes(bytes.Clone(s.b()))
	}
	return c
}

// intAt returns the i-th integer of the intset.
func (s *Set) intAt(i int) int64 {
	switch s.width {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(s.b()[2*i:])))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(s.b()[4*i:])))
	}
	return int64(binary.LittleEndian.Uint64(s.b()[8*i:]))
}

func (s *Set) putInt(i int, v int64) {
	switch s.width {
	case 2:
		binary.LittleEndian.PutUint16(s.b()[2*i:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(s.b()[4*i:], uint32(v))
	default:
		binary.LittleEndian.PutUint64(s.b()[8*i:], uint64(v))
	}
}

// search returns the position of v in the intset, or where it would go,
// and whether it is there.
func (s *Set) search(v int64) (int, bool) {
	n := int(s.n)
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.intAt(m) < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && s.intAt(lo) == v
}

func widthFor(v int64) uint8 {
	switch {
	case v >= -1<<15 && v < 1<<15:
		return 2
	case v >= -1<<31 && v < 1<<31:
		return 4
	}
	return 8
}

// lpFind returns the offset of member in the listpack, or -1.
func (s *Set) lpFind(m []byte) int {
	b := s.b()
	for off := 0; len(b) > 0; {
		e, rest := lpNext(b)
		if bytes.Equal(e, m) {
			return off
		}
		off += len(b) - len(rest)
		b = rest
	}
	return -1
}

// Has reports whether m is a member.
func (s *Set) Has(m []byte) bool {
	switch s.enc {
	case setTable:
		return s.t().has(m)
	case setIntset:
		v, ok := parseInt(m)
		if !ok {
			return false
		}
		_, found := s.search(v)
		return found
	}
	return s.lpFind(m) >= 0
}

// Add adds m and reports whether it was not a member yet. The set changes
// encoding as Redis's setTypeAdd does.
func (s *Set) Add(m []byte) bool {
	l := CurrentLimits()
	switch s.enc {
	case setIntset:
		if v, ok := parseInt(m); ok {
			pos, found := s.search(v)
			if found {
				return false
			}
			s.insertInt(pos, v)
			if int64(s.n) > min(l.SetMaxIntsetEntries, maxPacked/8) {
				s.convert(setTable, int(s.n))
			}
			return true
		}
		// Redis estimates whether the integers fit a listpack from the
		// digits of the largest and smallest.
		maxLen := 0
		if s.n > 0 {
			maxLen = max(len(strconv.FormatInt(s.intAt(0), 10)), len(strconv.FormatInt(s.intAt(int(s.n)-1), 10)))
		}
		if int64(s.n) < l.SetMaxListpackEntries && int64(len(m)) <= l.SetMaxListpackValue && int64(maxLen) <= l.SetMaxListpackValue {
			s.convert(setListpack, int(s.n)+1)
		} else {
			s.convert(setTable, int(s.n)+1)
		}
		return s.Add(m)
	case setListpack:
		if s.lpFind(m) >= 0 {
			return false
		}
		if int64(s.n) < l.SetMaxListpackEntries && int64(len(m)) <= l.SetMaxListpackValue && len(s.b())+lpSize(len(m)) <= maxPacked {
			s.k.setBytes(lpAppend(reserve(s.b(), lpSize(len(m))), m))
			s.n++
			return true
		}
		s.convert(setTable, int(s.n)+1)
	}
	return s.t().set(m, nil)
}

// insertInt inserts v at pos of the intset, widening it when v needs it.
func (s *Set) insertInt(pos int, v int64) {
	n := int(s.n)
	if w := widthFor(v); w > s.width {
		wide := &Set{width: w, n: s.n, enc: setIntset}
		wide.k.setBytes(make([]byte, n*int(w), (n+1)*int(w)))
		for i := range n {
			wide.putInt(i, s.intAt(i))
		}
		s.k, s.width = wide.k, w
	}
	w := int(s.width)
	b := s.b()
	b = reserve(b, w)[:len(b)+w]
	copy(b[(pos+1)*w:], b[pos*w:n*w])
	s.k.setBytes(b)
	s.n++
	s.putInt(pos, v)
}

// Remove removes m and reports whether it was a member.
func (s *Set) Remove(m []byte) bool {
	switch s.enc {
	case setTable:
		return s.t().remove(m)
	case setIntset:
		v, ok := parseInt(m)
		if !ok {
			return false
		}
		pos, found := s.search(v)
		if !found {
			return false
		}
		w := int(s.width)
		b := s.b()
		s.k.setBytes(shrink(append(b[:pos*w], b[(pos+1)*w:]...)))
		s.n--
		return true
	}
	off := s.lpFind(m)
	if off < 0 {
		return false
	}
	_, rest := lpNext(s.b()[off:])
	b := s.b()
	end := len(b) - len(rest)
	s.k.setBytes(shrink(append(b[:off], b[end:]...)))
	s.n--
	return true
}

// Pop removes the i-th member in order, 0 <= i < Len, and returns it: the
// member At(nil, i) returns. The bytes are no longer the set's: they stay
// valid whatever the set does next. In a table it costs one search of the
// index by position, comparing no member, and no copy.
func (s *Set) Pop(i int) []byte {
	if s.enc == setTable {
		return bytesOf(s.t().removeAt(uint32(i)))
	}
	m := s.At(nil, i)
	s.Remove(m)
	return m
}

// convert moves the members to encoding enc, a later one than the set's.
func (s *Set) convert(enc, hint int) {
	if enc <= int(s.enc) {
		return
	}
	c := &Set{enc: uint8(enc)}
	var lp []byte
	if enc == setListpack {
		lp = make([]byte, 0, hint*8)
	} else {
		c.k.setTable(newTable(false, hint))
	}
	s.Range(func(m []byte) bool {
		if enc == setListpack {
			lp = lpAppend(lp, m)
			c.n++
		} else {
			c.t().set(m, nil)
		}
		return true
	})
	if enc == setListpack {
		c.k.setBytes(lp)
	}
	*s = *c
}

// Range calls fn for every member in order until fn returns false. Members
// of an intset are formatted into a buffer reused between calls. fn must
// not change the set.
func (s *Set) Range(fn func(m []byte) bool) {
	switch s.enc {
	case setTable:
		for i := range s.t().len() {
			k, _ := s.t().at(i)
			if !fn(k) {
				return
			}
		}
	case setIntset:
		var buf [20]byte
		for i := range int(s.n) {
			if !fn(strconv.AppendInt(buf[:0], s.intAt(i), 10)) {
				return
			}
		}
	default:
		for b := s.b(); len(b) > 0; {
			var m []byte
			m, b = lpNext(b)
			if !fn(m) {
				return
			}
		}
	}
}

// At appends the i-th member in order to dst, for 0 <= i < Len, and
// returns it. It costs O(1) in an intset or a table, O(i) in a listpack.
func (s *Set) At(dst []byte, i int) []byte {
	switch s.enc {
	case setTable:
		k, _ := s.t().at(i)
		return append(dst, k...)
	case setIntset:
		return strconv.AppendInt(dst, s.intAt(i), 10)
	}
	b := s.b()
	for ; i > 0; i-- {
		_, b = lpNext(b)
	}
	m, _ := lpNext(b)
	return append(dst, m...)
}
