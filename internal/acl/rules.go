package acl

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
)

// Perm is what a key pattern lets a user do with the keys it matches.
type Perm uint8

// Key permissions: %R~, %W~, and both (~).
const (
	PermRead Perm = 1 << iota
	PermWrite
	PermAll = PermRead | PermWrite
)

type keyPattern struct {
	pattern string
	glob    []byte // pattern, for matching without a conversion; never changed
	perm    Perm
}

// Sentinel errors of rules, their texts Redis's.
var (
	//lint:ignore ST1005 Redis's reply text
	ErrSyntax = errors.New("Syntax error")
	//lint:ignore ST1005 Redis's reply text
	ErrUnknownCommand = errors.New("Unknown command or category name in ACL")
	//lint:ignore ST1005 Redis's reply text
	ErrBadHash = errors.New("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	//lint:ignore ST1005 Redis's reply text
	ErrNoSuchPassword = errors.New("The password you are trying to remove from the user does not exist")
	//lint:ignore ST1005 Redis's reply text
	ErrKeyAfterAll = errors.New("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
	//lint:ignore ST1005 Redis's reply text
	ErrChannelAfterAll = errors.New("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
	//lint:ignore ST1005 Redis's reply text
	ErrFirstArgOfSub = errors.New("Allowing first-arg of a subcommand is not supported")
	//lint:ignore ST1005 Redis's reply text
	ErrSelectors = errors.New("Selectors are not supported")
)

// RuleError is an invalid rule of ACL SETUSER or an aclfile.
type RuleError struct {
	Rule string
	Err  error
}

func (e *RuleError) Error() string {
	return "Error in ACL SETUSER modifier '" + e.Rule + "': " + e.Err.Error()
}

func (e *RuleError) Unwrap() error { return e.Err }

// sanitize is the sanitize-payload flag: unset, sanitize-payload or
// skip-sanitize-payload. It is kept and shown; RESTORE does not use it.
type sanitize uint8

const (
	sanitizeUnset sanitize = iota
	sanitizeOn
	sanitizeSkip
)

// Rules are what a user may do: an immutable value, replaced as a whole
// when the user changes, so that it may be read by any goroutine.
type Rules struct {
	enabled   bool
	nopass    bool
	sanitize  sanitize
	passwords [][sha256.Size]byte // in the order added

	// allCommands is Redis's ALLCOMMANDS flag: set by +@all, cleared by
	// any rule that takes a command away. future is its reserved command
	// bit: set by +@all, cleared only by -@all; it makes the description
	// start from +@all.
	allCommands bool
	future      bool
	allowed     []uint64         // bit id: the command of that id may run
	firstArgs   map[int][]string // command id → first arguments allowed without the command
	allKeys     bool             // ~*: every key
	keys        []keyPattern     // in the order added
	allChannels bool             // &*: every channel
	channels    []string         // in the order added

	// all is set when every command, key and channel is allowed: the
	// checks are then skipped.
	all bool
}

// newRules returns the rules of a user just created: off, no password,
// no command, key or channel.
func newRules() *Rules {
	return &Rules{allowed: make([]uint64, (len(commands().cmds)+63)/64)}
}

// clone returns a copy of r that may be changed.
func (r *Rules) clone() *Rules {
	n := *r
	n.passwords = slices.Clone(r.passwords)
	n.allowed = slices.Clone(r.allowed)
	n.keys = slices.Clone(r.keys)
	n.channels = slices.Clone(r.channels)
	if r.firstArgs != nil {
		n.firstArgs = make(map[int][]string, len(r.firstArgs))
		for id, a := range r.firstArgs {
			n.firstArgs[id] = slices.Clone(a)
		}
	}
	return &n
}

// ParseRules returns the rules desc stands for, desc being what Describe
// returned for them.
func ParseRules(desc string) (*Rules, error) {
	r := newRules()
	for _, rule := range strings.Fields(desc) {
		if err := r.apply(rule); err != nil {
			return nil, err
		}
	}
	r.finish()
	return r, nil
}

// Enabled reports whether the user may authenticate.
func (r *Rules) Enabled() bool { return r.enabled }

// NoPass reports whether the user needs no password.
func (r *Rules) NoPass() bool { return r.nopass }

// All reports whether the user may run every command on every key and
// channel: the checks are then skipped.
func (r *Rules) All() bool { return r.all }

// AllKeysReadable reports whether the user may read every key (~*, or a
// pattern * with read permission): Redis's test before SORT reads keys
// through BY and GET patterns, which the command's arguments do not name.
func (r *Rules) AllKeysReadable() bool {
	if r.allKeys {
		return true
	}
	for _, k := range r.keys {
		if k.pattern == "*" && k.perm&PermRead != 0 {
			return true
		}
	}
	return false
}

// CheckPassword reports whether pass is one of the user's passwords, or
// whether the user needs none. Hashes are compared, in constant time.
func (r *Rules) CheckPassword(pass []byte) bool {
	if r.nopass {
		return true
	}
	h := sha256.Sum256(pass)
	ok := 0
	for i := range r.passwords {
		ok |= constantEq(r.passwords[i][:], h[:])
	}
	return ok == 1
}

func constantEq(a, b []byte) int {
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	if v == 0 {
		return 1
	}
	return 0
}

func (r *Rules) bit(id int) bool { return r.allowed[id/64]&(1<<(id%64)) != 0 }

func (r *Rules) setBit(id int, on bool) {
	if on {
		r.allowed[id/64] |= 1 << (id % 64)
	} else {
		r.allowed[id/64] &^= 1 << (id % 64)
		r.allCommands = false
	}
}

// change allows or denies c and its subcommands, dropping c's first
// arguments, as Redis's ACLChangeSelectorPerm.
func (r *Rules) change(c *cmd, on bool) {
	r.setBit(c.id, on)
	delete(r.firstArgs, c.id)
	for _, s := range c.sorted {
		r.setBit(s.id, on)
	}
}

// changeCategory allows or denies every command in cat, with their
// subcommands, and the subcommands in cat.
func (r *Rules) changeCategory(cat Category, on bool) {
	for _, c := range commands().top {
		if c.cats&cat != 0 {
			r.change(c, on)
		}
		for _, s := range c.sorted {
			if s.cats&cat != 0 {
				r.change(s, on)
			}
		}
	}
}

func (r *Rules) setAllCommands(on bool) {
	for i := range r.allowed {
		r.allowed[i] = 0
	}
	if on {
		for id := range commands().cmds {
			r.allowed[id/64] |= 1 << (id % 64)
		}
	}
	r.allCommands, r.future = on, on
	r.firstArgs = nil
}

// apply changes r by one rule of ACL SETUSER.
func (r *Rules) apply(rule string) error {
	if err := r.applyRule(rule); err != nil {
		return &RuleError{Rule: rule, Err: err}
	}
	return nil
}

func (r *Rules) applyRule(op string) error {
	switch strings.ToLower(op) {
	case "":
		return nil
	case "on":
		r.enabled = true
		return nil
	case "off":
		r.enabled = false
		return nil
	case "skip-sanitize-payload":
		r.sanitize = sanitizeSkip
		return nil
	case "sanitize-payload":
		r.sanitize = sanitizeOn
		return nil
	case "nopass":
		r.nopass = true
		r.passwords = nil
		return nil
	case "resetpass":
		r.nopass = false
		r.passwords = nil
		return nil
	case "allkeys":
		r.allKeys, r.keys = true, nil
		return nil
	case "resetkeys":
		r.allKeys, r.keys = false, nil
		return nil
	case "allchannels":
		r.allChannels, r.channels = true, nil
		return nil
	case "resetchannels":
		r.allChannels, r.channels = false, nil
		return nil
	case "allcommands", "+@all":
		r.setAllCommands(true)
		return nil
	case "nocommands", "-@all":
		r.setAllCommands(false)
		return nil
	case "reset":
		*r = *newRules()
		r.sanitize = sanitizeOn
		return nil
	}
	switch op[0] {
	case '>':
		r.addPassword(sha256.Sum256([]byte(op[1:])))
		return nil
	case '#':
		h, ok := parseHash(op[1:])
		if !ok {
			return ErrBadHash
		}
		r.addPassword(h)
		return nil
	case '<':
		return r.removePassword(sha256.Sum256([]byte(op[1:])))
	case '!':
		h, ok := parseHash(op[1:])
		if !ok {
			return ErrBadHash
		}
		return r.removePassword(h)
	case '~', '%':
		return r.addKeys(op)
	case '&':
		if r.allChannels {
			return ErrChannelAfterAll
		}
		if hasSpace(op[1:]) {
			return ErrSyntax
		}
		if op == "&*" {
			r.allChannels, r.channels = true, nil
			return nil
		}
		if !slices.Contains(r.channels, op[1:]) {
			r.channels = append(r.channels, op[1:])
		}
		return nil
	case '(':
		return ErrSelectors
	case '+', '-':
		return r.applyCommand(op)
	}
	return ErrSyntax
}

// hasSpace reports whether a pattern holds a space or NUL, which would not
// survive an aclfile (Redis's ACLStringHasSpaces).
func hasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r', 0:
			return true
		}
	}
	return false
}

