package cluster

import (
	"maps"
	"strconv"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// A group's moves survive its snapshot, the importing slots included, and
// a trailer written before there were importing slots still reads.
func TestMovesTrailer(t *testing.T) {
	full := &moves{away: map[uint16]int{7: 2, 9: 1}, frozen: map[string]struct{}{"k": {}}, token: "tok", epoch: 12,
		strict: true, owned: map[uint16]bool{3: true}, importing: map[uint16]bool{3: true, 4: true}, ended: 11}
	for _, tc := range []struct {
		name string
		mv   *moves
	}{
		{"all", full},
		{"importing only", &moves{token: "tok", importing: map[uint16]bool{5: true}}},
		{"no importing", &moves{away: map[uint16]int{1: 0}, token: "tok", epoch: 3}},
		{"an ended import only", &moves{token: "tok", epoch: 4, ended: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.mv.append(nil)
			var got moves
			if err := got.read(&binread.Reader{B: buf}); err != nil {
				t.Fatalf("read: %v", err)
			}
			if !maps.Equal(got.away, tc.mv.away) || !maps.Equal(got.frozen, tc.mv.frozen) || got.token != tc.mv.token ||
				got.epoch != tc.mv.epoch || got.strict != tc.mv.strict || !maps.Equal(got.owned, tc.mv.owned) ||
				!maps.Equal(got.importing, tc.mv.importing) || got.ended != tc.mv.ended {
				t.Fatalf("got %+v, want %+v", got, *tc.mv)
			}
		})
	}
	// The same trailer without its last sections, as written before.
	old := *full
	old.importing, old.ended = nil, 0
	buf := old.append(nil)
	var got moves
	if err := got.read(&binread.Reader{B: buf}); err != nil || len(got.importing) != 0 || !maps.Equal(got.owned, full.owned) {
		t.Fatalf("a trailer without importing slots: %+v, %v", got, err)
	}
	var extra moves
	if err := extra.read(&binread.Reader{B: append(full.append(nil), 0)}); err == nil {
		t.Fatal("a trailer with a byte too many read without an error")
	}
}

// newGateGroup returns a replica that is never run, for tests and
// benchmarks that call its run method directly.
func newGateGroup(t testing.TB) *Group {
	t.Helper()
	g, err := NewGroup(GroupConfig{ReplicaID: 1, Storage: &MemStorage{}, Send: func(uint64, *raftpb.Message) bool { return true },
		Tick: 1, ElectionTicks: 10, HeartbeatTicks: 1, QueueSize: 1, WriteTimeout: 1, SnapshotEntries: 1, ExpireSample: 1, MaxInflight: 1})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// A slot coming home runs only the commands its source sent on, until
// the current mover's "done"; a slot that leaves again is no longer
// importing.
func TestGateImporting(t *testing.T) {
	g := newGateGroup(t)
	run := func(asked bool, args ...string) string {
		t.Helper()
		cmd := make([][]byte, len(args))
		for i, a := range args {
			cmd[i] = []byte(a)
		}
		g.run([][][]byte{cmd}, 2, asked, nil, time.Time{})
		return string(g.w.Bytes())
	}
	key := "{x}k"
	s := strconv.Itoa(int(slot.Of([]byte(key))))
	if r := run(false, string(cmdComing), "tok", "1", s, s); r != "+OK\r\n" {
		t.Fatalf("home: %q", r)
	}
	for _, tc := range []struct {
		asked bool
		cmd   []string
		want  string
	}{
		{false, []string{"SET", key, "v"}, replyStale},
		{false, []string{"GET", key}, replyStale},
		{true, []string{"SET", key, "v"}, "+OK\r\n"},
		{true, []string{"GET", key}, "$1\r\nv\r\n"},
		{false, []string{"GET", "other"}, "$-1\r\n"}, // another slot
	} {
		if r := run(tc.asked, tc.cmd...); r != tc.want {
			t.Fatalf("%v asked=%v while importing: got %q, want %q", tc.cmd, tc.asked, r, tc.want)
		}
	}
	if r := run(false, string(cmdDone), "other", s, s); r != "-"+errStaleMover+"\r\n" {
		t.Fatalf("done of another mover: got %q, want %q", r, errStaleMover)
	}
	if r := run(false, string(cmdDone), "tok", s, s); r != "+OK\r\n" {
		t.Fatalf("done: %q", r)
	}
	if r := run(false, "GET", key); r != "$1\r\nv\r\n" {
		t.Fatalf("GET once the import is done: got %q, want v", r)
	}
	// The "coming" of a mover that lost its place before that "done",
	// which the network held back until after it, brings nothing to
	// import: the source has no key of the slot left, and a slot left
	// importing would send every command on it back and forth until
	// the client's time is up.
	if r := run(false, string(cmdComing), "late", "1", s, s); r != "+OK\r\n" || len(g.mv.importing) != 0 {
		t.Fatalf("a late coming of an ended import: %q, importing %v", r, g.mv.importing)
	}
	if r := run(false, "GET", key); r != "$1\r\nv\r\n" {
		t.Fatalf("GET after a late coming of an ended import: got %q, want v", r)
	}
	if r := run(false, string(cmdComing), "tok2", "2", s, s); r != "+OK\r\n" || !g.mv.importing[slot.Of([]byte(key))] {
		t.Fatalf("coming of a newer migration: %q, importing %v", r, g.mv.importing)
	}
	if r := run(false, string(cmdAway), "tok2", "2", "3", s, s); r != "+OK\r\n" || len(g.mv.importing) != 0 {
		t.Fatalf("away of an importing slot: %q, importing %v", r, g.mv.importing)
	}
	// A "home" of an older log brings the slot home without importing it.
	run(false, string(cmdHome), "tok3", "3", s, s)
	if r := run(false, "GET", key); r != "$1\r\nv\r\n" || len(g.mv.importing) != 0 {
		t.Fatalf("GET after an older log's home: %q, importing %v", r, g.mv.importing)
	}
}
