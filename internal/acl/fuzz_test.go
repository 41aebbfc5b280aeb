package acl

import (
	"slices"
	"strings"
	"testing"
)

// FuzzSetUser applies rules and checks that a user the rules accept comes
// back the same from its ACL LIST line read as an aclfile.
func FuzzSetUser(f *testing.F) {
	for _, tc := range setUserCases {
		f.Add(strings.Join(tc.rules, " "))
	}
	f.Fuzz(func(t *testing.T, rules string) {
		tb := New()
		if err := tb.SetUser("u", strings.Split(rules, " ")); err != nil {
			return
		}
		list := tb.List()
		entries, err := ParseFile("fuzz", []byte(strings.Join(list, "\n")))
		if err != nil {
			t.Fatalf("ACL LIST %q does not parse: %v", list, err)
		}
		back := New()
		if _, err := back.Replace(entries); err != nil {
			t.Fatalf("ACL LIST %q does not load: %v", list, err)
		}
		if got := back.List(); !slices.Equal(got, list) {
			t.Fatalf("round trip of %q: got %q, want %q", rules, got, list)
		}
		u := back.User("u").Rules()
		for _, args := range [][]string{{"get", "k"}, {"set", "k", "v"}, {"publish", "c", "m"}, {"client", "kill", "x"}, {"select", "0"}} {
			a := make([][]byte, len(args))
			for i, s := range args {
				a[i] = []byte(s)
			}
			_, ok1 := tb.User("u").Rules().Check(a, false)
			_, ok2 := u.Check(a, false)
			if ok1 != ok2 {
				t.Fatalf("%q: allowed %v before the round trip, %v after", args, ok1, ok2)
			}
		}
	})
}

// FuzzParseFile checks that no aclfile makes the parser panic, and that a
// file it accepts loads.
func FuzzParseFile(f *testing.F) {
	for _, tc := range fileCases {
		f.Add([]byte(tc.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseFile("fuzz", data)
		if err != nil {
			return
		}
		if _, err := New().Replace(entries); err != nil {
			t.Fatalf("a parsed file does not load: %v", err)
		}
	})
}
