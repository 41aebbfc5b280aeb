package command

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
)

func TestSetCommands(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"sadd", "s", "1", "2", "2", "3"}, strInt(3)},
		{[]string{"object", "encoding", "s"}, strBulk("intset")},
		{[]string{"type", "s"}, "+set\r\n"},
		{[]string{"smembers", "s"}, strArr(strBulk("1"), strBulk("2"), strBulk("3"))},
		{[]string{"sadd", "s", "a"}, strInt(1)},
		{[]string{"object", "encoding", "s"}, strBulk("listpack")},
		{[]string{"scard", "s"}, strInt(4)},
		{[]string{"scard", "missing"}, strInt(0)},
		{[]string{"sismember", "s", "a"}, strInt(1)},
		{[]string{"sismember", "s", "b"}, strInt(0)},
		{[]string{"sismember", "missing", "b"}, strInt(0)},
		{[]string{"smismember", "s", "a", "b", "1"}, strArr(strInt(1), strInt(0), strInt(1))},
		{[]string{"smismember", "missing", "a"}, strArr(strInt(0))},
		{[]string{"srem", "s", "1", "x", "1"}, strInt(1)},
		{[]string{"srem", "missing", "1"}, strInt(0)},
		{[]string{"smembers", "missing"}, "*0\r\n"},
		{[]string{"srem", "s", "2", "3", "a"}, strInt(3)},
		{[]string{"exists", "s"}, strInt(0)},
		{[]string{"set", "str", "v"}, "+OK\r\n"},
		{[]string{"sadd", "str", "a"}, wrongType},
		{[]string{"srem", "str", "a"}, wrongType},
		{[]string{"smembers", "str"}, wrongType},
		{[]string{"scard", "str"}, wrongType},
		{[]string{"spop", "str"}, wrongType},
		{[]string{"srandmember", "str"}, wrongType},
		{[]string{"hset", "hash", "f", "v"}, strInt(1)},
		{[]string{"sadd", "hash", "a"}, wrongType},
		{[]string{"hget", "str", "f"}, wrongType},
	})
}

func TestSpopSrandmember(t *testing.T) {
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"spop", "missing"}, nullBulk},
		{[]string{"spop", "missing", "2"}, "*0\r\n"},
		{[]string{"spop", "missing", "-1"}, "-ERR value is out of range, must be positive\r\n"},
		{[]string{"spop", "missing", "x"}, "-ERR value is out of range, must be positive\r\n"},
		{[]string{"spop", "missing", "01"}, "-ERR value is out of range, must be positive\r\n"},
		{[]string{"spop", "missing", "1.5"}, "-ERR value is out of range, must be positive\r\n"},
		{[]string{"spop", "missing", "99999999999999999999"}, "-ERR value is out of range, must be positive\r\n"},
		{[]string{"spop", "missing", "1", "2"}, "-ERR syntax error\r\n"},
		{[]string{"srandmember", "missing"}, nullBulk},
		{[]string{"srandmember", "missing", "-5"}, "*0\r\n"},
		{[]string{"srandmember", "missing", "1", "2"}, "-ERR syntax error\r\n"},
		{[]string{"srandmember", "missing", "-9223372036854775808"}, "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"},
		{[]string{"sadd", "one", "x"}, strInt(1)},
		{[]string{"srandmember", "one"}, strBulk("x")},
		{[]string{"srandmember", "one", "-3"}, strArr(strBulk("x"), strBulk("x"), strBulk("x"))},
		{[]string{"srandmember", "one", "5"}, strArr(strBulk("x"))},
		{[]string{"srandmember", "one", "0"}, "*0\r\n"},
		{[]string{"spop", "one", "0"}, "*0\r\n"},
		{[]string{"spop", "one"}, strBulk("x")},
		{[]string{"exists", "one"}, strInt(0)},
		{[]string{"sadd", "two", "a", "b"}, strInt(2)},
		{[]string{"spop", "two", "9223372036854775807"}, strArr(strBulk("a"), strBulk("b"))},
		{[]string{"exists", "two"}, strInt(0)},
	})
	for _, n := range []int{10, 100, 1000} {
		h := newHarness(t, 1)
		members := map[string]bool{}
		for i := range n {
			m := fmt.Sprint(i)
			if n == 100 {
				m = "m" + m
			}
			h.do("sadd", "s", m)
			members[m] = true
		}
		for _, count := range []int{1, 3, n - 1, n, 2 * n, -1, -5, -3 * n} {
			got := parseArray(t, h.do("srandmember", "s", strconv.Itoa(count)))
			want := min(count, n)
			if count < 0 {
				want = -count
			}
			if len(got) != want {
				t.Fatalf("n %d SRANDMEMBER %d: got %d members, want %d", n, count, len(got), want)
			}
			seen := map[string]bool{}
			for _, m := range got {
				if !members[m] || count > 0 && seen[m] {
					t.Fatalf("n %d SRANDMEMBER %d: member %q unknown or repeated", n, count, m)
				}
				seen[m] = true
			}
		}
		popped := parseArray(t, h.do("spop", "s", "7"))
		if len(popped) != 7 {
			t.Fatalf("n %d SPOP 7: got %d", n, len(popped))
		}
		for _, m := range popped {
			if !members[m] || h.do("sismember", "s", m) != strInt(0) {
				t.Fatalf("n %d SPOP: %q unknown or still a member", n, m)
			}
		}
		if got := h.do("scard", "s"); got != strInt(int64(n-7)) {
			t.Fatalf("n %d: SCARD after SPOP 7: got %q", n, got)
		}
	}
}

