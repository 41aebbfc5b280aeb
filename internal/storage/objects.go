package storage

// Objects holds the Object of every slot that holds one, for an engine
// whose entries live in numbered slots: pages of pointers allocated as
// slots are first given an object, so that engines holding only strings
// pay nothing. It also sums the objects' memory. The zero value is empty;
// it is owned by its engine's goroutine.
type Objects struct {
	pages [][]Object
	n     int   // objects held
	bytes int64 // their MemoryUsage, kept up to date by Resized
}

// ObjectRefBytes is what Objects spends on each object it holds besides the
// object itself: one interface value in a page.
const ObjectRefBytes = 16

const (
	objPageShift = 10
	objPageSize  = 1 << objPageShift
	objPageMask  = objPageSize - 1
)

// Put makes obj the object of slot i, replacing any.
func (o *Objects) Put(i uint32, obj Object) {
	pg := int(i >> objPageShift)
	for pg >= len(o.pages) {
		o.pages = append(o.pages, nil)
	}
	p := o.pages[pg]
	if p == nil {
		p = make([]Object, objPageSize)
		o.pages[pg] = p
	}
	w := &p[i&objPageMask]
	if *w != nil {
		o.n--
		o.bytes -= (*w).MemoryUsage()
	}
	*w = obj
	o.n++
	o.bytes += obj.MemoryUsage()
}

// Get returns the object of slot i, or nil.
func (o *Objects) Get(i uint32) Object {
	pg := int(i >> objPageShift)
	if pg >= len(o.pages) || o.pages[pg] == nil {
		return nil
	}
	return o.pages[pg][i&objPageMask]
}

// Drop removes the object of slot i, if any, and returns it.
func (o *Objects) Drop(i uint32) Object {
	pg := int(i >> objPageShift)
	if pg >= len(o.pages) || o.pages[pg] == nil {
		return nil
	}
	w := &o.pages[pg][i&objPageMask]
	obj := *w
	if obj != nil {
		*w = nil
		o.n--
		o.bytes -= obj.MemoryUsage()
		if o.n == 0 {
			o.pages = nil
		}
	}
	return obj
}

// Resized adds delta to the bytes of the objects held.
func (o *Objects) Resized(delta int64) { o.bytes += delta }

// Len returns the number of objects held.
func (o *Objects) Len() int { return o.n }

// Bytes returns the memory of the objects and of the pages holding them.
func (o *Objects) Bytes() int64 {
	return o.bytes + int64(len(o.pages))*(24+ObjectRefBytes*objPageSize)
}

// Clone returns a copy holding a clone of every object.
func (o *Objects) Clone() Objects {
	c := Objects{n: o.n, bytes: o.bytes, pages: make([][]Object, len(o.pages))}
	for i, p := range o.pages {
		if p == nil {
			continue
		}
		cp := make([]Object, len(p))
		for j, obj := range p {
			if obj != nil {
				cp[j] = obj.Clone()
			}
		}
		c.pages[i] = cp
	}
	return c
}

// Reset drops every object.
func (o *Objects) Reset() { *o = Objects{} }
