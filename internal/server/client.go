package server

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// client implements CLIENT ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL,
// NO-EVICT, NO-TOUCH and HELP.
func (s *session) client(w *resp.Writer, args [][]byte) {
	sub := lower(args[1])
	c := s.c
	switch sub {
	case "id":
		if len(args) != 2 {
			subArity(w, "client", sub)
			return
		}
		w.AppendInt(c.id)
	case "setname":
		if len(args) != 3 {
			subArity(w, "client", sub)
			return
		}
		name := string(args[2])
		if !validClientName(name) {
			w.AppendError("ERR Client names cannot contain spaces, newlines or special characters.")
			return
		}
		c.setName(name)
		w.AppendOK()
	case "getname":
		if len(args) != 2 {
			subArity(w, "client", sub)
			return
		}
		if name := c.getName(); name != "" {
			w.AppendBulkString(name)
		} else {
			w.AppendNull()
		}
	case "setinfo":
		if len(args) != 4 {
			subArity(w, "client", sub)
			return
		}
		v := string(args[3])
		if !validClientName(v) && v != "" {
			w.AppendError("ERR " + strings.ToUpper(string(args[2])) + " cannot contain spaces, newlines or special characters.")
			return
		}
		switch lower(args[2]) {
		case "lib-name":
			c.libName.Store(&v)
		case "lib-ver":
			c.libVer.Store(&v)
		default:
			w.AppendError("ERR Unrecognized option '" + string(args[2]) + "'")
			return
		}
		w.AppendOK()
	case "info":
		if len(args) != 2 {
			subArity(w, "client", sub)
			return
		}
		w.AppendVerbatim("txt", []byte(c.describe(time.Now())+"\n"))
	case "list":
		s.clientList(w, args)
	case "kill":
		s.clientKill(w, args)
	case "unblock":
		s.clientUnblock(w, args)
	case "tracking", "caching":
		if len(args) < 3 {
			subArity(w, "client", sub)
			return
		}
		if sub == "tracking" {
			s.tracking(w, args)
		} else {
			s.caching(w, args)
		}
	case "trackinginfo", "getredir":
		if len(args) != 2 {
			subArity(w, "client", sub)
			return
		}
		if sub == "trackinginfo" {
			s.trackingInfo(w)
		} else {
			w.AppendInt(s.getRedir())
		}
	case "no-evict", "no-touch":
		if len(args) != 3 {
			subArity(w, "client", sub)
			return
		}
		v := lower(args[2])
		if v != "on" && v != "off" {
			w.AppendError("ERR syntax error")
			return
		}
		if sub == "no-evict" {
			c.noEvict.Store(v == "on")
		} else {
			c.noTouch.Store(v == "on")
			c.p.SetNoTouch(v == "on")
		}
		w.AppendOK()
	case "pause":
		s.clientPause(w, args)
	case "unpause":
		if len(args) != 2 {
			subArity(w, "client", sub)
			return
		}
		c.s.pause.unpause()
		w.AppendOK()
	case "reply":
		if len(args) != 3 {
			subArity(w, "client", sub)
			return
		}
		switch lower(args[2]) {
		case "on":
			s.replyOff, s.skipNext, s.unmute = false, false, true
			w.AppendOK()
		case "off":
			s.replyOff = true
		case "skip":
			if !s.replyOff {
				s.skipNext = true
			}
		default:
			w.AppendError("ERR syntax error")
		}
	case "help":
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
	default:
		unknownSubcommand(w, "client", args[1])
	}
}

// describe renders the connection as a CLIENT LIST line. It may be called
// from any goroutine: it reads only fields that are set once or atomic.
// rbs and rbp are the size of the connection's read buffer, which only
// grows, so that its peak is its size; omem is what waits to be written
// (the replies the socket has not taken, a subscriber's queue); tot-mem is
// their sum. The other buffer figures are 0.
func (c *conn) describe(now time.Time) string {
	cmd := "NULL"
	if name := c.lastName.Load(); name != nil {
		cmd = *name
	}
	load := func(p interface{ Load() *string }) string {
		if v := p.Load(); v != nil {
			return *v
		}
		return ""
	}
	proto := c.respVer.Load()
	rbs := c.bufSize.Load()
	// The flags in Redis's order: O monitor, P subscribed, x in MULTI, b
	// blocked (in a blocking command, or held by CLIENT PAUSE), e
	// NO-EVICT, T NO-TOUCH; N for none.
	flags := ""
	if c.monitoring.Load() {
		flags += "O"
	}
	sub, psub, ssub := c.subCounts[0].Load(), c.subCounts[1].Load(), c.subCounts[2].Load()
	if sub+psub+ssub > 0 {
		flags += "P"
	}
	multi, multiMem := c.multiCount.Load(), c.multiMem.Load()
	if multi >= 0 {
		flags += "x"
	}
	if c.parked.Load() != nil || c.paused.Load() {
		flags += "b"
	}
	tflags, redir := c.trackFlags()
	flags += tflags // t, R, B: between b and e, in Redis's order
	if c.noEvict.Load() {
		flags += "e"
	}
	if c.noTouch.Load() {
		flags += "T"
	}
	if flags == "" {
		flags = "N"
	}
	omem := c.omem.Load()
	if ob := c.ob.Load(); ob != nil {
		omem += ob.Pending()
	}
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=%d multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=%d rbs=%d rbp=%d obl=0 oll=0 omem=%d tot-mem=%d events=r cmd=%s user=%s redir=%d resp=%d lib-name=%s lib-ver=%s",
		c.id, c.nc.RemoteAddr(), c.nc.LocalAddr(), c.getName(),
		int64(now.Sub(c.created).Seconds()),
		int64(now.Sub(time.Unix(0, c.lastCmd.Load())).Seconds()), flags, sub, psub, ssub, multi, multiMem,
		rbs, rbs, omem, rbs+omem+multiMem, cmd, c.user.Load().Name(), redir, proto, load(&c.libName), load(&c.libVer))
}

