package storagetest

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// RunSizer checks an engine's storage.Sizer: absent keys, the expiry it
// reports, figures that grow with values and objects and follow Resized,
// that sum to most of what MemoryUsage counts and never more, and that
// asking is not a use of the key. It skips engines that do not implement it.
func RunSizer(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	sz, ok := e.(storage.Sizer)
	if !ok {
		t.Skipf("%T does not implement storage.Sizer", e)
	}
	uses := 0
	if u, ok := e.(storage.UsageTracker); ok {
		u.TrackUsage(func(uint32, bool) uint32 { uses++; return 1 })
	}
	usage := func(key string) (int64, int64, bool) {
		t.Helper()
		before := uses
		n, at, ok := sz.KeyMemoryUsage([]byte(key))
		if uses != before {
			t.Errorf("KeyMemoryUsage(%q) counted as a use of the key", key)
		}
		return n, at, ok
	}

	if n, _, ok := usage("missing"); ok {
		t.Errorf("KeyMemoryUsage(missing): got %d, true; want false", n)
	}
	empty := e.MemoryUsage()

	// Many strings: each is charged at least its key and value, and the
	// figures add up to most of the engine's growth, never more.
	const n, size = 20000, 100
	value := bytes.Repeat([]byte("v"), size)
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		exp := storage.NoExpiry
		if i%4 == 0 {
			exp = int64(1000 + i)
		}
		e.Set([]byte(k), value, exp)
	}
	var sum int64
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		got, at, ok := usage(k)
		wantExp := storage.NoExpiry
		if i%4 == 0 {
			wantExp = int64(1000 + i)
		}
		if !ok || at != wantExp || got < int64(len(k)+size) {
			t.Fatalf("KeyMemoryUsage(%q): got %d, %d, %v; want at least %d, %d, true", k, got, at, ok, len(k)+size, wantExp)
		}
		sum += got
	}
	grown := e.MemoryUsage() - empty
	if sum > grown || sum < grown*9/10 {
		t.Errorf("KeyMemoryUsage summed over %d keys: got %d, want between %d and %d (MemoryUsage grew by %d)", n, sum, grown*9/10, grown, grown)
	}

	// A longer value costs more; an expiry costs its record.
	small, _, _ := usage("key:1")
	e.Set([]byte("key:1"), bytes.Repeat([]byte("w"), 10*size), storage.NoExpiry)
	if big, _, _ := usage("key:1"); big < small+9*size {
		t.Errorf("KeyMemoryUsage after a value 10 times longer: got %d, want at least %d", big, small+9*size)
	}
	e.Set([]byte("key:3"), value, 5)
	if withExp, at, _ := usage("key:3"); withExp < small || at != 5 {
		t.Errorf("KeyMemoryUsage with an expiry: got %d, %d; want at least %d, 5", withExp, at, small)
	}

	// An object is charged its MemoryUsage, and follows Resized.
	obj := &testObject{id: 1, size: 5000}
	e.SetObject([]byte("obj"), obj, storage.NoExpiry)
	before, _, ok := usage("obj")
	if !ok || before < 5000+int64(len("obj")) {
		t.Errorf("KeyMemoryUsage of an object of 5000 bytes: got %d, %v", before, ok)
	}
	obj.size += 300
	e.Resized(300)
	if after, _, _ := usage("obj"); after != before+300 {
		t.Errorf("KeyMemoryUsage after Resized(300): got %d, want %d", after, before+300)
	}
	e.Set([]byte("obj"), []byte("s"), storage.NoExpiry)
	if got, _, _ := usage("obj"); got >= before {
		t.Errorf("KeyMemoryUsage once the object is replaced by a string: got %d, want less than %d", got, before)
	}

	e.Delete([]byte("key:2"))
	if got, _, ok := usage("key:2"); ok {
		t.Errorf("KeyMemoryUsage of a deleted key: got %d, true; want false", got)
	}
	e.Clear()
	if got, _, ok := usage("key:5"); ok {
		t.Errorf("KeyMemoryUsage after Clear: got %d, true; want false", got)
	}
}
