package server

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
)

// TestFullName checks the names CLIENT LIST and the ACL log give commands:
// a subcommand's full name in any letter case, the container's name for a
// subcommand not named here, and the command's name for the others, for
// every command the table of subcommands names.
func TestFullName(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"CLIENT", "LIST"}, "client|list"},
		{[]string{"client", "No-Evict", "on"}, "client|no-evict"},
		{[]string{"CLIENT", "NOSUCH"}, "client"},
		{[]string{"CLIENT"}, "client"},
		{[]string{"LPUSH", "list", "x"}, "lpush"},
		{[]string{"GET", "list"}, "get"},
		{[]string{"FUNCTION", "flush"}, "function|flush"},
		{[]string{"FUNCTION", "stats"}, "function"},
	}
	for cmd, subs := range subcommands {
		for _, sub := range subs {
			cases = append(cases, struct {
				args []string
				want string
			}{[]string{cmd, sub}, cmd + "|" + sub})
		}
	}
	for _, c := range cases {
		args := make([][]byte, len(c.args))
		for i, a := range c.args {
			args[i] = []byte(a)
		}
		spec := command.Redis.Lookup(args[0])
		if spec == nil {
			t.Fatalf("%q: no such command", c.args[0])
		}
		if got := *FullName(spec, args); got != c.want {
			t.Errorf("FullName(%q) = %q, want %q", c.args, got, c.want)
		}
	}
	lpush, args := command.Redis.Lookup([]byte("lpush")), [][]byte{[]byte("LPUSH"), []byte("k"), []byte("v")}
	if n := testing.AllocsPerRun(100, func() { FullName(lpush, args) }); n != 0 {
		t.Errorf("FullName allocates %v times a call, want none", n)
	}
}
