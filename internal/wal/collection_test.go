package wal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

func TestElementRecordRoundTrip(t *testing.T) {
	b := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i, x := range s {
			out[i] = []byte(x)
		}
		return out
	}
	tests := []struct {
		name string
		b    []byte
		want Record
	}{
		{"hash fields", appendElems(nil, storage.KindHash, []byte("h"), 7, true, b("f", "v", "g", "")),
			Record{Op: OpElems, Key: []byte("h"), ExpireAt: 7, ValueKind: storage.KindHash, Fresh: true, Elems: b("f", "v", "g", "")}},
		{"set members", appendElems(nil, storage.KindSet, []byte("s"), 0, false, b("1", "a")),
			Record{Op: OpElems, Key: []byte("s"), ValueKind: storage.KindSet, Elems: b("1", "a")}},
		{"no elements", appendElems(nil, storage.KindSet, []byte("s"), 0, true, nil),
			Record{Op: OpElems, Key: []byte("s"), ValueKind: storage.KindSet, Fresh: true, Elems: [][]byte{}}},
		{"remove fields", appendRemove(nil, storage.KindHash, []byte("h"), b("f", "g")),
			Record{Op: OpRemove, Key: []byte("h"), ValueKind: storage.KindHash, Elems: b("f", "g")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Record
			if err := decode(tt.b[headerSize:], &got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// Payloads that must not decode.
	for _, p := range [][]byte{
		{byte(OpElems)},
		{byte(OpElems), 9, 0, 1, 'k', 0, 0},                     // unknown kind
		{byte(OpElems), byte(storage.KindSet), 2, 1, 'k', 0, 0}, // unknown flag
		{byte(OpElems), byte(storage.KindSet), 0, 1, 'k', 0, 200, 1, 1, 'a'},
		{byte(OpRemove), byte(storage.KindHash), 1, 'k', 2, 1, 'a'},
		{byte(OpElems), byte(storage.KindHash), 0, 1, 'k', 0, 1, 1, 'f'}, // a field without its value
	} {
		var rec Record
		if err := decode(p, &rec); err == nil {
			t.Errorf("decode(%v): got %+v, want an error", p, rec)
		}
	}
}

// FuzzDecodeRecord feeds arbitrary payloads to decode: it must never
// panic, and a record it accepts must encode back to the same payload.
func FuzzDecodeRecord(f *testing.F) {
	for _, b := range [][]byte{
		appendElems(nil, storage.KindHash, []byte("h"), 7, true, [][]byte{[]byte("f"), []byte("v")}),
		appendElems(nil, storage.KindSet, []byte("s"), 0, false, [][]byte{[]byte("1")}),
		appendRemove(nil, storage.KindSet, []byte("s"), [][]byte{[]byte("1"), []byte("2")}),
		appendElems(nil, storage.KindZSet, []byte("z"), 0, true, [][]byte{[]byte("m"), object.ZScoreBytes(-1.5)}),
		appendSet(nil, []byte("k"), []byte("v"), 3),
		appendList(nil, []byte("l"), 5, 1, true, object.ListOp{Code: object.ListPush, Left: true, Elems: [][]byte{[]byte("a"), []byte("b")}}),
		appendList(nil, []byte("l"), 0, 9, false, object.ListOp{Code: object.ListRem, N: -2, Elems: [][]byte{[]byte("a")}}),
	} {
		f.Add(b[headerSize:])
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var rec Record
		if decode(p, &rec) != nil {
			return
		}
		var again []byte
		switch rec.Op {
		case OpElems:
			again = appendElems(nil, rec.ValueKind, rec.Key, rec.ExpireAt, rec.Fresh, rec.Elems)
		case OpRemove:
			again = appendRemove(nil, rec.ValueKind, rec.Key, rec.Elems)
		case OpList:
			again = appendList(nil, rec.Key, rec.ExpireAt, rec.Version, rec.Fresh, rec.List)
		default:
			return
		}
		var rec2 Record
		if err := decode(again[headerSize:], &rec2); err != nil || fmt.Sprintf("%+v", rec2) != fmt.Sprintf("%+v", rec) {
			t.Fatalf("re-encoded %+v decodes as %+v, %v", rec, rec2, err)
		}
	})
}

// cmd runs a Redis command on the shard that owns its key, as a shard runs
// a batch, and commits; it returns the reply.
func (n *node) cmd(args ...string) string {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	i := n.r.Lookup(argv[1])
	n.mu[i].Lock()
	defer n.mu[i].Unlock()
	var w resp.Writer
	var c command.Ctx
	c.W = &w
	c.Single(n.dbs[i], i, n.r)
	n.dbs[i].SetNow(time.Now().UnixMilli())
	command.Redis.Lookup(argv[0]).Run(&c, argv)
	n.dbs[i].Commit()
	return string(w.Bytes())
}

// state returns every key of the node as text: a string's value, or a
// collection's kind and elements (sorted, but for a list's), and the
// expiry.
func (n *node) state() map[string]string {
	m := map[string]string{}
	for _, e := range n.es {
		for c := uint64(0); ; {
			c = e.Scan(c, func(k, v []byte, obj storage.Object, at int64) bool {
				if obj == nil {
					m[string(k)] = fmt.Sprintf("string %q @%d", v, at)
					return true
				}
				var elems []string
				object.Elements(obj, func(e, v []byte) bool {
					elems = append(elems, string(e)+"="+string(v))
					return true
				})
				if obj.Kind() != storage.KindList {
					slices.Sort(elems)
				}
				m[string(k)] = fmt.Sprintf("%s %q @%d", obj.Kind(), elems, at)
				return true
			})
			if c == 0 {
				break
			}
		}
	}
	return m
}

// collectionWorkload runs random hash, set, sorted set, list, string and
// keyspace commands.
func collectionWorkload(n *node, r *rand.Rand, ops int) {
	far := time.Now().Add(time.Hour).Unix()
	for range ops {
		k := fmt.Sprint("key", r.IntN(30))
		f := fmt.Sprint("f", r.IntN(20))
		v := strings.Repeat("v", r.IntN(80))
		switch r.IntN(34) {
		case 0, 1, 2:
			n.cmd("hset", k, f, v, f+"x", fmt.Sprint(r.IntN(100)))
		case 3:
			n.cmd("hdel", k, f, f+"x")
		case 4:
			n.cmd("hincrby", k, f+"n", fmt.Sprint(r.IntN(10)))
		case 5, 6:
			n.cmd("sadd", k, fmt.Sprint(r.IntN(40)), f)
		case 7:
			n.cmd("srem", k, fmt.Sprint(r.IntN(40)), f)
		case 8:
			n.cmd("spop", k, fmt.Sprint(r.IntN(3)))
		case 9:
			n.cmd("set", k, v)
		case 10:
			n.cmd("expireat", k, fmt.Sprint(far+int64(r.IntN(100))))
		case 11:
			n.cmd("persist", k)
		case 12:
			n.cmd("del", k)
		case 13:
			other := fmt.Sprint("key", r.IntN(30))
			if n.r.Lookup([]byte(other)) == n.r.Lookup([]byte(k)) {
				n.cmd("sunionstore", k, k, other)
			}
		case 14, 15, 16:
			n.cmd("zadd", k, fmt.Sprint(r.IntN(10)), f, fmt.Sprint(r.Float64()), f+"x")
		case 17:
			n.cmd("zincrby", k, "1.5", f)
		case 18:
			n.cmd("zrem", k, f, f+"x")
		case 19:
			n.cmd("zpopmin", k, fmt.Sprint(r.IntN(3)))
		case 20:
			n.cmd("zremrangebyscore", k, "3", "(5")
		case 21:
			other := fmt.Sprint("key", r.IntN(30))
			if n.r.Lookup([]byte(other)) == n.r.Lookup([]byte(k)) {
				n.cmd("zunionstore", k, "2", k, other, "weights", "2", "1")
			}
		case 22, 23:
			n.cmd("rpush", k, f, v)
		case 24:
			n.cmd("lpush", k, f+"l")
		case 25:
			n.cmd("lpop", k, fmt.Sprint(r.IntN(3)))
		case 26:
			n.cmd("lrem", k, fmt.Sprint(r.IntN(3)-1), f)
		case 27:
			n.cmd("linsert", k, "after", f, v+"i")
		case 28:
			n.cmd("ltrim", k, "1", fmt.Sprint(r.IntN(12)))
		case 30, 31:
			// Mostly within the string: a range record.
			n.cmd("setrange", k, fmt.Sprint(r.IntN(60)), fmt.Sprint("r", r.IntN(100)))
		case 32:
			n.cmd("setbit", k, fmt.Sprint(r.IntN(500)), fmt.Sprint(r.IntN(2)))
		case 33:
			n.cmd("append", k, f)
		default:
			other := fmt.Sprint("key", r.IntN(30))
			if n.r.Lookup([]byte(other)) == n.r.Lookup([]byte(k)) {
				n.cmd("lmove", k, other, "right", "left")
			}
		}
	}
}

// TestCollectionsReplay checks that hashes, sets, sorted sets and lists come back exactly
// after a clean close, a crash, a snapshot taken while they change, and a
// change of topology.
func TestCollectionsReplay(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 5))
	old := object.CurrentLimits()
	// Small limits, so that collections change encoding and snapshots
	// write them in several records.
	object.SetLimits(object.Limits{HashMaxListpackEntries: 6, HashMaxListpackValue: 40, SetMaxIntsetEntries: 8, SetMaxListpackEntries: 6, SetMaxListpackValue: 10, ZSetMaxListpackEntries: 5, ZSetMaxListpackValue: 10, ListMaxListpackSize: 3})
	t.Cleanup(func() { object.SetLimits(old) })

	dir := t.TempDir()
	n := mustOpen(t, dir, 3, 16, nil)
	collectionWorkload(n, r, 2000)
	// One key of each kind the workload may have overwritten by the end,
	// in both encodings where the limits allow.
	n.cmd("hset", "fixed:hash", "f", "v")
	n.cmd("sadd", "fixed:set", "a", "b", "c", "d", "e", "f", "g")
	n.cmd("zadd", "fixed:zset", "1", "a", "2", "b")
	n.cmd("rpush", "fixed:list", "a", "b", "c", "d", "e")
	want := n.state()
	kinds := map[string]int{}
	for _, v := range want {
		kinds[strings.Fields(v)[0]]++
	}
	if kinds["hash"]+kinds["set"] == 0 || kinds["zset"] == 0 || kinds["list"] == 0 || kinds["string"] == 0 {
		t.Fatalf("seed %d: the workload left keys of kinds %v, want collections of every kind", seed, kinds)
	}
	n.close()
	n = mustOpen(t, dir, 3, 16, nil)
	if got := n.state(); !mapsEqual(t, got, want) {
		t.Fatalf("seed %d: after reopening", seed)
	}

	collectionWorkload(n, r, 1000)
	want = n.state()
	n.crash()
	n = mustOpen(t, dir, 3, 16, nil)
	if got := n.state(); !mapsEqual(t, got, want) {
		t.Fatalf("seed %d: after a crash", seed)
	}

	// A snapshot while the workload runs: fuzzy, then exact with the log.
	done := make(chan error, 1)
	go func() { done <- n.st.Save(context.Background(), true, false) }()
	collectionWorkload(n, r, 1500)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	collectionWorkload(n, r, 300)
	want = n.state()
	n.crash()
	n = mustOpen(t, dir, 3, 16, nil)
	if got := n.state(); !mapsEqual(t, got, want) {
		t.Fatalf("seed %d: after a snapshot during writes and a crash", seed)
	}
	n.close()

	n = mustOpen(t, dir, 2, 8, nil)
	defer n.close()
	if got := n.state(); !mapsEqual(t, got, want) {
		t.Fatalf("seed %d: after a change of topology", seed)
	}
}

