package testutil

import (
	"strings"
	"testing"
)

// RedisCase is a command and the reply a fresh redis-server 7.0.15 gave
// it, byte for byte.
type RedisCase struct {
	Args []string
	Want string
}

// ClientRedisCases are CLIENT replies recorded from redis-server 7.0.15,
// each on a fresh connection. MAXAGE and NO-TOUCH are Redis 7.2/7.4's
// (7.0 answers a syntax error and an unknown subcommand): their cases are
// ours.
var ClientRedisCases = []RedisCase{
	{Args: []string{"CLIENT"}, Want: "-ERR wrong number of arguments for 'client' command\r\n"},
	{Args: []string{"CLIENT", "foo"}, Want: "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n"},
	{Args: []string{"CLIENT", "SETNAME"}, Want: "-ERR wrong number of arguments for 'client|setname' command\r\n"},
	{Args: []string{"CLIENT", "SETNAME", "a b"}, Want: "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
	{Args: []string{"CLIENT", "SETNAME", "a\nb"}, Want: "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
	{Args: []string{"CLIENT", "SETNAME", "ok"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "SETNAME", ""}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "GETNAME"}, Want: "$-1\r\n"},
	{Args: []string{"CLIENT", "GETNAME", "x"}, Want: "-ERR wrong number of arguments for 'client|getname' command\r\n"},
	{Args: []string{"CLIENT", "ID", "x"}, Want: "-ERR wrong number of arguments for 'client|id' command\r\n"},
	{Args: []string{"CLIENT", "INFO", "x"}, Want: "-ERR wrong number of arguments for 'client|info' command\r\n"},
	{Args: []string{"CLIENT", "LIST", "TYPE", "foo"}, Want: "-ERR Unknown client type 'foo'\r\n"},
	{Args: []string{"CLIENT", "LIST", "TYPE"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "LIST", "TYPE", "master"}, Want: "$0\r\n\r\n"},
	{Args: []string{"CLIENT", "LIST", "ID", "abc"}, Want: "-ERR Invalid client ID\r\n"},
	{Args: []string{"CLIENT", "LIST", "ID", "0"}, Want: "$0\r\n\r\n"},
	{Args: []string{"CLIENT", "LIST", "ID", "-1"}, Want: "$0\r\n\r\n"},
	{Args: []string{"CLIENT", "LIST", "ID", "99999"}, Want: "$0\r\n\r\n"},
	{Args: []string{"CLIENT", "LIST", "foo"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"HELLO", "2", "SETNAME", "a b"}, Want: "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"},
	{Args: []string{"HELLO", "2", "SETNAME"}, Want: "-ERR Syntax error in HELLO option 'SETNAME'\r\n"},
	{Args: []string{"CLIENT", "PAUSE"}, Want: "-ERR wrong number of arguments for 'client|pause' command\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "abc"}, Want: "-ERR timeout is not an integer or out of range\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "99999999999999999999"}, Want: "-ERR timeout is not an integer or out of range\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "-1"}, Want: "-ERR timeout is negative\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "10", "foo"}, Want: "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "10", "write", "extra"}, Want: "-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "0", "write"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "PAUSE", "0", "ALL"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "UNPAUSE"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "UNPAUSE", "x"}, Want: "-ERR wrong number of arguments for 'client|unpause' command\r\n"},
	{Args: []string{"CLIENT", "REPLY"}, Want: "-ERR wrong number of arguments for 'client|reply' command\r\n"},
	{Args: []string{"CLIENT", "REPLY", "on", "extra"}, Want: "-ERR wrong number of arguments for 'client|reply' command\r\n"},
	{Args: []string{"CLIENT", "REPLY", "foo"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "REPLY", "on"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "KILL"}, Want: "-ERR wrong number of arguments for 'client|kill' command\r\n"},
	{Args: []string{"CLIENT", "KILL", "1.2.3.4:5"}, Want: "-ERR No such client\r\n"},
	{Args: []string{"CLIENT", "KILL", "nonsense"}, Want: "-ERR No such client\r\n"},
	{Args: []string{"CLIENT", "KILL", "id", "abc"}, Want: "-ERR client-id should be greater than 0\r\n"},
	{Args: []string{"CLIENT", "KILL", "id", "0"}, Want: "-ERR client-id should be greater than 0\r\n"},
	{Args: []string{"CLIENT", "KILL", "id", "99999"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "id", "1", "extra"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "KILL", "type", "foo"}, Want: "-ERR Unknown client type 'foo'\r\n"},
	{Args: []string{"CLIENT", "KILL", "type", "normal", "skipme", "yes"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "type", "master"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "user", "nobody"}, Want: "-ERR No such user 'nobody'\r\n"},
	{Args: []string{"CLIENT", "KILL", "user", "default"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "user", "default", "skipme", "no", "type", "pubsub"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "skipme", "maybe"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "KILL", "laddr", "1.2.3.4:5"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "addr", "1.2.3.4:5", "id", "3"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "KILL", "foo", "bar"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "KILL", "maxage", "abc"}, Want: "-ERR maxage is not an integer or out of range\r\n"},
	{Args: []string{"CLIENT", "KILL", "maxage", "0"}, Want: "-ERR maxage should be greater than 0\r\n"},
	{Args: []string{"CLIENT", "KILL", "maxage", "100000"}, Want: ":0\r\n"},
	{Args: []string{"CLIENT", "NO-EVICT"}, Want: "-ERR wrong number of arguments for 'client|no-evict' command\r\n"},
	{Args: []string{"CLIENT", "NO-EVICT", "maybe"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "NO-EVICT", "on", "extra"}, Want: "-ERR wrong number of arguments for 'client|no-evict' command\r\n"},
	{Args: []string{"CLIENT", "NO-EVICT", "on"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "NO-EVICT", "off"}, Want: "+OK\r\n"},
	{Args: []string{"CLIENT", "NO-TOUCH", "maybe"}, Want: "-ERR syntax error\r\n"},
	{Args: []string{"CLIENT", "NO-TOUCH", "on"}, Want: "+OK\r\n"},
}

// ClientLine returns the fields of client id's line in a CLIENT LIST
// reply, and fails t when there is none.
func ClientLine(t testing.TB, list, id string) map[string]string {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(l) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["id"] == id {
			return f
		}
	}
	t.Fatalf("no client id=%s in:\n%s", id, list)
	return nil
}
