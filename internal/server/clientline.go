package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// The parts of CLIENT that a single server and a cluster node share: the
// CLIENT LIST line, the parsing of LIST's, KILL's, PAUSE's and SETINFO's
// arguments, and HELP. Each connection type fills a ClientLine and a
// ClientView from its own fields; all of these may be called from any
// goroutine.

// ClientLine is one client's line of CLIENT LIST and CLIENT INFO, with
// Redis 7's fields in Redis's order. Figures a server does not keep are
// 0 (qbuf, qbuf-free, argv-mem, obl, oll) and fd is -1.
type ClientLine struct {
	ID          int64
	Addr, LAddr string
	Name        string
	Age, Idle   time.Duration
	Flags       ClientFlags
	// Sub, PSub and SSub count the channel, pattern and shard channel
	// subscriptions.
	Sub, PSub, SSub int64
	// Multi is the commands queued in MULTI, -1 outside one; MultiMem
	// their bytes.
	Multi, MultiMem int64
	// RBS is the size of the read buffer (rbs and rbp: it only grows);
	// OMem the replies not yet taken by the socket.
	RBS, OMem       int64
	Cmd             string // the last command's full name ("client|list"), NULL before any
	User            string
	Redir           int64 // the tracking redirection, -1 without
	Resp            int
	LibName, LibVer string
}

// ClientFlags are the flags of a CLIENT LIST line.
type ClientFlags struct {
	Monitor    bool   // O
	Subscribed bool   // P
	Multi      bool   // x
	Blocked    bool   // b: in a blocking command, or held by CLIENT PAUSE
	Tracking   string // t, R, B (see the tracking flags), between b and e
	NoEvict    bool   // e
	NoTouch    bool   // T
}

// String returns the flags in Redis's order, N for none.
func (f ClientFlags) String() string {
	s := ""
	if f.Monitor {
		s += "O"
	}
	if f.Subscribed {
		s += "P"
	}
	if f.Multi {
		s += "x"
	}
	if f.Blocked {
		s += "b"
	}
	s += f.Tracking
	if f.NoEvict {
		s += "e"
	}
	if f.NoTouch {
		s += "T"
	}
	if s == "" {
		return "N"
	}
	return s
}

// String returns the line, without its newline.
func (l *ClientLine) String() string {
	cmd := l.Cmd
	if cmd == "" {
		cmd = "NULL"
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=%d multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=%d rbs=%d rbp=%d obl=0 oll=0 omem=%d tot-mem=%d events=r cmd=%s user=%s redir=%d resp=%d lib-name=%s lib-ver=%s",
		l.ID, l.Addr, l.LAddr, l.Name, int64(l.Age/time.Second), int64(l.Idle/time.Second), l.Flags, l.Sub, l.PSub, l.SSub,
		l.Multi, l.MultiMem, l.RBS, l.RBS, l.OMem, l.RBS+l.OMem+l.MultiMem, cmd, l.User, l.Redir, l.Resp, l.LibName, l.LibVer)
}

// ClientView is what CLIENT LIST's and CLIENT KILL's filters look at of a
// client.
type ClientView struct {
	ID          int64
	Addr, LAddr string
	Type        string // "normal", or "pubsub" while it has subscriptions
	User        *acl.User
	Age         time.Duration
}

// ClientFilter is the clients CLIENT LIST or CLIENT KILL chose: every
// field set must match. Clients of types a server has none of (master,
// replica) match nothing.
type ClientFilter struct {
	IDs         map[int64]bool // nil: any
	Type        string         // "normal" or "pubsub", "" for any
	None        bool           // a filter that matches no client
	Addr, LAddr string
	User        *acl.User
	MaxAge      int64 // seconds: older than that; 0 for any
	// SkipMe (KILL: SKIPME, yes by default) spares the caller; OldStyle
	// is KILL addr, which may kill the caller and answers OK or an error
	// rather than a count.
	SkipMe, OldStyle bool
}

