package command

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

// Replies used by the string command tests, in RESP2 unless named 3.
const (
	strOK     = "+OK\r\n"
	strNull   = "$-1\r\n"
	strNull3  = "_\r\n"
	strEmpty  = "$0\r\n\r\n"
	strSyntax = "-ERR syntax error\r\n"
	strNotInt = "-ERR value is not an integer or out of range\r\n"
	strNotFlt = "-ERR value is not a valid float\r\n"
	strNaN    = "-ERR increment would produce NaN or Infinity\r\n"
	strOvf    = "-ERR increment or decrement would overflow\r\n"
	strTooBig = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
	strOffset = "-ERR offset is out of range\r\n"
)

func strBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func strInt(n int64) string { return ":" + strconv.FormatInt(n, 10) + "\r\n" }

func strArr(elems ...string) string {
	return "*" + strconv.Itoa(len(elems)) + "\r\n" + strings.Join(elems, "")
}

func strBadExpire(cmd string) string {
	return "-ERR invalid expire time in '" + cmd + "' command\r\n"
}

// strPTTL returns key's time to live in milliseconds at the harness's
// clock as PTTL reports it: -2 for a missing key, -1 for no expiry.
func strPTTL(h *harness, key string) int64 {
	h.t.Helper()
	db := h.dbs[h.ring.LookupString(key)]
	db.SetNow(h.now)
	_, at, ok := db.Lookup([]byte(key))
	switch {
	case !ok:
		return -2
	case at == storage.NoExpiry:
		return -1
	}
	return at - h.now
}

// strKeysOnShards returns one key made from prefix on each shard of h.
func strKeysOnShards(h *harness, prefix string) []string {
	out := make([]string, len(h.dbs))
	found := 0
	for i := 0; found < len(out); i++ {
		k := prefix + strconv.Itoa(i)
		if s := h.ring.LookupString(k); out[s] == "" {
			out[s] = k
			found++
		}
	}
	return out
}

// ttlStep is a command, its reply, and the PTTL of a key afterwards.
type ttlStep struct {
	args    []string
	want    string
	key     string
	wantTTL int64
}

func checkTTL(h *harness, steps []ttlStep) {
	h.t.Helper()
	for _, s := range steps {
		if got := h.do(s.args...); got != s.want {
			h.t.Errorf("%q: got %q, want %q", s.args, got, s.want)
		}
		if got := strPTTL(h, s.key); got != s.wantTTL {
			h.t.Errorf("%q: PTTL %s: got %d, want %d", s.args, s.key, got, s.wantTTL)
		}
	}
}

func TestStringSpecs(t *testing.T) {
	type info struct {
		arity              int
		flags              Flags
		first, last, step0 int
	}
	want := map[string]info{
		"get":         {2, ReadOnly | Fast, 1, 1, 1},
		"set":         {-3, Write | DenyOOM, 1, 1, 1},
		"setnx":       {3, Write | DenyOOM | Fast, 1, 1, 1},
		"setex":       {4, Write | DenyOOM, 1, 1, 1},
		"psetex":      {4, Write | DenyOOM, 1, 1, 1},
		"getset":      {3, Write | DenyOOM | Fast, 1, 1, 1},
		"getdel":      {2, Write | Fast, 1, 1, 1},
		"getex":       {-2, Write | Fast, 1, 1, 1},
		"mget":        {-2, ReadOnly | Fast, 1, -1, 1},
		"mset":        {-3, Write | DenyOOM, 1, -1, 2},
		"msetnx":      {-3, Write | DenyOOM, 1, -1, 2},
		"append":      {3, Write | DenyOOM | Fast, 1, 1, 1},
		"strlen":      {2, ReadOnly | Fast, 1, 1, 1},
		"getrange":    {4, ReadOnly, 1, 1, 1},
		"substr":      {4, ReadOnly, 1, 1, 1},
		"setrange":    {4, Write | DenyOOM, 1, 1, 1},
		"incr":        {2, Write | DenyOOM | Fast, 1, 1, 1},
		"decr":        {2, Write | DenyOOM | Fast, 1, 1, 1},
		"incrby":      {3, Write | DenyOOM | Fast, 1, 1, 1},
		"decrby":      {3, Write | DenyOOM | Fast, 1, 1, 1},
		"incrbyfloat": {3, Write | DenyOOM | Fast, 1, 1, 1},
		"lcs":         {-3, ReadOnly, 1, 2, 1},
	}
	if len(stringCommands) != len(want) {
		t.Errorf("got %d string commands, want %d", len(stringCommands), len(want))
	}
	for _, s := range stringCommands {
		w, ok := want[s.Name]
		if !ok {
			t.Errorf("unexpected command %q", s.Name)
			continue
		}
		got := info{s.Arity, s.Flags, s.FirstKey, s.LastKey, s.Step}
		if got != w || s.Kind != Keyed || s.Run == nil {
			t.Errorf("%s: got %+v kind %d, want %+v kind Keyed", s.Name, got, s.Kind, w)
		}
		if Redis.Lookup([]byte(strings.ToUpper(s.Name))) != s {
			t.Errorf("%s: not in the Redis table", s.Name)
		}
	}
	// Key positions as the router sees them.
	keys := func(args ...string) string {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		var out []string
		for _, k := range Redis.Lookup(argv[0]).Keys(argv, nil) {
			out = append(out, string(k))
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"mset", "a", "1", "b", "2"}, "a,b"},
		{[]string{"msetnx", "a", "1", "b", "2", "c", "3"}, "a,b,c"},
		{[]string{"mget", "a", "b", "c"}, "a,b,c"},
		{[]string{"lcs", "a", "b", "IDX", "LEN"}, "a,b"},
		{[]string{"set", "a", "b", "EX", "10"}, "a"},
		{[]string{"setex", "a", "10", "v"}, "a"},
	} {
		if got := keys(c.args...); got != c.want {
			t.Errorf("keys of %q: got %q, want %q", c.args, got, c.want)
		}
	}
}

