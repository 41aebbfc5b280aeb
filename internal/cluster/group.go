package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/latency"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/slowlog"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Mode says how a Request's commands are run.
type Mode uint8

const (
	// Write commands go through the group's log: they run on every
	// replica once a majority has the entry, and the reply comes from the
	// proposer's own replica.
	Write Mode = iota
	// Read commands run on the leader's applied state once a ReadIndex
	// round has confirmed that it is still the leader and its state has
	// caught up with everything committed before the read arrived:
	// linearizable, and no log entry.
	Read
	// Stale commands run at once on whatever the local replica has applied
	// (READONLY connections in Redis Cluster).
	Stale
	// Acks asks the leader how many of the group's other replicas have
	// logged its entries up to an index (WAIT, wait.go); Cmds holds the
	// one command "acks" with the index, 0 for the last of the leader's log.
	// Nothing runs on the keyspace.
	Acks
)

// Request is a run of commands for one group, whose replies come back
// together. The submitter owns it until Done is called.
type Request struct {
	// Cmds are the commands' arguments, the name first. They must stay
	// unchanged until Done is called.
	Cmds [][][]byte
	// Proto is the RESP version of the replies (2 or 3), or 0 for the
	// line protocol's commands and replies.
	Proto int
	Mode  Mode
	// Done is called once with the replies, one after the other, Ends[i]
	// being the end of the reply to Cmds[i]; or with an error and no
	// replies. It runs on the group's goroutine (or a peer's, or a
	// timer's), must not block, and must not keep ends after it returns,
	// nor reply unless Own is set.
	Done func(reply []byte, ends []int, err error)
	// Own asks for the replies in memory the submitter may keep: a
	// leader on this node writes them straight into Buf, or into a larger
	// buffer of its own that it gives in exchange for Buf, and a leader on
	// another node sends them in a frame of their own. Done is then
	// called, without error, with reply == Buf[:len(reply)], Buf being
	// the buffer the replies are in, and the submitter keeps it: no one
	// else writes to it once Done is called. When the replies
	// arrive elsewhere (a script's, those of commands that followed a
	// moving slot), they are copied into Buf. With an error, Buf is left
	// as it was.
	Own bool
	// Buf is memory for the replies of a request with Own set, which the
	// submitter gives up (nil: none). The group writes into it only on its
	// goroutine, between taking the request and calling Done.
	Buf []byte

	deadline time.Time
	start    time.Time
	// term is the Raft term of the entry a write was proposed in.
	term uint64

	// Set by Node.Do, which retries a request that was never run.
	node  *Node
	group int
	until time.Time
	hops  int  // groups it was sent on to while slots move (redirect.go)
	ask   bool // answer ASK for a key in another group, as Redis Cluster
	tries int  // times it was told to try again
	// asked marks commands that the group their slot is leaving sent on,
	// having none of their keys (a "moved" answer, or a client's ASKING):
	// the slot's importing group runs them (migrate.go).
	asked bool

	// client is the client that sent the commands, for the slow log, when
	// it is this node's; nil otherwise.
	client slowlog.Client

	// Set by the group (effects.go): the request runs a script, and the
	// reply of the leader's run that answers it once its effects apply.
	scripted bool
	pre      []byte
	preEnds  []int
	hasPre   bool
}

// Errors a Request can end with.
var (
	// ErrNotLeader means the replica is not its group's leader: nothing
	// was done, and the request may be sent to the leader.
	ErrNotLeader = errors.New("cluster: not the group's leader")
	// ErrBusy means the group's queue was full: nothing was done.
	ErrBusy = errors.New("cluster: group queue full")
	// ErrTryAgain means the group could not take the request now (no
	// leader, a leadership change, too many uncommitted entries): nothing
	// was done, and it may be retried.
	ErrTryAgain = errors.New("cluster: try again")
	// ErrUnknown means a write was proposed but was not seen committed in
	// time: it may or may not take effect.
	ErrUnknown = errors.New("cluster: outcome unknown")
	// ErrStopped means the group has stopped.
	ErrStopped = errors.New("cluster: group stopped")
)

// Storage keeps a group's Raft log durable. It is used by the group's
// goroutine only, but for WriteSnapshotFrom.
type Storage interface {
	// Save appends entries and the hard state; an entry whose index was
	// saved before replaces it and every later one. With sync, it returns
	// once they are as durable as the storage's policy makes them. It is
	// called once per Raft Ready, with a nil hard state when there is
	// none to save: the group keeps back one that only moves the commit
	// index and passes it with the next entries, so a recovered commit
	// index may be older than the last one Raft reported.
	Save(hs *raftpb.HardState, ents []*raftpb.Entry, sync bool) error
	// SaveSnapshot stores snap durably, after which entries up to its
	// index may be forgotten.
	SaveSnapshot(snap *raftpb.Snapshot) error
	// WriteSnapshotFrom and MarkSnapshot are SaveSnapshot in two steps,
	// so that a replica goes on while its own snapshot is written:
	// WriteSnapshotFrom stores durably the snapshot of metadata md whose
	// data, size bytes, write writes to the writer it is given, a part at
	// a time, so that the data is never whole in memory; it may run on
	// another goroutine, concurrently with the other methods. A snapshot
	// whose data is not size bytes is not stored. MarkSnapshot, called
	// after it, lets entries up to index be forgotten.
	WriteSnapshotFrom(md *raftpb.SnapshotMetadata, size int, write func(io.Writer) error) error
	MarkSnapshot(index, term uint64) error
	// ReadSnapshot returns the snapshot at index that was stored, to send
	// to a replica: the group keeps only the metadata of its latest
	// snapshot in memory. It may run on any goroutine, concurrently with
	// the other methods, and fails once a newer snapshot replaced it.
	ReadSnapshot(index uint64) (*raftpb.Snapshot, error)
}

// State is what a group's Storage recovered: the latest snapshot, the hard
// state and the entries after the snapshot.
type State struct {
	HardState *raftpb.HardState
	Snapshot  *raftpb.Snapshot
	Entries   []*raftpb.Entry
	// SnapshotData, when set, reads the snapshot's data, which Snapshot
	// then lacks: the replica rebuilds its keyspace as it reads, a part
	// at a time (raftlog.GroupLog.SnapshotData). A nil reader means no
	// data.
	SnapshotData func() (io.ReadCloser, error)
}

// empty reports whether s holds nothing, as for a replica never started.
func (s State) empty() bool {
	return (s.HardState == nil || raft.IsEmptyHardState(s.HardState)) &&
		(s.Snapshot == nil || raft.IsEmptySnap(s.Snapshot)) && len(s.Entries) == 0
}

// GroupConfig sets up one replica of a shard group.
type GroupConfig struct {
	// ID is the group's number in the placement table.
	ID int
	// ReplicaID is this replica's Raft id, unique within the group and
	// never 0.
	ReplicaID uint64
	// Peers are the Raft ids of the group's founding replicas, this one
	// included; used only when State is empty. Born marks a group founded
	// in a running cluster, which its founding configuration makes strict
	// (migrate.go).
	Peers []uint64
	Born  bool
	// OnLeader, when set, is called on the group's goroutine each time the
	// replica learns of a new leader (0 while there is none), with
	// heardLately (Group.heardLately) to ask whether a replica was heard
	// from just before. It must not block.
	OnLeader func(lead uint64, heardLately func(replica uint64) bool)
	// OnApply, when set, is called on the group's goroutine after the
	// replica applied an entry of commands, with their arguments and
	// their replies (reply[ends[i-1]:ends[i]] answers cmds[i]), and with
	// nil cmds after it installed a snapshot, which may change any key. It
	// must not block nor keep cmds or reply.
	OnApply func(cmds [][][]byte, reply []byte, ends []int)
	// OnStorageError, when set, is called on the group's goroutine when
	// the replica stops because its Storage failed to save (a failed
	// write or fsync). It must not block.
	OnStorageError func(err error)
	// Preferred is the replica that should lead the group, so that leaders
	// spread evenly over the nodes: a leader hands leadership over to it
	// once it is up to date. 0 for none.
	Preferred uint64
	// Storage keeps the log; State is what it held at start.
	Storage Storage
	State   State
	// Send hands a message to the transport. It must not block; it reports
	// false when the message was dropped.
	Send func(to uint64, m *raftpb.Message) bool

	// Tick is one Raft clock tick (100 ms); the election timeout is
	// ElectionTicks ticks (10), heartbeats go out every HeartbeatTicks (1).
	Tick           time.Duration
	ElectionTicks  int
	HeartbeatTicks int
	// QueueSize bounds the requests waiting for the group (1024); more
	// are refused with ErrBusy.
	QueueSize int
	// WriteTimeout bounds how long a proposed write waits to be applied
	// before it ends with ErrUnknown, and a read before ErrTryAgain (2 s).
	WriteTimeout time.Duration
	// SnapshotEntries is how many applied entries trigger a snapshot
	// (100000, as etcd), as does the node's shared log once it holds
	// SnapshotMinBytes for each group that shares it and has moved past a
	// segment that holds the group's entries (pinner); both wait for
	// growth past SnapshotMinBytes. The in-memory log keeps CompactKeep
	// applied entries (5000), of at most CompactKeepBytes of data (4 MiB),
	// besides those a replica of the group still lacks, within MaxLogBytes
	// (trimLog): checked every election timeout, and on a follower after
	// each Ready that leaves over 4 CompactKeepBytes (a replica replaying
	// its log at a start).
	SnapshotEntries  uint64
	CompactKeep      uint64
	CompactKeepBytes uint64
	// SnapshotMinBytes: a group whose last snapshot is at least this large
	// (64 MiB) takes the next one only once the node's log on disk, or the
	// entries it applied since, are as large as that snapshot, as Redis
	// rewrites its AOF once it has doubled: snapshots of a large keyspace
	// cost about what was written since, not a whole keyspace per 64 MiB
	// of log. Smaller groups snapshot by the rules above alone.
	SnapshotMinBytes uint64
	// MaxLogBytes bounds the data of the entries a group keeps in memory
	// (64 MiB; 0: no bound): past it, those applied are dropped from the
	// oldest until half of it is left, even past the latest snapshot. A
	// replica that falls behind them is sent a snapshot built from the
	// keyspace (memLog).
	MaxLogBytes uint64
	// ExpireSample is how many keys with an expiry the leader samples per
	// tick to log the removal of those that have expired (64).
	ExpireSample int
	// MaxInflight bounds the append messages in flight to each follower
	// (1). With one, entries proposed while a message is in flight go
	// together in the next: fewer, larger appends, hence fewer log writes
	// and messages per write on the followers, which on a LAN serves more
	// writes per second than a deep pipeline (measured in the README).
	MaxInflight int
	// MaxUncommitted bounds the bytes of proposals not yet committed
	// (64 MiB); past it proposals end with ErrTryAgain.
	MaxUncommitted uint64
	// ReadLease lets the leader serve linearizable reads from its own
	// state, without a ReadIndex round each, for a while after a quorum
	// acknowledged it (lease.go); on by default (see the README).
	ReadLease bool
	// Logger receives the group's logs; nil means slog.Default().
	Logger *slog.Logger
	// Notify, when set, publishes the keyspace events of the entries this
	// replica proposed, as it applies them, so that each is published once,
	// by the node that answers the write, before it answers (see
	// notify.Notifier.When and Group.announce).
	Notify *notify.Notifier
	// Track, when set, is told on the group's goroutine of every key the
	// entries this replica proposed change (nil: every key, by a flush)
	// while TrackOn is set: the clients that track keys on any node are
	// sent their invalidations from it (tracking.go). It must not block.
	Track   func(key []byte)
	TrackOn *atomic.Bool
	// Scripts runs the scripts and functions sent to the group: the
	// leader's dry runs, whose effects are logged (effects.go), the reads
	// of READONLY connections, and the entries of older logs that hold
	// scripts (server.ClusterRun); nil answers them with an error.
	Scripts *script.Engine
	// Paused, when set, says whether the node's clients are paused
	// (CLIENT PAUSE): while it is, a leader proposes no expiry, as a
	// paused Redis expires no keys. Read on the group's goroutine.
	Paused *atomic.Bool
	// Eviction, when set, returns the replica's share of the node's
	// --maxmemory and the policy; read on the group's goroutine every tick.
	// Only a leader evicts, through its log (evict.go).
	Eviction func() keyspace.Eviction

	// Stats, Slow and Latency, when set, count and time the commands the
	// replica runs (INFO commandstats and latencystats, SLOWLOG, LATENCY):
	// the node's, shared by its groups.
	Stats   *cmdstat.Table
	Slow    *slowlog.Log
	Latency *latency.Monitor

	// yield, when set, replaces runtime.Gosched where the run goroutine
	// lets the connections about to send run first (tests).
	yield func()
}

