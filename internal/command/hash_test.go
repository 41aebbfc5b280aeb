package command

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
)

const wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

const nullBulk = "$-1\r\n"

// withLimits sets the collection limits for the test.
func withLimits(t *testing.T, l object.Limits) {
	old := object.CurrentLimits()
	object.SetLimits(l)
	t.Cleanup(func() { object.SetLimits(old) })
}

func TestHashCommands(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"hset", "h", "f"}, "-ERR wrong number of arguments for 'hset' command\r\n"},
		{[]string{"hset", "h", "f", "v", "g"}, "-ERR wrong number of arguments for 'hset' command\r\n"},
		{[]string{"hmset", "h", "f", "v", "g"}, "-ERR wrong number of arguments for 'hmset' command\r\n"},
		{[]string{"hset", "h", "f", "v", "g", "w", "f", "v2"}, strInt(2)},
		{[]string{"hget", "h", "f"}, strBulk("v2")},
		{[]string{"hget", "h", "nope"}, nullBulk},
		{[]string{"hget", "missing", "f"}, nullBulk},
		{[]string{"hmset", "h", "x", "1"}, "+OK\r\n"},
		{[]string{"hsetnx", "h", "x", "2"}, strInt(0)},
		{[]string{"hsetnx", "h", "y", "2"}, strInt(1)},
		{[]string{"hsetnx", "new", "y", "2"}, strInt(1)},
		{[]string{"hmget", "h", "f", "nope", "y"}, strArr(strBulk("v2"), nullBulk, strBulk("2"))},
		{[]string{"hmget", "missing", "a", "b"}, strArr(nullBulk, nullBulk)},
		{[]string{"hgetall", "h"}, strArr(strBulk("f"), strBulk("v2"), strBulk("g"), strBulk("w"), strBulk("x"), strBulk("1"), strBulk("y"), strBulk("2"))},
		{[]string{"hgetall", "missing"}, "*0\r\n"},
		{[]string{"hkeys", "h"}, strArr(strBulk("f"), strBulk("g"), strBulk("x"), strBulk("y"))},
		{[]string{"hvals", "h"}, strArr(strBulk("v2"), strBulk("w"), strBulk("1"), strBulk("2"))},
		{[]string{"hkeys", "missing"}, "*0\r\n"},
		{[]string{"hlen", "h"}, strInt(4)},
		{[]string{"hlen", "missing"}, strInt(0)},
		{[]string{"hstrlen", "h", "f"}, strInt(2)},
		{[]string{"hstrlen", "h", "nope"}, strInt(0)},
		{[]string{"hexists", "h", "f"}, strInt(1)},
		{[]string{"hexists", "h", "nope"}, strInt(0)},
		{[]string{"hdel", "h", "f", "nope", "f", "g"}, strInt(2)},
		{[]string{"hdel", "missing", "f"}, strInt(0)},
		{[]string{"type", "h"}, "+hash\r\n"},
		{[]string{"object", "encoding", "h"}, strBulk("listpack")},
		{[]string{"hdel", "h", "x", "y"}, strInt(2)},
		{[]string{"exists", "h"}, strInt(0)},
		{[]string{"type", "h"}, "+none\r\n"},
		// Type checks both ways.
		{[]string{"set", "s", "v"}, "+OK\r\n"},
		{[]string{"hset", "s", "f", "v"}, wrongType},
		{[]string{"hget", "s", "f"}, wrongType},
		{[]string{"hgetall", "s"}, wrongType},
		{[]string{"hdel", "s", "f"}, wrongType},
		{[]string{"hlen", "s"}, wrongType},
		{[]string{"hincrby", "s", "f", "1"}, wrongType},
		{[]string{"hincrby", "s", "f", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"hset", "hh", "f", "v"}, strInt(1)},
		{[]string{"get", "hh"}, wrongType},
		{[]string{"append", "hh", "x"}, wrongType},
		{[]string{"incr", "hh"}, wrongType},
		{[]string{"incrbyfloat", "hh", "1"}, wrongType},
		{[]string{"strlen", "hh"}, wrongType},
		{[]string{"getrange", "hh", "0", "1"}, wrongType},
		{[]string{"setrange", "hh", "0", "x"}, wrongType},
		{[]string{"getset", "hh", "x"}, wrongType},
		{[]string{"getdel", "hh"}, wrongType},
		{[]string{"getex", "hh"}, wrongType},
		{[]string{"set", "hh", "x", "get"}, wrongType},
		{[]string{"lcs", "hh", "s"}, "-ERR The specified keys must contain string values\r\n"},
		{[]string{"mget", "hh", "s", "missing"}, strArr(nullBulk, strBulk("v"), nullBulk)},
		{[]string{"hget", "hh", "f"}, strBulk("v")},
		{[]string{"set", "hh", "x"}, "+OK\r\n"},
		{[]string{"type", "hh"}, "+string\r\n"},
	})
}

