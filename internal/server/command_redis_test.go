package server

import (
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/command"
)

// commandRedisCases are replies recorded from redis-server 7.0.15, run in
// order on one connection (the last two in RESP3).
var commandRedisCases = []struct {
	args []string
	want string
}{
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "EVAL", "s", "5", "a"}, "*0\r\n"},
	{[]string{"COMMAND", "GETKEYS", "EVAL", "s", "99999999999", "a"}, "*0\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "ZUNIONSTORE", "d", "5", "a"}, "-ERR Invalid arguments specified for command\r\n"},
	{[]string{"COMMAND", "GETKEYS", "EVAL", "s", "-1", "a"}, "*0\r\n"},
	{[]string{"COMMAND", "GETKEYS", "PING", "x"}, "-ERR The command has no key arguments\r\n"},
	{[]string{"COMMAND", "GETKEYS", "GET", "a", "b"}, "-ERR Invalid number of arguments specified for command\r\n"},
	{[]string{"COMMAND", "GETKEYS", "OBJECT", "ENCODING"}, "-ERR Invalid number of arguments specified for command\r\n"},
	{[]string{"COMMAND", "GETKEYS", "OBJECT", "FOO", "k"}, "-ERR Invalid command specified\r\n"},
	{[]string{"COMMAND", "GETKEYS", "CLIENT", "KILL", "x"}, "-ERR The command has no key arguments\r\n"},
	{[]string{"COMMAND", "GETKEYS", "OBJECT"}, "-ERR wrong number of arguments for 'command|getkeys' command\r\n"},
	{[]string{"COMMAND", "GETKEYS", "XREAD", "STREAMS", "a"}, "-ERR Invalid number of arguments specified for command\r\n"},
	{[]string{"COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "a", "b"}, "-ERR Invalid arguments specified for command\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "GEORADIUS", "k", "1", "1", "1", "km", "STORE", "d", "STOREDIST", "e"}, "*3\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$1\r\ne\r\n*2\r\n+OW\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "LCS", "a", "b"}, "*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nb\r\n*2\r\n+RO\r\n+access\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "EVAL_RO", "s", "1", "a"}, "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "BLPOP", "a", "b", "0"}, "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "XADD", "s", "*", "f", "v"}, "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n+RW\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "DEL", "a", "b"}, "*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RM\r\n+delete\r\n*2\r\n$1\r\nb\r\n*2\r\n+RM\r\n+delete\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "COPY", "a", "b"}, "*2\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n*2\r\n$1\r\nb\r\n*2\r\n+OW\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "PFMERGE", "d", "a"}, "*2\r\n*2\r\n$1\r\nd\r\n*3\r\n+RW\r\n+access\r\n+insert\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "SMOVE", "a", "b", "m"}, "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "RESTORE", "k", "0", "x"}, "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+OW\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "WATCH", "a", "b"}, "*2\r\n*2\r\n$1\r\na\r\n*1\r\n+RO\r\n*2\r\n$1\r\nb\r\n*1\r\n+RO\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "SPUBLISH", "c", "m"}, "-ERR The command has no key arguments\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "GETEX", "k"}, "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "GETDEL", "k"}, "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "HSET", "k", "f", "v"}, "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RW\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "ZRANGESTORE", "d", "s", "0", "1"}, "*2\r\n*2\r\n$1\r\nd\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$1\r\ns\r\n*2\r\n+RO\r\n+access\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "XACK", "k", "g", "1-1"}, "*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RW\r\n+update\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "TOUCH", "a"}, "*1\r\n*2\r\n$1\r\na\r\n*1\r\n+RO\r\n"},
	{[]string{"COMMAND", "GETKEYSANDFLAGS", "EXPIRE", "a", "1"}, "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RW\r\n+update\r\n"},
	{[]string{"COMMAND", "DOCS", "get", "nosuch"}, "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"},
	{[]string{"COMMAND", "COUNT", "x"}, "-ERR wrong number of arguments for 'command|count' command\r\n"},
	{[]string{"COMMAND", "LIST", "FILTERBY", "MODULE", "x"}, "*0\r\n"},
	{[]string{"COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"}, "*0\r\n"},
	{[]string{"COMMAND", "LIST", "FILTERBY", "PATTERN"}, "-ERR syntax error\r\n"},
	{[]string{"COMMAND", "LIST", "x"}, "-ERR syntax error\r\n"},
	{[]string{"COMMAND", "LIST", "FILTERBY", "foo", "x"}, "-ERR syntax error\r\n"},
	{[]string{"COMMAND", "HELP"}, "*21\r\n+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+(no subcommand)\r\n+    Return details about all Redis commands.\r\n+COUNT\r\n+    Return the total number of commands in this Redis server.\r\n+LIST\r\n+    Return a list of all commands in this Redis server.\r\n+INFO [<command-name> ...]\r\n+    Return details about multiple Redis commands.\r\n+    If no command names are given, documentation details for all\r\n+    commands are returned.\r\n+DOCS [<command-name> ...]\r\n+    Return documentation details about multiple Redis commands.\r\n+    If no command names are given, documentation details for all\r\n+    commands are returned.\r\n+GETKEYS <full-command>\r\n+    Return the keys from a full Redis command.\r\n+GETKEYSANDFLAGS <full-command>\r\n+    Return the keys and the access flags from a full Redis command.\r\n+HELP\r\n+    Prints this help.\r\n"},
	{[]string{"COMMAND", "NOPE"}, "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.\r\n"},
	{[]string{"COMMAND", "DOCS", "latency"}, "*2\r\n$7\r\nlatency\r\n*10\r\n$7\r\nsummary\r\n$44\r\nA container for latency diagnostics commands\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$22\r\nDepends on subcommand.\r\n$11\r\nsubcommands\r\n*14\r\n$14\r\nlatency|latest\r\n*8\r\n$7\r\nsummary\r\n$49\r\nReturn the latest latency samples for all events.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$15\r\nlatency|history\r\n*10\r\n$7\r\nsummary\r\n$47\r\nReturn timestamp-latency samples for the event.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$5\r\nevent\r\n$4\r\ntype\r\n$6\r\nstring\r\n$13\r\nlatency|reset\r\n*10\r\n$7\r\nsummary\r\n$42\r\nReset latency data for one or more events.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$5\r\nevent\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n+multiple\r\n$12\r\nlatency|help\r\n*8\r\n$7\r\nsummary\r\n$50\r\nShow helpful text about the different subcommands.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$17\r\nlatency|histogram\r\n*10\r\n$7\r\nsummary\r\n$79\r\nReturn the cumulative distribution of latencies of a subset of commands or all.\r\n$5\r\nsince\r\n$5\r\n7.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$80\r\nO(N) where N is the number of commands with latency information being retrieved.\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$7\r\ncommand\r\n$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n*2\r\n+optional\r\n+multiple\r\n$13\r\nlatency|graph\r\n*10\r\n$7\r\nsummary\r\n$37\r\nReturn a latency graph for the event.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$5\r\nevent\r\n$4\r\ntype\r\n$6\r\nstring\r\n$14\r\nlatency|doctor\r\n*8\r\n$7\r\nsummary\r\n$48\r\nReturn a human readable latency analysis report.\r\n$5\r\nsince\r\n$6\r\n2.8.13\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"},
	{[]string{"COMMAND", "INFO", "zadd"}, "*1\r\n*10\r\n$4\r\nzadd\r\n:-4\r\n~3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@write\r\n+@sortedset\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RW\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n"},
	{[]string{"COMMAND", "DOCS", "zadd"}, "%1\r\n$4\r\nzadd\r\n%6\r\n$7\r\nsummary\r\n$81\r\nAdd one or more members to a sorted set, or update its score if it already exists\r\n$5\r\nsince\r\n$5\r\n1.2.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n$83\r\nO(log(N)) for each item added, where N is the number of elements in the sorted set.\r\n$7\r\nhistory\r\n~3\r\n*2\r\n$5\r\n2.4.0\r\n$26\r\nAccepts multiple elements.\r\n*2\r\n$5\r\n3.0.2\r\n$46\r\nAdded the `XX`, `NX`, `CH` and `INCR` options.\r\n*2\r\n$5\r\n6.2.0\r\n$32\r\nAdded the `GT` and `LT` options.\r\n$9\r\narguments\r\n*6\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n%5\r\n$4\r\nname\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n3.0.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\nnx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n$2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%5\r\n$4\r\nname\r\n$10\r\ncomparison\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\ngt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nGT\r\n%3\r\n$4\r\nname\r\n$2\r\nlt\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nLT\r\n%5\r\n$4\r\nname\r\n$6\r\nchange\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nCH\r\n$5\r\nsince\r\n$5\r\n3.0.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%5\r\n$4\r\nname\r\n$9\r\nincrement\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$4\r\nINCR\r\n$5\r\nsince\r\n$5\r\n3.0.2\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$12\r\nscore_member\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*2\r\n%2\r\n$4\r\nname\r\n$5\r\nscore\r\n$4\r\ntype\r\n$6\r\ndouble\r\n%2\r\n$4\r\nname\r\n$6\r\nmember\r\n$4\r\ntype\r\n$6\r\nstring\r\n"},
}

func TestCommandRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i, tc := range commandRedisCases {
		if tc.args[0] == "COMMAND" && tc.args[1] == "INFO" && len(tc.args) == 3 && tc.args[2] == "zadd" {
			c.raw("HELLO", "3")
		}
		if got := c.raw(tc.args...); got != tc.want {
			t.Errorf("%d %q: got %q, want %q", i, tc.args, got, tc.want)
		}
	}
}

// TestEveryCommandHasDocs checks that COMMAND DOCS and COMMAND INFO answer
// for every command of the table, with Redis's fields.
func TestEveryCommandHasDocs(t *testing.T) {
	for name, spec := range command.Redis {
		d := docsOf(name)
		if d == nil {
			t.Errorf("%s: no COMMAND DOCS entry", name)
			continue
		}
		for _, f := range []string{"summary", "since", "group"} {
			if v := d.get(f); v == nil || v.s == "" {
				t.Errorf("%s: COMMAND DOCS has no %s", name, f)
			}
		}
		if info := infoOf(spec); info != nil {
			if info.kids[0].s != name || info.kids[1].n != int64(spec.Arity) || len(info.kids) != 10 {
				t.Errorf("%s: COMMAND INFO entry names %q with arity %d, want %q and %d", name, info.kids[0].s, info.kids[1].n, name, spec.Arity)
			}
		} else if _, own := ownDocs[name]; !own {
			t.Errorf("%s: no COMMAND INFO entry from Redis, and not one of our own commands", name)
		}
	}
	// Subcommands this server does not answer are left out.
	for _, sub := range infoOf(command.Redis["config"]).subcommands() {
		if name := sub.kids[0].s; name == "config|rewrite" {
			t.Errorf("COMMAND INFO lists %s, which is not served", name)
		}
	}
	list := strings.Join(mustList(t), " ")
	for _, want := range []string{"get", "config|get", "latency|histogram", "memory|stats", "delete"} {
		if !strings.Contains(" "+list+" ", " "+want+" ") {
			t.Errorf("COMMAND LIST lacks %s", want)
		}
	}
}

func mustList(t *testing.T) []string {
	names, ok := commandList(nil)
	if !ok {
		t.Fatal("COMMAND LIST: syntax error")
	}
	return names
}
