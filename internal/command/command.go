// Package command holds the command tables of both protocols: each command's
// name, arity, key positions, how it is routed, and the handler that runs it
// against one or more keyspaces.
//
// Handlers run on whatever goroutine owns the keyspaces they are given: a
// shard's run goroutine for a command whose keys live on one shard, or the
// connection goroutine while it holds every shard the command touches. They
// must not keep references to their arguments or to values read from a
// keyspace after they return.
package command

import (
	"math/rand/v2"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/ring"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Kind says how a command is routed.
type Kind uint8

const (
	// Keyed commands run where their keys live: on one shard when every key
	// maps to it, otherwise atomically across the shards involved.
	Keyed Kind = iota
	// AllShards commands need every shard: at once (DBSIZE, FLUSHDB), or,
	// for those with a Gather (KEYS, LIST), one after the other.
	AllShards
	// Cursor commands run on the shard named by their cursor (SCAN).
	Cursor
	// Conn commands act on the connection and are run by the server,
	// which declares them (see RegisterConn).
	Conn
)

// Flags describe a command for COMMAND INFO and for the server's checks.
type Flags uint32

// Command flags, named as in Redis's COMMAND INFO.
const (
	Write Flags = 1 << iota
	ReadOnly
	Fast
	Admin
	NoMulti // may not be queued in MULTI (it is handled by the transaction itself)
	Loading // allowed while loading data
	Stale   // allowed while data is stale
	NoAuth  // allowed before authentication
	AllowBusy
	DenyOOM
	Blocks   // may block the client (BZPOPMIN); see Blocking
	PubSub   // a publish and subscribe command
	NoScript // may not run from a script
	// Scripting commands run a Lua script (EVAL, FCALL …), which may run
	// long: a shard ends a group of batches after one, so that no other
	// client's batch waits behind it (see shard.Shard.Drain).
	Scripting
)

// Spec describes one command.
type Spec struct {
	Name  string // lower case, as Redis reports it
	Arity int    // Redis's convention: n means exactly n arguments including the name, -n at least n
	Flags Flags
	// FirstKey, LastKey and Step give the key positions as Redis does: keys
	// are at args[FirstKey], args[FirstKey+Step], … up to args[LastKey],
	// with a negative LastKey counting from the end (-1 is the last
	// argument). FirstKey 0 means the command has no keys.
	FirstKey, LastKey, Step int
	Kind                    Kind
	// Run executes the command and appends its reply to c.W. Nil for Conn
	// commands.
	Run func(c *Ctx, args [][]byte)
	// Shard, for Cursor commands, returns the shard a command runs on, or
	// -1 when the arguments name no valid shard (Run is then called with a
	// Ctx holding no keyspace so that it can reply with the error).
	Shard func(args [][]byte, shards int) int
	// Gather, for AllShards commands that only read keys, lets the router
	// read the shards one at a time in bounded parts instead of holding them
	// all at once (see Gather); nil for commands that need every shard at
	// one point in time. Run must still work when every shard is held.
	Gather *Gather
	// KeyArgs, when set, finds the keys of args in place of FirstKey,
	// LastKey and Step, for commands that count their keys in an argument
	// (SINTERCARD numkeys key…).
	KeyArgs func(args [][]byte, dst [][]byte) [][]byte
	// ReadsOthers, when set, reports whether a Keyed command reads, with
	// args, keys that args do not name (SORT's BY and GET patterns). The
	// single server then runs it holding every shard, as a command
	// without keys; a cluster group holds the keys of its slots only, and
	// the command checks itself that those it reads are in its key's
	// slot (see Ctx.Slotted).
	ReadsOthers func(args [][]byte) bool
	// Block, for a command that can block the client until one of its
	// keys gets elements, says how (see Blocking); nil for the others.
	Block *Blocking
	// Elem, when not 0, is the position of an argument naming an element
	// (a set's member, a hash's field) that the command looks up in the
	// collection at args[FirstKey]: a shard reads ahead for it, with those
	// of the commands run with it, before they run (see
	// keyspace.DB.PrefetchCollection).
	Elem int
	// Subs, for a container command (CONFIG, OBJECT …), are its
	// subcommands, which SubError checks; nil for the other commands. A
	// command of the Redis table has those of its COMMAND INFO entry
	// recorded from redis-server 7.0 after any it is declared with (ours,
	// or a later Redis version's).
	Subs []Sub
	// ID numbers the command for per-command counters; it is set when the
	// Spec is put in a table (see NumIDs).
	ID int
}

// ArityOK reports whether n arguments, the name included, fit the arity.
func (s *Spec) ArityOK(n int) bool {
	if s.Arity >= 0 {
		return n == s.Arity
	}
	return n >= -s.Arity
}

// Keys appends the key arguments of args to dst.
func (s *Spec) Keys(args [][]byte, dst [][]byte) [][]byte {
	if s.KeyArgs != nil {
		return s.KeyArgs(args, dst)
	}
	first, last, step := s.KeyRange(len(args))
	for i := first; i <= last; i += step {
		dst = append(dst, args[i])
	}
	return dst
}

// KeyRange returns where the keys of a command of n arguments are for a
// spec without KeyArgs: args[first], args[first+step], … up to
// args[last]; last < first when it has none. It lets a caller read keys
// in place, where Keys would build a slice of them.
func (s *Spec) KeyRange(n int) (first, last, step int) {
	if s.FirstKey <= 0 || s.FirstKey >= n {
		return 1, 0, 1
	}
	last = s.LastKey
	if last < 0 {
		last += n
	}
	if last >= n {
		last = n - 1
	}
	return s.FirstKey, last, max(s.Step, 1)
}

// Ctx is what a handler runs with: the reply writer and the keyspaces it may
// touch. A Ctx is used by one goroutine at a time.
type Ctx struct {
	W *resp.Writer

	single *keyspace.DB   // the one keyspace of a single-shard command
	dbs    []*keyspace.DB // every shard's keyspace, for held commands
	ring   *ring.Ring
	shard  int
	nt     *notify.Notifier // the keyspaces' (see keyspace.DB.SetNotifier)
	tr     *tracking.Table  // the keyspaces' (see keyspace.DB.SetTracker)

	// Writer is the id of the client whose command runs, 0 for none, and
	// Track, when not 0, the client whose reads are remembered for
	// client-side caching: the command's keys, when it only reads, are
	// remembered once it has run (see Tracking).
	Writer, Track int64
	named         bool // BeginTracking named Writer in the keyspaces

	// SkipOOM turns off the memory check of commands flagged DenyOOM, for
	// the commands of a transaction, which was checked as a whole.
	SkipOOM bool
	// OOM says the keyspace is over its memory limit and nothing can be
	// evicted, as a replicated keyspace's leader found when it logged the
	// commands: MemoryOK reports false and commands that need memory are
	// refused on every replica alike.
	OOM bool

	// ShardKeys, when set, returns how many keys shard i held after its
	// last batch, for a command that runs on one shard and needs to know
	// of the others (SCAN skips the empty ones); nil where not known.
	ShardKeys func(i int) int64

	// Slotted is set by a cluster group, whose keyspace holds the keys of
	// its own slots only: a command that reads keys it does not name may
	// read only those of the slot of the keys it names.
	Slotted bool

	// Rand, when not nil, makes every random choice of the commands run
	// (SPOP, SRANDMEMBER, HRANDFIELD): a replicated group sets it to a
	// source seeded alike on every replica before it applies an entry, so
	// that all replicas choose the same elements of collections that hold
	// the same elements in the same order. Nil uses the process's source.
	Rand *rand.Rand

	// Cluster makes the commands answer as on a Redis Cluster node, which
	// has Redis's 16 databases but serves only database 0: COPY's DB
	// option naming another refuses it with Redis Cluster's error.
	Cluster bool
}

// randN returns a random number in [0, n), n > 0, from c.Rand if set.
func (c *Ctx) randN(n int) int {
	if c.Rand != nil {
		return c.Rand.IntN(n)
	}
	return rand.IntN(n)
}

// Single sets c up to run a command whose keys all live on shard i, with db
// as that shard's keyspace.
func (c *Ctx) Single(db *keyspace.DB, i int, r *ring.Ring) {
	c.single, c.dbs, c.shard, c.ring = db, nil, i, r
	c.nt, c.tr = db.Notifier(), db.Tracker()
}

// Held sets c up to run a command across the keyspaces dbs, indexed by shard
// and placed by r; entries for shards that are not held are nil.
func (c *Ctx) Held(dbs []*keyspace.DB, r *ring.Ring) {
	c.single, c.dbs, c.ring, c.shard = nil, dbs, r, -1
	c.nt, c.tr = nil, nil
	for _, db := range dbs {
		if db != nil {
			c.nt, c.tr = db.Notifier(), db.Tracker()
			break
		}
	}
}

// Tracker returns the keyspaces' client-side caching table, or nil.
func (c *Ctx) Tracker() *tracking.Table { return c.tr }

// BeginTracking prepares the keyspaces for a command while clients
// track keys: it names c.Writer as the writer of what changes. It costs one
// atomic load when no client tracks.
func (c *Ctx) BeginTracking() {
	if !c.tr.Active() {
		return
	}
	c.named = true
	c.DBs(func(_ int, db *keyspace.DB) bool {
		db.SetWriter(c.Writer)
		return true
	})
}

// EndTracking remembers, for c.Track, the keys of a command of spec that
// only reads, once it has run, and names no writer any more: what changes
// next (expiry, eviction) is no client's doing.
func (c *Ctx) EndTracking(spec *Spec, args [][]byte) {
	if c.named {
		c.named = false
		c.DBs(func(_ int, db *keyspace.DB) bool {
			db.SetWriter(0)
			return true
		})
	}
	if c.Track == 0 || spec.Flags&ReadOnly == 0 || !c.tr.Active() {
		return
	}
	var buf [4][]byte
	c.tr.Remember(c.Track, spec.Keys(args, buf[:0]))
}

// Notify publishes event, of class, on key (see notify.Notifier.Event):
// commands call it for each key they changed, in the order Redis does.
// When notifications are off it costs one atomic load.
func (c *Ctx) Notify(class notify.Class, event string, key []byte) {
	c.nt.Event(class, event, key)
}

// DB returns the keyspace that holds key.
func (c *Ctx) DB(key []byte) *keyspace.DB {
	if c.single != nil {
		return c.single
	}
	return c.dbs[c.ring.Lookup(key)]
}

// Holds reports whether c may touch key: whether key lives on the shard
// of a single-shard command, or on one of the shards held. Without a
// placement (a replicated group) it holds every key.
func (c *Ctx) Holds(key []byte) bool {
	if c.ring == nil {
		return true
	}
	i := c.ring.Lookup(key)
	if c.single != nil {
		return i == c.shard
	}
	return i < len(c.dbs) && c.dbs[i] != nil
}

// HoldsAll reports whether c holds every shard, so that the command may
// touch any key, named or not.
func (c *Ctx) HoldsAll() bool {
	if c.ring == nil {
		return true
	}
	if c.single != nil {
		return c.ring.Shards() == 1
	}
	for _, db := range c.dbs {
		if db == nil {
			return false
		}
	}
	return len(c.dbs) == c.ring.Shards()
}

// Shard returns the index of the shard a single-shard command runs on, or -1.
func (c *Ctx) Shard() int { return c.shard }

// DBs calls fn for every keyspace the command holds, in shard order, until
// fn returns false.
func (c *Ctx) DBs(fn func(shard int, db *keyspace.DB) bool) {
	if c.single != nil {
		fn(c.shard, c.single)
		return
	}
	for i, db := range c.dbs {
		if db != nil && !fn(i, db) {
			return
		}
	}
}

// ShardDB returns shard i's keyspace if the command holds it, else nil.
func (c *Ctx) ShardDB(i int) *keyspace.DB {
	if c.single != nil {
		if i == c.shard {
			return c.single
		}
		return nil
	}
	if i < 0 || i >= len(c.dbs) {
		return nil
	}
	return c.dbs[i]
}

// NumShards returns the number of shards of the server.
func (c *Ctx) NumShards() int { return c.ring.Shards() }

// Now returns the current time in Unix milliseconds as the keyspaces see it.
func (c *Ctx) Now() int64 {
	if c.single != nil {
		return c.single.Now()
	}
	for _, db := range c.dbs {
		if db != nil {
			return db.Now()
		}
	}
	return 0
}

// Table maps lower-case command names to their Spec.
type Table map[string]*Spec

func newTable(groups ...[]*Spec) Table {
	t := make(Table)
	for _, g := range groups {
		for _, s := range g {
			t.add(s)
		}
	}
	return t
}

// add puts s in t with its ID.
func (t Table) add(s *Spec) {
	if _, dup := t[s.Name]; dup {
		panic("command: duplicate command " + s.Name)
	}
	assignID(s)
	t[s.Name] = s
}

// LastLookup remembers the last command found by its name, which a
// connection's pipeline of the same command then finds without hashing the
// name again: a connection keeps one. The zero value is ready to use; it is
// not safe for concurrent use.
type LastLookup struct {
	name [32]byte
	n    int
	spec *Spec
}

// Lookup is Redis.Lookup(name), answered from memory when name is, byte
// for byte, the last name it found.
func (l *LastLookup) Lookup(name []byte) *Spec {
	if l.spec != nil && string(name) == string(l.name[:l.n]) {
		return l.spec
	}
	spec := Redis.Lookup(name)
	if spec != nil && len(name) <= len(l.name) {
		l.n = copy(l.name[:], name)
		l.spec = spec
	}
	return spec
}

// Lookup returns the command named name in any letter case, or nil. It does
// not allocate for names up to 32 bytes.
func (t Table) Lookup(name []byte) *Spec {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	lower := buf[:len(name)]
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return t[string(lower)]
}