func mapsEqual(t *testing.T, got, want map[string]string) bool {
	t.Helper()
	ok := true
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("key %q: got %s, want %s", k, g, w)
			ok = false
		}
	}
	for k, g := range got {
		if _, in := want[k]; !in {
			t.Errorf("key %q: got %s, want absent", k, g)
			ok = false
		}
	}
	return ok
}

// TestBigCollectionInParts checks that a snapshot writes a large hash as
// several records and loads it back whole, and that one HSET on it logs
// one small record.
func TestBigCollectionInParts(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	args := []string{"hset", "big"}
	for i := range 20000 {
		args = append(args, fmt.Sprint("field:", i), fmt.Sprint("value:", i))
	}
	n.cmd(args...)
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	var records int
	sf, err := listShard(shardDir(dir, 1, 0))
	if err != nil || len(sf.snaps) != 1 {
		t.Fatalf("snapshots %v, %v", sf.snaps, err)
	}
	if _, err := readFile(sf.path(sf.snaps[0], snapExt), kindSnapshot, 0, sf.snaps[0], false, func(rec *Record) {
		if rec.Op != OpElems || string(rec.Key) != "big" || rec.Fresh != (records == 0) {
			t.Errorf("record %d: %v %q fresh %v", records, rec.Op, rec.Key, rec.Fresh)
		}
		records++
	}); err != nil {
		t.Fatal(err)
	}
	if records < 3 {
		t.Fatalf("the hash took %d snapshot records, want several", records)
	}
	before := n.st.j.written.Load()
	n.cmd("hset", "big", "field:7", "changed")
	if grew := n.st.j.written.Load() - before; grew > 100 || grew == 0 {
		t.Fatalf("one HSET grew the log by %d bytes, want one small record", grew)
	}
	n.crash()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	if got := n.cmd("hlen", "big"); got != ":20000\r\n" {
		t.Fatalf("HLEN after reload: got %q", got)
	}
	if got := n.cmd("hget", "big", "field:7"); got != "$7\r\nchanged\r\n" {
		t.Fatalf("HGET after reload: got %q", got)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestPersistAfterExpiry checks that a key whose first expiry has passed
// by the time of the restart, but which lost its expiry later in the log,
// is loaded: records are replayed as they are and expired keys are pruned
// only at the end.
func TestPersistAfterExpiry(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	past := time.Now().Add(-time.Hour).UnixMilli()
	n.do("k", func(db *keyspace.DB, k []byte) {
		db.SetNow(past)
		db.Set(k, []byte("v"), past+1000)
		db.SetExpire(k, storage.NoExpiry)
		h := object.NewHash()
		h.Set([]byte("f"), []byte("1"))
		db.Added([]byte("h"), h, past+1000, true, 0, [][]byte{[]byte("f"), []byte("1")})
		db.SetExpire([]byte("h"), storage.NoExpiry)
		s := object.NewSet()
		s.Add([]byte("m"))
		db.Added([]byte("gone"), s, past+1000, true, 0, [][]byte{[]byte("m")})
	})
	n.crash()
	n = mustOpen(t, dir, 1, 8, nil)
	defer n.close()
	got := n.state()
	want := map[string]string{"k": `string "v" @0`, "h": `hash ["f=1"] @0`}
	if !mapsEqual(t, got, want) {
		t.Fatal("after reload")
	}
	if n.st.Loaded().Expired != 1 {
		t.Errorf("Loaded().Expired: got %d, want 1", n.st.Loaded().Expired)
	}
}
