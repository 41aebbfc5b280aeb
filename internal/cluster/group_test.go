package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// testNet carries Raft messages between the replicas of one group inside the
// process, through their wire encoding, and can cut replicas off.
type testNet struct {
	mu     sync.Mutex
	groups map[uint64]*Group
	cut    map[uint64]bool
	// holdSnaps, when not nil, holds every snapshot sent until it is
	// closed, and snapsHeld gets a value for each.
	holdSnaps, snapsHeld chan struct{}
	// heartbeats counts the heartbeats sent: a leader sends each follower
	// one per tick.
	heartbeats atomic.Int64
	// watch, when set, sees every message sent, cut off or not.
	watch func(from, to uint64, m *raftpb.Message)
	// drop, when set, loses the messages it reports true for.
	drop func(from, to uint64, m *raftpb.Message) bool
}

func (n *testNet) send(from uint64) func(to uint64, m *raftpb.Message) bool {
	return func(to uint64, m *raftpb.Message) bool {
		n.mu.Lock()
		hold, held := n.holdSnaps, n.snapsHeld
		n.mu.Unlock()
		if m.GetType() == raftpb.MsgHeartbeat {
			n.heartbeats.Add(1)
		}
		if hold != nil && m.GetType() == raftpb.MsgSnap {
			held <- struct{}{}
			<-hold
		}
		n.mu.Lock()
		g, blocked, watch, drop := n.groups[to], n.cut[from] || n.cut[to], n.watch, n.drop
		n.mu.Unlock()
		if watch != nil {
			watch(from, to, m)
		}
		blocked = blocked || drop != nil && drop(from, to, m)
		if g == nil || blocked {
			return false
		}
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		var c raftpb.Message
		if err := proto.Unmarshal(b, &c); err != nil {
			panic(err)
		}
		g.Step(&c)
		return true
	}
}

func (n *testNet) isolate(id uint64, on bool) {
	n.mu.Lock()
	n.cut[id] = on
	n.mu.Unlock()
}

// testGroup is a group of three replicas over a testNet.
type testGroup struct {
	t       *testing.T
	net     *testNet
	cfg     GroupConfig
	reps    map[uint64]*Group
	stores  map[uint64]*MemStorage
	cancels map[uint64]context.CancelFunc
	wrap    func(*MemStorage) Storage
	// each, when set, edits the configuration of each replica it starts.
	each func(id uint64, c *GroupConfig)
	wg   sync.WaitGroup
}

func newTestGroup(t *testing.T, edit func(*GroupConfig)) *testGroup {
	t.Helper()
	return newTestGroupWith(t, edit, nil)
}

// newTestGroupWith is newTestGroup with each replica's storage wrapped, when
// wrap is not nil.
func newTestGroupWith(t *testing.T, edit func(*GroupConfig), wrap func(*MemStorage) Storage) *testGroup {
	t.Helper()
	return newTestGroupEach(t, edit, nil, wrap)
}

// newTestGroupEach is newTestGroupWith with each replica's configuration
// edited by each, when it is not nil.
func newTestGroupEach(t *testing.T, edit func(*GroupConfig), each func(uint64, *GroupConfig), wrap func(*MemStorage) Storage) *testGroup {
	t.Helper()
	keepLogs(t)
	cfg := DefaultGroupConfig()
	cfg.Tick = 10 * time.Millisecond
	cfg.WriteTimeout = time.Second
	if edit != nil {
		edit(&cfg)
	}
	tg := &testGroup{t: t, net: &testNet{groups: map[uint64]*Group{}, cut: map[uint64]bool{}}, cfg: cfg,
		reps: map[uint64]*Group{}, stores: map[uint64]*MemStorage{}, cancels: map[uint64]context.CancelFunc{}, wrap: wrap, each: each}
	for id := uint64(1); id <= 3; id++ {
		tg.stores[id] = &MemStorage{}
		tg.start(id)
	}
	t.Cleanup(func() {
		for _, c := range tg.cancels {
			c()
		}
		tg.wg.Wait()
	})
	return tg
}

// start runs replica id from what its storage holds.
func (tg *testGroup) start(id uint64) {
	tg.t.Helper()
	tg.startWith(id, []uint64{1, 2, 3})
}