func (r *Rules) addPassword(h [sha256.Size]byte) {
	r.nopass = false
	if !slices.Contains(r.passwords, h) {
		r.passwords = append(r.passwords, h)
	}
}

func (r *Rules) removePassword(h [sha256.Size]byte) error {
	i := slices.Index(r.passwords, h)
	if i < 0 {
		return ErrNoSuchPassword
	}
	r.passwords = slices.Delete(r.passwords, i, i+1)
	return nil
}

// parseHash parses a SHA-256 in lower-case hex, as #hash and !hash give it.
func parseHash(s string) (h [sha256.Size]byte, ok bool) {
	if len(s) != 2*sha256.Size {
		return h, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return h, false
		}
	}
	hex.Decode(h[:], []byte(s))
	return h, true
}

// addKeys applies ~pattern or %R~pattern, %W~pattern, %RW~pattern.
func (r *Rules) addKeys(op string) error {
	if r.allKeys {
		return ErrKeyAfterAll
	}
	perm, i := PermAll, 1
	if op[0] == '%' {
		perm = 0
		for ; i < len(op); i++ {
			c := op[i]
			if c == 'R' || c == 'r' {
				if perm&PermRead != 0 {
					return ErrSyntax
				}
				perm |= PermRead
			} else if c == 'W' || c == 'w' {
				if perm&PermWrite != 0 {
					return ErrSyntax
				}
				perm |= PermWrite
			} else if c == '~' {
				i++
				break
			} else {
				return ErrSyntax
			}
		}
		if perm == 0 {
			return ErrSyntax
		}
	}
	pat := op[i:]
	if hasSpace(pat) {
		return ErrSyntax
	}
	if pat == "*" && perm == PermAll {
		r.allKeys, r.keys = true, nil
		return nil
	}
	for j := range r.keys {
		if r.keys[j].pattern == pat {
			r.keys[j].perm |= perm
			return nil
		}
	}
	r.keys = append(r.keys, keyPattern{pattern: pat, glob: []byte(pat), perm: perm})
	return nil
}

