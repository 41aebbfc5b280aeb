package server

import (
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
)

// subcommandRedisCases are replies recorded from redis-server 7.0.15, run in
// order on one connection: an unknown subcommand or a subcommand's wrong
// number of arguments is refused before the command runs, and inside MULTI
// before it is queued, which dooms the transaction.
var subcommandRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"DEL", "z"}, ":0\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"OBJECT", "FOO"}, "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"},
	{[]string{"SET", "z", "1"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	{[]string{"GET", "z"}, "$-1\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"OBJECT", "ENCODING"}, "-ERR wrong number of arguments for 'object|encoding' command\r\n"},
	{[]string{"SET", "z", "1"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	{[]string{"GET", "z"}, "$-1\r\n"},
	{[]string{"MULTI"}, "+OK\r\n"},
	{[]string{"CONFIG", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n"},
	{[]string{"CONFIG", "RESETSTAT", "x"}, "-ERR wrong number of arguments for 'config|resetstat' command\r\n"},
	{[]string{"CLIENT", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"},
	{[]string{"CLIENT", "HELP", "x"}, "-ERR wrong number of arguments for 'client|help' command\r\n"},
	{[]string{"XINFO", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try XINFO HELP.\r\n"},
	{[]string{"XINFO", "STREAM"}, "-ERR wrong number of arguments for 'xinfo|stream' command\r\n"},
	{[]string{"XGROUP", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try XGROUP HELP.\r\n"},
	{[]string{"XGROUP", "DESTROY", "s"}, "-ERR wrong number of arguments for 'xgroup|destroy' command\r\n"},
	{[]string{"SCRIPT", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n"},
	{[]string{"SCRIPT", "DEBUG"}, "-ERR wrong number of arguments for 'script|debug' command\r\n"},
	{[]string{"FUNCTION", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try FUNCTION HELP.\r\n"},
	{[]string{"FUNCTION", "DELETE"}, "-ERR wrong number of arguments for 'function|delete' command\r\n"},
	{[]string{"PUBSUB", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"},
	{[]string{"PUBSUB", "NUMPAT", "x"}, "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"},
	{[]string{"SLOWLOG", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.\r\n"},
	{[]string{"SLOWLOG", "LEN", "x"}, "-ERR wrong number of arguments for 'slowlog|len' command\r\n"},
	{[]string{"LATENCY", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try LATENCY HELP.\r\n"},
	{[]string{"LATENCY", "GRAPH"}, "-ERR wrong number of arguments for 'latency|graph' command\r\n"},
	{[]string{"ACL", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try ACL HELP.\r\n"},
	{[]string{"ACL", "WHOAMI", "x"}, "-ERR wrong number of arguments for 'acl|whoami' command\r\n"},
	{[]string{"COMMAND", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n"},
	{[]string{"COMMAND", "COUNT", "x"}, "-ERR wrong number of arguments for 'command|count' command\r\n"},
	{[]string{"MEMORY", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try MEMORY HELP.\r\n"},
	{[]string{"MEMORY", "USAGE"}, "-ERR wrong number of arguments for 'memory|usage' command\r\n"},
	{[]string{"CLUSTER", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n"},
	{[]string{"CLUSTER", "INFO", "x"}, "-ERR wrong number of arguments for 'cluster|info' command\r\n"},
	{[]string{"SET", "z", "1"}, "+QUEUED\r\n"},
	{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	{[]string{"GET", "z"}, "$-1\r\n"},
	{[]string{"CONFIG", "RESETSTAT", "x"}, "-ERR wrong number of arguments for 'config|resetstat' command\r\n"},
	{[]string{"CONFIG", "HELP", "x"}, "-ERR wrong number of arguments for 'config|help' command\r\n"},
	{[]string{"CLIENT", "HELP", "x"}, "-ERR wrong number of arguments for 'client|help' command\r\n"},
	{[]string{"SLOWLOG", "HELP", "x"}, "-ERR wrong number of arguments for 'slowlog|help' command\r\n"},
	{[]string{"CLIENT", "CACHING", "x", "x"}, "-ERR wrong number of arguments for 'client|caching' command\r\n"},
	{[]string{"SCRIPT", "DEBUG"}, "-ERR wrong number of arguments for 'script|debug' command\r\n"},
	{[]string{"CLUSTER", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n"},
	{[]string{"CLUSTER", "INFO", "x"}, "-ERR wrong number of arguments for 'cluster|info' command\r\n"},
	{[]string{"object", "nope"}, "-ERR unknown subcommand 'nope'. Try OBJECT HELP.\r\n"},
	{[]string{"Object", "Encoding"}, "-ERR wrong number of arguments for 'object|encoding' command\r\n"},
}

func TestMultiSubcommandRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range subcommandRedisCases {
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
}

// TestSubcommandsServedKnown checks that every subcommand served here is
// one of its command's subcommands, which the server checks before running
// a command.
func TestSubcommandsServedKnown(t *testing.T) {
	for cmd, subs := range subcommands {
		spec := command.Redis[cmd]
		for _, sub := range subs {
			if !slices.ContainsFunc(spec.Subs, func(s command.Sub) bool { return s.Name == sub }) {
				t.Errorf("%s %s: not among the subcommands of %s", cmd, sub, cmd)
			}
		}
	}
}