// startWith runs replica id with founding peers, none for a replica that
// joins a running group.
func (tg *testGroup) startWith(id uint64, peers []uint64) {
	tg.t.Helper()
	cfg := tg.cfg
	cfg.ReplicaID, cfg.Peers = id, peers
	cfg.Storage, cfg.State = tg.stores[id], tg.stores[id].State()
	if tg.wrap != nil {
		cfg.Storage = tg.wrap(tg.stores[id])
	}
	cfg.Send = tg.net.send(id)
	if tg.each != nil {
		tg.each(id, &cfg)
	}
	g, err := NewGroup(cfg)
	if err != nil {
		tg.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tg.net.mu.Lock()
	tg.net.groups[id] = g
	tg.net.mu.Unlock()
	tg.reps[id], tg.cancels[id] = g, cancel
	tg.wg.Go(func() { g.Run(ctx) })
}

// stop stops replica id and waits for its goroutine.
func (tg *testGroup) stop(id uint64) {
	tg.net.mu.Lock()
	delete(tg.net.groups, id)
	tg.net.mu.Unlock()
	tg.cancels[id]()
	for !tg.reps[id].stopped.Load() {
		time.Sleep(time.Millisecond)
	}
}

// eventually waits until cond holds, failing the test after 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// follower returns a replica other than l.
func (tg *testGroup) follower(l uint64) uint64 {
	for id := range tg.reps {
		if id != l {
			return id
		}
	}
	panic("a group of one replica")
}

// leader waits for a replica that leads and that every other running
// replica it can reach agrees on, and returns its id.
func (tg *testGroup) leader(except ...uint64) uint64 {
	tg.t.Helper()
	var lead uint64
	eventually(tg.t, "a leader", func() bool {
		for id, g := range tg.reps {
			skip := false
			for _, x := range except {
				skip = skip || x == id
			}
			if !skip && g.Status().Role == "leader" {
				lead = id
				return true
			}
		}
		return false
	})
	return lead
}

// do runs one command on replica id and returns its reply or error.
func (tg *testGroup) do(id uint64, mode Mode, args ...string) (string, error) {
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = []byte(a)
	}
	type result struct {
		reply string
		err   error
	}
	ch := make(chan result, 1)
	tg.reps[id].Submit(&Request{Cmds: [][][]byte{cmd}, Proto: 2, Mode: mode,
		Done: func(reply []byte, _ []int, err error) { ch <- result{string(reply), err} }})
	r := <-ch
	return r.reply, r.err
}

func (tg *testGroup) mustDo(id uint64, mode Mode, args ...string) string {
	tg.t.Helper()
	r, err := tg.do(id, mode, args...)
	if err != nil {
		tg.t.Fatalf("%v on replica %d: %v", args, id, err)
	}
	return r
}

func TestGroupReplicatesAndReads(t *testing.T) {
	tg := newTestGroup(t, nil)
	l := tg.leader()
	if got := tg.mustDo(l, Write, "SET", "k", "v1"); got != "+OK\r\n" {
		t.Fatalf("SET: got %q, want +OK", got)
	}
	if got := tg.mustDo(l, Read, "GET", "k"); got != "$2\r\nv1\r\n" {
		t.Fatalf("GET: got %q, want v1", got)
	}
	if got := tg.mustDo(l, Write, "INCR", "n"); got != ":1\r\n" {
		t.Fatalf("INCR: got %q, want :1", got)
	}
	for id := range tg.reps {
		if id == l {
			continue
		}
		if _, err := tg.do(id, Write, "SET", "k", "x"); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("write on follower %d: got %v, want ErrNotLeader", id, err)
		}
		if _, err := tg.do(id, Read, "GET", "k"); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("read on follower %d: got %v, want ErrNotLeader", id, err)
		}
		eventually(t, "the follower to apply", func() bool {
			r, _ := tg.do(id, Stale, "GET", "k")
			return r == "$2\r\nv1\r\n"
		})
	}
}

