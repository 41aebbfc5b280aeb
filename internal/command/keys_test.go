package command

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// keyBulk returns s as a RESP bulk string.
func keyBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

// keyArray returns the RESP array of the bulk strings elems.
func keyArray(elems ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(elems)) + "\r\n")
	for _, e := range elems {
		b.WriteString(keyBulk(e))
	}
	return b.String()
}

// keyInt returns n as a RESP integer.
func keyInt(n int64) string { return ":" + strconv.FormatInt(n, 10) + "\r\n" }

// keyDo runs one command like h.do. Two test-only commands reach the keyspace
// directly, so that these tests do not depend on the string commands:
// SEED key value stores value without expiry and replies +OK; VALUE key
// replies with the value as a bulk string, or a null.
func keyDo(h *harness, args ...string) string {
	h.t.Helper()
	switch args[0] {
	case "SEED":
		keySeed(h, args[1], args[2])
		return "+OK\r\n"
	case "VALUE":
		for _, db := range h.dbs {
			db.SetNow(h.now)
		}
		v, ok := h.dbs[h.ring.LookupString(args[1])].Get([]byte(args[1]))
		if !ok {
			return "$-1\r\n"
		}
		return keyBulk(string(v))
	}
	return h.do(args...)
}

// keyCheck runs each step with keyDo and compares replies.
func keyCheck(h *harness, steps []step) {
	h.t.Helper()
	for _, s := range steps {
		if got := keyDo(h, s.args...); got != s.want {
			h.t.Errorf("%q: got %q, want %q", s.args, got, s.want)
		}
	}
}

// keySeed stores key with value and no expiry.
func keySeed(h *harness, key, value string) {
	h.dbs[h.ring.LookupString(key)].Set([]byte(key), []byte(value), storage.NoExpiry)
}

// keysOnEveryShard returns n keys made from prefix on every shard of h, indexed
// by shard.
func keysOnEveryShard(h *harness, prefix string, n int) [][]string {
	out := make([][]string, len(h.dbs))
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		s := h.ring.LookupString(k)
		if len(out[s]) < n {
			out[s] = append(out[s], k)
		}
		done := true
		for _, ks := range out {
			done = done && len(ks) == n
		}
		if done {
			return out
		}
	}
}

// keyParseScan splits a SCAN reply into its cursor and keys.
func keyParseScan(t *testing.T, reply string) (cursor string, keys []string) {
	t.Helper()
	rest := reply
	line := func() string {
		i := strings.Index(rest, "\r\n")
		if i < 0 {
			t.Fatalf("malformed SCAN reply %q", reply)
		}
		l := rest[:i]
		rest = rest[i+2:]
		return l
	}
	blk := func() string {
		h := line()
		n, err := strconv.Atoi(strings.TrimPrefix(h, "$"))
		if !strings.HasPrefix(h, "$") || err != nil || len(rest) < n+2 {
			t.Fatalf("malformed SCAN reply %q", reply)
		}
		s := rest[:n]
		rest = rest[n+2:]
		return s
	}
	if line() != "*2" {
		t.Fatalf("SCAN reply %q: want a two-element array", reply)
	}
	cursor = blk()
	h := line()
	n, err := strconv.Atoi(strings.TrimPrefix(h, "*"))
	if !strings.HasPrefix(h, "*") || err != nil {
		t.Fatalf("malformed SCAN reply %q", reply)
	}
	for range n {
		keys = append(keys, blk())
	}
	if rest != "" {
		t.Fatalf("SCAN reply %q: trailing %q", reply, rest)
	}
	return cursor, keys
}

// keyScanAll runs a full SCAN with the given options and returns how many times
// each key was returned and how many calls it took.
func keyScanAll(t *testing.T, h *harness, opts ...string) (map[string]int, int) {
	t.Helper()
	seen := make(map[string]int)
	cursor := "0"
	for calls := 1; calls <= 100000; calls++ {
		reply := keyDo(h, append([]string{"SCAN", cursor}, opts...)...)
		next, keys := keyParseScan(t, reply)
		for _, k := range keys {
			seen[k]++
		}
		if next == "0" {
			return seen, calls
		}
		cursor = next
	}
	t.Fatalf("SCAN %q did not finish", opts)
	return nil, 0
}

func TestKeySpecs(t *testing.T) {
	tests := []struct {
		name                    string
		arity                   int
		flags                   Flags
		firstKey, lastKey, step int
		kind                    Kind
	}{
		{"del", -2, Write, 1, -1, 1, Keyed},
		{"unlink", -2, Write | Fast, 1, -1, 1, Keyed},
		{"exists", -2, ReadOnly | Fast, 1, -1, 1, Keyed},
		{"touch", -2, ReadOnly | Fast, 1, -1, 1, Keyed},
		{"type", 2, ReadOnly | Fast, 1, 1, 1, Keyed},
		{"rename", 3, Write, 1, 2, 1, Keyed},
		{"renamenx", 3, Write | Fast, 1, 2, 1, Keyed},
		{"copy", -3, Write | DenyOOM, 1, 2, 1, Keyed},
		{"delete", 2, Write | Fast, 1, 1, 1, Keyed},
		{"list", 1, ReadOnly, 0, 0, 0, AllShards},
		{"expire", -3, Write | Fast, 1, 1, 1, Keyed},
		{"pexpire", -3, Write | Fast, 1, 1, 1, Keyed},
		{"expireat", -3, Write | Fast, 1, 1, 1, Keyed},
		{"pexpireat", -3, Write | Fast, 1, 1, 1, Keyed},
		{"ttl", 2, ReadOnly | Fast, 1, 1, 1, Keyed},
		{"pttl", 2, ReadOnly | Fast, 1, 1, 1, Keyed},
		{"expiretime", 2, ReadOnly | Fast, 1, 1, 1, Keyed},
		{"pexpiretime", 2, ReadOnly | Fast, 1, 1, 1, Keyed},
		{"persist", 2, Write | Fast, 1, 1, 1, Keyed},
		{"keys", 2, ReadOnly, 0, 0, 0, AllShards},
		{"scan", -2, ReadOnly, 0, 0, 0, Cursor},
		{"randomkey", 1, ReadOnly, 0, 0, 0, AllShards},
		{"object", -2, ReadOnly, 2, 2, 1, Keyed},
	}
	for _, tt := range tests {
		s := Redis.Lookup([]byte(tt.name))
		if s == nil {
			t.Errorf("%s: not in the table", tt.name)
			continue
		}
		got := fmt.Sprint(s.Arity, s.Flags, s.FirstKey, s.LastKey, s.Step, s.Kind)
		want := fmt.Sprint(tt.arity, tt.flags, tt.firstKey, tt.lastKey, tt.step, tt.kind)
		if got != want {
			t.Errorf("%s: got arity, flags, keys, kind %s, want %s", tt.name, got, want)
		}
	}
	for _, tt := range []struct {
		args []string
		keys []string
	}{
		{[]string{"DEL", "a", "b", "c"}, []string{"a", "b", "c"}},
		{[]string{"RENAME", "a", "b"}, []string{"a", "b"}},
		{[]string{"COPY", "a", "b", "DB", "0", "REPLACE"}, []string{"a", "b"}},
		{[]string{"OBJECT", "ENCODING", "k"}, []string{"k"}},
		{[]string{"OBJECT", "HELP"}, nil},
		{[]string{"EXPIRE", "k", "10", "NX"}, []string{"k"}},
	} {
		argv := make([][]byte, len(tt.args))
		for i, a := range tt.args {
			argv[i] = []byte(a)
		}
		var got []string
		for _, k := range Redis.Lookup(argv[0]).Keys(argv, nil) {
			got = append(got, string(k))
		}
		if !slices.Equal(got, tt.keys) {
			t.Errorf("keys of %q: got %q, want %q", tt.args, got, tt.keys)
		}
	}
}