// DefaultGroupConfig returns the defaults of the fields that have one.
func DefaultGroupConfig() GroupConfig {
	return GroupConfig{
		Tick: 100 * time.Millisecond, ElectionTicks: 10, HeartbeatTicks: 1,
		QueueSize: 1024, WriteTimeout: 2 * time.Second,
		SnapshotEntries: 100000, CompactKeep: 5000, CompactKeepBytes: 4 << 20, ExpireSample: 64,
		SnapshotMinBytes: 64 << 20, MaxLogBytes: 64 << 20,
		MaxUncommitted: 64 << 20, MaxInflight: 1, ReadLease: true,
	}
}

// Validate reports whether c can be used.
func (c GroupConfig) Validate() error {
	switch {
	case c.ReplicaID == 0:
		return errors.New("cluster: replica id must not be 0")
	case c.Storage == nil || c.Send == nil:
		return errors.New("cluster: a group needs a storage and a send function")
	case c.Tick <= 0 || c.ElectionTicks <= c.HeartbeatTicks || c.HeartbeatTicks < 1:
		return fmt.Errorf("cluster: bad tick settings %v/%d/%d", c.Tick, c.ElectionTicks, c.HeartbeatTicks)
	case c.QueueSize < 1 || c.WriteTimeout <= 0 || c.SnapshotEntries < 1 || c.ExpireSample < 1 || c.MaxInflight < 1:
		return errors.New("cluster: queue size, write timeout, snapshot entries, expire sample and max inflight must be positive")
	}
	return nil
}

// Group is one replica of a shard group: a Raft node and the keyspace it
// applies committed entries to, both owned by the goroutine that calls Run.
// Submit, Step and the status methods are safe for concurrent use.
type Group struct {
	cfg GroupConfig
	log *slog.Logger

	in       chan *Request
	msgs     chan *raftpb.Message
	snapDone chan snapWritten
	snapSent chan snapSent
	done     chan struct{} // closed when the replica stops

	// Owned by the run goroutine.
	rec *cmdstat.Recorder // nil: the group counts nothing (GroupConfig.Stats)
	ran ranCmds           // the run's counted commands
	rn  *raft.RawNode
	ms  *memLog
	eng engine // db's
	db  *keyspace.DB
	cx  command.Ctx
	// ahead and specs serve run: what its commands look up, read ahead
	// together, and the commands' specs, looked up once.
	ahead shard.Lookahead
	specs []*command.Spec
	batch []commandsEntry // an entryBatch's writes, decoded (applyBatch)
	// pcg and rng are the random source of the commands of an applied
	// entry, seeded from the entry's origin and sequence number so that
	// every replica makes the same random choices (SPOP and the like).
	pcg      *rand.PCG
	rng      *rand.Rand
	one      *ring.Ring // a one-shard ring for the command context
	w        resp.Writer
	ends     []int
	lentLen  int // the length of the last replies written for a request's own (lend)
	conf     *raftpb.ConfState
	applied  uint64
	snapshot uint64 // index of the last snapshot taken or installed
	snapping bool   // a snapshot is being written; snapDone tells when
	// snapBytes is the size of the last snapshot written or installed,
	// sinceBytes the data of the entries applied since it was taken.
	snapBytes, sinceBytes uint64

	isLeader bool
	seq      uint64
	// firstSeq is seq when the replica started. announce tells whether
	// this replica sends the keyspace events and invalidations of what it
	// runs now: the entry being applied is one it proposed since it started
	// (for expiries, which carry no origin: it leads), or a read it answers.
	// So each is sent once, by the replica that answers the command, before
	// it answers, whatever its role when the entry applies, and not again
	// when a restarted replica replays its log.
	firstSeq uint64
	announce bool
	waiters  map[uint64]*Request
	// appliedTerm is the term of the last entry applied, or of the
	// snapshot installed since (dropOverwritten).
	appliedTerm uint64
	reads       []*Request            // waiting for the next ReadIndex round
	rounds      map[uint64]*readRound // ReadIndex rounds under way, by context
	nextRead    uint64
	ticks       uint64
	owedHS      *raftpb.HardState // a hard state not saved yet (toSave)
	expiring    time.Time         // while an expiry entry is in flight: when to give up on it
	expBuf      [][]byte
	evicting    time.Time // while an eviction entry is in flight: when to give up on it
	victims     [][]byte
	oom         bool // over the limit with nothing to evict: the writes proposed now are refused (protoOOM)
	buf         []byte
	// Writes taken since the last proposal, proposed together (batch.go).
	queue []*Request
	mv    moves // this replica's share of slot migrations (migrate.go)

	// Scripts (effects.go): requests waiting for the replica to have
	// applied all it proposed, and while a script runs on a goroutine of
	// its own (holding), what waits for it to end.
	held     []*Request
	holding  bool
	fx       *effects
	later    []*Request
	stash    []*raftpb.Entry
	snapMsgs []*raftpb.Message
	busyMsg  string
	busyStop <-chan struct{}
	busyNote chan busyNote
	// own is held by whoever runs on the state above: see TryRead.
	own sync.Mutex
	// The term and commit index of the last hard state, and the read
	// lease (lease.go): reads may be served alone before lease in
	// leaseTerm; none in term noLease; renew asks for a round; a
	// restarted replica gives no vote before voteAfter.
	curTerm   uint64
	committed uint64
	lease     time.Time
	leaseTerm uint64
	noLease   uint64
	renew     bool
	voteAfter time.Time

	// Published for other goroutines.
	leader     atomic.Uint64
	term       atomic.Uint64
	leaderTerm atomic.Uint64 // the term of the last leader it knew of
	commit     atomic.Uint64
	appliedAt  atomic.Uint64
	keysCount  atomic.Int64
	expires    atomic.Int64 // keys with an expiry, as of the last tick
	memUsed    atomic.Int64 // the keyspace's memory estimate, as of the last tick
	stats      GroupStats
	stopped    atomic.Bool

	// Membership (members.go): the voters wanted, the configuration last
	// applied, and until when a proposed change is awaited.
	want     atomic.Pointer[members]
	members  atomic.Pointer[raftpb.ConfState]
	confWait time.Time
	heard    map[uint64]uint64 // the tick each replica was last heard from at
	removed  atomic.Bool       // see Removed
}

// readRound is one ReadIndex round: the reads it serves and, once Raft has
// answered, the index the state must reach first.
type readRound struct {
	reqs  []*Request
	index uint64
	ready bool
	start time.Time // when it was asked for, before its heartbeats left
	term  uint64
}

