package arena

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// frozenEntry is what a key held when a copy was frozen.
type frozenEntry struct {
	value string
	at    int64
}

// scanFrozen returns what the frozen copy f holds.
func scanFrozen(f storage.Scanner) map[string]frozenEntry {
	got := map[string]frozenEntry{}
	var cursor uint64
	for {
		cursor = f.Scan(cursor, func(k, v []byte, _ storage.Object, at int64) bool {
			got[string(k)] = frozenEntry{string(v), at}
			return true
		})
		if cursor == 0 {
			return got
		}
	}
}

// TestFreezeSharesUntilRelease checks the copies Freeze makes, which share
// the engine's chunks: each must read the keys as they were when it was
// made, while the engine goes on with every kind of change that writes
// bytes (shorter, equal and longer values, WriteAt, deletions that empty
// chunks, compaction, huge values, Clear), with copies overlapping and
// released in any order, and while another goroutine scans a copy (under
// the race detector, a write into shared bytes is reported). The engine
// must behave as a map throughout, and write in place again once every
// copy is released.
func TestFreezeSharesUntilRelease(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	e := New()
	model := map[string]frozenEntry{}
	keys := scaled(3000)
	randValue := func() string {
		switch n := rng.IntN(100); {
		case n < 2:
			return strings.Repeat(string(rune('a'+rng.IntN(26))), hugeEntry+rng.IntN(1000))
		case n < 10:
			return strings.Repeat(string(rune('a'+rng.IntN(26))), 200+rng.IntN(300))
		default:
			return fmt.Sprintf("v%d-%s", rng.IntN(1e6), strings.Repeat("x", rng.IntN(40)))
		}
	}
	change := func() {
		k := fmt.Sprintf("key%05d", rng.IntN(keys))
		old, present := model[k]
		switch n := rng.IntN(100); {
		case n < 40:
			v := randValue()
			if present && rng.IntN(2) == 0 && len(old.value) > 1 {
				v = old.value[:rng.IntN(len(old.value))] // shorter: in place if allowed
			}
			at := storage.NoExpiry
			if rng.IntN(5) == 0 {
				at = int64(1 + rng.IntN(1e9))
			}
			e.Set([]byte(k), []byte(v), at)
			model[k] = frozenEntry{v, at}
		case n < 55:
			if present && len(old.value) > 0 {
				off := rng.IntN(len(old.value))
				data := []byte(strings.Repeat("W", 1+rng.IntN(len(old.value)-off)))
				if e.WriteAt([]byte(k), off, data) {
					model[k] = frozenEntry{old.value[:off] + string(data) + old.value[off+len(data):], old.at}
				}
			}
		case n < 60:
			if present {
				at := int64(1 + rng.IntN(1e9))
				e.SetExpire([]byte(k), at)
				model[k] = frozenEntry{old.value, at}
			}
		default:
			e.Delete([]byte(k))
			delete(model, k)
		}
	}
	snapshot := func() map[string]frozenEntry {
		m := make(map[string]frozenEntry, len(model))
		for k, v := range model {
			m[k] = v
		}
		return m
	}
	check := func(what string, f storage.Scanner, want map[string]frozenEntry) {
		t.Helper()
		got := scanFrozen(f)
		if f.Len() != len(want) || len(got) != len(want) {
			t.Fatalf("seed %d: %s: Len %d, scanned %d keys, want %d", seed, what, f.Len(), len(got), len(want))
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || g != w {
				t.Fatalf("seed %d: %s: %s = %.30q at %d (present %v), want %.30q at %d", seed, what, k, g.value, g.at, ok, w.value, w.at)
			}
		}
	}

	type frozen struct {
		f    storage.Frozen
		want map[string]frozenEntry
	}
	var live []frozen
	for round := range 12 {
		for range keys * 2 {
			change()
		}
		if round == 6 {
			e.Clear()
			clear(model)
			for range keys {
				change()
			}
		}
		f := frozen{e.Freeze(), snapshot()}
		live = append(live, f)
		// Another goroutine reads the newest copy while the engine changes.
		stop, done := make(chan struct{}), make(chan map[string]frozenEntry)
		go func() {
			var got map[string]frozenEntry
			for {
				got = scanFrozen(f.f)
				select {
				case <-stop:
					done <- got
					return
				default:
				}
			}
		}()
		// The current chunk emptied, which the engine would otherwise
		// write again from its start; then enough deletions to empty
		// whole chunks, and changes to sweep them.
		if e.cur != noChunk {
			for k := range model {
				_, _, loc, _, ok := e.find([]byte(k), e.hash([]byte(k)))
				if c, _ := splitLoc(loc); ok && c == e.cur {
					e.Delete([]byte(k))
					delete(model, k)
				}
			}
		}
		for i := range keys {
			if i%3 == 0 {
				k := fmt.Sprintf("key%05d", i)
				e.Delete([]byte(k))
				delete(model, k)
			}
		}
		for range keys * 3 {
			change()
		}
		close(stop)
		if got := <-done; len(got) != len(f.want) {
			t.Fatalf("seed %d: round %d: concurrent scan saw %d keys, want %d", seed, round, len(got), len(f.want))
		}
		for i, c := range live {
			check(fmt.Sprintf("round %d, copy %d", round, i), c.f, c.want)
		}
		// Release copies in an order of their own: oldest, newest, or none.
		switch rng.IntN(3) {
		case 0:
			live[0].f.Release()
			live = live[1:]
		case 1:
			live[len(live)-1].f.Release()
			live = live[:len(live)-1]
		}
		for k, w := range model {
			v, at, ok := e.Lookup([]byte(k))
			if !ok || string(v) != w.value || at != w.at {
				t.Fatalf("seed %d: round %d: engine %s = %.30q at %d (present %v), want %.30q at %d", seed, round, k, v, at, ok, w.value, w.at)
			}
		}
		if e.Len() != len(model) {
			t.Fatalf("seed %d: round %d: engine Len %d, want %d", seed, round, e.Len(), len(model))
		}
	}
	for _, c := range live {
		c.f.Release()
	}
	if n := e.frozen.Load(); n != 0 {
		t.Fatalf("%d copies counted after every copy was released", n)
	}
	// Released: a shorter value is written in place again.
	k := []byte("in-place")
	e.Set(k, []byte("long value"), storage.NoExpiry)
	_, _, before, _, _ := e.find(k, e.hash(k))
	e.Set(k, []byte("short"), storage.NoExpiry)
	_, _, after, v, _ := e.find(k, e.hash(k))
	if before != after || !bytes.Equal(v, []byte("short")) {
		t.Fatalf("after every release, a shorter value moved (%x to %x) or reads %q", before, after, v)
	}
}
