package keyspace

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/notify"
)

// eventsOf makes db publish the events of classes (with E) and returns
// the list they are appended to, as "event key".
func eventsOf(db *DB, classes notify.Class) *[]string {
	var got []string
	n := notify.NewNotifier(func(channel, msg []byte) {
		got = append(got, strings.TrimPrefix(string(channel), "__keyevent@0__:")+" "+string(msg))
	})
	n.Set(classes | notify.Keyevent)
	db.SetNotifier(n)
	return &got
}

func TestNotifyExpired(t *testing.T) {
	db := newDB(1000)
	got := eventsOf(db, notify.All)
	db.Set([]byte("lazy"), []byte("v"), 1500)
	db.Set([]byte("active"), []byte("v"), 1500)
	db.Set([]byte("kept"), []byte("v"), 5000)
	if len(*got) != 0 {
		t.Fatalf("writes published %q, want nothing (commands publish their own)", *got)
	}
	db.SetNow(1500) // still visible during its last millisecond
	db.Get([]byte("lazy"))
	if len(*got) != 0 {
		t.Fatalf("got %q before the expiry", *got)
	}
	db.SetNow(1501)
	db.Get([]byte("lazy"))
	db.Get([]byte("lazy"))
	if want := []string{"expired lazy"}; !slices.Equal(*got, want) {
		t.Fatalf("lazy expiry: got %q, want %q", *got, want)
	}
	*got = (*got)[:0]
	db.ActiveExpire(20, 16)
	if want := []string{"expired active"}; !slices.Equal(*got, want) {
		t.Fatalf("active expiry: got %q, want %q", *got, want)
	}
}

// TestNotifyExpiredReplica checks that a replicated keyspace publishes an
// expiry only when the key is removed, not when a read hides it.
func TestNotifyExpiredReplica(t *testing.T) {
	db := newDB(1000)
	db.SetReplica(true)
	got := eventsOf(db, notify.All)
	db.Set([]byte("k"), []byte("v"), 1500)
	db.SetNow(2000)
	db.Get([]byte("k"))
	if len(*got) != 0 {
		t.Fatalf("a hidden key published %q", *got)
	}
	db.RemoveExpired([]byte("k"))
	if want := []string{"expired k"}; !slices.Equal(*got, want) {
		t.Fatalf("got %q, want %q", *got, want)
	}
}

func TestNotifyEvicted(t *testing.T) {
	db := newEvictDB(AllKeysLRU)
	got := eventsOf(db, notify.Evicted)
	written := map[string]bool{}
	for i := range 2000 {
		k := fmt.Sprint("k", i)
		if !write(db, k, 0) {
			t.Fatalf("write %d refused", i)
		}
		written[k] = true
	}
	if n := db.EvictedKeys(); int64(len(*got)) != n || n == 0 {
		t.Fatalf("%d evicted events for %d evicted keys", len(*got), n)
	}
	for _, e := range *got {
		k, ok := strings.CutPrefix(e, "evicted ")
		if !ok || !written[k] || db.Exists([]byte(k)) {
			t.Fatalf("event %q: not an evicted key", e)
		}
	}
}

func TestNotifyNewAndMiss(t *testing.T) {
	db := newDB(1000)
	got := eventsOf(db, notify.New|notify.KeyMiss)
	db.Get([]byte("k"))
	db.Set([]byte("k"), []byte("v"), 0)
	db.Set([]byte("k"), []byte("w"), 0)
	db.Get([]byte("k"))
	db.Set([]byte("gone"), []byte("v"), 500) // already expired: never created
	if want := []string{"keymiss k", "new k"}; !slices.Equal(*got, want) {
		t.Fatalf("got %q, want %q", *got, want)
	}
}
