package object

import "encoding/binary"

// table is the hashed encoding of a collection: a dense array of elements
// and a map from each element's key (a field, or a set's member) to its
// position. An element is one string: for a hash, the field's length as a
// varint, the field, then the value; for a set, the member itself. The
// map's keys are substrings of the elements, so a field's bytes are held
// once.
type table struct {
	elems  []string
	index  map[string]int32
	values bool  // elements hold a value after their key (a hash)
	bytes  int64 // bytes of the element strings, at their allocation size
	peak   int   // most entries index has held or was made for: a map never shrinks
}

func newTable(values bool, hint int) *table {
	return &table{elems: make([]string, 0, hint), index: make(map[string]int32, hint), values: values, peak: hint}
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

// get returns the value of key and whether it is present.
func (t *table) get(key []byte) (value []byte, ok bool) {
	i, ok := t.index[string(key)]
	if !ok {
		return nil, false
	}
	_, v := t.split(t.elems[i])
	return bytesOf(v), true
}

func (t *table) has(key []byte) bool {
	_, ok := t.index[string(key)]
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
	i, ok := t.index[string(key)]
	if ok {
		if _, old := t.split(t.elems[i]); !t.values || old == string(value) {
			return false
		}
	}
	e := t.makeElem(key, value)
	k, _ := t.split(e)
	t.bytes += allocBytes(len(e))
	if ok {
		t.bytes -= allocBytes(len(t.elems[i]))
		// The map's key must stay the substring of the element it names.
		delete(t.index, string(key))
		t.index[k] = i
		t.elems[i] = e
		return false
	}
	t.index[k] = int32(len(t.elems))
	t.elems = append(t.elems, e)
	t.peak = max(t.peak, len(t.elems))
	return true
}

// remove removes key, moving the last element into its place, and reports
// whether it was present.
func (t *table) remove(key []byte) bool {
	i, ok := t.index[string(key)]
	if !ok {
		return false
	}
	delete(t.index, string(key))
	t.bytes -= allocBytes(len(t.elems[i]))
	last := len(t.elems) - 1
	if int(i) != last {
		moved := t.elems[last]
		t.elems[i] = moved
		k, _ := t.split(moved)
		t.index[k] = i
	}
	t.elems[last] = ""
	t.elems = t.elems[:last]
	if cap(t.elems) > 64 && len(t.elems) < cap(t.elems)/4 {
		t.elems = append(make([]string, 0, 2*len(t.elems)), t.elems...)
	}
	return true
}

// at returns the key and value of element i.
func (t *table) at(i int) (key, value []byte) {
	k, v := t.split(t.elems[i])
	return bytesOf(k), bytesOf(v)
}

func (t *table) memory() int64 {
	return 64 + int64(cap(t.elems))*stringBytes + mapBytes(t.peak) + t.bytes
}

func (t *table) clone() *table {
	c := newTable(t.values, len(t.elems))
	for _, e := range t.elems {
		k, _ := t.split(e)
		c.index[k] = int32(len(c.elems))
		c.elems = append(c.elems, e) // strings are immutable: sharing is safe
	}
	c.bytes = t.bytes
	return c
}