func TestDelExistsTypeTouch(t *testing.T) {
	h := newHarness(t, 3)
	keyCheck(h, []step{
		{[]string{"SEED", "a", "1"}, "+OK\r\n"},
		{[]string{"SEED", "b", "2"}, "+OK\r\n"},
		{[]string{"SEED", "c", "3"}, "+OK\r\n"},
		{[]string{"EXISTS", "a"}, ":1\r\n"},
		{[]string{"EXISTS", "a", "a", "b", "nope"}, ":3\r\n"},
		{[]string{"TOUCH", "a", "a", "nope", "c"}, ":3\r\n"},
		{[]string{"TYPE", "a"}, "+string\r\n"},
		{[]string{"TYPE", "nope"}, "+none\r\n"},
		{[]string{"DEL", "a", "a", "nope"}, ":1\r\n"},
		{[]string{"EXISTS", "a"}, ":0\r\n"},
		{[]string{"UNLINK", "b", "c", "b"}, ":2\r\n"},
		{[]string{"DBSIZE"}, ":0\r\n"},
		{[]string{"DEL"}, "-ERR wrong number of arguments for 'del' command\r\n"},
		{[]string{"EXISTS"}, "-ERR wrong number of arguments for 'exists' command\r\n"},
		{[]string{"TYPE", "a", "b"}, "-ERR wrong number of arguments for 'type' command\r\n"},
		{[]string{"TOUCH"}, "-ERR wrong number of arguments for 'touch' command\r\n"},
		{[]string{"UNLINK"}, "-ERR wrong number of arguments for 'unlink' command\r\n"},
	})
}

func TestDeleteList(t *testing.T) {
	h := newHarness(t, 3)
	keyCheck(h, []step{
		{[]string{"LIST"}, "*0\r\n"},
		{[]string{"SEED", "b", "1"}, "+OK\r\n"},
		{[]string{"SEED", "a", "1"}, "+OK\r\n"},
		{[]string{"SEED", "", "1"}, "+OK\r\n"},
		{[]string{"SEED", "ab", "1"}, "+OK\r\n"},
		{[]string{"SEED", "\xff", "1"}, "+OK\r\n"},
		{[]string{"SEED", "B", "1"}, "+OK\r\n"},
		{[]string{"LIST"}, keyArray("", "B", "a", "ab", "b", "\xff")},
		{[]string{"DELETE", "a"}, "+OK\r\n"},
		{[]string{"DELETE", "a"}, "+OK\r\n"},
		{[]string{"LIST"}, keyArray("", "B", "ab", "b", "\xff")},
		{[]string{"LIST", "x"}, "-ERR wrong number of arguments for 'list' command\r\n"},
		{[]string{"DELETE"}, "-ERR wrong number of arguments for 'delete' command\r\n"},
	})
}

func TestRename(t *testing.T) {
	h := newHarness(t, 3)
	keyCheck(h, []step{
		{[]string{"RENAME", "nope", "x"}, "-ERR no such key\r\n"},
		{[]string{"RENAME", "nope", "nope"}, "-ERR no such key\r\n"},
		{[]string{"RENAMENX", "nope", "x"}, "-ERR no such key\r\n"},
		{[]string{"SEED", "a", "va"}, "+OK\r\n"},
		{[]string{"RENAME", "a", "a"}, "+OK\r\n"},
		{[]string{"RENAMENX", "a", "a"}, ":0\r\n"},
		{[]string{"VALUE", "a"}, keyBulk("va")},
		{[]string{"PEXPIRE", "a", "5000"}, ":1\r\n"},
		{[]string{"RENAME", "a", "b"}, "+OK\r\n"},
		{[]string{"EXISTS", "a"}, ":0\r\n"},
		{[]string{"VALUE", "b"}, keyBulk("va")},
		{[]string{"PTTL", "b"}, ":5000\r\n"},
		// Overwriting takes the source's expiry, or none.
		{[]string{"SEED", "c", "vc"}, "+OK\r\n"},
		{[]string{"RENAME", "c", "b"}, "+OK\r\n"},
		{[]string{"VALUE", "b"}, keyBulk("vc")},
		{[]string{"PTTL", "b"}, ":-1\r\n"},
		{[]string{"SEED", "d", "vd"}, "+OK\r\n"},
		{[]string{"RENAMENX", "d", "b"}, ":0\r\n"},
		{[]string{"VALUE", "d"}, keyBulk("vd")},
		{[]string{"RENAMENX", "d", "e"}, ":1\r\n"},
		{[]string{"VALUE", "e"}, keyBulk("vd")},
		{[]string{"EXISTS", "d"}, ":0\r\n"},
		{[]string{"RENAME", "a"}, "-ERR wrong number of arguments for 'rename' command\r\n"},
		{[]string{"RENAMENX", "a", "b", "c"}, "-ERR wrong number of arguments for 'renamenx' command\r\n"},
	})
}

func TestRenameExpired(t *testing.T) {
	h := newHarness(t, 3)
	keyCheck(h, []step{
		{[]string{"SEED", "a", "1"}, "+OK\r\n"},
		{[]string{"PEXPIRE", "a", "100"}, ":1\r\n"},
		{[]string{"SEED", "b", "2"}, "+OK\r\n"},
		{[]string{"PEXPIRE", "b", "100"}, ":1\r\n"},
		{[]string{"SEED", "c", "3"}, "+OK\r\n"},
	})
	h.advance(101 * time.Millisecond)
	keyCheck(h, []step{
		{[]string{"RENAME", "a", "x"}, "-ERR no such key\r\n"},
		// An expired destination counts as absent.
		{[]string{"RENAMENX", "c", "b"}, ":1\r\n"},
		{[]string{"VALUE", "b"}, keyBulk("3")},
	})
}

