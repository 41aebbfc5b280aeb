package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/glob"
)

// Kind is the type of a parameter's value, which decides how it is parsed
// and what CONFIG SET answers to a bad one.
type Kind uint8

// Kinds of parameters.
const (
	Bool    Kind = iota // yes or no
	Int                 // a decimal integer within a range
	Memory              // a memory value: 100, 1kb, 5mb …, within a range
	Enum                // one of a list of names
	String              // any text
	Special             // parsed by the parameter's own Set
)

// Param is one configuration parameter of a T: its names, how to read it,
// and, when it can change at run time, how to set it.
type Param[T any] struct {
	// Name is the parameter's name as CONFIG GET reports it: Redis's name
	// where Redis has the setting.
	Name string
	// Aliases are other names CONFIG accepts for it (Redis's older names,
	// and the server's flag name when it differs).
	Aliases []string
	// Kind is the value's type.
	Kind Kind
	// Immutable parameters are reported but cannot be set at run time.
	Immutable bool
	// Get returns the value as CONFIG GET reports it.
	Get func(*T) string
	// Set parses v into t, or returns an error whose text CONFIG SET
	// reports after its "- ". It must leave t unchanged on error. It is nil
	// for an immutable parameter.
	Set func(t *T, v string) error
}

// Table is a set of parameters. Build it with NewTable; it is immutable
// afterwards and safe for concurrent use.
type Table[T any] struct {
	params []Param[T]
	byName map[string]int // every name and alias, lower case
}

// NewTable returns a table of params, which must have distinct names.
func NewTable[T any](params ...Param[T]) *Table[T] {
	t := &Table[T]{params: params, byName: make(map[string]int)}
	for i, p := range params {
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if _, dup := t.byName[n]; dup {
				panic("config: duplicate parameter name " + n)
			}
			t.byName[n] = i
		}
	}
	return t
}

// Params returns the parameters, in the table's order.
func (t *Table[T]) Params() []Param[T] { return t.params }

// Lookup returns the parameter with the given name or alias, in any letter
// case.
func (t *Table[T]) Lookup(name string) (*Param[T], bool) {
	i, ok := t.byName[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return &t.params[i], true
}

// Get returns the name and value of every parameter one of patterns (glob
// patterns, any letter case) matches, by its name or one of its aliases, as
// CONFIG GET answers: a parameter matched by several names is reported under
// each.
func (t *Table[T]) Get(v *T, patterns [][]byte) [][2]string {
	var out [][2]string
	for _, p := range t.params {
		val, got := "", false
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			for _, pat := range patterns {
				if glob.MatchFold(pat, []byte(n)) {
					if !got {
						val, got = p.Get(v), true
					}
					out = append(out, [2]string{n, val})
					break
				}
			}
		}
	}
	return out
}

// SetError is why CONFIG SET refused its arguments: Error returns Redis's
// reply text, without the leading "-".
type SetError struct {
	Name    string // the name as given, or in lower case for a bad value
	Unknown bool   // no parameter has the name
	Reason  string
}

func (e *SetError) Error() string {
	if e.Unknown {
		return "ERR Unknown option or number of arguments for CONFIG SET - '" + e.Name + "'"
	}
	return "ERR CONFIG SET failed (possibly related to argument '" + e.Name + "') - " + e.Reason
}

// Set applies CONFIG SET's name and value pairs to t, all of them or none,
// checking them as Redis 7.0 does: first that every name is known, can be
// set and is not given twice (the first unknown name is reported before
// anything else), then each value in order. On a *SetError t is unchanged.
func (t *Table[T]) Set(v *T, pairs []string) error {
	if len(pairs)%2 != 0 {
		return errors.New("config: odd number of arguments")
	}
	var unknown, bad *SetError
	seen := make(map[int]bool)
	for i := 0; i < len(pairs); i += 2 {
		name := pairs[i]
		j, ok := t.byName[strings.ToLower(name)]
		switch {
		case !ok:
			if unknown == nil {
				unknown = &SetError{Name: name, Unknown: true}
			}
		case bad != nil || unknown != nil:
		case t.params[j].Immutable:
			bad = &SetError{Name: name, Reason: "can't set immutable config"}
		case seen[j]:
			bad = &SetError{Name: name, Reason: "duplicate parameter"}
		}
		seen[j] = true
	}
	if unknown != nil {
		return unknown
	}
	if bad != nil {
		return bad
	}
	next := *v
	for i := 0; i < len(pairs); i += 2 {
		name := strings.ToLower(pairs[i])
		p := &t.params[t.byName[name]]
		if err := p.Set(&next, pairs[i+1]); err != nil {
			return &SetError{Name: name, Reason: err.Error()}
		}
	}
	*v = next
	return nil
}

