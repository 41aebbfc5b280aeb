package storage

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Objects holds the Object of every slot that holds one, for an engine
// whose entries live in numbered slots: pages allocated as slots are first
// given an object, so that engines holding only strings pay nothing. It
// also sums the objects' memory. The zero value is empty; it is owned by
// its engine's goroutine.
//
// A slot takes 9 bytes where an interface value takes 16: the object's
// pointer, and the number of its dynamic type in a table of the few types
// ever stored (types). Small hashes and sets cost a few dozen bytes each,
// so the 7 bytes are a tenth of what a million of them take.
type Objects struct {
	pages []*objPage
	n     int   // objects held
	bytes int64 // their MemoryUsage, kept up to date by Resized
}

// objPage is a page of slots: type number 0 is an empty slot.
type objPage struct {
	ptrs  [objPageSize]unsafe.Pointer
	types [objPageSize]uint8
}

// ObjectRefBytes is what Objects spends on each object it holds besides the
// object itself: a pointer and a type number in a page, rounded up.
const ObjectRefBytes = 9

const (
	objPageShift = 10
	objPageSize  = 1 << objPageShift
	objPageMask  = objPageSize - 1
	objPageBytes = objPageSize * (8 + 1)
)

// iface is the layout of an interface value with methods in the Go
// runtime: its type's method table (itab) and its data word, which for the
// pointer types every Object is holds the pointer itself.
type iface struct {
	tab, data unsafe.Pointer
}

// types numbers the itabs of the Object types stored, from 1 (0 is no
// object); itabs live outside the collected heap for the life of the
// process. Engines of several shards share it and read it without a lock:
// a table once stored is never changed, and numbering a new type stores a
// longer copy, under typesMu.
var (
	typesMu sync.Mutex
	types   atomic.Pointer[[]unsafe.Pointer]
)

func init() { types.Store(&[]unsafe.Pointer{nil}) }

// typeNum returns the number of tab, numbering it if new.
func typeNum(tab unsafe.Pointer) uint8 {
	if n := findType(*types.Load(), tab); n > 0 {
		return n
	}
	typesMu.Lock()
	defer typesMu.Unlock()
	cur := *types.Load()
	if n := findType(cur, tab); n > 0 {
		return n
	}
	if len(cur) > 255 {
		panic("storage: more than 255 Object types")
	}
	next := append(slices.Clip(cur), tab)
	types.Store(&next)
	return uint8(len(next) - 1)
}

// findType returns the number of tab in table, 0 when it has none.
func findType(table []unsafe.Pointer, tab unsafe.Pointer) uint8 {
	for i, t := range table[1:] {
		if t == tab {
			return uint8(i + 1)
		}
	}
	return 0
}

// split returns the type number and the pointer of obj.
func split(obj Object) (uint8, unsafe.Pointer) {
	i := (*iface)(unsafe.Pointer(&obj))
	return typeNum(i.tab), i.data
}

// join returns the Object of type number t at ptr.
func join(t uint8, ptr unsafe.Pointer) Object {
	var obj Object
	i := (*iface)(unsafe.Pointer(&obj))
	i.tab, i.data = (*types.Load())[t], ptr
	return obj
}

// Put makes obj the object of slot i, replacing any. obj must not be nil.
func (o *Objects) Put(i uint32, obj Object) {
	pg := int(i >> objPageShift)
	for pg >= len(o.pages) {
		o.pages = append(o.pages, nil)
	}
	p := o.pages[pg]
	if p == nil {
		p = new(objPage)
		o.pages[pg] = p
	}
	j := i & objPageMask
	if t := p.types[j]; t != 0 {
		o.n--
		o.bytes -= join(t, p.ptrs[j]).MemoryUsage()
	}
	p.types[j], p.ptrs[j] = split(obj)
	o.n++
	o.bytes += obj.MemoryUsage()
}

// Get returns the object of slot i, or nil.
func (o *Objects) Get(i uint32) Object {
	pg := int(i >> objPageShift)
	if pg >= len(o.pages) || o.pages[pg] == nil {
		return nil
	}
	p, j := o.pages[pg], i&objPageMask
	if p.types[j] == 0 {
		return nil
	}
	return join(p.types[j], p.ptrs[j])
}

// Drop removes the object of slot i, if any, and returns it.
func (o *Objects) Drop(i uint32) Object {
	obj := o.Get(i)
	if obj == nil {
		return nil
	}
	p, j := o.pages[i>>objPageShift], i&objPageMask
	p.types[j], p.ptrs[j] = 0, nil
	o.n--
	o.bytes -= obj.MemoryUsage()
	if o.n == 0 {
		o.pages = nil
	}
	return obj
}

// Resized adds delta to the bytes of the objects held.
func (o *Objects) Resized(delta int64) { o.bytes += delta }

// Len returns the number of objects held.
func (o *Objects) Len() int { return o.n }

// Bytes returns the memory of the objects and of the pages holding them.
func (o *Objects) Bytes() int64 {
	return o.bytes + int64(len(o.pages))*(8+objPageBytes)
}

// Clone returns a copy holding a clone of every object.
func (o *Objects) Clone() Objects {
	c := Objects{n: o.n, bytes: o.bytes, pages: make([]*objPage, len(o.pages))}
	for i, p := range o.pages {
		if p == nil {
			continue
		}
		cp := new(objPage)
		for j, t := range p.types {
			if t != 0 {
				cp.types[j], cp.ptrs[j] = split(join(t, p.ptrs[j]).Clone())
			}
		}
		c.pages[i] = cp
	}
	return c
}

// Reset drops every object.
func (o *Objects) Reset() { *o = Objects{} }