func TestCrossShardRenameCopy(t *testing.T) {
	h := newHarness(t, 3)
	ks := keysOnEveryShard(h, "key", 2)
	a, b, c := ks[0][0], ks[1][0], ks[2][0]
	keyCheck(h, []step{
		{[]string{"SEED", a, "value"}, "+OK\r\n"},
		{[]string{"PEXPIRE", a, "7000"}, ":1\r\n"},
		{[]string{"RENAME", a, b}, "+OK\r\n"},
		{[]string{"EXISTS", a}, ":0\r\n"},
		{[]string{"VALUE", b}, keyBulk("value")},
		{[]string{"PTTL", b}, ":7000\r\n"},
		{[]string{"COPY", b, c}, ":1\r\n"},
		{[]string{"VALUE", c}, keyBulk("value")},
		{[]string{"PTTL", c}, ":7000\r\n"},
		{[]string{"VALUE", b}, keyBulk("value")},
		{[]string{"SEED", a, "other"}, "+OK\r\n"},
		{[]string{"COPY", a, c}, ":0\r\n"},
		{[]string{"COPY", a, c, "REPLACE"}, ":1\r\n"},
		{[]string{"VALUE", c}, keyBulk("other")},
		{[]string{"PTTL", c}, ":-1\r\n"},
		{[]string{"RENAMENX", a, b}, ":0\r\n"},
		{[]string{"RENAMENX", a, ks[1][1]}, ":1\r\n"},
		{[]string{"VALUE", ks[1][1]}, keyBulk("other")},
		{[]string{"DEL", a, b, c, ks[1][1]}, ":3\r\n"},
		{[]string{"DBSIZE"}, ":0\r\n"},
	})
	for i, db := range h.dbs {
		if db.Len() != 0 {
			t.Errorf("shard %d: got %d keys, want 0", i, db.Len())
		}
	}
}

func TestCopy(t *testing.T) {
	h := newHarness(t, 3)
	keyCheck(h, []step{
		{[]string{"COPY", "nope", "x"}, ":0\r\n"},
		{[]string{"SEED", "a", "va"}, "+OK\r\n"},
		{[]string{"SEED", "b", "vb"}, "+OK\r\n"},
		{[]string{"COPY", "a", "a"}, "-ERR source and destination objects are the same\r\n"},
		{[]string{"COPY", "nope", "nope"}, "-ERR source and destination objects are the same\r\n"},
		{[]string{"COPY", "a", "b"}, ":0\r\n"},
		{[]string{"COPY", "nope", "b", "REPLACE"}, ":0\r\n"},
		{[]string{"VALUE", "b"}, keyBulk("vb")},
		{[]string{"COPY", "a", "b", "replace"}, ":1\r\n"},
		{[]string{"VALUE", "b"}, keyBulk("va")},
		{[]string{"COPY", "a", "c", "DB", "0"}, ":1\r\n"},
		{[]string{"COPY", "a", "d", "db", "0", "REPLACE", "REPLACE"}, ":1\r\n"},
		{[]string{"VALUE", "d"}, keyBulk("va")},
		{[]string{"COPY", "a", "e", "DB", "1"}, "-ERR DB index is out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "-1"}, "-ERR DB index is out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "2147483648"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "1", "bogus"}, "-ERR DB index is out of range\r\n"},
		{[]string{"COPY", "a", "e", "bogus", "DB", "1"}, "-ERR syntax error\r\n"},
		{[]string{"COPY", "a", "e", "DB"}, "-ERR syntax error\r\n"},
		{[]string{"COPY", "a", "a", "DB", "1"}, "-ERR DB index is out of range\r\n"},
		{[]string{"EXISTS", "e"}, ":0\r\n"},
		{[]string{"COPY", "a"}, "-ERR wrong number of arguments for 'copy' command\r\n"},
	})
}

// TestCopyCluster checks COPY's DB option on a cluster node against
// replies recorded from a redis-server 7.0.15 cluster node.
func TestCopyCluster(t *testing.T) {
	h := newHarness(t, 3)
	h.ctx.Cluster = true
	keyCheck(h, []step{
		{[]string{"SEED", "a", "va"}, "+OK\r\n"},
		{[]string{"COPY", "a", "e", "DB", "1"}, "-ERR Copying to another database is not allowed in cluster mode\r\n"},
		{[]string{"COPY", "a", "e", "DB", "15", "REPLACE"}, "-ERR Copying to another database is not allowed in cluster mode\r\n"},
		{[]string{"COPY", "a", "a", "DB", "1"}, "-ERR Copying to another database is not allowed in cluster mode\r\n"},
		{[]string{"COPY", "nope", "e", "DB", "1"}, "-ERR Copying to another database is not allowed in cluster mode\r\n"},
		{[]string{"COPY", "a", "e", "DB", "16"}, "-ERR DB index is out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "-1"}, "-ERR DB index is out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "1", "bogus"}, "-ERR syntax error\r\n"},
		{[]string{"COPY", "a", "e", "DB", "16", "bogus"}, "-ERR DB index is out of range\r\n"},
		{[]string{"COPY", "a", "e", "DB", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"EXISTS", "e"}, ":0\r\n"},
		{[]string{"COPY", "a", "e", "DB", "1", "DB", "0"}, ":1\r\n"},
		{[]string{"COPY", "a", "e", "DB", "0"}, ":0\r\n"},
	})
}

// keyTimed is a step run after moving the clock forward by wait.
type keyTimed struct {
	wait time.Duration
	args []string
	want string
}

func keyCheckTimed(h *harness, steps []keyTimed) {
	h.t.Helper()
	for _, s := range steps {
		h.advance(s.wait)
		if got := keyDo(h, s.args...); got != s.want {
			h.t.Errorf("%q after %v: got %q, want %q", s.args, s.wait, got, s.want)
		}
	}
}

