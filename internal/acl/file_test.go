package acl

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fileCases are aclfiles named "/tmp/users.acl" and the error of ACL LOAD
// (without "ERR "), recorded from redis-server 7.0.15; "" when it loads.
var fileCases = []struct {
	name, data, err string
}{
	{"duplicate", "user alice on >pw\nuser alice off\n", "WARNING: Duplicate user 'alice' found on line 2. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"no keyword", "usr alice\n", "/tmp/users.acl:1 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"no name", "user\n", "/tmp/users.acl:1 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"comment", "# c\n", "/tmp/users.acl:1 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"bad rule", "user alice foo\n", "/tmp/users.acl:1: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"unknown command", "user alice on\nuser bob +nosuch\n", "/tmp/users.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"quotes", "user \"a b\" on\n", "/tmp/users.acl:1: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"unbalanced quote", "user alice \"on\n", "/tmp/users.acl:1: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"},
	{"spaces around", "  user alice on  \n", ""},
	{"carriage return", "user alice on\r\n", ""},
	{"empty", "\n", ""},
	{"default off", "user default off\n", ""},
}

func TestParseFileRedis(t *testing.T) {
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			entries, err := ParseFile("/tmp/users.acl", []byte(tc.data))
			if tc.err == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if _, err := New().Replace(entries); err != nil {
					t.Fatalf("Replace: %v", err)
				}
				return
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Msg != tc.err {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
			if entries != nil {
				t.Errorf("got entries %v with an error", entries)
			}
		})
	}
}

// TestSaveLoadRoundTrip saves users, loads them into another table and
// compares ACL LIST.
func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.acl")
	a := New()
	a.SetDefaultPassword("secret")
	for name, rules := range map[string][]string{
		"alice": {"on", ">pw", "~k*", "%R~r*", "%W~w*", "&c*", "-@all", "+get", "+@hash", "-hset", "+client|kill", "+select|0"},
		"bob":   {"on", "nopass", "allkeys", "allchannels", "+@all", "-@dangerous", "-config|set"},
		"carol": {"reset", "skip-sanitize-payload"},
	} {
		if err := a.SetUser(name, rules); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, err := LoadFile(path)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("LoadFile: %v\n%s", err, data)
	}
	b := New()
	old := b.Default()
	if _, err := b.Replace(entries); err != nil {
		t.Fatal(err)
	}
	if got, want := b.List(), a.List(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if b.Default() != old {
		t.Errorf("LOAD replaced the default user's handle")
	}
	if _, ok := b.Authenticate([]byte("default"), []byte("secret")); !ok {
		t.Errorf("the default user's password was not loaded")
	}
	if _, ok := b.Authenticate([]byte("alice"), []byte("pw")); !ok {
		t.Errorf("alice's password was not loaded")
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "none.acl"))
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want a *FileError", err)
	}
}
