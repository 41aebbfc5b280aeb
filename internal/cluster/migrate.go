package cluster

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/server"
	"github.com/data-cluster/data-cluster/internal/slot"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Moving slots between groups, as Redis Cluster's MIGRATE moves keys, but
// through the groups' logs so that every replica agrees on where each key
// is at each point of its log.
//
// The source group's log first marks the slots as leaving for the target
// group. From that entry on, every replica of the source answers a command
// on a key of those slots by the key's presence, as a Redis node with a
// MIGRATING slot answers ASK:
//
//   - keys all here: the command runs here;
//   - keys all absent: the command is for the target group, which has them
//     or will create them (the node sends it on, as a client follows ASK);
//   - some here and some not: TRYAGAIN, as Redis;
//   - a write to a key being copied (frozen): TRYAGAIN until the copy ends,
//     which the node retries (a Redis node blocks for MIGRATE instead).
//
// The mover (mover.go) copies the keys in batches: an export entry in the
// source's log freezes a batch and returns its values; an import entry in
// the target's log sets them; a forget entry in the source's log deletes
// them. A key is thus served by the source until the entry that deletes it,
// and by the target from then on, which has it by then; it is never served
// by both, nor by neither. Once no key of the slots is left, the placement
// table gives them to the target (placement.Table.Assign); nodes that still
// send them to the source are sent on.
//
// The source keeps the slots as leaving until a later migration brings
// them back (the "coming" entry of the target's log), so a node with an old
// table is always sent on. The leaving slots and frozen keys are part of
// the group's snapshot.
//
// The target's "coming" entry brings the slots home and marks them as
// importing, as a Redis node with an IMPORTING slot: until the source has
// no key of them left, the target runs a command on them only when the
// source sent it on (or a client did after ASKING), having found none of
// its keys there. Any other, from a node whose table is older than the
// migration (the slots were once the target's), would run on keys the
// target does not have yet, or change keys the source still serves: it is
// answered "stale", and the node sends it again by its newest table, to
// the source. Once a whole pass of the mover met no key of the slots, a
// "done" entry in the target's log ends the import, before the table
// gives it the slots. The importing slots are part of the snapshot too.
// Movers wrote "home" before there were importing slots, and no "done":
// a "home" in an older log brings its slots home without importing them.
//
// A transaction (MULTI/EXEC, first command "\x00check") runs whole or not
// at all: here when all its keys are here, on the target when none is,
// TRYAGAIN otherwise. In a pipeline, once a command of a slot is sent on
// or told to try again, every later command of that slot in the same
// request is told to try again, so that the node's retries keep the
// client's order per slot.
//
// One mover at a time may copy keys: each run of a mover has a token of
// its own, which its first entries in both groups ("away" and "coming")
// make the groups' current one. Exports, imports and forgets that carry
// another token are refused, so a mover that lost its place (its node
// stopped leading the metadata group) cannot import a value it exported
// before another mover moved the key and a client changed it. "away" and
// "coming" carry the epoch of the table the mover started from, and a group
// refuses them from an epoch older than the newest it took: a mover of a
// migration that has ended cannot mark slots as leaving a group that is
// now their source, or bring them home to one they are now leaving.
//
// A group added to a running cluster (placement.Table.AddGroup) may have
// the number of a group removed before, which a node with an old table
// still sends that group's slots to. Such a group is born strict (its
// founding configuration says so, in its log): it serves only the slots
// brought home to it, and answers "stale" for any other, which the node
// sends again by the newest table it has.
//
// bornContext is the context of a born group's founding configuration
// changes.
var bornContext = []byte("born strict")

// The entries are commands of the nodes' own (their names start with a
// zero byte, which no client command has):
//
//	"\x00away" token epoch to first last …  the slots first..last leave for group to
//	"\x00home" token epoch first last …     the slots are this group's again
//	"\x00coming" token epoch first last …   the same, importing them until done
//	"\x00keysin" cursor count         (read) keys of leaving slots: [cursor, key …]
//	"\x00export" token key …          freeze the keys here, reply with their data
//	"\x00import" token data           set the keys of an export's reply
//	"\x00forget" token key …          delete the frozen keys
//	"\x00done" token first last …     the slots are no longer importing
var (
	cmdAway   = []byte("\x00away")
	cmdHome   = []byte("\x00home")
	cmdComing = []byte("\x00coming")
	cmdKeysIn = []byte("\x00keysin")
	cmdExport = []byte("\x00export")
	cmdImport = []byte("\x00import")
	cmdForget = []byte("\x00forget")
	cmdDone   = []byte("\x00done")
)

