package cluster

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/data-cluster/data-cluster/internal/binread"
)

// The data of a group's normal Raft entries. Every entry is one of:
//
//	entryCommands: kind | origin u64 | seq u64 | now i64 | proto u8 | n uvarint | n × command
//	entryExpire:   kind | now i64 | n uvarint | n × (len uvarint | key)
//	entryEffects:  kind | origin u64 | seq u64 | now i64 | proto u8 | n uvarint | n × command
//	entryBatch:    kind | n uvarint | n × (len uvarint | an entryCommands entry's data)
//	entryEvict:    kind | origin u64 | seq u64 | now i64 | n uvarint | n × (len uvarint | key)
//
// where a command is: argc uvarint | argc × (len uvarint | bytes). origin is
// the replica id that proposed the entry and seq a number it chose, so that
// the proposer, and only it, can hand the replies back to the waiting client
// when it applies the entry, whatever its role by then. now is the leader's
// clock when it proposed: every replica applies the entry at that time, so
// TTLs and expiry come out alike everywhere.
//
// The proto byte is the RESP version of the replies (0 for the line
// protocol), with protoAsked added when the commands were sent on by the
// group their slot is leaving (Request.asked), which lets them run on a
// slot being imported (migrate.go), and protoOOM when the leader found its
// keyspace over its share of --maxmemory with nothing to evict (evict.go):
// every replica then refuses the commands that need memory.
//
// entryCommands runs its commands with one random source seeded from
// (origin, seq). Before scripts were replicated as their effects, it also
// carried EVAL and FCALL themselves (server.ClusterRun), which every replica
// ran; such entries, still in older logs, apply as they did.
//
// entryEffects holds the writes a script made when the leader ran it
// (effects.go): the commands are applied together, as one transaction,
// each with the random source seeded anew from (origin, seq, its index),
// and without the checks of slots on the move that the leader's run passed
// already. Its proposer answers the client with the script's reply from
// the leader's run, not with the replies of these commands.
//
// entryBatch holds the writes a leader took in one turn of its loop
// (batch.go), each as the data of the entryCommands entry it would
// otherwise have been, applied in order as those entries would have been,
// all at the batch's index.
const (
	entryCommands = 1
	entryExpire   = 2
	entryEffects  = 3
	entryBatch    = 4
	entryEvict    = 5
)

// protoAsked is the bit of an entry's proto byte that marks commands sent
// on by their slot's source group.
const protoAsked = 0x80

// protoOOM is the bit of an entry's proto byte that refuses the commands
// needing memory.
const protoOOM = 0x40

// appendKeys appends to dst the rest of an entryExpire or entryEvict
// entry: its keys, as of now (Unix milliseconds).
func appendKeys(dst []byte, now int64, keys [][]byte) []byte {
	dst = appendU64(dst, uint64(now))
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
	}
	return dst
}

// protoByte returns the proto byte of an entry for r.
func protoByte(r *Request) byte {
	if r.asked {
		return byte(r.Proto) | protoAsked
	}
	return byte(r.Proto)
}

// errBadEntry is returned for entry or request data that does not decode.
var errBadEntry = errors.New("cluster: malformed entry")

// appendCommands appends the encoding of cmds to dst.
func appendCommands(dst []byte, cmds [][][]byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(cmds)))
	for _, args := range cmds {
		dst = binary.AppendUvarint(dst, uint64(len(args)))
		for _, a := range args {
			dst = binary.AppendUvarint(dst, uint64(len(a)))
			dst = append(dst, a...)
		}
	}
	return dst
}

// commandsSize returns the length of appendCommands' encoding of cmds.
func commandsSize(cmds [][][]byte) int {
	n := uvarintLen(uint64(len(cmds)))
	for _, args := range cmds {
		n += uvarintLen(uint64(len(args)))
		for _, a := range args {
			n += uvarintLen(uint64(len(a))) + len(a)
		}
	}
	return n
}

// entryHeader is the length of an entryCommands entry before its commands:
// kind, origin, seq, now and the proto byte.
const entryHeader = 1 + 8 + 8 + 8 + 1

// uvarintLen returns the length of x's uvarint encoding.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// readCommands reads what appendCommands wrote.
func readCommands(d *binread.Reader) [][][]byte { return readCommandsIn(d, nil) }

// argSpace holds the arrays that readCommandsIn cuts commands and their
// arguments from, so that the entries of a batch share two allocations
// instead of taking two each. The arrays are never reused: what was cut
// stays the command's.
type argSpace struct {
	cmds [][][]byte
	args [][]byte
}

// newArgSpace returns an argSpace sized for n commands of a few arguments.
func newArgSpace(n int) *argSpace {
	return &argSpace{cmds: make([][][]byte, 0, n), args: make([][]byte, 0, 4*n)}
}

// readCommandsIn is readCommands cutting its slices from sp, or allocating
// them when sp is nil.
func readCommandsIn(d *binread.Reader, sp *argSpace) [][][]byte {
	n := d.Uvarint()
	if n > uint64(len(d.B)) {
		d.Bad, d.B = true, nil
		return nil
	}
	// The commands' arguments share one array (cut into the commands'
	// slices as they are read; one that outgrows it moves on to a larger
	// one, the slices cut before keep theirs): two allocations an entry,
	// not one a command, and none for an entry that fits in sp.
	var cmds [][][]byte
	var flat [][]byte
	if sp != nil && cap(sp.cmds)-len(sp.cmds) >= int(n) {
		end := len(sp.cmds) + int(n)
		cmds, sp.cmds = sp.cmds[len(sp.cmds):end:end], sp.cmds[:end]
	} else {
		cmds = make([][][]byte, n)
	}
	if sp != nil {
		flat = sp.args
	}
	for i := range cmds {
		argc := d.Uvarint()
		if argc == 0 || argc > uint64(len(d.B)) {
			d.Bad, d.B = true, nil
			return nil
		}
		if flat == nil {
			// A guess from the first command, the others being alike;
			// an argument takes a byte at least.
			flat = make([][]byte, 0, min(int(argc)*int(n), len(d.B)))
		}
		start := len(flat)
		for range argc {
			flat = append(flat, d.Bytes())
		}
		if d.Bad {
			return nil
		}
		cmds[i] = flat[start:len(flat):len(flat)]
	}
	if sp != nil {
		sp.args = flat
	}
	return cmds
}

func appendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }
