package server

import (
	"bytes"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Replies about authentication, Redis's texts.
const (
	msgNoAuth      = "NOAUTH Authentication required."
	msgWrongPass   = "WRONGPASS invalid username-password pair or user is disabled."
	msgNoPassword  = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	msgHelloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
)

// authenticate runs AUTH [username] password, args including the command
// name, and returns the error to reply, or "" when the client is now
// authenticated. A failed attempt leaves the connection as it was and is
// recorded in the ACL log.
func (c *conn) authenticate(args [][]byte) string {
	if len(args) > 3 {
		return "ERR syntax error"
	}
	user, pass := []byte(acl.DefaultName), args[1]
	if len(args) == 2 {
		if c.s.acl.Default().Rules().NoPass() {
			return msgNoPassword
		}
	} else {
		user, pass = args[1], args[2]
	}
	if !c.login(args[0], user, pass) {
		return msgWrongPass
	}
	return ""
}

// login authenticates the connection as user if pass is one of its
// passwords and it is enabled; otherwise it records the failure, cmd
// being the command that tried, and reports false. Passwords are compared
// as SHA-256 hashes, in constant time.
func (c *conn) login(cmd, user, pass []byte) bool {
	u, ok := c.s.acl.Authenticate(user, pass)
	if !ok {
		now := time.Now()
		c.s.acl.Log.Add(acl.LogEntry{Reason: acl.DeniedAuth, Context: c.logContext(), Object: string(cmd),
			Username: string(user), Time: now, ClientInfo: c.describe(now)})
		return false
	}
	c.user.Store(u)
	c.setAuthed(true)
	return true
}

// auth implements AUTH [username] password for RESP.
func (s *session) auth(w *resp.Writer, args [][]byte) {
	if msg := s.c.authenticate(args); msg != "" {
		w.AppendError(msg)
		return
	}
	w.AppendOK()
}

// helloAuth applies HELLO's AUTH option (user nil when absent; cmd is
// HELLO as the client wrote it, for the ACL log) and then
// requires the connection to be authenticated, as Redis does. It writes the
// error and reports false when HELLO must stop.
func (s *session) helloAuth(w *resp.Writer, cmd, user, pass []byte) bool {
	if user != nil {
		if !s.c.login(cmd, user, pass) {
			w.AppendError(msgWrongPass)
			return false
		}
	}
	if !s.c.gate.authed && !s.c.s.acl.DefaultOpen() {
		w.AppendError(msgHelloNoAuth)
		return false
	}
	return true
}

// lineUnknown handles a line whose command is not in the line table: AUTH,
// which the line protocol takes as RESP does (replying OK or the error as
// its line), an HTTP request, which closes the connection at once, or an
// unknown command. It reports false when the connection must be closed.
func (c *conn) lineUnknown(args [][]byte) bool {
	if bytes.EqualFold(args[0], []byte("auth")) {
		if len(args) < 2 {
			c.lineError("ERR wrong number of arguments for '" + string(args[0]) + "'")
			return true
		}
		if msg := c.authenticate(args); msg != "" {
			c.lineError(msg)
		} else {
			c.lineError("OK")
		}
		return true
	}
	if c.httpRequest(args) {
		return false
	}
	c.lineError("ERR unknown command '" + string(args[0]) + "'")
	return true
}
