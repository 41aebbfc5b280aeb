package command

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
)

// zsetLimits runs the rest of the test with the sorted set limits l.
func zsetLimits(t *testing.T, entries, value int64) {
	old := object.CurrentLimits()
	l := old
	l.ZSetMaxListpackEntries, l.ZSetMaxListpackValue = entries, value
	object.SetLimits(l)
	t.Cleanup(func() { object.SetLimits(old) })
}

// TestZSetRedisReplies replays the script recorded from redis-server (see
// zset_redis_test.go) in both encodings and both protocols, on three
// shards so that the multi-key commands cross them.
func TestZSetRedisReplies(t *testing.T) {
	t.Run("listpack", func(t *testing.T) {
		newHarness(t, 3).check(zsetListpackCases)
	})
	t.Run("skiplist", func(t *testing.T) {
		zsetLimits(t, 0, 64)
		newHarness(t, 3).check(zsetSkiplistCases)
	})
	t.Run("resp3", func(t *testing.T) {
		h := newHarness(t, 3)
		h.proto(3)
		h.check(zsetRESP3Cases)
	})
}

// TestZSetRedis72 checks the replies in which Redis 7.2 differs from 7.0:
// ZRANK and ZREVRANK WITHSCORE, and scores in their shortest form.
func TestZSetRedis72(t *testing.T) {
	for _, enc := range []int64{128, 0} {
		t.Run(fmt.Sprint(enc), func(t *testing.T) {
			zsetLimits(t, enc, 64)
			h := newHarness(t, 1)
			h.check([]step{
				{[]string{"zadd", "z", "1.1", "a", "-0", "z0", "1e-320", "tiny", "1e17", "big", "0.1", "tenth"}, strInt(5)},
				{[]string{"zscore", "z", "a"}, strBulk("1.1")},
				// A listpack keeps no -0, as in Redis; a skiplist does.
				{[]string{"zscore", "z", "z0"}, strBulk(map[int64]string{128: "0", 0: "-0"}[enc])},
				{[]string{"zscore", "z", "tiny"}, strBulk("1e-320")},
				{[]string{"zscore", "z", "big"}, strBulk("1e+17")},
				{[]string{"zincrby", "z", "0.2", "tenth"}, strBulk("0.30000000000000004")},
				{[]string{"zrank", "z", "a", "withscore"}, strArr(strInt(3), strBulk("1.1"))},
				{[]string{"zrevrank", "z", "a", "withscore"}, strArr(strInt(1), strBulk("1.1"))},
				{[]string{"zrank", "z", "nosuch", "withscore"}, "*-1\r\n"},
				{[]string{"zrank", "missing", "a", "withscore"}, "*-1\r\n"},
				{[]string{"zrank", "z", "a", "withscores"}, "-ERR syntax error\r\n"},
				{[]string{"zrank", "z", "a", "withscore", "x"}, "-ERR syntax error\r\n"},
			})
			// A skiplist is scanned in hash order: compare the members.
			got := h.do("zscan", "z", "0", "match", "t*", "noscores")
			one, other := strArr(strBulk("0"), strArr(strBulk("tiny"), strBulk("tenth"))), strArr(strBulk("0"), strArr(strBulk("tenth"), strBulk("tiny")))
			if got != one && (enc == 128 || got != other) {
				t.Errorf("zscan match t* noscores: got %q, want %q", got, one)
			}
			h.proto(3)
			h.check([]step{
				{[]string{"zscore", "z", "a"}, ",1.1\r\n"},
				{[]string{"zrank", "z", "a", "withscore"}, "*2\r\n:3\r\n,1.1\r\n"},
				{[]string{"zrank", "z", "nosuch", "withscore"}, "_\r\n"},
				{[]string{"zrank", "z", "nosuch"}, "_\r\n"},
				{[]string{"zrandmember", "missing"}, "_\r\n"},
			})
		})
	}
}

