package cluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/raftlog"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// A snapshot's data restores exactly the keys, values and expiries it was
// taken from, expired keys not yet removed through the log included.
func TestSnapshotRoundTrip(t *testing.T) {
	src := keyspace.New(newEngine())
	src.SetReplica(true)
	src.SetNow(1000)
	for i := range 1000 {
		at := storage.NoExpiry
		if i%3 == 0 {
			at = int64(500 + i) // some already expired at now=1000
		}
		src.Set([]byte(fmt.Sprintf("k%d", i)), []byte(fmt.Sprintf("v%d", i)), at)
	}
	data := encodeKeyspace(src.Engine(), nil)
	g := &Group{db: keyspace.New(newEngine())}
	g.db.SetReplica(true)
	g.db.Set([]byte("stale"), []byte("x"), storage.NoExpiry)
	if err := g.restore(data); err != nil {
		t.Fatal(err)
	}
	if got, want := g.db.Len(), src.Len(); got != want {
		t.Fatalf("restored %d keys, want %d", got, want)
	}
	if _, _, ok := g.db.Engine().Lookup([]byte("stale")); ok {
		t.Fatal("a key from before the snapshot survived its installation")
	}
	for i := range 1000 {
		k := []byte(fmt.Sprintf("k%d", i))
		v1, at1, ok1 := src.Engine().Lookup(k)
		v2, at2, ok2 := g.db.Engine().Lookup(k)
		if ok1 != ok2 || string(v1) != string(v2) || at1 != at2 {
			t.Fatalf("%s: got %q %d %v, want %q %d %v", k, v2, at2, ok2, v1, at1, ok1)
		}
	}
	if err := g.restore([]byte{9}); err == nil {
		t.Fatal("an unknown snapshot version was accepted")
	}
	if err := g.restore(data[:len(data)/2]); err == nil {
		t.Fatal("a truncated snapshot was accepted")
	}
}

