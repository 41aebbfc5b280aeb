package command

import (
	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// memoryCommands are MEMORY USAGE and MEMORY HELP; the server answers
// MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE itself, from every shard. MEMORY USAGE has its key
// at position 2, as OBJECT's subcommands do, so that it runs on the key's
// shard; HELP has no key.
var memoryCommands = []*Spec{
	{Name: "memory", Arity: -2, Flags: ReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Run: memoryCommand},
}

// memoryHelp is the body of MEMORY HELP, between Redis's usual first line
// and its HELP entry: Redis's text for the subcommands this server has.
var memoryHelp = []string{
	"DOCTOR",
	"    Return memory problems reports.",
	"MALLOC-STATS",
	"    Return internal statistics report from the memory allocator.",
	"PURGE",
	"    Attempt to purge dirty pages for reclamation by the allocator.",
	"STATS",
	"    Return information about the memory usage of the server.",
	"USAGE <key> [SAMPLES <count>]",
	"    Return memory in bytes used by <key> and its value. Nested values are",
	"    sampled up to <count> times (default: 5, 0 means sample all).",
}

// memoryCommand implements MEMORY USAGE and MEMORY HELP with Redis's
// replies and errors. USAGE answers the engine's estimate for the key (see
// keyspace.DB.MemoryUsage), which is kept exact as collections change, so
// SAMPLES is checked as Redis checks it and then has nothing to sample.
func memoryCommand(c *Ctx, args [][]byte) {
	sub := args[1]
	switch {
	case ascii.EqualFold(sub, "help"):
		if len(args) != 2 {
			c.W.AppendError("ERR wrong number of arguments for 'memory|help' command")
			return
		}
		c.W.AppendArray(len(memoryHelp) + 3)
		c.W.AppendSimple("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
		for _, l := range memoryHelp {
			c.W.AppendSimple(l)
		}
		c.W.AppendSimple("HELP")
		c.W.AppendSimple("    Prints this help.")
		return
	case ascii.EqualFold(sub, "usage"):
	default:
		c.W.AppendError("ERR unknown subcommand '" + cString(sub[:min(len(sub), 128)]) + "'. Try MEMORY HELP.")
		return
	}
	if len(args) < 3 {
		c.W.AppendError("ERR wrong number of arguments for 'memory|usage' command")
		return
	}
	for j := 3; j < len(args); j += 2 {
		if !ascii.EqualFold(args[j], "samples") || j+1 >= len(args) {
			c.W.AppendError(strErrSyntax)
			return
		}
		n, ok := resp.ParseInt(args[j+1])
		if !ok {
			c.W.AppendError(strErrNotInt)
			return
		}
		if n < 0 {
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	key := args[2]
	n, ok := c.DB(key).MemoryUsage(key)
	if !ok {
		c.W.AppendNull()
		return
	}
	c.W.AppendInt(n)
}