// Settings returns what Rewrite needs to write the parameters that can
// change at run time at their values in cur: a parameter the file leaves
// out is written unless its value is the one in def. Memory values are
// SetArgs is Set of the name and value pairs of a CONFIG SET command.
func (t *Table[T]) SetArgs(v *T, pairs [][]byte) error {
	args := make([]string, len(pairs))
	for i, p := range pairs {
		args[i] = string(p)
	}
	return t.Set(v, args)
}

// SetOne sets the parameter name to value in v, as a configuration file
// sets it before the server starts: an unknown or immutable name is an
// error, and so is a value the parameter refuses, named with it.
func (t *Table[T]) SetOne(v *T, name, value string) error {
	p, ok := t.Lookup(name)
	switch {
	case !ok:
		return fmt.Errorf("unknown parameter %q", name)
	case p.Immutable:
		return fmt.Errorf("%s cannot be set: CONFIG GET reports it for tools that ask", name)
	}
	if err := p.Set(v, value); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// written with units (FormatMemory), special ones as separate arguments.
func (t *Table[T]) Settings(cur, def *T) []Setting {
	var out []Setting
	for _, p := range t.params {
		if p.Immutable || p.Kind == Special && p.Get(cur) == "" {
			continue
		}
		val := p.Get(cur)
		args := []string{val}
		switch p.Kind {
		case Special:
			args = strings.Fields(val)
		case Memory:
			if n, err := strconv.ParseInt(val, 10, 64); err == nil {
				args[0] = FormatMemory(n)
			}
		}
		set := p.Set
		out = append(out, Setting{
			Name: p.Name, Aliases: p.Aliases, Args: args,
			Same: func(a []string) bool {
				if a == nil {
					return p.Get(def) == val
				}
				probe := *cur
				return set(&probe, strings.Join(a, " ")) == nil && p.Get(&probe) == val
			},
		})
	}
	return out
}

// MaxBytes is the largest size the server's flags and configuration file
// take (2^62 bytes): memory parameters stop there, so that what CONFIG
// REWRITE writes can be read back.
const MaxBytes = 1 << 62

// Errors of the values of each Kind, Redis's texts.
var (
	ErrBool   = errors.New("argument must be 'yes' or 'no'")
	ErrInt    = errors.New("argument couldn't be parsed into an integer")
	ErrMemory = errors.New("argument must be a memory value")
)

// RangeError is a number outside its parameter's range.
type RangeError struct{ Min, Max int64 }

func (e *RangeError) Error() string {
	return "argument must be between " + strconv.FormatInt(e.Min, 10) + " and " + strconv.FormatInt(e.Max, 10) + " inclusive"
}

// EnumError is a value that is none of its parameter's names.
type EnumError struct{ Names []string }

func (e *EnumError) Error() string {
	return "argument(s) must be one of the following: " + strings.Join(e.Names, ", ")
}

// ParseBool parses yes or no, in any letter case.
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, ErrBool
}

// FormatBool writes b as yes or no.
func FormatBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ParseInt parses a decimal integer between lo and hi. A number beyond 64
// bits cannot be parsed, as for Redis's strtoll.
func ParseInt(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, ErrInt
	}
	if n < lo || n > hi {
		return 0, &RangeError{lo, hi}
	}
	return n, nil
}

