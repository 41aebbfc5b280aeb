package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// ErrNoACLFile is the error of ACL LOAD and ACL SAVE on a server started
// without --aclfile, with Redis's text.
//
//lint:ignore ST1005 Redis's reply text
var ErrNoACLFile = errors.New("This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")

// ACLHost is what the ACL command needs from the server it runs on: a
// single server changes its table at once, a cluster node through its
// metadata group so that every node applies the same changes. Its methods
// are called from the connection's goroutine and must be safe for
// concurrent use.
type ACLHost interface {
	// ACLTable returns the users.
	ACLTable() *acl.Table
	// SetUser applies ACL SETUSER name rules….
	SetUser(name string, rules []string) error
	// DelUser deletes the users named, closes their connections and
	// returns how many existed.
	DelUser(names []string) (int, error)
	// LoadACL replaces the users by those of the aclfile, all or none,
	// and closes the connections of the users replaced.
	LoadACL() error
	// SaveACL writes the users to the aclfile.
	SaveACL() error
}

// ACL answers the ACL command, args the whole command, for a connection
// authenticated as user.
func ACL(w *resp.Writer, args [][]byte, h ACLHost, user *acl.User) {
	t := h.ACLTable()
	sub := lower(args[1])
	n := len(args)
	arityOK := map[string]bool{
		"cat": n <= 3, "deluser": n >= 3, "dryrun": n >= 4, "genpass": n <= 3, "getuser": n == 3,
		"help": n == 2, "list": n == 2, "load": n == 2, "log": n <= 3, "save": n == 2, "setuser": n >= 3,
		"users": n == 2, "whoami": n == 2,
	}
	ok, known := arityOK[sub]
	if !known {
		UnknownSubcommand(w, "acl", args[1])
		return
	}
	if !ok {
		if sub == "cat" || sub == "genpass" || sub == "log" {
			w.AppendError("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try ACL HELP.")
			return
		}
		SubArity(w, "acl", sub)
		return
	}
	switch sub {
	case "setuser":
		name := string(args[2])
		if strings.ContainsAny(name, " \x00") {
			w.AppendError("ERR Usernames can't contain spaces or null characters")
			return
		}
		rules := make([]string, 0, n-3)
		for _, a := range args[3:] {
			rules = append(rules, string(a))
		}
		if err := h.SetUser(name, rules); err != nil {
			w.AppendError("ERR " + err.Error())
			return
		}
		w.AppendOK()
	case "getuser":
		u := t.User(string(args[2]))
		if u == nil {
			w.AppendNull()
			return
		}
		appendGetUser(w, u.Rules())
	case "deluser":
		names := make([]string, 0, n-2)
		for _, a := range args[2:] {
			names = append(names, string(a))
		}
		k, err := h.DelUser(names)
		if err != nil {
			w.AppendError("ERR " + err.Error())
			return
		}
		w.AppendInt(int64(k))
	case "list":
		list := t.List()
		w.AppendArray(len(list))
		for _, l := range list {
			w.AppendBulkString(l)
		}
	case "users":
		names := t.Names()
		w.AppendArray(len(names))
		for _, nm := range names {
			w.AppendBulkString(nm)
		}
	case "whoami":
		w.AppendBulkString(user.Name())
	case "cat":
		if n == 2 {
			cats := acl.Categories()
			w.AppendArray(len(cats))
			for _, c := range cats {
				w.AppendBulkString(c)
			}
			return
		}
		names, ok := acl.CommandsIn(string(args[2]))
		if !ok {
			w.AppendError("ERR Unknown category '" + string(args[2]) + "'")
			return
		}
		w.AppendArray(len(names))
		for _, nm := range names {
			w.AppendBulkString(nm)
		}
	case "genpass":
		bits := int64(256)
		if n == 3 {
			v, err := strconv.ParseInt(string(args[2]), 10, 64)
			if err != nil {
				w.AppendError("ERR value is not an integer or out of range")
				return
			}
			if v <= 0 || v > 4096 {
				w.AppendError("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
				return
			}
			bits = v
		}
		w.AppendBulkString(genPass(int(bits)))
	case "log":
		aclLog(w, args, t)
	case "dryrun":
		dryRun(w, args, t)
	case "load":
		if err := h.LoadACL(); err != nil {
			w.AppendError("ERR " + err.Error())
			return
		}
		w.AppendOK()
	case "save":
		if err := h.SaveACL(); err != nil {
			w.AppendError("ERR " + err.Error())
			return
		}
		w.AppendOK()
	case "help":
		appendHelp(w,
			"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"CAT [<category>]",
			"    List all commands that belong to <category>, or all command categories",
			"    when no category is specified.",
			"DELUSER <username> [<username> ...]",
			"    Delete a list of users.",
			"DRYRUN <username> <command> [<arg> ...]",
			"    Returns whether the user can execute the given command without executing the command.",
			"GETUSER <username>",
			"    Get the user's details.",
			"GENPASS [<bits>]",
			"    Generate a secure 256-bit user password. The optional `bits` argument can",
			"    be used to specify a different size.",
			"LIST",
			"    Show users details in config file format.",
			"LOAD",
			"    Reload users from the ACL file.",
			"LOG [<count> | RESET]",
			"    Show the ACL log entries.",
			"SAVE",
			"    Save the current config to the ACL file.",
			"SETUSER <username> <attribute> [<attribute> ...]",
			"    Create or modify a user with the specified attributes.",
			"USERS",
			"    List all the registered usernames.",
			"WHOAMI",
			"    Return the current connection username.",
			"HELP",
			"    Prints this help.")
	}
}

// appendGetUser writes ACL GETUSER's reply in Redis 7.0's shape.
func appendGetUser(w *resp.Writer, r *acl.Rules) {
	w.AppendMap(6)
	w.AppendBulkString("flags")
	flags := r.Flags()
	w.AppendSet(len(flags))
	for _, f := range flags {
		w.AppendBulkString(f)
	}
	w.AppendBulkString("passwords")
	pw := r.Passwords()
	w.AppendArray(len(pw))
	for _, p := range pw {
		w.AppendBulkString(p)
	}
	w.AppendBulkString("commands")
	w.AppendBulkString(r.CommandsRule())
	w.AppendBulkString("keys")
	w.AppendBulkString(r.KeysRule())
	w.AppendBulkString("channels")
	w.AppendBulkString(r.ChannelsRule())
	w.AppendBulkString("selectors")
	w.AppendArray(0)
}

// genPass returns bits random bits in hex, rounded up to whole digits.
func genPass(bits int) string {
	b := make([]byte, (bits+7)/8)
	rand.Read(b)
	return hex.EncodeToString(b)[:(bits+3)/4]
}

// aclLog answers ACL LOG [count | RESET].
func aclLog(w *resp.Writer, args [][]byte, t *acl.Table) {
	count := 10
	if len(args) == 3 {
		if strings.EqualFold(string(args[2]), "reset") {
			t.Log.Reset()
			w.AppendOK()
			return
		}
		v, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			w.AppendError("ERR value is not an integer or out of range")
			return
		}
		count = int(max(min(v, 1<<30), 0))
	}
	entries := t.Log.Entries(count)
	now := time.Now()
	w.AppendArray(len(entries))
	for _, e := range entries {
		w.AppendMap(7)
		w.AppendBulkString("count")
		w.AppendInt(e.Count)
		w.AppendBulkString("reason")
		w.AppendBulkString(e.Reason.String())
		w.AppendBulkString("context")
		w.AppendBulkString(e.Context)
		w.AppendBulkString("object")
		w.AppendBulkString(e.Object)
		w.AppendBulkString("username")
		w.AppendBulkString(e.Username)
		w.AppendBulkString("age-seconds")
		w.AppendDouble(float64(now.Sub(e.Time).Milliseconds()) / 1000)
		w.AppendBulkString("client-info")
		w.AppendBulkString(e.ClientInfo)
	}
}

