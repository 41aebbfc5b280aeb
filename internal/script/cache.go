package script

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/data-cluster/data-cluster/internal/config"
)

// Script is a compiled script. It is immutable and safe for concurrent use.
type Script struct {
	SHA  string // lower-case hex SHA1 of Body
	Body string
	// Shebang reports that Body starts with a "#!lua" line, and Flags are
	// those its flags= option gives. A script without that line runs as
	// before Redis 7, whatever its flags; one with it, as a function with
	// Flags does (see Request.Flags).
	Shebang bool
	Flags   FuncFlags
	proto   *lua.FunctionProto
}

// Cache holds the scripts EVAL and SCRIPT LOAD have seen, by SHA1. It is
// safe for concurrent use.
type Cache struct {
	mu sync.RWMutex
	m  map[string]*Script
}

// NewCache returns an empty Cache.
func NewCache() *Cache { return &Cache{m: make(map[string]*Script)} }

// SHA1 returns the lower-case hex SHA1 of body, as Redis names scripts.
func SHA1(body []byte) string {
	h := sha1.Sum(body)
	return hex.EncodeToString(h[:])
}

// Load compiles body, caches it and returns it. A script already cached is
// not compiled again. A compile error is returned as its Redis error text.
func (c *Cache) Load(body []byte) (*Script, error) {
	sha := SHA1(body)
	if s := c.Get(sha); s != nil {
		return s, nil
	}
	s, err := Compile(string(body))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if old := c.m[sha]; old != nil {
		s = old
	} else {
		c.m[sha] = s
	}
	c.mu.Unlock()
	return s, nil
}

// Get returns the script whose SHA1 is sha in any letter case, or nil.
func (c *Cache) Get(sha string) *Script {
	if len(sha) != 40 {
		return nil
	}
	c.mu.RLock()
	s := c.m[strings.ToLower(sha)]
	c.mu.RUnlock()
	return s
}

// Len returns the number of cached scripts.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Flush empties the cache. Runs under way keep their scripts.
func (c *Cache) Flush() {
	c.mu.Lock()
	c.m = make(map[string]*Script)
	c.mu.Unlock()
}

// CompileError is the error of a script that does not compile; its text is
// Redis's reply.
type CompileError struct{ Msg string }

func (e *CompileError) Error() string {
	return "ERR Error compiling script (new function): " + e.Msg
}

// Compile compiles body without caching it. A shebang line is blanked,
// so that line numbers count it as Redis's do.
func Compile(body string) (*Script, error) {
	flags, shebang, err := parseShebang(body)
	if err != nil {
		return nil, err
	}
	src := body
	if shebang {
		_, rest, _ := strings.Cut(body, "\n")
		src = "\n" + rest
	}
	proto, err := compileChunk(src, chunkName)
	if err != nil {
		return nil, &CompileError{Msg: err.Error()}
	}
	return &Script{SHA: SHA1([]byte(body)), Body: body, Shebang: shebang, Flags: flags, proto: proto}, nil
}

// parseShebang reads the "#!lua [flags=f1,f2…]" line a script may start
// with, as Redis 7.0's evalExtractShebangFlags does: its words split as
// sdssplitargs splits them, the engine, option and flag names compared
// with their letter case. It returns Redis's error texts.
func parseShebang(body string) (flags FuncFlags, shebang bool, err error) {
	if !strings.HasPrefix(body, "#!") {
		return 0, false, nil
	}
	line, _, ok := strings.Cut(body, "\n")
	if !ok {
		return 0, false, errorf("ERR Invalid script shebang")
	}
	parts, err := config.SplitArgs(line)
	if err != nil || len(parts) == 0 {
		return 0, false, errorf("ERR Invalid engine in script shebang")
	}
	if parts[0] != "#!lua" {
		return 0, false, errorf("ERR Unexpected engine in script shebang: ", parts[0])
	}
	for _, p := range parts[1:] {
		list, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return 0, false, errorf("ERR Unknown lua shebang option: ", p)
		}
		if list == "" {
			continue
		}
		for name := range strings.SplitSeq(list, ",") {
			f := flagNamed(name)
			if f == 0 {
				return 0, false, errorf("ERR Unexpected flag in script shebang: ", name)
			}
			flags |= f
		}
	}
	return flags, true, nil
}

// chunkError is a compile error in Lua's form.
type chunkError struct{ msg string }

func (e *chunkError) Error() string { return e.msg }

// compileChunk compiles source under name.
func compileChunk(source, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(strings.NewReader(source), name)
	if err != nil {
		return nil, &chunkError{msg: compileMsg(err, name, source)}
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, &chunkError{msg: compileMsg(err, name, source)}
	}
	// A chunk is a vararg function, and Lua 5.1's compatibility makes each
	// call build an `arg` table for it, which no script can see (the main
	// chunk has no local of that name): a map allocated per EVAL for
	// nothing.
	proto.IsVarArg &^= lua.VarArgNeedsArg
	return proto, nil
}

// chunkName is the name scripts are compiled under: errors read
// "user_script:1: …" as in Redis.
const chunkName = "user_script"

// compileMsg rewrites gopher-lua's "user_script line:1(column:3) near
// 'x':   syntax error" as "user_script:1: syntax error near 'x'", close to
// Lua's own form.
func compileMsg(err error, name, source string) string {
	msg := strings.TrimSpace(err.Error())
	if pe, ok := err.(*parse.Error); ok {
		near := ""
		if pe.Token != "" {
			if pe.Token == "EOF" {
				near = " near '<eof>'"
			} else {
				near = " near '" + pe.Token + "'"
			}
		}
		line := pe.Pos.Line
		if line <= 0 {
			// At the end of the source.
			line = strings.Count(source, "\n") + 1
		}
		return name + ":" + itoa(line) + ": " + strings.TrimSpace(pe.Message) + near
	}
	return msg
}
