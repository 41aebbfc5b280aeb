package acl

import "testing"

// BenchmarkCheckAll is the check of a user allowed everything (the
// default user): what every command pays.
func BenchmarkCheckAll(b *testing.B) { benchmarkCheck(b, DefaultName) }

// BenchmarkCheckRestricted is the check of a user with key patterns and a
// few commands allowed.
func BenchmarkCheckRestricted(b *testing.B) { benchmarkCheck(b, "app") }

func benchmarkCheck(b *testing.B, user string) {
	t := New()
	if err := t.SetUser("app", []string{"on", "nopass", "~app:*", "%R~shared:*", "&app:*", "-@all", "+@read", "+set"}); err != nil {
		b.Fatal(err)
	}
	u := t.User(user)
	args := [][]byte{[]byte("SET"), []byte("app:12345"), []byte("value")}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := u.Rules().Check(args, false); !ok {
			b.Fatal("denied")
		}
	}
}