// GroupStats counts a group's events; every field is updated atomically.
type GroupStats struct {
	LeaderChanges atomic.Int64
	Proposals     atomic.Int64
	ProposalNanos atomic.Int64 // summed from proposal to apply, on the proposer
	Reads         atomic.Int64 // linearizable reads served, under a lease or not
	ReadRounds    atomic.Int64 // ReadIndex rounds started, lease renewals included
	LeaseReads    atomic.Int64 // reads served under the lease, without a round
	Dropped       atomic.Int64 // proposals Raft refused
	Unknown       atomic.Int64 // writes that timed out
	Overwritten   atomic.Int64 // writes whose entries a later leader replaced: not applied
	Snapshots     atomic.Int64 // taken by this replica
	Installed     atomic.Int64 // received from the leader and installed
	Readies       atomic.Int64 // Raft Ready cycles handled
	LogWrites     atomic.Int64 // Saves: Ready cycles with entries or a hard state to save
	Apps          atomic.Int64 // appends (MsgApp) sent
	AppEntries    atomic.Int64 // entries in the appends sent
	AppResps      atomic.Int64 // append responses (MsgAppResp) sent
	Stepped       atomic.Int64 // messages from peers stepped into Raft
	Trims         atomic.Int64 // in-memory log compactions by MaxLogBytes
	LogBytes      atomic.Int64 // data of the entries in memory, as of the last check (every election timeout)
	Evicted       atomic.Int64 // keys evicted by entries this replica applied as the leader

	// This replica's snapshots, for SAVE, LASTSAVE and INFO persistence
	// (save.go).
	Saving     atomic.Bool   // one is being written
	SavedIndex atomic.Uint64 // the index the last one written (or a SAVE that found nothing to add) covers
	SavedAt    atomic.Int64  // when it was written, Unix nanoseconds; 0: none since the start
	SaveFailed atomic.Bool   // the last one's write failed
}

// NewGroup returns a replica set up by cfg; call Run to start it.
func NewGroup(cfg GroupConfig) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Group{
		cfg:      cfg,
		log:      cfg.Logger,
		in:       make(chan *Request, cfg.QueueSize),
		msgs:     make(chan *raftpb.Message, 4096),
		snapDone: make(chan snapWritten, 1),
		snapSent: make(chan snapSent, 8),
		done:     make(chan struct{}),
		ms:       newMemLog(),
		waiters:  make(map[uint64]*Request),
		rounds:   make(map[uint64]*readRound),
		heard:    make(map[uint64]uint64),
		seq:      uint64(time.Now().UnixNano()),
		busyNote: make(chan busyNote, 1),
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.log = g.log.With("group", cfg.ID)
	if cfg.Stats != nil {
		g.rec = cmdstat.NewRecorder(cfg.Stats, cfg.Slow)
		g.rec.Watch(cfg.Latency)
	}
	g.cx.Cluster = true
	g.eng = newEngine()
	g.db = keyspace.New(g.eng)
	g.db.SetReplica(true)
	g.firstSeq = g.seq
	if cfg.Notify != nil {
		g.db.SetNotifier(cfg.Notify.When(func() bool { return g.announce }))
	}
	if cfg.Track != nil && cfg.TrackOn != nil {
		track := cfg.Track // not cfg, which holds the recovered state
		g.db.SetTracker(tracking.NewRelay(cfg.TrackOn, func(key []byte) {
			if g.announce {
				track(key)
			}
		}))
	}
	var err error
	if g.one, err = ring.New(1, 1); err != nil {
		return nil, err
	}
	// The group holds the keys of its slots only: keys of other slots
	// live in other groups, and may be stale here after a migration.
	g.cx.Slotted = true
	st := cfg.State
	start := time.Now()
	if st.Snapshot != nil && !raft.IsEmptySnap(st.Snapshot) {
		if err := g.ms.ApplySnapshot(st.Snapshot); err != nil {
			return nil, err
		}
		size, err := g.restoreState(st)
		if err != nil {
			return nil, fmt.Errorf("cluster: group %d: %w", cfg.ID, err)
		}
		md := st.Snapshot.GetMetadata()
		g.applied, g.snapshot, g.conf = md.GetIndex(), md.GetIndex(), md.GetConfState()
		g.snapBytes = uint64(size)
	}
	if hs := st.HardState; hs != nil {
		if hs.GetCommit() < g.snapshot {
			// Commit indexes are saved lazily (toSave): the snapshot,
			// of applied and so committed entries, may be newer.
			hs = proto.CloneOf(hs)
			hs.Commit = new(g.snapshot)
		}
		if err := g.ms.SetHardState(hs); err != nil {
			return nil, err
		}
		g.curTerm = hs.GetTerm()
	}
	if !st.empty() && cfg.leaseSpan() > 0 {
		g.voteAfter = time.Now().Add(cfg.Tick * time.Duration(cfg.ElectionTicks))
	}
	if len(st.Entries) > 0 {
		if err := g.ms.Append(st.Entries); err != nil {
			return nil, err
		}
	}
	if !st.empty() {
		g.log.Info("replica recovered from its log", "snapshot_index", g.snapshot, "snapshot_bytes", g.snapBytes,
			"keys", g.db.Len(), "entries", len(st.Entries), "log_bytes", g.ms.Bytes(), "took", time.Since(start).Round(time.Microsecond))
	}
	rc := &raft.Config{
		ID:                        cfg.ReplicaID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   g.ms,
		Applied:                   g.applied,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           cfg.MaxInflight,
		MaxUncommittedEntriesSize: cfg.MaxUncommitted,
		CheckQuorum:               true,
		PreVote:                   true,
		StepDownOnRemoval:         true,
		ReadOnlyOption:            raft.ReadOnlySafe,
		DisableProposalForwarding: true,
		Logger:                    raftLogger{g.log},
	}
	if g.rn, err = raft.NewRawNode(rc); err != nil {
		return nil, err
	}
	g.publishConf()
	// A replica never started bootstraps the group with its founding
	// peers; one added to a running group has none and waits for its
	// leader's snapshot or log.
	if st.empty() && len(cfg.Peers) > 0 {
		peers := make([]raft.Peer, len(cfg.Peers))
		for i, id := range cfg.Peers {
			peers[i] = raft.Peer{ID: id}
			if cfg.Born {
				peers[i].Context = bornContext
			}
		}
		if err := g.rn.Bootstrap(peers); err != nil {
			return nil, err
		}
	}
	// The state is the replica's now: the configuration keeps no copy
	// of the recovered log and snapshot.
	g.cfg.State = State{}
	g.own.Lock() // Run's from its start: no read runs on a replica not started
	return g, nil
}

// restoreState rebuilds the keyspace from the recovered snapshot's data,
// read from st.SnapshotData when set, and returns the data's size.
func (g *Group) restoreState(st State) (int64, error) {
	if st.SnapshotData == nil {
		return int64(len(st.Snapshot.GetData())), g.restore(st.Snapshot.GetData())
	}
	r, err := st.SnapshotData()
	if err != nil {
		return 0, err
	}
	if r == nil {
		return 0, g.restore(nil)
	}
	defer r.Close()
	return g.restoreFrom(r)
}

// ID returns the group's number.
func (g *Group) ID() int { return g.cfg.ID }

// Submit hands r to the group. It never blocks: when the queue is full, or
// the group has stopped, r.Done is called at once with ErrBusy or
// ErrStopped.
func (g *Group) Submit(r *Request) {
	if g.stopped.Load() {
		r.finish(nil, nil, ErrStopped)
		return
	}
	select {
	case g.in <- r:
		if g.stopped.Load() {
			// The group stopped meanwhile, and its last look at the
			// queue may have come before r went in: nothing else will
			// take r.
			g.failQueued()
		}
	default:
		r.finish(nil, nil, ErrBusy)
	}
}

// Step hands the group a message from a peer. It never blocks: a message
// that finds the queue full is dropped, which Raft recovers from.
func (g *Group) Step(m *raftpb.Message) {
	if m.GetTo() != g.cfg.ReplicaID {
		// For another replica of this group number: one that left this
		// node, or of a group removed since (a group added later may
		// reuse its number), whose log is not this one's.
		return
	}
	select {
	case g.msgs <- m:
	default:
	}
}

// Leader returns the Raft id of the replica this one believes leads the
// group, 0 for none.
func (g *Group) Leader() uint64 { return g.leader.Load() }

// Status is a snapshot of a replica's Raft state for INFO and metrics.
type Status struct {
	Leader, Term, Commit, Applied uint64
	Role                          string
	Keys                          int64
	// Expires and Memory are the keys with an expiry and the storage
	// engine's estimate of the keyspace's memory (INFO's used_memory), as
	// of the group's last tick.
	Expires, Memory int64
}

// Status returns the replica's state as last published by its goroutine.
func (g *Group) Status() Status {
	role := "follower"
	if g.stopped.Load() {
		role = "stopped"
	} else if l := g.leader.Load(); l == g.cfg.ReplicaID {
		role = "leader"
	} else if l == 0 {
		role = "candidate"
	}
	return Status{Leader: g.leader.Load(), Term: g.term.Load(), Commit: g.commit.Load(),
		Applied: g.appliedAt.Load(), Role: role, Keys: g.keysCount.Load(),
		Expires: g.expires.Load(), Memory: g.memUsed.Load()}
}

// Stats returns the group's counters.
func (g *Group) Stats() *GroupStats { return &g.stats }

