package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// Replies about authentication, Redis's texts.
const (
	msgNoAuth      = "NOAUTH Authentication required."
	msgWrongPass   = "WRONGPASS invalid username-password pair or user is disabled."
	msgNoPassword  = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	msgHelloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
)

// defaultUser is the one user: the password, if any, is --requirepass.
const defaultUser = "default"

// checkPassword reports whether user and pass are the default user's
// credentials. Without a configured password any password is accepted, as
// for Redis's default user with nopass. The password is compared in
// constant time, through hashes so that its length does not leak either.
func (s *Server) checkPassword(user, pass []byte) bool {
	if string(user) != defaultUser {
		return false
	}
	if s.cfg().RequirePass == "" {
		return true
	}
	want := sha256.Sum256([]byte(s.cfg().RequirePass))
	got := sha256.Sum256(pass)
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// authenticate runs AUTH [username] password, args including the command
// name, and returns the error to reply, or "" when the client is now
// authenticated. A failed attempt leaves the connection as it was.
func (c *conn) authenticate(args [][]byte) string {
	if len(args) > 3 {
		return "ERR syntax error"
	}
	user, pass := []byte(defaultUser), args[1]
	if len(args) == 2 {
		if c.s.cfg().RequirePass == "" {
			return msgNoPassword
		}
	} else {
		user, pass = args[1], args[2]
	}
	if !c.s.checkPassword(user, pass) {
		return msgWrongPass
	}
	c.setAuthed(true)
	return ""
}

// auth implements AUTH [username] password for RESP.
func (s *session) auth(w *resp.Writer, args [][]byte) {
	if msg := s.c.authenticate(args); msg != "" {
		w.AppendError(msg)
		return
	}
	w.AppendOK()
}

// helloAuth applies HELLO's AUTH option (user nil when absent) and then
// requires the connection to be authenticated, as Redis does. It writes the
// error and reports false when HELLO must stop.
func (s *session) helloAuth(w *resp.Writer, user, pass []byte) bool {
	if user != nil {
		if !s.c.s.checkPassword(user, pass) {
			w.AppendError(msgWrongPass)
			return false
		}
		s.c.setAuthed(true)
	}
	if !s.c.gate.authed {
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