// dryRun answers ACL DRYRUN user command arg….
func dryRun(w *resp.Writer, args [][]byte, t *acl.Table) {
	u := t.User(string(args[2]))
	if u == nil {
		w.AppendError("ERR User '" + string(args[2]) + "' not found")
		return
	}
	cmd := args[3:]
	spec := command.Redis.Lookup(cmd[0])
	if spec == nil || acl.UnknownSubcommand(cmd) {
		w.AppendError("ERR Command '" + string(cmd[0]) + "' not found")
		return
	}
	if !spec.ArityOK(len(cmd)) {
		w.AppendError("ERR wrong number of arguments for '" + spec.Name + "' command")
		return
	}
	if msg, unknown := spec.SubError(cmd); msg != "" && !unknown {
		w.AppendError(msg)
		return
	}
	d, ok := u.Rules().Check(cmd, spec.Flags&command.NoAuth != 0)
	if ok {
		w.AppendOK()
		return
	}
	switch d.Reason {
	case acl.DeniedKey:
		w.AppendBulkString("This user has no permissions to access the '" + d.Object + "' key")
	case acl.DeniedChannel:
		w.AppendBulkString("This user has no permissions to access the '" + d.Object + "' channel")
	default:
		w.AppendBulkString("This user has no permissions to run the '" + d.Object + "' command")
	}
}