func TestHashRESP3(t *testing.T) {
	h := newHarness(t, 1)
	h.proto(3)
	h.check([]step{
		{[]string{"hset", "h", "a", "1", "b", "2"}, strInt(2)},
		{[]string{"hgetall", "h"}, "%2\r\n" + strBulk("a") + strBulk("1") + strBulk("b") + strBulk("2")},
		{[]string{"hgetall", "missing"}, "%0\r\n"},
		{[]string{"hrandfield", "h", "5", "withvalues"}, "*2\r\n*2\r\n" + strBulk("a") + strBulk("1") + "*2\r\n" + strBulk("b") + strBulk("2")},
		{[]string{"hget", "h", "c"}, "_\r\n"},
	})
}

func TestHincrby(t *testing.T) {
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"hincrby", "h", "n", "5"}, strInt(5)},
		{[]string{"hincrby", "h", "n", "-7"}, strInt(-2)},
		{[]string{"hincrby", "h", "n", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"hincrby", "h", "n", "1.5"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"hset", "h", "s", "abc", "sp", " 1", "z", "007", "big", "9223372036854775807", "small", "-9223372036854775808"}, strInt(5)},
		{[]string{"hincrby", "h", "s", "1"}, "-ERR hash value is not an integer\r\n"},
		{[]string{"hincrby", "h", "sp", "1"}, "-ERR hash value is not an integer\r\n"},
		{[]string{"hincrby", "h", "z", "1"}, "-ERR hash value is not an integer\r\n"},
		{[]string{"hincrby", "h", "big", "1"}, "-ERR increment or decrement would overflow\r\n"},
		{[]string{"hincrby", "h", "big", "0"}, strInt(9223372036854775807)},
		{[]string{"hincrby", "h", "small", "-1"}, "-ERR increment or decrement would overflow\r\n"},
		{[]string{"hincrby", "h", "small", "9223372036854775807"}, strInt(-1)},
		{[]string{"hincrby", "h", "n", "9223372036854775808"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"hget", "h", "n"}, strBulk("-2")},
	})
}

func TestHincrbyfloat(t *testing.T) {
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"hincrbyfloat", "h", "f", "10.5"}, strBulk("10.5")},
		{[]string{"hincrbyfloat", "h", "f", "0.1"}, strBulk("10.6")},
		{[]string{"hincrbyfloat", "h", "f", "-10.6"}, strBulk("0")},
		{[]string{"hincrbyfloat", "h", "g", "5.0e3"}, strBulk("5000")},
		{[]string{"hincrbyfloat", "h", "g", "3"}, strBulk("5003")},
		// Extended precision, printed exactly to 17 decimals as Redis's
		// "%.17Lf" does.
		{[]string{"hincrbyfloat", "h", "g", "1.23456789012345678"}, strBulk("5004.23456789012345691")},
		{[]string{"hincrbyfloat", "h", "f", "abc"}, "-ERR value is not a valid float\r\n"},
		{[]string{"hincrbyfloat", "h", "f", "inf"}, "-ERR value is NaN or Infinity\r\n"},
		{[]string{"hincrbyfloat", "h", "f", "nan"}, "-ERR value is not a valid float\r\n"},
		{[]string{"hset", "h", "s", "x"}, strInt(1)},
		{[]string{"hincrbyfloat", "h", "s", "1"}, "-ERR hash value is not a float\r\n"},
		{[]string{"hset", "h", "i", "17"}, strInt(1)},
		{[]string{"hincrbyfloat", "h", "i", "0.5"}, strBulk("17.5")},
		{[]string{"hset", "h", "m", "1.7976931348623157e308"}, strInt(1)},
		{[]string{"hincrbyfloat", "h", "m", "1.7976931348623157e308"}, strBulk("359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768")},
	})
}

