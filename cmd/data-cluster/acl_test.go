package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// TestACLFileAtStart checks that a malformed aclfile stops the start with
// exit status 2 and a message naming its line, and that --aclfile cannot
// be combined with --requirepass.
func TestACLFileAtStart(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.acl")
	if err := os.WriteFile(bad, []byte("user default on nopass ~* &* +@all\nuser alice on +nosuch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.acl")
	if err := os.WriteFile(good, []byte("user default on nopass ~* &* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--aclfile", bad}, bad + ":2: Error in applying operation '+nosuch'"},
		{[]string{"--aclfile", filepath.Join(dir, "none.acl")}, "Error loading ACLs, opening file"},
		{[]string{"--aclfile", good, "--requirepass", "x"}, "requirepass cannot be used with an aclfile"},
	} {
		var stdout, stderr testutil.SyncBuffer
		args := append([]string{"--addr", "127.0.0.1:0"}, tc.args...)
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit status %d, want %d; stderr %q", tc.args, code, exitUsage, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: stderr %q does not contain %q", tc.args, stderr.String(), tc.want)
		}
	}
}

// TestClusterACLFileLoadSave starts three nodes with one aclfile: its users
// become the cluster's, ACL LOAD on one node gives the file's new users to
// every node, and ACL SAVE on another writes the cluster's users back.
func TestClusterACLFileLoadSave(t *testing.T) {
	file := filepath.Join(t.TempDir(), "users.acl")
	if err := os.WriteFile(file, []byte("user default on nopass ~* &* +@all\nuser alice on >a-pw ~* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tc := startCluster(t, buildBinary(t), "--aclfile", file)
	ctx := context.Background()
	auth := func(node int, user, pass string) error {
		rc := redis.NewClient(&redis.Options{Addr: tc.addrs[node], Protocol: 2, MaxRetries: -1})
		defer rc.Close()
		return rc.Do(ctx, "AUTH", user, pass).Err()
	}
	waitFor(t, "the aclfile's users on node 3", func() bool { return auth(2, "alice", "a-pw") == nil })

	if err := os.WriteFile(file, []byte("user default on nopass ~* &* +@all\nuser bob on >b-pw ~* +@all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n1 := redis.NewClient(&redis.Options{Addr: tc.addrs[0], Protocol: 2})
	defer n1.Close()
	if err := n1.Do(ctx, "ACL", "LOAD").Err(); err != nil {
		t.Fatalf("ACL LOAD on node 1: %v", err)
	}
	// AUTH checks the cluster's users linearizably before WRONGPASS.
	if err := auth(2, "bob", "b-pw"); err != nil {
		t.Fatalf("AUTH bob on node 3 after ACL LOAD on node 1: %v", err)
	}
	if err := auth(1, "alice", "a-pw"); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("AUTH alice on node 2 after ACL LOAD: got %v, want WRONGPASS", err)
	}
	if err := n1.Do(ctx, "ACL", "SETUSER", "carol", "on", ">c-pw", "~c:*", "+get").Err(); err != nil {
		t.Fatal(err)
	}
	n2 := redis.NewClient(&redis.Options{Addr: tc.addrs[1], Protocol: 2})
	defer n2.Close()
	if err := n2.Do(ctx, "ACL", "SAVE").Err(); err != nil {
		t.Fatalf("ACL SAVE on node 2: %v", err)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"user bob on ", "user carol on ", "user default on "} {
		if !strings.Contains(string(saved), want) {
			t.Errorf("the file after ACL SAVE lacks %q:\n%s", want, saved)
		}
	}
	if strings.Contains(string(saved), "alice") {
		t.Errorf("the file after ACL SAVE still has alice:\n%s", saved)
	}
}