// A leader cut off from the others must neither acknowledge writes nor
// serve reads; what it took in while cut off is lost, and a new leader's
// writes win.
func TestGroupPartitionedLeader(t *testing.T) {
	tg := newTestGroup(t, nil)
	old := tg.leader()
	tg.mustDo(old, Write, "SET", "k", "before")
	tg.net.isolate(old, true)

	_, err := tg.do(old, Write, "SET", "k", "lost")
	if err == nil {
		t.Fatal("an isolated leader acknowledged a write")
	}
	if _, err := tg.do(old, Read, "GET", "k"); err == nil {
		t.Fatal("an isolated leader served a linearizable read")
	}
	nl := tg.leader(old)
	if got := tg.mustDo(nl, Read, "GET", "k"); got != "$6\r\nbefore\r\n" {
		t.Fatalf("new leader GET: got %q, want before", got)
	}
	tg.mustDo(nl, Write, "SET", "k", "after")
	tg.net.isolate(old, false)
	eventually(t, "the old leader to catch up", func() bool {
		r, _ := tg.do(old, Stale, "GET", "k")
		return r == "$5\r\nafter\r\n"
	})
}

// A follower that missed more than the compacted log catches up from a
// snapshot.
func TestGroupSnapshotCatchUp(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.SnapshotEntries, c.CompactKeep = 50, 5 })
	l := tg.leader()
	lag := tg.follower(l)
	tg.net.isolate(lag, true)
	for i := range 300 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), fmt.Sprintf("v%d", i))
	}
	if tg.reps[l].Stats().Snapshots.Load() == 0 {
		t.Fatal("the leader took no snapshot")
	}
	tg.net.isolate(lag, false)
	eventually(t, "the lagging replica to catch up", func() bool {
		return tg.reps[lag].Status().Applied >= tg.reps[l].Status().Applied
	})
	for i := range 300 {
		want := fmt.Sprintf("$%d\r\nv%d\r\n", len(fmt.Sprint(i))+1, i)
		if got, _ := tg.do(lag, Stale, "GET", fmt.Sprintf("key%d", i)); got != want {
			t.Fatalf("key%d on the caught-up replica: got %q, want %q", i, got, want)
		}
	}
}