// Run drives the replica until ctx is done. It is called once.
func (g *Group) Run(ctx context.Context) {
	// The state is the run goroutine's (NewGroup took own for it) but
	// while it waits for work (TryRead).
	defer g.own.Unlock()
	t := time.NewTicker(g.cfg.Tick)
	defer t.Stop()
	defer g.stop()
	defer func() {
		// Raft panics when its state cannot be right, as when a replica
		// whose log was lost comes back under its old id. Only this
		// replica is wrong: it stops, and the process and the group's
		// other replicas go on.
		if p := recover(); p != nil {
			g.log.Error("replica stopped: its Raft state is inconsistent (was its data dir lost or damaged?)",
				"panic", p, "stack", string(debug.Stack()))
		}
	}()
	for {
		g.own.Unlock()
		select {
		case <-ctx.Done():
			g.own.Lock()
			return
		case <-t.C:
			g.own.Lock()
			g.proposeQueued()
			g.rn.Tick()
			g.tick()
		case r := <-g.in:
			g.own.Lock()
			g.take(r)
			// Let the connections that are about to send run first, so
			// that their requests share this round's log write and
			// messages. The state is theirs meanwhile: a read among
			// them may run at once (TryRead) instead of queueing here.
			g.own.Unlock()
			if g.cfg.yield != nil {
				g.cfg.yield()
			} else {
				runtime.Gosched()
			}
			g.own.Lock()
			for n := 0; n < 256 && len(g.in) > 0; n++ {
				g.take(<-g.in)
			}
		case m := <-g.msgs:
			g.own.Lock()
			// Requests that arrived meanwhile are proposed first: an
			// append response that frees a follower's slot (MaxInflight)
			// then sends them in the append it triggers, instead of a
			// round later.
			for n := 0; n < 256 && len(g.in) > 0; n++ {
				g.take(<-g.in)
			}
			g.proposeQueued()
			g.step(m)
			for n := 0; n < 256 && len(g.msgs) > 0; n++ {
				g.step(<-g.msgs)
			}
		case sent := <-g.snapSent:
			g.own.Lock()
			g.snapshotSent(sent)
		case w := <-g.snapDone:
			g.own.Lock()
			if err := g.snapshotWritten(w); err != nil {
				g.log.Error("replica stopped: its snapshot could not be saved", "err", err)
				g.storageFailed(err)
				return
			}
		}
		g.proposeWhenSent()
		err := g.process()
		if err == nil {
			err = g.release(ctx, t.C)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			g.log.Error("replica stopped: its log could not be written", "err", err)
			g.storageFailed(err)
			return
		}
	}
}

func (g *Group) storageFailed(err error) {
	if g.cfg.OnStorageError != nil {
		g.cfg.OnStorageError(err)
	}
}

// stop fails every request still waiting, and those that arrive later,
// and waits for a snapshot being written, whose storage is about to close.
func (g *Group) stop() {
	g.stopped.Store(true)
	close(g.done)
	if g.snapping {
		<-g.snapDone
		g.snapping = false
	}
	for seq, r := range g.waiters {
		delete(g.waiters, seq)
		r.finish(nil, nil, ErrUnknown)
	}
	g.failReads(ErrStopped)
	for _, r := range append(append(g.held, g.later...), g.queue...) {
		r.finish(nil, nil, ErrStopped)
	}
	g.held, g.later, g.queue = nil, nil, nil
	g.failQueued()
}

// failQueued fails the requests in the group's queue. Once the group has
// stopped, stop calls it once, and so does every Submit that finds the group
// stopped after it queued its request (see Submit).
func (g *Group) failQueued() {
	for {
		select {
		case r := <-g.in:
			r.finish(nil, nil, ErrStopped)
		default:
			return
		}
	}
}

// alive reports whether replica id was heard from within the last
// election timeout.
func (g *Group) alive(id uint64) bool {
	at, ok := g.heard[id]
	return ok && g.ticks-at < uint64(g.cfg.ElectionTicks)
}

// electing reports whether this replica knows of an election under way:
// it knows no leader, in a term newer than that of the last leader it knew
// (it campaigns, or was asked for its vote). A replica that only lost touch
// with its leader (a pre-candidate, cut off) reports false. Any goroutine
// may call it.
func (g *Group) electing() bool {
	return g.leader.Load() == 0 && g.term.Load() > g.leaderTerm.Load()
}

// heardLately reports whether replica id was heard from within the last
// two heartbeat intervals. A leader that hands its leadership over was
// heard from until the transfer. One replaced by an election was not, for
// an election timeout at least, by the replicas that voted for its
// successor, as none votes while it hears from its leader (CheckQuorum);
// in a group of five, a replica that did not vote may still have. It runs
// on the group's goroutine.
func (g *Group) heardLately(id uint64) bool {
	at, ok := g.heard[id]
	return ok && g.ticks-at <= uint64(2*g.cfg.HeartbeatTicks)
}

func (g *Group) step(m *raftpb.Message) {
	if g.holding && m.GetType() == raftpb.MsgSnap {
		// Installing it would change the keyspace a script has.
		g.snapMsgs = append(g.snapMsgs, m)
		return
	}
	g.heard[m.GetFrom()] = g.ticks
	if g.deafToVote(m) {
		return
	}
	if m.GetType() == raftpb.MsgTransferLeader && g.isLeader {
		g.dropLease() // a transfer asked for by a follower
	}
	g.stats.Stepped.Add(1)
	if err := g.rn.Step(m); err != nil && !errors.Is(err, raft.ErrStepPeerNotFound) {
		g.log.Debug("raft step", "err", err)
	}
}

// take starts a request on the run goroutine.
func (g *Group) take(r *Request) {
	r.hasPre, r.pre, r.preEnds = false, nil, nil // from a run that was not answered
	switch r.Mode {
	case Stale:
		now := time.Now()
		g.db.SetNow(now.UnixMilli())
		own := g.lend(r)
		g.announce = true // a read's events (keymiss) come from the replica that answers it
		g.run(r.Cmds, r.Proto, r.asked, r.client, now)
		g.announce = false
		r.finish(g.giveBack(r, own), g.ends, nil)
	case Acks:
		if !g.isLeader {
			r.finish(nil, nil, ErrNotLeader)
			return
		}
		reply := g.acks(r.Cmds)
		r.finish(reply, []int{len(reply)}, nil)
	case Read:
		if !g.isLeader {
			r.finish(nil, nil, ErrNotLeader)
			return
		}
		now := time.Now()
		r.deadline = now.Add(g.cfg.WriteTimeout)
		if r.scripted = scripted(r); r.scripted {
			g.held = append(g.held, r)
			return
		}
		if g.leased(now) {
			g.stats.LeaseReads.Add(1)
			if g.applied >= g.committed {
				g.serve(r, now)
				return
			}
			// Served once the state has applied what is committed.
			g.nextRead++
			g.rounds[g.nextRead] = &readRound{reqs: []*Request{r}, index: g.committed, ready: true, start: now, term: g.curTerm}
			return
		}
		g.reads = append(g.reads, r)
	default:
		if !g.isLeader {
			r.finish(nil, nil, ErrNotLeader)
			return
		}
		if r.scripted = scripted(r); r.scripted || len(g.held) > 0 {
			g.proposeQueued() // the writes taken before it go first
			r.deadline = time.Now().Add(g.cfg.WriteTimeout)
			g.held = append(g.held, r)
			return
		}
		g.queue = append(g.queue, r)
	}
}

// propose proposes an entry of kind with cmds for r, as of now, under
// sequence number seq; r is answered when it applies. It reports false,
// r ended with ErrTryAgain, when Raft refused it.
func (g *Group) propose(r *Request, kind byte, seq uint64, now time.Time, cmds [][][]byte) bool {
	g.buf = g.appendEntry(g.buf[:0], r, kind, seq, now, cmds)
	if err := g.rn.Propose(g.buf); err != nil {
		g.stats.Dropped.Add(1)
		r.finish(nil, nil, ErrTryAgain)
		return false
	}
	g.proposed(r, seq, now, g.raftTerm())
	return true
}

// raftTerm returns Raft's term. Right after a proposal was taken, it is
// the term of the proposal's entry: only a leader appends proposals
// (DisableProposalForwarding), in its own term. The group's curTerm, from
// the last Ready, could be older.
func (g *Group) raftTerm() uint64 {
	return g.rn.BasicStatus().HardState.GetTerm()
}

// appendEntry appends to dst the data of an entry of kind with cmds for r,
// as of now, under sequence number seq.
func (g *Group) appendEntry(dst []byte, r *Request, kind byte, seq uint64, now time.Time, cmds [][][]byte) []byte {
	dst = append(dst, kind)
	dst = appendU64(dst, g.cfg.ReplicaID)
	dst = appendU64(dst, seq)
	dst = appendU64(dst, uint64(now.UnixMilli()))
	pb := protoByte(r)
	if g.oom {
		pb |= protoOOM
	}
	dst = append(dst, pb)
	return appendCommands(dst, cmds)
}

// proposed records r, proposed under seq at now in an entry of term, as
// waiting for its entry to apply.
func (g *Group) proposed(r *Request, seq uint64, now time.Time, term uint64) {
	r.start, r.deadline, r.term = now, now.Add(g.cfg.WriteTimeout), term
	g.waiters[seq] = r
	g.stats.Proposals.Add(1)
}

// tick runs the group's timers: requests that waited too long, and the
// leader's expiry of keys whose time has come.
func (g *Group) tick() {
	now := time.Now()
	for seq, r := range g.waiters {
		if now.After(r.deadline) {
			delete(g.waiters, seq)
			g.stats.Unknown.Add(1)
			r.finish(nil, nil, ErrUnknown)
		}
	}
	for ctx, rd := range g.rounds {
		if (len(rd.reqs) > 0 && now.After(rd.reqs[0].deadline)) || now.After(rd.start.Add(g.cfg.WriteTimeout)) {
			delete(g.rounds, ctx)
			for _, r := range rd.reqs {
				r.finish(nil, nil, ErrTryAgain)
			}
		}
	}
	g.held = slices.DeleteFunc(g.held, func(r *Request) bool {
		if now.After(r.deadline) {
			r.finish(nil, nil, ErrTryAgain) // never run
			return true
		}
		return false
	})
	if g.holding {
		return // the keyspace is the script's, and nothing is proposed
	}
	g.expires.Store(int64(g.db.ExpiresLen()))
	g.memUsed.Store(g.db.Engine().MemoryUsage())
	if g.cfg.Eviction != nil {
		if ev := g.cfg.Eviction(); ev != g.db.Eviction() {
			g.db.SetEviction(ev)
		}
	}
	if g.isLeader && now.After(g.expiring) && (g.cfg.Paused == nil || !g.cfg.Paused.Load()) {
		g.proposeExpiry(now)
	}
	if g.isLeader {
		g.makeRoom(now)
	}
	g.renewLease(now)
	g.reconfigure(now)
	if g.ticks++; g.isLeader && g.ticks%uint64(g.cfg.ElectionTicks) == 0 {
		g.handOver()
	}
	if g.ticks%uint64(g.cfg.ElectionTicks) == 0 {
		g.trimLog()
	}
	if p, ok := g.cfg.Storage.(pinner); ok && g.ticks%uint64(g.cfg.ElectionTicks) == 0 &&
		g.applied > g.snapshot && g.conf != nil && g.pinned(p) && g.grown() {
		// A group that writes rarely (the metadata group) would keep the
		// node's shared log from ever shrinking.
		if err := g.takeSnapshot(); err != nil {
			g.log.Error("snapshot for the shared log failed", "err", err)
		}
	}
}

