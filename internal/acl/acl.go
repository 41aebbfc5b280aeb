// Package acl holds the users of a server and what each may do, following
// Redis 7.0's ACLs: the rule language of ACL SETUSER and of aclfiles, the
// command categories, and the checks of commands, keys and channels.
//
// A User is a stable handle whose Rules are replaced as a whole when the
// user changes: a connection keeps its *User and loads the current Rules for
// each command, so that changes apply at once to every connection of the
// user, and the check costs the connections of a user allowed everything
// (the default user, unless restricted) one load and one flag test.
//
// The categories and key specs of each command are those of redis-server
// 7.0.15's COMMAND INFO (commands_gen.go, written by gen.go from
// testdata/command_info.json), kept for the commands of command.Redis.
package acl

//go:generate go run gen.go

import (
	"slices"
	"strings"
	"sync"

	"github.com/data-cluster/data-cluster/internal/command"
)

// Category is a set of Redis's ACL command categories.
type Category uint32

// The categories, in the order ACL CAT lists them.
const (
	catKeyspace Category = 1 << iota
	catRead
	catWrite
	catSet
	catSortedset
	catList
	catHash
	catString
	catBitmap
	catHyperloglog
	catGeo
	catStream
	catPubsub
	catAdmin
	catFast
	catSlow
	catBlocking
	catDangerous
	catConnection
	catTransaction
	catScripting
)

// categoryNames are the categories' names, bit i naming 1<<i.
var categoryNames = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
}

// Categories returns the names of every category, as ACL CAT lists them.
func Categories() []string { return slices.Clone(categoryNames) }

// categoryByName returns the category named name (without its '@'), or 0.
func categoryByName(name string) Category {
	for i, n := range categoryNames {
		if strings.EqualFold(n, name) {
			return 1 << i
		}
	}
	return 0
}

// Names returns the names of the categories in c, each with its '@', in
// ACL CAT's order.
func (c Category) Names() []string {
	var out []string
	for i, n := range categoryNames {
		if c&(1<<i) != 0 {
			out = append(out, "@"+n)
		}
	}
	return out
}

// keyFlags say what a key spec's keys are used for.
type keyFlags uint8

const (
	keyAccess   keyFlags = 1 << iota // the value is read: needs read permission
	keyWrite                         // the key is inserted, updated or deleted: needs write permission
	keyNotKey                        // the "key" is a shard channel, not a key
	keyVariable                      // the flags depend on the arguments (see variableNeed)
)

// keySpec is one of a command's key specs as Redis 7 describes them: where
// the search for keys begins (an index, or after a keyword searched from
// StartFrom) and how the keys are found from there (a range, or a count).
type keySpec struct {
	Flags     keyFlags
	Index     int    // begin at this argument, when Keyword is ""
	Keyword   string // begin after this argument
	StartFrom int    // search Keyword from this argument (negative: from the end, backwards)
	Unknown   bool   // the spec cannot be followed: its keys are not checked

	LastKey, KeyStep, Limit int // a range: the last key relative to the first, …
	KeyNum                  bool
	KeyNumIdx, FirstKey     int // a count: at KeyNumIdx, keys from FirstKey, both relative to the beginning
}

// commandDef is a command or subcommand as recorded from Redis.
type commandDef struct {
	Name string // lower case; "parent|sub" for a subcommand
	Cats Category
	Keys []keySpec
	Subs []commandDef
}

// cmd is a command the ACLs know: one of command.Redis, or a subcommand of
// one.
type cmd struct {
	name   string // full name: "get", "client|kill"
	id     int    // index in commandSet.cmds, and bit in a Rules' command set
	cats   Category
	keys   []keySpec
	parent *cmd
	subs   map[string]*cmd // by the subcommand's own name ("kill")
	sorted []*cmd          // subs in name order
}

// commandSet is every command and subcommand the ACLs know.
type commandSet struct {
	cmds   []*cmd          // every command and subcommand, by id
	top    []*cmd          // the commands, in name order
	byName map[string]*cmd // by full name
}

// commands returns the commands the ACLs know: those of command.Redis, read
// at first use, once every command is in it (the server puts its
// connection commands in the table while it is initialised, after this
// package; see command.RegisterConn).
var commands = sync.OnceValue(func() *commandSet {
	cs := &commandSet{byName: make(map[string]*cmd)}
	defs := slices.Concat(redisCommands, ownCommands)
	slices.SortFunc(defs, func(a, b commandDef) int { return strings.Compare(a.Name, b.Name) })
	for i := range defs {
		d := &defs[i]
		if command.Redis[d.Name] == nil {
			continue
		}
		c := cs.add(d, nil)
		cs.top = append(cs.top, c)
		for j := range d.Subs {
			s := cs.add(&d.Subs[j], c)
			short := s.name[len(c.name)+1:]
			if c.subs == nil {
				c.subs = make(map[string]*cmd)
			}
			c.subs[short] = s
			c.sorted = append(c.sorted, s)
		}
	}
	return cs
})

// ownCommands are the commands Redis does not have, with the categories
// and key specs of their Redis counterparts: DELETE as DEL of one key, LIST
// as KEYS *.
var ownCommands = []commandDef{
	{Name: "delete", Cats: catKeyspace | catWrite | catFast, Keys: []keySpec{{Flags: keyWrite, Index: 1, LastKey: 0, KeyStep: 1}}},
	{Name: "list", Cats: catKeyspace | catRead | catSlow | catDangerous},
}

func (cs *commandSet) add(d *commandDef, parent *cmd) *cmd {
	c := &cmd{name: d.Name, id: len(cs.cmds), cats: d.Cats, keys: d.Keys, parent: parent}
	cs.cmds = append(cs.cmds, c)
	cs.byName[c.name] = c
	return c
}

// Known reports whether the ACLs know the command named name (lower case).
func Known(name string) bool { return commands().byName[name] != nil }

// CommandCategories returns the categories of the command or subcommand
// named name ("get", "client|kill"), in lower case, as Redis 7.0's COMMAND
// INFO reports them.
func CommandCategories(name string) Category {
	if c := commands().byName[name]; c != nil {
		return c.cats
	}
	return 0
}

// CommandsIn returns the full names of the commands and subcommands in
// category cat (without '@'), as ACL CAT cat lists them, and false when
// there is no such category.
func CommandsIn(cat string) ([]string, bool) {
	cf := categoryByName(cat)
	if cf == 0 {
		return nil, false
	}
	var out []string
	for _, c := range commands().top {
		if c.cats&cf != 0 {
			out = append(out, c.name)
		}
		for _, s := range c.sorted {
			if s.cats&cf != 0 {
				out = append(out, s.name)
			}
		}
	}
	return out, true
}

// UnknownSubcommand reports whether args name a command that has
// subcommands and a subcommand it does not have.
func UnknownSubcommand(args [][]byte) bool {
	var buf [32]byte
	c := commands().byName[string(lowerName(buf[:0], args[0]))]
	return c != nil && c.subs != nil && len(args) >= 2 && lookup(args) == nil
}

// lookup returns the command that args run: the subcommand when args[0]
// has subcommands, else the command; nil when unknown, an unknown
// subcommand included (the command answers it as Redis does, before any
// permission check).
// It does not allocate for names up to 32 bytes.
func lookup(args [][]byte) *cmd {
	var buf [32]byte
	c := commands().byName[string(lowerName(buf[:0], args[0]))]
	if c == nil || c.subs == nil || len(args) < 2 {
		return c
	}
	return c.subs[string(lowerName(buf[:0], args[1]))]
}

// lowerName appends b in lower case to dst.
func lowerName(dst, b []byte) []byte {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