func TestGetSetBasics(t *testing.T) {
	h := newHarness(t, 3)
	bin := "a\x00b\r\nc \xff"
	h.check([]step{
		{[]string{"GET", "k"}, strNull},
		{[]string{"SET", "k", "v"}, strOK},
		{[]string{"GET", "k"}, strBulk("v")},
		{[]string{"set", "k", ""}, strOK},
		{[]string{"get", "k"}, strEmpty},
		{[]string{"SET", bin, bin}, strOK},
		{[]string{"GET", bin}, strBulk(bin)},
		{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command\r\n"},
		{[]string{"GET", "a", "b"}, "-ERR wrong number of arguments for 'get' command\r\n"},
		{[]string{"SET", "k"}, "-ERR wrong number of arguments for 'set' command\r\n"},
	})
}

func TestSetOptions(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"SET", "k", "v1"}, strOK},
		// NX and XX.
		{[]string{"SET", "k", "v2", "NX"}, strNull},
		{[]string{"GET", "k"}, strBulk("v1")},
		{[]string{"SET", "k", "v2", "xx"}, strOK},
		{[]string{"GET", "k"}, strBulk("v2")},
		{[]string{"SET", "n", "v", "XX"}, strNull},
		{[]string{"GET", "n"}, strNull},
		{[]string{"SET", "n", "v", "nx"}, strOK},
		{[]string{"GET", "n"}, strBulk("v")},
		// GET, alone and with NX or XX (NX with GET is allowed since 7.0).
		{[]string{"SET", "k", "v3", "GET"}, strBulk("v2")},
		{[]string{"SET", "m", "x", "get"}, strNull},
		{[]string{"GET", "m"}, strBulk("x")},
		{[]string{"SET", "k", "v4", "NX", "GET"}, strBulk("v3")},
		{[]string{"GET", "k"}, strBulk("v3")},
		{[]string{"SET", "z", "new", "GET", "NX"}, strNull},
		{[]string{"GET", "z"}, strBulk("new")},
		{[]string{"SET", "k", "v5", "XX", "GET"}, strBulk("v3")},
		{[]string{"GET", "k"}, strBulk("v5")},
		{[]string{"SET", "none", "v", "XX", "GET"}, strNull},
		{[]string{"GET", "none"}, strNull},
		// Repeats are allowed; the last expiry wins.
		{[]string{"SET", "k", "v6", "GET", "GET", "NX", "NX"}, strBulk("v5")},
		{[]string{"SET", "k", "v6", "EX", "abc", "EX", "10"}, strOK},
		{[]string{"SET", "k", "v6", "EX", "10", "EX", "abc"}, strNotInt},
		// Conflicts and unknown options.
		{[]string{"SET", "k", "v", "NX", "XX"}, strSyntax},
		{[]string{"SET", "k", "v", "XX", "NX"}, strSyntax},
		{[]string{"SET", "k", "v", "EX", "10", "PX", "10"}, strSyntax},
		{[]string{"SET", "k", "v", "PX", "10", "EXAT", "10"}, strSyntax},
		{[]string{"SET", "k", "v", "EXAT", "10", "PXAT", "10"}, strSyntax},
		{[]string{"SET", "k", "v", "KEEPTTL", "EX", "10"}, strSyntax},
		{[]string{"SET", "k", "v", "PXAT", "10", "KEEPTTL"}, strSyntax},
		{[]string{"SET", "k", "v", "PERSIST"}, strSyntax},
		{[]string{"SET", "k", "v", "EX"}, strSyntax},
		{[]string{"SET", "k", "v", "NX", "PXAT"}, strSyntax},
		{[]string{"SET", "k", "v", "FOO"}, strSyntax},
		{[]string{"SET", "k", "v", "NXX"}, strSyntax},
		{[]string{"SET", "k", "v", "10"}, strSyntax},
		// Options compare as C strings: a NUL ends them.
		{[]string{"SET", "k", "v7", "nx\x00junk"}, strNull},
		{[]string{"SET", "k", "v7", "GET\x00", "XX\x00"}, strBulk("v6")},
		// Expiry values.
		{[]string{"SET", "k", "v", "EX", "abc"}, strNotInt},
		{[]string{"SET", "k", "v", "PX", "1.5"}, strNotInt},
		{[]string{"SET", "k", "v", "EX", "+10"}, strNotInt},
		{[]string{"SET", "k", "v", "EX", "0"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "PX", "-1"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "EXAT", "0"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "PXAT", "-5"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "EX", "9223372036854776"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "EX", "9223372036854775"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "PX", "9223372036854775807"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "EXAT", "9223372036854776"}, strBadExpire("set")},
		{[]string{"SET", "k", "v", "EX", "9223372036854775808"}, strNotInt},
		{[]string{"SET", "k", "v", "EXAT", "9223372036854775"}, strOK},
		{[]string{"SET", "k", "v", "PXAT", "9223372036854775807"}, strOK},
		// The expiry is checked before GET replies.
		{[]string{"SET", "k", "v", "EX", "0", "GET"}, strBadExpire("set")},
		{[]string{"GET", "k"}, strBulk("v")},
	})
}

