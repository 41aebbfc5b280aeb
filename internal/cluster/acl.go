package cluster

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/server"
)

// The users of a cluster are the same on every node: the metadata group's
// key "acl" holds them, as a version number on the first line and then
// ACL LIST's lines. ACL SETUSER, DELUSER change them by a compare-and-set
// on that key (changeACL), so that every change applies to the latest
// state and all nodes see the same changes in the same order. Each Server
// keeps a table of its own that follows the key: it reads the key's digest
// from the local replica (or the leader) every aclPoll, and again,
// linearizably, before it answers WRONGPASS, so that a user just created
// on another node can log in at once. Permissions are checked on the node
// the client is connected to, before a command is sent to its group.
// Until the first change the key is absent, and each node has the default
// user with its own --requirepass.
const aclKey = "acl"

// aclPoll is how often a Server looks for changes of the users.
const aclPoll = 100 * time.Millisecond

// aclTries bounds the compare-and-set attempts of one change.
const aclTries = 5

// errACLConflict answers a change of the users that kept losing races.
var errACLConflict = errors.New("the users changed meanwhile on another node; try again")

// aclState is the users' state as the metadata group holds it.
type aclState struct {
	version uint64
	entries []acl.Entry
	digest  uint64 // of the key; 0 when absent
}

// readACL reads the users from the metadata group: linearizably for mode
// Read, from the local replica for Stale.
func (s *Server) readACL(mode Mode) (aclState, error) {
	v, dg, err := s.node.readMeta(mode, aclKey)
	if err != nil {
		return aclState{}, err
	}
	var st aclState
	if dg != 0 {
		if st, err = decodeACL(v); err != nil {
			return aclState{}, err
		}
	}
	st.digest = dg
	return st, nil
}

// decodeACL parses the key's value: the version, then the users.
func decodeACL(v []byte) (aclState, error) {
	ver, rest, err := cutVersion(v)
	if err != nil {
		return aclState{}, err
	}
	entries, err := acl.ParseFile(aclKey, rest)
	if err != nil {
		return aclState{}, err
	}
	return aclState{version: ver, entries: entries}, nil
}

// syncACL brings the server's users up to the metadata group's, if they
// are newer than those it has.
func (s *Server) syncACL(mode Mode) error {
	st, err := s.readACL(mode)
	if err != nil {
		return err
	}
	s.applyACL(st)
	return nil
}

// applyACL takes st as the server's users if it is newer than theirs, and
// closes the connections of the users gone.
func (s *Server) applyACL(st aclState) {
	s.aclMu.Lock()
	defer s.aclMu.Unlock()
	if st.digest == 0 || st.version <= s.aclVersion {
		return
	}
	gone, err := s.acl.Apply(st.entries)
	if err != nil {
		s.log.Error("the cluster's users cannot be applied", "err", err)
		return
	}
	s.aclVersion = st.version
	s.dropUsers(gone)
}

// changeACL applies change to the cluster's current users and writes the
// result if they are still the ones read, trying again a few times when
// another node changed them meanwhile. change's error (a bad rule) is
// returned as it is.
func (s *Server) changeACL(change func(t *acl.Table) error) error {
	return s.updateACL(func(_ aclState, t *acl.Table) error { return change(t) })
}

// errACLKept ends an update that found the users need no change.
var errACLKept = errors.New("the cluster's users are kept")

// updateACL is changeACL for a change that looks at the state read too;
// a change that answers errACLKept writes nothing, and updateACL returns
// nil.
func (s *Server) updateACL(change func(st aclState, t *acl.Table) error) error {
	for range aclTries {
		st, err := s.readACL(Read)
		if err != nil {
			return err
		}
		t := acl.New()
		t.SetDefaultPassword(s.cfg().Password)
		if st.digest != 0 {
			if _, err := t.Replace(st.entries); err != nil {
				return err
			}
		}
		if err := change(st, t); errors.Is(err, errACLKept) {
			return nil
		} else if err != nil {
			return err
		}
		next := strconv.FormatUint(st.version+1, 10) + "\n" + strings.Join(t.List(), "\n") + "\n"
		ok, err := s.node.swapMeta(aclKey, st.digest, next)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		s.syncACL(Read)
		return nil
	}
	return errACLConflict
}

// setRequirePass makes pass the default user's password on every node,
// through the metadata group, as CONFIG SET requirepass does on a node;
// when that group cannot be reached, on this node only, until the next
// change of the cluster's users.
func (s *Server) setRequirePass(pass string) {
	err := s.changeACL(func(t *acl.Table) error {
		t.SetDefaultPassword(pass)
		return nil
	})
	if err != nil {
		s.log.Warn("requirepass set on this node only: the cluster's users could not be changed", "err", err)
		s.acl.SetDefaultPassword(pass)
	}
}

// pollACL follows the cluster's users until stop is closed.
func (s *Server) pollACL(stop <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(aclPoll)
	defer t.Stop()
	var seen uint64
	seeded := false
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !s.node.agreed.Load() {
			continue
		}
		if !seeded {
			seeded = s.seedACL()
		}
		// The digest alone, until it changes.
		reply, err := s.node.call(s.node.meta, Stale, []string{string(cmdDigest), aclKey})
		if dg, ok := parseIntReply(reply); err != nil || !ok || uint64(dg) == seen {
			continue
		}
		if st, err := s.readACL(Stale); err == nil {
			s.applyACL(st)
			seen = st.digest
		}
	}
}

