package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Version is data-cluster's own version, reported by INFO.
const Version = "0.1.0"

func lower(b []byte) string { return strings.ToLower(string(b)) }

// UnknownSubcommand writes Redis 7's error for subcommand sub of container
// command cmd that is not one (its first 128 bytes quoted as sent).
func UnknownSubcommand(w *resp.Writer, cmd string, sub []byte) {
	w.AppendError(fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", clip(sub, 128), strings.ToUpper(cmd)))
}

// SubArity writes Redis 7's error for subcommand sub of cmd given the wrong
// number of arguments: both are named lower-case, "cluster|keyslot", as in
// Redis's full name of the subcommand.
func SubArity(w *resp.Writer, cmd, sub string) {
	w.AppendError("ERR wrong number of arguments for '" + cmd + "|" + sub + "' command")
}

func appendHelp(w *resp.Writer, lines ...string) {
	w.AppendArray(len(lines))
	for _, l := range lines {
		w.AppendSimple(l)
	}
}

// subcommands lists the subcommands that each container command served here
// answers. Redis names a subcommand by its container and its own name,
// "client|list", in CLIENT LIST's cmd field among other places.
var subcommands = map[string][]string{
	"client":   {"id", "setname", "getname", "setinfo", "info", "list", "kill", "unblock", "tracking", "caching", "trackinginfo", "getredir", "no-evict", "no-touch", "pause", "unpause", "reply", "help"},
	"command":  {"count", "list", "info", "docs", "getkeys", "getkeysandflags", "help"},
	"config":   {"get", "set", "resetstat", "help"},
	"slowlog":  {"get", "len", "reset", "help"},
	"latency":  {"latest", "history", "reset", "graph", "doctor", "histogram", "help"},
	"object":   {"encoding", "refcount", "idletime", "freq", "help"},
	"function": {"flush", "list"},
}

// subName is a subcommand and its full name.
type subName struct{ sub, full string }

// fullNames returns, by command ID (command.Spec.ID), the full names of
// the command's subcommands, made once (after every package's init has put
// its commands in the table) so that naming a command allocates nothing and
// costs no map lookup.
var fullNames = sync.OnceValue(func() [][]subName {
	var byID [][]subName
	for cmd, subs := range subcommands {
		spec := command.Redis.Lookup([]byte(cmd))
		if spec == nil {
			panic("server: subcommands of an unknown command " + cmd)
		}
		if spec.ID >= len(byID) {
			byID = append(byID, make([][]subName, spec.ID+1-len(byID))...)
		}
		for _, sub := range subs {
			byID[spec.ID] = append(byID[spec.ID], subName{sub, cmd + "|" + sub})
		}
	}
	return byID
})

// FullName returns the name CLIENT LIST gives the command spec run with
// args: Redis's full name, "client|list" for a subcommand, else the
// command's name. A subcommand not answered here leaves the container's name.
func FullName(spec *command.Spec, args [][]byte) *string {
	if len(args) <= 1 {
		return &spec.Name
	}
	if names := fullNames(); spec.ID < len(names) {
		subs := names[spec.ID]
		for i := range subs {
			if ascii.EqualFold(args[1], subs[i].sub) {
				return &subs[i].full
			}
		}
	}
	return &spec.Name
}

// time implements TIME.
func (s *session) time(w *resp.Writer, _ [][]byte) { AppendTime(w, time.Now()) }

// AppendTime writes TIME's reply for now: the Unix time in seconds and the
// microseconds within that second.
func AppendTime(w *resp.Writer, now time.Time) {
	w.AppendArray(2)
	w.AppendBulkString(strconv.FormatInt(now.Unix(), 10))
	w.AppendBulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}
