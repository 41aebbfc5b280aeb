package storage

import (
	"runtime"
	"testing"
)

type ptrObject struct{ size int64 }

func (o *ptrObject) Kind() Kind         { return KindHash }
func (o *ptrObject) MemoryUsage() int64 { return o.size }
func (o *ptrObject) Clone() Object      { c := *o; return &c }
func (o *ptrObject) Len() int           { return int(o.size) }
func (o *ptrObject) Encoding() string   { return "ptr" }

type valObject struct{ a, b int64 }

func (o valObject) Kind() Kind         { return KindSet }
func (o valObject) MemoryUsage() int64 { return o.a }
func (o valObject) Clone() Object      { return o }
func (o valObject) Len() int           { return int(o.b) }
func (o valObject) Encoding() string   { return "val" }

// TestObjectsKeepTypes stores objects of a pointer type and of a value type
// in many slots, collects garbage, and reads each back with its type and
// contents; then drops and clones.
func TestObjectsKeepTypes(t *testing.T) {
	var o Objects
	const n = 3000
	for i := range uint32(n) {
		if i%2 == 0 {
			o.Put(i*3, &ptrObject{size: int64(i)})
		} else {
			o.Put(i*3, valObject{a: int64(i), b: -int64(i)})
		}
	}
	runtime.GC()
	check := func(o *Objects, from uint32) {
		t.Helper()
		for i := from; i < n; i++ {
			got := o.Get(i * 3)
			switch v := got.(type) {
			case *ptrObject:
				if i%2 != 0 || v.size != int64(i) {
					t.Fatalf("slot %d: got %#v", i*3, v)
				}
			case valObject:
				if i%2 == 0 || v.a != int64(i) || v.b != -int64(i) {
					t.Fatalf("slot %d: got %#v", i*3, v)
				}
			default:
				t.Fatalf("slot %d: got %T", i*3, got)
			}
			if o.Get(i*3+1) != nil {
				t.Fatalf("slot %d: an object where none was put", i*3+1)
			}
		}
	}
	check(&o, 0)
	c := o.Clone()
	for i := range uint32(n / 2) {
		if o.Drop(i*3) == nil {
			t.Fatalf("Drop(%d) = nil", i*3)
		}
	}
	if o.Len() != n-n/2 || c.Len() != n {
		t.Fatalf("Len = %d and clone %d, want %d and %d", o.Len(), c.Len(), n-n/2, n)
	}
	runtime.GC()
	check(&o, n/2)
	check(&c, 0)
	const kept = (n/2 + 1) &^ 1 * 3 // an even i past those dropped: a *ptrObject
	if c.Get(kept).(*ptrObject) == o.Get(kept).(*ptrObject) {
		t.Fatal("the clone shares an object")
	}
}