// TestZSetFloats checks how scores, ranges and weights are read, as
// strtod reads them in Redis.
func TestZSetFloats(t *testing.T) {
	for _, tt := range []struct {
		in    string
		score float64
		ok    bool // as a score (ZADD)
		rok   bool // as a range bound (ZRANGEBYSCORE)
	}{
		{"1", 1, true, true},
		{"-1.5e3", -1500, true, true},
		{"+.5", 0.5, true, true},
		{"5.", 5, true, true},
		{"inf", math.Inf(1), true, true},
		{"-Infinity", math.Inf(-1), true, true},
		{"+INF", math.Inf(1), true, true},
		{"0x10", 16, true, true},
		{"0x1p-2", 0.25, true, true},
		{"1e", 0, false, false},
		{"1e+", 0, false, false},
		{"nan", 0, false, false},
		{"-nan", 0, false, false},
		{"", 0, false, true},
		{" 1", 1, false, true},
		{"1 ", 0, false, false},
		{"1e400", math.Inf(1), false, true},
		{"-1e400", math.Inf(-1), false, true},
		{"1e-400", 0, false, true},
		{"1e-320", 1e-320, true, true},
		{"0e-400", 0, true, true},
		{"1_000", 0, false, false},
		{"x", 0, false, false},
		{"--1", 0, false, false},
		{"infx", 0, false, false},
	} {
		got, ok := parseScore([]byte(tt.in))
		if ok != tt.ok || ok && got != tt.score {
			t.Errorf("parseScore(%q): got %v %v, want %v %v", tt.in, got, ok, tt.score, tt.ok)
		}
		got, ok = parseRangeScore([]byte(tt.in))
		if ok != tt.rok || ok && got != tt.score {
			t.Errorf("parseRangeScore(%q): got %v %v, want %v %v", tt.in, got, ok, tt.score, tt.rok)
		}
	}
	if got, ok := parseRangeScore([]byte("2\x00junk")); !ok || got != 2 {
		t.Errorf("parseRangeScore(2 NUL junk): got %v %v, want 2 true", got, ok)
	}
}

// TestZSetRandom checks ZRANDMEMBER's counts and ZPOPMIN's and ZMPOP's
// removals on sets in both encodings.
func TestZSetRandom(t *testing.T) {
	for _, n := range []int{5, 300} {
		h := newHarness(t, 1)
		args := []string{"zadd", "z"}
		for i := range n {
			args = append(args, strconv.Itoa(i), fmt.Sprint("m", i))
		}
		h.do(args...)
		seen := map[string]int{}
		for range 20 {
			r := h.do("zrandmember", "z", "-7")
			if !strings.HasPrefix(r, "*7\r\n") {
				t.Fatalf("zrandmember -7: got %q", r)
			}
			r = h.do("zrandmember", "z", "3", "withscores")
			parts := strings.Split(r, "\r\n")
			if parts[0] != "*6" {
				t.Fatalf("zrandmember 3 withscores: got %q", r)
			}
			members := []string{parts[2], parts[6], parts[10]}
			for i, m := range members {
				if want := "m" + parts[4+4*i]; m != want {
					t.Fatalf("zrandmember 3 withscores: member %q with score %q", m, parts[4+4*i])
				}
				seen[m]++
			}
			slices.Sort(members)
			if len(slices.Compact(members)) != 3 {
				t.Fatalf("zrandmember 3: repeated members in %q", r)
			}
		}
		if n == 300 && len(seen) < 20 {
			t.Errorf("zrandmember over 300 members: only %d distinct ones in 60 picks", len(seen))
		}
		if got := h.do("zpopmin", "z", "2"); got != strArr(strBulk("m0"), strBulk("0"), strBulk("m1"), strBulk("1")) {
			t.Errorf("zpopmin z 2: got %q", got)
		}
		last := strconv.Itoa(n - 1)
		if got := h.do("zmpop", "1", "z", "max"); got != strArr(strBulk("z"), strArr(strArr(strBulk("m"+last), strBulk(last)))) {
			t.Errorf("zmpop 1 z max: got %q", got)
		}
		if got := h.do("zcard", "z"); got != strInt(int64(n-3)) {
			t.Errorf("zcard after pops: got %q, want %d", got, n-3)
		}
	}
}

