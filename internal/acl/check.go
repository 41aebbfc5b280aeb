package acl

import (
	"strconv"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/glob"
)

// Reason says why a command was denied, as ACL LOG names it.
type Reason uint8

// The reasons of a denial; Allowed when there is none.
const (
	Allowed Reason = iota
	DeniedCommand
	DeniedKey
	DeniedChannel
	DeniedAuth
)

// String returns the reason as ACL LOG's reason field shows it.
func (r Reason) String() string {
	switch r {
	case DeniedCommand:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedChannel:
		return "channel"
	case DeniedAuth:
		return "auth"
	}
	return "allowed"
}

// Denial is the outcome of a check that failed: why, and the argument
// that was denied (the command's full name, a key or a channel).
type Denial struct {
	Reason Reason
	Object string
}

// Message returns the NOPERM error Redis replies for d.
func (d Denial) Message() string {
	switch d.Reason {
	case DeniedKey:
		return "NOPERM this user has no permissions to access one of the keys used as arguments"
	case DeniedChannel:
		return "NOPERM this user has no permissions to access one of the channels used as arguments"
	}
	return "NOPERM this user has no permissions to run the '" + d.Object + "' command"
}

// Check reports whether r allows the command args (args[0] its name, in
// any case) with its keys and channels. noAuth commands (AUTH, HELLO…) are
// always allowed, as in Redis. A command the ACLs do not know is allowed:
// the server answers it as unknown. Check may be called from any
// goroutine.
func (r *Rules) Check(args [][]byte, noAuth bool) (Denial, bool) {
	if r.all {
		return Denial{}, true
	}
	c := lookup(args)
	if c == nil {
		return Denial{}, true
	}
	if !r.allCommands && !noAuth && !r.bit(c.id) && !r.firstArgAllowed(c, args) {
		return Denial{Reason: DeniedCommand, Object: c.name}, false
	}
	if !r.allKeys && len(c.keys) > 0 {
		if d, ok := r.checkKeys(c, args); !ok {
			return d, false
		}
	}
	if !r.allChannels {
		if d, ok := r.checkChannels(c, args); !ok {
			return d, false
		}
	}
	return Denial{}, true
}

func (r *Rules) firstArgAllowed(c *cmd, args [][]byte) bool {
	if len(args) < 2 {
		return false
	}
	var buf [32]byte
	arg := lowerName(buf[:0], args[1])
	for _, a := range r.firstArgs[c.id] {
		if a == string(arg) {
			return true
		}
	}
	return false
}

func (r *Rules) checkKeys(c *cmd, args [][]byte) (Denial, bool) {
	for i := range c.keys {
		ks := &c.keys[i]
		if ks.Flags&keyNotKey != 0 {
			continue
		}
		first, last, step, ok := ks.find(args)
		if !ok && ks.Unknown && ks.Flags&keyWrite != 0 && c.name == "sort" {
			// The destination SORT's key specs cannot place, as Redis's
			// sortGetKeys finds it.
			first, ok = command.SortStoreKey(args), true
			last, step = first, 1
		}
		if !ok || first < 0 {
			continue
		}
		var need Perm
		if ks.Flags&keyAccess != 0 {
			need |= PermRead
		}
		if ks.Flags&keyWrite != 0 {
			need |= PermWrite
		}
		if ks.Flags&keyVariable != 0 {
			need = variableNeed(c.name, args)
		}
		for j := first; j <= last && j < len(args); j += step {
			if !r.keyAllowed(args[j], need) {
				return Denial{Reason: DeniedKey, Object: string(args[j])}, false
			}
		}
	}
	return Denial{}, true
}