// TestHrandfield checks the shapes and sizes of HRANDFIELD's replies, and
// its errors, as Redis 7 gives them.
func TestHrandfield(t *testing.T) {
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"hrandfield", "missing"}, nullBulk},
		{[]string{"hrandfield", "missing", "3"}, "*0\r\n"},
		{[]string{"hrandfield", "missing", "-3", "withvalues"}, "*0\r\n"},
		{[]string{"hset", "h", "a", "1"}, strInt(1)},
		{[]string{"hrandfield", "h"}, strBulk("a")},
		{[]string{"hrandfield", "h", "0"}, "*0\r\n"},
		{[]string{"hrandfield", "h", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"hrandfield", "h", "1", "values"}, "-ERR syntax error\r\n"},
		{[]string{"hrandfield", "h", "1", "withvalues", "x"}, "-ERR syntax error\r\n"},
		{[]string{"hrandfield", "h", "-9223372036854775808"}, "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"},
		{[]string{"hrandfield", "h", "-9223372036854775807", "withvalues"}, "-ERR value is out of range\r\n"},
		{[]string{"hrandfield", "h", "-3"}, strArr(strBulk("a"), strBulk("a"), strBulk("a"))},
		{[]string{"hrandfield", "h", "-2", "withvalues"}, strArr(strBulk("a"), strBulk("1"), strBulk("a"), strBulk("1"))},
		{[]string{"hrandfield", "h", "9223372036854775807"}, strArr(strBulk("a"))},
	})
	for _, enc := range []string{"listpack", "hashtable"} {
		h := newHarness(t, 1)
		n := 20
		if enc == "hashtable" {
			n = 300
		}
		fields := map[string]bool{}
		for i := range n {
			h.do("hset", "h", fmt.Sprint("f", i), fmt.Sprint(i))
			fields[fmt.Sprint("f", i)] = true
		}
		if got := h.do("object", "encoding", "h"); got != strBulk(enc) {
			t.Fatalf("encoding: got %q, want %s", got, enc)
		}
		for _, count := range []int{1, 5, n - 1, n, n + 10, -1, -7, -3 * n} {
			got := parseArray(t, h.do("hrandfield", "h", strconv.Itoa(count)))
			want := count
			if count < 0 {
				want = -count
			} else if count > n {
				want = n
			}
			if len(got) != want {
				t.Fatalf("%s HRANDFIELD %d: got %d fields, want %d", enc, count, len(got), want)
			}
			seen := map[string]bool{}
			for _, f := range got {
				if !fields[f] || count > 0 && seen[f] {
					t.Fatalf("%s HRANDFIELD %d: field %q unknown or repeated", enc, count, f)
				}
				seen[f] = true
			}
		}
	}
}

// parseArray returns the bulk strings of a flat RESP2 array reply.
func parseArray(t *testing.T, reply string) []string {
	t.Helper()
	lines := strings.Split(reply, "\r\n")
	if !strings.HasPrefix(lines[0], "*") {
		t.Fatalf("not an array: %q", reply)
	}
	n, _ := strconv.Atoi(lines[0][1:])
	var out []string
	for i := 1; len(out) < n; i += 2 {
		out = append(out, lines[i+1])
	}
	return out
}