// A replica restarted from its storage keeps what it had and catches up on
// what it missed.
func TestGroupRestart(t *testing.T) {
	logs := new(testutil.SyncBuffer)
	tg := newTestGroup(t, func(c *GroupConfig) {
		c.SnapshotEntries = 20
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	l := tg.leader()
	for range 50 {
		tg.mustDo(l, Write, "INCR", "n")
	}
	f := tg.follower(l)
	// The follower is stopped once it has applied the 50 writes, which
	// its snapshot (every 20 entries) then holds: a majority needs only
	// the other follower, so a busy machine can leave it behind.
	eventually(t, "the follower to apply the writes", func() bool {
		return tg.reps[f].Status().Applied >= tg.reps[l].Status().Applied
	})
	tg.stop(f)
	for range 10 {
		tg.mustDo(l, Write, "INCR", "n")
	}
	logs.Reset()
	tg.start(f)
	if line := `msg="replica recovered from its log"`; !strings.Contains(logs.String(), line) || !strings.Contains(logs.String(), "keys=1 ") {
		t.Fatalf("no %s with keys=1 in the restarted replica's log:\n%s", line, logs)
	}
	eventually(t, "the restarted replica to catch up", func() bool {
		r, _ := tg.do(f, Stale, "GET", "n")
		return r == "$2\r\n60\r\n"
	})
	// The whole group restarted keeps every acknowledged write.
	for id := range tg.reps {
		tg.stop(id)
	}
	for id := range tg.reps {
		tg.start(id)
	}
	l = tg.leader()
	if got := tg.mustDo(l, Read, "GET", "n"); got != "$2\r\n60\r\n" {
		t.Fatalf("after restarting every replica: got %q, want 60", got)
	}
}

// Keys expire on replicas only through the leader's log.
func TestGroupExpiryThroughLog(t *testing.T) {
	tg := newTestGroup(t, nil)
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "gone", "v", "PX", "30")
	tg.mustDo(l, Write, "SET", "kept", "v")
	for id, g := range tg.reps {
		eventually(t, fmt.Sprintf("replica %d to remove the expired key", id), func() bool {
			return g.Status().Keys == 1
		})
	}
	if got := tg.mustDo(l, Read, "GET", "gone"); got != "$-1\r\n" {
		t.Fatalf("GET of an expired key: got %q, want nil", got)
	}
}

// A replica whose log was lost (its data dir wiped) and that comes back
// with the same id must not take the process down: Raft finds its state
// impossible, and the replica stops with an error while the others serve.
func TestGroupLostLogStopsReplica(t *testing.T) {
	tg := newTestGroup(t, nil)
	l := tg.leader()
	for range 20 {
		tg.mustDo(l, Write, "INCR", "n")
	}
	f := tg.follower(l)
	tg.stop(f)
	tg.stores[f] = &MemStorage{} // the log is gone
	tg.start(f)
	eventually(t, "the replica with the lost log to stop", func() bool { return tg.reps[f].stopped.Load() })
	if _, err := tg.do(f, Stale, "GET", "n"); err == nil {
		t.Fatal("a stopped replica answered")
	}
	if got := tg.mustDo(l, Write, "INCR", "n"); got != ":21\r\n" {
		t.Fatalf("INCR on the leader after: got %q, want :21", got)
	}
}

// A group whose queue is full refuses more requests with ErrBusy at once,
// which a client sees as Redis's BUSY.
func TestGroupBusy(t *testing.T) {
	cfg := DefaultGroupConfig()
	cfg.QueueSize, cfg.ReplicaID, cfg.Peers = 1, 1, []uint64{1}
	cfg.Storage = &MemStorage{}
	cfg.Send = func(uint64, *raftpb.Message) bool { return true }
	g, err := NewGroup(cfg) // not running: nothing takes requests off its queue
	if err != nil {
		t.Fatal(err)
	}
	var got []error
	for range 2 {
		g.Submit(&Request{Cmds: [][][]byte{{[]byte("GET"), []byte("k")}}, Mode: Read,
			Done: func(_ []byte, _ []int, err error) { got = append(got, err) }})
	}
	if len(got) != 1 || !errors.Is(got[0], ErrBusy) {
		t.Fatalf("got %v, want one ErrBusy for the request past the queue", got)
	}
	if msg := errorText(got[0]); msg != "BUSY server is busy, try again later" {
		t.Fatalf("client error: got %q", msg)
	}
}

// slowSnapshots is a MemStorage whose snapshot files take until release
// is closed to write.
type slowSnapshots struct {
	*MemStorage
	started chan struct{} // gets a value when a write starts
	release chan struct{}
}

func (s *slowSnapshots) WriteSnapshotFrom(md *raftpb.SnapshotMetadata, size int, write func(io.Writer) error) error {
	s.started <- struct{}{}
	<-s.release
	return s.MemStorage.WriteSnapshotFrom(md, size, write)
}

// A replica goes on committing and serving while its snapshot is being
// written, and forgets the log the snapshot covers only once it is.
func TestGroupWritesDuringSnapshot(t *testing.T) {
	started, release := make(chan struct{}, 16), make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	tg := newTestGroupWith(t, func(c *GroupConfig) { c.SnapshotEntries, c.CompactKeep = 30, 1 },
		func(s *MemStorage) Storage { return &slowSnapshots{MemStorage: s, started: started, release: release} })
	t.Cleanup(free) // before the replicas stop, which waits for their snapshots
	l := tg.leader()
	i := 0
	for ; len(started) == 0; i++ {
		if i > 1000 {
			t.Fatal("no snapshot started after 1000 writes")
		}
		tg.mustDo(l, Write, "SET", fmt.Sprintf("k%d", i), "v")
	}
	first, _ := tg.reps[l].ms.FirstIndex()
	// The snapshots are stuck: the group still commits and reads.
	for j := range 100 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("during%d", j), "v")
	}
	if got := tg.mustDo(l, Read, "GET", "during99"); got != "$1\r\nv\r\n" {
		t.Fatalf("read during the snapshot: got %q", got)
	}
	if got, _ := tg.reps[l].ms.FirstIndex(); got != first {
		t.Fatalf("the in-memory log was compacted from %d to %d before the snapshot was written", first, got)
	}
	if n := tg.reps[l].Stats().Snapshots.Load(); n != 0 {
		t.Fatalf("%d snapshots counted before one was written", n)
	}
	free()
	eventually(t, "the snapshot to be recorded", func() bool { return tg.reps[l].Stats().Snapshots.Load() > 0 })
	if got, _ := tg.reps[l].ms.FirstIndex(); got <= first {
		t.Fatalf("the in-memory log still starts at %d after the snapshot", got)
	}
	if st := tg.stores[l].State(); st.Snapshot.GetMetadata().GetIndex() == 0 {
		t.Fatal("the storage holds no snapshot")
	}
}