// variableNeed returns what the key of SET or BITFIELD needs, which
// depends on the arguments, as Redis's setGetKeys and bitfieldGetKeys
// tell: SET reads its key only with GET; BITFIELD writes it only with SET
// or INCRBY (or a syntax error, taken as a write).
func variableNeed(name string, args [][]byte) Perm {
	switch name {
	case "set":
		for _, a := range args[min(3, len(args)):] {
			if equalFold(a, "GET") {
				return PermAll
			}
		}
		return PermWrite
	case "bitfield":
		for i := 2; i < len(args); i++ {
			rem := len(args) - i - 1
			switch {
			case equalFold(args[i], "GET") && rem >= 2:
				i += 2
			case (equalFold(args[i], "SET") || equalFold(args[i], "INCRBY")) && rem >= 3:
				return PermAll
			case equalFold(args[i], "OVERFLOW") && rem >= 1:
				i++
			default:
				return PermAll
			}
		}
		return PermRead
	}
	return PermAll
}

// keyAllowed reports whether a pattern with at least the permissions need
// matches key.
func (r *Rules) keyAllowed(key []byte, need Perm) bool {
	for _, k := range r.keys {
		if k.perm&need == need && glob.Match(k.glob, key) {
			return true
		}
	}
	return false
}

// find returns the positions of the keys a key spec gives in args: from
// first to last by step, as Redis's getKeysUsingKeySpecs finds them. ok
// is false when the spec gives none.
func (ks *keySpec) find(args [][]byte) (first, last, step int, ok bool) {
	if ks.Unknown {
		return 0, 0, 0, false
	}
	argc := len(args)
	if ks.Keyword == "" {
		first = ks.Index
	} else {
		start, end, dir := ks.StartFrom, argc-1, 1
		if ks.StartFrom <= 0 {
			start, end, dir = argc+ks.StartFrom, 0, -1
		}
		first = -1
		for i := start; i != end+dir; i += dir {
			if i >= argc || i < 1 {
				break
			}
			if equalFold(args[i], ks.Keyword) {
				first = i + 1
				break
			}
		}
		if first < 0 {
			return 0, 0, 0, false
		}
	}
	if first >= argc {
		return 0, 0, 0, false
	}
	if ks.KeyNum {
		at := first + ks.KeyNumIdx
		if at >= argc {
			return 0, 0, 0, false
		}
		n, err := strconv.Atoi(string(args[at]))
		if err != nil || n <= 0 {
			return 0, 0, 0, false
		}
		first += ks.FirstKey
		step = max(ks.KeyStep, 1)
		return first, first + (n-1)*step, step, true
	}
	step = max(ks.KeyStep, 1)
	switch {
	case ks.LastKey >= 0:
		last = first + ks.LastKey
	case ks.Limit <= 1:
		last = argc + ks.LastKey
	default:
		last = first + (argc-first)/ks.Limit + ks.LastKey
	}
	return first, last, step, true
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		d := s[i]
		if 'a' <= d && d <= 'z' {
			d -= 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// checkChannels checks the channels of the publish and subscribe commands:
// a channel must match one of the user's patterns; a pattern of
// PSUBSCRIBE must equal one of them.
func (r *Rules) checkChannels(c *cmd, args [][]byte) (Denial, bool) {
	var chans [][]byte
	pattern := false
	switch c.name {
	case "publish", "spublish":
		chans = args[1:min(2, len(args))]
	case "subscribe", "ssubscribe":
		chans = args[1:]
	case "psubscribe":
		chans, pattern = args[1:], true
	default:
		return Denial{}, true
	}
	for _, ch := range chans {
		if !r.channelAllowed(ch, pattern) {
			return Denial{Reason: DeniedChannel, Object: string(ch)}, false
		}
	}
	return Denial{}, true
}

// AllChannels reports whether the user may use every channel.
func (r *Rules) AllChannels() bool { return r.allChannels }

// ChannelAllowed reports whether the user may subscribe to channel name,
// or to the pattern name when pattern is set.
func (r *Rules) ChannelAllowed(name string, pattern bool) bool {
	return r.allChannels || r.channelAllowed([]byte(name), pattern)
}

func (r *Rules) channelAllowed(ch []byte, pattern bool) bool {
	for _, p := range r.channels {
		if pattern && p == string(ch) || !pattern && glob.MatchString(p, string(ch)) {
			return true
		}
	}
	return false
}
