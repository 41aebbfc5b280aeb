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

// types numbers the itabs of the Object types stored, from 1; itabs live
// outside the collected heap for the life of the process. Engines of
// several shards share it; typesMu guards it.
var (
	typesMu sync.Mutex
	types   = []unsafe.Pointer{nil}
	typesRO atomic.Pointer[[]unsafe.Pointer] // a copy for lock-free reads
)

func init() { typesRO.Store(&types) }

// typeNum returns the number of tab, numbering it if new.
func typeNum(tab unsafe.Pointer) uint8 {
	for i, t := range *typesRO.Load() {
		if t == tab && i > 0 {
			return uint8(i)
		}
	}
	typesMu.Lock()
	defer typesMu.Unlock()
	for i, t := range types {
		if t == tab && i > 0 {
			return uint8(i)
		}
	}
	if len(types) > 255 {
		panic("storage: more than 255 Object types")
	}
	types = append(slices.Clip(types), tab)
	cp := types
	typesRO.Store(&cp)
	return uint8(len(types) - 1)
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
	i.tab, i.data = (*typesRO.Load())[t], ptr
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
