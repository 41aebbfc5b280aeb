package cluster

import (
	"encoding/binary"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/data-cluster/data-cluster/internal/keyspace"
)

// WATCH on a cluster node compares values, not versions: a replica's
// versions of watched keys are its own, but what a key holds is the same on
// every replica at a given point of the log. WATCH reads each key's digest
// (a hash of its value and expiry, 0 when absent) linearizably; EXEC sends
// the digests with the transaction as one log entry, and every replica runs
// the transaction only if each key still has its digest there. Unlike
// Redis, a key written and then set back to the same value and expiry
// between WATCH and EXEC does not abort the transaction.
//
// Two commands that clients cannot send (their names start with a zero
// byte, which the command table has not) carry this between the nodes and
// into the log:
//
//	"\x00digest" key          the key's digest, as an integer reply
//	"\x00check" key digest …  +OK if every key has its digest, else an error;
//	                          first in an EXEC's entry, the rest runs only
//	                          after +OK
var (
	cmdDigest = []byte("\x00digest")
	cmdCheck  = []byte("\x00check")
)

// checkFailed is the reply of a failed check, never sent to a client.
const checkFailed = "-WATCHED key changed\r\n"

// digest returns the digest of key in db at the time db is set to.
func digest(db *keyspace.DB, key []byte) uint64 {
	v, at, ok := db.Lookup(key)
	if !ok {
		return 0
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(at))
	d := xxhash.New()
	d.Write(v)
	d.Write(b[:])
	return d.Sum64() | 1
}

// internal runs a command of the nodes' own, reporting false when args is
// not one. A failed check reports stop, and the commands after it are not
// run.
func (g *Group) internal(args [][]byte) (ok, stop bool) {
	switch {
	case string(args[0]) == string(cmdDigest) && len(args) == 2:
		g.w.AppendInt(int64(digest(g.db, args[1])))
	case string(args[0]) == string(cmdCheck) && len(args)%2 == 1:
		for i := 1; i < len(args); i += 2 {
			want, err := strconv.ParseUint(string(args[i+1]), 10, 64)
			if err != nil || digest(g.db, args[i]) != want {
				g.w.AppendRaw([]byte(checkFailed))
				return true, true
			}
		}
		g.w.AppendOK()
	case string(args[0]) == string(cmdSave) && len(args) == 1:
		g.w.AppendInt(g.saveNow())
	case string(args[0]) == string(cmdLoad) && len(args) == 2:
		if err := g.importKeys(args[1]); err != nil {
			g.w.AppendError("ERR " + err.Error())
		} else {
			g.w.AppendOK()
		}
	default:
		return g.migration(args), false
	}
	return true, false
}