// TestSetRandomDeterministic checks that a command context with a seeded
// source picks the same members from equal sets, as replicas applying one
// log must.
func TestSetRandomDeterministic(t *testing.T) {
	var replies [2][]string
	for run := range 2 {
		h := newHarness(t, 1)
		h.ctx.Rand = rand.New(rand.NewPCG(7, 9))
		for i := range 300 {
			h.do("sadd", "s", fmt.Sprint("m", i))
			h.do("hset", "h", fmt.Sprint("f", i), "v")
		}
		for range 20 {
			replies[run] = append(replies[run], h.do("spop", "s"), h.do("spop", "s", "3"),
				h.do("srandmember", "s", "-4"), h.do("hrandfield", "h", "2"))
		}
	}
	if !slices.Equal(replies[0], replies[1]) {
		t.Fatalf("two runs with one seed differ:\n%q\n%q", replies[0], replies[1])
	}
}

func TestSmove(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"set", "str", "v"}, "+OK\r\n"},
		{[]string{"smove", "missing", "str", "a"}, strInt(0)},
		{[]string{"sadd", "a", "1", "2"}, strInt(2)},
		{[]string{"smove", "a", "str", "1"}, wrongType},
		{[]string{"smove", "str", "a", "1"}, wrongType},
		{[]string{"smove", "a", "b", "3"}, strInt(0)},
		{[]string{"smove", "a", "b", "1"}, strInt(1)},
		{[]string{"smembers", "b"}, strArr(strBulk("1"))},
		{[]string{"smove", "a", "a", "2"}, strInt(1)},
		{[]string{"smove", "a", "a", "9"}, strInt(0)},
		{[]string{"smove", "a", "b", "2"}, strInt(1)},
		{[]string{"exists", "a"}, strInt(0)},
		{[]string{"smembers", "b"}, strArr(strBulk("1"), strBulk("2"))},
		{[]string{"sadd", "c", "2"}, strInt(1)},
		{[]string{"smove", "b", "c", "2"}, strInt(1)},
		{[]string{"smembers", "c"}, strArr(strBulk("2"))},
	})
}