// ParseMemory parses a memory value between lo and hi: digits followed by
// nothing, b, k, kb, m, mb, g or gb in any letter case (k is 1000, kb 1024,
// and so on), as Redis's memtoull reads it. A sign is not a memory value.
func ParseMemory(v string, lo, hi int64) (int64, error) {
	u, ok := MemToUint(v)
	if !ok {
		return 0, ErrMemory
	}
	if u > uint64(math.MaxInt64) || int64(u) < lo || int64(u) > hi {
		return 0, &RangeError{lo, hi}
	}
	return int64(u), nil
}

// MemToUint parses a memory value as Redis's memtoull does: digits followed
// by nothing, b, k, kb, m, mb, g or gb in any letter case; no sign, no
// blanks, and nothing at all means 0. A number beyond 64 bits saturates, as
// strtoull does.
func MemToUint(s string) (uint64, bool) {
	digits := 0
	for digits < len(s) && '0' <= s[digits] && s[digits] <= '9' {
		digits++
	}
	var mul uint64
	switch strings.ToLower(s[digits:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if digits >= 128 {
		return 0, false
	}
	var n uint64
	for _, c := range s[:digits] {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			n = math.MaxUint64
			break
		}
		n = n*10 + d
	}
	if n > math.MaxUint64/mul {
		return 0, false
	}
	return n * mul, true
}

// FormatMemory writes a memory value as Redis writes one into a
// configuration file: in gb, mb or kb when it is a whole number of them,
// else in bytes.
func FormatMemory(n int64) string {
	for _, u := range []struct {
		unit string
		mul  int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}} {
		if n != 0 && n%u.mul == 0 {
			return strconv.FormatInt(n/u.mul, 10) + u.unit
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseEnum returns the index of v, in any letter case, among names.
func ParseEnum(v string, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(v, n) {
			return i, nil
		}
	}
	return 0, &EnumError{names}
}

// BoolParam returns a yes/no parameter stored in the bool field returns.
func BoolParam[T any](name string, field func(*T) *bool) Param[T] {
	return Param[T]{
		Name: name, Kind: Bool,
		Get: func(t *T) string { return FormatBool(*field(t)) },
		Set: func(t *T, v string) error {
			b, err := ParseBool(v)
			if err == nil {
				*field(t) = b
			}
			return err
		},
	}
}

// IntParam returns an integer parameter between lo and hi stored in the
// int or int64 field returns.
func IntParam[T any, N int | int64](name string, lo, hi int64, field func(*T) *N) Param[T] {
	return Param[T]{
		Name: name, Kind: Int,
		Get: func(t *T) string { return strconv.FormatInt(int64(*field(t)), 10) },
		Set: func(t *T, v string) error {
			n, err := ParseInt(v, lo, hi)
			if err == nil {
				*field(t) = N(n)
			}
			return err
		},
	}
}

// SecondsParam returns a duration parameter written in whole seconds, 0 to
// 2^31-1, as Redis's timeout.
func SecondsParam[T any](name string, field func(*T) *time.Duration) Param[T] {
	return Param[T]{
		Name: name, Kind: Int,
		Get: func(t *T) string { return strconv.FormatInt(int64(*field(t)/time.Second), 10) },
		Set: func(t *T, v string) error {
			n, err := ParseInt(v, 0, math.MaxInt32)
			if err == nil {
				*field(t) = time.Duration(n) * time.Second
			}
			return err
		},
	}
}

// MemoryParam returns a memory parameter between lo and hi stored in the
// int64 field returns.
func MemoryParam[T any](name string, lo, hi int64, field func(*T) *int64) Param[T] {
	return Param[T]{
		Name: name, Kind: Memory,
		Get: func(t *T) string { return strconv.FormatInt(*field(t), 10) },
		Set: func(t *T, v string) error {
			n, err := ParseMemory(v, lo, hi)
			if err == nil {
				*field(t) = n
			}
			return err
		},
	}
}

// ReadOnly returns an immutable parameter whose value get reports.
func ReadOnly[T any](name string, get func(*T) string) Param[T] {
	return Param[T]{Name: name, Kind: String, Immutable: true, Get: get}
}

// WithAliases returns p with the given aliases.
func (p Param[T]) WithAliases(aliases ...string) Param[T] {
	p.Aliases = aliases
	return p
}