// dropUsers closes the connections of users that no longer exist.
func (s *Server) dropUsers(gone []*acl.User) {
	if len(gone) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		u := c.user.Load()
		for _, g := range gone {
			if u == g {
				c.kill()
				break
			}
		}
	}
}

// ACLTable returns the server's users.
func (s *Server) ACLTable() *acl.Table { return s.acl }

// SetUser applies ACL SETUSER to the cluster's users.
func (s *Server) SetUser(name string, rules []string) error {
	return s.changeACL(func(t *acl.Table) error { return t.SetUser(name, rules) })
}

// DelUser applies ACL DELUSER to the cluster's users; every node closes
// the connections of the users deleted.
func (s *Server) DelUser(names []string) (int, error) {
	n := 0
	err := s.changeACL(func(t *acl.Table) error {
		gone, err := t.DelUser(names)
		n = len(gone)
		return err
	})
	return n, err
}

// LoadACL answers ACL LOAD: the users of the node's aclfile
// (ServerConfig.ACLFile) replace the cluster's, all or none, in one write
// of the metadata group; every node closes the connections of the users
// replaced.
func (s *Server) LoadACL() error {
	file := s.cfg().ACLFile
	if file == "" {
		return server.ErrNoACLFile
	}
	entries, err := acl.LoadFile(file)
	if err != nil {
		return err
	}
	return s.changeACL(func(t *acl.Table) error {
		_, err := t.Replace(entries)
		return err
	})
}

// SaveACL answers ACL SAVE: the cluster's users, read linearizably, are
// written to the node's aclfile.
func (s *Server) SaveACL() error {
	file := s.cfg().ACLFile
	if file == "" {
		return server.ErrNoACLFile
	}
	if err := s.syncACL(Read); err != nil {
		return err
	}
	if err := s.acl.Save(file); err != nil {
		s.log.Error("could not save the ACLs", "file", file, "err", err)
		return server.ErrACLSave
	}
	return nil
}

// seedACL gives the cluster the users of the node's aclfile when it has
// none yet (no ACL SETUSER, DELUSER, LOAD or requirepass change was ever
// made on any node): the first node started with an aclfile seeds the
// users, and a cluster that has users keeps them; ACL LOAD replaces them
// on purpose. It reports whether it is done: seeded, or not needed.
func (s *Server) seedACL() bool {
	file := s.cfg().ACLFile
	if file == "" {
		return true
	}
	entries, err := acl.LoadFile(file)
	if err != nil {
		s.log.Error("the aclfile cannot be loaded; the cluster's users are kept", "file", file, "err", err)
		return true
	}
	err = s.updateACL(func(st aclState, t *acl.Table) error {
		if st.digest != 0 {
			return errACLKept
		}
		_, err := t.Replace(entries)
		return err
	})
	if err != nil {
		s.log.Warn("the aclfile's users could not be given to the cluster yet", "file", file, "err", err)
		return false
	}
	return true
}

var _ server.ACLHost = (*Server)(nil)

// login authenticates the connection as user with pass, against the
// cluster's users read linearizably first: a user created or deleted on
// another node a moment ago is known (when the metadata group cannot be
// read, the users this server has are used). A failure is recorded in the
// ACL log, cmd being the command that tried.
func (c *clientConn) login(cmd, user, pass []byte) bool {
	u, ok := c.checkLogin(user, pass)
	c.loggedIn(cmd, user, u, ok, c.logContext())
	return ok
}

// checkLogin returns the user that name and pass log in as, false when
// they do not; it changes nothing.
func (c *clientConn) checkLogin(name, pass []byte) (*acl.User, bool) {
	if c.s.node.agreed.Load() {
		c.s.syncACL(Read)
	}
	return c.s.acl.Authenticate(name, pass)
}

// loggedIn makes u, which name logged in as with command cmd, the
// connection's user; when !ok, it logs the failure in the ACL log under
// context ctx instead.
func (c *clientConn) loggedIn(cmd, name []byte, u *acl.User, ok bool, ctx string) {
	if !ok {
		c.s.acl.Log.Add(acl.LogEntry{Reason: acl.DeniedAuth, Context: ctx, Object: string(cmd),
			Username: string(name), Time: time.Now(), ClientInfo: c.describe()})
		return
	}
	c.user.Store(u)
	c.authed = true
}

// permitted checks a command against the connection's user and, when it
// is denied, records it and answers NOPERM (doomming a transaction).
func (c *clientConn) permitted(spec *command.Spec, args [][]byte) bool {
	r := c.user.Load().Rules()
	if r.All() {
		return true
	}
	d, ok := r.Check(args, spec.Flags&command.NoAuth != 0)
	if ok {
		return true
	}
	c.s.acl.Log.Add(acl.LogEntry{Reason: d.Reason, Context: c.logContext(), Object: d.Object,
		Username: c.user.Load().Name(), Time: time.Now(), ClientInfo: c.describe()})
	if c.isRESP {
		c.reject(spec, d.Message())
	} else {
		c.localLine(d.Message())
	}
	return false
}

func (c *clientConn) logContext() string {
	if c.inMulti {
		return "multi"
	}
	return "toplevel"
}
