package acl

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
)

// TestEveryCommandHasCategories checks that every command served has its
// ACL entry, recorded from Redis.
func TestEveryCommandHasCategories(t *testing.T) {
	for name := range command.Redis {
		if !Known(name) {
			t.Errorf("command %q has no ACL entry in commands_gen.go", name)
		}
	}
}

// TestParseRulesRoundTrip checks that ParseRules rebuilds rules from their
// Describe: the same description, and the same verdicts.
func TestParseRulesRoundTrip(t *testing.T) {
	for _, rules := range [][]string{
		{"on", "nopass", "~k*", "%R~r*", "&c*", "+get", "+set", "+client|id"},
		{"on", ">pw", "allkeys", "allchannels", "+@all", "-@dangerous", "-get"},
		{"off", "resetkeys", "~a", "-@all", "+@read"},
	} {
		tb := New()
		if err := tb.SetUser("u", rules); err != nil {
			t.Fatal(err)
		}
		want := tb.User("u").Rules()
		got, err := ParseRules(want.Describe())
		if err != nil {
			t.Fatalf("%q: ParseRules(%q): %v", rules, want.Describe(), err)
		}
		if got.Describe() != want.Describe() {
			t.Errorf("%q: got %q, want %q", rules, got.Describe(), want.Describe())
		}
		for _, args := range [][]string{{"get", "k1"}, {"get", "r1"}, {"set", "r1", "v"}, {"del", "a"}, {"publish", "c1", "m"}, {"client", "id"}, {"debug", "x"}} {
			b := make([][]byte, len(args))
			for i, a := range args {
				b[i] = []byte(a)
			}
			_, okW := want.Check(b, false)
			_, okG := got.Check(b, false)
			if okW != okG {
				t.Errorf("%q: %q allowed %v, parsed back %v", rules, args, okW, okG)
			}
		}
	}
	if _, err := ParseRules("on nosuch"); err == nil {
		t.Error("ParseRules of a bad rule: no error")
	}
}