// TestZSetScan checks that ZSCAN of a large sorted set, in pages, returns
// every member with its score.
func TestZSetScan(t *testing.T) {
	h := newHarness(t, 1)
	want := map[string]string{}
	args := []string{"zadd", "z"}
	for i := range 1000 {
		m, s := fmt.Sprint("m", i), fmt.Sprint(i/3)
		args = append(args, s, m)
		want[m] = s
	}
	h.do(args...)
	got := map[string]string{}
	cursor := "0"
	for rounds := 0; ; rounds++ {
		r := h.do("zscan", "z", cursor, "count", "37")
		parts := strings.Split(strings.TrimSuffix(r, "\r\n"), "\r\n")
		cursor = parts[2]
		for i := 4; i+3 < len(parts); i += 4 {
			got[parts[i+1]] = parts[i+3]
		}
		if cursor == "0" {
			break
		}
		if rounds > 100 {
			t.Fatal("zscan: no end after 100 calls")
		}
	}
	if len(got) != len(want) {
		t.Fatalf("zscan: got %d members, want %d", len(got), len(want))
	}
	for m, s := range want {
		if got[m] != s {
			t.Fatalf("zscan: %s scored %q, want %q", m, got[m], s)
		}
	}
}

// TestZSetModelCommands drives ZADD, ZINCRBY, ZREM and the range commands
// with random arguments against a model, in both encodings, and compares
// every range reply.
func TestZSetModelCommands(t *testing.T) {
	for _, enc := range []int64{128, 8} {
		t.Run(fmt.Sprint(enc), func(t *testing.T) {
			zsetLimits(t, enc, 64)
			seed := uint64(rand.Int64())
			r := rand.New(rand.NewPCG(seed, 3))
			h := newHarness(t, 1)
			model := map[string]float64{}
			sorted := func() []string {
				ms := make([]string, 0, len(model))
				for m := range model {
					ms = append(ms, m)
				}
				slices.SortFunc(ms, func(a, b string) int {
					if model[a] != model[b] {
						if model[a] < model[b] {
							return -1
						}
						return 1
					}
					return strings.Compare(a, b)
				})
				return ms
			}
			for op := range 1500 {
				m := fmt.Sprint("m", r.IntN(60))
				s := float64(r.IntN(20))
				switch r.IntN(6) {
				case 0, 1:
					h.do("zadd", "z", strconv.FormatFloat(s, 'f', -1, 64), m)
					model[m] = s
				case 2:
					h.do("zincrby", "z", "2", m)
					model[m] += 2
				case 3:
					h.do("zrem", "z", m)
					delete(model, m)
				case 4:
					lo, hi := r.IntN(25)-2, r.IntN(25)-2
					var want []string
					for _, x := range sorted() {
						if model[x] >= float64(lo) && model[x] < float64(hi) {
							want = append(want, strBulk(x))
						}
					}
					got := h.do("zrangebyscore", "z", fmt.Sprint(lo), fmt.Sprint("(", hi))
					if w := strArr(want...); got != w {
						t.Fatalf("seed %d op %d: zrangebyscore %d (%d: got %q, want %q", seed, op, lo, hi, got, w)
					}
				default:
					start, stop := r.IntN(80)-40, r.IntN(80)-40
					all := sorted()
					slices.Reverse(all)
					lo, hi := rankRange(int64(start), int64(stop), len(all))
					var want []string
					for _, x := range all[lo:hi] {
						want = append(want, strBulk(x))
					}
					got := h.do("zrevrange", "z", fmt.Sprint(start), fmt.Sprint(stop))
					if w := strArr(want...); got != w {
						t.Fatalf("seed %d op %d: zrevrange %d %d: got %q, want %q", seed, op, start, stop, got, w)
					}
				}
			}
		})
	}
}

