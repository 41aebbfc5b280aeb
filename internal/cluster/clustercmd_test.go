package cluster

import (
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// clusterRedisCases are CLUSTER replies recorded from a node of a
// three-master redis-server 7.0.15 cluster.
var clusterRedisCases = []testutil.RedisCase{
	{Args: []string{"CLUSTER"}, Want: "-ERR wrong number of arguments for 'cluster' command\r\n"},
	{Args: []string{"CLUSTER", "foo"}, Want: "-ERR unknown subcommand 'foo'. Try CLUSTER HELP.\r\n"},
	{Args: []string{"CLUSTER", "FOO", "x"}, Want: "-ERR unknown subcommand 'FOO'. Try CLUSTER HELP.\r\n"},
	{Args: []string{"CLUSTER", "KEYSLOT"}, Want: "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n"},
	{Args: []string{"CLUSTER", "KEYSLOT", "a", "b"}, Want: "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n"},
	{Args: []string{"CLUSTER", "Keyslot"}, Want: "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n"},
	{Args: []string{"CLUSTER", "INFO", "x"}, Want: "-ERR wrong number of arguments for 'cluster|info' command\r\n"},
	{Args: []string{"CLUSTER", "SLOTS", "x"}, Want: "-ERR wrong number of arguments for 'cluster|slots' command\r\n"},
	{Args: []string{"CLUSTER", "SHARDS", "x"}, Want: "-ERR wrong number of arguments for 'cluster|shards' command\r\n"},
	{Args: []string{"CLUSTER", "NODES", "x"}, Want: "-ERR wrong number of arguments for 'cluster|nodes' command\r\n"},
	{Args: []string{"CLUSTER", "MYID", "x"}, Want: "-ERR wrong number of arguments for 'cluster|myid' command\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT"}, Want: "-ERR wrong number of arguments for 'cluster|countkeysinslot' command\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "0"}, Want: "-ERR wrong number of arguments for 'cluster|getkeysinslot' command\r\n"},
	{Args: []string{"CLUSTER", "FORGET"}, Want: "-ERR wrong number of arguments for 'cluster|forget' command\r\n"},
	{Args: []string{"CLUSTER", "KEYSLOT", "a"}, Want: ":15495\r\n"},
}

// TestClusterRedis checks a node's CLUSTER replies against Redis's, and
// the arity errors of our own subcommands, which take Redis's form.
func TestClusterRedis(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{})
	ours := []testutil.RedisCase{
		{Args: []string{"CLUSTER", "STATUS", "x"}, Want: "-ERR wrong number of arguments for 'cluster|status' command\r\n"},
		{Args: []string{"CLUSTER", "MOVE", "0", "n1"}, Want: "-ERR wrong number of arguments for 'cluster|move' command\r\n"},
		{Args: []string{"CLUSTER", "ADDNODE", "n9"}, Want: "-ERR wrong number of arguments for 'cluster|addnode' command\r\n"},
		{Args: []string{"CLUSTER", "SETSHARDS"}, Want: "-ERR wrong number of arguments for 'cluster|setshards' command\r\n"},
		{Args: []string{"CLUSTER", "SETREPLICAS", "1", "2"}, Want: "-ERR wrong number of arguments for 'cluster|setreplicas' command\r\n"},
		{Args: []string{"CLUSTER", "REBALANCE", "x"}, Want: "-ERR wrong number of arguments for 'cluster|rebalance' command\r\n"},
	}
	for _, tc := range append(clusterRedisCases, ours...) {
		t.Run(strings.Join(tc.Args, " "), func(t *testing.T) {
			c := dialRaw(t, addr)
			c.send(tc.Args...)
			c.expect(tc.Want)
		})
	}
}