func TestSetAlgebra(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"sadd", "a", "1", "2", "3", "x"}, strInt(4)},
		{[]string{"sadd", "b", "2", "3", "4"}, strInt(3)},
		{[]string{"sadd", "c", "3", "x", "9"}, strInt(3)},
		{[]string{"set", "str", "v"}, "+OK\r\n"},
		{[]string{"sinter", "a", "b"}, strArr(strBulk("2"), strBulk("3"))},
		{[]string{"sinter", "a", "b", "c"}, strArr(strBulk("3"))},
		{[]string{"sinter", "a", "missing"}, "*0\r\n"},
		{[]string{"sinter", "missing", "str"}, wrongType},
		{[]string{"sintercard", "2", "a", "b"}, strInt(2)},
		{[]string{"sintercard", "2", "a", "b", "limit", "1"}, strInt(1)},
		{[]string{"sintercard", "2", "a", "b", "limit", "0"}, strInt(2)},
		{[]string{"sintercard", "0", "a"}, "-ERR numkeys should be greater than 0\r\n"},
		{[]string{"sintercard", "3", "a", "b"}, "-ERR Number of keys can't be greater than number of args\r\n"},
		{[]string{"sintercard", "1", "a", "limit", "-1"}, "-ERR LIMIT can't be negative\r\n"},
		{[]string{"sintercard", "1", "a", "limit"}, "-ERR syntax error\r\n"},
		{[]string{"sintercard", "1", "a", "foo", "1"}, "-ERR syntax error\r\n"},
		{[]string{"sintercard", "x", "a"}, "-ERR numkeys should be greater than 0\r\n"},
		{[]string{"sintercard", "01", "a"}, "-ERR numkeys should be greater than 0\r\n"},
		{[]string{"sintercard", "99999999999999999999", "a"}, "-ERR numkeys should be greater than 0\r\n"},
		{[]string{"sintercard", "2", "a", "b", "limit", "abc"}, "-ERR LIMIT can't be negative\r\n"},
		{[]string{"sintercard", "2", "a", "b", "limit", "01"}, "-ERR LIMIT can't be negative\r\n"},
		{[]string{"sintercard", "2", "a", "b", "limit", "1.5"}, "-ERR LIMIT can't be negative\r\n"},
		{[]string{"sintercard", "2", "a", "b", "limit", "99999999999999999999"}, "-ERR LIMIT can't be negative\r\n"},
		{[]string{"sintercard", "2", "a", "str"}, wrongType},
		{[]string{"sintercard", "2", "a", "missing"}, strInt(0)},
		{[]string{"sunion", "b", "c", "missing"}, strArr(strBulk("2"), strBulk("3"), strBulk("4"), strBulk("x"), strBulk("9"))},
		{[]string{"sunion", "missing"}, "*0\r\n"},
		{[]string{"sunion", "a", "str"}, wrongType},
		{[]string{"sdiff", "a", "b", "missing"}, strArr(strBulk("1"), strBulk("x"))},
		{[]string{"sdiff", "missing", "a"}, "*0\r\n"},
		{[]string{"sdiff", "a", "str"}, wrongType},
		{[]string{"sinterstore", "d", "a", "b"}, strInt(2)},
		{[]string{"smembers", "d"}, strArr(strBulk("2"), strBulk("3"))},
		{[]string{"expire", "d", "100"}, strInt(1)},
		{[]string{"sunionstore", "d", "d", "c"}, strInt(4)},
		{[]string{"ttl", "d"}, strInt(-1)},
		{[]string{"sdiffstore", "str", "a", "b"}, strInt(2)},
		{[]string{"type", "str"}, "+set\r\n"},
		{[]string{"sinterstore", "str", "a", "missing"}, strInt(0)},
		{[]string{"exists", "str"}, strInt(0)},
		{[]string{"sdiffstore", "e", "a", "a"}, strInt(0)},
		{[]string{"exists", "e"}, strInt(0)},
		{[]string{"set", "str", "v"}, "+OK\r\n"},
		{[]string{"sunionstore", "d", "str"}, wrongType},
	})
	h.proto(3)
	h.check([]step{
		{[]string{"sinter", "a", "b"}, "~2\r\n" + strBulk("2") + strBulk("3")},
		{[]string{"smembers", "missing"}, "~0\r\n"},
		{[]string{"spop", "missing", "1"}, "~0\r\n"},
	})
}

