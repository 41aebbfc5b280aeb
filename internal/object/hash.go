package object

import (
	"bytes"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// Hash is a hash value: fields with their values, in a listpack while small
// and a table past the hash limits. The zero value is not usable; call
// NewHash.
type Hash struct {
	k       packed // the listpack (field, value, field, value…) or the table
	n       uint32 // pairs in the listpack
	isTable bool
}

// hashStructBytes is what a Hash's struct takes.
const hashStructBytes = 24

// lp returns the listpack's bytes.
func (h *Hash) lp() []byte { return h.k.bytes() }

// t returns the table, nil while the hash is a listpack.
func (h *Hash) t() *table {
	if !h.isTable {
		return nil
	}
	return h.k.table()
}

var _ storage.Object = (*Hash)(nil)

// NewHash returns an empty hash in a listpack.
func NewHash() *Hash { return &Hash{} }

// Kind returns storage.KindHash.
func (h *Hash) Kind() storage.Kind { return storage.KindHash }

// Len returns the number of fields.
func (h *Hash) Len() int {
	if h.isTable {
		return h.t().len()
	}
	return int(h.n)
}

// Encoding returns "listpack" or "hashtable".
func (h *Hash) Encoding() string {
	if h.isTable {
		return EncHashtable
	}
	return EncListpack
}

// MemoryUsage returns an estimate of the bytes the hash holds.
func (h *Hash) MemoryUsage() int64 {
	if h.isTable {
		return hashStructBytes + h.t().memory()
	}
	return hashStructBytes + int64(h.k.capacity())
}

// Clone returns a deep copy.
func (h *Hash) Clone() storage.Object {
	c := &Hash{n: h.n, isTable: h.isTable}
	if h.isTable {
		c.k.setTable(h.t().clone())
	} else {
		c.k.setBytes(bytes.Clone(h.lp()))
	}
	return c
}

// find returns the offset of field's pair in the listpack, or -1.
func (h *Hash) find(field []byte) int {
	b := h.lp()
	for off := 0; len(b) > 0; {
		f, rest := lpNext(b)
		_, rest = lpNext(rest)
		if bytes.Equal(f, field) {
			return off
		}
		off += len(b) - len(rest)
		b = rest
	}
	return -1
}

// Get returns field's value and whether the field is present. The value
// belongs to the hash and stays valid until the hash changes.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.isTable {
		return h.t().get(field)
	}
	off := h.find(field)
	if off < 0 {
		return nil, false
	}
	_, rest := lpNext(h.lp()[off:])
	v, _ := lpNext(rest)
	return v, true
}

// Has reports whether field is present.
func (h *Hash) Has(field []byte) bool {
	if h.isTable {
		return h.t().has(field)
	}
	return h.find(field) >= 0
}

// Set gives field the value and reports whether the field is new. The hash
// becomes a table when the field or value is longer than the limit, or the
// fields outnumber it.
func (h *Hash) Set(field, value []byte) bool {
	if !h.isTable {
		l := CurrentLimits()
		if int64(len(field)) > l.HashMaxListpackValue || int64(len(value)) > l.HashMaxListpackValue ||
			len(h.lp())+lpSize(len(field))+lpSize(len(value)) > maxPacked {
			h.convert(int(h.n) + 1)
		}
	}
	if h.isTable {
		return h.t().set(field, value)
	}
	lp := h.lp()
	if off := h.find(field); off >= 0 {
		_, rest := lpNext(lp[off:])
		old, rest := lpNext(rest)
		vstart := len(lp) - len(rest) - lpSize(len(old))
		end := len(lp) - len(rest)
		h.k.setBytes(replaceBytes(lp, vstart, end, value))
		return false
	}
	lp = reserve(lp, lpSize(len(field))+lpSize(len(value)))
	h.k.setBytes(lpAppend(lpAppend(lp, field), value))
	h.n++
	if int64(h.n) > CurrentLimits().HashMaxListpackEntries {
		h.convert(int(h.n))
	}
	return true
}

// replaceBytes replaces b[start:end] by the encoding of elem.
func replaceBytes(b []byte, start, end int, elem []byte) []byte {
	enc := lpAppend(make([]byte, 0, lpSize(len(elem))), elem)
	tail := len(b) - end
	n := start + len(enc) + tail
	if n > cap(b) {
		grow := n
		if n > smallBuffer {
			grow += n / 4
		}
		nb := make([]byte, n, grow)
		copy(nb, b[:start])
		copy(nb[start+len(enc):], b[end:])
		b = nb
	} else {
		old := len(b)
		b = b[:max(n, old)]
		copy(b[start+len(enc):], b[end:old])
		b = b[:n]
	}
	copy(b[start:], enc)
	return b
}

// Delete removes field and reports whether it was present.
func (h *Hash) Delete(field []byte) bool {
	if h.isTable {
		return h.t().remove(field)
	}
	off := h.find(field)
	if off < 0 {
		return false
	}
	lp := h.lp()
	_, rest := lpNext(lp[off:])
	_, rest = lpNext(rest)
	end := len(lp) - len(rest)
	h.k.setBytes(shrink(append(lp[:off], lp[end:]...)))
	h.n--
	return true
}

// Convert turns the hash into a table now, as CONFIG changes and
// DEBUG-like callers may want; a table stays one.
func (h *Hash) Convert() { h.convert(int(h.n)) }

func (h *Hash) convert(hint int) {
	if h.isTable {
		return
	}
	t := newTable(true, hint)
	for b := h.lp(); len(b) > 0; {
		var f, v []byte
		f, b = lpNext(b)
		v, b = lpNext(b)
		t.set(f, v)
	}
	h.k.setTable(t)
	h.n, h.isTable = 0, true
}

// Range calls fn for every field and value in order until fn returns false.
// fn must not change the hash.
func (h *Hash) Range(fn func(field, value []byte) bool) {
	if h.isTable {
		t := h.t()
		for i := range t.len() {
			if !fn(t.at(i)) {
				return
			}
		}
		return
	}
	for b := h.lp(); len(b) > 0; {
		var f, v []byte
		f, b = lpNext(b)
		v, b = lpNext(b)
		if !fn(f, v) {
			return
		}
	}
}

// At returns the i-th field and value in order, for 0 <= i < Len. It costs
// O(1) in a table and O(i) in a listpack.
func (h *Hash) At(i int) (field, value []byte) {
	if h.isTable {
		return h.t().at(i)
	}
	b := h.lp()
	for ; i > 0; i-- {
		_, b = lpNext(b)
		_, b = lpNext(b)
	}
	field, b = lpNext(b)
	value, _ = lpNext(b)
	return field, value
}
