package command

import (
	"errors"
	"math"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/rdb"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// dumpCommands serialize a value in Redis's DUMP format and restore one
// (see internal/rdb), so that values move between Redis and this server.
var dumpCommands = []*Spec{
	{Name: "dump", Arity: 2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: dump},
	// RESTORE writes a whole value through SetObject, which logs it whole
	// with --data-dir; on a cluster every replica decodes the same payload
	// at the entry's time, so its outcome is the same everywhere.
	{Name: "restore", Arity: -4, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: restore},
}

// dump implements DUMP key: the value's payload, or nil for a missing key.
func dump(c *Ctx, args [][]byte) {
	v, obj, _, ok := c.DB(args[1]).Find(args[1])
	if !ok {
		c.W.AppendNull()
		return
	}
	p, err := rdb.Encode(nil, rdb.Value{String: v, Object: obj})
	if err != nil {
		c.W.AppendError("ERR " + err.Error())
		return
	}
	c.W.AppendBulk(p)
}

// restore implements RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME
// seconds] [FREQ frequency] with Redis's checks in Redis's order: the
// options, the key, the TTL, then the payload. IDLETIME and FREQ are
// checked and then ignored, as OBJECT IDLETIME and FREQ keep nothing. A
// TTL that is already past deletes the key under REPLACE and restores
// nothing, answering +OK as Redis does.
func restore(c *Ctx, args [][]byte) {
	var replace, absTTL bool
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case ascii.EqualFold(args[j], "replace"):
			replace = true
		case ascii.EqualFold(args[j], "absttl"):
			absTTL = true
		case ascii.EqualFold(args[j], "idletime") && more && freq == -1:
			n, ok := resp.ParseInt(args[j+1])
			if !ok {
				c.W.AppendError("ERR value is not an integer or out of range")
				return
			}
			if n < 0 {
				c.W.AppendError("ERR Invalid IDLETIME value, must be >= 0")
				return
			}
			idle = n
			j++
		case ascii.EqualFold(args[j], "freq") && more && idle == -1:
			n, ok := resp.ParseInt(args[j+1])
			if !ok {
				c.W.AppendError("ERR value is not an integer or out of range")
				return
			}
			if n < 0 || n > 255 {
				c.W.AppendError("ERR Invalid FREQ value, must be >= 0 and <= 255")
				return
			}
			freq = n
			j++
		default:
			c.W.AppendError("ERR syntax error")
			return
		}
	}
	key := args[1]
	db := c.DB(key)
	if !replace && db.Exists(key) {
		c.W.AppendError("BUSYKEY Target key name already exists.")
		return
	}
	ttl, ok := resp.ParseInt(args[2])
	if !ok {
		c.W.AppendError("ERR value is not an integer or out of range")
		return
	}
	if ttl < 0 {
		c.W.AppendError("ERR Invalid TTL value, must be >= 0")
		return
	}
	v, err := rdb.Decode(args[3])
	switch {
	case errors.Is(err, rdb.ErrChecksum):
		c.W.AppendError("ERR DUMP payload version or checksum are wrong")
		return
	case err != nil:
		c.W.AppendError("ERR Bad data format")
		return
	}
	now := db.Now()
	at := storage.NoExpiry
	if ttl != 0 {
		at = ttl
		if !absTTL {
			at = now + min(ttl, math.MaxInt64-now)
		}
		if at <= now { // already expired: Redis's checkAlreadyExpired
			if replace && db.Delete(key) {
				c.Notify(notify.Generic, "del", key)
			}
			c.W.AppendOK()
			return
		}
	}
	if v.Object != nil {
		db.SetObject(key, v.Object, at)
	} else {
		db.Set(key, v.String, at)
	}
	c.Notify(notify.Generic, "restore", key)
	c.W.AppendOK()
}
