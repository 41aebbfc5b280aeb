package cluster

import (
	"strings"
	"testing"
)

// TestServerMultiSubcommands checks that a node refuses an unknown
// subcommand, or a subcommand with the wrong number of arguments, before
// it runs or is queued, as Redis does: inside MULTI the refusal dooms the
// transaction.
func TestServerMultiSubcommands(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	c := dialRaw(t, serveNode(t, tn, 0, ServerConfig{}))
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"OBJECT", "FOO"}, "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"},
		{[]string{"SET", "{t}z", "1"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"GET", "{t}z"}, "$-1\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"OBJECT", "ENCODING"}, "-ERR wrong number of arguments for 'object|encoding' command\r\n"},
		{[]string{"XINFO", "STREAM"}, "-ERR wrong number of arguments for 'xinfo|stream' command\r\n"},
		{[]string{"SET", "{t}z", "1"}, "+QUEUED\r\n"},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
		{[]string{"GET", "{t}z"}, "$-1\r\n"},
		{[]string{"CONFIG", "RESETSTAT", "x"}, "-ERR wrong number of arguments for 'config|resetstat' command\r\n"},
		{[]string{"CLIENT", "CACHING", "x", "x"}, "-ERR wrong number of arguments for 'client|caching' command\r\n"},
		{[]string{"CLUSTER", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n"},
		{[]string{"CLUSTER", "INFO", "x"}, "-ERR wrong number of arguments for 'cluster|info' command\r\n"},
		// The node's own subcommands have arities too.
		{[]string{"CLUSTER", "MOVE", "1"}, "-ERR wrong number of arguments for 'cluster|move' command\r\n"},
		{[]string{"CLUSTER", "REBALANCE", "x"}, "-ERR wrong number of arguments for 'cluster|rebalance' command\r\n"},
		{[]string{"CLUSTER", "KEYSLOT", "a"}, ":15495\r\n"},
	}
	for _, s := range steps {
		c.send(s.args...)
		c.expect(s.want)
	}
	c.send("CLUSTER", "STATUS")
	if r := c.bulk(); !strings.HasPrefix(r, "{") {
		t.Errorf("CLUSTER STATUS: got %q, want the node's status in JSON", r)
	}
}
