package server

import (
	"slices"
	"strings"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/tracking"
)

// Client-side caching (CLIENT TRACKING).
//
// The server's tracking.Table learns of every key that changes from the
// shards' keyspaces (keyspace.DB.SetTracker), and of the keys a tracking
// client reads from the goroutine that ran the read, once it has run
// (command.Ctx.Track): a write of the same shard comes before or after the
// read as a whole, so no change between the read and its remembering is
// missed. A client that tracks gets an outbox, as a subscriber does, so
// that the invalidations the shards deliver are written in order with its
// replies, and no shard waits for it.

// trackState is a session's tracking state; the table holds the same
// options for the other goroutines (CLIENT LIST).
type trackState struct {
	TrackState
	cmd int64 // the client whose reads the command running remembers (trackFor)
}

// TrackState is a connection's CLIENT TRACKING state, kept and used by its
// own goroutine only: a cluster node's connections keep one too.
type TrackState struct {
	On      bool
	Opts    tracking.Options
	Caching bool // CLIENT CACHING was given for the next command
}

// Subscribed reports whether the client is in Pub/Sub mode
// (tracking.Target).
func (c *conn) Subscribed() bool {
	return c.subCounts[0].Load()+c.subCounts[1].Load()+c.subCounts[2].Load() > 0
}

// connByID returns the connected client with id, or nil.
func (s *Server) connByID(id int64) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.id == id {
			return c
		}
	}
	return nil
}

// trackTarget finds a redirect target for the tracking table.
func (s *Server) trackTarget(id int64) tracking.Target {
	if c := s.connByID(id); c != nil {
		return c
	}
	return nil
}

// trackFor returns the client id whose reads a command run now must
// remember, 0 for none, and forgets CLIENT CACHING after any command but
// CLIENT's own, outside MULTI, as Redis does.
func (s *session) trackFor(spec *command.Spec) int64 {
	return s.trk.For(spec.Name, s.inMulti, s.c.id)
}

// For returns id when the reads of a command named name must be
// remembered for the client, 0 when not, and forgets CLIENT CACHING after
// any command but CLIENT's own, outside MULTI, as Redis does.
func (t *TrackState) For(name string, inMulti bool, id int64) int64 {
	caching := t.Caching
	if !inMulti && name != "client" {
		t.Caching = false
	}
	if !t.On || t.Opts.BCAST || t.Opts.OptIn && !caching || t.Opts.OptOut && caching {
		return 0
	}
	return id
}

// tracking implements CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]…
// [BCAST] [OPTIN] [OPTOUT] [NOLOOP], with Redis 7.0's checks and errors.
func (s *session) tracking(w *resp.Writer, args [][]byte) {
	if s.trk.Tracking(w, args, s.c.s.track, s.c.id, s.c, func(id int64) bool { return s.c.s.connByID(id) != nil }) && !s.inExec {
		s.openOutbox()
	}
}

// Tracking answers CLIENT TRACKING for client id, whose messages go to
// self, over table; exists tells whether a REDIRECT target is connected.
// It reports whether tracking is on after it, for the caller to give the
// client an outbox.
func (t *TrackState) Tracking(w *resp.Writer, args [][]byte, table *tracking.Table, id int64, self tracking.Target, exists func(int64) bool) bool {
	var o tracking.Options
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case ascii.EqualFold(args[j], "redirect") && more > 0:
			j++
			if o.Redirect != 0 {
				w.AppendError("ERR A client can only redirect to a single other client")
				return false
			}
			rid, ok := resp.ParseInt(args[j])
			if !ok {
				w.AppendError("ERR value is not an integer or out of range")
				return false
			}
			if !exists(rid) {
				w.AppendError("ERR The client ID you want redirect to does not exist")
				return false
			}
			o.Redirect = rid
		case ascii.EqualFold(args[j], "bcast"):
			o.BCAST = true
		case ascii.EqualFold(args[j], "optin"):
			o.OptIn = true
		case ascii.EqualFold(args[j], "optout"):
			o.OptOut = true
		case ascii.EqualFold(args[j], "noloop"):
			o.NoLoop = true
		case ascii.EqualFold(args[j], "prefix") && more > 0:
			j++
			o.Prefixes = append(o.Prefixes, string(args[j]))
		default:
			w.AppendError("ERR syntax error")
			return false
		}
	}
	switch {
	case ascii.EqualFold(args[2], "off"):
		t.Off(table, id)
		w.AppendOK()
		return false
	case !ascii.EqualFold(args[2], "on"):
		w.AppendError("ERR syntax error")
		return false
	case !o.BCAST && len(o.Prefixes) > 0:
		w.AppendError("ERR PREFIX option requires BCAST mode to be enabled")
		return false
	case t.On && t.Opts.BCAST != o.BCAST:
		w.AppendError("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
		return false
	case o.BCAST && (o.OptIn || o.OptOut):
		w.AppendError("ERR OPTIN and OPTOUT are not compatible with BCAST")
		return false
	case o.OptIn && o.OptOut:
		w.AppendError("ERR You can't specify both OPTIN mode and OPTOUT mode")
		return false
	case t.On && (o.OptIn && t.Opts.OptOut || o.OptOut && t.Opts.OptIn):
		w.AppendError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
		return false
	}
	if o.BCAST {
		if msg := prefixCollision(t.Opts.Prefixes, o.Prefixes); msg != "" {
			w.AppendError(msg)
			return false
		}
	}
	table.Enable(id, self, o)
	t.On = true
	t.Opts, _, _ = table.Info(id)
	w.AppendOK()
	return true
}