// A leader goes on committing and serving while a snapshot for a lagging
// follower is on its way, and the follower catches up once it arrives.
func TestGroupWritesWhileSendingSnapshot(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.SnapshotEntries, c.CompactKeep = 20, 1 })
	hold, held := make(chan struct{}), make(chan struct{}, 16)
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	tg.net.mu.Lock()
	tg.net.holdSnaps, tg.net.snapsHeld = hold, held
	tg.net.mu.Unlock()
	l := tg.leader()
	lag := tg.follower(l)
	tg.net.isolate(lag, true)
	for i := range 100 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), "v")
	}
	tg.net.isolate(lag, false)
	eventually(t, "the leader to send a snapshot", func() bool { return len(held) > 0 })
	for i := 100; i < 200; i++ { // while the snapshot is held
		tg.mustDo(l, Write, "SET", fmt.Sprintf("key%d", i), "v")
	}
	if got := tg.mustDo(l, Read, "GET", "key199"); got != "$1\r\nv\r\n" {
		t.Fatalf("read while a snapshot is held: got %q", got)
	}
	if n := tg.reps[lag].Stats().Installed.Load(); n != 0 {
		t.Fatalf("the lagging replica installed %d snapshots while they were held", n)
	}
	release()
	eventually(t, "the lagging replica to catch up", func() bool {
		return tg.reps[lag].Status().Applied >= tg.reps[l].Status().Applied
	})
	if got, _ := tg.do(lag, Stale, "GET", "key199"); got != "$1\r\nv\r\n" {
		t.Fatalf("key199 on the caught-up replica: got %q", got)
	}
}

// failingStorage is a MemStorage whose Saves fail once fail is set, as a
// disk whose fsync failed.
type failingStorage struct {
	*MemStorage
	fail *atomic.Bool
}

func (s failingStorage) Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error {
	if s.fail.Load() {
		return errors.New("fdatasync: input/output error")
	}
	return s.MemStorage.Save(hs, ents, sync)
}

