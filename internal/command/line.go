package command

import (
	"bytes"
	"slices"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Line is the command table of the line protocol: GET, SET, DELETE and LIST,
// each answered with one line of text.
var Line = newTable([]*Spec{
	{Name: "get", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lineGet},
	{Name: "set", Arity: 3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: lineSet},
	{Name: "delete", Arity: 2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lineDelete},
	{Name: "list", Arity: 1, Flags: ReadOnly, Kind: AllShards, Run: lineList},
})

var (
	lineOK       = []byte("OK\n")
	lineNotFound = []byte("ERR key not found\n")
	lineNewline  = []byte("\n")
)

func lineGet(c *Ctx, args [][]byte) {
	v, ok := c.DB(args[1]).Get(args[1])
	if !ok {
		c.W.AppendRaw(lineNotFound)
		return
	}
	c.W.AppendRaw(v)
	c.W.AppendRaw(lineNewline)
}

func lineSet(c *Ctx, args [][]byte) {
	c.DB(args[1]).Set(args[1], args[2], storage.NoExpiry)
	c.W.AppendRaw(lineOK)
}

func lineDelete(c *Ctx, args [][]byte) {
	c.DB(args[1]).Delete(args[1])
	c.W.AppendRaw(lineOK)
}

// lineList replies with every key, sorted, joined by commas.
func lineList(c *Ctx, _ [][]byte) {
	var keys [][]byte
	c.DBs(func(_ int, db *keyspace.DB) bool {
		db.Scan(0, func(k, _ []byte, _ int64) bool {
			keys = append(keys, bytes.Clone(k))
			return true
		})
		return true
	})
	slices.SortFunc(keys, bytes.Compare)
	c.W.AppendRaw(bytes.Join(keys, []byte(",")))
	c.W.AppendRaw(lineNewline)
}