// Replies of a gated command, never sent to a client as they are (a zero
// byte after the '-' marks them): "moved" names the target group, which
// the node sends the command to; "again" asks the node to send it again
// later, and is followed by the TRYAGAIN error a client gets when the node
// gives up.
const (
	movedPrefix  = "-\x00moved "
	againPrefix  = "-\x00again "
	replyStale   = "-\x00stale\r\n"
	replyFrozen  = againPrefix + "TRYAGAIN The key is being moved to another shard group, try again\r\n"
	replyMixed   = againPrefix + "TRYAGAIN Multiple keys request during rehashing of slot\r\n"
	replyDefer   = againPrefix + "TRYAGAIN A command before this one in the same slot was redirected, try again\r\n"
	keysInBudget = 4096 // entries one keysin visits at most
)

// moves is a replica's share of slot migrations: the slots leaving the
// group, with the group each goes to, and the keys being copied. It is
// owned by the group's goroutine.
type moves struct {
	away   map[uint16]int
	frozen map[string]struct{}
	token  string // the mover's whose entries are taken
	epoch  uint64 // the newest epoch of an away or home taken
	strict bool   // born strict: serves only owned slots
	owned  map[uint16]bool
	// importing holds the slots brought home whose keys may still be in
	// their source group: only commands the source sent on run on them.
	importing map[uint16]bool
	// ended is the epoch of the newest import a "done" ended. A "coming"
	// of that epoch taken later (from a mover that lost its place, whose
	// entry the network held back; older epochs are refused) brings
	// nothing to import: the source has no key of those slots left.
	ended uint64

	// Scratch space for gate.
	keys    [][]byte
	verdict []string
	held    map[uint16]bool
}

func (mv *moves) reset() {
	*mv = moves{}
}

// clone returns a copy of mv's state for a snapshot taken elsewhere.
func (mv *moves) clone() *moves {
	return &moves{away: maps.Clone(mv.away), frozen: maps.Clone(mv.frozen), token: mv.token, epoch: mv.epoch,
		strict: mv.strict, owned: maps.Clone(mv.owned), importing: maps.Clone(mv.importing), ended: mv.ended}
}

// The trailer of snapshot data that holds a group's moves:
//
//	'M' | leaving uvarint | leaving × (slot uvarint | group uvarint) |
//	frozen uvarint | frozen × key | token | epoch uvarint |
//	strict u8 | owned uvarint | owned × slot uvarint |
//	[importing uvarint | importing × slot uvarint [ended uvarint]]
//
// with keys and the token as len uvarint | bytes. The importing slots
// are left out when there are none and no import ended (and were before
// there were any), the ended epoch when it is 0.
//
// Snapshot data without it has no moves.
const movesTag = 'M'

func (mv *moves) append(buf []byte) []byte {
	if mv == nil || len(mv.away) == 0 && len(mv.frozen) == 0 && mv.token == "" && !mv.strict && len(mv.importing) == 0 && mv.ended == 0 {
		return buf
	}
	buf = append(buf, movesTag)
	buf = binary.AppendUvarint(buf, uint64(len(mv.away)))
	for _, s := range slices.Sorted(maps.Keys(mv.away)) {
		buf = binary.AppendUvarint(buf, uint64(s))
		buf = binary.AppendUvarint(buf, uint64(mv.away[s]))
	}
	buf = binary.AppendUvarint(buf, uint64(len(mv.frozen)))
	for _, k := range slices.Sorted(maps.Keys(mv.frozen)) {
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
	}
	buf = binary.AppendUvarint(buf, uint64(len(mv.token)))
	buf = append(buf, mv.token...)
	buf = binary.AppendUvarint(buf, mv.epoch)
	strict := byte(0)
	if mv.strict {
		strict = 1
	}
	buf = append(buf, strict)
	buf = binary.AppendUvarint(buf, uint64(len(mv.owned)))
	for _, s := range slices.Sorted(maps.Keys(mv.owned)) {
		buf = binary.AppendUvarint(buf, uint64(s))
	}
	if len(mv.importing) > 0 || mv.ended > 0 {
		buf = binary.AppendUvarint(buf, uint64(len(mv.importing)))
		for _, s := range slices.Sorted(maps.Keys(mv.importing)) {
			buf = binary.AppendUvarint(buf, uint64(s))
		}
	}
	if mv.ended > 0 {
		buf = binary.AppendUvarint(buf, mv.ended)
	}
	return buf
}