// A replica whose log cannot be saved stops and says so; the others go on.
func TestGroupStorageFailure(t *testing.T) {
	fails := map[*MemStorage]*atomic.Bool{}
	failed := make(chan error, 3)
	tg := newTestGroupWith(t, func(c *GroupConfig) {
		c.OnStorageError = func(err error) { failed <- err }
	}, func(s *MemStorage) Storage {
		if fails[s] == nil {
			fails[s] = new(atomic.Bool)
		}
		return failingStorage{s, fails[s]}
	})
	l := tg.leader()
	tg.mustDo(l, Write, "SET", "a", "1")
	f := tg.follower(l)
	fails[tg.stores[f]].Store(true)
	tg.mustDo(l, Write, "SET", "b", "2") // reaches the failing replica too
	select {
	case err := <-failed:
		if !strings.Contains(err.Error(), "input/output error") {
			t.Fatalf("OnStorageError got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the replica whose storage failed did not report it")
	}
	eventually(t, "the failed replica to stop", func() bool { return tg.reps[f].stopped.Load() })
	for i := range 20 {
		tg.mustDo(l, Write, "SET", fmt.Sprintf("k%d", i), "v")
	}
	if got := tg.mustDo(l, Read, "GET", "k19"); got != "$1\r\nv\r\n" {
		t.Fatalf("the others after one replica failed: got %q", got)
	}
}

// TestGroupSubmitWhileStopping submits requests from several goroutines
// while a replica stops: every request is answered, the last ones with
// ErrStopped, including one that went into the queue after the replica's
// last look at it.
func TestGroupSubmitWhileStopping(t *testing.T) {
	for round := range 10 {
		tg := newTestGroup(t, nil)
		g := tg.reps[1]
		const submitters = 4
		var started, wg sync.WaitGroup
		started.Add(submitters)
		for range submitters {
			wg.Go(func() {
				first := true
				for {
					ch := make(chan error, 1)
					g.Submit(&Request{Cmds: [][][]byte{{[]byte("GET"), []byte("k")}}, Proto: 2, Mode: Stale,
						Done: func(_ []byte, _ []int, err error) { ch <- err }})
					var err error
					select {
					case err = <-ch:
					case <-time.After(10 * time.Second):
						t.Errorf("round %d: a request submitted while the replica stopped was never answered", round)
						return
					}
					if first {
						started.Done()
						first = false
					}
					if errors.Is(err, ErrStopped) {
						return
					}
				}
			})
		}
		started.Wait()
		tg.cancels[1]()
		wg.Wait()
		if t.Failed() {
			return
		}
	}
}

// A replica that learns of a new leader can tell a handed-over leadership
// from an election: it heard from the old leader until the transfer, and
// had not, for an election timeout, when the others elected another in its
// place (what Node.leaderChanged decides by).
func TestGroupHeardLatelyTellsTransferFromElection(t *testing.T) {
	type seen struct {
		at, lead uint64
		heard    bool
	}
	var (
		mu     sync.Mutex
		events []seen
		old    atomic.Uint64 // the leader being replaced
	)
	tg := newTestGroupEach(t, nil, func(id uint64, c *GroupConfig) {
		c.OnLeader = func(lead uint64, heardLately func(uint64) bool) {
			if lead == 0 {
				return
			}
			mu.Lock()
			events = append(events, seen{at: id, lead: lead, heard: heardLately(old.Load())})
			mu.Unlock()
		}
	}, nil)
	// waitSeen waits until replica at learns that lead leads, and returns
	// whether it had heard from the old leader lately then.
	waitSeen := func(at, lead uint64) bool {
		var heard bool
		eventually(t, fmt.Sprintf("replica %d to learn that %d leads", at, lead), func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range events {
				if e.at == at && e.lead == lead {
					heard = e.heard
					return true
				}
			}
			return false
		})
		return heard
	}

	l := tg.leader()
	to := tg.follower(l)
	third := 6 - l - to
	tg.mustDo(l, Write, "SET", "k", "v")
	old.Store(l)
	mu.Lock()
	events = nil
	mu.Unlock()
	tg.reps[l].Step(&raftpb.Message{Type: raftpb.MsgTransferLeader.Enum(), From: new(to), To: new(l)})
	if !waitSeen(third, to) {
		t.Errorf("replica %d had not heard lately from %d, which handed its leadership over to %d", third, l, to)
	}

	old.Store(to)
	mu.Lock()
	events = nil
	mu.Unlock()
	tg.net.isolate(to, true)
	next := tg.leader(to)
	other := 6 - to - next
	if waitSeen(other, next) {
		t.Errorf("replica %d had heard lately from %d, cut off before %d was elected", other, to, next)
	}
}

// A replica that lost its leader knows of an election under way only once
// a newer term began (it campaigns, or was asked for its vote), not while
// it is merely cut off: a node redirecting clients sends them to the last
// leader it heard of in the second case, and keeps them in the first,
// where that leader may send them back.
func TestGroupElectingOnlyInANewTerm(t *testing.T) {
	tg := newTestGroup(t, nil)
	l := tg.leader()
	f := tg.follower(l)
	c := 6 - l - f
	tg.mustDo(l, Write, "SET", "k", "v")
	fr := tg.reps[f]
	// The write may commit with the third replica's answer before this
	// one has heard from the leader in its term.
	eventually(t, "the follower to hear from its leader", func() bool { return fr.Leader() == l })
	if fr.electing() {
		t.Fatalf("replica %d, which follows leader %d, reports an election under way", f, l)
	}
	// Cut off from its leader, with the third replica stopped: the
	// follower pre-campaigns in vain, in the leader's term.
	tg.stop(c)
	tg.net.isolate(l, true)
	eventually(t, "the follower to lose its leader", func() bool { return fr.Leader() == 0 })
	term := fr.Status().Term
	if fr.electing() {
		t.Fatalf("replica %d, cut off from leader %d in term %d, reports an election under way", f, l, term)
	}
	// Asked for its vote in a newer term, which nobody can win now.
	fr.Step(&raftpb.Message{Type: raftpb.MsgVote.Enum(), From: new(c), To: new(f), Term: new(term + 1),
		LogTerm: new(term + 1), Index: new(uint64(1 << 40))})
	eventually(t, "the follower to enter the newer term", func() bool { return fr.Status().Term > term })
	if !fr.electing() {
		t.Fatalf("replica %d, with no leader in term %d after one in term %d, reports no election under way",
			f, fr.Status().Term, term)
	}
}