// TestHscan checks that HSCAN returns every field once per full iteration
// of a listpack and at least once of a table, with MATCH and COUNT.
func TestHscan(t *testing.T) {
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"hscan", "missing", "0"}, strArr(strBulk("0"), "*0\r\n")},
		{[]string{"hset", "h", "a", "1", "b", "2", "ab", "3"}, strInt(3)},
		{[]string{"hscan", "h", "0"}, strArr(strBulk("0"), strArr(strBulk("a"), strBulk("1"), strBulk("b"), strBulk("2"), strBulk("ab"), strBulk("3")))},
		{[]string{"hscan", "h", "0", "match", "a*"}, strArr(strBulk("0"), strArr(strBulk("a"), strBulk("1"), strBulk("ab"), strBulk("3")))},
		{[]string{"hscan", "h", "0", "count", "0"}, "-ERR syntax error\r\n"},
		{[]string{"hscan", "h", "x"}, "-ERR invalid cursor\r\n"},
		{[]string{"hscan", "h", "0", "novalues"}, "-ERR syntax error\r\n"},
	})
	for i := range 1000 {
		h.do("hset", "big", fmt.Sprint("f", i), "v")
	}
	seen := map[string]int{}
	cursor := "0"
	for calls := 0; ; calls++ {
		if calls > 1000 {
			t.Fatal("HSCAN did not end")
		}
		reply := h.do("hscan", "big", cursor, "count", "17")
		lines := strings.Split(reply, "\r\n")
		cursor = lines[2]
		items := parseArray(t, strings.Join(lines[3:], "\r\n"))
		for j := 0; j < len(items); j += 2 {
			seen[items[j]]++
		}
		// Churn: fields come and go while the iteration runs; f0…f499
		// stay throughout.
		h.do("hdel", "big", fmt.Sprint("f", 500+calls))
		h.do("hset", "big", fmt.Sprint("new", calls), "v")
		if cursor == "0" {
			break
		}
	}
	for i := range 500 {
		if seen[fmt.Sprint("f", i)] == 0 {
			t.Fatalf("HSCAN missed f%d, present throughout", i)
		}
	}
}

// TestScanOrder checks the order in which HSCAN, SSCAN and ZSCAN read
// their arguments, as Redis 7.0.15 does: the cursor, then the key, then
// the options, which a missing key or a key of another type never reads.
func TestScanOrder(t *testing.T) {
	h := newHarness(t, 1)
	empty := strArr(strBulk("0"), "*0\r\n")
	h.check([]step{
		{[]string{"set", "str", "v"}, "+OK\r\n"},
		{[]string{"hscan", "nokey", "0", "foo", "bar"}, empty},
		{[]string{"sscan", "nokey", "0", "count", "0"}, empty},
		{[]string{"zscan", "nokey", "0", "match"}, empty},
		{[]string{"sscan", "nokey", "0", "count", "abc"}, empty},
		{[]string{"hscan", "str", "0", "count", "0"}, wrongType},
		{[]string{"sscan", "str", "1", "1"}, wrongType},
		{[]string{"zscan", "str", "1", "1"}, wrongType},
		{[]string{"sscan", "str", "0", "count", "abc"}, wrongType},
		{[]string{"sscan", "nokey", "abc"}, "-ERR invalid cursor\r\n"},
		{[]string{"hscan", "str", "abc"}, "-ERR invalid cursor\r\n"},
		{[]string{"zscan", "nokey", "abc", "count", "0"}, "-ERR invalid cursor\r\n"},
		{[]string{"sadd", "s", "a"}, strInt(1)},
		{[]string{"sscan", "s", "0", "count", "0"}, "-ERR syntax error\r\n"},
		{[]string{"sscan", "s", "0", "count", "abc"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"sscan", "s", "0", "1"}, "-ERR syntax error\r\n"},
	})
}