func TestExpire(t *testing.T) {
	h := newHarness(t, 3)
	ms := func(d int64) string { return strconv.FormatInt(h.now+d, 10) }
	s := func(d int64) string { return strconv.FormatInt((h.now+d)/1000, 10) }
	keyCheckTimed(h, []keyTimed{
		{0, []string{"EXPIRE", "nope", "10"}, ":0\r\n"},
		{0, []string{"TTL", "nope"}, ":-2\r\n"},
		{0, []string{"PTTL", "nope"}, ":-2\r\n"},
		{0, []string{"EXPIRETIME", "nope"}, ":-2\r\n"},
		{0, []string{"PEXPIRETIME", "nope"}, ":-2\r\n"},
		{0, []string{"PERSIST", "nope"}, ":0\r\n"},
		{0, []string{"SEED", "k", "v"}, "+OK\r\n"},
		{0, []string{"TTL", "k"}, ":-1\r\n"},
		{0, []string{"PTTL", "k"}, ":-1\r\n"},
		{0, []string{"EXPIRETIME", "k"}, ":-1\r\n"},
		{0, []string{"PEXPIRETIME", "k"}, ":-1\r\n"},
		{0, []string{"PERSIST", "k"}, ":0\r\n"},
		{0, []string{"EXPIRE", "k", "10"}, ":1\r\n"},
		{0, []string{"TTL", "k"}, ":10\r\n"},
		{0, []string{"PTTL", "k"}, ":10000\r\n"},
		{0, []string{"PEXPIRETIME", "k"}, keyInt(h.now + 10000)},
		{0, []string{"EXPIRETIME", "k"}, keyInt((h.now + 10000 + 500) / 1000)},
		{2600 * time.Millisecond, []string{"PTTL", "k"}, ":7400\r\n"},
		{0, []string{"TTL", "k"}, ":7\r\n"},                      // 7.4 s rounds down
		{200 * time.Millisecond, []string{"TTL", "k"}, ":7\r\n"}, // 7.2 s
		{0, []string{"PEXPIRE", "k", "6500"}, ":1\r\n"},
		{0, []string{"TTL", "k"}, ":7\r\n"}, // 6.5 s rounds up
		{0, []string{"PERSIST", "k"}, ":1\r\n"},
		{0, []string{"PTTL", "k"}, ":-1\r\n"},
		{0, []string{"PERSIST", "k"}, ":0\r\n"},
		{0, []string{"PEXPIRE", "k", "100"}, ":1\r\n"},
		{100 * time.Millisecond, []string{"PTTL", "k"}, ":0\r\n"}, // still there during its last millisecond
		{0, []string{"VALUE", "k"}, keyBulk("v")},
		{1 * time.Millisecond, []string{"VALUE", "k"}, "$-1\r\n"},
		{0, []string{"TTL", "k"}, ":-2\r\n"},
		{0, []string{"EXPIRE", "k", "10"}, ":0\r\n"},
	})
	keyCheckTimed(h, []keyTimed{
		{0, []string{"SEED", "k", "v"}, "+OK\r\n"},
		{0, []string{"PEXPIREAT", "k", ms(5000)}, ":1\r\n"},
		{0, []string{"PTTL", "k"}, ":5000\r\n"},
		{0, []string{"PEXPIRETIME", "k"}, keyInt(h.now + 5000)},
		{0, []string{"EXPIREAT", "k", s(20000)}, ":1\r\n"},
		{0, []string{"EXPIRETIME", "k"}, keyInt((h.now + 20000) / 1000)},
	})
}

func TestExpirePastDeletes(t *testing.T) {
	for _, args := range [][]string{
		{"EXPIRE", "k", "0"},
		{"EXPIRE", "k", "-10"},
		{"PEXPIRE", "k", "0"},
		{"PEXPIRE", "k", "-1"},
		{"EXPIREAT", "k", "0"},
		{"EXPIREAT", "k", "1"},
		{"PEXPIREAT", "k", "-9223372036854775808"},
		{"EXPIRE", "k", "-9223372036854775"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			h := newHarness(t, 3)
			keyCheck(h, []step{
				{[]string{"SEED", "k", "v"}, "+OK\r\n"},
				{args, ":1\r\n"},
				{[]string{"EXISTS", "k"}, ":0\r\n"},
				{[]string{"DBSIZE"}, ":0\r\n"},
				{args, ":0\r\n"},
			})
		})
	}
	// A time equal to now is in the past for EXPIRE, as in Redis.
	h := newHarness(t, 3)
	keyCheck(h, []step{
		{[]string{"SEED", "k", "v"}, "+OK\r\n"},
		{[]string{"PEXPIREAT", "k", strconv.FormatInt(h.now, 10)}, ":1\r\n"},
		{[]string{"EXISTS", "k"}, ":0\r\n"},
	})
}

func TestExpireOptions(t *testing.T) {
	const none = "" // no expiry before the command
	tests := []struct {
		before string // "" or the PEXPIRE time set first
		args   []string
		want   string
		after  string // PTTL reply afterwards
	}{
		{none, []string{"NX"}, ":1\r\n", ":5000\r\n"},
		{"3000", []string{"NX"}, ":0\r\n", ":3000\r\n"},
		{none, []string{"XX"}, ":0\r\n", ":-1\r\n"},
		{"3000", []string{"XX"}, ":1\r\n", ":5000\r\n"},
		{none, []string{"GT"}, ":0\r\n", ":-1\r\n"},
		{"3000", []string{"GT"}, ":1\r\n", ":5000\r\n"},
		{"5000", []string{"GT"}, ":0\r\n", ":5000\r\n"},
		{"7000", []string{"GT"}, ":0\r\n", ":7000\r\n"},
		{none, []string{"LT"}, ":1\r\n", ":5000\r\n"},
		{"3000", []string{"LT"}, ":0\r\n", ":3000\r\n"},
		{"5000", []string{"LT"}, ":0\r\n", ":5000\r\n"},
		{"7000", []string{"LT"}, ":1\r\n", ":5000\r\n"},
		{"3000", []string{"XX", "GT"}, ":1\r\n", ":5000\r\n"},
		{none, []string{"XX", "LT"}, ":0\r\n", ":-1\r\n"},
		{"7000", []string{"xx", "lt"}, ":1\r\n", ":5000\r\n"},
		{"3000", []string{"nx", "NX"}, ":0\r\n", ":3000\r\n"},
		{"3000", []string{"GT", "gt"}, ":1\r\n", ":5000\r\n"},
		{"3000", []string{"NX", "XX"}, "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", ":3000\r\n"},
		{none, []string{"NX", "GT"}, "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", ":-1\r\n"},
		{none, []string{"LT", "NX"}, "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", ":-1\r\n"},
		{"3000", []string{"GT", "LT"}, "-ERR GT and LT options at the same time are not compatible\r\n", ":3000\r\n"},
		{none, []string{"NX", "GT", "LT"}, "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", ":-1\r\n"},
		{none, []string{"NX", "bogus"}, "-ERR Unsupported option bogus\r\n", ":-1\r\n"},
		{none, []string{"bo\x00gus"}, "-ERR Unsupported option bo\r\n", ":-1\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.before+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			h := newHarness(t, 3)
			keySeed(h, "k", "v")
			if tt.before != none {
				keyDo(h, "PEXPIRE", "k", tt.before)
			}
			if got := keyDo(h, append([]string{"PEXPIRE", "k", "5000"}, tt.args...)...); got != tt.want {
				t.Errorf("PEXPIRE k 5000 %q: got %q, want %q", tt.args, got, tt.want)
			}
			if got := keyDo(h, "PTTL", "k"); got != tt.after {
				t.Errorf("PTTL afterwards: got %q, want %q", got, tt.after)
			}
		})
	}
	// Options are checked even when the key is missing.
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"EXPIRE", "nope", "1", "NX"}, ":0\r\n"},
		{[]string{"EXPIRE", "nope", "1", "NX", "XX"}, "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"},
		{[]string{"EXPIRE", "nope", "x", "bogus"}, "-ERR Unsupported option bogus\r\n"},
	})
}