// read reads the trailer append wrote, if d holds one.
func (mv *moves) read(d *binread.Reader) error {
	if len(d.B) == 0 {
		return nil
	}
	if d.U8() != movesTag {
		return errBadEntry
	}
	n := d.Uvarint()
	if d.Bad || n > slot.Count {
		return errBadEntry
	}
	for range n {
		s, to := d.Uvarint(), d.Uvarint()
		if d.Bad || s >= slot.Count || to >= maxGroups {
			return errBadEntry
		}
		mv.leave(uint16(s), int(to))
	}
	n = d.Uvarint()
	if d.Bad || n > uint64(len(d.B)) {
		return errBadEntry
	}
	for range n {
		k := d.Bytes()
		if d.Bad {
			return errBadEntry
		}
		mv.freeze(k)
	}
	mv.token = string(d.Bytes())
	mv.epoch = d.Uvarint()
	strict := d.U8()
	n = d.Uvarint()
	if d.Bad || strict > 1 || n > slot.Count {
		return errBadEntry
	}
	mv.strict = strict == 1
	for range n {
		s := d.Uvarint()
		if d.Bad || s >= slot.Count {
			return errBadEntry
		}
		mv.own(uint16(s))
	}
	if len(d.B) > 0 {
		n = d.Uvarint()
		if d.Bad || n > slot.Count {
			return errBadEntry
		}
		for range n {
			s := d.Uvarint()
			if d.Bad || s >= slot.Count {
				return errBadEntry
			}
			mv.importFrom(uint16(s))
		}
	}
	if len(d.B) > 0 {
		mv.ended = d.Uvarint()
	}
	if d.Bad || len(d.B) != 0 {
		return errBadEntry
	}
	return nil
}

func (mv *moves) leave(s uint16, to int) {
	if mv.away == nil {
		mv.away = map[uint16]int{}
	}
	mv.away[s] = to
	delete(mv.importing, s)
}

// importFrom marks slot s as importing: its keys may still be in the
// group it comes from.
func (mv *moves) importFrom(s uint16) {
	if mv.importing == nil {
		mv.importing = map[uint16]bool{}
	}
	mv.importing[s] = true
}

func (mv *moves) own(s uint16) {
	if mv.owned == nil {
		mv.owned = map[uint16]bool{}
	}
	mv.owned[s] = true
}

func (mv *moves) freeze(k []byte) {
	if mv.frozen == nil {
		mv.frozen = map[string]struct{}{}
	}
	mv.frozen[string(k)] = struct{}{}
}

// gate decides, for each of cmds, whether it runs here ("") or what it is
// answered instead, as the comment at the top says; asked tells that the
// source of their slots sent them on (Request.asked). It returns nil when
// every command runs here.
func (g *Group) gate(cmds [][][]byte, table command.Table, asked bool) []string {
	mv := &g.mv
	mv.verdict = mv.verdict[:0]
	clear(mv.held)
	atomic := len(cmds) > 0 && bytes.Equal(cmds[0][0], cmdCheck)
	any := false
	for _, args := range cmds {
		v := g.verdictOf(args, table, asked)
		if v != "" {
			any = true
		}
		mv.verdict = append(mv.verdict, v)
	}
	if !any {
		return nil
	}
	if atomic {
		// One verdict for all: the same redirect for every keyed command
		// (the others go along), or TRYAGAIN.
		moved := ""
		for i, v := range mv.verdict {
			switch {
			case v == replyStale:
				moved = replyStale
			case moved == replyStale:
			case v == "" && g.keyedInAway(cmds[i], table):
				moved = replyMixed
			case v == "":
			case !strings.HasPrefix(v, movedPrefix) || moved != "" && moved != v:
				moved = replyMixed
			case moved == "":
				moved = v
			}
			if moved == replyMixed || moved == replyStale {
				break
			}
		}
		for i := range mv.verdict {
			mv.verdict[i] = moved
		}
		return mv.verdict
	}
	return mv.verdict
}

