package wal

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

func TestZSetRecords(t *testing.T) {
	score := object.ZScoreBytes(2.5)
	b := appendElems(nil, storage.KindZSet, []byte("z"), 0, true, [][]byte{[]byte("m"), score})
	var got Record
	if err := decode(b[headerSize:], &got); err != nil {
		t.Fatal(err)
	}
	if got.ValueKind != storage.KindZSet || len(got.Elems) != 2 || string(got.Elems[0]) != "m" || string(got.Elems[1]) != string(score) {
		t.Fatalf("got %+v", got)
	}
	// A score that is not 8 bytes, or is NaN, does not decode.
	for _, bad := range [][]byte{[]byte("2.5"), object.ZScoreBytes(math.NaN())} {
		b := appendElems(nil, storage.KindZSet, []byte("z"), 0, true, [][]byte{[]byte("m"), bad})
		if err := decode(b[headerSize:], &got); err == nil {
			t.Errorf("score %q: got %+v, want an error", bad, got)
		}
	}
	b = appendRemove(nil, storage.KindZSet, []byte("z"), [][]byte{[]byte("m")})
	if err := decode(b[headerSize:], &got); err != nil || got.Op != OpRemove || len(got.Elems) != 1 {
		t.Fatalf("remove record: got %+v, %v", got, err)
	}
}

// captureLog is a keyspace.Log that keeps every record in one buffer.
type captureLog struct{ b []byte }

func (l *captureLog) Set(key, value []byte, at int64) { l.b = appendSet(l.b, key, value, at) }
func (l *captureLog) Delete(key []byte)               { l.b = appendDelete(l.b, key) }
func (l *captureLog) Range(key []byte, off int64, data []byte) {
	l.b = appendRange(l.b, key, uint64(off), data)
}
func (l *captureLog) Expire(key []byte, at int64) { l.b = appendExpire(l.b, key, at) }
func (l *captureLog) Flush()                      { l.b = appendFlush(l.b) }
func (l *captureLog) Commit()                     {}
func (l *captureLog) Elements(kind storage.Kind, key []byte, at int64, fresh bool, elems [][]byte) {
	l.b = appendElems(l.b, kind, key, at, fresh, elems)
}
func (l *captureLog) RemoveElements(kind storage.Kind, key []byte, elems [][]byte) {
	l.b = appendRemove(l.b, kind, key, elems)
}

func (l *captureLog) List(key []byte, at int64, version uint64, fresh bool, op object.ListOp) {
	l.b = appendList(l.b, key, at, version, fresh, op)
}

func (l *captureLog) Stream(key []byte, at int64, version uint64, fresh, part bool, ops []byte) {
	l.b = appendStream(l.b, key, at, version, fresh, part, ops)
}

// records splits a buffer of records into their payloads.
func records(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		n := int(binary.LittleEndian.Uint32(b))
		out = append(out, b[headerSize:headerSize+n])
		b = b[headerSize+n:]
	}
	return out
}

// engineState returns every key of e as text, a sorted set's members in
// their order with their scores.
func engineState(e storage.Engine) string {
	var sb strings.Builder
	for c := uint64(0); ; {
		c = e.Scan(c, func(k, v []byte, obj storage.Object, at int64) bool {
			fmt.Fprintf(&sb, "%q @%d:", k, at)
			if z, ok := obj.(*object.ZSet); ok {
				z.Range(func(m []byte, s float64) bool {
					fmt.Fprintf(&sb, " %q=%v", m, s)
					return true
				})
			} else {
				fmt.Fprintf(&sb, " %q", v)
			}
			sb.WriteString("\n")
			return true
		})
		if c == 0 {
			return sb.String()
		}
	}
}