// BenchmarkSnapshotHold measures how long taking a snapshot holds its
// group, per key: the engine's copy of its entries (Freeze). Encoding the
// copy, which runs on another goroutine, is measured for comparison, and
// so is installing the snapshot, which holds the installing replica.
func BenchmarkSnapshotHold(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		f := newEngine()
		db := keyspace.New(f)
		for i := range n {
			db.Set([]byte(fmt.Sprintf("key:%09d", i)), []byte("value-0123456789"), storage.NoExpiry)
		}
		b.Run(fmt.Sprintf("freeze/%d", n), func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				f.Freeze().Release()
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
		b.Run(fmt.Sprintf("encode/%d", n), func(b *testing.B) {
			view := f.Freeze()
			defer view.Release()
			start := time.Now()
			var size int
			for b.Loop() {
				size = len(encodeKeyspace(view, nil))
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			b.SetBytes(int64(size))
		})
		b.Run(fmt.Sprintf("stream/%d", n), func(b *testing.B) {
			// What a snapshot written to the log encodes: the size pass,
			// then the data, entry by entry, to a writer.
			view := f.Freeze()
			defer view.Release()
			start := time.Now()
			var size int
			for b.Loop() {
				size = keyspaceSize(view, nil)
				if err := writeKeyspace(io.Discard, view, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(n), "ns/key")
			b.SetBytes(int64(size))
		})
		b.Run(fmt.Sprintf("restore/%d", n), func(b *testing.B) {
			data := encodeKeyspace(f.Freeze(), nil)
			g := &Group{db: keyspace.New(newEngine())}
			start := time.Now()
			for b.Loop() {
				if err := g.restore(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(n), "ns/key")
		})
	}
}

// A snapshot's data carries hashes, sets, sorted sets and lists with their encoding and
// element order, so that a replica installing it holds them exactly as the
// leader does and picks the same random elements from them.
func TestSnapshotCollections(t *testing.T) {
	src := keyspace.New(newEngine())
	hashes := []*object.Hash{object.NewHash(), object.NewHash()}
	for i := range 200 {
		hashes[0].Set(fmt.Appendf(nil, "f%d", i), fmt.Appendf(nil, "v%d", i))
	}
	for i := range 150 {
		hashes[0].Delete(fmt.Appendf(nil, "f%d", 3*i%200)) // a table, reordered, 150 fields or fewer
	}
	hashes[1].Set([]byte("a"), []byte("1"))
	sets := []*object.Set{object.NewSet(), object.NewSet(), object.NewSet()}
	for i := range 10 {
		sets[0].Add(fmt.Appendf(nil, "%d", 10-i))
		sets[1].Add(fmt.Appendf(nil, "m%d", i))
	}
	for i := range 600 {
		sets[2].Add(fmt.Appendf(nil, "%d", i))
	}
	for i := range 500 {
		sets[2].Remove(fmt.Appendf(nil, "%d", 7*i%600))
	}
	for i, h := range hashes {
		src.SetObject(fmt.Appendf(nil, "h%d", i), h, int64(i))
	}
	for i, s := range sets {
		src.SetObject(fmt.Appendf(nil, "s%d", i), s, storage.NoExpiry)
	}
	// Sorted sets: a listpack, a tree, a tree small enough for a
	// listpack (it stays a tree, as in Redis), and extreme scores.
	zsets := []*object.ZSet{object.NewZSet(), object.NewZSetFor(1000, 0), object.NewZSetFor(1000, 0), object.NewZSet()}
	for i := range 20 {
		zsets[0].Set(fmt.Appendf(nil, "m%d", i), float64(i%3)/7)
	}
	for i := range 5000 {
		zsets[1].Set(fmt.Appendf(nil, "member:%d", i), float64(i%100))
	}
	zsets[2].Set([]byte("only"), 1)
	zsets[3].Set([]byte("hi"), math.Inf(1))
	zsets[3].Set([]byte("lo"), math.Inf(-1))
	zsets[3].Set([]byte("negzero"), math.Copysign(0, -1))
	for i, z := range zsets {
		src.SetObject(fmt.Appendf(nil, "z%d", i), z, int64(100+i))
	}
	// Lists: a listpack, a quicklist of many chunks, and a quicklist
	// trimmed back to a listpack.
	lists := []*object.List{object.NewList(), object.NewList(), object.NewList()}
	lists[0].Push(true, []byte("a"), []byte(""), []byte("12"))
	for i := range 3000 {
		lists[1].Push(i%2 == 0, fmt.Appendf(nil, "element:%d", i))
		lists[2].Push(false, fmt.Appendf(nil, "element:%d", i))
	}
	lists[2].Trim(7, 7)
	lists[2].Apply(object.ListOp{Code: object.ListPush, Elems: [][]byte{[]byte("x")}})
	if encs := []string{lists[0].Encoding(), lists[1].Encoding(), lists[2].Encoding()}; !slices.Equal(encs, []string{"listpack", "quicklist", "listpack"}) {
		t.Fatalf("lists in %q", encs)
	}
	for i, l := range lists {
		src.SetObject(fmt.Appendf(nil, "l%d", i), l, int64(200+i))
	}
	// A stream of several nodes, with a deleted entry, a group, a
	// consumer and a pending entry.
	st := object.NewStream()
	for i := range 300 {
		st.Add(object.StreamID{Ms: uint64(i + 1)}, [][]byte{[]byte("f"), fmt.Appendf(nil, "%d", i)})
	}
	st.Delete(object.StreamID{Ms: 7})
	sg := st.SetGroup([]byte("g"), object.StreamID{Ms: 5}, 5)
	sc, _ := st.SeeConsumer(sg, []byte("c"), 99)
	st.SetNack(sg, sc, object.StreamID{Ms: 3}, 42, 2)
	src.SetObject([]byte("x"), st, 77)
	src.Set([]byte("str"), []byte("v"), storage.NoExpiry)
	g := &Group{db: keyspace.New(newEngine())}
	if err := g.restore(encodeKeyspace(src.Engine().(engine).Freeze(), nil)); err != nil {
		t.Fatal(err)
	}
	describe := func(e storage.Engine, k string) string {
		v, obj, at, ok := e.Find([]byte(k))
		if !ok {
			return "absent"
		}
		if obj == nil {
			return fmt.Sprintf("string %q @%d", v, at)
		}
		if st, ok := obj.(*object.Stream); ok {
			var ops []byte
			st.Parts(0, func(p []byte) { ops = append(ops, p...) })
			return fmt.Sprintf("stream %d %x @%d", st.Len(), ops, at)
		}
		var elems []string
		object.Elements(obj, func(e, v []byte) bool {
			elems = append(elems, string(e)+"="+string(v))
			return true
		})
		return fmt.Sprintf("%s %s %q @%d", obj.Kind(), object.Encoding(obj), elems, at)
	}
	for _, k := range []string{"h0", "h1", "s0", "s1", "s2", "z0", "z1", "z2", "z3", "l0", "l1", "l2", "x", "str"} {
		if got, want := describe(g.db.Engine(), k), describe(src.Engine(), k); got != want {
			t.Errorf("%s: got %s, want %s", k, got, want)
		}
	}
	// A sorted set whose scores are not 8 bytes, or NaN, is refused.
	for _, score := range [][]byte{object.ZScoreBytes(1.5), []byte("1.5"), object.ZScoreBytes(math.NaN())} {
		data := []byte{snapshotVersion, 1, byte(storage.KindZSet), 1, 'z'}
		data = binary.LittleEndian.AppendUint64(data, 0)
		data = append(data, byte(slices.Index(snapshotEncodings, object.EncListpack)), 1, 1, 'm', byte(len(score)))
		data = append(data, score...)
		err := g.restore(data)
		if ok := len(score) == 8 && !math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(score))); (err == nil) != ok {
			t.Errorf("a sorted set scored %q: restore gave %v", score, err)
		}
	}
}

// A snapshot written before keys had types (version 1) still installs.
func TestSnapshotVersion1(t *testing.T) {
	data := []byte{snapshotStrings}
	data = binary.AppendUvarint(data, 2)
	for _, kv := range [][3]any{{"a", "1", storage.NoExpiry}, {"b", "22", int64(12345)}} {
		data = binary.AppendUvarint(data, uint64(len(kv[0].(string))))
		data = append(data, kv[0].(string)...)
		data = binary.AppendUvarint(data, uint64(len(kv[1].(string))))
		data = append(data, kv[1].(string)...)
		data = binary.LittleEndian.AppendUint64(data, uint64(kv[2].(int64)))
	}
	g := &Group{db: keyspace.New(newEngine())}
	g.db.SetReplica(true)
	if err := g.restore(data); err != nil {
		t.Fatal(err)
	}
	v, at, ok := g.db.Engine().Lookup([]byte("b"))
	if !ok || string(v) != "22" || at != 12345 || g.db.Len() != 2 {
		t.Fatalf("b: %q %d %v; %d keys", v, at, ok, g.db.Len())
	}
	if err := g.restore(data[:len(data)-3]); err == nil {
		t.Fatal("a version 1 snapshot cut short installed")
	}
}

// The node's log writes a group's snapshot as it is encoded
// (raftlog.GroupLog.WriteSnapshotFrom): keyspaceSize gives the size
// encodeKeyspace gives, and the file holds the same data, for strings, a
// collection larger than the encoder's scratch space and the migrations'
// trailer.
func TestSnapshotStreamedToLog(t *testing.T) {
	var _ Storage = (*raftlog.GroupLog)(nil)
	src := keyspace.New(newEngine())
	for i := range 5000 {
		src.Set(fmt.Appendf(nil, "k%d", i), bytes.Repeat([]byte{byte(i)}, i%300), int64(i))
	}
	h := object.NewHash()
	for i := range 20_000 {
		h.Set(fmt.Appendf(nil, "field:%d", i), bytes.Repeat([]byte("v"), 100)) // 2 MB
	}
	src.SetObject([]byte("big"), h, storage.NoExpiry)
	mv := &moves{away: map[uint16]int{7: 2, 9000: 1}, token: "mover", epoch: 4, owned: map[uint16]bool{3: true}}
	view := src.Engine().(engine).Freeze()
	defer view.Release()
	want := encodeKeyspace(view, mv)
	if got := keyspaceSize(view, mv); got != len(want) {
		t.Fatalf("keyspaceSize %d, encodeKeyspace's data %d bytes", got, len(want))
	}

	log, err := raftlog.OpenShared(t.TempDir(), raftlog.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	gl := log.Group(1)
	md := &raftpb.SnapshotMetadata{Index: new(uint64(12)), Term: new(uint64(3)), ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}}}
	if err := gl.WriteSnapshotFrom(md, len(want), func(w io.Writer) error { return writeKeyspace(w, view, mv) }); err != nil {
		t.Fatalf("WriteSnapshotFrom: %v", err)
	}
	snap, err := gl.ReadSnapshot(12)
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	if !bytes.Equal(snap.GetData(), want) {
		t.Fatalf("the streamed snapshot's data (%d bytes) is not encodeKeyspace's (%d bytes)", len(snap.GetData()), len(want))
	}
	g := &Group{db: keyspace.New(newEngine())}
	if err := g.restore(snap.GetData()); err != nil {
		t.Fatal(err)
	}
	if g.db.Len() != src.Len() || g.mv.token != "mover" || g.mv.away[9000] != 1 {
		t.Fatalf("restored %d keys (want %d), moves %+v", g.db.Len(), src.Len(), g.mv)
	}
}