// permitted checks the command args against the connection's user, and
// when it is denied records it in the ACL log (context "multi" when
// queued in MULTI) and answers NOPERM. The default user, allowed
// everything, costs two loads and a test.
func (c *conn) permitted(spec *command.Spec, args [][]byte, inMulti bool) bool {
	r := c.user.Load().Rules()
	if r.All() {
		return true
	}
	d, ok := r.Check(args, spec.Flags&command.NoAuth != 0)
	if ok {
		return true
	}
	if c.last != nil {
		c.lastName.Store(c.last)
	}
	ctx := "toplevel"
	if inMulti {
		ctx = "multi"
	}
	c.logDenial(d, ctx)
	if c.isRESP {
		msg := d.Message()
		if spec.Name == "exec" {
			msg = c.sess.abortExec(msg)
		}
		w := c.p.Local()
		w.AppendError(msg)
		c.p.EndLocal()
	} else {
		c.lineError(d.Message())
	}
	return false
}

// SortDenied returns Redis 7.0's error for a SORT or SORT_RO that reads
// keys through a BY or GET pattern (command.SortPatternOption), which the
// user with rules r may not do unless it may read every key: the keys such
// a pattern forms are not in the arguments, so the key checks cannot see
// them. It returns "" for any other command, or when the user may.
func SortDenied(r *acl.Rules, spec *command.Spec, args [][]byte) string {
	if spec.Name != "sort" && spec.Name != "sort_ro" || r.AllKeysReadable() {
		return ""
	}
	if opt := command.SortPatternOption(args, spec.Name == "sort_ro"); opt != "" {
		return "ERR " + opt + " option of SORT denied due to insufficient ACL permissions."
	}
	return ""
}

// ExecDenied returns Redis's error for a queued command that EXEC does not
// run because the user's rules, changed since it was queued (or the user,
// by an AUTH queued before it), no longer allow it.
func ExecDenied(d acl.Denial) string {
	reason := "no permission to execute the command or subcommand"
	switch d.Reason {
	case acl.DeniedKey:
		reason = "no permission to touch the specified keys"
	case acl.DeniedChannel:
		reason = "no permission to access one of the channels used as arguments"
	}
	return "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. " +
		"This command is no longer allowed for the following reason: " + reason
}

// logDenial records a denied command in the ACL log.
func (c *conn) logDenial(d acl.Denial, ctx string) {
	now := time.Now()
	c.s.acl.Log.Add(acl.LogEntry{Reason: d.Reason, Context: ctx, Object: d.Object,
		Username: c.user.Load().Name(), Time: now, ClientInfo: c.describe(now)})
}

// scriptCheck returns the check of the commands a script calls for a
// user with rules r: Redis's errors for scripts, and ACL log entries in
// the "lua" context.
func (c *conn) scriptCheck(r *acl.Rules) func(*command.Spec, [][]byte) string {
	return checkScriptCalls(r, func(d acl.Denial) { c.logDenial(d, "lua") })
}

// checkScriptCalls returns the check of the commands a script calls for a
// user with rules r, with Redis's errors for scripts; denied, when set, is
// told of each denial.
func checkScriptCalls(r *acl.Rules, denied func(acl.Denial)) func(*command.Spec, [][]byte) string {
	return func(spec *command.Spec, args [][]byte) string {
		d, ok := r.Check(args, spec.Flags&command.NoAuth != 0)
		if ok {
			return SortDenied(r, spec, args)
		}
		if denied != nil {
			denied(d)
		}
		switch d.Reason {
		case acl.DeniedKey:
			return "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
		case acl.DeniedChannel:
			return "ERR The user executing the script can't publish to the channel mentioned in the command"
		}
		return "ERR The user executing the script can't run this command or subcommand"
	}
}

// logContext returns the context of the ACL log for the connection's
// current command.
func (c *conn) logContext() string {
	if c.isRESP && c.sess.inMulti {
		return "multi"
	}
	return "toplevel"
}

func (s *session) aclCmd(w *resp.Writer, args [][]byte) {
	ACL(w, args, s.c.s, s.c.user.Load())
}

// ACLTable returns the server's users.
func (s *Server) ACLTable() *acl.Table { return s.acl }