func TestSetExpiry(t *testing.T) {
	h := newHarness(t, 3)
	nowSec := strconv.FormatInt(h.now/1000+100, 10) // 100 s (the clock is on a whole second)
	nowMs := strconv.FormatInt(h.now+2500, 10)
	checkTTL(h, []ttlStep{
		{[]string{"SET", "k", "v", "EX", "10"}, strOK, "k", 10000},
		{[]string{"SET", "k", "v", "PX", "1500"}, strOK, "k", 1500},
		{[]string{"SET", "k", "v", "EXAT", nowSec}, strOK, "k", 100000},
		{[]string{"SET", "k", "v", "PXAT", nowMs}, strOK, "k", 2500},
		{[]string{"SET", "k", "v2", "KEEPTTL"}, strOK, "k", 2500},
		{[]string{"SET", "k", "v3", "KEEPTTL", "GET"}, strBulk("v2"), "k", 2500},
		{[]string{"SET", "k", "v4", "XX", "KEEPTTL"}, strOK, "k", 2500},
		// Without KEEPTTL, SET drops the expiry.
		{[]string{"SET", "k", "v5"}, strOK, "k", -1},
		{[]string{"SET", "k", "v", "EX", "10", "NX"}, strNull, "k", -1},
		{[]string{"SET", "k", "v", "EX", "10", "XX", "GET"}, strBulk("v5"), "k", 10000},
		{[]string{"SET", "k", "v", "NX", "GET", "PX", "5"}, strBulk("v"), "k", 10000},
		{[]string{"SET", "k", "v"}, strOK, "k", -1},
		// KEEPTTL on a new key sets none.
		{[]string{"SET", "new", "v", "KEEPTTL"}, strOK, "new", -1},
		// An absolute time already past deletes the key.
		{[]string{"SET", "k", "v", "PXAT", "1"}, strOK, "k", -2},
		{[]string{"SET", "k", "v", "EXAT", "1", "GET"}, strNull, "k", -2},
	})
	// The key lives through the millisecond it expires at, then goes.
	h.check([]step{{[]string{"SET", "e", "v", "PX", "100"}, strOK}})
	h.advance(100 * time.Millisecond)
	h.check([]step{{[]string{"GET", "e"}, strBulk("v")}})
	h.advance(time.Millisecond)
	h.check([]step{
		{[]string{"GET", "e"}, strNull},
		{[]string{"SET", "e", "v", "EX", "1"}, strOK},
	})
	h.advance(1001 * time.Millisecond)
	h.check([]step{
		{[]string{"GET", "e"}, strNull},
		{[]string{"SET", "e", "w", "NX"}, strOK},
	})
}

func TestSetnxSetexPsetex(t *testing.T) {
	h := newHarness(t, 3)
	checkTTL(h, []ttlStep{
		{[]string{"SETNX", "k", "v"}, strInt(1), "k", -1},
		{[]string{"SETNX", "k", "w"}, strInt(0), "k", -1},
		{[]string{"GET", "k"}, strBulk("v"), "k", -1},
		{[]string{"SETEX", "k", "10", "w"}, strOK, "k", 10000},
		{[]string{"GET", "k"}, strBulk("w"), "k", 10000},
		{[]string{"PSETEX", "k", "1500", "x"}, strOK, "k", 1500},
		{[]string{"GET", "k"}, strBulk("x"), "k", 1500},
		{[]string{"SETEX", "k", "0", "v"}, strBadExpire("setex"), "k", 1500},
		{[]string{"SETEX", "k", "-1", "v"}, strBadExpire("setex"), "k", 1500},
		{[]string{"SETEX", "k", "9223372036854776", "v"}, strBadExpire("setex"), "k", 1500},
		{[]string{"PSETEX", "k", "0", "v"}, strBadExpire("psetex"), "k", 1500},
		{[]string{"PSETEX", "k", "9223372036854775807", "v"}, strBadExpire("psetex"), "k", 1500},
		{[]string{"SETEX", "k", "abc", "v"}, strNotInt, "k", 1500},
		{[]string{"PSETEX", "k", "", "v"}, strNotInt, "k", 1500},
		{[]string{"SETEX", "k", "10"}, "-ERR wrong number of arguments for 'setex' command\r\n", "k", 1500},
		{[]string{"SETNX", "k"}, "-ERR wrong number of arguments for 'setnx' command\r\n", "k", 1500},
	})
	// SETNX sees an expired key as missing.
	h.advance(1501 * time.Millisecond)
	h.check([]step{{[]string{"SETNX", "k", "again"}, strInt(1)}, {[]string{"GET", "k"}, strBulk("again")}})
	if got := strPTTL(h, "k"); got != -1 {
		t.Errorf("PTTL after SETNX: got %d, want -1", got)
	}
}

func TestGetsetGetdel(t *testing.T) {
	h := newHarness(t, 3)
	checkTTL(h, []ttlStep{
		{[]string{"GETSET", "k", "v"}, strNull, "k", -1},
		{[]string{"SET", "k", "v2", "EX", "10"}, strOK, "k", 10000},
		// GETSET drops the expiry.
		{[]string{"GETSET", "k", "v3"}, strBulk("v2"), "k", -1},
		{[]string{"GET", "k"}, strBulk("v3"), "k", -1},
		{[]string{"GETDEL", "k"}, strBulk("v3"), "k", -2},
		{[]string{"GETDEL", "k"}, strNull, "k", -2},
		{[]string{"GET", "k"}, strNull, "k", -2},
		{[]string{"GETDEL", "k", "x"}, "-ERR wrong number of arguments for 'getdel' command\r\n", "k", -2},
	})
}