// Match reports whether the filter chooses the client v.
func (f *ClientFilter) Match(v ClientView) bool {
	return !f.None && (f.IDs == nil || f.IDs[v.ID]) && (f.Type == "" || v.Type == f.Type) &&
		(f.Addr == "" || v.Addr == f.Addr) && (f.LAddr == "" || v.LAddr == f.LAddr) &&
		(f.User == nil || v.User == f.User) && (f.MaxAge == 0 || int64(v.Age/time.Second) > f.MaxAge)
}

// ParseClientList parses CLIENT LIST [TYPE type] [ID id…] (args the whole
// command) and returns its filter, or the error to answer.
func ParseClientList(args [][]byte) (ClientFilter, string) {
	var f ClientFilter
	for i := 2; i < len(args); i++ {
		switch opt := lower(args[i]); {
		case opt == "type" && i+1 < len(args):
			switch t := lower(args[i+1]); t {
			case "normal", "pubsub":
				f.Type = t
			case "master", "replica", "slave":
				f.None = true
			default:
				return f, "ERR Unknown client type '" + string(args[i+1]) + "'"
			}
			i++
		case opt == "id" && i+1 < len(args):
			if f.IDs == nil {
				f.IDs = map[int64]bool{}
			}
			for i++; i < len(args); i++ {
				id, err := strconv.ParseInt(string(args[i]), 10, 64)
				if err != nil {
					return f, "ERR Invalid client ID"
				}
				f.IDs[id] = true
			}
		default:
			return f, "ERR syntax error"
		}
	}
	return f, ""
}

// ParseClientKill parses CLIENT KILL addr and CLIENT KILL with filters (ID,
// ADDR, LADDR, TYPE, USER, SKIPME and MAXAGE, Redis 7.4's: older than that
// many seconds), args the whole command of at least three arguments, users
// the table USER names a user of. It returns the filter, or the error to
// answer.
func ParseClientKill(args [][]byte, users *acl.Table) (ClientFilter, string) {
	f := ClientFilter{SkipMe: true, OldStyle: len(args) == 3}
	if f.OldStyle {
		f.Addr = string(args[2])
		return f, ""
	}
	if len(args)%2 != 0 {
		return f, "ERR syntax error"
	}
	for i := 2; i < len(args); i += 2 {
		v := string(args[i+1])
		switch lower(args[i]) {
		case "id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return f, "ERR client-id should be greater than 0"
			}
			f.IDs = map[int64]bool{n: true}
		case "addr":
			f.Addr = v
		case "laddr":
			f.LAddr = v
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				f.SkipMe = true
			case "no":
				f.SkipMe = false
			default:
				return f, "ERR syntax error"
			}
		case "type":
			switch t := strings.ToLower(v); t {
			case "normal", "pubsub":
				f.Type = t
			case "master", "replica", "slave":
				f.None = true
			default:
				return f, "ERR Unknown client type '" + v + "'"
			}
		case "user":
			if f.User = users.User(v); f.User == nil {
				return f, "ERR No such user '" + v + "'"
			}
		case "maxage":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return f, "ERR maxage is not an integer or out of range"
			}
			if n <= 0 {
				return f, "ERR maxage should be greater than 0"
			}
			f.MaxAge = n
		default:
			return f, "ERR syntax error"
		}
	}
	return f, ""
}

// Kill returns the clients CLIENT KILL's filter kills among clients,
// self (the caller) apart, and whether it kills self too, view giving
// what the filter looks at of each.
func Kill[C comparable](f *ClientFilter, clients []C, self C, view func(C) ClientView) (victims []C, killSelf bool) {
	for _, c := range clients {
		if !f.Match(view(c)) {
			continue
		}
		if c == self {
			killSelf = !f.SkipMe || f.OldStyle
			continue
		}
		victims = append(victims, c)
	}
	return victims, killSelf
}

// AppendKilled writes CLIENT KILL's reply for killed clients killed.
func (f *ClientFilter) AppendKilled(w *resp.Writer, killed int) {
	switch {
	case !f.OldStyle:
		w.AppendInt(int64(killed))
	case killed == 0:
		w.AppendError("ERR No such client")
	default:
		w.AppendOK()
	}
}