func TestExpireErrors(t *testing.T) {
	h := newHarness(t, 3)
	keySeed(h, "k", "v")
	const notInt = "-ERR value is not an integer or out of range\r\n"
	h.check([]step{
		{[]string{"EXPIRE", "k", "x"}, notInt},
		{[]string{"EXPIRE", "k", ""}, notInt},
		{[]string{"EXPIRE", "k", "1.5"}, notInt},
		{[]string{"EXPIRE", "k", "+1"}, notInt},
		{[]string{"EXPIRE", "k", " 1"}, notInt},
		{[]string{"EXPIRE", "k", "01"}, notInt},
		{[]string{"EXPIRE", "k", "-0"}, notInt},
		{[]string{"PEXPIRE", "k", "9223372036854775808"}, notInt},
		{[]string{"EXPIRE", "k", "9223372036854775807"}, "-ERR invalid expire time in 'expire' command\r\n"},
		{[]string{"EXPIRE", "k", "9223372036854776"}, "-ERR invalid expire time in 'expire' command\r\n"},
		{[]string{"EXPIRE", "k", "-9223372036854776"}, "-ERR invalid expire time in 'expire' command\r\n"},
		{[]string{"EXPIREAT", "k", "9223372036854776"}, "-ERR invalid expire time in 'expireat' command\r\n"},
		{[]string{"PEXPIRE", "k", "9223372036854775807"}, "-ERR invalid expire time in 'pexpire' command\r\n"},
		{[]string{"EXPIRE", "nope", "9223372036854775807"}, "-ERR invalid expire time in 'expire' command\r\n"},
		{[]string{"EXPIRE", "k"}, "-ERR wrong number of arguments for 'expire' command\r\n"},
		{[]string{"PEXPIREAT", "k"}, "-ERR wrong number of arguments for 'pexpireat' command\r\n"},
		{[]string{"TTL", "k", "x"}, "-ERR wrong number of arguments for 'ttl' command\r\n"},
		{[]string{"PERSIST"}, "-ERR wrong number of arguments for 'persist' command\r\n"},
		{[]string{"PTTL", "k"}, ":-1\r\n"},
		// The largest absolute time is accepted.
		{[]string{"PEXPIREAT", "k", "9223372036854775807"}, ":1\r\n"},
		{[]string{"PEXPIRETIME", "k"}, ":9223372036854775807\r\n"},
		{[]string{"EXPIREAT", "k", "9223372036854775"}, ":1\r\n"},
		{[]string{"EXPIRETIME", "k"}, ":9223372036854775\r\n"},
	})
}

func TestKeysCommand(t *testing.T) {
	h := newHarness(t, 3)
	for _, k := range []string{"", "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "a\x00b", "\xff\xfe", "user:1", "user:2", "user:10"} {
		keySeed(h, k, "v")
	}
	keySeed(h, "gone", "v")
	keyDo(h, "PEXPIRE", "gone", "10")
	h.advance(11 * time.Millisecond)
	tests := []struct {
		pattern string
		want    []string
	}{
		{"*", []string{"", "a\x00b", "h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo", "user:1", "user:10", "user:2", "\xff\xfe"}},
		{"**", []string{"a\x00b", "h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo", "user:1", "user:10", "user:2", "\xff\xfe"}},
		{"", []string{""}},
		{"h?llo", []string{"h*llo", "hallo", "hello", "hxllo"}},
		{"h*llo", []string{"h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"}},
		{"h[ae]llo", []string{"hallo", "hello"}},
		{"h[^e]llo", []string{"h*llo", "hallo", "hxllo"}},
		{"h[a-b]llo", []string{"hallo"}},
		{`h\*llo`, []string{"h*llo"}},
		{"user:?", []string{"user:1", "user:2"}},
		{"user:*", []string{"user:1", "user:10", "user:2"}},
		{"a?b", []string{"a\x00b"}},
		{"\xff*", []string{"\xff\xfe"}},
		{"gone", nil},
		{"nothing*", nil},
	}
	for _, tt := range tests {
		got := keyDo(h, "KEYS", tt.pattern)
		// Order is the engines' own: compare sorted.
		keys := keyParseArray(t, got)
		slices.Sort(keys)
		if !slices.Equal(keys, tt.want) {
			t.Errorf("KEYS %q: got %q, want %q", tt.pattern, keys, tt.want)
		}
	}
	h.check([]step{
		{[]string{"KEYS"}, "-ERR wrong number of arguments for 'keys' command\r\n"},
		{[]string{"KEYS", "a", "b"}, "-ERR wrong number of arguments for 'keys' command\r\n"},
	})
}

// keyParseArray parses a RESP array of bulk strings.
func keyParseArray(t *testing.T, reply string) []string {
	t.Helper()
	_, keys := keyParseScan(t, "*2\r\n$1\r\n0\r\n"+reply)
	return keys
}