// A write that a leader cut off logged alone, and that the next leader's
// entries replaced, ends with ErrTryAgain as soon as the old leader applies
// those entries: nothing of it took effect, so it may be retried. Before,
// it waited for its time to end with ErrUnknown.
func TestGroupOverwrittenWriteEndsTryAgain(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.WriteTimeout = time.Minute })
	old := tg.leader()
	tg.mustDo(old, Write, "SET", "k", "before")
	og := tg.reps[old]
	proposals := og.Stats().Proposals.Load()
	tg.net.isolate(old, true)
	done := tg.doAsync(old, Write, "SET", "k", "lost")
	eventually(t, "the cut-off leader to propose the write", func() bool {
		return og.Stats().Proposals.Load() > proposals
	})
	nl := tg.leader(old)
	tg.mustDo(nl, Write, "SET", "k", "after")
	tg.net.isolate(old, false)
	if r := awaitRejoined(t, done, "the overwritten write"); !errors.Is(r.err, ErrTryAgain) {
		t.Fatalf("the overwritten write ended with %q, %v; want ErrTryAgain", r.reply, r.err)
	}
	if n := og.Stats().Overwritten.Load(); n != 1 {
		t.Errorf("overwritten writes counted: %d, want 1", n)
	}
	eventually(t, "the old leader to apply the new leader's write", func() bool {
		r, _ := tg.do(old, Stale, "GET", "k")
		return r == "$5\r\nafter\r\n"
	})
}

// doResult is what a request submitted with doAsync ended with.
type doResult struct {
	reply string
	err   error
}

// doAsync submits one command to replica id and returns where its reply or
// error will come.
func (tg *testGroup) doAsync(id uint64, mode Mode, args ...string) <-chan doResult {
	ch := make(chan doResult, 1)
	go func() {
		r, err := tg.do(id, mode, args...)
		ch <- doResult{r, err}
	}()
	return ch
}

// awaitRejoined returns what the request behind done ended with, failing
// the test if it has not ended 10 s after its leader rejoined the group.
func awaitRejoined(t *testing.T, done <-chan doResult, what string) doResult {
	t.Helper()
	return testutil.Receive(t, done, 10*time.Second, what+", its leader rejoined")
}

// logUncommitted has leader old propose a write with args that a follower
// logs and that cannot commit under old: the followers' answers are lost
// (Raft then sends the other follower empty appends only, its one append
// in flight never answered). Then old is cut off. Only that follower can win
// the next election, the other's log being behind, and it commits the write.
func (tg *testGroup) logUncommitted(old uint64, args ...string) <-chan doResult {
	tg.t.Helper()
	var reached atomic.Bool
	tg.net.mu.Lock()
	tg.net.drop = func(from, to uint64, m *raftpb.Message) bool {
		if from == old && m.GetType() == raftpb.MsgApp {
			for _, e := range m.GetEntries() {
				if strings.Contains(string(e.GetData()), args[1]) {
					reached.Store(true)
				}
			}
		}
		return to == old && m.GetType() == raftpb.MsgAppResp
	}
	tg.net.mu.Unlock()
	done := tg.doAsync(old, Write, args...)
	eventually(tg.t, "the write to reach a follower", reached.Load)
	tg.net.isolate(old, true)
	tg.net.mu.Lock()
	tg.net.drop = nil
	tg.net.mu.Unlock()
	return done
}