// TestHashEncodingConversion checks conversions through the limits in
// both directions of a CONFIG-like change: a lower limit converts on the
// next write, a higher one leaves tables as they are.
func TestHashEncodingConversion(t *testing.T) {
	withLimits(t, object.Limits{HashMaxListpackEntries: 2, HashMaxListpackValue: 4, SetMaxIntsetEntries: 512, SetMaxListpackEntries: 128, SetMaxListpackValue: 64})
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"hset", "h", "a", "1", "b", "2"}, strInt(2)},
		{[]string{"object", "encoding", "h"}, strBulk("listpack")},
		{[]string{"hset", "h", "c", "3"}, strInt(1)},
		{[]string{"object", "encoding", "h"}, strBulk("hashtable")},
		{[]string{"hset", "v", "a", "12345"}, strInt(1)},
		{[]string{"object", "encoding", "v"}, strBulk("hashtable")},
		{[]string{"hset", "k", "abcde", "1"}, strInt(1)},
		{[]string{"object", "encoding", "k"}, strBulk("hashtable")},
		{[]string{"hset", "m", "a", "1", "b", "2", "c", "3"}, strInt(3)},
		{[]string{"object", "encoding", "m"}, strBulk("hashtable")},
		{[]string{"hincrby", "n", "f", "12345"}, strInt(12345)},
		{[]string{"object", "encoding", "n"}, strBulk("hashtable")},
	})
	object.SetLimits(object.DefaultLimits())
	h.check([]step{
		{[]string{"hdel", "h", "a", "b"}, strInt(2)},
		{[]string{"object", "encoding", "h"}, strBulk("hashtable")},
		{[]string{"hset", "fresh", "a", "1", "b", "2", "c", "3"}, strInt(3)},
		{[]string{"object", "encoding", "fresh"}, strBulk("listpack")},
	})
}

// TestHashModel runs random hash commands against a map model, seeded,
// across shards and encodings.
func TestHashModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 3))
	withLimits(t, object.Limits{HashMaxListpackEntries: 8, HashMaxListpackValue: 6, SetMaxIntsetEntries: 512, SetMaxListpackEntries: 128, SetMaxListpackValue: 64})
	h := newHarness(t, 3)
	model := map[string]map[string]string{}
	for op := range 3000 {
		key := fmt.Sprint("h", r.IntN(5))
		f := fmt.Sprint("f", r.IntN(12))
		if model[key] == nil {
			model[key] = map[string]string{}
		}
		m := model[key]
		switch r.IntN(5) {
		case 0, 1:
			v := strings.Repeat("x", r.IntN(10))
			_, had := m[f]
			want := strInt(1)
			if had {
				want = strInt(0)
			}
			if got := h.do("hset", key, f, v); got != want {
				t.Fatalf("seed %d op %d: HSET %s %s: got %q, want %q", seed, op, key, f, got, want)
			}
			m[f] = v
		case 2:
			_, had := m[f]
			want := strInt(0)
			if had {
				want = strInt(1)
			}
			if got := h.do("hdel", key, f); got != want {
				t.Fatalf("seed %d op %d: HDEL %s %s: got %q, want %q", seed, op, key, f, got, want)
			}
			delete(m, f)
		case 3:
			n, _ := strconv.Atoi(m[f])
			if _, had := m[f]; had && strconv.Itoa(n) != m[f] {
				continue
			}
			incr := r.IntN(100) - 50
			want := n + incr
			if got := h.do("hincrby", key, f, strconv.Itoa(incr)); got != strInt(int64(want)) {
				t.Fatalf("seed %d op %d: HINCRBY: got %q, want %d", seed, op, got, want)
			}
			m[f] = strconv.Itoa(want)
		default:
			got := parseArray(t, h.do("hgetall", key))
			gm := map[string]string{}
			for i := 0; i < len(got); i += 2 {
				gm[got[i]] = got[i+1]
			}
			if !maps.Equal(gm, m) {
				t.Fatalf("seed %d op %d: HGETALL %s: got %v, want %v", seed, op, key, gm, m)
			}
			wantLen := strInt(int64(len(m)))
			if got := h.do("hlen", key); got != wantLen {
				t.Fatalf("seed %d op %d: HLEN: got %q, want %q", seed, op, got, wantLen)
			}
			if len(m) == 0 && h.do("exists", key) != strInt(0) {
				t.Fatalf("seed %d op %d: an empty hash exists", seed, op)
			}
		}
	}
	keys := slices.Sorted(maps.Keys(model))
	for _, k := range keys {
		if got, want := h.do("hlen", k), strInt(int64(len(model[k]))); got != want {
			t.Fatalf("seed %d: final HLEN %s: got %q, want %q", seed, k, got, want)
		}
	}
}
