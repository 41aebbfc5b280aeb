package wal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
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

func TestListRecords(t *testing.T) {
	b := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		at      int64
		version uint64
		fresh   bool
		op      object.ListOp
	}{
		{"fresh push", 99, 1, true, object.ListOp{Code: object.ListPush, Left: true, Elems: b("a", "")}},
		{"push", 0, 7, false, object.ListOp{Code: object.ListPush, Elems: b("x")}},
		{"pop", 0, 1 << 40, false, object.ListOp{Code: object.ListPop, Left: true, N: 3}},
		{"set", 0, 2, false, object.ListOp{Code: object.ListSet, N: 5, Elems: b("v")}},
		{"insert", 0, 2, false, object.ListOp{Code: object.ListInsert, N: 0, Elems: b("v")}},
		{"rem", 0, 2, false, object.ListOp{Code: object.ListRem, N: -2, Elems: b("v")}},
		{"trim", 0, 2, false, object.ListOp{Code: object.ListTrim, N: 1, M: 9}},
		{"part", 0, 2, false, object.ListOp{Code: object.ListPart, N: 100, Elems: b("p", "q")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := appendList(nil, []byte("k"), tc.at, tc.version, tc.fresh, tc.op)
			var got Record
			if err := decode(p[headerSize:], &got); err != nil {
				t.Fatal(err)
			}
			want := Record{Op: OpList, Key: []byte("k"), ExpireAt: tc.at, ValueKind: storage.KindList, Fresh: tc.fresh,
				Elems: tc.op.Elems, Version: tc.version, List: tc.op}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	// A push is one small record: the key, the element and 5 bytes.
	if p := appendList(nil, []byte("queue"), 0, 1000, false, object.ListOp{Code: object.ListPush, Elems: b("job:1")}); len(p)-headerSize > 1+1+6+2+1+1+6 {
		t.Errorf("a push of one element: %d bytes of payload", len(p)-headerSize)
	}
	for _, p := range [][]byte{
		{byte(OpList)},
		{byte(OpList), 4, 1, 'k', 1, 1, 1, 1, 'a'},                     // unknown flag
		{byte(OpList), 0, 1, 'k', 1, 99},                               // unknown change
		{byte(OpList), 0, 1, 'k', 1, byte(object.ListPush), 0},         // a push of nothing
		{byte(OpList), 1, 1, 'k', 0, 1, byte(object.ListPop), 1},       // a fresh pop
		{byte(OpList), 0, 1, 'k', 1, byte(object.ListPush), 2, 1, 'a'}, // fewer elements than counted
		{byte(OpList), 0, 1, 'k', 1, byte(object.ListPop), 1, 0},       // trailing bytes
		{byte(OpList), 0, 1, 'k', 1, byte(object.ListSet), 255, 255, 255, 255, 255, 255, 255, 255, 255, 1, 1, 'a'},
	} {
		var rec Record
		if err := decode(p, &rec); err == nil {
			t.Errorf("decode(%v): got %+v, want an error", p, rec)
		}
	}
}

// listState returns every key of e as text, a list's elements in order
// with its version.
func listState(e storage.Engine) map[string]string {
	m := map[string]string{}
	for c := uint64(0); ; {
		c = e.Scan(c, func(k, v []byte, obj storage.Object, at int64) bool {
			var sb strings.Builder
			fmt.Fprintf(&sb, "@%d", at)
			if l, ok := obj.(*object.List); ok {
				fmt.Fprintf(&sb, " v%d", l.Version())
				l.Ascend(0, func(_ int, e []byte) bool {
					fmt.Fprintf(&sb, " %q", e)
					return true
				})
			} else {
				fmt.Fprintf(&sb, " string %q", v)
			}
			m[string(k)] = sb.String()
			return true
		})
		if c == 0 {
			return m
		}
	}
}

// listHistory runs random list commands, and a few that replace or delete
// whole keys, on four keys of one shard with a log, and returns the
// records with, for each command, the number of records logged before it
// and every key's list (elements and version) and expiry after it.
func listHistory(t *testing.T, r *rand.Rand, ops int) (recs [][]byte, before []int, states []map[string]*listSnap) {
	t.Helper()
	rg, err := ring.New(1, 8)
	if err != nil {
		t.Fatal(err)
	}
	e := memory.New()
	db := keyspace.New(e)
	log := &captureLog{}
	db.SetLog(log)
	db.SetNow(time.Now().UnixMilli())
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
	far := fmt.Sprint(time.Now().Add(time.Hour).Unix())
	for range ops {
		before = append(before, len(records(t, log.b)))
		k := fmt.Sprint("l", r.IntN(4))
		other := fmt.Sprint("l", r.IntN(4))
		el := fmt.Sprint("e", r.IntN(6))
		switch r.IntN(16) {
		case 0, 1, 2:
			run("rpush", k, el, el+"r")
		case 3, 4:
			run("lpush", k, el)
		case 5, 6:
			run("lpop", k, fmt.Sprint(r.IntN(3)))
		case 7:
			run("rpop", k)
		case 8:
			run("lset", k, fmt.Sprint(r.IntN(6)-3), el+"s")
		case 9:
			run("linsert", k, "before", el, el+"i")
		case 10:
			run("lrem", k, fmt.Sprint(r.IntN(5)-2), el)
		case 11:
			run("ltrim", k, fmt.Sprint(r.IntN(4)-1), fmt.Sprint(r.IntN(8)-2))
		case 12:
			run("lmove", k, other, "left", "right")
		case 13:
			switch r.IntN(4) {
			case 0:
				run("del", k)
			case 1:
				run("rename", k, other)
			case 2:
				run("set", k, "string")
			default:
				run("copy", k, other, "replace")
			}
		case 14:
			run("expireat", k, far)
		default:
			run("persist", k)
		}
		states = append(states, snapOf(e))
	}
	return records(t, log.b), before, states
}

// listSnap is a key's state at one point of a history: a list's elements
// and version, or a string.
type listSnap struct {
	str     []byte
	elems   [][]byte
	version uint64
	at      int64
}

func snapOf(e storage.Engine) map[string]*listSnap {
	m := map[string]*listSnap{}
	for c := uint64(0); ; {
		c = e.Scan(c, func(k, v []byte, obj storage.Object, at int64) bool {
			s := &listSnap{at: at}
			if l, ok := obj.(*object.List); ok {
				s.version = l.Version()
				l.Ascend(0, func(_ int, e []byte) bool {
					s.elems = append(s.elems, append([]byte(nil), e...))
					return true
				})
			} else {
				s.str = append([]byte{}, v...)
			}
			m[string(k)] = s
			return true
		})
		if c == 0 {
			return m
		}
	}
}

// put stores s under key in e.
func (s *listSnap) put(e storage.Engine, key string) {
	if s.str != nil {
		e.Set([]byte(key), s.str, s.at)
		return
	}
	l := object.NewList()
	l.Push(false, s.elems...)
	l.SetVersion(s.version)
	e.SetObject([]byte(key), l, s.at)
}

// replay applies recs to e, each twice in a row when twice.
func replay(t *testing.T, e storage.Engine, recs [][]byte, twice bool) {
	t.Helper()
	ld := loader{route: func([]byte) storage.Engine { return e }, flush: e.Clear}
	for i, p := range recs {
		for range 1 + btoi(twice) {
			var rec Record
			if err := decode(p, &rec); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			ld.apply(&rec)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestListReplayExact checks what makes list records safe to replay
// although pushes and pops are not idempotent. A random history of list
// commands (and of RENAME, COPY, DEL and SET over the lists) replays to
// the keyspace's state with every record applied twice in a row; and,
// as recovery meets it, a log replayed from any point on top of a fuzzy
// snapshot, each key taken at its own later point, ends in the same
// state. LIST_SEED=<seed> repeats a run.
func TestListReplayExact(t *testing.T) {
	for _, fill := range []int64{-2, 2} {
		t.Run(fmt.Sprint(fill), func(t *testing.T) {
			old := object.CurrentLimits()
			l := old
			l.ListMaxListpackSize = fill
			object.SetLimits(l)
			t.Cleanup(func() { object.SetLimits(old) })
			seed := uint64(time.Now().UnixNano())
			if v := os.Getenv("LIST_SEED"); v != "" {
				seed, _ = strconv.ParseUint(v, 10, 64)
			}
			r := rand.New(rand.NewPCG(seed, 21))
			recs, before, states := listHistory(t, r, 1000)
			if len(recs) < 200 {
				t.Fatalf("seed %d: %d records, want most commands logged", seed, len(recs))
			}
			final := states[len(states)-1]
			want := memory.New()
			for k, s := range final {
				s.put(want, k)
			}
			wantState := listState(want)

			twice := memory.New()
			replay(t, twice, recs, true)
			if got := listState(twice); !mapsEqual(t, got, wantState) {
				t.Fatalf("seed %d: every record applied twice", seed)
			}
			for trial := range 200 {
				start := r.IntN(len(states))
				snap := memory.New()
				for _, k := range []string{"l0", "l1", "l2", "l3"} {
					if s := states[start+r.IntN(len(states)-start)][k]; s != nil {
						s.put(snap, k)
					}
				}
				replay(t, snap, recs[before[start]:], false)
				if got := listState(snap); !mapsEqual(t, got, wantState) {
					t.Fatalf("seed %d trial %d: the log from command %d (record %d) on a fuzzy snapshot", seed, trial, start, before[start])
				}
			}
		})
	}
}

// TestBigListInParts checks that a snapshot writes a large list as a fresh
// record and parts, and loads it back whole and in order; that one push
// or pop on it logs one small record; and that it comes back after a
// crash.
func TestBigListInParts(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	args := []string{"rpush", "big"}
	for i := range 30000 {
		args = append(args, fmt.Sprintf("element:%08d", i))
	}
	n.cmd(args...)
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	sf, err := listShard(shardDir(dir, 1, 0))
	if err != nil || len(sf.snaps) != 1 {
		t.Fatalf("snapshots %v, %v", sf.snaps, err)
	}
	records, elems := 0, 0
	if _, err := readFile(sf.path(sf.snaps[0], snapExt), kindSnapshot, 0, sf.snaps[0], false, func(rec *Record) {
		code := object.ListPart
		if records == 0 {
			code = object.ListPush
		}
		if rec.Op != OpList || rec.Fresh != (records == 0) || rec.List.Code != code || rec.List.Code == object.ListPart && rec.List.N != int64(elems) {
			t.Errorf("record %d: %v fresh %v %+v", records, rec.Op, rec.Fresh, rec.List)
		}
		records++
		elems += len(rec.Elems)
	}); err != nil {
		t.Fatal(err)
	}
	if records < 3 || elems != 30000 {
		t.Fatalf("the list took %d snapshot records of %d elements, want several of 30000", records, elems)
	}
	for _, cmd := range [][]string{{"lpush", "big", "first"}, {"rpop", "big"}, {"lset", "big", "1", "second"}, {"linsert", "big", "after", "second", "third"}} {
		before := n.st.j.written.Load()
		n.cmd(cmd...)
		// The first record in the snapshot's new segment follows a shard
		// record.
		if grew := n.st.j.written.Load() - before; grew > 40+int64(len(appendShard(nil, 0))) || grew == 0 {
			t.Fatalf("%q grew the log by %d bytes, want one small record", cmd, grew)
		}
	}
	n.crash()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"llen", "big"}, ":30001\r\n"},
		{[]string{"lrange", "big", "0", "3"}, "*4\r\n$5\r\nfirst\r\n$6\r\nsecond\r\n$5\r\nthird\r\n$16\r\nelement:00000001\r\n"},
		{[]string{"lindex", "big", "-1"}, "$16\r\nelement:00029998\r\n"},
		{[]string{"lindex", "big", "15000"}, "$16\r\nelement:00014998\r\n"},
		{[]string{"object", "encoding", "big"}, "$9\r\nquicklist\r\n"},
	} {
		if got := n.cmd(c.args...); got != c.want {
			t.Errorf("%q after reload: got %q, want %q", c.args, got, c.want)
		}
	}
}
