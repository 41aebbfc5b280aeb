package acl

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultName is the name of the user every connection starts as.
const DefaultName = "default"

// ErrDeleteDefault is the error of ACL DELUSER default.
//
//lint:ignore ST1005 Redis's reply text
var ErrDeleteDefault = errors.New("The 'default' user cannot be removed")

// User is a user of a Table: its name and current rules. The handle stays
// the same while the user exists; its rules are replaced when it changes.
// It may be used from any goroutine.
type User struct {
	name  string
	rules atomic.Pointer[Rules]
}

// Name returns the user's name.
func (u *User) Name() string { return u.name }

// Rules returns the user's current rules.
func (u *User) Rules() *Rules { return u.rules.Load() }

func newUser(name string, r *Rules) *User {
	u := &User{name: name}
	r.finish()
	u.rules.Store(r)
	return u
}

// defaultRules are the default user's rules in a new table: every
// command, key and channel, no password.
func defaultRules() *Rules {
	r := newRules()
	for _, rule := range []string{"on", "nopass", "~*", "&*", "+@all"} {
		r.apply(rule)
	}
	return r
}

// Table is the users of a server and the log of denials. Its methods may
// be called from any goroutine.
type Table struct {
	mu    sync.Mutex
	users map[string]*User
	def   *User

	// Log records the commands and authentications denied.
	Log Log
}

// New returns a table holding the default user, allowed everything,
// without a password.
func New() *Table {
	t := &Table{users: make(map[string]*User)}
	t.def = newUser(DefaultName, defaultRules())
	t.users[DefaultName] = t.def
	t.Log.max = DefaultLogLen
	return t
}

// Default returns the default user.
func (t *Table) Default() *User { return t.def }

// DefaultOpen reports whether a connection that has not authenticated may
// run commands as the default user: whether that user is enabled and
// needs no password.
func (t *Table) DefaultOpen() bool {
	r := t.def.Rules()
	return r.enabled && r.nopass
}

// User returns the user named name, or nil.
func (t *Table) User(name string) *User {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.users[name]
}

// Authenticate returns the user named name if it is enabled and pass is
// one of its passwords.
func (t *Table) Authenticate(name, pass []byte) (*User, bool) {
	u := t.User(string(name))
	if u == nil {
		return nil, false
	}
	r := u.Rules()
	if !r.Enabled() || !r.CheckPassword(pass) {
		return nil, false
	}
	return u, true
}

// SetUser applies rules to the user named name, creating it if needed:
// all of them or, when one is invalid, none (the *RuleError says which).
func (t *Table) SetUser(name string, rules []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.users[name]
	var r *Rules
	if u != nil {
		r = u.Rules().clone()
	} else {
		r = newRules()
	}
	for _, rule := range rules {
		if err := r.apply(rule); err != nil {
			return err
		}
	}
	r.finish()
	if u == nil {
		t.users[name] = newUser(name, r)
		return nil
	}
	u.rules.Store(r)
	return nil
}

// DelUser deletes the users named names and returns those that existed,
// whose connections must be closed. The default user cannot be deleted:
// nothing is then deleted.
func (t *Table) DelUser(names []string) ([]*User, error) {
	if slices.Contains(names, DefaultName) {
		return nil, ErrDeleteDefault
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []*User
	for _, n := range names {
		if u := t.users[n]; u != nil {
			delete(t.users, n)
			gone = append(gone, u)
		}
	}
	return gone, nil
}

// Names returns the users' names in order.
func (t *Table) Names() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.users))
	for n := range t.users {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// List returns each user as ACL LIST and aclfiles show it: "user name
// rules", in name order.
func (t *Table) List() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.users))
	for n := range t.users {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "user " + n + " " + t.users[n].Rules().Describe()
	}
	return out
}

// SetDefaultPassword makes pass the default user's only password, or,
// when pass is empty, lets the default user in without one: what
// --requirepass and CONFIG SET requirepass do.
func (t *Table) SetDefaultPassword(pass string) {
	rules := []string{"nopass"}
	if pass != "" {
		rules = []string{"resetpass", ">" + pass}
	}
	if err := t.SetUser(DefaultName, rules); err != nil {
		panic("acl: password rules failed: " + err.Error())
	}
}

// Entry is one user and its rules, as an aclfile line gives them.
type Entry struct {
	Name  string
	Rules []string
}

// Replace makes entries the table's users, validated first: all of them
// or, when one is invalid, none. A user named twice is an error. The
// default user keeps its handle and takes its new rules (every permission
// and no password when entries do not name it); every other user is new,
// and the old ones are returned so that their connections are closed.
func (t *Table) Replace(entries []Entry) ([]*User, error) {
	users := make(map[string]*Rules, len(entries))
	for _, e := range entries {
		if _, dup := users[e.Name]; dup {
			return nil, &DuplicateError{Name: e.Name}
		}
		r := newRules()
		for _, rule := range e.Rules {
			if err := r.apply(rule); err != nil {
				return nil, err
			}
		}
		r.finish()
		users[e.Name] = r
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var old []*User
	for n, u := range t.users {
		if n != DefaultName {
			old = append(old, u)
		}
	}
	fresh := make(map[string]*User, len(users)+1)
	for n, r := range users {
		if n == DefaultName {
			continue
		}
		fresh[n] = newUser(n, r)
	}
	dr, ok := users[DefaultName]
	if !ok {
		dr = defaultRules()
		dr.finish()
	}
	t.def.rules.Store(dr)
	fresh[DefaultName] = t.def
	t.users = fresh
	return old, nil
}

// DuplicateError is an aclfile that names a user twice.
type DuplicateError struct{ Name string }

func (e *DuplicateError) Error() string {
	return "Duplicate user '" + e.Name + "' found"
}

// ValidName reports whether name may name a user in an aclfile: no
// spaces or control characters.
func ValidName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' })
}

// Apply makes entries the table's users, as Replace does, except that a
// user named in both keeps its handle and takes its new rules, so that
// its connections stay: what a cluster node does with each new state of
// the cluster's users. It returns the users that are gone.
func (t *Table) Apply(entries []Entry) ([]*User, error) {
	rules := make(map[string]*Rules, len(entries))
	for _, e := range entries {
		if _, dup := rules[e.Name]; dup {
			return nil, &DuplicateError{Name: e.Name}
		}
		r := newRules()
		for _, rule := range e.Rules {
			if err := r.apply(rule); err != nil {
				return nil, err
			}
		}
		r.finish()
		rules[e.Name] = r
	}
	if rules[DefaultName] == nil {
		rules[DefaultName] = defaultRules()
		rules[DefaultName].finish()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var gone []*User
	for n, u := range t.users {
		if rules[n] == nil {
			gone = append(gone, u)
			delete(t.users, n)
		}
	}
	for n, r := range rules {
		if u := t.users[n]; u != nil {
			u.rules.Store(r)
		} else {
			t.users[n] = newUser(n, r)
		}
	}
	return gone, nil
}
