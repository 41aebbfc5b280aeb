package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
	{Args: []string{"CLUSTER", "HELP", "x"}, Want: "-ERR wrong number of arguments for 'cluster|help' command\r\n"},
	{Args: []string{"CLUSTER", "KEYSLOT", "a"}, Want: ":15495\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "abc"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "1.5"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", ""}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", " 1"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "0x10"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "1e3"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "99999999999999999999"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "+1"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "01"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "-0"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "-1"}, Want: "-ERR Invalid slot\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "16384"}, Want: "-ERR Invalid slot\r\n"},
	{Args: []string{"CLUSTER", "COUNTKEYSINSLOT", "16383"}, Want: ":0\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "abc", "10"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "01", "10"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "0", "1.5"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "0", "+1"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "0", ""}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "-1", "abc"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "-1", "10"}, Want: "-ERR Invalid slot or number of keys\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "16384", "10"}, Want: "-ERR Invalid slot or number of keys\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "0", "-1"}, Want: "-ERR Invalid slot or number of keys\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "0", "-0"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "16383", "0"}, Want: "*0\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "16383", "99999999999999999999"}, Want: "-ERR value is not an integer or out of range\r\n"},
	{Args: []string{"CLUSTER", "GETKEYSINSLOT", "16383", "9223372036854775807"}, Want: "*0\r\n"},
}

// TestClusterRedis checks a node's CLUSTER replies against Redis's, and
// errors of our own subcommands: arity errors take Redis's form, and the
// metadata group is named as CLUSTER MOVE names it.
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
		{Args: []string{"CLUSTER", "MOVE", "meta", "n1", "n1"}, Want: "-ERR node n1 already holds a replica of group meta\r\n"},
	}
	for _, tc := range append(clusterRedisCases, ours...) {
		t.Run(strings.Join(tc.Args, " "), func(t *testing.T) {
			c := dialRaw(t, addr)
			c.nc.SetDeadline(time.Now().Add(10 * time.Second)) // a short reply fails soon
			c.send(tc.Args...)
			c.expect(tc.Want)
		})
	}
}

// redisClusterHelp is CLUSTER HELP's reply from redis-server 7.0.15, a
// line per simple string.
const redisClusterHelp = `CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:
ADDSLOTS <slot> [<slot> ...]
    Assign slots to current node.
ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]
    Assign slots which are between <start-slot> and <end-slot> to current node.
BUMPEPOCH
    Advance the cluster config epoch.
COUNT-FAILURE-REPORTS <node-id>
    Return number of failure reports for <node-id>.
COUNTKEYSINSLOT <slot>
    Return the number of keys in <slot>.
DELSLOTS <slot> [<slot> ...]
    Delete slots information from current node.
DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]
    Delete slots information which are between <start-slot> and <end-slot> from current node.
FAILOVER [FORCE|TAKEOVER]
    Promote current replica node to being a master.
FORGET <node-id>
    Remove a node from the cluster.
GETKEYSINSLOT <slot> <count>
    Return key names stored by current node in a slot.
FLUSHSLOTS
    Delete current node own slots information.
INFO
    Return information about the cluster.
KEYSLOT <key>
    Return the hash slot for <key>.
MEET <ip> <port> [<bus-port>]
    Connect nodes into a working cluster.
MYID
    Return the node id.
NODES
    Return cluster configuration seen by node. Output format:
    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...
REPLICATE <node-id>
    Configure current node as replica to <node-id>.
RESET [HARD|SOFT]
    Reset current node (default: soft).
SET-CONFIG-EPOCH <epoch>
    Set config epoch of current node.
SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)
    Set slot state.
REPLICAS <node-id>
    Return <node-id> replicas.
SAVECONFIG
    Force saving cluster configuration on disk.
SLOTS
    Return information about slots range mappings. Each range is made of:
    start, end, master and replicas IP addresses, ports and ids
SHARDS
    Return information about slot range mappings and the nodes associated with them.
LINKS
    Return information about all network links between this node and its peers.
    Output format is an array where each array element is a map containing attributes of a link
HELP
    Prints this help.`

// TestClusterHelp checks CLUSTER HELP: Redis's heading and closing HELP
// lines, Redis's own lines for each of its subcommands served here, and a
// line for every subcommand served, ours included.
func TestClusterHelp(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	c := dialRaw(t, serveNode(t, tn, 0, ServerConfig{}))
	c.send("CLUSTER", "HELP")
	var got []string
	for _, l := range c.reply() {
		s, ok := strings.CutPrefix(l, "+")
		if !ok {
			t.Fatalf("got %q, want simple strings", l)
		}
		got = append(got, s)
	}
	entries := func(lines []string) (head string, subs map[string]string, order []string) {
		subs = map[string]string{}
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "    ") {
				subs[order[len(order)-1]] += "\n" + l
				continue
			}
			name := strings.ToLower(strings.Fields(l)[0])
			subs[name] = l
			order = append(order, name)
		}
		return lines[0], subs, order
	}
	redis := strings.Split(redisClusterHelp, "\n")
	wantHead, redisSubs, _ := entries(redis)
	head, subs, order := entries(got)
	if head != wantHead {
		t.Fatalf("got %q first, want %q", head, wantHead)
	}
	if order[len(order)-1] != "help" || subs["help"] != redisSubs["help"] {
		t.Errorf("got %q last, want Redis's HELP lines %q", subs[order[len(order)-1]], redisSubs["help"])
	}
	for name, text := range subs {
		if !clusterServed[name] {
			t.Errorf("%s is described but not served", name)
		}
		if want, ok := redisSubs[name]; ok && text != want {
			t.Errorf("%s: got %q, want Redis's %q", name, text, want)
		}
	}
	for name := range clusterServed {
		if _, ok := subs[name]; !ok {
			t.Errorf("%s is served but not described", name)
		}
	}
}

// TestClusterNodesBusPort checks that CLUSTER NODES gives each node's peer
// port as its cluster bus port, and Redis's client port + 10000 for a peer
// address without a port.
func TestClusterNodesBusPort(t *testing.T) {
	for _, tc := range []struct {
		peer         string
		client, want int
	}{
		{"127.0.0.1:17001", 7001, 17001},
		{"[::1]:9000", 6379, 9000},
		{"node-a:16000", 6379, 16000},
		{"node-a", 7001, 17001},
		{"node-a:x", 7001, 17001},
	} {
		if got := busPort(tc.peer, tc.client); got != tc.want {
			t.Errorf("busPort(%q, %d) = %d, want %d", tc.peer, tc.client, got, tc.want)
		}
	}
	tn := newTestNodes(t, testSeed(t), nil)
	nodes := tn.nodes[0].clusterNodes()
	for i := 1; i <= 3; i++ {
		// The test nodes' client addresses are 127.0.0.1:1 to :3, their
		// peer addresses p1:1 to p3:1.
		if want := fmt.Sprintf(" 127.0.0.1:%d@1 ", i); !strings.Contains(nodes, want) {
			t.Errorf("CLUSTER NODES lacks %q:\n%s", want, nodes)
		}
	}
}
