package acl

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// setUserCases are ACL SETUSER u rules… on a user that did not exist, and
// the user's ACL LIST line after it (without "user u ") or the error,
// recorded from redis-server 7.0.15.
var setUserCases = []struct {
	rules []string
	list  string
	err   string
}{
	{[]string{"on", ">p1", ">p2", "<p1", "~a*", "%R~b*", "%W~c*", "&ch*", "+get", "+@hash", "-hset"}, "on #3946ca64ff78d93ca61090a437cbb6b3d2ca0d488f5f9ccf3059608368b27693 ~a* %R~b* %W~c* resetchannels &ch* -@all +@hash -hset +get", ""},
	{[]string{"reset"}, "off sanitize-payload resetchannels -@all", ""},
	{[]string{"on", "reset"}, "off sanitize-payload resetchannels -@all", ""},
	{[]string{"on", "nopass", "allkeys", "allchannels", "allcommands"}, "on nopass ~* &* +@all", ""},
	{[]string{"+@all", "-get", "-@hash"}, "off resetchannels +@all -@hash -get", ""},
	{[]string{"-@all", "+get", "+GET", "+@READ"}, "off resetchannels -@all +@read", ""},
	{[]string{"+select|0", "+select|1"}, "off resetchannels -@all +select|0 +select|1", ""},
	{[]string{"~*", "resetkeys", "~x"}, "off ~x resetchannels -@all", ""},
	{[]string{"#2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", ">x", "!2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}, "off #2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 resetchannels -@all", ""},
	{[]string{"allkeys", "~foo"}, "", "Error in ACL SETUSER modifier '~foo': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"},
	{[]string{"nocommands", "+config|get", "+config"}, "off resetchannels -@all +config", ""},
	{[]string{"+config", "-config|set"}, "off resetchannels -@all +config -config|set", ""},
	{[]string{"off", ">a", "nopass"}, "off nopass resetchannels -@all", ""},
	{[]string{"foo"}, "", "Error in ACL SETUSER modifier 'foo': Syntax error"},
	{[]string{"+foo"}, "", "Error in ACL SETUSER modifier '+foo': Unknown command or category name in ACL"},
	{[]string{"-foo"}, "", "Error in ACL SETUSER modifier '-foo': Unknown command or category name in ACL"},
	{[]string{"+get|x"}, "off resetchannels -@all +get|x", ""},
	{[]string{"-select|0"}, "", "Error in ACL SETUSER modifier '-select|0': Unknown command or category name in ACL"},
	{[]string{"+config|foo"}, "", "Error in ACL SETUSER modifier '+config|foo': Unknown command or category name in ACL"},
	{[]string{"+@foo"}, "", "Error in ACL SETUSER modifier '+@foo': Unknown command or category name in ACL"},
	{[]string{">"}, "off #e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 resetchannels -@all", ""},
	{[]string{"#abc"}, "", "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"},
	{[]string{"!abc"}, "", "Error in ACL SETUSER modifier '!abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"},
	{[]string{"%X~a"}, "", "Error in ACL SETUSER modifier '%X~a': Syntax error"},
	{[]string{"%~a"}, "", "Error in ACL SETUSER modifier '%~a': Syntax error"},
	{[]string{"%R"}, "off %R~ resetchannels -@all", ""},
	{[]string{"&"}, "off resetchannels & -@all", ""},
	{[]string{"~"}, "off ~ resetchannels -@all", ""},
	{[]string{"allcommands|x"}, "", "Error in ACL SETUSER modifier 'allcommands|x': Syntax error"},
	{[]string{"+client|kill|x"}, "", "Error in ACL SETUSER modifier '+client|kill|x': Allowing first-arg of a subcommand is not supported"},
	{[]string{"+@all|x"}, "", "Error in ACL SETUSER modifier '+@all|x': Unknown command or category name in ACL"},
	{[]string{"+get|"}, "", "Error in ACL SETUSER modifier '+get|': Syntax error"},
	{[]string{"%RW~x"}, "off ~x resetchannels -@all", ""},
	{[]string{"%WR~x"}, "off ~x resetchannels -@all", ""},
	{[]string{"%RR~x"}, "", "Error in ACL SETUSER modifier '%RR~x': Syntax error"},
	{[]string{"%rw~x"}, "off ~x resetchannels -@all", ""},
	{[]string{"%R~*"}, "off %R~* resetchannels -@all", ""},
	{[]string{"%R~x", "~x"}, "off ~x resetchannels -@all", ""},
	{[]string{"&a", "&a"}, "off resetchannels &a -@all", ""},
	{[]string{"~a", "~a"}, "off ~a resetchannels -@all", ""},
	{[]string{">a", ">a"}, "off #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb resetchannels -@all", ""},
	{[]string{"resetpass"}, "off resetchannels -@all", ""},
	{[]string{"nopass", ">a"}, "off #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb resetchannels -@all", ""},
	{[]string{">a", "nopass"}, "off nopass resetchannels -@all", ""},
	{[]string{"<a"}, "", "Error in ACL SETUSER modifier '<a': The password you are trying to remove from the user does not exist"},
	{[]string{">a", "<a"}, "off resetchannels -@all", ""},
	{[]string{"-@all", "-get"}, "off resetchannels -@all", ""},
	{[]string{"+@all", "+get"}, "off resetchannels +@all", ""},
	{[]string{"~a", "~*"}, "off ~* resetchannels -@all", ""},
	{[]string{"%RW~*"}, "off ~* resetchannels -@all", ""},
	{[]string{"%R~a", "%W~a"}, "off ~a resetchannels -@all", ""},
	{[]string{"&a", "&*"}, "off &* -@all", ""},
	{[]string{"&*", "&a"}, "", "Error in ACL SETUSER modifier '&a': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"},
	{[]string{"allchannels", "&a"}, "", "Error in ACL SETUSER modifier '&a': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"},
	{[]string{"&a", "allchannels"}, "off &* -@all", ""},
	{[]string{"&a", "resetchannels"}, "off resetchannels -@all", ""},
	{[]string{"~a", "allkeys"}, "off ~* resetchannels -@all", ""},
	{[]string{"on", "off"}, "off resetchannels -@all", ""},
	{[]string{"%R~a", "%R~b"}, "off %R~a %R~b resetchannels -@all", ""},
	{[]string{"~a", "%W~b", "%R~c"}, "off ~a %W~b %R~c resetchannels -@all", ""},
	{[]string{"skip-sanitize-payload"}, "off skip-sanitize-payload resetchannels -@all", ""},
	{[]string{"sanitize-payload"}, "off sanitize-payload resetchannels -@all", ""},
	{[]string{"+@all", "-client|kill", "-config"}, "off resetchannels +@all -config -client|kill", ""},
	{[]string{"-@all", "+client|kill"}, "off resetchannels -@all +client|kill", ""},
	{[]string{"-@all", "+config"}, "off resetchannels -@all +config", ""},
	{[]string{"+client|kill", "-@all"}, "off resetchannels -@all", ""},
	{[]string{"+@admin"}, "off resetchannels -@all +@admin", ""},
	{[]string{"+@all", "-@admin"}, "off resetchannels +@all -@admin", ""},
	{[]string{"-@all", "+@read", "+@write"}, "off resetchannels -@all +@write +@read", ""},
	{[]string{"+@all", "-@dangerous"}, "off resetchannels +@all -@dangerous", ""},
	{[]string{"-@all", "+@string", "-get"}, "off resetchannels -@all +@string -get", ""},
	{[]string{"+@all", "-@write", "+set"}, "off resetchannels +@all -@write +set", ""},
	{[]string{"-@all", "+@pubsub"}, "off resetchannels -@all +@pubsub", ""},
	{[]string{"-@all", "+@keyspace", "-del"}, "off resetchannels -@all +@keyspace -del", ""},
	{[]string{"~a b"}, "", "Error in ACL SETUSER modifier '~a b': Syntax error"},
	{[]string{"%R~a b"}, "", "Error in ACL SETUSER modifier '%R~a b': Syntax error"},
	{[]string{"&a b"}, "", "Error in ACL SETUSER modifier '&a b': Syntax error"},
	{[]string{"ON", ">X", "~K*", "+GET"}, "on #4b68ab3847feda7d6c62c1fbcbeebfa35eab7351ed5e78f4ddadea5df64b8015 ~K* resetchannels -@all +get", ""},
}

func TestSetUserRedis(t *testing.T) {
	for _, tc := range setUserCases {
		t.Run(fmtRules(tc.rules), func(t *testing.T) {
			tb := New()
			err := tb.SetUser("u", tc.rules)
			if tc.err != "" {
				if err == nil || "ERR "+err.Error() != "ERR "+tc.err {
					t.Fatalf("got error %v, want %q", err, tc.err)
				}
				var re *RuleError
				if !errors.As(err, &re) {
					t.Fatalf("got %T, want a *RuleError", err)
				}
				if tb.User("u") != nil {
					t.Fatalf("a failed SETUSER created the user")
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			list := tb.List()
			i := slices.IndexFunc(list, func(s string) bool { return len(s) > 7 && s[:7] == "user u " })
			if i < 0 {
				t.Fatalf("user u not in %q", list)
			}
			if got := list[i][7:]; !sameRules(got, tc.list) {
				t.Errorf("got %q, want %q", got, tc.list)
			}
		})
	}
}

// sameRules compares ACL LIST lines: exactly up to the single commands
// that follow the categories, then as sets, Redis listing those in the
// order of its hash table of commands.
func sameRules(got, want string) bool {
	g, w := strings.Fields(got), strings.Fields(want)
	if len(g) != len(w) {
		return false
	}
	i := 0
	for i < len(g) && g[i] == w[i] {
		i++
	}
	g, w = slices.Clone(g[i:]), slices.Clone(w[i:])
	for _, x := range append(g, w...) {
		if len(x) < 2 || x[0] != '+' && x[0] != '-' || x[1] == '@' {
			return slices.Equal(g, w)
		}
	}
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func fmtRules(rules []string) string {
	s := ""
	for i, r := range rules {
		if i > 0 {
			s += " "
		}
		s += r
	}
	if s == "" {
		return "empty"
	}
	return s
}
