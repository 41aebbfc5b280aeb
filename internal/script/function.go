package script

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Redis 7 functions. A library is Lua code that starts with the shebang
// "#!lua name=<library>" and registers functions with
// redis.register_function while it is loaded (FUNCTION LOAD). FCALL calls
// a function by name with a table of its keys and a table of its
// arguments.
//
// A Library is immutable once loaded; Functions holds the current set and
// swaps it whole. Each Lua state of the Engine's pool runs a library's code
// itself the first time one of its functions is called there (the
// compiled chunk is shared), so a library's local variables are per state,
// not shared by every call as in Redis, whose one Lua state runs every
// call: keep state in keys.

// FuncFlags are the flags redis.register_function accepts, and a script's
// "#!lua flags=…" line.
type FuncFlags uint8

// The function flags, as Redis names them in register_function and
// FUNCTION LIST.
const (
	FlagNoWrites FuncFlags = 1 << iota
	FlagAllowOOM
	FlagAllowStale
	FlagNoCluster
	FlagAllowCrossSlot
)

var flagNames = []struct {
	f    FuncFlags
	name string
}{
	{FlagNoWrites, "no-writes"},
	{FlagAllowOOM, "allow-oom"},
	{FlagAllowStale, "allow-stale"},
	{FlagNoCluster, "no-cluster"},
	{FlagAllowCrossSlot, "allow-cross-slot-keys"},
}

// flagNamed returns the flag Redis names name, or 0.
func flagNamed(name string) FuncFlags {
	for _, fl := range flagNames {
		if fl.name == name {
			return fl.f
		}
	}
	return 0
}

// Names returns the names of the flags set in f, in Redis's order.
func (f FuncFlags) Names() []string {
	var names []string
	for _, fl := range flagNames {
		if f&fl.f != 0 {
			names = append(names, fl.name)
		}
	}
	return names
}

// Function is one function of a library. It is immutable.
type Function struct {
	Name        string
	Description string
	HasDesc     bool // a description was given (else FUNCTION LIST says nil)
	Flags       FuncFlags
	Lib         *Library
}

// Library is a loaded function library. It is immutable.
type Library struct {
	Name      string
	Code      string
	Functions []*Function // in the order they were registered

	proto *lua.FunctionProto
}

// libChunkName is the name library code is compiled under: errors read
// "user_function:2: …" as in Redis.
const libChunkName = "user_function"

// loadTimeout bounds how long a library's code may run while it loads.
const loadTimeout = 500 * time.Millisecond

// Errors of FUNCTION LOAD, DELETE and RESTORE, with Redis's texts.
var (
	ErrMissingMeta = errors.New("ERR Missing library metadata")
	ErrNoName      = errors.New("ERR Library name was not given")
	ErrNoFunctions = errors.New("ERR No functions registered")
	ErrBadName     = errors.New("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
	ErrLibNotFound = errors.New("ERR Library not found")
	ErrBadPayload  = errors.New("ERR DUMP payload version or checksum are wrong")
)

// libError is a FUNCTION LOAD error whose text is Redis's reply.
type libError struct{ msg string }

func (e *libError) Error() string { return e.msg }

func errorf(parts ...string) error { return &libError{msg: strings.Join(parts, "")} }

// parseMeta returns the library name of code's shebang line.
func parseMeta(code string) (string, error) {
	if !strings.HasPrefix(code, "#!") {
		return "", ErrMissingMeta
	}
	line, _, ok := strings.Cut(code, "\n")
	if !ok {
		return "", errorf("ERR Invalid library metadata")
	}
	parts := strings.Fields(line)
	if len(parts) == 0 {
		return "", errorf("ERR Invalid library metadata")
	}
	engine := parts[0][2:]
	name, named := "", false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if named {
				return "", errorf("ERR Invalid metadata value, name argument was given multiple times")
			}
			name, named = p[5:], true
			continue
		}
		return "", errorf("ERR Invalid metadata value given: ", p)
	}
	if !named {
		return "", ErrNoName
	}
	if !strings.EqualFold(engine, "lua") {
		return "", errorf("ERR Engine '", engine, "' not found")
	}
	if !validName(name) {
		return "", ErrBadName
	}
	return name, nil
}

// validName reports whether s is a valid library or function name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// compileLib compiles a library's code. The shebang line is blanked, so
// that line numbers count it as Redis's do.
func compileLib(code string) (*lua.FunctionProto, error) {
	_, rest, _ := strings.Cut(code, "\n")
	proto, err := compileChunk("\n"+rest, libChunkName)
	if err != nil {
		return nil, errorf("ERR Error compiling function: ", err.Error())
	}
	return proto, nil
}

