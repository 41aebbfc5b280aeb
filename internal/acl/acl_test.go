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