// TestKeyCommandsOnCollections checks the keyspace commands on hashes and
// sets: RENAME, COPY, EXPIRE, SCAN TYPE, OBJECT, RANDOMKEY.
func TestKeyCommandsOnCollections(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"hset", "h", "f", "v"}, strInt(1)},
		{[]string{"sadd", "s", "m"}, strInt(1)},
		{[]string{"set", "k", "v"}, "+OK\r\n"},
		{[]string{"rename", "h", "h2"}, "+OK\r\n"},
		{[]string{"hget", "h2", "f"}, strBulk("v")},
		{[]string{"renamenx", "s", "h2"}, strInt(0)},
		{[]string{"renamenx", "s", "s2"}, strInt(1)},
		{[]string{"copy", "s2", "s3"}, strInt(1)},
		{[]string{"sadd", "s3", "other"}, strInt(1)},
		{[]string{"scard", "s2"}, strInt(1)},
		{[]string{"copy", "h2", "k"}, strInt(0)},
		{[]string{"copy", "h2", "k", "replace"}, strInt(1)},
		{[]string{"type", "k"}, "+hash\r\n"},
		{[]string{"expire", "k", "10"}, strInt(1)},
		{[]string{"ttl", "k"}, strInt(10)},
		{[]string{"hset", "k", "g", "w"}, strInt(1)},
		{[]string{"ttl", "k"}, strInt(10)},
		{[]string{"persist", "k"}, strInt(1)},
		{[]string{"object", "refcount", "k"}, strInt(1)},
		{[]string{"object", "idletime", "k"}, strInt(0)},
		{[]string{"del", "k", "s2", "h2"}, strInt(3)},
		{[]string{"unlink", "s3"}, strInt(1)},
		{[]string{"randomkey"}, nullBulk},
		{[]string{"sadd", "only", "1"}, strInt(1)},
		{[]string{"randomkey"}, strBulk("only")},
	})
	h.do("set", "str", "v")
	h.do("hset", "hash", "f", "v")
	for _, tc := range []struct{ typ, want string }{{"set", "only"}, {"hash", "hash"}, {"string", "str"}, {"zset", ""}, {"SET", "only"}} {
		var got []string
		for _, c := range []string{"0", "1", "2"} {
			got = append(got, parseArray(t, stripCursor(h.do("scan", c, "type", tc.typ)))...)
		}
		want := []string{}
		if tc.want != "" {
			want = []string{tc.want}
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("SCAN TYPE %s: got %q, want %q", tc.typ, got, want)
		}
	}
	h.advance(0)
	h.do("expire", "only", "1")
	h.advance(2 * time.Second)
	if got := h.do("scard", "only"); got != strInt(0) {
		t.Errorf("SCARD of an expired set: got %q, want 0", got)
	}
}

// stripCursor returns the array of keys of a SCAN reply.
func stripCursor(reply string) string {
	// *2\r\n$1\r\nN\r\n then the keys.
	n := 0
	for i := 0; i < len(reply); i++ {
		if reply[i] == '\n' {
			n++
			if n == 3 {
				return reply[i+1:]
			}
		}
	}
	return reply
}

// TestSetModel runs random set commands against a map model, seeded,
// under small limits so that sets change encoding.
func TestSetModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 4))
	withLimits(t, object.Limits{HashMaxListpackEntries: 128, HashMaxListpackValue: 64, SetMaxIntsetEntries: 6, SetMaxListpackEntries: 5, SetMaxListpackValue: 3})
	h := newHarness(t, 3)
	model := map[string]map[string]bool{}
	member := func() string {
		if r.IntN(2) == 0 {
			return strconv.Itoa(r.IntN(12))
		}
		return []string{"a", "bb", "cccc", "d"}[r.IntN(4)]
	}
	for op := range 3000 {
		key := fmt.Sprint("s", r.IntN(4))
		if model[key] == nil {
			model[key] = map[string]bool{}
		}
		m := model[key]
		switch r.IntN(6) {
		case 0, 1:
			x := member()
			want := strInt(1)
			if m[x] {
				want = strInt(0)
			}
			if got := h.do("sadd", key, x); got != want {
				t.Fatalf("seed %d op %d: SADD %s %s: got %q, want %q", seed, op, key, x, got, want)
			}
			m[x] = true
		case 2:
			x := member()
			want := strInt(0)
			if m[x] {
				want = strInt(1)
			}
			if got := h.do("srem", key, x); got != want {
				t.Fatalf("seed %d op %d: SREM %s %s: got %q, want %q", seed, op, key, x, got, want)
			}
			delete(m, x)
		case 3:
			for _, p := range parseArray(t, h.do("spop", key, strconv.Itoa(r.IntN(3)))) {
				if !m[p] {
					t.Fatalf("seed %d op %d: SPOP gave %q, not a member", seed, op, p)
				}
				delete(m, p)
			}
		case 4:
			other := fmt.Sprint("s", r.IntN(4))
			if other == key {
				continue
			}
			got := parseArray(t, h.do("sinter", key, other))
			want := 0
			for x := range m {
				if model[other][x] {
					want++
				}
			}
			if len(got) != want {
				t.Fatalf("seed %d op %d: SINTER: got %d, want %d", seed, op, len(got), want)
			}
		default:
			got := map[string]bool{}
			for _, x := range parseArray(t, h.do("smembers", key)) {
				got[x] = true
			}
			if !maps.Equal(got, m) {
				t.Fatalf("seed %d op %d: SMEMBERS %s: got %v, want %v", seed, op, key, got, m)
			}
		}
	}
}