// Functions is the set of loaded libraries. It is safe for concurrent
// use; its methods that change the set are serialised, and each calls the
// persist function set with SetPersist before the change is seen.
type Functions struct {
	e *Engine

	wmu     sync.Mutex // serialises changes
	mu      sync.RWMutex
	libs    map[string]*Library  // by name, case-sensitive
	funcs   map[string]*Function // by lower-case name
	gen     atomic.Uint64        // counts changes; states drop their loaded libraries when it moves
	byCode  map[string]*Library  // LibraryByCode's, by the code's SHA1
	persist func([]*Library) error
}

func newFunctions(e *Engine) *Functions {
	return &Functions{e: e, libs: map[string]*Library{}, funcs: map[string]*Function{}}
}

// NewFunctions returns an empty set of libraries apart from the engine's
// own (Funcs), compiled and run by the engine: a change can be tried on a
// copy of a set before it is made (a cluster node validates FUNCTION LOAD
// that way before proposing it), and the result given to Funcs with Adopt.
func (e *Engine) NewFunctions() *Functions { return newFunctions(e) }

// Adopt makes o's libraries f's current set, without calling the persist
// function; o must be a set of the same engine (NewFunctions) and is not
// changed afterwards.
func (f *Functions) Adopt(o *Functions) {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.installQuiet(o.copyLibs())
}

// installQuiet is install without the persist function: what it installs
// is kept elsewhere already. Called with wmu held.
func (f *Functions) installQuiet(libs map[string]*Library) {
	p := f.persist
	f.persist = nil
	defer func() { f.persist = p }()
	f.install(libs) // without persist it cannot fail
}

// SetPersist sets the function called with every library (sorted by name)
// before a change is applied; when it fails the change is not made and
// its error is returned. Call it before the server serves.
func (f *Functions) SetPersist(fn func([]*Library) error) { f.persist = fn }

// Get returns the function named name (in any letter case), or nil.
func (f *Functions) Get(name string) *Function {
	f.mu.RLock()
	fn := f.funcs[strings.ToLower(name)]
	f.mu.RUnlock()
	return fn
}

// Libraries returns the loaded libraries sorted by name.
func (f *Functions) Libraries() []*Library {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedLibs(f.libs)
}

func sortedLibs(m map[string]*Library) []*Library {
	libs := make([]*Library, 0, len(m))
	for _, l := range m {
		libs = append(libs, l)
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].Name < libs[j].Name })
	return libs
}

// Count returns the number of libraries and of functions.
func (f *Functions) Count() (libs, funcs int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.libs), len(f.funcs)
}

// Load compiles code and runs it to register its functions, and adds the
// library (FUNCTION LOAD). With replace a library of the same name is
// replaced. Errors carry Redis's reply texts.
func (f *Functions) Load(code string, replace bool) (*Library, error) {
	name, err := parseMeta(code)
	if err != nil {
		return nil, err
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	f.mu.RLock()
	_, exists := f.libs[name]
	f.mu.RUnlock()
	if exists && !replace {
		return nil, errorf("ERR Library '", name, "' already exists")
	}
	lib, err := f.e.buildLib(name, code)
	if err != nil {
		return nil, err
	}
	libs := f.copyLibs()
	delete(libs, name)
	if err := addLib(libs, lib); err != nil {
		return nil, err
	}
	return lib, f.install(libs)
}

// buildLib compiles and runs a library's code and returns the library
// with the functions it registered.
func (e *Engine) buildLib(name, code string) (*Library, error) {
	proto, err := compileLib(code)
	if err != nil {
		return nil, err
	}
	lib := &Library{Name: name, Code: code, proto: proto}
	st := e.get()
	defer e.put(st)
	regs, err := st.runLib(lib)
	if err != nil {
		return nil, err
	}
	for _, r := range regs {
		r.fn.Lib = lib
		lib.Functions = append(lib.Functions, r.fn)
	}
	return lib, nil
}

// copyLibs returns a copy of the library map. Called with wmu held.
func (f *Functions) copyLibs() map[string]*Library {
	f.mu.RLock()
	defer f.mu.RUnlock()
	libs := make(map[string]*Library, len(f.libs)+1)
	for k, v := range f.libs {
		libs[k] = v
	}
	return libs
}

// addLib adds lib to libs unless one of its functions is in another
// library.
func addLib(libs map[string]*Library, lib *Library) error {
	names := map[string]bool{}
	for _, l := range libs {
		for _, fn := range l.Functions {
			names[strings.ToLower(fn.Name)] = true
		}
	}
	for _, fn := range lib.Functions {
		if names[strings.ToLower(fn.Name)] {
			return errorf("ERR Function ", fn.Name, " already exists")
		}
	}
	libs[lib.Name] = lib
	return nil
}

// install persists libs and makes them the current set. Called with wmu
// held.
func (f *Functions) install(libs map[string]*Library) error {
	if f.persist != nil {
		if err := f.persist(sortedLibs(libs)); err != nil {
			return err
		}
	}
	funcs := make(map[string]*Function)
	for _, l := range libs {
		for _, fn := range l.Functions {
			funcs[strings.ToLower(fn.Name)] = fn
		}
	}
	f.mu.Lock()
	f.libs, f.funcs = libs, funcs
	f.mu.Unlock()
	f.gen.Add(1)
	return nil
}

// Delete removes the library named name (FUNCTION DELETE).
func (f *Functions) Delete(name string) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	libs := f.copyLibs()
	if _, ok := libs[name]; !ok {
		return ErrLibNotFound
	}
	delete(libs, name)
	return f.install(libs)
}