// A replica rebuilt from its log's snapshot file reads the data a part at
// a time (restoreFrom): the keyspace it builds is the one restore builds
// from the whole data, whatever the parts' sizes, entries larger than a
// part included; a failing read or truncated data is an error.
func TestSnapshotRestoreFrom(t *testing.T) {
	src := keyspace.New(newEngine())
	for i := range 3000 {
		src.Set(fmt.Appendf(nil, "k%d", i), bytes.Repeat([]byte{byte(i)}, i%500), int64(i))
	}
	h := object.NewHash()
	for i := range 30_000 {
		h.Set(fmt.Appendf(nil, "field:%d", i), bytes.Repeat([]byte("v"), 100)) // 3 MB, past a part
	}
	src.SetObject([]byte("big"), h, storage.NoExpiry)
	l := object.NewList()
	for i := range 100 {
		l.Push(false, fmt.Appendf(nil, "e%d", i))
	}
	src.SetObject([]byte("list"), l, 5)
	st := object.NewStream()
	for i := range 50 {
		st.Add(object.StreamID{Ms: uint64(i + 1)}, [][]byte{[]byte("f"), fmt.Appendf(nil, "%d", i)})
	}
	src.SetObject([]byte("stream"), st, storage.NoExpiry)
	mv := &moves{away: map[uint16]int{7: 2}, token: "mover", epoch: 4}
	view := src.Engine().(engine).Freeze()
	data := encodeKeyspace(view, mv)
	view.Release()

	want := &Group{db: keyspace.New(newEngine())}
	if err := want.restore(data); err != nil {
		t.Fatal(err)
	}
	dump := func(g *Group) string {
		var b strings.Builder
		scanAll(g.db.Engine(), func(k, v []byte, obj storage.Object, at int64) bool {
			b.Write(appendEntry(nil, k, v, obj, at))
			return true
		})
		return b.String()
	}
	for name, r := range map[string]func() io.Reader{
		"whole reads":   func() io.Reader { return bytes.NewReader(data) },
		"one byte each": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
		"EOF with data": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	} {
		g := &Group{db: keyspace.New(newEngine())}
		g.db.Set([]byte("stale"), []byte("x"), storage.NoExpiry)
		n, err := g.restoreFrom(r())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != int64(len(data)) || g.db.Len() != src.Len() || dump(g) != dump(want) || g.mv.token != "mover" || g.mv.away[7] != 2 {
			t.Fatalf("%s: read %d bytes of %d, %d keys of %d, same keyspace %v, moves %+v", name, n, len(data), g.db.Len(), src.Len(), dump(g) == dump(want), g.mv)
		}
	}
	failed := errors.New("disk gone")
	g := &Group{db: keyspace.New(newEngine())}
	if _, err := g.restoreFrom(io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(failed))); !errors.Is(err, failed) {
		t.Fatalf("a read failing half way: got %v, want %v", err, failed)
	}
	if _, err := g.restoreFrom(bytes.NewReader(data[:len(data)-len(data)/3])); !errors.Is(err, errBadEntry) {
		t.Fatalf("truncated data: got %v, want %v", err, errBadEntry)
	}
}