// ParseClientPause parses CLIENT PAUSE timeout [WRITE|ALL], args the whole
// command, and returns the pause's length and whether it holds every
// command, or the error to answer.
func ParseClientPause(args [][]byte) (d time.Duration, all bool, msg string) {
	if len(args) > 4 {
		return 0, false, "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."
	}
	if len(args) < 3 {
		return 0, false, "ERR wrong number of arguments for 'client|pause' command"
	}
	ms, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return 0, false, "ERR timeout is not an integer or out of range"
	}
	if ms < 0 {
		return 0, false, "ERR timeout is negative"
	}
	all = true
	if len(args) == 4 {
		switch lower(args[3]) {
		case "all":
		case "write":
			all = false
		default:
			return 0, false, "ERR CLIENT PAUSE mode must be WRITE or ALL"
		}
	}
	d = time.Duration(math.MaxInt64)
	if ms < int64(d/time.Millisecond) {
		d = time.Duration(ms) * time.Millisecond
	}
	return d, all, ""
}

// CheckClientName returns the error to answer for a client name that
// CLIENT SETNAME or HELLO SETNAME refuses, "" for a good one.
func CheckClientName(name string) string {
	if !validClientName(name) {
		return "ERR Client names cannot contain spaces, newlines or special characters."
	}
	return ""
}

// ClientSetInfo implements CLIENT SETINFO attr value (args the whole
// command of four arguments): it stores the value in libName or libVer and
// writes the reply.
func ClientSetInfo(w *resp.Writer, args [][]byte, libName, libVer *atomic.Pointer[string]) {
	v := string(args[3])
	if !validClientName(v) && v != "" {
		w.AppendError("ERR " + strings.ToUpper(string(args[2])) + " cannot contain spaces, newlines or special characters.")
		return
	}
	switch lower(args[2]) {
	case "lib-name":
		libName.Store(&v)
	case "lib-ver":
		libVer.Store(&v)
	default:
		w.AppendError("ERR Unrecognized option '" + string(args[2]) + "'")
		return
	}
	w.AppendOK()
}

// ParseOnOff parses the ON|OFF of CLIENT NO-EVICT and NO-TOUCH (args the
// whole command of three arguments), or returns the error to answer.
func ParseOnOff(args [][]byte) (on bool, msg string) {
	switch lower(args[2]) {
	case "on":
		return true, ""
	case "off":
		return false, ""
	}
	return false, "ERR syntax error"
}

// ClientArityOK reports whether CLIENT's subcommand sub (lower case) has
// the right number of arguments, n counting the whole command, and writes
// Redis's error when not. Subcommands it does not know of are left to
// their own checks.
func ClientArityOK(w *resp.Writer, sub string, n int) bool {
	want, fixed := map[string]int{"id": 2, "getname": 2, "info": 2, "unpause": 2, "trackinginfo": 2, "getredir": 2,
		"setname": 3, "reply": 3, "no-evict": 3, "no-touch": 3, "setinfo": 4}[sub]
	if fixed && n != want || (sub == "kill" || sub == "tracking" || sub == "caching") && n < 3 {
		SubArity(w, "client", sub)
		return false
	}
	return true
}

// ClientHelp writes CLIENT HELP's reply, Redis 7's text.
func ClientHelp(w *resp.Writer) {
	appendHelp(w,
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CACHING (YES|NO)", "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
		"GETNAME", "    Return the name of the current connection.",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>, TYPE (NORMAL|MASTER|REPLICA|PUBSUB), USER <username>, SKIPME (YES|NO), MAXAGE <seconds>.",
		"LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]", "    Return information about client connections.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
		"UNPAUSE", "    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
		"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]", "    Control server assisted client side caching.",
		"TRACKINGINFO", "    Report tracking status for the current connection.",
		"NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
		"NO-TOUCH (ON|OFF)", "    Will not touch LRU/LFU stats when this mode is on.",
		"HELP", "    Print this help.")
}

// AppendClientList writes CLIENT LIST's reply: the lines, one per client.
func AppendClientList(w *resp.Writer, lines []string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	w.AppendVerbatim("txt", []byte(b.String()))
}
