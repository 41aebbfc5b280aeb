package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
