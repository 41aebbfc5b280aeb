package keyspace

import (
	"fmt"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// recLog records the calls a DB makes to its Log.
type recLog struct{ calls []string }

func (l *recLog) Set(key, value []byte, at int64) {
	l.calls = append(l.calls, fmt.Sprintf("set %s=%s@%d", key, value, at))
}
func (l *recLog) Delete(key []byte) { l.calls = append(l.calls, "del "+string(key)) }
func (l *recLog) Range(key []byte, off int64, data []byte) {
	l.calls = append(l.calls, fmt.Sprintf("range %s %d %q", key, off, data))
}
func (l *recLog) Expire(key []byte, at int64) {
	l.calls = append(l.calls, fmt.Sprintf("expire %s@%d", key, at))
}
func (l *recLog) Elements(kind storage.Kind, key []byte, at int64, fresh bool, elems [][]byte) {
	l.calls = append(l.calls, fmt.Sprintf("elems %s %s@%d fresh=%v %q", kind, key, at, fresh, elems))
}
func (l *recLog) RemoveElements(kind storage.Kind, key []byte, elems [][]byte) {
	l.calls = append(l.calls, fmt.Sprintf("remove %s %s %q", kind, key, elems))
}
func (l *recLog) List(key []byte, at int64, version uint64, fresh bool, op object.ListOp) {
	l.calls = append(l.calls, fmt.Sprintf("list %s@%d v%d fresh=%v %d left=%v %d %d %q", key, at, version, fresh, op.Code, op.Left, op.N, op.M, op.Elems))
}
func (l *recLog) Stream(key []byte, at int64, version uint64, fresh, part bool, ops []byte) {
	l.calls = append(l.calls, fmt.Sprintf("stream %s@%d v%d fresh=%v part=%v %x", key, at, version, fresh, part, ops))
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
		{"write within a string", func(db *DB) {
			db.Set(k, []byte("hello"), 0)
			if !db.WriteAt(k, 1, []byte("EL")) || db.WriteAt(k, 4, []byte("OO")) || db.WriteAt([]byte("missing"), 0, []byte("x")) {
				panic("WriteAt within, past the end, of a missing key: want true, false, false")
			}
			if v, _ := db.Get(k); string(v) != "hELlo" {
				panic("WriteAt left " + string(v))
			}
		}, []string{"set k=hello@0", `range k 1 "EL"`}},
		{"collection elements added, changed and removed", func(db *DB) {
			h := object.NewHash()
			h.Set([]byte("f"), []byte("1"))
			db.Added(k, h, storage.NoExpiry, true, 0, [][]byte{[]byte("f"), []byte("1")})
			before := h.MemoryUsage()
			h.Set([]byte("g"), []byte("2"))
			db.Added(k, h, 5000, false, before, [][]byte{[]byte("g"), []byte("2")})
			before = h.MemoryUsage()
			h.Delete([]byte("f"))
			db.Removed(k, h, before, [][]byte{[]byte("f")})
			before = h.MemoryUsage()
			h.Delete([]byte("g"))
			db.Removed(k, h, before, [][]byte{[]byte("g")})
		}, []string{
			`elems hash k@0 fresh=true ["f" "1"]`,
			`elems hash k@5000 fresh=false ["g" "2"]`,
			`remove hash k ["f"]`,
			"del k",
		}},
		{"a whole object is logged in parts", func(db *DB) {
			s := object.NewSet()
			for i := range 5 {
				s.Add(fmt.Appendf(nil, "%d", i))
			}
			db.SetObject(k, s, 3000)
		}, []string{`elems set k@3000 fresh=true ["0" "1" "2" "3" "4"]`}},
		{"an empty object deletes the key", func(db *DB) {
			db.Set(k, []byte("v"), 0)
			db.SetObject(k, object.NewSet(), 0)
		}, []string{"set k=v@0", "del k"}},
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

// TestLogObjectParts checks that a large collection is logged in several
// records, the first one fresh, holding every element once.
func TestLogObjectParts(t *testing.T) {
	h := object.NewHash()
	for i := range 1000 {
		h.Set(fmt.Appendf(nil, "field:%d", i), fmt.Appendf(nil, "value:%d", i))
	}
	l := &partLog{}
	LogObject(l, []byte("k"), h, 77, 1000)
	if len(l.fresh) < 10 {
		t.Fatalf("got %d records, want at least 10 for parts of 1000 bytes", len(l.fresh))
	}
	for i, f := range l.fresh {
		if f != (i == 0) {
			t.Fatalf("record %d: fresh %v, want %v", i, f, i == 0)
		}
	}
	if len(l.elems) != 2000 {
		t.Fatalf("got %d elements, want 2000", len(l.elems))
	}
	for i := range 1000 {
		if got, want := string(l.elems[2*i]), fmt.Sprintf("field:%d", i); got != want {
			t.Fatalf("element %d: got %q, want %q", i, got, want)
		}
	}
}

type partLog struct {
	recLog
	fresh []bool
	elems [][]byte
}

func (l *partLog) Elements(_ storage.Kind, _ []byte, at int64, fresh bool, elems [][]byte) {
	l.fresh = append(l.fresh, fresh)
	for _, e := range elems {
		l.elems = append(l.elems, slices.Clone(e))
	}
}