// handOver transfers leadership to the preferred replica when it is up to
// date. It runs once per election timeout, and Raft abandons a transfer
// that has not completed within one, so a preferred replica that cannot take
// over costs at most a short pause per timeout.
func (g *Group) handOver() {
	p := g.preferred()
	if p == 0 || p == g.cfg.ReplicaID {
		return
	}
	st := g.rn.Status()
	pr, ok := st.Progress[p]
	// Heard from lately: a replica that stopped answering may still match
	// the commit index of a group that has written nothing since, and a
	// transfer to it would hold proposals back for an election timeout
	// each time.
	if ok && !pr.IsLearner && g.alive(p) && pr.Match >= st.HardState.GetCommit() && st.LeadTransferee == 0 {
		g.log.Info("handing leadership to the preferred replica", "to", p)
		g.transfer(p)
	}
}

// proposeExpiry logs the removal of keys whose time has come. Replicas
// never expire keys on their own clocks: they remove them when they apply
// this entry, at the time the leader put in it.
func (g *Group) proposeExpiry(now time.Time) {
	ms := now.UnixMilli()
	g.db.SetNow(ms)
	g.expBuf = g.db.Expired(g.expBuf[:0], g.cfg.ExpireSample)
	if len(g.expBuf) == 0 {
		return
	}
	g.buf = appendKeys(append(g.buf[:0], entryExpire), ms, g.expBuf)
	clear(g.expBuf)
	if g.rn.Propose(g.buf) == nil {
		g.expiring = now.Add(g.cfg.WriteTimeout)
	}
}

// process handles every Ready Raft has: persist, send, apply, advance.
func (g *Group) process() error {
	// One ReadIndex round at a time: reads that arrive while one is under
	// way wait for it to end and then share the next.
	// A round with no reads renews the lease (lease.go).
	if (len(g.reads) > 0 || g.renew) && g.isLeader && len(g.rounds) == 0 {
		g.nextRead++
		ctx := binary.LittleEndian.AppendUint64(nil, g.nextRead)
		g.rounds[g.nextRead] = &readRound{reqs: g.reads, start: time.Now(), term: g.curTerm}
		g.reads, g.renew = nil, false
		g.rn.ReadIndex(ctx)
		g.stats.ReadRounds.Add(1)
	}
	for g.rn.HasReady() {
		rd := g.rn.Ready()
		g.stats.Readies.Add(1)
		if rd.SoftState != nil {
			g.role(rd.SoftState)
		}
		if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
			if err := g.cfg.Storage.SaveSnapshot(rd.Snapshot); err != nil {
				return err
			}
			if err := g.ms.ApplySnapshot(rd.Snapshot); err != nil {
				return err
			}
		}
		// Raft's requests (a leader's appends and heartbeats, a
		// candidate's vote requests) may leave before the log write, so
		// that a leader's followers write the entries while it does; its
		// answers (append and vote responses) speak for what this replica
		// has logged and leave after the write. Raft puts them last.
		early := leadingRequests(rd.Messages)
		g.send(rd.Messages[:early])
		hs := g.toSave(&rd)
		if hs != nil || len(rd.Entries) > 0 {
			g.stats.LogWrites.Add(1)
		}
		if err := g.cfg.Storage.Save(hs, rd.Entries, rd.MustSync); err != nil {
			return err
		}
		if rd.HardState != nil {
			if err := g.ms.SetHardState(rd.HardState); err != nil {
				return err
			}
			g.curTerm, g.committed = rd.HardState.GetTerm(), rd.HardState.GetCommit()
			g.term.Store(g.curTerm)
			g.commit.Store(g.committed)
		}
		if err := g.ms.Append(rd.Entries); err != nil {
			return err
		}
		g.send(rd.Messages[early:])
		if rd.Snapshot != nil && !raft.IsEmptySnap(rd.Snapshot) {
			if err := g.install(rd.Snapshot); err != nil {
				return err
			}
		}
		for _, e := range rd.CommittedEntries {
			if g.holding {
				g.stash = append(g.stash, e)
				continue
			}
			g.apply(e)
		}
		for _, rs := range rd.ReadStates {
			if len(rs.RequestCtx) == 8 {
				if rd, ok := g.rounds[binary.LittleEndian.Uint64(rs.RequestCtx)]; ok {
					rd.index, rd.ready = rs.Index, true
					g.roundAnswered(rd)
				}
			}
		}
		g.rn.Advance(rd)
		if g.holding {
			continue
		}
		g.keysCount.Store(int64(g.db.Len()))
		g.serveReads()
		if err := g.maybeSnapshot(); err != nil {
			return err
		}
		if k := g.cfg.CompactKeepBytes; k > 0 && !g.isLeader && g.ms.Bytes() > 4*k {
			// A replica replaying its log at a start, or catching up
			// from far behind, applies more in a tick than it may keep.
			g.trimLog()
		}
	}
	return nil
}

// toSave returns the hard state to save with rd's entries. A hard state
// that only moves the commit index, in a Ready with no entries (so not
// rd.MustSync), is kept back instead, and saved with the next entries or
// hard state: the commit index is volatile state in Raft (a replica that
// restarts with an older one learns the newer from the leader, and
// recovery raises it to its snapshot's index), so a leader need not make
// a log write of its own for each commit, on top of the one for the
// entries it proposes. Term and vote, which must be durable before any
// message leaves that depends on them, always go at once.
func (g *Group) toSave(rd *raft.Ready) *raftpb.HardState {
	hs := rd.HardState
	switch {
	case hs != nil && len(rd.Entries) == 0 && !rd.MustSync:
		g.owedHS = hs
		return nil
	case hs == nil && len(rd.Entries) > 0:
		hs = g.owedHS
	}
	g.owedHS = nil
	return hs
}

// role follows leadership changes. Reads waiting on this replica as leader
// fail once it is not: they are retried elsewhere, since none has run.
func (g *Group) role(ss *raft.SoftState) {
	was := g.isLeader
	g.isLeader = ss.RaftState == raft.StateLeader
	if old := g.leader.Swap(ss.Lead); old != ss.Lead {
		if ss.Lead != 0 {
			term := g.raftTerm()
			g.stats.LeaderChanges.Add(1)
			g.leaderTerm.Store(term)
			if ss.Lead == g.cfg.ReplicaID {
				g.log.Info("this replica leads the group", "term", term)
			}
		}
		if g.cfg.OnLeader != nil {
			g.cfg.OnLeader(ss.Lead, g.heardLately)
		}
	}
	if was != g.isLeader {
		g.lease, g.renew = time.Time{}, false
	}
	if was && !g.isLeader {
		g.failReads(ErrTryAgain)
		g.expiring, g.evicting, g.oom = time.Time{}, time.Time{}, false
	}
}

func (g *Group) failReads(err error) {
	for _, r := range g.reads {
		r.finish(nil, nil, err)
	}
	g.reads = nil
	for ctx, rd := range g.rounds {
		delete(g.rounds, ctx)
		for _, r := range rd.reqs {
			r.finish(nil, nil, err)
		}
	}
}

// send hands messages to the transport, telling Raft about those it
// dropped so that it probes the peer again instead of waiting. A snapshot,
// which can be tens of megabytes to encode and queue, is handed over on a
// goroutine of its own, and snapshotSent tells Raft how it went; until
// then Raft sends the follower nothing that the snapshot must precede.
func (g *Group) send(msgs []*raftpb.Message) {
	for _, m := range msgs {
		switch m.GetType() {
		case raftpb.MsgApp:
			g.stats.Apps.Add(1)
			g.stats.AppEntries.Add(int64(len(m.GetEntries())))
		case raftpb.MsgAppResp:
			g.stats.AppResps.Add(1)
		}
		if m.GetType() == raftpb.MsgSnap {
			g.sendSnapshot(m)
			continue
		}
		if !g.cfg.Send(m.GetTo(), m) {
			g.rn.ReportUnreachable(m.GetTo())
		}
	}
}

// sendSnapshot hands the snapshot message m over on a goroutine of its own
// (see send). It is a function apart so that the goroutine's variables are
// made for snapshots only, not for every message send loops over.
func (g *Group) sendSnapshot(m *raftpb.Message) {
	var fresh func() *raftpb.Message
	if g.needsFresh(m) {
		if g.holding {
			// The keyspace is a script's: the follower is sent one
			// later.
			g.rn.ReportSnapshot(m.GetTo(), raft.SnapshotFailure)
			return
		}
		fresh = g.freshSnapshot(m)
	}
	go func() {
		ok := true
		if fresh != nil {
			m = fresh()
		} else {
			m, ok = g.withData(m)
		}
		s := snapSent{to: m.GetTo(), ok: ok && g.cfg.Send(m.GetTo(), m)}
		select {
		case g.snapSent <- s:
		case <-g.done:
		}
	}()
}