// SetRequirePass makes pass the default user's only password, or lets
// the default user in without a password when pass is empty: what
// --requirepass sets at start and CONFIG SET requirepass changes.
// Connections already authenticated stay so.
func (s *Server) SetRequirePass(pass string) { s.acl.SetDefaultPassword(pass) }

// SetUser applies ACL SETUSER. The user's subscribed connections check
// their subscriptions against its new channels, and those subscribed to a
// channel it may no longer use are closed, as in Redis.
func (s *Server) SetUser(name string, rules []string) error {
	if err := s.acl.SetUser(name, rules); err != nil {
		return err
	}
	s.recheckSubscribers(s.acl.User(name))
	return nil
}

// recheckSubscribers wakes the subscribed connections of u from their
// read to check their subscriptions (see conn.serve). A connection parked
// in a blocking command is left alone.
func (s *Server) recheckSubscribers(u *acl.User) {
	if u == nil || u.Rules().AllChannels() {
		return
	}
	for _, c := range s.clients() {
		if c.user.Load() != u || c.subCounts[0].Load()+c.subCounts[1].Load()+c.subCounts[2].Load() == 0 {
			continue
		}
		c.wakeMu.Lock()
		if c.parked.Load() == nil {
			c.recheck.Store(true)
			c.nc.SetReadDeadline(time.Now())
		}
		c.wakeMu.Unlock()
	}
}

// subscriptionsAllowed reports whether the connection's user may still
// use every channel and pattern it is subscribed to. It runs on the
// connection's goroutine.
func (c *conn) subscriptionsAllowed() bool {
	if !c.isRESP {
		return true
	}
	r := c.user.Load().Rules()
	ok := true
	c.sess.subs.Each(func(k pubsub.Kind, name string) bool {
		ok = r.ChannelAllowed(name, k == pubsub.Pattern)
		return ok
	})
	if !ok {
		c.logger().Info("closing a subscribed client: its user may no longer use one of its channels")
	}
	return ok
}

// DelUser deletes users and closes their connections, as Redis does.
func (s *Server) DelUser(names []string) (int, error) {
	gone, err := s.acl.DelUser(names)
	if err != nil {
		return 0, err
	}
	s.dropUsers(gone)
	return len(gone), nil
}

// dropUsers closes the connections of users that no longer exist. Each
// answers what it has read, the command that deleted its user included.
func (s *Server) dropUsers(gone []*acl.User) {
	if len(gone) == 0 {
		return
	}
	for _, c := range s.clients() {
		u := c.user.Load()
		for _, g := range gone {
			if u == g {
				c.stop()
				break
			}
		}
	}
}

// newUsers returns the users a server starts with: those of the aclfile,
// or the default user with the password p.RequirePass.
func newUsers(p Protection) (*acl.Table, error) {
	users := acl.New()
	users.SetDefaultPassword(p.RequirePass)
	if p.ACLFile == "" {
		return users, nil
	}
	entries, err := acl.LoadFile(p.ACLFile)
	if err == nil {
		_, err = users.Replace(entries)
	}
	if err != nil {
		return nil, &ACLFileError{Err: err}
	}
	return users, nil
}

// ACLFileError is New's error for an aclfile that cannot be read or is
// not valid: a problem of the configuration, not of the server.
type ACLFileError struct{ Err error }

func (e *ACLFileError) Error() string { return "aclfile: " + e.Err.Error() }

func (e *ACLFileError) Unwrap() error { return e.Err }

// ErrACLSave is the error of an ACL SAVE that failed, Redis's text.
//
//lint:ignore ST1005 Redis's reply text
var ErrACLSave = errors.New("There was an error trying to save the ACLs. Please check the server logs for more information")

// LoadACL answers ACL LOAD: the users of the aclfile replace the table's,
// all or none; the connections of the users replaced are closed.
func (s *Server) LoadACL() error {
	if s.cfg().ACLFile == "" {
		return ErrNoACLFile
	}
	entries, err := acl.LoadFile(s.cfg().ACLFile)
	if err != nil {
		return err
	}
	old, err := s.acl.Replace(entries)
	if err != nil {
		return err
	}
	s.dropUsers(old)
	s.recheckSubscribers(s.acl.Default())
	return nil
}

// SaveACL answers ACL SAVE: the users are written to the aclfile.
func (s *Server) SaveACL() error {
	if s.cfg().ACLFile == "" {
		return ErrNoACLFile
	}
	if err := s.acl.Save(s.cfg().ACLFile); err != nil {
		s.log.Error("could not save the ACLs", "file", s.cfg().ACLFile, "err", err)
		return ErrACLSave
	}
	return nil
}