// TestZSetKeyspace checks the keyspace commands on sorted sets: TYPE,
// OBJECT ENCODING, COPY (a copy independent of its source), RENAME, the
// expiry commands and expiry itself, DEL.
func TestZSetKeyspace(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"zadd", "z", "1", "a", "2", "b"}, strInt(2)},
		{[]string{"type", "z"}, "+zset\r\n"},
		{[]string{"object", "encoding", "z"}, strBulk("listpack")},
		{[]string{"copy", "z", "z2"}, strInt(1)},
		{[]string{"zadd", "z2", "3", "c"}, strInt(1)},
		{[]string{"zcard", "z"}, strInt(2)},
		{[]string{"zcard", "z2"}, strInt(3)},
		{[]string{"rename", "z2", "z3"}, "+OK\r\n"},
		{[]string{"exists", "z2"}, strInt(0)},
		{[]string{"zrange", "z3", "0", "-1", "withscores"}, strArr(strBulk("a"), strBulk("1"), strBulk("b"), strBulk("2"), strBulk("c"), strBulk("3"))},
		{[]string{"pexpire", "z3", "100"}, strInt(1)},
		{[]string{"zadd", "z3", "4", "d"}, strInt(1)},
		{[]string{"pttl", "z3"}, strInt(100)},
	})
	h.advance(time.Second)
	h.check([]step{
		{[]string{"zcard", "z3"}, strInt(0)},
		{[]string{"exists", "z3"}, strInt(0)},
		{[]string{"randomkey"}, strBulk("z")},
		{[]string{"del", "z"}, strInt(1)},
		{[]string{"zscore", "z", "a"}, nullBulk},
	})
}

// TestZSetNoPanic runs every sorted set command with random arguments,
// options in random places and extreme numbers included, on both
// encodings: each must reply, never panic.
func TestZSetNoPanic(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 7))
	words := []string{"z", "y", "s", "str", "0", "1", "-1", "2", "3", "-3", "100", "9223372036854775807", "-9223372036854775808",
		"inf", "-inf", "(1", "(", "[a", "(b", "-", "+", "nan", "1.5", "x", "", "withscores", "withscore", "limit", "byscore",
		"bylex", "rev", "weights", "aggregate", "sum", "min", "max", "count", "match", "*", "nx", "xx", "gt", "lt", "ch", "incr", "noscores"}
	for _, enc := range []int64{128, 2} {
		zsetLimits(t, enc, 64)
		h := newHarness(t, 3)
		h.do("zadd", "z", "1", "a", "2", "b", "3", "c")
		h.do("zadd", "y", "1", "b", "-inf", "d")
		h.do("sadd", "s", "a", "q")
		h.do("set", "str", "v")
		h.noPanic(r, seed, zsetCommands, words, 20000, 8, nil)
	}
}

// TestZSetUnionOrder checks two cases found by replaying random commands
// on redis-server beside this server (replies recorded from Redis): ZUNION
// sums the sources from the smallest up, which decides a sum of opposite
// infinities and a finite score, and a result only replied keeps -0 where
// a stored one, a listpack, does not.
func TestZSetUnionOrder(t *testing.T) {
	newHarness(t, 3).check([]step{
		{[]string{"zadd", "big", "7", "m", "1", "x", "2", "y"}, ":3\r\n"},
		{[]string{"zadd", "i1", "inf", "m"}, ":1\r\n"},
		{[]string{"zadd", "i2", "-inf", "m"}, ":1\r\n"},
		{[]string{"zunion", "3", "big", "i1", "i2", "withscores"}, "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nm\r\n$1\r\n7\r\n"},
		{[]string{"zadd", "a", "-1", "m"}, ":1\r\n"},
		{[]string{"zunion", "1", "a", "weights", "0", "withscores"}, "*2\r\n$1\r\nm\r\n$2\r\n-0\r\n"},
		{[]string{"zunionstore", "d", "1", "a", "weights", "0"}, ":1\r\n"},
		{[]string{"zrange", "d", "0", "-1", "withscores"}, "*2\r\n$1\r\nm\r\n$1\r\n0\r\n"},
		{[]string{"zinter", "1", "a", "weights", "0", "withscores"}, "*2\r\n$1\r\nm\r\n$2\r\n-0\r\n"},
	})
}
