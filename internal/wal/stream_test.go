package wal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
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

// streamSnap is a key's state at one point of a history: a stream as its
// operations (object.Stream.Parts) with its version, or a string.
type streamSnap struct {
	str     []byte
	ops     []byte
	version uint64
	at      int64
}

func streamSnapOf(e storage.Engine) map[string]*streamSnap {
	m := map[string]*streamSnap{}
	for c := uint64(0); ; {
		c = e.Scan(c, func(k, v []byte, obj storage.Object, at int64) bool {
			s := &streamSnap{at: at}
			if st, ok := obj.(*object.Stream); ok {
				s.version = st.Version()
				st.Parts(0, func(ops []byte) { s.ops = append([]byte{}, ops...) })
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

func (s *streamSnap) put(t *testing.T, e storage.Engine, key string) {
	if s.str != nil {
		e.Set([]byte(key), s.str, s.at)
		return
	}
	st := object.NewStream()
	if !st.Apply(s.ops) {
		t.Fatalf("%s: a stream's own parts do not apply", key)
	}
	st.SetVersion(s.version)
	e.SetObject([]byte(key), st, s.at)
}

func streamStateText(m map[string]*streamSnap) map[string]string {
	out := map[string]string{}
	for k, s := range m {
		out[k] = fmt.Sprintf("%q %x v%d @%d", s.str, s.ops, s.version, s.at)
	}
	return out
}

// streamHistory runs random stream commands, and a few that replace or
// delete whole keys, on four keys of one shard with a log, as
// listHistory does for lists.
func streamHistory(t *testing.T, r *rand.Rand, ops int) (recs [][]byte, before []int, states []map[string]*streamSnap) {
	t.Helper()
	rg, err := ring.New(1, 8)
	if err != nil {
		t.Fatal(err)
	}
	e := memory.New()
	db := keyspace.New(e)
	log := &captureLog{}
	db.SetLog(log)
	now := time.Now().UnixMilli()
	var w resp.Writer
	c := command.Ctx{W: &w}
	c.Single(db, 0, rg)
	run := func(args ...string) {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		db.SetNow(now)
		w.Reset()
		command.Redis.Lookup(argv[0]).Run(&c, argv)
	}
	far := fmt.Sprint(time.Now().Add(time.Hour).Unix())
	for range ops {
		before = append(before, len(records(t, log.b)))
		now += int64(r.IntN(3))
		k := fmt.Sprint("s", r.IntN(4))
		other := fmt.Sprint("s", r.IntN(4))
		g := fmt.Sprint("g", r.IntN(2))
		cons := fmt.Sprint("c", r.IntN(3))
		id := fmt.Sprintf("%d-%d", now-int64(r.IntN(5)), r.IntN(3))
		switch r.IntN(20) {
		case 0, 1, 2, 3:
			run("xadd", k, "*", "f", fmt.Sprint(r.IntN(9)), "g", "x")
		case 4:
			run("xadd", k, "maxlen", []string{"=", "~"}[r.IntN(2)], fmt.Sprint(r.IntN(8)), "*", "other", "y")
		case 5:
			run("xdel", k, id)
		case 6:
			run("xtrim", k, "minid", id)
		case 7:
			run("xtrim", k, "maxlen", []string{"=", "~"}[r.IntN(2)], fmt.Sprint(r.IntN(6)))
		case 8:
			run("xgroup", "create", k, g, []string{"0", "$"}[r.IntN(2)], "mkstream")
		case 9:
			run("xgroup", "setid", k, g, id)
		case 10:
			run("xgroup", []string{"destroy", "delconsumer", "createconsumer"}[r.IntN(3)], k, g, cons)
		case 11, 12:
			run("xreadgroup", "group", g, cons, "count", fmt.Sprint(r.IntN(3)), "streams", k, ">")
		case 13:
			run("xreadgroup", "group", g, cons, "streams", k, "0")
		case 14:
			run("xack", k, g, id)
		case 15:
			run("xclaim", k, g, cons, "0", id, "force")
		case 16:
			run("xautoclaim", k, g, cons, "0", "0", "count", "2")
		case 17:
			run("xsetid", k, fmt.Sprintf("%d-9", now+5))
		case 18:
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
		default:
			run("expireat", k, far)
		}
		states = append(states, streamSnapOf(e))
	}
	return records(t, log.b), before, states
}

// TestStreamReplayExact checks that stream records replay exactly once,
// as TestListReplayExact does for lists: every record applied twice in a
// row, and the log from any point on top of a fuzzy snapshot, end in the
// keyspace's state, groups, consumers and pending entries included, node
// by node. STREAM_SEED=<seed> repeats a run.
func TestStreamReplayExact(t *testing.T) {
	for _, entries := range []int64{100, 3} {
		t.Run(fmt.Sprint(entries), func(t *testing.T) {
			old := object.CurrentLimits()
			l := old
			l.StreamNodeMaxEntries = entries
			object.SetLimits(l)
			t.Cleanup(func() { object.SetLimits(old) })
			seed := uint64(time.Now().UnixNano())
			if v := os.Getenv("STREAM_SEED"); v != "" {
				seed, _ = strconv.ParseUint(v, 10, 64)
			}
			r := rand.New(rand.NewPCG(seed, 23))
			recs, before, states := streamHistory(t, r, 1500)
			if len(recs) < 200 {
				t.Fatalf("seed %d: %d records, want most commands logged", seed, len(recs))
			}
			final := states[len(states)-1]
			want := streamStateText(final)

			twice := memory.New()
			replay(t, twice, recs, true)
			if got := streamStateText(streamSnapOf(twice)); !mapsEqual(t, got, want) {
				t.Fatalf("seed %d: every record applied twice", seed)
			}
			for trial := range 200 {
				start := r.IntN(len(states))
				snap := memory.New()
				for _, k := range []string{"s0", "s1", "s2", "s3"} {
					if s := states[start+r.IntN(len(states)-start)][k]; s != nil {
						s.put(t, snap, k)
					}
				}
				replay(t, snap, recs[before[start]:], false)
				if got := streamStateText(streamSnapOf(snap)); !mapsEqual(t, got, want) {
					t.Fatalf("seed %d trial %d: the log from command %d (record %d) on a fuzzy snapshot", seed, trial, start, before[start])
				}
			}
		})
	}
}

// TestBigStreamInParts checks that a snapshot writes a large stream with
// a consumer group as a fresh record and parts and loads it back; that
// XADD and XACK on it log small records; and that it comes back after a
// crash, its pending entries included.
func TestBigStreamInParts(t *testing.T) {
	dir := t.TempDir()
	n := mustOpen(t, dir, 1, 8, nil)
	for i := range 300 {
		args := []string{"xadd", "big", fmt.Sprintf("%d-1", i+1)}
		for j := range 100 {
			args = append(args, fmt.Sprint("field", j), fmt.Sprintf("value:%08d", i*100+j))
		}
		n.cmd(args...)
	}
	n.cmd("xgroup", "create", "big", "g", "0")
	if got := n.cmd("xreadgroup", "group", "g", "alice", "count", "250", "streams", "big", ">"); len(got) < 250*100*10 {
		t.Fatalf("xreadgroup: %d bytes", len(got))
	}
	if err := n.st.Save(context.Background(), true, false); err != nil {
		t.Fatal(err)
	}
	sf, err := listShard(shardDir(dir, 1, 0))
	if err != nil || len(sf.snaps) != 1 {
		t.Fatalf("snapshots %v, %v", sf.snaps, err)
	}
	records := 0
	if _, err := readFile(sf.path(sf.snaps[0], snapExt), kindSnapshot, 0, sf.snaps[0], false, func(rec *Record) {
		if rec.Op != OpStream || rec.Fresh != (records == 0) || rec.Part != (records > 0) {
			t.Errorf("record %d: %v fresh %v part %v", records, rec.Op, rec.Fresh, rec.Part)
		}
		records++
	}); err != nil {
		t.Fatal(err)
	}
	if records < 3 {
		t.Fatalf("the stream took %d snapshot records, want several", records)
	}
	for _, cmd := range [][]string{{"xadd", "big", "1000-1", "f", "v"}, {"xack", "big", "g", "5-1"}, {"xdel", "big", "7-1"}} {
		before := n.st.j.written.Load()
		n.cmd(cmd...)
		if grew := n.st.j.written.Load() - before; grew > 60 || grew == 0 {
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
		{[]string{"xlen", "big"}, ":300\r\n"},
		{[]string{"xpending", "big", "g", "-", "+", "2"}, ""},
		{[]string{"xrange", "big", "1000", "+"}, "*1\r\n*2\r\n$6\r\n1000-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"},
		{[]string{"xrange", "big", "7", "7"}, "*0\r\n"},
		{[]string{"xinfo", "groups", "big"}, "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:249\r\n$17\r\nlast-delivered-id\r\n$5\r\n250-1\r\n$12\r\nentries-read\r\n:250\r\n$3\r\nlag\r\n:51\r\n"},
	} {
		got := n.cmd(c.args...)
		if c.want == "" {
			if want := "*2\r\n*4\r\n$3\r\n1-1\r\n$5\r\nalice\r\n"; len(got) < len(want) || got[:len(want)] != want {
				t.Errorf("%q after reload: got %q", c.args, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%q after reload: got %q, want %q", c.args, got, c.want)
		}
	}
}