// applyCommand applies +cmd, -cmd, +cmd|sub, -cmd|sub, +cmd|firstarg,
// +@category and -@category.
func (r *Rules) applyCommand(op string) error {
	on := op[0] == '+'
	name := strings.ToLower(op[1:])
	if strings.HasPrefix(name, "@") {
		cat := categoryByName(name[1:])
		if cat == 0 {
			return ErrUnknownCommand
		}
		r.changeCategory(cat, on)
		return nil
	}
	if c := commands().byName[name]; c != nil {
		r.change(c, on)
		return nil
	}
	bar := strings.LastIndexByte(name, '|')
	if !on || bar < 0 {
		return ErrUnknownCommand
	}
	c := commands().byName[name[:bar]]
	switch {
	case c == nil:
		return ErrUnknownCommand
	case c.parent != nil:
		return ErrFirstArgOfSub
	case bar == len(name)-1:
		return ErrSyntax
	case c.subs != nil:
		return ErrUnknownCommand
	}
	arg := name[bar+1:]
	if hasSpace(arg) {
		return ErrSyntax
	}
	if r.firstArgs == nil {
		r.firstArgs = make(map[int][]string)
	}
	if !slices.Contains(r.firstArgs[c.id], arg) {
		r.firstArgs[c.id] = append(r.firstArgs[c.id], arg)
	}
	return nil
}

// finish computes what is derived from the rules once they are applied.
func (r *Rules) finish() {
	r.all = r.allCommands && r.allKeys && r.allChannels
}

