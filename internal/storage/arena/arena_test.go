package arena_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func() storage.Engine { return arena.New() })
}

func TestUsage(t *testing.T) {
	storagetest.RunUsage(t, func() storage.Engine { return arena.New() })
}

func TestSizer(t *testing.T) {
	storagetest.RunSizer(t, func() storage.Engine { return arena.New() })
}

// A frozen copy keeps the entries as they were, in place-overwritten
// values, expiries, deletions and huge entries included, while the engine
// goes on changing.
func TestFreeze(t *testing.T) {
	e := arena.New()
	want := map[string]string{}
	exp := map[string]int64{}
	for i := range 5000 {
		k, v := fmt.Sprintf("k%05d", i), fmt.Sprintf("value-%d", i)
		at := storage.NoExpiry
		if i%7 == 0 {
			at = int64(1000 + i)
		}
		if i%1000 == 0 {
			v = strings.Repeat("h", 40<<10) // a huge entry, in a chunk of its own
		}
		e.Set([]byte(k), []byte(v), at)
		want[k], exp[k] = v, at
	}
	for i := 0; i < 5000; i += 3 {
		k := fmt.Sprintf("k%05d", i)
		e.Delete([]byte(k))
		delete(want, k)
	}
	f := e.Freeze()
	// Change everything the copy could share with the engine.
	for i := range 5000 {
		k := []byte(fmt.Sprintf("k%05d", i))
		switch i % 4 {
		case 0:
			e.Set(k, []byte("x"), storage.NoExpiry) // shorter: written in place
		case 1:
			e.Delete(k)
		case 2:
			e.SetExpire(k, 1)
		default:
			e.Set(k, []byte(strings.Repeat("y", 100)), 5)
		}
	}
	for i := range 3000 {
		e.Set([]byte(fmt.Sprintf("new%d", i)), []byte("n"), storage.NoExpiry)
	}
	if f.Len() != len(want) {
		t.Fatalf("frozen Len %d, want %d", f.Len(), len(want))
	}
	seen := map[string]bool{}
	var cursor uint64
	for {
		cursor = f.Scan(cursor, func(k, v []byte, _ storage.Object, at int64) bool {
			ks := string(k)
			if seen[ks] {
				t.Fatalf("key %s visited twice", ks)
			}
			seen[ks] = true
			if w, ok := want[ks]; !ok || string(v) != w || at != exp[ks] {
				t.Fatalf("frozen %s = %.20q at %d; want %.20q at %d (present %v)", ks, v, at, w, exp[ks], ok)
			}
			return len(seen)%100 != 0 // stop and resume now and then
		})
		if cursor == 0 {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("frozen scan saw %d keys, want %d", len(seen), len(want))
	}
}