// TestZSetReplayTwice runs random sorted set commands with a log, then
// replays the log applying every record twice in a row: since a record
// holds the scores its command left (ZINCRBY and ZADD INCR included, never
// the increment) and the members it removed, a record applied on top of a
// state that already includes it changes nothing, and the replay ends in
// the keyspace's state.
func TestZSetReplayTwice(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 9))
	for _, entries := range []int64{128, 3} {
		old := object.CurrentLimits()
		l := old
		l.ZSetMaxListpackEntries = entries
		object.SetLimits(l)
		rg, err := ring.New(1, 8)
		if err != nil {
			t.Fatal(err)
		}
		e := memory.New()
		db := keyspace.New(e)
		log := &captureLog{}
		db.SetLog(log)
		var w resp.Writer
		c := command.Ctx{W: &w}
		c.Single(db, 0, rg)
		run := func(args ...string) {
			argv := make([][]byte, len(args))
			for i, a := range args {
				argv[i] = []byte(a)
			}
			command.Redis.Lookup(argv[0]).Run(&c, argv)
		}
		for range 600 {
			k := fmt.Sprint("z", r.IntN(4))
			m := fmt.Sprint("m", r.IntN(12))
			switch r.IntN(9) {
			case 0, 1:
				run("zadd", k, fmt.Sprint(r.IntN(10)), m)
			case 2:
				run("zadd", k, "incr", "0.5", m)
			case 3:
				run("zincrby", k, "-2", m)
			case 4:
				run("zrem", k, m)
			case 5:
				run("zpopmax", k, "2")
			case 6:
				run("zremrangebyrank", k, "0", "1")
			case 7:
				run("zadd", k, "gt", "ch", fmt.Sprint(r.IntN(10)), m, "3", m+"x")
			default:
				run("zrangestore", k, fmt.Sprint("z", r.IntN(4)), "0", "2")
			}
		}
		want := engineState(e)
		if recs := records(t, log.b); len(recs) < 300 {
			t.Fatalf("seed %d: %d records, want most commands logged", seed, len(recs))
		}
		replayed := memory.New()
		ld := loader{route: func([]byte) storage.Engine { return replayed }, flush: replayed.Clear}
		for i, p := range records(t, log.b) {
			var rec Record
			if err := decode(p, &rec); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			ld.apply(&rec)
			once := engineState(replayed)
			if err := decode(p, &rec); err != nil {
				t.Fatal(err)
			}
			ld.apply(&rec)
			if twice := engineState(replayed); twice != once {
				t.Fatalf("seed %d limit %d: record %d (%v %q) applied twice:\n%s\nonce:\n%s", seed, entries, i, rec.Op, rec.Key, twice, once)
			}
		}
		if got := engineState(replayed); got != want {
			t.Fatalf("seed %d limit %d: replayed:\n%s\nwant:\n%s", seed, entries, got, want)
		}
		object.SetLimits(old)
	}
}

// TestBigZSetInParts checks that a snapshot writes a large sorted set as
// several records and loads it back whole, and that one ZADD or ZINCRBY
// on it logs one small record.
func TestBigZSetInParts(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	args := []string{"zadd", "big"}
	for i := range 20000 {
		args = append(args, fmt.Sprint(i%1000), fmt.Sprint("member:", i))
	}
	n.cmd(args...)
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	sf, err := listShard(shardDir(dir, 1, 0))
	if err != nil || len(sf.snaps) != 1 {
		t.Fatalf("snapshots %v, %v", sf.snaps, err)
	}
	records := 0
	if _, err := readFile(sf.path(sf.snaps[0], snapExt), kindSnapshot, 0, sf.snaps[0], false, func(rec *Record) {
		if rec.Op != OpElems || rec.ValueKind != storage.KindZSet || rec.Fresh != (records == 0) {
			t.Errorf("record %d: %v kind %v fresh %v", records, rec.Op, rec.ValueKind, rec.Fresh)
		}
		records++
	}); err != nil {
		t.Fatal(err)
	}
	if records < 3 {
		t.Fatalf("the sorted set took %d snapshot records, want several", records)
	}
	for _, cmd := range [][]string{{"zadd", "big", "1.5", "member:7"}, {"zincrby", "big", "1", "member:7"}} {
		before := n.st.j.written.Load()
		n.cmd(cmd...)
		if grew := n.st.j.written.Load() - before; grew > 100 || grew == 0 {
			t.Fatalf("%q grew the log by %d bytes, want one small record", cmd, grew)
		}
	}
	n.crash()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	if got := n.cmd("zcard", "big"); got != ":20000\r\n" {
		t.Fatalf("ZCARD after reload: got %q", got)
	}
	if got := n.cmd("zscore", "big", "member:7"); got != "$3\r\n2.5\r\n" {
		t.Fatalf("ZSCORE after reload: got %q", got)
	}
	// Score 0: member:0, member:1000 … member:19000; then, among score
	// 1, member:1 and member:10001.
	if got := n.cmd("zrank", "big", "member:1001"); got != ":22\r\n" {
		t.Fatalf("ZRANK after reload: got %q", got)
	}
	if got := n.cmd("object", "encoding", "big"); got != "$8\r\nskiplist\r\n" {
		t.Fatalf("OBJECT ENCODING after reload: got %q", got)
	}
}