// verdictOf returns the gate's answer to one command of a pipeline: ""
// to run it here. A slot of a command answered otherwise holds back the
// later commands of that slot.
func (g *Group) verdictOf(args [][]byte, table command.Table, asked bool) string {
	mv := &g.mv
	keys, ok := g.keysOf(args, table)
	if !ok || len(keys) == 0 {
		return ""
	}
	s := slot.Of(keys[0])
	to, away := mv.away[s]
	if !away {
		if (!mv.strict || mv.owned[s]) && (asked || !mv.importing[s]) {
			if mv.held[s] {
				return replyDefer
			}
			return ""
		}
		mv.hold(s)
		return replyStale
	}
	if mv.held[s] {
		return replyDefer
	}
	present, frozen := 0, false
	for _, k := range keys {
		if g.db.Exists(k) {
			present++
		}
		if _, ok := mv.frozen[string(k)]; ok {
			frozen = true
		}
	}
	v := ""
	switch {
	case frozen && g.writes(args, table):
		v = replyFrozen
	case present == len(keys):
	case present == 0:
		v = movedPrefix + strconv.Itoa(to) + "\r\n"
	default:
		v = replyMixed
	}
	if v != "" {
		mv.hold(s)
	}
	return v
}

// hold makes the later commands of slot s in the same request try again.
func (mv *moves) hold(s uint16) {
	if mv.held == nil {
		mv.held = map[uint16]bool{}
	}
	mv.held[s] = true
}

// keyedInAway reports whether args has keys in a leaving slot.
func (g *Group) keyedInAway(args [][]byte, table command.Table) bool {
	keys, ok := g.keysOf(args, table)
	if !ok || len(keys) == 0 {
		return false
	}
	_, away := g.mv.away[slot.Of(keys[0])]
	return away
}

// keysOf returns the keys of a command, false for one the gate lets by:
// unknown commands and bad arities (they fail anyway), and the nodes' own
// commands but WATCH's.
func (g *Group) keysOf(args [][]byte, table command.Table) ([][]byte, bool) {
	mv := &g.mv
	args = server.UnwrapScript(args)
	if len(args[0]) > 0 && args[0][0] == 0 {
		switch {
		case bytes.Equal(args[0], cmdDigest) && len(args) == 2:
			return args[1:2], true
		case bytes.Equal(args[0], cmdCheck) && len(args)%2 == 1:
			mv.keys = mv.keys[:0]
			for i := 1; i < len(args); i += 2 {
				mv.keys = append(mv.keys, args[i])
			}
			return mv.keys, true
		}
		return nil, false
	}
	spec := table.Lookup(args[0])
	if spec == nil || !spec.ArityOK(len(args)) {
		return nil, false
	}
	mv.keys = spec.Keys(args, mv.keys[:0])
	return mv.keys, true
}

// writes reports whether a command may change its keys.
func (g *Group) writes(args [][]byte, table command.Table) bool {
	args = server.UnwrapScript(args)
	if len(args[0]) > 0 && args[0][0] == 0 {
		return false // WATCH's digests and checks only read
	}
	spec := table.Lookup(args[0])
	return spec != nil && spec.Flags&command.ReadOnly == 0
}

// migration runs one of the migration commands above, reporting false
// when args is not one.
func (g *Group) migration(args [][]byte) bool {
	stale := func() bool {
		if len(args) < 2 || string(args[1]) != g.mv.token {
			g.w.AppendError(errStaleMover)
			return true
		}
		return false
	}
	// takes reports whether an away or home of epoch e is taken, and
	// if so makes its token the current one.
	takes := func(e []byte) bool {
		epoch, err := strconv.ParseUint(string(e), 10, 64)
		if err != nil || epoch < g.mv.epoch {
			g.w.AppendError(errStaleMover)
			return false
		}
		g.mv.epoch, g.mv.token = epoch, string(args[1])
		return true
	}
	switch {
	case bytes.Equal(args[0], cmdAway) && len(args) >= 6 && len(args)%2 == 0:
		to, err := strconv.Atoi(string(args[3]))
		slots, ok := parseSlotPairs(args[4:])
		if err != nil || to < 0 || to >= maxGroups || !ok {
			g.w.AppendError("ERR bad away")
			return true
		}
		if !takes(args[2]) {
			return true
		}
		for _, s := range slots {
			g.mv.leave(s, to)
		}
		g.w.AppendOK()
	case (bytes.Equal(args[0], cmdHome) || bytes.Equal(args[0], cmdComing)) && len(args) >= 3 && len(args)%2 == 1:
		slots, ok := parseSlotPairs(args[3:])
		if !ok {
			g.w.AppendError("ERR bad home")
			return true
		}
		if !takes(args[2]) {
			return true
		}
		// A migration whose import ended here already goes on without
		// one: its mover may have lost its place after the "done".
		coming := bytes.Equal(args[0], cmdComing) && g.mv.epoch > g.mv.ended
		for _, s := range slots {
			delete(g.mv.away, s)
			if coming {
				g.mv.importFrom(s)
			}
			if g.mv.strict {
				g.mv.own(s)
			}
		}
		g.w.AppendOK()
	case bytes.Equal(args[0], cmdDone) && len(args) >= 4 && len(args)%2 == 0:
		slots, ok := parseSlotPairs(args[2:])
		if !ok {
			g.w.AppendError("ERR bad done")
			return true
		}
		if stale() {
			return true
		}
		for _, s := range slots {
			delete(g.mv.importing, s)
		}
		g.mv.ended = g.mv.epoch
		g.w.AppendOK()
	case bytes.Equal(args[0], cmdKeysIn) && len(args) == 3:
		g.keysIn(args)
	case bytes.Equal(args[0], cmdExport):
		if !stale() {
			g.export(args[2:])
		}
	case bytes.Equal(args[0], cmdImport) && len(args) == 3:
		if stale() {
			return true
		}
		if err := g.importKeys(args[2]); err != nil {
			g.w.AppendError("ERR " + err.Error())
			return true
		}
		g.w.AppendOK()
	case bytes.Equal(args[0], cmdForget):
		if stale() {
			return true
		}
		for _, k := range args[2:] {
			if _, ok := g.mv.frozen[string(k)]; ok {
				delete(g.mv.frozen, string(k))
				g.db.Delete(k)
			}
		}
		g.w.AppendOK()
	default:
		return false
	}
	return true
}