// TestEmptyArgumentNil passes an empty pattern or type as a nil slice, as a
// reader may: it must still mean the empty string, not "no filter".
func TestEmptyArgumentNil(t *testing.T) {
	h := newHarness(t, 3)
	for _, k := range []string{"", "a", "b", "c", "d"} {
		keySeed(h, k, "v")
	}
	run := func(args ...[]byte) string {
		h.w.Reset()
		h.ctx.W = &h.w
		h.ctx.Held(h.dbs, h.ring)
		Redis.Lookup(args[0]).Run(&h.ctx, args)
		return string(h.w.Bytes())
	}
	if got, want := run([]byte("KEYS"), nil), keyArray(""); got != want {
		t.Errorf("KEYS with a nil pattern: got %q, want %q", got, want)
	}
	var seen []string
	for cursor := "0"; ; {
		next, keys := keyParseScan(t, run([]byte("SCAN"), []byte(cursor), []byte("MATCH"), nil, []byte("COUNT"), []byte("100")))
		seen = append(seen, keys...)
		if cursor = next; cursor == "0" {
			break
		}
	}
	if !slices.Equal(seen, []string{""}) {
		t.Errorf("SCAN MATCH with a nil pattern: got %q, want %q", seen, []string{""})
	}
	for _, cursor := range []string{"0", "1", "2"} {
		if _, keys := keyParseScan(t, run([]byte("SCAN"), []byte(cursor), []byte("TYPE"), nil, []byte("COUNT"), []byte("100"))); len(keys) != 0 {
			t.Errorf("SCAN %s TYPE with a nil type: got %q, want none", cursor, keys)
		}
	}
}

func TestScanCoversEveryKeyOnce(t *testing.T) {
	h := newHarness(t, 3)
	const n = 1000
	want := make(map[string]bool)
	for i := range n {
		k := "key:" + strconv.Itoa(i)
		want[k] = true
		keySeed(h, k, "v")
	}
	// Leave holes in the engines' slots, and an empty key.
	for i := 0; i < n; i += 7 {
		k := "key:" + strconv.Itoa(i)
		delete(want, k)
		keyDo(h, "DEL", k)
	}
	want[""] = true
	keySeed(h, "", "v")
	for _, db := range h.dbs {
		if db.Len() == 0 {
			t.Fatal("a shard is empty: the test needs keys on every shard")
		}
	}
	for _, count := range []int{1, 10, 1000} {
		t.Run("COUNT "+strconv.Itoa(count), func(t *testing.T) {
			seen, calls := keyScanAll(t, h, "COUNT", strconv.Itoa(count))
			for k, c := range seen {
				if c != 1 || !want[k] {
					t.Errorf("key %q: returned %d times, want once (present %v)", k, c, want[k])
				}
			}
			if len(seen) != len(want) {
				t.Errorf("got %d keys, want %d", len(seen), len(want))
			}
			// A call visits at most COUNT entries of one shard.
			if minCalls := len(want) / count; calls < minCalls {
				t.Errorf("got %d calls, want at least %d", calls, minCalls)
			}
			if count == 1000 && calls != 3 {
				t.Errorf("got %d calls, want 3, one per shard", calls)
			}
		})
	}
	t.Run("default COUNT", func(t *testing.T) {
		seen, _ := keyScanAll(t, h)
		if len(seen) != len(want) {
			t.Errorf("got %d keys, want %d", len(seen), len(want))
		}
	})
}

func TestScanFilters(t *testing.T) {
	h := newHarness(t, 3)
	all := make(map[string]bool)
	for i := range 300 {
		k := "user:" + strconv.Itoa(i)
		if i%3 == 0 {
			k = "item:" + strconv.Itoa(i)
		}
		all[k] = true
		keySeed(h, k, "v")
	}
	keySeed(h, "", "v")
	all[""] = true
	tests := []struct {
		opts []string
		want func(string) bool
	}{
		{[]string{"MATCH", "user:*"}, func(k string) bool { return strings.HasPrefix(k, "user:") }},
		{[]string{"MATCH", "item:1?"}, func(k string) bool { return strings.HasPrefix(k, "item:1") && len(k) == 7 }},
		{[]string{"MATCH", "*"}, func(string) bool { return true }},
		{[]string{"MATCH", "**"}, func(k string) bool { return k != "" }},
		{[]string{"MATCH", ""}, func(k string) bool { return k == "" }},
		{[]string{"TYPE", "string"}, func(string) bool { return true }},
		{[]string{"type", "STRING", "count", "5"}, func(string) bool { return true }},
		{[]string{"TYPE", "list"}, func(string) bool { return false }},
		{[]string{"TYPE", "hash", "MATCH", "*"}, func(string) bool { return false }},
		{[]string{"TYPE", "nosuchtype"}, func(string) bool { return false }},
		{[]string{"MATCH", "user:1*", "TYPE", "string", "COUNT", "3"}, func(k string) bool { return strings.HasPrefix(k, "user:1") }},
		{[]string{"MATCH", "nothing", "MATCH", "user:2*"}, func(k string) bool { return strings.HasPrefix(k, "user:2") }},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.opts, " "), func(t *testing.T) {
			seen, _ := keyScanAll(t, h, tt.opts...)
			for k := range all {
				if got, want := seen[k], tt.want(k); (got == 1) != want || got > 1 {
					t.Errorf("key %q: returned %d times, want %v", k, got, want)
				}
			}
			for k := range seen {
				if !all[k] {
					t.Errorf("key %q returned, never set", k)
				}
			}
		})
	}
}

func TestScanErrors(t *testing.T) {
	h := newHarness(t, 3)
	keySeed(h, "k", "v")
	const (
		invalid = "-ERR invalid cursor\r\n"
		syntax  = "-ERR syntax error\r\n"
		notInt  = "-ERR value is not an integer or out of range\r\n"
	)
	h.check([]step{
		{[]string{"SCAN", "x"}, invalid},
		{[]string{"SCAN", "1x"}, invalid},
		{[]string{"SCAN", " 1"}, invalid},
		{[]string{"SCAN", "1 "}, invalid},
		{[]string{"SCAN", "+"}, invalid},
		{[]string{"SCAN", "-"}, invalid},
		{[]string{"SCAN", "0x10"}, invalid},
		{[]string{"SCAN", "18446744073709551616"}, invalid},
		{[]string{"SCAN", "x", "COUNT", "0"}, invalid},
		{[]string{"SCAN", "0", "COUNT", "0"}, syntax},
		{[]string{"SCAN", "0", "COUNT", "-1"}, syntax},
		{[]string{"SCAN", "0", "COUNT", "x"}, notInt},
		{[]string{"SCAN", "0", "COUNT", "1.0"}, notInt},
		{[]string{"SCAN", "0", "COUNT"}, syntax},
		{[]string{"SCAN", "0", "MATCH"}, syntax},
		{[]string{"SCAN", "0", "TYPE"}, syntax},
		{[]string{"SCAN", "0", "BOGUS", "1"}, syntax},
		{[]string{"SCAN", "0", "COUNT", "1", "x"}, syntax},
		{[]string{"SCAN", "0", "COUNT", "0", "BOGUS"}, syntax},
		{[]string{"SCAN"}, "-ERR wrong number of arguments for 'scan' command\r\n"},
	})
	// Cursors Redis's strtoul accepts.
	for _, cur := range []string{"", "+0", "-0", "00", "18446744073709551615", "-1", "+7"} {
		reply := keyDo(h, "SCAN", cur)
		if strings.HasPrefix(reply, "-") {
			t.Errorf("SCAN %q: got %q, want a reply", cur, reply)
		}
	}
}