// Flush removes every library (FUNCTION FLUSH).
func (f *Functions) Flush() error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	return f.install(map[string]*Library{})
}

// RestorePolicy says what FUNCTION RESTORE does with the libraries loaded.
type RestorePolicy int

// The policies of FUNCTION RESTORE.
const (
	RestoreAppend  RestorePolicy = iota // fail on a library name already loaded
	RestoreReplace                      // replace the libraries of the same names
	RestoreFlush                        // drop every library first
)

// Dump returns the libraries as a FUNCTION DUMP payload (see EncodeLibs).
func (f *Functions) Dump() []byte { return EncodeLibs(f.Libraries()) }

// Restore loads the libraries of a FUNCTION DUMP payload with policy.
// Nothing changes when it fails.
func (f *Functions) Restore(payload []byte, policy RestorePolicy) error {
	codes, err := DecodeLibs(payload)
	if err != nil {
		return err
	}
	var restored []*Library
	for _, code := range codes {
		name, err := parseMeta(code)
		if err != nil {
			return err
		}
		lib, err := f.e.buildLib(name, code)
		if err != nil {
			return err
		}
		restored = append(restored, lib)
	}
	f.wmu.Lock()
	defer f.wmu.Unlock()
	libs := f.copyLibs()
	switch policy {
	case RestoreFlush:
		libs = map[string]*Library{}
	case RestoreReplace:
		for _, l := range restored {
			delete(libs, l.Name)
		}
	default:
		for _, l := range restored {
			if _, ok := libs[l.Name]; ok {
				return errorf("ERR Library ", l.Name, " already exists")
			}
		}
	}
	for _, l := range restored {
		if err := addLib(libs, l); err != nil {
			return err
		}
	}
	return f.install(libs)
}

// LoadAll replaces the set with the libraries of codes, as kept on disk,
// without calling the persist function. It is used at start-up.
func (f *Functions) LoadAll(codes []string) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	libs := map[string]*Library{}
	for _, code := range codes {
		name, err := parseMeta(code)
		if err != nil {
			return err
		}
		lib, err := f.e.buildLib(name, code)
		if err != nil {
			return err
		}
		if err := addLib(libs, lib); err != nil {
			return err
		}
	}
	f.installQuiet(libs)
	return nil
}

// LibraryByCode returns the library of code, compiled and run once and
// kept by the code's SHA1, apart from the loaded set: a cluster group's
// replicas run a function from the code its entry carries, whatever they
// have loaded themselves.
func (f *Functions) LibraryByCode(code string) (*Library, error) {
	sum := SHA1([]byte(code))
	f.mu.RLock()
	lib := f.byCode[sum]
	f.mu.RUnlock()
	if lib != nil {
		return lib, nil
	}
	name, err := parseMeta(code)
	if err != nil {
		return nil, err
	}
	if lib, err = f.e.buildLib(name, code); err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.byCode == nil || len(f.byCode) >= maxByCode {
		f.byCode = make(map[string]*Library)
	}
	f.byCode[sum] = lib
	f.mu.Unlock()
	return lib, nil
}

// maxByCode bounds the libraries LibraryByCode keeps; past it they are
// dropped and compiled again when next used.
const maxByCode = 256