// leadingRequests returns how many of a Ready's messages, from the first,
// need not wait for its log write: raft.Ready lists the messages Raft
// sends at once first, then those it holds until the entries and hard
// state they answer for are durable, which are responses
// (raft.msgsAfterAppend).
func leadingRequests(msgs []*raftpb.Message) int {
	for i, m := range msgs {
		switch m.GetType() {
		case raftpb.MsgAppResp, raftpb.MsgVoteResp, raftpb.MsgPreVoteResp:
			return i
		}
	}
	return len(msgs)
}

// withData returns the snapshot message m, whose snapshot is the group's
// stored one, with the snapshot's data read back from the storage (the
// group keeps its metadata only: see memLog), and false when it cannot be
// read (a newer snapshot replaced it: Raft is told the snapshot failed and
// sends the newer one). It runs on the goroutine that sends m.
func (g *Group) withData(m *raftpb.Message) (*raftpb.Message, bool) {
	if len(m.GetSnapshot().GetData()) > 0 {
		return m, true
	}
	md := m.GetSnapshot().GetMetadata()
	snap, err := g.cfg.Storage.ReadSnapshot(md.GetIndex())
	if err != nil || snap.GetMetadata().GetTerm() != md.GetTerm() {
		g.log.Warn("snapshot for a replica not read back", "to", m.GetTo(), "index", md.GetIndex(), "err", err)
		return m, false
	}
	c := proto.CloneOf(m)
	c.Snapshot = &raftpb.Snapshot{Data: snap.GetData(), Metadata: md}
	return c, true
}

// needsFresh reports whether the snapshot message m must be built anew
// from the keyspace (freshSnapshot) rather than read back from the
// storage: when its snapshot is not the stored one (the in-memory log was
// compacted past it: memLog), or when it goes to a replica that the stored
// snapshot's configuration lacks (one added to the group since), which
// Raft would refuse.
func (g *Group) needsFresh(m *raftpb.Message) bool {
	if g.conf == nil {
		return false
	}
	md := m.GetSnapshot().GetMetadata()
	if !g.ms.Stored(md.GetIndex()) {
		return true
	}
	to, cs := m.GetTo(), md.GetConfState()
	return !slices.Contains(cs.GetVoters(), to) && !slices.Contains(cs.GetLearners(), to) &&
		!slices.Contains(cs.GetVotersOutgoing(), to) && !slices.Contains(cs.GetLearnersNext(), to)
}

// freshSnapshot returns, for a snapshot message that needsFresh, a
// function that builds the message anew from the keyspace as applied now,
// with the configuration that has the replica, as etcd does. The keyspace
// is frozen here, on the group's goroutine; the function encodes it on any
// goroutine, and must be called. It returns nil when it cannot.
func (g *Group) freshSnapshot(m *raftpb.Message) func() *raftpb.Message {
	term, err := g.ms.Term(g.applied)
	if err != nil {
		return nil
	}
	md := &raftpb.SnapshotMetadata{Index: new(g.applied), Term: new(term), ConfState: proto.CloneOf(g.conf)}
	view, mv := g.eng.Freeze(), g.mv.clone()
	return func() *raftpb.Message {
		c := proto.CloneOf(m)
		c.Snapshot = &raftpb.Snapshot{Data: encodeKeyspace(view, mv), Metadata: md}
		view.Release()
		return c
	}
}

// snapSent is the outcome of handing a snapshot to the transport.
type snapSent struct {
	to uint64
	ok bool
}

// snapshotSent reports a snapshot handed over, or not, to Raft. It must
// always be reported, or the follower stays in snapshot state for good.
func (g *Group) snapshotSent(s snapSent) {
	st := raft.SnapshotFinish
	if !s.ok {
		st = raft.SnapshotFailure
	}
	g.rn.ReportSnapshot(s.to, st)
	if !s.ok {
		g.rn.ReportUnreachable(s.to)
	}
}

// serveReads runs the reads whose ReadIndex round the applied state has
// reached.
func (g *Group) serveReads() {
	if len(g.rounds) == 0 {
		return
	}
	for ctx, rd := range g.rounds {
		if !rd.ready || rd.index > g.applied {
			continue
		}
		delete(g.rounds, ctx)
		now := time.Now()
		for _, r := range rd.reqs {
			if r.hasPre {
				g.stats.Reads.Add(1)
				r.finishPre()
				continue
			}
			g.serve(r, now)
		}
	}
}

// serve runs the read r on the applied state and answers it.
func (g *Group) serve(r *Request, now time.Time) {
	g.db.SetNow(now.UnixMilli())
	own := g.lend(r)
	g.announce = true
	g.run(r.Cmds, r.Proto, r.asked, r.client, now)
	g.announce = false
	g.stats.Reads.Add(1)
	r.finish(g.giveBack(r, own), g.ends, nil)
}

// TryRead runs the read r (Mode Read or Stale, Own set) on the calling
// goroutine, when the replica is idle and may answer it at once: a Stale
// read on any replica, a Read on a leader under its lease whose state has
// applied what is committed, and neither while a script holds the keyspace
// or slots move (whose commands may have to go elsewhere). It then reports
// true, with the replies in r.Buf; Done is not called. Otherwise it
// reports false and leaves r as it was, for Submit.
//
// The replica's state belongs to whoever holds own: the run goroutine,
// except while it waits for work, when a client's goroutine may take it
// for one read. An unpipelined read so costs its connection's goroutine
// no hand-over to the run goroutine and back.
func (g *Group) TryRead(r *Request) bool {
	if (r.Mode != Read && r.Mode != Stale) || !r.Own || !g.own.TryLock() {
		return false
	}
	defer g.own.Unlock()
	if g.stopped.Load() || g.holding || len(g.held) > 0 || len(g.mv.away) > 0 || g.mv.strict || len(g.mv.importing) > 0 {
		return false
	}
	now := time.Now()
	if r.Mode == Read && (!g.leased(now) || g.applied < g.committed) || scripted(r) {
		return false
	}
	if r.Mode == Read {
		g.stats.LeaseReads.Add(1)
		g.stats.Reads.Add(1)
	}
	g.db.SetNow(now.UnixMilli())
	own := g.lend(r)
	g.announce = true
	g.run(r.Cmds, r.Proto, r.asked, r.client, now)
	g.announce = false
	g.giveBack(r, own)
	return true
}

// lend readies the replies of r, when r asks for them in memory of its own
// (Request.Own), to be written into the larger of two buffers, r's and the
// group's, and returns the other, which the group keeps (giveBack); nil
// when r did not ask. So a request whose buffer is too small (a client's
// first) takes the group's rather than growing its own reply by reply,
// and large buffers end up with the connections that reuse them. When
// neither holds as much as the last such replies, the replies go to a new
// buffer of that size, and the group keeps the larger: one allocation,
// where growing a buffer by appends copies it over and over.
func (g *Group) lend(r *Request) (keep []byte) {
	if r == nil || !r.Own {
		return nil
	}
	if cap(r.Buf) >= g.w.Cap() {
		keep = g.w.Swap(r.Buf)
	} else {
		keep = r.Buf[:0]
	}
	if g.w.Cap() < g.lentLen {
		keep = g.w.Swap(make([]byte, 0, g.lentLen))
	}
	if keep == nil {
		keep = []byte{} // lent, with no buffer to keep
	}
	return keep
}

// giveBack ends what lend began: it returns the replies written since,
// which are r's (in r.Buf) when lend readied them, and gives the group the
// buffer it keeps.
func (g *Group) giveBack(r *Request, keep []byte) []byte {
	if keep == nil {
		return g.w.Bytes()
	}
	r.Buf = g.w.Swap(keep)
	g.lentLen = len(r.Buf)
	return r.Buf
}

// finishPre answers r with the replies of its dry run (a script's), which
// are r's own memory.
func (r *Request) finishPre() {
	if r.Own {
		r.Buf = r.pre
	}
	r.finish(r.pre, r.preEnds, nil)
}

// run executes cmds against the keyspace, the replies going to g.w and
// g.ends; asked as in Request. The commands are counted and timed
// (GroupConfig.Stats) from start (the caller's clock read; zero: read it
// now), c being the client that sent them when known.
func (g *Group) run(cmds [][][]byte, proto int, asked bool, c slowlog.Client, start time.Time) {
	table := g.begin(proto)
	if g.rec != nil {
		if start.IsZero() {
			start = time.Now()
		}
		g.rec.Begin(start, &g.w)
		g.ran.args = g.ran.args[:0]
	}
	var verdicts []string
	if len(g.mv.away) > 0 || g.mv.strict || len(g.mv.importing) > 0 {
		verdicts = g.gate(cmds, table, asked)
	}
	// Several commands (a pipeline, or a leader's writes batched in one
	// entry) have their keys read ahead together.
	g.specs = g.specs[:0]
	if len(cmds) > 1 {
		for _, args := range cmds {
			spec := table.Lookup(args[0])
			if spec != nil {
				g.ahead.Add(spec, args)
			}
			g.specs = append(g.specs, spec)
		}
		g.ahead.Prefetch(g.db)
	}
	for i, args := range cmds {
		if verdicts != nil && verdicts[i] != "" {
			g.w.AppendRaw([]byte(verdicts[i]))
			g.ends = append(g.ends, g.w.Len())
			continue
		}
		var spec *command.Spec
		if len(g.specs) > 0 {
			spec = g.specs[i]
		} else {
			spec = table.Lookup(args[0])
		}
		if server.IsClusterScript(spec, args) {
			if g.cfg.Scripts == nil {
				g.w.AppendError("ERR scripts are not supported on this node")
			} else {
				opt := server.RunOptions{Now: time.UnixMilli(g.db.Now()), Replicated: g.fx == nil}
				if g.fx != nil {
					opt.Effects, opt.Busy = g.fx, g.fx.busy
				}
				server.ClusterRun(g.cfg.Scripts, &g.cx, args, opt)
			}
			g.ends = append(g.ends, g.w.Len())
			if g.rec != nil {
				orig := server.ClusterScriptArgs(args)
				if spec := table.Lookup(orig[0]); spec != nil {
					g.count(spec, orig, c)
				}
			}
			continue
		}
		if len(args[0]) > 0 && args[0][0] == 0 {
			if g.cx.OOM && string(args[0]) == string(cmdCheck) && execOOM(cmds[i+1:], table) {
				g.w.AppendError("EXECABORT Transaction discarded because of: " + command.OOMError)
				for range cmds[i:] {
					g.ends = append(g.ends, g.w.Len())
				}
				break
			}
			if ok, stop := g.internal(args); ok {
				g.ends = append(g.ends, g.w.Len())
				if stop {
					for range cmds[i+1:] {
						g.ends = append(g.ends, g.w.Len())
					}
					break
				}
				continue
			}
		}
		switch {
		case spec == nil || spec.Run == nil:
			g.w.AppendError("ERR unknown command '" + string(args[0]) + "'")
		case !spec.ArityOK(len(args)):
			g.w.AppendError("ERR wrong number of arguments for '" + spec.Name + "' command")
		case g.fx != nil && spec.Flags&command.Write != 0:
			g.fx.Before(spec, args)
			start := g.w.Len()
			shard.Exec(&g.cx, spec, args)
			g.fx.After(spec, args, g.w.Bytes()[start:])
		default:
			shard.Exec(&g.cx, spec, args)
		}
		g.ends = append(g.ends, g.w.Len())
		if spec != nil && spec.Run != nil {
			g.count(spec, args, c)
		}
	}
	g.cx.W = nil
	if g.rec != nil {
		g.rec.End(&g.ran, c)
		g.rec.Flush()
		clear(g.ran.args) // the arguments are the request's
	}
}