// errStaleMover answers an entry of a mover whose token is not the
// group's current one.
const errStaleMover = "ERR another mover took over"

// parseSlotPairs reads first last pairs of slots.
func parseSlotPairs(args [][]byte) ([]uint16, bool) {
	var out []uint16
	for i := 0; i+1 < len(args); i += 2 {
		a, err1 := strconv.ParseUint(string(args[i]), 10, 16)
		b, err2 := strconv.ParseUint(string(args[i+1]), 10, 16)
		if err1 != nil || err2 != nil || a > b || b >= slot.Count {
			return nil, false
		}
		for s := a; s <= b; s++ {
			out = append(out, uint16(s))
		}
	}
	return out, true
}

// keysIn answers "\x00keysin" cursor count: up to count keys of leaving
// slots from cursor on, visiting at most keysInBudget entries, as an
// array of the next cursor (0 at the end of a full pass) and the keys.
func (g *Group) keysIn(args [][]byte) {
	cur, err1 := strconv.ParseUint(string(args[1]), 10, 64)
	count, err2 := strconv.Atoi(string(args[2]))
	if err1 != nil || err2 != nil || count < 1 {
		g.w.AppendError("ERR bad keysin")
		return
	}
	var keys [][]byte
	visited := 0
	next := g.db.Scan(cur, func(k, _ []byte, _ storage.Object, _ int64) bool {
		visited++
		if _, ok := g.mv.away[slot.Of(k)]; ok {
			keys = append(keys, bytes.Clone(k))
		}
		return len(keys) < count && visited < keysInBudget
	})
	g.w.AppendArray(1 + len(keys))
	g.w.AppendBulkString(strconv.FormatUint(next, 10))
	for _, k := range keys {
		g.w.AppendBulk(k)
	}
}

// export freezes the keys given that are here, in leaving slots, and
// answers their data: count uvarint | count × snapshot entry.
func (g *Group) export(keys [][]byte) {
	buf := binary.AppendUvarint(nil, 0)
	n := 0
	for _, k := range keys {
		if _, ok := g.mv.away[slot.Of(k)]; !ok {
			continue
		}
		v, obj, at, ok := g.db.Find(k)
		if !ok {
			continue
		}
		g.mv.freeze(k)
		buf = appendEntry(buf, k, v, obj, at)
		n++
	}
	out := binary.AppendUvarint(nil, uint64(n))
	out = append(out, buf[1:]...)
	g.w.AppendBulk(out)
}

// importKeys sets the keys of an export's data.
func (g *Group) importKeys(data []byte) error {
	d := binread.Reader{B: data}
	n := d.Uvarint()
	if d.Bad || n > uint64(len(d.B)) {
		return errBadEntry
	}
	var elems [][]byte
	e := g.db.Engine()
	for range n {
		if !readEntry(&d, e, &elems) {
			return errBadEntry
		}
	}
	if len(d.B) != 0 {
		return errBadEntry
	}
	return nil
}