// A write whose entry reached a follower before its leader was cut off is
// committed by the next leader: the old leader, applying it once it
// rejoins, answers it with its reply, although the next leader's own
// entries (of a newer term) apply right after it. Ending it ErrTryAgain at
// the change of leader would have it retried, and applied twice.
func TestGroupWriteKeptByNextLeaderIsAnswered(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) { c.WriteTimeout = time.Minute })
	old := tg.leader()
	tg.mustDo(old, Write, "SET", "k", "before")
	og := tg.reps[old]
	done := tg.logUncommitted(old, "INCRBY", "kept", "5")
	nl := tg.leader(old)
	if got := tg.mustDo(nl, Read, "GET", "kept"); got != "$1\r\n5\r\n" {
		t.Fatalf("the new leader reads %q, want the write its predecessor logged", got)
	}
	tg.net.isolate(old, false)
	if r := awaitRejoined(t, done, "the write kept by the next leader"); r.err != nil || r.reply != ":5\r\n" {
		t.Fatalf("the write kept by the next leader ended with %q, %v; want :5", r.reply, r.err)
	}
	if n := og.Stats().Overwritten.Load(); n != 0 {
		t.Errorf("overwritten writes counted: %d, want 0", n)
	}
}

// An old leader that rejoins too late for the next leader's log, and gets
// its snapshot instead, cannot tell whether its waiting write is in it (here
// it is): the write ends with ErrUnknown once the snapshot is installed, not
// ErrTryAgain, and not when its time is up.
func TestGroupWriteInSnapshotEndsUnknown(t *testing.T) {
	tg := newTestGroup(t, func(c *GroupConfig) {
		c.WriteTimeout = time.Minute
		c.SnapshotEntries, c.CompactKeep = 50, 5
	})
	old := tg.leader()
	tg.mustDo(old, Write, "SET", "k", "before")
	og := tg.reps[old]
	done := tg.logUncommitted(old, "INCRBY", "kept", "5")
	nl := tg.leader(old)
	for i := range 120 {
		tg.mustDo(nl, Write, "SET", fmt.Sprintf("k%d", i), "v")
	}
	eventually(t, "the new leader to snapshot its log", func() bool { return tg.reps[nl].Stats().Snapshots.Load() > 0 })
	tg.net.isolate(old, false)
	if r := awaitRejoined(t, done, "the write in the snapshot"); !errors.Is(r.err, ErrUnknown) {
		t.Fatalf("the write in the snapshot ended with %q, %v; want ErrUnknown", r.reply, r.err)
	}
	if og.Stats().Installed.Load() == 0 {
		t.Fatal("the old leader caught up without a snapshot")
	}
	if got := tg.mustDo(nl, Read, "GET", "kept"); got != "$1\r\n5\r\n" {
		t.Fatalf("GET kept: %q, want 5", got)
	}
}

// TestGroupSendAllocatesNothing: handing Raft's messages to the transport
// allocates nothing per message (a snapshot's goroutine is made for
// snapshots only).
func TestGroupSendAllocatesNothing(t *testing.T) {
	keepLogs(t)
	cfg := DefaultGroupConfig()
	cfg.ReplicaID, cfg.Peers = 1, []uint64{1, 2, 3}
	st := &MemStorage{}
	cfg.Storage, cfg.State = st, st.State()
	sent := 0
	cfg.Send = func(uint64, *raftpb.Message) bool { sent++; return true }
	g, err := NewGroup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*raftpb.Message{
		{Type: new(raftpb.MsgApp), To: new(uint64(2)), Entries: []*raftpb.Entry{{Data: []byte("x")}}},
		{Type: new(raftpb.MsgApp), To: new(uint64(3))},
		{Type: new(raftpb.MsgAppResp), To: new(uint64(2))},
	}
	if got := testing.AllocsPerRun(100, func() { g.send(msgs) }); got != 0 {
		t.Errorf("sending %d messages: %v allocations, want 0", len(msgs), got)
	}
	if sent == 0 || sent%len(msgs) != 0 {
		t.Errorf("%d messages handed over, want a multiple of %d", sent, len(msgs))
	}
}