// count counts a command of the run, spec with arguments args, which has
// just replied.
func (g *Group) count(spec *command.Spec, args [][]byte, c slowlog.Client) {
	if g.rec != nil {
		g.rec.Done(spec, args, c)
		g.ran.args = append(g.ran.args, args)
	}
}

// ranCmds are the arguments of the commands of a run that were counted,
// in order, for the slow log (cmdstat.Batch).
type ranCmds struct{ args [][][]byte }

// Args returns the arguments of the i-th command counted.
func (r *ranCmds) Args(i int) [][]byte { return r.args[i] }

// begin readies the command context and the replies for commands of
// protocol proto, and returns their table.
func (g *Group) begin(proto int) command.Table {
	g.w.Reset()
	g.ends = g.ends[:0]
	g.cx.Single(g.db, 0, g.one)
	g.cx.W = &g.w
	if proto == 3 {
		g.w.SetProto(3)
	} else {
		g.w.SetProto(2)
	}
	return tableFor(proto)
}

// tableFor returns the command table of commands of protocol proto: the
// line protocol's (0, with its replies) or Redis's.
func tableFor(proto int) command.Table {
	if proto == 0 {
		return command.Line
	}
	return command.Redis
}

// apply applies one committed entry.
func (g *Group) apply(e *raftpb.Entry) {
	defer func() { g.applied = e.GetIndex(); g.appliedAt.Store(g.applied); g.announce = false }()
	g.sinceBytes += uint64(len(e.GetData()))
	if t := e.GetTerm(); t > g.appliedTerm {
		g.appliedTerm = t
		g.dropOverwritten(t)
	}
	switch e.GetType() {
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			g.log.Error("bad conf change entry", "index", e.GetIndex(), "err", err)
			return
		}
		// Only a group's founding members come as version 1 changes.
		if bytes.Equal(cc.GetContext(), bornContext) {
			g.mv.strict = true
		}
		g.conf = g.rn.ApplyConfChange(&cc)
		g.publishConf()
		return
	case raftpb.EntryConfChangeV2:
		var cc raftpb.ConfChangeV2
		if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
			g.log.Error("bad conf change entry", "index", e.GetIndex(), "err", err)
			return
		}
		g.confApplied(g.rn.ApplyConfChange(&cc))
		return
	}
	data := e.GetData()
	if len(data) == 0 {
		return // a new leader's empty entry
	}
	d := binread.Reader{B: data[1:]}
	switch data[0] {
	case entryCommands, entryEffects:
		g.applyCommands(data, e.GetIndex())
	case entryBatch:
		g.applyBatch(&d, e.GetIndex())
	case entryExpire:
		g.applyKeys(&d, g.isLeader, func(k []byte) { g.db.RemoveExpired(k) })
		if g.isLeader {
			g.expiring = time.Time{}
		}
	case entryEvict:
		g.applyEvict(&d)
	default:
		g.log.Error("unknown entry kind", "index", e.GetIndex(), "kind", data[0])
	}
}

// applyKeys applies the rest of an entryExpire or entryEvict entry, read
// from d: at its time, fn for each of its keys, whose events this replica
// publishes when announce says so.
func (g *Group) applyKeys(d *binread.Reader, announce bool, fn func(k []byte)) {
	g.db.SetNow(int64(d.U64()))
	n := d.Uvarint()
	g.announce = announce
	for range n {
		k := d.Bytes()
		if d.Bad {
			break
		}
		fn(k)
	}
}

// commandsEntry is an entryCommands or entryEffects entry, decoded.
type commandsEntry struct {
	kind        byte
	origin, seq uint64
	now         int64
	proto       int
	asked       bool
	oom         bool // protoOOM
	cmds        [][][]byte
}

// decodeCommands decodes the data of an entryCommands or entryEffects
// entry, cutting its commands from sp when it is not nil (readCommandsIn);
// false when it is malformed.
func decodeCommands(data []byte, sp *argSpace) (commandsEntry, bool) {
	d := binread.Reader{B: data[1:]}
	ce := commandsEntry{kind: data[0], origin: d.U64(), seq: d.U64(), now: int64(d.U64())}
	pb := d.U8()
	ce.proto, ce.asked, ce.oom = int(pb&^(protoAsked|protoOOM)), pb&protoAsked != 0, pb&protoOOM != 0
	ce.cmds = readCommandsIn(&d, sp)
	return ce, !d.Bad
}

// applyBatch applies the writes of an entryBatch entry at index, read from
// d, each as its own entryCommands entry. Their keys are read ahead
// together first, as a pipeline's are (run): a leader batches the writes
// of many clients, each of one command.
func (g *Group) applyBatch(d *binread.Reader, index uint64) {
	n := d.Uvarint()
	if n > uint64(len(d.B)) {
		g.log.Error("bad entry", "index", index)
		return
	}
	batch := g.batch[:0]
	defer func() {
		clear(batch)
		g.batch = batch[:0]
	}()
	// Each write's entry takes entryHeader bytes at least: a count past
	// what the data can hold (a damaged entry) sizes nothing larger.
	sp := newArgSpace(min(int(n), len(d.B)/entryHeader))
	for range n {
		sub := d.Bytes()
		if d.Bad || len(sub) == 0 || sub[0] != entryCommands {
			g.log.Error("bad entry", "index", index)
			break
		}
		ce, ok := decodeCommands(sub, sp)
		if !ok {
			g.log.Error("bad entry", "index", index)
			break
		}
		batch = append(batch, ce)
	}
	if len(batch) > 1 {
		for _, ce := range batch {
			table := tableFor(ce.proto)
			for _, args := range ce.cmds {
				if spec := table.Lookup(args[0]); spec != nil {
					g.ahead.Add(spec, args)
				}
			}
		}
		g.ahead.Prefetch(g.db)
	}
	for _, ce := range batch {
		g.applyDecoded(ce, index)
	}
}

// applyCommands applies the data of an entryCommands or entryEffects entry
// at index, and answers the request of this replica that waits for it.
func (g *Group) applyCommands(data []byte, index uint64) {
	ce, ok := decodeCommands(data, nil)
	if !ok {
		g.log.Error("bad entry", "index", index)
		return
	}
	g.applyDecoded(ce, index)
}

// applyDecoded applies the entry ce at index (see applyCommands).
func (g *Group) applyDecoded(ce commandsEntry, index uint64) {
	origin, seq, proto, asked, cmds := ce.origin, ce.seq, ce.proto, ce.asked, ce.cmds
	g.db.SetNow(ce.now)
	g.seed(origin, seq)
	g.announce = origin == g.cfg.ReplicaID && seq > g.firstSeq
	g.cx.Rand = g.rng
	// The replies of this replica's own waiting request go straight
	// into the request's buffer when it asks for them there.
	var r *Request
	if origin == g.cfg.ReplicaID {
		r = g.waiters[seq]
	}
	var own []byte
	if ce.kind == entryEffects {
		g.runEffects(cmds, proto, origin, seq)
	} else {
		var c slowlog.Client
		if r != nil {
			c = r.client
			if !r.hasPre {
				own = g.lend(r)
			}
		}
		g.cx.OOM = ce.oom
		g.run(cmds, proto, asked, c, time.Time{})
		g.cx.OOM = false
	}
	g.cx.Rand = nil
	if g.cfg.OnApply != nil {
		g.cfg.OnApply(cmds, g.w.Bytes(), g.ends)
	}
	reply := g.giveBack(r, own)
	if r != nil {
		delete(g.waiters, seq)
		g.stats.ProposalNanos.Add(int64(time.Since(r.start)))
		if r.hasPre {
			r.finishPre()
		} else {
			r.finish(reply, g.ends, nil)
		}
	}
}

// maybeSnapshot takes a snapshot once enough entries were applied since the
// last one, so that the log can be compacted.
func (g *Group) maybeSnapshot() error {
	if g.applied < g.snapshot+g.cfg.SnapshotEntries || g.conf == nil || !g.grown() {
		return nil
	}
	return g.takeSnapshot()
}

// grown reports whether the log has grown enough since the last snapshot
// for another (SnapshotMinBytes): always for a snapshot under that size;
// otherwise once the entries applied since it, or the node's log on disk
// (a shared Storage's LogSize), are as large as it.
func (g *Group) grown() bool {
	if g.snapBytes < g.cfg.SnapshotMinBytes || g.sinceBytes >= g.snapBytes {
		return true
	}
	s, ok := g.cfg.Storage.(logSizer)
	return ok && uint64(s.LogSize()) >= g.snapBytes
}

