package server

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/resp"
)

func (s *session) command(w *resp.Writer, args [][]byte) { Command(w, args) }

// Command answers COMMAND, COMMAND COUNT|LIST|INFO|DOCS|GETKEYS|
// GETKEYSANDFLAGS|HELP; args are the whole command. COMMAND INFO and DOCS
// give, for the commands Redis has, redis-server 7.0's own entries
// (recorded by internal/command/internal/gendocs), with our arity and
// without the subcommands this server does not answer. A cluster node
// answers it the same way.
func Command(w *resp.Writer, args [][]byte) {
	if len(args) == 1 {
		names := sortedCommands()
		w.AppendArray(len(names))
		for _, n := range names {
			appendInfo(w, command.Redis[n])
		}
		return
	}
	switch sub := lower(args[1]); sub {
	case "count":
		if len(args) != 2 {
			SubArity(w, "command", sub)
			return
		}
		w.AppendInt(int64(len(command.Redis)))
	case "list":
		names, ok := commandList(args[2:])
		if !ok {
			w.AppendError("ERR syntax error")
			return
		}
		w.AppendArray(len(names))
		for _, n := range names {
			w.AppendBulkString(n)
		}
	case "info":
		names := args[2:]
		if len(names) == 0 {
			Command(w, args[:1])
			return
		}
		w.AppendArray(len(names))
		for _, n := range names {
			if spec := command.Redis.Lookup(n); spec != nil {
				appendInfo(w, spec)
			} else {
				w.AppendNull()
			}
		}
	case "docs":
		var specs []*command.Spec
		if len(args) == 2 {
			for _, n := range sortedCommands() {
				specs = append(specs, command.Redis[n])
			}
		} else {
			for _, n := range args[2:] {
				if spec := command.Redis.Lookup(n); spec != nil {
					specs = append(specs, spec)
				}
			}
		}
		w.AppendMap(len(specs))
		for _, spec := range specs {
			w.AppendBulkString(spec.Name)
			docsOf(spec.Name).write(w)
		}
	case "getkeys", "getkeysandflags":
		if len(args) < 4 {
			SubArity(w, "command", sub)
			return
		}
		keys, msg := getKeys(args[2:])
		if msg != "" {
			w.AppendError(msg)
			return
		}
		w.AppendArray(len(keys))
		for _, k := range keys {
			if sub == "getkeys" {
				w.AppendBulk(k.key)
				continue
			}
			w.AppendArray(2)
			w.AppendBulk(k.key)
			w.AppendSet(len(k.flags))
			for _, f := range k.flags {
				w.AppendSimple(f)
			}
		}
	case "help":
		if len(args) != 2 {
			SubArity(w, "command", sub)
			return
		}
		appendHelp(w,
			"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"(no subcommand)",
			"    Return details about all Redis commands.",
			"COUNT",
			"    Return the total number of commands in this Redis server.",
			"LIST",
			"    Return a list of all commands in this Redis server.",
			"INFO [<command-name> ...]",
			"    Return details about multiple Redis commands.",
			"    If no command names are given, documentation details for all",
			"    commands are returned.",
			"DOCS [<command-name> ...]",
			"    Return documentation details about multiple Redis commands.",
			"    If no command names are given, documentation details for all",
			"    commands are returned.",
			"GETKEYS <full-command>",
			"    Return the keys from a full Redis command.",
			"GETKEYSANDFLAGS <full-command>",
			"    Return the keys and the access flags from a full Redis command.",
			"HELP",
			"    Prints this help.")
	default:
		UnknownSubcommand(w, "command", args[1])
	}
}

