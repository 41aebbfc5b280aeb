package acl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

// FileError is an aclfile that cannot be loaded: Msg lists its problems
// as Redis 7.0 does, each naming the file and line.
type FileError struct{ Msg string }

func (e *FileError) Error() string { return e.Msg }

// errNoChange ends the message of an aclfile that was not loaded.
const errNoChange = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"

// ParseFile parses an aclfile, name being its path for the messages: one
// "user <name> <rule>…" per line, words separated by single spaces, blank
// lines skipped, as Redis 7.0 reads it (no comments). Every rule is
// checked: the entries are returned only when the whole file is valid,
// otherwise a *FileError lists each problem.
func ParseFile(name string, data []byte) ([]Entry, error) {
	var errs strings.Builder
	var entries []Entry
	seen := make(map[string]bool)
	for i, line := range strings.Split(string(data), "\n") {
		ln := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" {
			continue
		}
		argv := strings.Split(line, " ")
		if argv[0] != "user" || len(argv) < 2 {
			fmt.Fprintf(&errs, "%s:%d should start with user keyword followed by the username. ", name, ln)
			continue
		}
		user := argv[1]
		if !ValidName(user) {
			fmt.Fprintf(&errs, "'%s:%d: username '%s' contains invalid characters. ", name, ln, user)
			continue
		}
		if seen[user] {
			fmt.Fprintf(&errs, "WARNING: Duplicate user '%s' found on line %d. ", user, ln)
			continue
		}
		seen[user] = true
		r := newRules()
		rules := make([]string, 0, len(argv)-2)
		reported := false
		for _, rule := range argv[2:] {
			rule = strings.Trim(rule, "\t\r\n")
			rules = append(rules, rule)
			err := r.applyRule(rule)
			switch {
			case err == nil:
			case errors.Is(err, ErrUnknownCommand):
				fmt.Fprintf(&errs, "%s:%d: Error in applying operation '%s': %s. ", name, ln, rule, err)
			case !reported:
				fmt.Fprintf(&errs, "%s:%d: %s. ", name, ln, err)
				reported = true
			}
		}
		entries = append(entries, Entry{Name: user, Rules: rules})
	}
	if errs.Len() > 0 {
		return nil, &FileError{Msg: errs.String() + errNoChange}
	}
	return entries, nil
}

// LoadFile reads and parses the aclfile at path (see ParseFile).
func LoadFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Msg: fmt.Sprintf("Error loading ACLs, opening file '%s': %v", path, errors.Unwrap(err))}
	}
	return ParseFile(path, data)
}

// Save writes the table's users to path as an aclfile, one ACL LIST line
// each, atomically: the file is written beside path, synced, and renamed
// over it.
func (t *Table) Save(path string) error {
	var b strings.Builder
	for _, l := range t.List() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return fsutil.WriteFileAtomic(path, []byte(b.String()))
}