func TestScanShard(t *testing.T) {
	tests := []struct {
		cursor string
		shards int
		want   int
	}{
		{"0", 3, 0},
		{"1", 3, 1},
		{"2", 3, 2},
		{"3", 3, 0},
		{"14", 3, 2},
		{"", 3, 0},
		{"18446744073709551615", 3, 0},
		{"18446744073709551615", 4, 3},
		{"5", 1, 0},
		{"x", 3, -1},
		{"-", 3, -1},
		{"18446744073709551616", 3, -1},
		{"0", 0, -1},
	}
	for _, tt := range tests {
		if got := scanShard([][]byte{[]byte("SCAN"), []byte(tt.cursor)}, tt.shards); got != tt.want {
			t.Errorf("scanShard(%q, %d): got %d, want %d", tt.cursor, tt.shards, got, tt.want)
		}
	}
	if got := scanShard([][]byte{[]byte("SCAN")}, 3); got != -1 {
		t.Errorf("scanShard without a cursor: got %d, want -1", got)
	}
}

// TestScanOneShard runs SCAN as a shard does, with only the keyspace of the
// shard its cursor names, and checks that every call stays on that shard.
func TestScanOneShard(t *testing.T) {
	h := newHarness(t, 3)
	ks := keysOnEveryShard(h, "k", 5)
	for _, shardKeys := range ks {
		for _, k := range shardKeys {
			keySeed(h, k, "v")
		}
	}
	spec := Redis.Lookup([]byte("scan"))
	var w resp.Writer
	var c Ctx
	c.W = &w
	run := func(args ...string) string {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		w.Reset()
		if i := spec.Shard(argv, len(h.dbs)); i >= 0 {
			c.Single(h.dbs[i], i, h.ring)
		} else {
			c.Held(make([]*keyspace.DB, len(h.dbs)), h.ring)
		}
		spec.Run(&c, argv)
		return string(w.Bytes())
	}
	cursor := "0"
	for shard := range 3 {
		var got []string
		for range 10 {
			if s := spec.Shard([][]byte{nil, []byte(cursor)}, 3); s != shard {
				t.Fatalf("cursor %s: got shard %d, want %d", cursor, s, shard)
			}
			next, keys := keyParseScan(t, run("SCAN", cursor, "COUNT", "2"))
			got = append(got, keys...)
			cursor = next
			if s, _ := strconv.Atoi(next); s%3 != shard {
				break
			}
		}
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(ks[shard])); !slices.Equal(got, want) {
			t.Errorf("shard %d: got %q, want %q", shard, got, want)
		}
	}
	if cursor != "0" {
		t.Errorf("after the last shard: got cursor %s, want 0", cursor)
	}
	if got, want := run("SCAN", "x"), "-ERR invalid cursor\r\n"; got != want {
		t.Errorf("SCAN x: got %q, want %q", got, want)
	}
}

