package keyspace

import (
	"fmt"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

func newDB(now int64) *DB {
	db := New(memory.New())
	db.SetNow(now)
	return db
}

func TestLazyExpiry(t *testing.T) {
	db := newDB(1000)
	db.Set([]byte("a"), []byte("1"), 1500)
	db.Set([]byte("b"), []byte("2"), storage.NoExpiry)
	tests := []struct {
		now  int64
		key  string
		want bool
	}{
		{1000, "a", true},
		{1500, "a", true}, // visible during the millisecond it expires at
		{1501, "a", false},
		{1501, "b", true},
	}
	for _, tt := range tests {
		db.SetNow(tt.now)
		if got := db.Exists([]byte(tt.key)); got != tt.want {
			t.Errorf("at %d Exists(%s): got %v, want %v", tt.now, tt.key, got, tt.want)
		}
	}
	if db.Len() != 1 || db.Stats().ExpiredKeys != 1 {
		t.Fatalf("Len %d expired %d, want 1 and 1", db.Len(), db.Stats().ExpiredKeys)
	}
}

func TestSetInThePastDeletes(t *testing.T) {
	db := newDB(1000)
	db.Set([]byte("a"), []byte("1"), storage.NoExpiry)
	db.Set([]byte("a"), []byte("2"), 999)
	if db.Exists([]byte("a")) {
		t.Fatal("a Set with a past expiry left the key")
	}
	db.Set([]byte("b"), []byte("1"), storage.NoExpiry)
	if !db.SetExpire([]byte("b"), 10) || db.Exists([]byte("b")) {
		t.Fatal("SetExpire in the past did not delete")
	}
	if db.SetExpire([]byte("nosuch"), 2000) {
		t.Fatal("SetExpire on a missing key reported true")
	}
}

func TestActiveExpire(t *testing.T) {
	db := newDB(0)
	for i := range 1000 {
		db.Set(fmt.Appendf(nil, "k%d", i), []byte("v"), 100)
	}
	for i := range 10 {
		db.Set(fmt.Appendf(nil, "keep%d", i), []byte("v"), 1_000_000)
	}
	db.SetNow(200)
	for range 200 {
		if db.ActiveExpire(20, 16) == 0 {
			break
		}
	}
	if db.Len() != 10 || db.ExpiresLen() != 10 {
		t.Fatalf("after active expiry: Len %d ExpiresLen %d, want 10 and 10", db.Len(), db.ExpiresLen())
	}
	if got := db.Stats().ExpiredKeys; got != 1000 {
		t.Fatalf("expired keys counted %d, want 1000", got)
	}
}

func TestActiveExpireBounded(t *testing.T) {
	db := newDB(0)
	for i := range 5000 {
		db.Set(fmt.Appendf(nil, "k%d", i), []byte("v"), 100)
	}
	db.SetNow(200)
	if n := db.ActiveExpire(20, 4); n > 80 {
		t.Fatalf("one call removed %d keys, want at most 4 rounds of 20", n)
	}
}

func TestWatchVersions(t *testing.T) {
	db := newDB(1000)
	k := []byte("k")
	v0 := db.Watch(k)
	if db.Version(k) != v0 {
		t.Fatal("version changed without a write")
	}
	db.Get(k)
	db.Exists(k)
	if db.Version(k) != v0 {
		t.Fatal("reads changed the version")
	}
	steps := []struct {
		name  string
		write func()
	}{
		{"set", func() { db.Set(k, []byte("1"), storage.NoExpiry) }},
		{"expire", func() { db.SetExpire(k, 5000) }},
		{"touch", func() { db.Touch(k) }},
		{"delete", func() { db.Delete(k) }},
		{"set with ttl", func() { db.Set(k, []byte("1"), 1100) }},
		{"expiry passes", func() { db.SetNow(1200) }},
		{"set again", func() { db.Set(k, []byte("1"), storage.NoExpiry) }},
		{"flush", func() { db.Flush() }},
	}
	prev := v0
	for _, s := range steps {
		s.write()
		if v := db.Version(k); v == prev {
			t.Fatalf("%s: version did not change", s.name)
		} else {
			prev = v
		}
	}
	// Deleting a missing key is no change.
	db.Delete(k)
	if db.Version(k) != prev {
		t.Fatal("deleting a missing key changed the version")
	}
	// A second watcher shares the entry; it lives until both unwatch.
	db.Watch(k)
	db.Unwatch(k)
	if db.Version(k) != prev {
		t.Fatal("unwatch by one of two watchers dropped the version")
	}
	db.Unwatch(k)
	if db.Version(k) != 0 {
		t.Fatal("version kept after the last unwatch")
	}
}

func TestBlockedKeysReady(t *testing.T) {
	db := newDB(1000)
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	db.Block(a)
	db.Block(b)
	if db.HasReady() {
		t.Fatal("ready before any write")
	}
	db.Set(c, []byte("1"), storage.NoExpiry) // not blocked on
	db.Set(b, []byte("1"), storage.NoExpiry)
	db.Set(a, []byte("1"), storage.NoExpiry)
	db.Set(b, []byte("2"), storage.NoExpiry) // listed once
	if got := fmt.Sprint(db.TakeReady(nil)); got != "[b a]" {
		t.Fatalf("TakeReady: got %s, want [b a]", got)
	}
	if db.HasReady() {
		t.Fatal("ready after TakeReady")
	}
	db.Delete(a) // listed again after TakeReady
	db.Unblock(b)
	db.Set(b, []byte("3"), storage.NoExpiry)
	if got := fmt.Sprint(db.TakeReady(nil)); got != "[a]" {
		t.Fatalf("TakeReady after Unblock: got %s, want [a]", got)
	}
}