func sortedCommands() []string {
	names := make([]string, 0, len(command.Redis))
	for n := range command.Redis {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// commandList returns COMMAND LIST's names, sorted: every command and
// every subcommand served ("config|get"), or those that FILTERBY MODULE
// (none), ACLCAT (of that ACL category) or PATTERN (matching the glob, in
// any letter case) selects. ok is false for a syntax error.
func commandList(opts [][]byte) (names []string, ok bool) {
	var keep func(name string, info *node) bool
	switch {
	case len(opts) == 0:
		keep = func(string, *node) bool { return true }
	case len(opts) == 3 && ascii.EqualFold(opts[0], "filterby"):
		arg := opts[2]
		switch lower(opts[1]) {
		case "module":
			keep = func(string, *node) bool { return false }
		case "aclcat":
			cat := "@" + lower(arg)
			keep = func(_ string, info *node) bool {
				return info != nil && len(info.kids) > 6 && info.kids[6].has(cat)
			}
		case "pattern":
			keep = func(name string, _ *node) bool { return glob.MatchFold(arg, []byte(name)) }
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	for _, n := range sortedCommands() {
		info := infoOf(command.Redis[n])
		if keep(n, info) {
			names = append(names, n)
		}
		for _, sub := range info.subcommands() {
			if keep(sub.kids[0].s, sub) {
				names = append(names, sub.kids[0].s)
			}
		}
	}
	slices.Sort(names)
	return names, true
}

// node is a RESP3 value of a recorded reply: an aggregate (kind '*' array,
// '~' set, '%' map, with its elements, a map's keys and values in turn),
// a string ('$' bulk, '+' simple) or an integer (':').
type node struct {
	kind byte
	s    string
	n    int64
	kids []*node
}

// parseNode parses the RESP3 value at the start of b and returns it and
// the rest of b. The recorded replies are trusted: a malformed one panics
// at the first COMMAND, which the test of every command catches.
func parseNode(b string) (*node, string) {
	end := strings.Index(b, "\r\n")
	line, rest := b[1:end], b[end+2:]
	nd := &node{kind: b[0]}
	switch nd.kind {
	case '+':
		nd.s = line
	case ':':
		nd.n, _ = strconv.ParseInt(line, 10, 64)
	case '$':
		n, _ := strconv.Atoi(line)
		nd.s, rest = rest[:n], rest[n+2:]
	case '*', '~', '%':
		n, _ := strconv.Atoi(line)
		if nd.kind == '%' {
			n *= 2
		}
		nd.kids = make([]*node, n)
		for i := range n {
			nd.kids[i], rest = parseNode(rest)
		}
	default:
		panic("server: unexpected RESP3 type " + string(b[0]) + " in a recorded reply")
	}
	return nd, rest
}

// write writes nd in the writer's protocol: a map or set becomes an array
// in RESP2, as Redis writes them.
func (nd *node) write(w *resp.Writer) {
	switch nd.kind {
	case '+':
		w.AppendSimple(nd.s)
	case ':':
		w.AppendInt(nd.n)
	case '$':
		w.AppendBulkString(nd.s)
	case '*':
		w.AppendArray(len(nd.kids))
	case '~':
		w.AppendSet(len(nd.kids))
	case '%':
		w.AppendMap(len(nd.kids) / 2)
	}
	for _, k := range nd.kids {
		k.write(w)
	}
}

// get returns the value of key in map nd, or nil.
func (nd *node) get(key string) *node {
	if nd == nil || nd.kind != '%' {
		return nil
	}
	for i := 0; i+1 < len(nd.kids); i += 2 {
		if nd.kids[i].s == key {
			return nd.kids[i+1]
		}
	}
	return nil
}

// has reports whether aggregate nd holds the string s.
func (nd *node) has(s string) bool {
	for _, k := range nd.kids {
		if k.s == s {
			return true
		}
	}
	return false
}

// subcommands returns the subcommand entries of COMMAND INFO entry nd.
func (nd *node) subcommands() []*node {
	if nd == nil || len(nd.kids) < 10 {
		return nil
	}
	return nd.kids[9].kids
}

// recorded holds the COMMAND INFO and DOCS entries, parsed once.
var recorded = sync.OnceValue(func() (r struct{ info, docs map[string]*node }) {
	r.info, r.docs = map[string]*node{}, map[string]*node{}
	for name, spec := range command.Redis {
		if raw, ok := command.RedisInfo(name); ok {
			info, _ := parseNode(raw)
			info.kids[1] = &node{kind: ':', n: int64(spec.Arity)}
			info.kids[9].kids = servedSubs(name, info.kids[9].kids)
			r.info[name] = info
		}
		if raw, ok := command.RedisDocs(name); ok {
			d, _ := parseNode(raw)
			if subs := d.get("subcommands"); subs != nil {
				var kept []*node
				for i := 0; i+1 < len(subs.kids); i += 2 {
					if len(servedSubs(name, subs.kids[i:i+1])) == 1 {
						kept = append(kept, subs.kids[i], subs.kids[i+1])
					}
				}
				subs.kids = kept
			}
			r.docs[name] = d
		}
	}
	return r
})

// servedSubs keeps, of the subcommand entries of the container cmd (a COMMAND
// INFO entry or a DOCS name, each naming "cmd|sub"), those this server
// answers, when it lists them in subcommands; all of them otherwise.
func servedSubs(cmd string, entries []*node) []*node {
	subs, listed := subcommands[cmd]
	if !listed {
		return entries
	}
	var out []*node
	for _, e := range entries {
		name := e.s
		if e.kind == '*' {
			name = e.kids[0].s
		}
		_, sub, _ := strings.Cut(name, "|")
		if slices.Contains(subs, sub) {
			out = append(out, e)
		}
	}
	return out
}

// infoOf returns Redis's COMMAND INFO entry for spec, or nil for a command
// Redis does not have.
func infoOf(spec *command.Spec) *node { return recorded().info[spec.Name] }

// docsOf returns Redis's COMMAND DOCS entry for the command named name, or
// ours for a command Redis does not have.
func docsOf(name string) *node {
	if d := recorded().docs[name]; d != nil {
		return d
	}
	return ownDocs[name]
}

// ownDocs documents the commands Redis does not have, in COMMAND DOCS's
// shape.
var ownDocs = map[string]*node{
	"delete": docsNode("Delete a key (the line protocol's DELETE)", "keyspace", "O(1)", "key"),
	"list":   docsNode("Return every key, sorted bytewise (the line protocol's LIST)", "keyspace", "O(N) with N being the number of keys in the database", ""),
}

func docsNode(summary, group, complexity, key string) *node {
	str := func(s string) *node { return &node{kind: '$', s: s} }
	d := &node{kind: '%', kids: []*node{str("summary"), str(summary), str("since"), str("0.1.0"),
		str("group"), str(group), str("complexity"), str(complexity)}}
	if key != "" {
		arg := &node{kind: '%', kids: []*node{str("name"), str(key), str("type"), str("key"), str("key_spec_index"), {kind: ':'}}}
		d.kids = append(d.kids, str("arguments"), &node{kind: '*', kids: []*node{arg}})
	}
	return d
}

// appendInfo writes spec's COMMAND INFO entry: Redis's, or for a command
// Redis does not have, one made from our table.
func appendInfo(w *resp.Writer, spec *command.Spec) {
	if info := infoOf(spec); info != nil {
		info.write(w)
		return
	}
	appendCommandInfo(w, spec)
}

var flagNames = []struct {
	f    command.Flags
	name string
}{
	{command.Write, "write"}, {command.ReadOnly, "readonly"}, {command.DenyOOM, "denyoom"},
	{command.Admin, "admin"}, {command.NoAuth, "no_auth"}, {command.NoMulti, "no_multi"},
	{command.Loading, "loading"}, {command.Stale, "stale"}, {command.Fast, "fast"},
	{command.AllowBusy, "allow_busy"}, {command.Blocks, "blocking"},
	{command.PubSub, "pubsub"}, {command.NoScript, "noscript"},
}

// appendCommandInfo writes one COMMAND INFO entry in Redis 7's shape from
// our table: name, arity, flags, first key, last key, step, ACL
// categories, tips, key specs, subcommands.
func appendCommandInfo(w *resp.Writer, spec *command.Spec) {
	w.AppendArray(10)
	w.AppendBulkString(spec.Name)
	w.AppendInt(int64(spec.Arity))
	var flags []string
	for _, f := range flagNames {
		if spec.Flags&f.f != 0 {
			flags = append(flags, f.name)
		}
	}
	w.AppendSet(len(flags))
	for _, f := range flags {
		w.AppendSimple(f)
	}
	w.AppendInt(int64(spec.FirstKey))
	w.AppendInt(int64(spec.LastKey))
	w.AppendInt(int64(spec.Step))
	cats := categories(spec)
	w.AppendSet(len(cats))
	for _, c := range cats {
		w.AppendSimple(c)
	}
	w.AppendArray(0) // tips
	w.AppendArray(0) // key specs
	w.AppendArray(0) // subcommands
}

func categories(spec *command.Spec) []string {
	var cats []string
	if spec.FirstKey > 0 && spec.Flags&command.PubSub == 0 {
		cats = append(cats, "@keyspace")
	}
	switch {
	case spec.Flags&command.Write != 0:
		cats = append(cats, "@write")
	case spec.Flags&command.ReadOnly != 0:
		cats = append(cats, "@read")
	}
	if spec.Flags&command.Admin != 0 {
		cats = append(cats, "@admin", "@dangerous")
	}
	if spec.Flags&command.Fast != 0 {
		cats = append(cats, "@fast")
	} else {
		cats = append(cats, "@slow")
	}
	if spec.Flags&command.Blocks != 0 {
		cats = append(cats, "@blocking")
	}
	if spec.Flags&command.PubSub != 0 {
		cats = append(cats, "@pubsub")
	} else if spec.Kind == command.Conn {
		cats = append(cats, "@connection")
	}
	return cats
}

// keyFlags is a key of a command and its access flags (RW, RO, OW, RM,
// access, update, insert, delete …), as COMMAND GETKEYSANDFLAGS shows them.
type keyFlags struct {
	key   []byte
	flags []string
}

// getKeys finds the keys of the command args (name first) as Redis 7 does:
// by the key specs of its COMMAND INFO entry (of its subcommand, for a
// container), each key with its spec's flags. SET and BITFIELD, whose
// flags depend on their arguments, are decided as Redis's own functions
// do. A command whose specs cannot say (an incomplete spec) gets the keys
// of our table with the flags of its first spec (the first key) and last
// spec (the others); a command Redis does not have, the keys of our table
// with RW or RO. msg is Redis's error text when there are none: a command
// with no key at all, a wrong number of arguments, or arguments that name
// no key (an empty list for a command whose keys are optional, as EVAL's).
func getKeys(args [][]byte) (keys []keyFlags, msg string) {
	spec := command.Redis.Lookup(args[0])
	if spec == nil {
		return nil, "ERR Invalid command specified"
	}
	info := infoOf(spec)
	arity := spec.Arity
	if subs := info.subcommands(); len(subs) > 0 && len(args) >= 2 {
		full := spec.Name + "|" + lower(args[1])
		i := slices.IndexFunc(subs, func(n *node) bool { return n.kids[0].s == full })
		if i < 0 {
			return nil, "ERR Invalid command specified"
		}
		info = subs[i]
		arity = int(info.kids[1].n)
	}
	var specs []*node
	if info != nil {
		specs = slices.DeleteFunc(slices.Clone(info.kids[8].kids), func(sp *node) bool { return sp.get("flags").has("not_key") })
	}
	if info != nil && len(specs) == 0 || info == nil && spec.FirstKey == 0 {
		return nil, "ERR The command has no key arguments"
	}
	if arity > 0 && len(args) != arity || arity < 0 && len(args) < -arity {
		return nil, "ERR Invalid number of arguments specified for command"
	}
	switch {
	case info == nil:
		flags := []string{"RO"}
		if spec.Flags&command.Write != 0 {
			flags = []string{"RW"}
		}
		for _, k := range spec.Keys(args, nil) {
			keys = append(keys, keyFlags{k, flags})
		}
	case spec.Name == "set":
		flags := []string{"OW", "update"}
		for _, a := range args[3:] {
			if ascii.EqualFold(a, "get") {
				flags = []string{"RW", "access", "update"}
			}
		}
		keys = []keyFlags{{args[1], flags}}
	case spec.Name == "bitfield":
		flags := []string{"RO", "access"}
		for _, a := range args[2:] {
			if ascii.EqualFold(a, "set") || ascii.EqualFold(a, "incrby") {
				flags = []string{"RW", "access", "update"}
			}
		}
		keys = []keyFlags{{args[1], flags}}
	default:
		var complete bool
		if keys, complete = keysBySpecs(specs, args, arity); !complete {
			keys = nil
			for i, k := range spec.Keys(args, nil) {
				s := specs[0]
				if i > 0 {
					s = specs[len(specs)-1]
				}
				keys = append(keys, keyFlags{k, setStrings(s.get("flags"))})
			}
		}
	}
	if len(keys) == 0 {
		if info != nil && info.kids[2].has("no_mandatory_keys") {
			return []keyFlags{}, ""
		}
		return nil, "ERR Invalid arguments specified for command"
	}
	return keys, ""
}

func setStrings(nd *node) []string {
	if nd == nil {
		return nil
	}
	out := make([]string, len(nd.kids))
	for i, k := range nd.kids {
		out[i] = k.s
	}
	return out
}

// keysBySpecs walks Redis's key specs over args: where each spec begins
// (an index, or after a keyword searched from a position), then which
// arguments are keys (a range, or a count read from the arguments).
// complete is false when a spec is incomplete or has flags that depend on
// the arguments: its keys must be found otherwise. Arguments that name a
// key past the last argument, or a count that is not one, give no keys,
// as in Redis.
func keysBySpecs(specs []*node, args [][]byte, arity int) (keys []keyFlags, complete bool) {
	argc := len(args)
	num := func(nd *node, key string) int { return int(nd.get(key).n) }
	for _, sp := range specs {
		flags := setStrings(sp.get("flags"))
		if slices.Contains(flags, "incomplete") || slices.Contains(flags, "variable_flags") {
			return nil, false
		}
		bs, fk := sp.get("begin_search"), sp.get("find_keys")
		first := 0
		switch bs.get("type").s {
		case "index":
			first = num(bs.get("spec"), "index")
		case "keyword":
			kw, from := bs.get("spec").get("keyword").s, num(bs.get("spec"), "startfrom")
			start, end := from, argc-1
			if from <= 0 {
				start, end = argc+from, 0
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if strings.EqualFold(string(args[i]), kw) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue
			}
		default:
			return nil, false
		}
		var last, step int
		s := fk.get("spec")
		switch fk.get("type").s {
		case "range":
			lastkey, limit := num(s, "lastkey"), num(s, "limit")
			step = num(s, "keystep")
			switch {
			case lastkey >= 0:
				last = first + lastkey
			case limit <= 1:
				last = argc + lastkey
			default:
				last = first + ((argc-first)/limit + lastkey)
			}
		case "keynum":
			idx := first + num(s, "keynumidx")
			if idx >= argc {
				return nil, true
			}
			n, err := strconv.ParseInt(string(args[idx]), 10, 64)
			if err != nil || n < 0 || n > int64(argc) {
				return nil, true
			}
			step = num(s, "keystep")
			first += num(s, "firstkey")
			last = first + int(n)*step - 1
		default:
			return nil, false
		}
		if step < 1 || first < 1 {
			return nil, false
		}
		for i := first; i <= last; i += step {
			if i >= argc {
				return nil, true
			}
			keys = append(keys, keyFlags{args[i], flags})
		}
	}
	return keys, true
}