// prefixCollision returns Redis's error when a new prefix overlaps one the
// client has or another new one (one is a prefix of the other), else "".
func prefixCollision(have, add []string) string {
	overlap := func(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }
	for i, p := range add {
		for _, h := range have {
			if overlap(h, p) {
				return "ERR Prefix '" + p + "' overlaps with an existing prefix '" + h + "'. Prefixes for a single client must not overlap."
			}
		}
		for _, q := range add[i+1:] {
			if overlap(p, q) {
				return "ERR Prefix '" + p + "' overlaps with another provided prefix '" + q + "'. Prefixes for a single client must not overlap."
			}
		}
	}
	return ""
}

// trackingOff turns tracking off, as CLIENT TRACKING OFF, RESET and a
// closing connection do.
func (s *session) trackingOff() {
	s.trk.Off(s.c.s.track, s.c.id)
	s.trk = trackState{}
}

// Off turns tracking off for client id in table.
func (t *TrackState) Off(table *tracking.Table, id int64) {
	if !t.On {
		return
	}
	table.Disable(id)
	*t = TrackState{}
}

// caching implements CLIENT CACHING YES|NO.
func (s *session) caching(w *resp.Writer, args [][]byte) { s.trk.CachingCmd(w, args) }

// CachingCmd answers CLIENT CACHING YES|NO.
func (t *TrackState) CachingCmd(w *resp.Writer, args [][]byte) {
	switch {
	case !t.On:
		w.AppendError("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
	case ascii.EqualFold(args[2], "yes"):
		if !t.Opts.OptIn {
			w.AppendError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
		t.Caching = true
		w.AppendOK()
	case ascii.EqualFold(args[2], "no"):
		if !t.Opts.OptOut {
			w.AppendError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
		t.Caching = true
		w.AppendOK()
	default:
		w.AppendError("ERR syntax error")
	}
}

// trackingInfo implements CLIENT TRACKINGINFO.
func (s *session) trackingInfo(w *resp.Writer) { s.trk.Info(w, s.c.s.track, s.c.id) }

// Info answers CLIENT TRACKINGINFO for client id of table.
func (t *TrackState) Info(w *resp.Writer, table *tracking.Table, id int64) {
	_, broken, _ := table.Info(id)
	flags := []string{"off"}
	if t.On {
		flags[0] = "on"
		if t.Opts.BCAST {
			flags = append(flags, "bcast")
		}
		if t.Opts.OptIn {
			flags = append(flags, "optin")
			if t.Caching {
				flags = append(flags, "caching-yes")
			}
		}
		if t.Opts.OptOut {
			flags = append(flags, "optout")
			if t.Caching {
				flags = append(flags, "caching-no")
			}
		}
		if t.Opts.NoLoop {
			flags = append(flags, "noloop")
		}
		if broken {
			flags = append(flags, "broken_redirect")
		}
	}
	w.AppendMap(3)
	w.AppendBulkString("flags")
	w.AppendSet(len(flags))
	for _, f := range flags {
		w.AppendBulkString(f)
	}
	w.AppendBulkString("redirect")
	w.AppendInt(t.GetRedir())
	w.AppendBulkString("prefixes")
	prefixes := append([]string(nil), t.Opts.Prefixes...)
	slices.Sort(prefixes)
	w.AppendArray(len(prefixes))
	for _, p := range prefixes {
		w.AppendBulkString(p)
	}
}

// getRedir is CLIENT GETREDIR: -1 when not tracking, else the client
// invalidations are redirected to, 0 for none.
func (s *session) getRedir() int64 { return s.trk.GetRedir() }

// GetRedir answers CLIENT GETREDIR.
func (t *TrackState) GetRedir() int64 {
	if !t.On {
		return -1
	}
	return t.Opts.Redirect
}

// trackFlags returns the tracking letters of CLIENT LIST's flags (t, R,
// B) and its redir field, from any goroutine.
func (c *conn) trackFlags() (flags string, redir int64) {
	o, broken, on := c.s.track.Info(c.id)
	if !on {
		return "", -1
	}
	flags = "t"
	if broken {
		flags += "R"
	}
	if o.BCAST {
		flags += "B"
	}
	return flags, o.Redirect
}
