package storagetest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// testObject is an Object for the suite: a number that tells objects apart
// and a size that Resized reports changes of.
type testObject struct {
	id   int
	size int64
}

func (o *testObject) Kind() storage.Kind    { return storage.KindSet }
func (o *testObject) Len() int              { return 1 }
func (o *testObject) MemoryUsage() int64    { return o.size }
func (o *testObject) Clone() storage.Object { c := *o; return &c }
func (o *testObject) String() string        { return fmt.Sprintf("object %d", o.id) }
func objectOf(obj storage.Object) (*testObject, bool) {
	o, ok := obj.(*testObject)
	return o, ok
}

// typed is what a key is expected to hold in testObjects: a string, or an
// object when obj is not nil.
type typed struct {
	value string
	obj   *testObject
	exp   int64
}

// testObjects checks Find, SetObject, Resized and Scan over keys holding
// strings and objects, against a map, over random operations.
func testObjects(t *testing.T, newEngine func() storage.Engine) {
	const (
		ops      = 20000
		keySpace = 500
		seed     = 20260214
	)
	r := rand.New(rand.NewPCG(seed, seed))
	e := newEngine()
	empty := e.MemoryUsage()
	model := make(map[string]typed)
	nextID := 0
	check := func(op int) {
		t.Helper()
		for k, w := range model {
			v, obj, exp, ok := e.Find([]byte(k))
			if !ok || exp != w.exp {
				t.Fatalf("op %d (seed %d): Find(%q): got ok %v expiry %d, want true %d", op, seed, k, ok, exp, w.exp)
			}
			lv, _, _ := e.Lookup([]byte(k))
			if w.obj != nil {
				if o, isObj := objectOf(obj); !isObj || o != w.obj || v != nil || lv != nil {
					t.Fatalf("op %d (seed %d): Find(%q): got %q, %v, Lookup %q; want %v and no bytes", op, seed, k, v, obj, lv, w.obj)
				}
				continue
			}
			if obj != nil || string(v) != w.value || string(lv) != w.value {
				t.Fatalf("op %d (seed %d): Find(%q): got %q, %v; want %q", op, seed, k, v, obj, w.value)
			}
		}
		seen := 0
		for c := uint64(0); ; {
			c = e.Scan(c, func(k, v []byte, obj storage.Object, exp int64) bool {
				seen++
				w, ok := model[string(k)]
				o, _ := objectOf(obj)
				if !ok || exp != w.exp || o != w.obj || w.obj == nil && string(v) != w.value || w.obj != nil && v != nil {
					t.Fatalf("op %d (seed %d): Scan gave %q = %q, %v, %d; want %+v", op, seed, k, v, obj, exp, w)
				}
				return true
			})
			if c == 0 {
				break
			}
		}
		if seen != len(model) || e.Len() != len(model) {
			t.Fatalf("op %d (seed %d): Scan saw %d keys, Len %d; want %d", op, seed, seen, e.Len(), len(model))
		}
	}
	for i := range ops {
		k := fmt.Sprint("key", r.IntN(keySpace))
		exp := storage.NoExpiry
		if r.IntN(3) == 0 {
			exp = 1 + r.Int64N(1e12)
		}
		switch p := r.IntN(100); {
		case p < 30:
			nextID++
			o := &testObject{id: nextID, size: 100 + r.Int64N(1000)}
			e.SetObject([]byte(k), o, exp)
			model[k] = typed{obj: o, exp: exp}
		case p < 55:
			v := fmt.Sprint("value", r.IntN(1e6))
			e.Set([]byte(k), []byte(v), exp)
			model[k] = typed{value: v, exp: exp}
		case p < 70:
			_, want := model[k]
			if got := e.Delete([]byte(k)); got != want {
				t.Fatalf("op %d (seed %d): Delete(%q): got %v, want %v", i, seed, k, got, want)
			}
			delete(model, k)
		case p < 80:
			if w, ok := model[k]; ok && w.obj != nil {
				d := r.Int64N(200) - 50
				w.obj.size += d
				e.Resized(d)
			}
		case p < 90:
			w, want := model[k]
			if got := e.SetExpire([]byte(k), exp); got != want {
				t.Fatalf("op %d (seed %d): SetExpire(%q): got %v, want %v", i, seed, k, got, want)
			}
			if want {
				w.exp = exp
				model[k] = w
			}
		default:
			if _, _, _, ok := e.Find([]byte(k)); ok != (model[k] != typed{}) {
				t.Fatalf("op %d (seed %d): Find(%q): got present %v", i, seed, k, ok)
			}
		}
		if i%1000 == 0 || i == ops-1 {
			check(i)
		}
	}
	// The objects' sizes count in MemoryUsage, and leave it with them.
	var objBytes int64
	for _, w := range model {
		if w.obj != nil {
			objBytes += w.obj.size
		}
	}
	full := e.MemoryUsage()
	if full < empty+objBytes {
		t.Errorf("MemoryUsage: got %d, want at least %d with %d bytes of objects", full, empty+objBytes, objBytes)
	}
	for k, w := range model {
		if w.obj != nil {
			e.Delete([]byte(k))
		}
	}
	if got := e.MemoryUsage(); got > full-objBytes {
		t.Errorf("MemoryUsage after deleting the objects: got %d, want at most %d", got, full-objBytes)
	}
	e.Clear()
	if _, _, _, ok := e.Find([]byte("key1")); ok || e.Len() != 0 {
		t.Errorf("after Clear: Find found a key, or Len %d", e.Len())
	}
}

// testFreezeObjects checks that a frozen copy holds clones of the objects,
// which later changes to the engine's do not reach.
func testFreezeObjects(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	f, ok := e.(storage.Freezer)
	if !ok {
		t.Skip("the engine does not freeze")
	}
	o := &testObject{id: 1, size: 10}
	e.SetObject([]byte("o"), o, 0)
	e.Set([]byte("s"), []byte("v"), 0)
	view := f.Freeze()
	o.id = 2
	got := map[string]string{}
	view.Scan(0, func(k, v []byte, obj storage.Object, _ int64) bool {
		if obj != nil {
			got[string(k)] = fmt.Sprint(obj)
		} else {
			got[string(k)] = string(v)
		}
		return true
	})
	view.Release()
	if got["o"] != "object 1" || got["s"] != "v" || len(got) != 2 {
		t.Errorf("frozen copy: got %v, want o = object 1 and s = v", got)
	}
}