func TestGetex(t *testing.T) {
	h := newHarness(t, 3)
	exat := strconv.FormatInt(h.now/1000+50, 10)
	pxat := strconv.FormatInt(h.now+700, 10)
	now := strconv.FormatInt(h.now, 10)
	checkTTL(h, []ttlStep{
		// A missing key: null, and the expiry argument is not checked.
		{[]string{"GETEX", "k"}, strNull, "k", -2},
		{[]string{"GETEX", "k", "EX", "abc"}, strNull, "k", -2},
		{[]string{"GETEX", "k", "PX", "0"}, strNull, "k", -2},
		// Options are checked before the key is.
		{[]string{"GETEX", "k", "FOO"}, strSyntax, "k", -2},
		{[]string{"SET", "k", "v"}, strOK, "k", -1},
		{[]string{"GETEX", "k"}, strBulk("v"), "k", -1},
		{[]string{"GETEX", "k", "EX", "100"}, strBulk("v"), "k", 100000},
		{[]string{"GETEX", "k"}, strBulk("v"), "k", 100000},
		{[]string{"GETEX", "k", "px", "500"}, strBulk("v"), "k", 500},
		{[]string{"GETEX", "k", "EXAT", exat}, strBulk("v"), "k", 50000},
		{[]string{"GETEX", "k", "PXAT", pxat}, strBulk("v"), "k", 700},
		{[]string{"GETEX", "k", "PERSIST"}, strBulk("v"), "k", -1},
		{[]string{"GETEX", "k", "persist"}, strBulk("v"), "k", -1},
		{[]string{"GETEX", "k", "EX", "10", "EX", "20"}, strBulk("v"), "k", 20000},
		// Errors, leaving the key as it was.
		{[]string{"GETEX", "k", "EX", "0"}, strBadExpire("getex"), "k", 20000},
		{[]string{"GETEX", "k", "PX", "-1"}, strBadExpire("getex"), "k", 20000},
		{[]string{"GETEX", "k", "EX", "9223372036854776"}, strBadExpire("getex"), "k", 20000},
		{[]string{"GETEX", "k", "PXAT", "0"}, strBadExpire("getex"), "k", 20000},
		{[]string{"GETEX", "k", "EX", "abc"}, strNotInt, "k", 20000},
		{[]string{"GETEX", "k", "EX"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "KEEPTTL"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "NX"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "XX"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "GET"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "PERSIST", "EX", "10"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "EX", "10", "PERSIST"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "EX", "10", "PX", "10"}, strSyntax, "k", 20000},
		{[]string{"GETEX", "k", "EXAT", "10", "PXAT", "10"}, strSyntax, "k", 20000},
		// An absolute time that has come deletes the key after the reply.
		{[]string{"GETEX", "k", "PXAT", now}, strBulk("v"), "k", -2},
		{[]string{"SET", "k", "w"}, strOK, "k", -1},
		{[]string{"GETEX", "k", "EXAT", "1"}, strBulk("w"), "k", -2},
		{[]string{"GETEX", "k"}, strNull, "k", -2},
	})
	// A key read by GETEX expires as usual.
	h.check([]step{{[]string{"SET", "e", "v"}, strOK}, {[]string{"GETEX", "e", "PX", "100"}, strBulk("v")}})
	h.advance(101 * time.Millisecond)
	h.check([]step{{[]string{"GETEX", "e"}, strNull}})
}

func TestMultiKeyAcrossShards(t *testing.T) {
	h := newHarness(t, 3)
	ks := strKeysOnShards(h, "key")
	a, b, c := ks[0], ks[1], ks[2]
	for i, k := range ks {
		if s := h.ring.LookupString(k); s != i {
			t.Fatalf("key %q is on shard %d, want %d", k, s, i)
		}
	}
	h.check([]step{
		{[]string{"MSET", a, "1", b, "2", c, "3"}, strOK},
		{[]string{"MGET", a, b, c, "missing"}, strArr(strBulk("1"), strBulk("2"), strBulk("3"), strNull)},
		{[]string{"MGET", c}, strArr(strBulk("3"))},
		// Each key landed on its own shard.
		{[]string{"MSET", a, "x", a, "y"}, strOK},
		{[]string{"GET", a}, strBulk("y")},
		{[]string{"MSET", a, "1", b}, "-ERR wrong number of arguments for 'mset' command\r\n"},
		{[]string{"MSET", a}, "-ERR wrong number of arguments for 'mset' command\r\n"},
		{[]string{"MGET"}, "-ERR wrong number of arguments for 'mget' command\r\n"},
		// MSETNX is all or nothing across shards.
		{[]string{"MSETNX", "n1", "v", c, "no"}, strInt(0)},
		{[]string{"GET", "n1"}, strNull},
		{[]string{"GET", c}, strBulk("3")},
		{[]string{"GETDEL", a}, strBulk("y")},
		{[]string{"GETDEL", b}, strBulk("2")},
		{[]string{"GETDEL", c}, strBulk("3")},
		{[]string{"MSETNX", a, "A", b, "B", c, "C"}, strInt(1)},
		{[]string{"MGET", a, b, c}, strArr(strBulk("A"), strBulk("B"), strBulk("C"))},
		{[]string{"MSETNX", a, "1", b}, "-ERR wrong number of arguments for 'msetnx' command\r\n"},
		{[]string{"MSETNX", "d", "1", "d", "2"}, strInt(1)},
		{[]string{"GET", "d"}, strBulk("2")},
	})
	for i, k := range []string{a, b, c} {
		if _, ok := h.dbs[i].Get([]byte(k)); !ok {
			t.Errorf("key %q is not on shard %d", k, i)
		}
	}
	// MSET drops expiries; MSETNX treats expired keys as missing.
	checkTTL(h, []ttlStep{
		{[]string{"SET", a, "v", "EX", "10"}, strOK, a, 10000},
		{[]string{"MSET", a, "w", b, "w"}, strOK, a, -1},
		{[]string{"SET", c, "v", "PX", "50"}, strOK, c, 50},
		{[]string{"MSETNX", c, "new", "fresh", "x"}, strInt(0), c, 50},
	})
	h.advance(51 * time.Millisecond)
	h.check([]step{
		{[]string{"MGET", a, c}, strArr(strBulk("w"), strNull)},
		{[]string{"MSETNX", c, "new", "fresh", "x"}, strInt(1)},
		{[]string{"MGET", c, "fresh"}, strArr(strBulk("new"), strBulk("x"))},
	})
}