// Flags returns the user's flags as ACL GETUSER lists them.
func (r *Rules) Flags() []string {
	var f []string
	if r.enabled {
		f = append(f, "on")
	} else {
		f = append(f, "off")
	}
	if r.nopass {
		f = append(f, "nopass")
	}
	switch r.sanitize {
	case sanitizeSkip:
		f = append(f, "skip-sanitize-payload")
	case sanitizeOn:
		f = append(f, "sanitize-payload")
	}
	return f
}

// Passwords returns the SHA-256 of each password in lower-case hex.
func (r *Rules) Passwords() []string {
	out := make([]string, len(r.passwords))
	for i, h := range r.passwords {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

// KeysRule returns the key patterns as ACL GETUSER shows them.
func (r *Rules) KeysRule() string {
	if r.allKeys {
		return "~*"
	}
	parts := make([]string, len(r.keys))
	for i, k := range r.keys {
		switch k.perm {
		case PermRead:
			parts[i] = "%R~" + k.pattern
		case PermWrite:
			parts[i] = "%W~" + k.pattern
		default:
			parts[i] = "~" + k.pattern
		}
	}
	return strings.Join(parts, " ")
}

// ChannelsRule returns the channel patterns as ACL GETUSER shows them.
func (r *Rules) ChannelsRule() string {
	if r.allChannels {
		return "&*"
	}
	parts := make([]string, len(r.channels))
	for i, c := range r.channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

// CommandsRule returns rules that give the user's commands, as Redis
// 7.0 writes them: +@all or -@all, the categories that fit best, then
// the commands and subcommands that differ, in name order (Redis's order
// there is that of its hash table), then the first arguments.
func (r *Rules) CommandsRule() string {
	var b strings.Builder
	additive := !r.future
	fake := newRules()
	if additive {
		b.WriteString("-@all")
	} else {
		b.WriteString("+@all")
		fake.setAllCommands(true)
	}
	temp := r.clone()
	applied := make([]bool, len(categoryNames))
	for {
		best, minDiff, maxSame := -1, int(^uint(0)>>1), 0
		for j := range categoryNames {
			if applied[j] {
				continue
			}
			on, off := temp.countCategory(1 << j)
			diff, same := off, on
			if !additive {
				diff, same = on, off
			}
			if same > diff && (diff < minDiff || diff == minDiff && same > maxSame) {
				best, minDiff, maxSame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		sign := "+@"
		if !additive {
			sign = "-@"
		}
		b.WriteString(" " + sign + categoryNames[best])
		fake.changeCategory(1<<best, additive)
		temp.changeCategory(1<<best, !additive)
		applied[best] = true
	}
	for _, c := range commands().top {
		r.describeDiff(&b, fake, c)
		for _, s := range c.sorted {
			r.describeDiff(&b, fake, s)
		}
		if !r.bit(c.id) {
			for _, a := range r.firstArgs[c.id] {
				b.WriteString(" +" + c.name + "|" + a)
			}
		}
	}
	return b.String()
}

func (r *Rules) describeDiff(b *strings.Builder, fake *Rules, c *cmd) {
	on := r.bit(c.id)
	if on == fake.bit(c.id) {
		return
	}
	if on {
		b.WriteString(" +")
	} else {
		b.WriteString(" -")
	}
	b.WriteString(c.name)
	fake.change(c, on)
}

// countCategory counts the commands and subcommands of cat allowed and
// denied.
func (r *Rules) countCategory(cat Category) (on, off int) {
	for _, c := range commands().cmds {
		if c.cats&cat == 0 {
			continue
		}
		if r.bit(c.id) {
			on++
		} else {
			off++
		}
	}
	return on, off
}

// Describe returns the user's rules as ACL LIST and aclfiles write them
// (without "user name").
func (r *Rules) Describe() string {
	parts := r.Flags()
	for _, p := range r.Passwords() {
		parts = append(parts, "#"+p)
	}
	if k := r.KeysRule(); k != "" {
		parts = append(parts, k)
	}
	if !r.allChannels {
		parts = append(parts, "resetchannels")
	}
	if c := r.ChannelsRule(); c != "" {
		parts = append(parts, c)
	}
	parts = append(parts, r.CommandsRule())
	return strings.Join(parts, " ")
}