// logSizer is a Storage that knows the size of the log it keeps on disk,
// for all the groups that share it.
type logSizer interface{ LogSize() int64 }

// trimLog drops applied entries from the in-memory log (memLog), as a
// snapshot does but without waiting for one: those that every replica of
// the group holds, but the last CompactKeep, of at most CompactKeepBytes
// (entries of pipelined writes hold thousands of them); and, while the
// data of those left is over MaxLogBytes, down to half of it whatever the
// replicas hold (a Trim). A replica that then needs dropped entries is
// sent a snapshot; one that is down or slow is so sent entries as long as
// MaxLogBytes allows, as before a snapshot.
func (g *Group) trimLog() {
	defer func() { g.stats.LogBytes.Store(int64(g.ms.Bytes())) }()
	limit := g.applied
	if g.snapping {
		// The snapshot being written is recorded in the log when done
		// (snapshotWritten), which needs its entry held.
		limit = min(limit, g.snapshot)
	}
	var cut uint64
	held := g.heldByAll(limit)
	if held > g.cfg.CompactKeep {
		cut = held - g.cfg.CompactKeep
	}
	cut = max(cut, g.ms.cutFor(g.cfg.CompactKeepBytes, held))
	trim := false
	if g.cfg.MaxLogBytes > 0 && g.ms.Bytes() > g.cfg.MaxLogBytes {
		if c := g.ms.cutFor(g.cfg.MaxLogBytes/2, limit); c > cut {
			cut, trim = c, true
		}
	}
	if first, err := g.ms.FirstIndex(); err != nil || cut < first {
		return
	}
	if err := g.ms.Compact(cut); err != nil && !errors.Is(err, raft.ErrCompacted) {
		g.log.Error("compacting the in-memory log failed", "index", cut, "err", err)
		return
	}
	if trim {
		g.stats.Trims.Add(1)
	}
}

// heldByAll returns the highest index up to limit that every replica of
// the group holds, as far as the leader knows (Raft's Match): limit itself
// on a follower, which sends no entries.
func (g *Group) heldByAll(limit uint64) uint64 {
	if !g.isLeader {
		return limit
	}
	g.rn.WithProgress(func(id uint64, _ raft.ProgressType, pr tracker.Progress) {
		if id != g.cfg.ReplicaID {
			limit = min(limit, pr.Match)
		}
	})
	return limit
}

// pinner is a Storage shared with other groups, which may need this group
// to take a snapshot so that the shared log can drop its oldest part.
type pinner interface {
	Pins() bool
	Groups() int
	LogSize() int64
}

// pinned reports whether the group is to take a snapshot for the shared
// log: the group keeps its oldest segment, and the log holds
// SnapshotMinBytes for each group sharing it, the log each would keep
// alone (as Redis's auto-aof-rewrite-min-size is a server's, not a
// machine's). So a node snapshots its groups once per SnapshotMinBytes
// that each logged, not its whole data set for each SnapshotMinBytes
// that all of them logged.
func (g *Group) pinned(p pinner) bool {
	return uint64(max(p.LogSize(), 0)) >= uint64(p.Groups())*g.cfg.SnapshotMinBytes && p.Pins()
}

// takeSnapshot snapshots the keyspace at the applied index. The group is
// held only while the engine copies its entries (Freeze); they are encoded
// and written on another goroutine, and snapshotWritten ends the work on
// the group's goroutine. One snapshot is taken at a time.
func (g *Group) takeSnapshot() error {
	if g.snapping {
		return nil
	}
	term, err := g.ms.Term(g.applied)
	if err != nil {
		if errors.Is(err, raft.ErrCompacted) {
			return nil // a newer snapshot, installed, covers it
		}
		return err
	}
	md := &raftpb.SnapshotMetadata{Index: new(g.applied), Term: new(term), ConfState: proto.CloneOf(g.conf)}
	start := time.Now()
	view, mv := g.eng.Freeze(), g.mv.clone()
	g.snapshot, g.snapping, g.sinceBytes = g.applied, true, 0
	g.stats.Saving.Store(true)
	held := time.Since(start)
	go func() {
		w := snapWritten{snap: &raftpb.Snapshot{Metadata: md}, size: keyspaceSize(view, mv), held: held}
		w.err = g.cfg.Storage.WriteSnapshotFrom(md, w.size, func(out io.Writer) error { return writeKeyspace(out, view, mv) })
		view.Release()
		w.took = time.Since(start)
		g.snapDone <- w
	}()
	return nil
}

// snapWritten is a snapshot of the replica's own, written or not: its
// data's size (the data itself is not kept), how long it held the group,
// and how long it took to write.
type snapWritten struct {
	snap       *raftpb.Snapshot
	size       int
	err        error
	held, took time.Duration
}

// snapshotWritten records a snapshot whose file was written: the in-memory
// log keeps it for followers that fall behind and forgets the entries it
// covers, but CompactKeep, and the storage forgets them too. A snapshot
// that one installed from the leader overtook meanwhile is dropped (the
// in-memory log, which installed it, says so).
func (g *Group) snapshotWritten(w snapWritten) error {
	g.snapping = false
	g.stats.Saving.Store(false)
	g.stats.SaveFailed.Store(w.err != nil)
	if w.err != nil {
		return fmt.Errorf("snapshot at %d: %w", w.snap.GetMetadata().GetIndex(), w.err)
	}
	md := w.snap.GetMetadata()
	if err := g.ms.CreateSnapshot(w.snap); err != nil {
		if errors.Is(err, raft.ErrSnapOutOfDate) {
			return nil
		}
		return err
	}
	if err := g.cfg.Storage.MarkSnapshot(md.GetIndex(), md.GetTerm()); err != nil {
		return err
	}
	g.snapBytes = uint64(w.size)
	g.log.Info("snapshot saved", "index", md.GetIndex(), "bytes", w.size,
		"held", w.held.Round(time.Microsecond), "took", w.took.Round(time.Microsecond))
	if md.GetIndex() > g.cfg.CompactKeep {
		if err := g.ms.Compact(md.GetIndex() - g.cfg.CompactKeep); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return err
		}
	}
	// Counted once the log is compacted too, so that a reader of the
	// count finds the snapshot's work done.
	g.saved(md.GetIndex())
	g.stats.Snapshots.Add(1)
	return nil
}

// saved records that the replica's state up to index is in a snapshot
// written now.
func (g *Group) saved(index uint64) {
	if index > g.stats.SavedIndex.Load() {
		g.stats.SavedIndex.Store(index)
	}
	g.stats.SavedAt.Store(time.Now().UnixNano())
}

// saveNow is the nodes' SAVE of this replica (cmdSave): it starts a
// snapshot of everything applied, whatever the thresholds, and returns the
// index it covers, which Stats().SavedIndex reaches once it is written;
// -1 while a snapshot taken earlier is still being written (ask again once
// it is). With nothing applied since the last snapshot, that one covers
// it all: it counts as saved now, as Redis's SAVE of an unchanged
// dataset.
func (g *Group) saveNow() int64 {
	switch {
	case g.snapping:
		return -1
	case g.applied <= g.snapshot || g.conf == nil:
		g.saved(g.snapshot)
		return int64(g.snapshot)
	}
	if err := g.takeSnapshot(); err != nil {
		g.log.Error("snapshot for SAVE failed", "err", err)
		g.stats.SaveFailed.Store(true)
		return int64(g.snapshot)
	}
	return int64(g.snapshot)
}

// dropOverwritten ends the waiting writes that this replica proposed in a
// term before term, the term of an entry it is about to apply: their
// entries can no longer commit. Terms never fall along a Raft log, so
// every committed entry of an older term sits before this one and was
// applied already, and a write still waiting was not among them: its
// entry was overwritten by a later leader. Nothing of it took effect, so
// it ends with ErrTryAgain, which Node.Do retries where the group's leader
// is now, instead of waiting for its time to end with ErrUnknown.
func (g *Group) dropOverwritten(term uint64) {
	n := 0
	for seq, r := range g.waiters {
		if r.term < term {
			delete(g.waiters, seq)
			// Counted before its client hears of it.
			g.stats.Overwritten.Add(1)
			r.finish(nil, nil, ErrTryAgain)
			n++
		}
	}
	if n > 0 {
		g.log.Info("writes replaced by a later leader's entries, to be run again", "writes", n, "term", term)
	}
}

// install replaces the keyspace with a snapshot's, sent by the leader.
func (g *Group) install(snap *raftpb.Snapshot) error {
	start := time.Now()
	if err := g.restore(snap.GetData()); err != nil {
		return err
	}
	g.stats.Installed.Add(1)
	md := snap.GetMetadata()
	g.log.Info("snapshot from the leader installed", "index", md.GetIndex(), "term", md.GetTerm(),
		"bytes", len(snap.GetData()), "keys", g.db.Len(), "took", time.Since(start).Round(time.Microsecond))
	// A waiting write of the snapshot's term or an older one may be in it
	// or not: its outcome can no longer be known. Those of later terms
	// are after it, and wait for their entries.
	for seq, r := range g.waiters {
		if r.term <= md.GetTerm() {
			delete(g.waiters, seq)
			g.stats.Unknown.Add(1)
			r.finish(nil, nil, ErrUnknown)
		}
	}
	g.appliedTerm = max(g.appliedTerm, md.GetTerm())
	g.applied, g.snapshot, g.conf = md.GetIndex(), md.GetIndex(), md.GetConfState()
	g.snapBytes, g.sinceBytes = uint64(len(snap.GetData())), 0
	g.appliedAt.Store(g.applied)
	g.publishConf()
	if g.cfg.OnApply != nil {
		g.cfg.OnApply(nil, nil, nil)
	}
	return nil
}