func TestAppendStrlen(t *testing.T) {
	h := newHarness(t, 3)
	checkTTL(h, []ttlStep{
		{[]string{"STRLEN", "k"}, strInt(0), "k", -2},
		{[]string{"APPEND", "k", "abc"}, strInt(3), "k", -1},
		{[]string{"APPEND", "k", ""}, strInt(3), "k", -1},
		{[]string{"APPEND", "k", "\x00\r\n"}, strInt(6), "k", -1},
		{[]string{"GET", "k"}, strBulk("abc\x00\r\n"), "k", -1},
		{[]string{"STRLEN", "k"}, strInt(6), "k", -1},
		{[]string{"APPEND", "e", ""}, strInt(0), "e", -1},
		{[]string{"GET", "e"}, strEmpty, "e", -1},
		// APPEND keeps the expiry.
		{[]string{"GETEX", "k", "EX", "10"}, strBulk("abc\x00\r\n"), "k", 10000},
		{[]string{"APPEND", "k", "x"}, strInt(7), "k", 10000},
		{[]string{"STRLEN", "k"}, strInt(7), "k", 10000},
		{[]string{"APPEND", "k"}, "-ERR wrong number of arguments for 'append' command\r\n", "k", 10000},
		{[]string{"STRLEN", "k", "x"}, "-ERR wrong number of arguments for 'strlen' command\r\n", "k", 10000},
	})
	// A value longer than the scratch space is built in its own buffer.
	long := strings.Repeat("x", scratchMax)
	h.check([]step{
		{[]string{"SET", "l", long}, strOK},
		{[]string{"APPEND", "l", "yz"}, strInt(int64(scratchMax + 2))},
		{[]string{"GET", "l"}, strBulk(long + "yz")},
		{[]string{"APPEND", "l", long}, strInt(int64(2*scratchMax + 2))},
		{[]string{"STRLEN", "l"}, strInt(int64(2*scratchMax + 2))},
	})
	h.advance(10*time.Second + time.Millisecond)
	h.check([]step{{[]string{"STRLEN", "k"}, strInt(0)}, {[]string{"APPEND", "k", "z"}, strInt(1)}})
}

func TestGetrange(t *testing.T) {
	h := newHarness(t, 3)
	h.do("SET", "s", "Hello")
	h.do("SET", "e", "")
	for _, c := range []struct {
		key, start, end, want string
	}{
		{"s", "0", "-1", strBulk("Hello")},
		{"s", "0", "0", strBulk("H")},
		{"s", "1", "3", strBulk("ell")},
		{"s", "-3", "-1", strBulk("llo")},
		{"s", "-1", "-5", strEmpty},
		{"s", "0", "-100", strBulk("H")},
		{"s", "-100", "-200", strEmpty},
		{"s", "-100", "2", strBulk("Hel")},
		{"s", "3", "1", strEmpty},
		{"s", "10", "20", strEmpty},
		{"s", "4", "100", strBulk("o")},
		{"s", "9223372036854775807", "9223372036854775807", strEmpty},
		{"s", "-9223372036854775808", "-1", strBulk("Hello")},
		{"s", "0", "9223372036854775808", strNotInt},
		{"s", "a", "1", strNotInt},
		{"s", "1", "", strNotInt},
		{"s", "+1", "2", strNotInt},
		{"missing", "0", "-1", strEmpty},
		{"missing", "a", "1", strNotInt},
		{"e", "0", "-1", strEmpty},
		{"e", "0", "0", strEmpty},
	} {
		for _, cmd := range []string{"GETRANGE", "SUBSTR"} {
			if got := h.do(cmd, c.key, c.start, c.end); got != c.want {
				t.Errorf("%s %s %s %s: got %q, want %q", cmd, c.key, c.start, c.end, got, c.want)
			}
		}
	}
	h.check([]step{{[]string{"GETRANGE", "s", "0"}, "-ERR wrong number of arguments for 'getrange' command\r\n"}})
}

func TestSetrange(t *testing.T) {
	h := newHarness(t, 3)
	checkTTL(h, []ttlStep{
		// Nothing to write on a missing key: 0, and no key.
		{[]string{"SETRANGE", "k", "5", ""}, strInt(0), "k", -2},
		{[]string{"SETRANGE", "k", "9999999999", ""}, strInt(0), "k", -2},
		{[]string{"SETRANGE", "k", "-1", ""}, strOffset, "k", -2},
		{[]string{"SETRANGE", "k", "-1", "x"}, strOffset, "k", -2},
		{[]string{"SETRANGE", "k", "abc", "x"}, strNotInt, "k", -2},
		{[]string{"SETRANGE", "k", "536870911", "ab"}, strTooBig, "k", -2},
		{[]string{"SETRANGE", "k", "9223372036854775807", "a"}, strTooBig, "k", -2},
		{[]string{"SETRANGE", "k", "2", "ab"}, strInt(4), "k", -1},
		{[]string{"GET", "k"}, strBulk("\x00\x00ab"), "k", -1},
		{[]string{"SET", "k", "Hello World", "EX", "10"}, strOK, "k", 10000},
		// SETRANGE keeps the expiry.
		{[]string{"SETRANGE", "k", "6", "Redis"}, strInt(11), "k", 10000},
		{[]string{"GET", "k"}, strBulk("Hello Redis"), "k", 10000},
		{[]string{"SETRANGE", "k", "0", "J"}, strInt(11), "k", 10000},
		{[]string{"SETRANGE", "k", "9", "xyz"}, strInt(12), "k", 10000},
		{[]string{"GET", "k"}, strBulk("Jello Redxyz"), "k", 10000},
		{[]string{"SETRANGE", "k", "14", "!"}, strInt(15), "k", 10000},
		{[]string{"GET", "k"}, strBulk("Jello Redxyz\x00\x00!"), "k", 10000},
		{[]string{"SETRANGE", "k", "9999999999", ""}, strInt(15), "k", 10000},
		{[]string{"SETRANGE", "k", "536870911", "ab"}, strTooBig, "k", 10000},
		{[]string{"SETRANGE", "k", "1"}, "-ERR wrong number of arguments for 'setrange' command\r\n", "k", 10000},
	})
	// A gap longer than the scratch space.
	want := strings.Repeat("\x00", scratchMax+10) + "end"
	h.check([]step{
		{[]string{"SETRANGE", "big", strconv.Itoa(scratchMax + 10), "end"}, strInt(int64(len(want)))},
		{[]string{"GET", "big"}, strBulk(want)},
	})
}

func TestSetrangeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 512 MiB")
	}
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"SETRANGE", "k", "536870911", "a"}, strInt(maxStringLen)},
		{[]string{"STRLEN", "k"}, strInt(maxStringLen)},
		{[]string{"APPEND", "k", "b"}, strTooBig},
		{[]string{"SETRANGE", "k", "536870911", "ab"}, strTooBig},
		{[]string{"GETRANGE", "k", "-2", "-1"}, strBulk("\x00a")},
	})
}

func TestIncrDecr(t *testing.T) {
	h := newHarness(t, 3)
	checkTTL(h, []ttlStep{
		{[]string{"INCR", "n"}, strInt(1), "n", -1},
		{[]string{"INCR", "n"}, strInt(2), "n", -1},
		{[]string{"DECR", "n"}, strInt(1), "n", -1},
		{[]string{"INCRBY", "n", "41"}, strInt(42), "n", -1},
		{[]string{"DECRBY", "n", "50"}, strInt(-8), "n", -1},
		{[]string{"DECRBY", "n", "-10"}, strInt(2), "n", -1},
		{[]string{"INCRBY", "n", "-3"}, strInt(-1), "n", -1},
		{[]string{"GET", "n"}, strBulk("-1"), "n", -1},
		{[]string{"DECR", "m"}, strInt(-1), "m", -1},
		// The counters keep the expiry.
		{[]string{"SET", "n", "10", "EX", "10"}, strOK, "n", 10000},
		{[]string{"INCR", "n"}, strInt(11), "n", 10000},
		{[]string{"DECRBY", "n", "1"}, strInt(10), "n", 10000},
		{[]string{"INCRBY", "n", "5"}, strInt(15), "n", 10000},
		{[]string{"DECR", "n"}, strInt(14), "n", 10000},
	})
	h.check([]step{
		// Stored values must be canonical integers.
		{[]string{"SET", "x", "abc"}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"SET", "x", " 1"}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"SET", "x", "1 "}, strOK},
		{[]string{"DECR", "x"}, strNotInt},
		{[]string{"SET", "x", "01"}, strOK},
		{[]string{"INCRBY", "x", "1"}, strNotInt},
		{[]string{"SET", "x", "-0"}, strOK},
		{[]string{"DECRBY", "x", "1"}, strNotInt},
		{[]string{"SET", "x", "+1"}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"SET", "x", "1.0"}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"SET", "x", "1e5"}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"SET", "x", ""}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"SET", "x", "9223372036854775808"}, strOK},
		{[]string{"INCR", "x"}, strNotInt},
		{[]string{"GET", "x"}, strBulk("9223372036854775808")},
		// Arguments too.
		{[]string{"INCRBY", "y", "abc"}, strNotInt},
		{[]string{"INCRBY", "y", "+1"}, strNotInt},
		{[]string{"INCRBY", "y", "1.5"}, strNotInt},
		{[]string{"INCRBY", "y", "9223372036854775808"}, strNotInt},
		{[]string{"DECRBY", "y", "-9223372036854775809"}, strNotInt},
		{[]string{"DECRBY", "y", ""}, strNotInt},
		{[]string{"GET", "y"}, strNull},
		// Overflow, in both directions.
		{[]string{"SET", "x", "9223372036854775807"}, strOK},
		{[]string{"INCR", "x"}, strOvf},
		{[]string{"INCRBY", "x", "0"}, strInt(math.MaxInt64)},
		{[]string{"DECRBY", "x", "-1"}, strOvf},
		{[]string{"INCRBY", "x", "-9223372036854775808"}, strInt(-1)},
		{[]string{"SET", "x", "-9223372036854775808"}, strOK},
		{[]string{"DECR", "x"}, strOvf},
		{[]string{"INCRBY", "x", "-1"}, strOvf},
		{[]string{"INCRBY", "x", "9223372036854775807"}, strInt(-1)},
		{[]string{"DECRBY", "x", "-9223372036854775808"}, "-ERR decrement would overflow\r\n"},
		{[]string{"GET", "x"}, strBulk("-1")},
		{[]string{"DECRBY", "x", "9223372036854775807"}, strInt(math.MinInt64)},
		{[]string{"GET", "x"}, strBulk("-9223372036854775808")},
		{[]string{"INCR", "x", "1"}, "-ERR wrong number of arguments for 'incr' command\r\n"},
		{[]string{"INCRBY", "x"}, "-ERR wrong number of arguments for 'incrby' command\r\n"},
	})
	// An expired counter starts again from 0.
	h.advance(11 * time.Second)
	h.check([]step{{[]string{"INCR", "n"}, strInt(1)}})
	if got := strPTTL(h, "n"); got != -1 {
		t.Errorf("PTTL after INCR of an expired key: got %d, want -1", got)
	}
}