// SCAN skips the shards without keys after its cursor's: an empty
// keyspace is scanned in one call that answers cursor 0, as Redis does,
// and one whose keys are on the last shard only in two. A shard whose
// count is not known is visited (a command that runs on one shard knows
// the others' through Ctx.ShardKeys).
func TestScanEmptyShards(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"SCAN", "0"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
		{[]string{"SCAN", "1"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
		{[]string{"SCAN", "2"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
	})
	h.proto(3)
	h.check([]step{
		{[]string{"SCAN", "2", "COUNT", "100"}, "*2\r\n$1\r\n0\r\n*0\r\n"},
	})
	h.proto(2)
	k := ""
	for i := 0; k == ""; i++ {
		if c := "k" + strconv.Itoa(i); h.ring.LookupString(c) == 2 {
			k = c
		}
	}
	keySeed(h, k, "v")
	h.check([]step{
		{[]string{"SCAN", "0"}, "*2\r\n$1\r\n2\r\n*0\r\n"},
		{[]string{"SCAN", "1"}, "*2\r\n$1\r\n2\r\n*0\r\n"},
		{[]string{"SCAN", "2"}, "*2\r\n$1\r\n0\r\n*1\r\n$" + strconv.Itoa(len(k)) + "\r\n" + k + "\r\n"},
	})
	// Run on shard 0 alone, as a shard's goroutine runs it: the other
	// shards are known by their counts, or visited when they are not.
	var single Ctx
	var w resp.Writer
	single.Single(h.dbs[0], 0, h.ring)
	single.W = &w
	for _, tc := range []struct {
		counts func(int) int64
		want   string
	}{
		{func(i int) int64 { return int64(h.dbs[i].Len()) }, "2"},
		{func(int) int64 { return 0 }, "0"},
		{nil, "1"},
	} {
		w.Reset()
		single.ShardKeys = tc.counts
		Redis.Lookup([]byte("SCAN")).Run(&single, [][]byte{[]byte("SCAN"), []byte("0")})
		if next, _ := keyParseScan(t, string(w.Bytes())); next != tc.want {
			t.Errorf("SCAN 0 on shard 0 alone (counts %v): next cursor %s, want %s", tc.counts != nil, next, tc.want)
		}
	}
}

func TestScanExpired(t *testing.T) {
	h := newHarness(t, 3)
	live := make(map[string]bool)
	for i := range 200 {
		k := "k" + strconv.Itoa(i)
		keySeed(h, k, "v")
		if i%2 == 0 {
			keyDo(h, "PEXPIRE", k, "50")
		} else {
			live[k] = true
		}
	}
	h.advance(51 * time.Millisecond)
	if got := keyDo(h, "DBSIZE"); got != ":200\r\n" {
		t.Fatalf("DBSIZE before the scan: got %q, want %q", got, ":200\r\n")
	}
	seen, _ := keyScanAll(t, h, "COUNT", "7")
	for k := range seen {
		if !live[k] {
			t.Errorf("expired key %q returned", k)
		}
	}
	if len(seen) != len(live) {
		t.Errorf("got %d keys, want %d", len(seen), len(live))
	}
	// The scan removed the expired keys it met.
	if got, want := keyDo(h, "DBSIZE"), keyInt(int64(len(live))); got != want {
		t.Errorf("DBSIZE after the scan: got %q, want %q", got, want)
	}
}

func TestRandomKey(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{{[]string{"RANDOMKEY"}, "$-1\r\n"}})
	h.proto(3)
	h.check([]step{{[]string{"RANDOMKEY"}, "_\r\n"}})
	h.proto(2)
	h.check([]step{{[]string{"RANDOMKEY", "x"}, "-ERR wrong number of arguments for 'randomkey' command\r\n"}})

	keySeed(h, "only", "v")
	h.check([]step{{[]string{"RANDOMKEY"}, keyBulk("only")}})
	keyDo(h, "DEL", "only")

	keys := make(map[string]int)
	for i := range 30 {
		k := "r" + strconv.Itoa(i)
		keys[k] = 0
		keySeed(h, k, "v")
	}
	for range 3000 {
		got := keyParseArray(t, "*1\r\n"+keyDo(h, "RANDOMKEY"))
		if _, ok := keys[got[0]]; !ok {
			t.Fatalf("RANDOMKEY: got %q, not a key", got[0])
		}
		keys[got[0]]++
	}
	for k, n := range keys {
		// Each key is expected 100 times; 30 is far out in the tail.
		if n < 30 {
			t.Errorf("key %q chosen %d times in 3000, want about 100", k, n)
		}
	}

	// Keys that have all expired give a null reply.
	for k := range keys {
		keyDo(h, "PEXPIRE", k, "10")
	}
	h.advance(11 * time.Millisecond)
	h.check([]step{{[]string{"RANDOMKEY"}, "$-1\r\n"}})
}

func TestObject(t *testing.T) {
	h := newHarness(t, 3)
	long := strings.Repeat("x", 44)
	keyCheck(h, []step{
		{[]string{"SEED", "int", "12345"}, "+OK\r\n"},
		{[]string{"SEED", "neg", "-9223372036854775808"}, "+OK\r\n"},
		{[]string{"SEED", "big", "9223372036854775808"}, "+OK\r\n"},
		{[]string{"SEED", "zero", "0"}, "+OK\r\n"},
		{[]string{"SEED", "lead", "007"}, "+OK\r\n"},
		{[]string{"SEED", "plus", "+1"}, "+OK\r\n"},
		{[]string{"SEED", "empty", ""}, "+OK\r\n"},
		{[]string{"SEED", "s44", long}, "+OK\r\n"},
		{[]string{"SEED", "s45", long + "x"}, "+OK\r\n"},
		{[]string{"SEED", "small", "9999"}, "+OK\r\n"},
		{[]string{"SEED", "notshared", "10000"}, "+OK\r\n"},
		{[]string{"OBJECT", "ENCODING", "int"}, keyBulk("int")},
		{[]string{"object", "encoding", "neg"}, keyBulk("int")},
		{[]string{"OBJECT", "ENCODING", "big"}, keyBulk("embstr")},
		{[]string{"OBJECT", "ENCODING", "zero"}, keyBulk("int")},
		{[]string{"OBJECT", "ENCODING", "lead"}, keyBulk("embstr")},
		{[]string{"OBJECT", "ENCODING", "plus"}, keyBulk("embstr")},
		{[]string{"OBJECT", "ENCODING", "empty"}, keyBulk("embstr")},
		{[]string{"OBJECT", "ENCODING", "s44"}, keyBulk("embstr")},
		{[]string{"OBJECT", "ENCODING", "s45"}, keyBulk("raw")},
		{[]string{"OBJECT", "ENCODING", "nope"}, "$-1\r\n"},
		{[]string{"OBJECT", "REFCOUNT", "s45"}, ":1\r\n"},
		{[]string{"OBJECT", "REFCOUNT", "zero"}, ":2147483647\r\n"},
		{[]string{"OBJECT", "REFCOUNT", "small"}, ":2147483647\r\n"},
		{[]string{"OBJECT", "REFCOUNT", "notshared"}, ":1\r\n"},
		{[]string{"OBJECT", "REFCOUNT", "neg"}, ":1\r\n"},
		{[]string{"OBJECT", "REFCOUNT", "nope"}, "$-1\r\n"},
		{[]string{"OBJECT", "IDLETIME", "int"}, ":0\r\n"},
		{[]string{"OBJECT", "IDLETIME", "nope"}, "$-1\r\n"},
		{[]string{"OBJECT", "FREQ", "int"}, "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"},
		{[]string{"OBJECT", "FREQ", "nope"}, "$-1\r\n"},
		{[]string{"OBJECT"}, "-ERR wrong number of arguments for 'object' command\r\n"},
		{[]string{"OBJECT", "ENCODING"}, "-ERR wrong number of arguments for 'object|encoding' command\r\n"},
		{[]string{"OBJECT", "Freq", "a", "b"}, "-ERR wrong number of arguments for 'object|freq' command\r\n"},
		{[]string{"OBJECT", "idletime"}, "-ERR wrong number of arguments for 'object|idletime' command\r\n"},
		{[]string{"OBJECT", "REFCOUNT"}, "-ERR wrong number of arguments for 'object|refcount' command\r\n"},
		{[]string{"OBJECT", "HELP", "x"}, "-ERR wrong number of arguments for 'object|help' command\r\n"},
		{[]string{"OBJECT", "bogus"}, "-ERR unknown subcommand 'bogus'. Try OBJECT HELP.\r\n"},
		{[]string{"OBJECT", "bogus", "k"}, "-ERR unknown subcommand 'bogus'. Try OBJECT HELP.\r\n"},
		{[]string{"OBJECT", strings.Repeat("y", 200)}, "-ERR unknown subcommand '" + strings.Repeat("y", 128) + "'. Try OBJECT HELP.\r\n"},
	})
	h.proto(3)
	h.check([]step{{[]string{"OBJECT", "ENCODING", "nope"}, "_\r\n"}})

	help := "*15\r\n" +
		"+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n" +
		"+ENCODING <key>\r\n" +
		"+    Return the kind of internal representation used in order to store the value\r\n" +
		"+    associated with a <key>.\r\n" +
		"+FREQ <key>\r\n" +
		"+    Return the access frequency index of the <key>. The returned integer is\r\n" +
		"+    proportional to the logarithm of the recent access frequency of the key.\r\n" +
		"+IDLETIME <key>\r\n" +
		"+    Return the idle time of the <key>, that is the approximated number of\r\n" +
		"+    seconds elapsed since the last access to the key.\r\n" +
		"+REFCOUNT <key>\r\n" +
		"+    Return the number of references of the value associated with the specified\r\n" +
		"+    <key>.\r\n" +
		"+HELP\r\n" +
		"+    Prints this help.\r\n"
	h.check([]step{{[]string{"OBJECT", "help"}, help}})
}
