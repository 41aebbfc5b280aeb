package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/glob"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/script"
)

// Function libraries (FUNCTION LOAD …) are kept, with persistence on, in
// their own file of the data directory, functionsFile, in the FUNCTION
// DUMP payload format (script/payload.go). Each change writes the whole
// file atomically and fsyncs it before it is answered, so a crash (kill
// -9 included) keeps every change acknowledged.

// functionsFile is the name of the libraries' file in the data directory.
const functionsFile = "functions.dcfn"

// ReadFunctions returns the code of the libraries kept in dir, none when
// dir is empty or holds no libraries' file. A cluster node reads those an
// older version kept there with it.
func ReadFunctions(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	path := filepath.Join(dir, functionsFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	}
	codes, err := script.DecodeLibs(b)
	if err != nil {
		return nil, fmt.Errorf("server: %s: %w", path, err)
	}
	return codes, nil
}

// LoadFunctions loads the libraries kept in dir, if any, and makes eng
// keep each change there.
func LoadFunctions(eng *script.Engine, dir string) error {
	if dir == "" {
		return nil
	}
	codes, err := ReadFunctions(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, functionsFile)
	if err := eng.Funcs.LoadAll(codes); err != nil {
		return fmt.Errorf("server: %s: %w", path, err)
	}
	eng.Funcs.SetPersist(func(libs []*script.Library) error {
		if err := fsutil.WriteFileAtomic(path, script.EncodeLibs(libs)); err != nil {
			return fmt.Errorf("ERR could not save the function libraries: %w", err)
		}
		return nil
	})
	return nil
}

func (s *session) function(w *resp.Writer, args [][]byte) {
	FunctionCommand(s.c.s.scripts, s.c.s.scripts.Funcs, w, args)
}

// FunctionChanger makes the changes of FUNCTION LOAD, DELETE, FLUSH and
// RESTORE, with their errors' texts as the replies. *script.Functions is
// one: a single server changes its engine's libraries; a cluster node's
// changes every node's. It must be safe for concurrent use.
type FunctionChanger interface {
	Load(code string, replace bool) (*script.Library, error)
	Delete(name string) error
	Flush() error
	Restore(payload []byte, policy script.RestorePolicy) error
}

var _ FunctionChanger = (*script.Functions)(nil)

// FunctionCommand answers FUNCTION LOAD|DELETE|FLUSH|LIST|DUMP|RESTORE|
// STATS|KILL|HELP over eng's libraries, making changes through f. A
// cluster node uses it too.
func FunctionCommand(eng *script.Engine, f FunctionChanger, w *resp.Writer, args [][]byte) {
	sub := lower(args[1])
	switch {
	case sub == "help" && len(args) == 2:
		appendHelp(w, functionHelp...)
	case sub == "load" && len(args) >= 3:
		replace := false
		for _, a := range args[2 : len(args)-1] {
			if !strings.EqualFold(string(a), "replace") {
				w.AppendError("ERR Unknown option given: " + string(a))
				return
			}
			replace = true
		}
		lib, err := f.Load(string(args[len(args)-1]), replace)
		if err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendBulkString(lib.Name)
	case sub == "delete" && len(args) == 3:
		if err := f.Delete(string(args[2])); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case sub == "flush" && len(args) <= 3:
		if len(args) == 3 {
			if m := lower(args[2]); m != "sync" && m != "async" {
				w.AppendError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
				return
			}
		}
		if err := f.Flush(); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case sub == "list":
		functionList(eng, w, args[2:])
	case sub == "dump" && len(args) == 2:
		w.AppendBulk(eng.Funcs.Dump())
	case sub == "restore" && len(args) == 3 || sub == "restore" && len(args) == 4:
		policy := script.RestoreAppend
		if len(args) == 4 {
			switch lower(args[3]) {
			case "append":
			case "replace":
				policy = script.RestoreReplace
			case "flush":
				policy = script.RestoreFlush
			default:
				w.AppendError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
				return
			}
		}
		if err := f.Restore(args[2], policy); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case sub == "restore" && len(args) > 4:
		w.AppendError("ERR unknown subcommand or wrong number of arguments for '" + clip(args[1], 128) + "'. Try FUNCTION HELP.")
	case sub == "stats" && len(args) == 2:
		functionStats(eng, w)
	case sub == "kill" && len(args) == 2:
		if err := eng.Kill(true); err != nil {
			w.AppendError(err.Error())
			return
		}
		w.AppendOK()
	case sub == "help" || sub == "load" || sub == "delete" || sub == "flush" || sub == "dump" ||
		sub == "restore" || sub == "stats" || sub == "kill":
		SubArity(w, "function", sub)
	default:
		UnknownSubcommand(w, "function", args[1])
	}
}

