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
	// b is the intset, n sorted integers of width bytes each, little
	// endian, or the listpack, n members in order of insertion; nil in a
	// table. One field for both keeps the struct, which every set pays
	// for, in a 48-byte size class.
	b     []byte
	n     int
	t     *table
	enc   uint8 // setIntset, setListpack or setTable
	width uint8 // of the intset's integers
}

var _ storage.Object = (*Set)(nil)

// Set encodings, for NewSetEncoded.
const (
	setIntset = iota
	setListpack
	setTable
)

// NewSet returns an empty set in an intset.
func NewSet() *Set { return &Set{b: []byte{}, width: 2, enc: setIntset} }

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
		return &Set{b: []byte{}, enc: setListpack}
	}
	return &Set{t: newTable(false, hint), enc: setTable}
}

// NewSetEncoded returns an empty set in the encoding named as OBJECT
// ENCODING names it, or nil for an unknown name.
func NewSetEncoded(enc string) *Set {
	switch enc {
	case EncIntset:
		return NewSet()
	case EncListpack:
		return &Set{b: []byte{}, enc: setListpack}
	case EncHashtable:
		return &Set{t: newTable(false, 0), enc: setTable}
	}
	return nil
}

// NewHashEncoded returns an empty hash in the encoding named, or nil.
func NewHashEncoded(enc string) *Hash {
	switch enc {
	case EncListpack:
		return NewHash()
	case EncHashtable:
		return &Hash{t: newTable(true, 0)}
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
	if s.t != nil {
		return s.t.len()
	}
	return s.n
}

// MemoryUsage returns an estimate of the bytes the set holds.
func (s *Set) MemoryUsage() int64 {
	if s.enc == setTable {
		return 48 + s.t.memory()
	}
	return 48 + int64(cap(s.b))
}

// Clone returns a deep copy.
func (s *Set) Clone() storage.Object {
	c := &Set{n: s.n, enc: s.enc, width: s.width}
	if s.enc == setTable {
		c.t = s.t.clone()
	} else {
		c.b = append([]byte{}, s.b...)
	}
	return c
}

// intAt returns the i-th integer of the intset.
func (s *Set) intAt(i int) int64 {
	switch s.width {
	case 2:
		return int64(int16(binary.LittleEndian.Uint16(s.b[2*i:])))
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(s.b[4*i:])))
	}
	return int64(binary.LittleEndian.Uint64(s.b[8*i:]))
}

func (s *Set) putInt(i int, v int64) {
	switch s.width {
	case 2:
		binary.LittleEndian.PutUint16(s.b[2*i:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(s.b[4*i:], uint32(v))
	default:
		binary.LittleEndian.PutUint64(s.b[8*i:], uint64(v))
	}
}

// search returns the position of v in the intset, or where it would go,
// and whether it is there.
func (s *Set) search(v int64) (int, bool) {
	lo, hi := 0, s.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.intAt(m) < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < s.n && s.intAt(lo) == v
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
	b := s.b
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
		return s.t.has(m)
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
			if int64(s.n) > min(l.SetMaxIntsetEntries, 1<<30) {
				s.convert(setTable, s.n)
			}
			return true
		}
		// Redis estimates whether the integers fit a listpack from the
		// digits of the largest and smallest.
		maxLen := 0
		if s.n > 0 {
			maxLen = max(len(strconv.FormatInt(s.intAt(0), 10)), len(strconv.FormatInt(s.intAt(s.n-1), 10)))
		}
		if int64(s.n) < l.SetMaxListpackEntries && int64(len(m)) <= l.SetMaxListpackValue && int64(maxLen) <= l.SetMaxListpackValue {
			s.convert(setListpack, s.n+1)
		} else {
			s.convert(setTable, s.n+1)
		}
		return s.Add(m)
	case setListpack:
		if s.lpFind(m) >= 0 {
			return false
		}
		if int64(s.n) < l.SetMaxListpackEntries && int64(len(m)) <= l.SetMaxListpackValue {
			s.b = lpAppend(reserve(s.b, lpSize(len(m))), m)
			s.n++
			return true
		}
		s.convert(setTable, s.n+1)
	}
	return s.t.set(m, nil)
}

// insertInt inserts v at pos of the intset, widening it when v needs it.
func (s *Set) insertInt(pos int, v int64) {
	if w := widthFor(v); w > s.width {
		old := s
		nb := make([]byte, 0, (s.n+1)*int(w))
		wide := &Set{b: nb[:s.n*int(w)], width: w, n: s.n, enc: setIntset}
		for i := range s.n {
			wide.putInt(i, old.intAt(i))
		}
		s.b, s.width = wide.b, w
	}
	w := int(s.width)
	s.b = reserve(s.b, w)[:len(s.b)+w]
	copy(s.b[(pos+1)*w:], s.b[pos*w:s.n*w])
	s.n++
	s.putInt(pos, v)
}

// Remove removes m and reports whether it was a member.
func (s *Set) Remove(m []byte) bool {
	switch s.enc {
	case setTable:
		return s.t.remove(m)
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
		s.b = shrink(append(s.b[:pos*w], s.b[(pos+1)*w:]...))
		s.n--
		return true
	}
	off := s.lpFind(m)
	if off < 0 {
		return false
	}
	_, rest := lpNext(s.b[off:])
	end := len(s.b) - len(rest)
	s.b = shrink(append(s.b[:off], s.b[end:]...))
	s.n--
	return true
}

// convert moves the members to encoding enc, a later one than the set's.
func (s *Set) convert(enc, hint int) {
	if enc <= int(s.enc) {
		return
	}
	c := &Set{enc: uint8(enc)}
	if enc == setListpack {
		c.b = make([]byte, 0, hint*8)
	} else {
		c.t = newTable(false, hint)
	}
	s.Range(func(m []byte) bool {
		if enc == setListpack {
			c.b = lpAppend(c.b, m)
			c.n++
		} else {
			c.t.set(m, nil)
		}
		return true
	})
	*s = *c
}

// Range calls fn for every member in order until fn returns false. Members
// of an intset are formatted into a buffer reused between calls. fn must
// not change the set.
func (s *Set) Range(fn func(m []byte) bool) {
	switch s.enc {
	case setTable:
		for i := range s.t.len() {
			k, _ := s.t.at(i)
			if !fn(k) {
				return
			}
		}
	case setIntset:
		var buf [20]byte
		for i := range s.n {
			if !fn(strconv.AppendInt(buf[:0], s.intAt(i), 10)) {
				return
			}
		}
	default:
		for b := s.b; len(b) > 0; {
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
		k, _ := s.t.at(i)
		return append(dst, k...)
	case setIntset:
		return strconv.AppendInt(dst, s.intAt(i), 10)
	}
	b := s.b
	for ; i > 0; i-- {
		_, b = lpNext(b)
	}
	m, _ := lpNext(b)
	return append(dst, m...)
}