// clients returns the connected clients ordered by id.
func (s *Server) clients() []*conn {
	s.mu.Lock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *conn) int { return int(a.id - b.id) })
	return out
}

func (s *session) clientList(w *resp.Writer, args [][]byte) {
	var ids map[int64]bool
	kind := ""
	for i := 2; i < len(args); i++ {
		switch opt := lower(args[i]); {
		case opt == "type" && i+1 < len(args):
			switch t := lower(args[i+1]); t {
			case "normal", "pubsub":
				kind = t
			case "master", "replica", "slave":
				ids = map[int64]bool{} // no such clients
			default:
				w.AppendError("ERR Unknown client type '" + string(args[i+1]) + "'")
				return
			}
			i++
		case opt == "id" && i+1 < len(args):
			if ids == nil {
				ids = map[int64]bool{}
			}
			for i++; i < len(args); i++ {
				id, err := strconv.ParseInt(string(args[i]), 10, 64)
				if err != nil || id <= 0 {
					w.AppendError("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			w.AppendError("ERR syntax error")
			return
		}
	}
	now := time.Now()
	var b strings.Builder
	for _, c := range s.c.s.clients() {
		if ids != nil && !ids[c.id] || kind != "" && c.clientType() != kind {
			continue
		}
		b.WriteString(c.describe(now))
		b.WriteByte('\n')
	}
	w.AppendVerbatim("txt", []byte(b.String()))
}

// clientPause implements CLIENT PAUSE timeout [WRITE|ALL] (pause.go).
func (s *session) clientPause(w *resp.Writer, args [][]byte) {
	if len(args) > 4 {
		w.AppendError("ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.")
		return
	}
	if len(args) < 3 {
		subArity(w, "client", "pause")
		return
	}
	ms, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		w.AppendError("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		w.AppendError("ERR timeout is negative")
		return
	}
	all := true
	if len(args) == 4 {
		switch lower(args[3]) {
		case "all":
		case "write":
			all = false
		default:
			w.AppendError("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	d := time.Duration(math.MaxInt64)
	if ms < int64(d/time.Millisecond) {
		d = time.Duration(ms) * time.Millisecond
	}
	s.c.s.pause.pause(d, all)
	w.AppendOK()
}

// clientKill implements CLIENT KILL addr and CLIENT KILL with filters: ID,
// ADDR, LADDR, TYPE, USER, SKIPME and MAXAGE (Redis 7.4's: older than that
// many seconds). Clients of types this server has none of (master,
// replica) match nothing; default is the only user.
func (s *session) clientKill(w *resp.Writer, args [][]byte) {
	if len(args) < 3 {
		subArity(w, "client", "kill")
		return
	}
	var (
		id          int64
		addr, laddr string
		user        *acl.User
		skipMe      = true
		oldStyle    = len(args) == 3
		kind        = ""  // "normal" or "pubsub", "" for any
		none        bool  // a filter that matches no client
		maxAge      int64 // seconds, 0 for any
	)
	if oldStyle {
		addr = string(args[2])
	} else {
		if len(args)%2 != 0 {
			w.AppendError("ERR syntax error")
			return
		}
		for i := 2; i < len(args); i += 2 {
			v := string(args[i+1])
			switch lower(args[i]) {
			case "id":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n <= 0 {
					w.AppendError("ERR client-id should be greater than 0")
					return
				}
				id = n
			case "addr":
				addr = v
			case "laddr":
				laddr = v
			case "skipme":
				switch strings.ToLower(v) {
				case "yes":
					skipMe = true
				case "no":
					skipMe = false
				default:
					w.AppendError("ERR syntax error")
					return
				}
			case "type":
				switch t := strings.ToLower(v); t {
				case "normal", "pubsub":
					kind = t
				case "master", "replica", "slave":
					none = true
				default:
					w.AppendError("ERR Unknown client type '" + v + "'")
					return
				}
			case "user":
				if user = s.c.s.acl.User(v); user == nil {
					w.AppendError("ERR No such user '" + v + "'")
					return
				}
			case "maxage":
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					w.AppendError("ERR maxage is not an integer or out of range")
					return
				}
				if n <= 0 {
					w.AppendError("ERR maxage should be greater than 0")
					return
				}
				maxAge = n
			default:
				w.AppendError("ERR syntax error")
				return
			}
		}
	}
	now := time.Now()
	killed := 0
	for _, c := range s.c.s.clients() {
		if none || id != 0 && c.id != id || addr != "" && c.nc.RemoteAddr().String() != addr ||
			laddr != "" && c.nc.LocalAddr().String() != laddr || kind != "" && c.clientType() != kind ||
			maxAge > 0 && int64(now.Sub(c.created)/time.Second) <= maxAge || user != nil && c.user.Load() != user {
			continue
		}
		if c == s.c {
			if skipMe && !oldStyle {
				continue
			}
			s.c.quit = true
		} else {
			c.kill()
		}
		killed++
	}
	if oldStyle {
		if killed == 0 {
			w.AppendError("ERR No such client")
			return
		}
		w.AppendOK()
		return
	}
	w.AppendInt(int64(killed))
}

// clientType is the client's type for CLIENT LIST and KILL's TYPE filter:
// "pubsub" while it has subscriptions, else "normal".
func (c *conn) clientType() string {
	if c.subCounts[0].Load()+c.subCounts[1].Load()+c.subCounts[2].Load() > 0 {
		return "pubsub"
	}
	return "normal"
}