// functionList answers FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
func functionList(eng *script.Engine, w *resp.Writer, opts [][]byte) {
	var pattern []byte
	hasPattern, withCode := false, false
	for i := 0; i < len(opts); i++ {
		switch o := lower(opts[i]); {
		case o == "withcode" && !withCode:
			withCode = true
		case o == "libraryname" && !hasPattern:
			if i+1 >= len(opts) {
				w.AppendError("ERR library name argument was not given")
				return
			}
			pattern, hasPattern = opts[i+1], true
			i++
		default:
			w.AppendError("ERR Unknown argument " + string(opts[i]))
			return
		}
	}
	var libs []*script.Library
	for _, l := range eng.Funcs.Libraries() {
		if !hasPattern || glob.MatchFold(pattern, []byte(l.Name)) {
			libs = append(libs, l)
		}
	}
	w.AppendArray(len(libs))
	for _, l := range libs {
		n := 3
		if withCode {
			n = 4
		}
		w.AppendMap(n)
		w.AppendBulkString("library_name")
		w.AppendBulkString(l.Name)
		w.AppendBulkString("engine")
		w.AppendBulkString("LUA")
		w.AppendBulkString("functions")
		w.AppendArray(len(l.Functions))
		for _, fn := range l.Functions {
			w.AppendMap(3)
			w.AppendBulkString("name")
			w.AppendBulkString(fn.Name)
			w.AppendBulkString("description")
			if fn.HasDesc {
				w.AppendBulkString(fn.Description)
			} else {
				w.AppendNull()
			}
			w.AppendBulkString("flags")
			names := fn.Flags.Names()
			w.AppendSet(len(names))
			for _, f := range names {
				w.AppendSimple(f)
			}
		}
		if withCode {
			w.AppendBulkString("library_code")
			w.AppendBulkString(l.Code)
		}
	}
}

// functionStats answers FUNCTION STATS: the script running, if any, and
// the counts of libraries and functions.
func functionStats(eng *script.Engine, w *resp.Writer) {
	w.AppendMap(2)
	w.AppendBulkString("running_script")
	if r, ok := eng.Running(); ok {
		w.AppendMap(3)
		w.AppendBulkString("name")
		w.AppendBulkString(r.Name)
		w.AppendBulkString("command")
		w.AppendArray(len(r.Command))
		for _, a := range r.Command {
			w.AppendBulkString(a)
		}
		w.AppendBulkString("duration_ms")
		w.AppendInt(r.Duration.Milliseconds())
	} else {
		w.AppendNull()
	}
	libs, funcs := eng.Funcs.Count()
	w.AppendBulkString("engines")
	w.AppendMap(1)
	w.AppendBulkString("LUA")
	w.AppendMap(2)
	w.AppendBulkString("libraries_count")
	w.AppendInt(int64(libs))
	w.AppendBulkString("functions_count")
	w.AppendInt(int64(funcs))
}

var functionHelp = []string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running:",
	"    * Function name",
	"    * Command used to run the function",
	"    * Duration in MS that the function is running",
	"    If no function is running, return nil",
	"    In addition, returns a list of available engines.",
	"KILL",
	"    Kill the current running function.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the libraries.",
	"    * SYNC: Synchronously flush the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
	"HELP",
	"    Prints this help.",
}
