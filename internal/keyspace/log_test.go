package keyspace

import (
	"fmt"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// recLog records the calls a DB makes to its Log.
type recLog struct{ calls []string }

func (l *recLog) Set(key, value []byte, at int64) {
	l.calls = append(l.calls, fmt.Sprintf("set %s=%s@%d", key, value, at))
}
func (l *recLog) Delete(key []byte) { l.calls = append(l.calls, "del "+string(key)) }
func (l *recLog) Expire(key []byte, at int64) {
	l.calls = append(l.calls, fmt.Sprintf("expire %s@%d", key, at))
}
func (l *recLog) Flush()  { l.calls = append(l.calls, "flush") }
func (l *recLog) Commit() { l.calls = append(l.calls, "commit") }

// TestLogRecordsChanges checks that every change, and only a change, is
// reported to the Log with the resulting state, and that removals of expired
// keys are not.
func TestLogRecordsChanges(t *testing.T) {
	k := []byte("k")
	tests := []struct {
		name string
		run  func(db *DB)
		want []string
	}{
		{"set", func(db *DB) { db.Set(k, []byte("v"), storage.NoExpiry) }, []string{"set k=v@0"}},
		{"set with expiry", func(db *DB) { db.Set(k, []byte("v"), 2000) }, []string{"set k=v@2000"}},
		{"set in the past deletes", func(db *DB) {
			db.Set(k, []byte("v"), 0)
			db.Set(k, []byte("w"), 500)
		}, []string{"set k=v@0", "del k"}},
		{"set in the past of a missing key", func(db *DB) { db.Set(k, []byte("w"), 500) }, nil},
		{"delete", func(db *DB) {
			db.Set(k, []byte("v"), 0)
			db.Delete(k)
			db.Delete(k)
		}, []string{"set k=v@0", "del k"}},
		{"expire and persist", func(db *DB) {
			db.Set(k, []byte("v"), 0)
			db.SetExpire(k, 5000)
			db.SetExpire(k, storage.NoExpiry)
			db.SetExpire([]byte("missing"), 5000)
		}, []string{"set k=v@0", "expire k@5000", "expire k@0"}},
		{"expire in the past deletes", func(db *DB) {
			db.Set(k, []byte("v"), 0)
			db.SetExpire(k, 10)
		}, []string{"set k=v@0", "del k"}},
		{"flush", func(db *DB) {
			db.Flush()
			db.Set(k, []byte("v"), 0)
			db.Flush()
		}, []string{"set k=v@0", "flush"}},
		{"lazy and active expiry are not logged", func(db *DB) {
			db.Set(k, []byte("v"), 1500)
			db.Set([]byte("j"), []byte("v"), 1500)
			db.SetNow(2000)
			db.Get(k)
			db.ActiveExpire(20, 4)
			db.Delete(k)
		}, []string{"set k=v@1500", "set j=v@1500"}},
		{"commit", func(db *DB) { db.Commit() }, []string{"commit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newDB(1000)
			l := &recLog{}
			db.SetLog(l)
			tt.run(db)
			if !slices.Equal(l.calls, tt.want) {
				t.Fatalf("got %q, want %q", l.calls, tt.want)
			}
		})
	}
	db := newDB(1000)
	if db.Logged() {
		t.Fatal("a DB without a Log reports one")
	}
	db.Commit() // no Log: nothing to do
}
