package command

import (
	"slices"
	"strings"
	"testing"
)

// TestRecordedSubs checks that the commands of the Redis table have the
// subcommands and arities redis-server 7.0.15's COMMAND INFO gives them.
func TestRecordedSubs(t *testing.T) {
	tests := []struct {
		name string
		want []Sub
	}{
		{"object", []Sub{{"encoding", 3}, {"freq", 3}, {"help", 2}, {"idletime", 3}, {"refcount", 3}}},
		{"memory", []Sub{{"doctor", 2}, {"help", 2}, {"malloc-stats", 2}, {"purge", 2}, {"stats", 2}, {"usage", -3}}},
		{"xinfo", []Sub{{"consumers", 4}, {"groups", 3}, {"help", 2}, {"stream", -3}}},
		{"xgroup", []Sub{{"create", -5}, {"createconsumer", 5}, {"delconsumer", 5}, {"destroy", 4}, {"help", 2}, {"setid", -5}}},
		{"get", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := slices.SortedFunc(slices.Values(Redis[tt.name].Subs), func(a, b Sub) int { return strings.Compare(a.Name, b.Name) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSubError checks the errors Redis gives for an unknown subcommand
// and a subcommand's arity, before the command runs.
func TestSubError(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		unknown bool
	}{
		{[]string{"OBJECT", "ENCODING", "k"}, "", false},
		{[]string{"object", "Help"}, "", false},
		{[]string{"OBJECT", "FOO"}, "ERR unknown subcommand 'FOO'. Try OBJECT HELP.", true},
		{[]string{"object", "foo", "k"}, "ERR unknown subcommand 'foo'. Try OBJECT HELP.", true},
		{[]string{"OBJECT", "a\x00b"}, "ERR unknown subcommand 'a'. Try OBJECT HELP.", true},
		{[]string{"OBJECT", strings.Repeat("y", 200)}, "ERR unknown subcommand '" + strings.Repeat("y", 128) + "'. Try OBJECT HELP.", true},
		{[]string{"OBJECT", "ENCODING"}, "ERR wrong number of arguments for 'object|encoding' command", false},
		{[]string{"OBJECT", "HELP", "x"}, "ERR wrong number of arguments for 'object|help' command", false},
		{[]string{"MEMORY", "USAGE"}, "ERR wrong number of arguments for 'memory|usage' command", false},
		{[]string{"MEMORY", "USAGE", "k", "SAMPLES", "5"}, "", false},
		{[]string{"XGROUP", "DESTROY", "s", "g", "x"}, "ERR wrong number of arguments for 'xgroup|destroy' command", false},
		{[]string{"GET", "k"}, "", false},
	}
	for _, tt := range tests {
		args := make([][]byte, len(tt.args))
		for i, a := range tt.args {
			args[i] = []byte(a)
		}
		msg, unknown := Redis.Lookup(args[0]).SubError(args)
		if msg != tt.want || unknown != tt.unknown {
			t.Errorf("%q: got %q %v, want %q %v", tt.args, msg, unknown, tt.want, tt.unknown)
		}
	}
}

// TestLastLookup checks that LastLookup answers as Redis.Lookup does, for a
// run of names that repeat, change case, are unknown or too long.
func TestLastLookup(t *testing.T) {
	var l LastLookup
	for _, name := range []string{"get", "get", "GET", "Get", "get", "set", "nosuch", "get", "x", "", "sEt",
		"a-name-longer-than-thirty-two-bytes-here", "set", "set"} {
		got, want := l.Lookup([]byte(name)), Redis.Lookup([]byte(name))
		if got != want {
			t.Fatalf("Lookup(%q): got %v, want %v", name, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { l.Lookup([]byte("GET")); l.Lookup([]byte("SET")) }); n != 0 {
		t.Errorf("Lookup allocates %v times a run", n)
	}
}
