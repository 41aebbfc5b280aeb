package object

import "encoding/binary"

// table is the hashed encoding of a collection: a dense array of elements
// and a hash index of their positions by key (a field, or a set's member).
// An element is one string: for a hash, the field's length as a varint,
// the field, then the value; for a set, the member itself.
type table struct {
	elems  []string
	index  posIndex
	values bool  // elements hold a value after their key (a hash)
	bytes  int64 // bytes of the element strings, at their allocation size
}

func newTable(values bool, hint int) *table {
	return &table{elems: make([]string, 0, hint), index: newPosIndex(hint), values: values}
}

// split returns the key and value of element e.
func (t *table) split(e string) (key, value string) {
	if !t.values {
		return e, ""
	}
	n, w := binary.Uvarint(bytesOf(e))
	end := w + int(n)
	return e[w:end], e[end:]
}

func (t *table) len() int { return len(t.elems) }

// keyAt returns the key of element pos.
func (t *table) keyAt(pos uint32) string {
	k, _ := t.split(t.elems[pos])
	return k
}

// hashAt returns the hash of element pos's key.
func (t *table) hashAt(pos uint32) uint64 { return hashString(t.keyAt(pos)) }

// find returns key's hash, its slot in the index, and whether it is
// present.
func (t *table) find(key []byte) (h uint64, slot int, ok bool) {
	h = hashBytes(key)
	slot, ok = t.index.lookup(h, func(pos uint32) bool { return t.keyAt(pos) == string(key) })
	return h, slot, ok
}

// get returns the value of key and whether it is present.
func (t *table) get(key []byte) (value []byte, ok bool) {
	_, slot, ok := t.find(key)
	if !ok {
		return nil, false
	}
	_, v := t.split(t.elems[t.index.at(slot)])
	return bytesOf(v), true
}

func (t *table) has(key []byte) bool {
	_, _, ok := t.find(key)
	return ok
}

// makeElem returns the element string of key and value.
func (t *table) makeElem(key, value []byte) string {
	if !t.values {
		return string(key)
	}
	b := make([]byte, 0, binary.MaxVarintLen32+len(key)+len(value))
	b = lpAppend(b, key)
	b = append(b, value...)
	return string(b)
}

// set gives key the value, adding it at the end when absent, and reports
// whether it was added. A member already in a set, or a field that already
// holds the value, is left as it is: one lookup, no allocation.
func (t *table) set(key, value []byte) bool {
	h, slot, ok := t.find(key)
	if ok {
		i := t.index.at(slot)
		_, old := t.split(t.elems[i])
		if !t.values || old == string(value) {
			return false
		}
		e := t.makeElem(key, value)
		t.bytes += allocBytes(len(e)) - allocBytes(len(t.elems[i]))
		t.elems[i] = e
		return false
	}
	e := t.makeElem(key, value)
	t.bytes += allocBytes(len(e))
	pos := uint32(len(t.elems))
	t.elems = append(t.elems, e)
	if t.index.grows(pos) {
		t.reindex()
		_, slot, _ = t.find(key)
	}
	t.index.set(slot, h, pos)
	return true
}

// reindex rebuilds the index for the elements there are, with room to
// grow.
func (t *table) reindex() {
	var pos uint32
	t.index.rebuild(len(t.elems), uint32(len(t.elems)), func() (uint32, uint64, bool) {
		if int(pos) == len(t.elems) {
			return 0, 0, false
		}
		pos++
		return pos - 1, t.hashAt(pos - 1), true
	})
}

// remove removes key, moving the last element into its place, and reports
// whether it was present.
func (t *table) remove(key []byte) bool {
	_, slot, ok := t.find(key)
	if !ok {
		return false
	}
	t.removeSlot(slot, t.index.at(slot))
	return true
}

// slotOf returns the index slot of element pos, found by its position:
// no key is compared.
func (t *table) slotOf(pos uint32) int {
	slot, _ := t.index.lookup(t.hashAt(pos), func(p uint32) bool { return p == pos })
	return slot
}

// removeAt removes element i and returns it: its string, which the table
// no longer holds.
func (t *table) removeAt(i uint32) string {
	e := t.elems[i]
	t.removeSlot(t.slotOf(i), i)
	return e
}

// removeSlot removes element i, whose index slot is slot, moving the last
// element into its place.
func (t *table) removeSlot(slot int, i uint32) {
	t.index.remove(slot, t.hashAt)
	t.bytes -= allocBytes(len(t.elems[i]))
	last := uint32(len(t.elems) - 1)
	if i != last {
		t.index.replace(t.slotOf(last), i)
		t.elems[i] = t.elems[last]
	}
	t.elems[last] = ""
	t.elems = t.elems[:last]
	if cap(t.elems) > 64 && len(t.elems) < cap(t.elems)/4 {
		t.elems = append(make([]string, 0, 2*len(t.elems)), t.elems...)
		t.reindex()
	}
}

// at returns the key and value of element i.
func (t *table) at(i int) (key, value []byte) {
	k, v := t.split(t.elems[i])
	return bytesOf(k), bytesOf(v)
}

func (t *table) memory() int64 {
	return 64 + int64(cap(t.elems))*stringBytes + t.index.bytes() + t.bytes
}

// clone returns a deep copy, in time linear in the elements with no
// hashing: the element strings are shared, as they never change.
func (t *table) clone() *table {
	c := *t
	c.elems = append(make([]string, 0, len(t.elems)), t.elems...)
	c.index = t.index.clone()
	return &c
}