func TestIncrbyfloat(t *testing.T) {
	// Every want is what Redis 7 on x86-64 replies.
	for _, c := range []struct {
		old  string // "" for a missing key
		incr string
		want string
	}{
		{"10.5", "0.1", strBulk("10.6")},
		{"5.0e3", "0", strBulk("5000")},
		{"5000", "1e-20", strBulk("5000")},
		{"", "3.0e3", strBulk("3000")},
		{"3000", "-3000", strBulk("0")},
		{"0", "0.1", strBulk("0.1")},
		{"0.1", "0.2", strBulk("0.3")},
		{"0.3", "-1e-20", strBulk("0.3")},
		{"", "-1e-20", strBulk("0")},
		{"0.1", "-0.1", strBulk("0")},
		{"", "1e-17", strBulk("0.00000000000000001")},
		{"", "5e-18", strBulk("0")},
		{"", "3.0000000000000000000000000001", strBulk("3")},
		{"", "1.23456789012345678901234", strBulk("1.23456789012345679")},
		{"", "123456789012345678901234567890", strBulk("123456789012345678899921813504")},
		{"", "-0", strBulk("0")},
		{"", "0.000003814697265625", strBulk("0.00000381469726562")},
		{"", "0.000011444091796875", strBulk("0.00001144409179688")},
		{"", "-1.5e-3", strBulk("-0.0015")},
		{"", "1e-10", strBulk("0.0000000001")},
		{"", "12345.678", strBulk("12345.67799999999999994")},
		{"", "1e20", strBulk("100000000000000000000")},
		{"", "1e30", strBulk("1000000000000000000024696061952")},
		{"", "0x1p-2", strBulk("0.25")},
		{"", "0X1.8P1", strBulk("3")},
		{"", "0x10", strBulk("16")},
		{"", "+.5", strBulk("0.5")},
		{"", "5.", strBulk("5")},
		{"", "00012", strBulk("12")},
		{"", "1e+5", strBulk("100000")},
		{"", "-.5e1", strBulk("-5")},
		{"", "1E-5", strBulk("0.00001")},
		{"9223372036854775807", "1", strBulk("9223372036854775808")},
		{"12345678901234567890", "0", strBulk("12345678901234567890")},
		{"", "1e-4940", strBulk("0")},
		{"", "4e-4951", strBulk("0")},
		{"", "1.7976931348623157e308", strBulk("179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384")},
		// Errors.
		{"", "inf", strNaN},
		{"", "-inf", strNaN},
		{"", "Infinity", strNaN},
		{"inf", "1", strNaN},
		{"1e4932", "1e4932", strNaN},
		{"1.18e4932", "1e4930", strNaN},
		{"", "nan", strNotFlt},
		{"", " 1", strNotFlt},
		{"", "1 ", strNotFlt},
		{"", "abc", strNotFlt},
		{"", "", strNotFlt},
		{"", "1e", strNotFlt},
		{"", "e1", strNotFlt},
		{"", ".", strNotFlt},
		{"", "0x", strNotFlt},
		{"", "0x1p", strNotFlt},
		{"", "1_0", strNotFlt},
		{"", "--1", strNotFlt},
		{"", "1\x002", strNotFlt},
		{"", "1e5000", strNotFlt},
		{"", "1e-5000", strNotFlt},
		{"", "1e99999999999999999999", strNotFlt},
		{"", strings.Repeat("1", 5120), strNotFlt},
		{"abc", "1", strNotFlt},
		{"  ", "0", strNotFlt},
		{"inf", "x", strNotFlt},
		{"1.5", "x", strNotFlt},
	} {
		h := newHarness(t, 1)
		if c.old != "" {
			h.do("SET", "k", c.old)
		}
		if got := h.do("INCRBYFLOAT", "k", c.incr); got != c.want {
			t.Errorf("%q INCRBYFLOAT %q: got %q, want %q", c.old, c.incr, got, c.want)
		}
	}
	h := newHarness(t, 3)
	checkTTL(h, []ttlStep{
		{[]string{"INCRBYFLOAT", "f", "1.5"}, strBulk("1.5"), "f", -1},
		{[]string{"GET", "f"}, strBulk("1.5"), "f", -1},
		{[]string{"GETEX", "f", "PX", "500"}, strBulk("1.5"), "f", 500},
		{[]string{"INCRBYFLOAT", "f", "1"}, strBulk("2.5"), "f", 500},
		{[]string{"INCRBYFLOAT", "f", "inf"}, strNaN, "f", 500},
		{[]string{"GET", "f"}, strBulk("2.5"), "f", 500},
		{[]string{"INCRBYFLOAT", "f"}, "-ERR wrong number of arguments for 'incrbyfloat' command\r\n", "f", 500},
	})
}

