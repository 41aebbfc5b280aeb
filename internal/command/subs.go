package command

import (
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/ascii"
)

// Sub is a subcommand of a container command (CONFIG GET, OBJECT
// ENCODING): its name in lower case, without the container's, and its
// arity, Redis's convention counting the container's name.
type Sub struct {
	Name  string
	Arity int
}

// SubError returns Redis's error for args, a command of s with a number of
// arguments its own arity accepts, when they name a subcommand s does not
// have (unknown is then true) or give a subcommand the wrong number of
// arguments; "" when they do neither or s has no subcommands. Redis
// checks both before a command runs or is queued in MULTI, as it checks
// the command's own arity.
func (s *Spec) SubError(args [][]byte) (msg string, unknown bool) {
	if len(s.Subs) == 0 || len(args) < 2 {
		return "", false
	}
	for i := range s.Subs {
		sub := &s.Subs[i]
		if !ascii.EqualFold(args[1], sub.Name) {
			continue
		}
		if sub.Arity >= 0 && len(args) != sub.Arity || sub.Arity < 0 && len(args) < -sub.Arity {
			return "ERR wrong number of arguments for '" + s.Name + "|" + sub.Name + "' command", false
		}
		return "", false
	}
	name := args[1]
	return "ERR unknown subcommand '" + cString(name[:min(len(name), 128)]) + "'. Try " + strings.ToUpper(s.Name) + " HELP.", true
}

// addRecordedSubs adds to s's subcommands, after those it is declared
// with, the ones of its COMMAND INFO entry recorded from redis-server
// (redisdocs_gen.go).
func addRecordedSubs(s *Spec) {
	info, ok := redisInfo[s.Name]
	if !ok {
		return
	}
	// The entry is an array of ten; the tenth is the subcommands' entries,
	// each an array that starts with the full name ("config|get") and the
	// arity.
	_, b := respHeader(info)
	for range 9 {
		b = skipRESP(b)
	}
	n, b := respHeader(b)
	for range n {
		entry := b
		_, b = respHeader(b)
		full, rest := respHeader(b)
		name := rest[:full]
		_, sub, _ := strings.Cut(name, "|")
		arity, _ := respHeader(rest[full+2:])
		s.Subs = append(s.Subs, Sub{Name: sub, Arity: arity})
		b = skipRESP(entry)
	}
}

// respHeader returns the number on the first line of the RESP3 value b (a
// length, a count or an integer) and what follows that line.
func respHeader(b string) (int, string) {
	end := strings.Index(b, "\r\n")
	n, _ := strconv.Atoi(b[1:end])
	return n, b[end+2:]
}

// skipRESP returns what follows the RESP3 value at the start of b, one of
// the types a recorded COMMAND INFO entry holds.
func skipRESP(b string) string {
	kind := b[0]
	n, rest := respHeader(b)
	switch kind {
	case '$':
		return rest[n+2:]
	case '*', '~':
	case '%':
		n *= 2
	default: // '+', ':'
		return rest
	}
	for range n {
		rest = skipRESP(rest)
	}
	return rest
}
