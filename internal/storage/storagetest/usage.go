package storagetest

import (
	"strconv"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// RunUsage checks an engine's storage.UsageTracker: the words it keeps
// through Lookup, Set, Clear and TrackUsage(nil), and what SampleUsage hands
// out. It skips engines that do not implement it.
func RunUsage(t *testing.T, newEngine func() storage.Engine) {
	e := newEngine()
	u, ok := e.(storage.UsageTracker)
	if !ok {
		t.Skipf("%T does not implement storage.UsageTracker", e)
	}
	var clock uint32
	fresh := 0
	u.TrackUsage(func(old uint32, isNew bool) uint32 {
		if isNew {
			fresh++
			if old != 0 {
				t.Errorf("fresh key: got old %d, want 0", old)
			}
		}
		clock++
		return clock
	})
	const n = 5000
	for i := range n {
		e.Set([]byte("k"+strconv.Itoa(i)), []byte("v"), storage.NoExpiry)
	}
	if fresh != n {
		t.Fatalf("fresh calls: got %d, want %d", fresh, n)
	}
	e.Lookup([]byte("k7"))                             // n+1
	e.Set([]byte("k8"), []byte("w"), storage.NoExpiry) // n+2, not fresh
	e.Lookup([]byte("missing"))
	// KeyUsage reads a word without using the key.
	for range 2 {
		if w, ok := u.KeyUsage([]byte("k7")); !ok || w != n+1 {
			t.Errorf("KeyUsage of k7: got %d %v, want %d true", w, ok, n+1)
		}
	}
	if _, ok := u.KeyUsage([]byte("missing")); ok {
		t.Error("KeyUsage of a missing key: ok")
	}
	e.SetExpire([]byte("k9"), 1000)
	want := map[string]uint32{"k7": n + 1, "k8": n + 2, "k9": 10, "k0": 1}
	seen := map[string]bool{}
	for range 200 {
		u.SampleUsage(50, false, func(k []byte, _ int64, w uint32) {
			key := string(k)
			seen[key] = true
			if exp, ok := want[key]; ok && w != exp {
				t.Errorf("usage of %s: got %d, want %d", key, w, exp)
			}
			if i, err := strconv.Atoi(key[1:]); err == nil && key != "k7" && key != "k8" && w != uint32(i+1) {
				t.Errorf("usage of %s: got %d, want %d", key, w, i+1)
			}
		})
	}
	if len(seen) < n/4 {
		t.Errorf("10000 samples saw %d distinct keys of %d", len(seen), n)
	}
	got := 0
	u.SampleUsage(20, true, func(k []byte, at int64, w uint32) {
		got++
		if string(k) != "k9" || at != 1000 || w != 10 {
			t.Errorf("volatile sample: got %q at %d usage %d, want k9 at 1000 usage 10", k, at, w)
		}
	})
	if got == 0 {
		t.Error("volatile SampleUsage found no key")
	}

	e.Clear()
	e.Set([]byte("a"), nil, storage.NoExpiry)
	if fresh != n+1 {
		t.Error("tracking did not survive Clear")
	}
	u.TrackUsage(nil)
	e.Set([]byte("b"), nil, storage.NoExpiry)
	e.Lookup([]byte("a"))
	if fresh != n+1 {
		t.Error("tracking went on after TrackUsage(nil)")
	}
	u.SampleUsage(5, false, func(_ []byte, _ int64, w uint32) {
		if w != 0 {
			t.Errorf("usage after TrackUsage(nil): got %d, want 0", w)
		}
	})
	empty := newEngine().(storage.UsageTracker)
	empty.SampleUsage(5, false, func([]byte, int64, uint32) { t.Error("sampled an empty engine") })
	empty.SampleUsage(5, true, func([]byte, int64, uint32) { t.Error("sampled an empty engine") })
}