func TestLCS(t *testing.T) {
	h := newHarness(t, 3)
	ks := strKeysOnShards(h, "lcs")
	a, b := ks[0], ks[1]
	h.do("MSET", a, "ohmytext", b, "mynewtext", "x", "ABCBDAB", "y", "BDCABA", "e", "")
	idx := "*4\r\n$7\r\nmatches\r\n*2\r\n" +
		"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n" +
		"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n" +
		"$3\r\nlen\r\n:6\r\n"
	idxLen := "*4\r\n$7\r\nmatches\r\n*2\r\n" +
		"*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n" +
		"*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n" +
		"$3\r\nlen\r\n:6\r\n"
	xyIdx := "*4\r\n$7\r\nmatches\r\n*2\r\n" +
		"*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n" +
		"*3\r\n*2\r\n:3\r\n:4\r\n*2\r\n:0\r\n:1\r\n:2\r\n" +
		"$3\r\nlen\r\n:4\r\n"
	h.check([]step{
		{[]string{"LCS", a, b}, strBulk("mytext")},
		{[]string{"LCS", a, b, "LEN"}, strInt(6)},
		{[]string{"LCS", a, b, "IDX"}, idx},
		{[]string{"LCS", a, b, "idx", "MINMATCHLEN", "2"}, idx},
		{[]string{"LCS", a, b, "IDX", "MINMATCHLEN", "-5"}, idx},
		{[]string{"LCS", a, b, "IDX", "WITHMATCHLEN"}, idxLen},
		{[]string{"LCS", a, b, "IDX", "MINMATCHLEN", "0", "WITHMATCHLEN"}, idxLen},
		{[]string{"LCS", a, b, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"},
			"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"},
		{[]string{"LCS", a, b, "WITHMATCHLEN"}, strBulk("mytext")},
		{[]string{"LCS", a, b, "LEN", "WITHMATCHLEN"}, strInt(6)},
		{[]string{"LCS", a, b, "LEN", "MINMATCHLEN", "3"}, strInt(6)},
		{[]string{"LCS", a, a, "IDX"}, "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:0\r\n:7\r\n*2\r\n:0\r\n:7\r\n$3\r\nlen\r\n:8\r\n"},
		{[]string{"LCS", "x", "y"}, strBulk("BDAB")},
		{[]string{"LCS", "x", "y", "IDX", "WITHMATCHLEN"}, xyIdx},
		{[]string{"LCS", "x", "y", "idx\x00zz", "withmatchlen"}, xyIdx},
		{[]string{"LCS", "y", "x", "IDX"}, "*4\r\n$7\r\nmatches\r\n*4\r\n" +
			"*2\r\n*2\r\n:5\r\n:5\r\n*2\r\n:5\r\n:5\r\n" +
			"*2\r\n*2\r\n:4\r\n:4\r\n*2\r\n:3\r\n:3\r\n" +
			"*2\r\n*2\r\n:2\r\n:2\r\n*2\r\n:2\r\n:2\r\n" +
			"*2\r\n*2\r\n:0\r\n:0\r\n*2\r\n:1\r\n:1\r\n" +
			"$3\r\nlen\r\n:4\r\n"},
		// Missing keys are empty strings.
		{[]string{"LCS", a, "missing"}, strEmpty},
		{[]string{"LCS", "missing", "other", "LEN"}, strInt(0)},
		{[]string{"LCS", "e", a, "IDX", "WITHMATCHLEN"}, "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"},
		// Errors.
		{[]string{"LCS", a, b, "LEN", "IDX"}, "-ERR If you want both the length and indexes, please just use IDX.\r\n"},
		{[]string{"LCS", a, b, "MINMATCHLEN"}, strSyntax},
		{[]string{"LCS", a, b, "MINMATCHLEN", "x"}, strNotInt},
		{[]string{"LCS", a, b, "MINMATCHLEN", "9223372036854775808"}, strNotInt},
		{[]string{"LCS", a, b, "FOO"}, strSyntax},
		{[]string{"LCS", a}, "-ERR wrong number of arguments for 'lcs' command\r\n"},
	})
	// The IDX reply is a map in RESP3; everything else keeps its shape.
	h.proto(3)
	h.check([]step{
		{[]string{"LCS", "x", "y", "IDX", "WITHMATCHLEN"}, "%2" + strings.TrimPrefix(xyIdx, "*4")},
		{[]string{"LCS", a, "e", "IDX"}, "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"},
		{[]string{"LCS", "x", "y", "LEN"}, strInt(4)},
		{[]string{"LCS", "x", "y"}, strBulk("BDAB")},
	})
}

func TestLCSTooLarge(t *testing.T) {
	h := newHarness(t, 1)
	long := strings.Repeat("a", 1<<14)
	h.do("MSET", "a", long, "b", long)
	h.check([]step{
		{[]string{"LCS", "a", "b", "LEN"}, "-ERR Insufficient memory, failed allocating transient memory for LCS\r\n"},
		{[]string{"LCS", "a", "c", "LEN"}, strInt(0)},
	})
}

func TestStringRESP3(t *testing.T) {
	h := newHarness(t, 3)
	h.proto(3)
	ks := strKeysOnShards(h, "r3")
	h.check([]step{
		{[]string{"GET", "k"}, strNull3},
		{[]string{"SET", "k", "v", "XX"}, strNull3},
		{[]string{"SET", "k", "v", "GET"}, strNull3},
		{[]string{"SET", "k", "w", "NX"}, strNull3},
		{[]string{"SET", "k", "w", "NX", "GET"}, strBulk("v")},
		{[]string{"SETNX", "k", "w"}, strInt(0)},
		{[]string{"GETSET", "n", "v"}, strNull3},
		{[]string{"GETDEL", "m"}, strNull3},
		{[]string{"GETEX", "m", "PERSIST"}, strNull3},
		{[]string{"MSET", ks[0], "1", ks[2], "3"}, strOK},
		{[]string{"MGET", ks[0], ks[1], ks[2]}, strArr(strBulk("1"), strNull3, strBulk("3"))},
		{[]string{"GETRANGE", "missing", "0", "-1"}, strEmpty},
		{[]string{"INCRBYFLOAT", "f", "1.5"}, strBulk("1.5")},
		{[]string{"INCR", "i"}, strInt(1)},
		{[]string{"STRLEN", "k"}, strInt(1)},
	})
}

// TestStringHotPathAllocs checks that the common commands cost no
// allocation of their own once a key exists.
func TestStringHotPathAllocs(t *testing.T) {
	db := keyspace.New(memory.New())
	db.SetNow(1)
	var ctx Ctx
	h := newHarness(t, 1)
	ctx.W = &h.w
	ctx.Single(db, 0, h.ring)
	run := func(args ...string) func() {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		spec := Redis.Lookup(argv[0])
		return func() {
			h.w.Reset()
			spec.Run(&ctx, argv)
		}
	}
	for _, args := range [][]string{
		{"SET", "k", "value"},
		{"GET", "k"},
		{"SET", "k", "value", "EX", "100"},
		{"SET", "k", "value", "KEEPTTL", "GET"},
		{"GETEX", "k", "PX", "1000"},
		{"STRLEN", "k"},
		{"GETRANGE", "k", "1", "-2"},
		{"MGET", "k", "k"},
		{"MSET", "k", "value", "k", "value"},
		{"INCR", "n"},
		{"DECRBY", "n", "1"},
		{"SETRANGE", "k", "0", "V"},
	} {
		f := run(args...)
		f()
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%q: %v allocations, want 0", args, n)
		}
	}
}
