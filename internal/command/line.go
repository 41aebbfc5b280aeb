package command

import (
	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Line is the command table of the line protocol: GET, SET, DELETE and LIST,
// each answered with one line of text.
var Line = newTable([]*Spec{
	{Name: "get", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lineGet},
	{Name: "set", Arity: 3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: lineSet},
	{Name: "delete", Arity: 2, Flags: Write | Fast, FirstKey: 1, LastKey: 1, Step: 1, Run: lineDelete},
	{Name: "list", Arity: 1, Flags: ReadOnly, Kind: AllShards, Run: lineListGather.Run, Gather: lineListGather},
})

var (
	lineOK       = []byte("OK\n")
	lineNotFound = []byte("ERR key not found\n")
	// lineWrongType answers GET of a key that holds a hash, a set or any
	// other type the line protocol cannot show.
	lineWrongType = []byte("ERR wrong type\n")
	lineNewline   = []byte("\n")
	lineComma     = []byte(",")
)

func lineGet(c *Ctx, args [][]byte) {
	v, obj, ok := c.DB(args[1]).Read(args[1])
	if obj != nil {
		c.W.AppendRaw(lineWrongType)
		return
	}
	if !ok {
		c.W.AppendRaw(lineNotFound)
		return
	}
	c.W.AppendRaw(v)
	c.W.AppendRaw(lineNewline)
}

func lineSet(c *Ctx, args [][]byte) {
	c.DB(args[1]).Set(args[1], args[2], storage.NoExpiry)
	c.Notify(notify.String, "set", args[1])
	c.W.AppendRaw(lineOK)
}

func lineDelete(c *Ctx, args [][]byte) {
	if c.DB(args[1]).Delete(args[1]) {
		c.Notify(notify.Generic, "del", args[1])
	}
	c.W.AppendRaw(lineOK)
}

// lineListGather is the line protocol's LIST: every live key, sorted
// bytewise, joined by commas, on one line.
var lineListGather = &Gather{Part: allKeysPart, Reply: lineListReply}

func lineListReply(w *resp.Writer, keys *Keys, _ [][]byte) {
	for i, k := range keys.Sorted() {
		if i > 0 {
			w.AppendRaw(lineComma)
		}
		w.AppendRaw(k)
		yieldEvery(i)
	}
	w.AppendRaw(lineNewline)
}
