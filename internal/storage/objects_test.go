package storage

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
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

// tagged is an Object type of its own for every type argument, numbered
// only by TestTypesNumberedConcurrently.
type tagged[T any] struct{ v int64 }

func (o *tagged[T]) Kind() Kind         { return KindHash }
func (o *tagged[T]) MemoryUsage() int64 { return o.v }
func (o *tagged[T]) Clone() Object      { c := *o; return &c }
func (o *tagged[T]) Len() int           { return 1 }

// TestTypesNumberedConcurrently checks that the table of types, which
// engines read without a lock, is never changed once readers may hold it:
// numbering a new type leaves a table loaded before as it was. Then it has
// several engines' Objects (one per goroutine, as shards have) store objects
// of types not yet numbered, each in its own order, so that types are
// numbered while others look them up, and checks that every object comes
// back with its type and value (under the race detector, a table changed
// while read fails it too). It runs in a process of its own (this test
// binary, run again), where no type has been numbered yet.
func TestTypesNumberedConcurrently(t *testing.T) {
	if os.Getenv("STORAGE_TYPES_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTypesNumberedConcurrently$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STORAGE_TYPES_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the test in a process of its own: %v\n%s", err, out)
		}
		return
	}
	held := types.Load()
	n0 := len(*held)
	if n0 != 1 {
		t.Fatalf("%d types numbered before the test, want none", n0-1)
	}
	split(&tagged[int8]{1})
	if len(*held) != n0 {
		t.Fatalf("numbering a type changed the table a reader held: %d entries, then %d", n0, len(*held))
	}
	if now := types.Load(); len(*now) != n0+1 {
		t.Fatalf("after numbering a type: %d entries, want %d", len(*now), n0+1)
	}

	mk := []func(v int64) Object{
		func(v int64) Object { return &tagged[int8]{v} },
		func(v int64) Object { return &tagged[int16]{v} },
		func(v int64) Object { return &tagged[int32]{v} },
		func(v int64) Object { return &tagged[int64]{v} },
	}
	// One goroutine per P (this one among them) counts itself in and
	// spins until all have, so that they start at once: one numbers a
	// type while others look types up. The atomic counter orders each
	// start after every goroutine's count, not what the goroutines do
	// next, which is what the race detector checks.
	var ready atomic.Int32
	n := max(2, runtime.GOMAXPROCS(0))
	begin := func() {
		ready.Add(1)
		for ready.Load() < int32(n) {
		}
	}
	errs := make(chan string, n)
	run := func(g int) {
		split(mk[g%len(mk)](0)) // first, at once: the type numbered, or looked up
		var o Objects
		for i := range uint32(100) {
			k := (int(i) + g) % len(mk)
			o.Put(i, mk[k](int64(i)))
		}
		for i := range uint32(100) {
			k := (int(i) + g) % len(mk)
			got := o.Get(i)
			if want := mk[k](int64(i)); got == nil || reflect.TypeOf(got) != reflect.TypeOf(want) || got.MemoryUsage() != int64(i) {
				errs <- fmt.Sprintf("goroutine %d, slot %d: got %#v, want %#v", g, i, got, want)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for g := 1; g < n; g++ {
		wg.Go(func() {
			begin()
			run(g)
		})
	}
	begin()
	run(0)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
