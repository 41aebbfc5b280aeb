package command

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/object"
)

// listFill runs the rest of the test with list-max-listpack-size fill.
func listFill(t *testing.T, fill int64) {
	old := object.CurrentLimits()
	l := old
	l.ListMaxListpackSize = fill
	object.SetLimits(l)
	t.Cleanup(func() { object.SetLimits(old) })
}

// TestListRedisReplies replays the script recorded from redis-server (see
// list_redis_test.go) with chunks of 8 KiB, of one element each and of two,
// and in RESP3, on three shards so that LMOVE, RPOPLPUSH and LMPOP cross
// them.
func TestListRedisReplies(t *testing.T) {
	for _, fill := range []int64{-2, 1, 2} {
		t.Run(strconv.FormatInt(fill, 10), func(t *testing.T) {
			listFill(t, fill)
			newHarness(t, 3).check(listCases)
		})
	}
	t.Run("resp3", func(t *testing.T) {
		h := newHarness(t, 3)
		h.proto(3)
		h.check(resp3Nulls(listCases))
	})
}

// resp3Nulls returns RESP2 steps with the replies RESP3 gives for them
// where they differ for lists: a nil bulk string or array is RESP3's null.
func resp3Nulls(steps []step) []step {
	out := make([]step, len(steps))
	for i, s := range steps {
		out[i] = s
		if s.want == nullBulk || s.want == "*-1\r\n" {
			out[i].want = "_\r\n"
		}
	}
	return out
}

// TestListRedis72 checks the replies in which Redis 7.2 differs from 7.0:
// OBJECT ENCODING of lists, and LPOS RANK -9223372036854775808.
func TestListRedis72(t *testing.T) {
	listFill(t, -1)
	h := newHarness(t, 1)
	x60 := strings.Repeat("x", 60) // 62 bytes in a listpack
	push := []string{"rpush", "l"}
	for range 65 {
		push = append(push, x60)
	}
	h.check([]step{
		{push, strInt(65)},
		{[]string{"object", "encoding", "l"}, strBulk("listpack")},
		{[]string{"rpush", "l", x60}, strInt(66)},
		{[]string{"object", "encoding", "l"}, strBulk("quicklist")},
		{[]string{"ltrim", "l", "0", "32"}, "+OK\r\n"},
		{[]string{"object", "encoding", "l"}, strBulk("quicklist")},
		{[]string{"rpop", "l"}, strBulk(x60)},
		{[]string{"object", "encoding", "l"}, strBulk("listpack")},
		// A push whose arguments would take the listpack past the limit
		// converts it first, as Redis counts their lengths.
		{[]string{"lpush", "small", "a"}, strInt(1)},
		{[]string{"object", "encoding", "small"}, strBulk("listpack")},
		{[]string{"lset", "small", "0", strings.Repeat("y", 5000)}, "+OK\r\n"},
		{[]string{"object", "encoding", "small"}, strBulk("quicklist")},
		{[]string{"lset", "small", "0", "a"}, "+OK\r\n"},
		{[]string{"object", "encoding", "small"}, strBulk("listpack")},
		{[]string{"rpush", "p", "c", "c"}, strInt(2)},
		{[]string{"lpos", "p", "c", "rank", "-9223372036854775808"}, "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"},
		{[]string{"lpos", "p", "c", "rank", "-9223372036854775807"}, nullBulk},
	})
}

// TestListModel runs random list commands on two keys in different
// shards against a model and compares every reply, with chunks of 8 KiB
// and of three elements.
func TestListModel(t *testing.T) {
	for _, fill := range []int64{-2, 3} {
		t.Run(strconv.FormatInt(fill, 10), func(t *testing.T) {
			listFill(t, fill)
			seed := uint64(rand.Int64())
			r := rand.New(rand.NewPCG(seed, 11))
			h := newHarness(t, 3)
			keys := []string{"a", "b"}
			for i := 0; h.ring.Lookup([]byte(keys[0])) == h.ring.Lookup([]byte(keys[1])); i++ {
				keys[1] = fmt.Sprint("b", i)
			}
			model := map[string][]string{}
			bulks := func(es []string) string {
				out := make([]string, len(es))
				for i, e := range es {
					out[i] = strBulk(e)
				}
				return strArr(out...)
			}
			for op := range 3000 {
				k := keys[r.IntN(2)]
				m := model[k]
				e := fmt.Sprint("e", r.IntN(8))
				var args []string
				var want string
				switch r.IntN(12) {
				case 0, 1:
					args = []string{"rpush", k, e, e + "x"}
					model[k] = append(m, e, e+"x")
					want = strInt(int64(len(model[k])))
				case 2:
					args = []string{"lpush", k, e, e + "y"}
					model[k] = append([]string{e + "y", e}, m...)
					want = strInt(int64(len(model[k])))
				case 3:
					n := r.IntN(4)
					args = []string{"lpop", k, strconv.Itoa(n)}
					n = min(n, len(m))
					want = bulks(m[:n])
					if len(m) == 0 {
						want = "*-1\r\n"
					}
					model[k] = m[n:]
				case 4:
					args = []string{"rpop", k}
					want = nullBulk
					if len(m) > 0 {
						want = strBulk(m[len(m)-1])
						model[k] = m[:len(m)-1]
					}
				case 5:
					start, stop := r.IntN(20)-10, r.IntN(20)-10
					args = []string{"lrange", k, strconv.Itoa(start), strconv.Itoa(stop)}
					lo, hi, ok := listRange(int64(start), int64(stop), len(m))
					want = "*0\r\n"
					if ok {
						want = bulks(m[lo : hi+1])
					}
				case 6:
					i := r.IntN(20) - 10
					args = []string{"lindex", k, strconv.Itoa(i)}
					want = nullBulk
					if j, ok := listIndex(int64(i), len(m)); ok {
						want = strBulk(m[j])
					}
				case 7:
					i := r.IntN(20) - 10
					args = []string{"lset", k, strconv.Itoa(i), e + "s"}
					j, ok := listIndex(int64(i), len(m))
					switch {
					case len(m) == 0:
						want = "-ERR no such key\r\n"
					case !ok:
						want = "-ERR index out of range\r\n"
					default:
						want = "+OK\r\n"
						m[j] = e + "s"
					}
				case 8:
					pivot := fmt.Sprint("e", r.IntN(8))
					args = []string{"linsert", k, "after", pivot, e + "i"}
					j := slices.Index(m, pivot)
					switch {
					case len(m) == 0:
						want = strInt(0)
					case j < 0:
						want = strInt(-1)
					default:
						model[k] = slices.Insert(m, j+1, e+"i")
						want = strInt(int64(len(model[k])))
					}
				case 9:
					count := r.IntN(5) - 2
					args = []string{"lrem", k, strconv.Itoa(count), e}
					removed := 0
					var out []string
					if count >= 0 {
						for _, x := range m {
							if x == e && (count == 0 || removed < count) {
								removed++
								continue
							}
							out = append(out, x)
						}
					} else {
						for i := len(m) - 1; i >= 0; i-- {
							if m[i] == e && removed < -count {
								removed++
								continue
							}
							out = append([]string{m[i]}, out...)
						}
					}
					model[k] = out
					want = strInt(int64(removed))
				case 10:
					start, stop := r.IntN(12)-4, r.IntN(12)-4
					args = []string{"ltrim", k, strconv.Itoa(start), strconv.Itoa(stop)}
					lo, hi, ok := listRange(int64(start), int64(stop), len(m))
					if ok {
						model[k] = m[lo : hi+1]
					} else {
						model[k] = nil
					}
					want = "+OK\r\n"
				default:
					dst := keys[r.IntN(2)]
					args = []string{"lmove", k, dst, "left", "right"}
					want = nullBulk
					if len(m) > 0 {
						want = strBulk(m[0])
						model[k] = m[1:]
						model[dst] = append(model[dst], m[0])
					}
				}
				if got := h.do(args...); got != want {
					t.Fatalf("seed %d op %d %q: got %q, want %q", seed, op, args, got, want)
				}
				for _, key := range keys {
					got := h.do("lrange", key, "0", "-1")
					if w := bulks(model[key]); got != w {
						t.Fatalf("seed %d op %d %q: %s holds %q, want %q", seed, op, args, key, got, w)
					}
					if len(model[key]) == 0 && h.do("exists", key) != strInt(0) {
						t.Fatalf("seed %d op %d %q: empty %s exists", seed, op, args, key)
					}
				}
			}
		})
	}
}

// TestListKeyspace checks the keyspace commands on lists: TYPE, OBJECT
// ENCODING, COPY (a copy independent of its source), RENAME, SCAN TYPE,
// MEMORY USAGE, the expiry commands and expiry itself, DEL.
func TestListKeyspace(t *testing.T) {
	h := newHarness(t, 3)
	h.check([]step{
		{[]string{"rpush", "l", "a", "b"}, strInt(2)},
		{[]string{"type", "l"}, "+list\r\n"},
		{[]string{"object", "encoding", "l"}, strBulk("listpack")},
		{[]string{"copy", "l", "l2"}, strInt(1)},
		{[]string{"rpush", "l2", "c"}, strInt(3)},
		{[]string{"llen", "l"}, strInt(2)},
		{[]string{"rename", "l2", "l3"}, "+OK\r\n"},
		{[]string{"exists", "l2"}, strInt(0)},
		{[]string{"lrange", "l3", "0", "-1"}, strArr(strBulk("a"), strBulk("b"), strBulk("c"))},
		{[]string{"pexpire", "l3", "100"}, strInt(1)},
		{[]string{"lpush", "l3", "z"}, strInt(4)},
		{[]string{"pttl", "l3"}, strInt(100)},
		{[]string{"set", "str", "v"}, "+OK\r\n"},
		{[]string{"hset", "hash", "f", "v"}, strInt(1)},
	})
	for _, tc := range []struct{ typ, want string }{{"list", "l,l3"}, {"LIST", "l,l3"}, {"string", "str"}} {
		var got []string
		for _, c := range []string{"0", "1", "2"} {
			got = append(got, parseArray(t, stripCursor(h.do("scan", c, "type", tc.typ)))...)
		}
		slices.Sort(got)
		if strings.Join(got, ",") != tc.want {
			t.Errorf("SCAN TYPE %s: got %q, want %s", tc.typ, got, tc.want)
		}
	}
	small := usageOf(t, h, "l")
	var args []string
	for i := range 1000 {
		args = append(args, fmt.Sprintf("e%015d", i))
	}
	h.do(append([]string{"rpush", "l"}, args...)...)
	if got := h.do("object", "encoding", "l"); got != strBulk("quicklist") {
		t.Errorf("OBJECT ENCODING of 1002 elements: got %q", got)
	}
	big := usageOf(t, h, "l")
	if big < small+17000 || big > small+20000 {
		t.Errorf("MEMORY USAGE: %d with 2 elements, %d with 1002 of 16 bytes: want about 18 bytes an element more", small, big)
	}
	h.do("ltrim", "l", "0", "1")
	if got := usageOf(t, h, "l"); got >= big/4 {
		t.Errorf("MEMORY USAGE after LTRIM to 2 elements: got %d, from %d", got, big)
	}
	h.advance(time.Second)
	h.check([]step{
		{[]string{"llen", "l3"}, strInt(0)},
		{[]string{"exists", "l3"}, strInt(0)},
		{[]string{"del", "l"}, strInt(1)},
		{[]string{"lindex", "l", "0"}, nullBulk},
	})
}

// TestListCrossShard checks LMOVE, RPOPLPUSH and LMPOP between keys that
// live in different shards: each element leaves one key and arrives in the
// other in the same command, and an emptied source is deleted.
func TestListCrossShard(t *testing.T) {
	h := newHarness(t, 3)
	a, b := "a", "b"
	for i := 0; h.ring.Lookup([]byte(a)) == h.ring.Lookup([]byte(b)); i++ {
		b = fmt.Sprint("b", i)
	}
	h.check([]step{
		{[]string{"rpush", a, "1", "2", "3"}, strInt(3)},
		{[]string{"lmove", a, b, "right", "left"}, strBulk("3")},
		{[]string{"rpoplpush", a, b}, strBulk("2")},
		{[]string{"lrange", b, "0", "-1"}, strArr(strBulk("2"), strBulk("3"))},
		{[]string{"lmpop", "2", "nokey", a, "left", "count", "5"}, strArr(strBulk(a), strArr(strBulk("1")))},
		{[]string{"exists", a}, strInt(0)},
		{[]string{"lmove", b, a, "left", "left"}, strBulk("2")},
		{[]string{"lmpop", "2", a, b, "right"}, strArr(strBulk(a), strArr(strBulk("2")))},
		{[]string{"lmpop", "2", a, b, "right"}, strArr(strBulk(b), strArr(strBulk("3")))},
		{[]string{"dbsize"}, strInt(0)},
	})
}

// TestListNoPanic runs every list command with random arguments, options
// in random places and extreme numbers included, with chunks of 8 KiB and
// of one element: each must reply, never panic.
func TestListNoPanic(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 13))
	words := []string{"l", "m", "s", "str", "0", "1", "-1", "2", "3", "-3", "100", "-100", "9223372036854775807", "-9223372036854775808",
		"x", "", "a", "b", "left", "right", "before", "after", "rank", "count", "maxlen", "LEFT"}
	for _, fill := range []int64{-2, 1} {
		listFill(t, fill)
		h := newHarness(t, 3)
		h.do("sadd", "s", "a")
		h.do("set", "str", "v")
		h.noPanic(r, seed, listCommands, words, 20000, 6, func() { h.do("rpush", "l", "a", "b", "c", "a") })
	}
}

func BenchmarkListCommands(b *testing.B) {
	for _, cmd := range [][]string{{"lpush", "l", "xxx"}, {"rpop", "l"}, {"lrange", "l", "0", "99"}} {
		b.Run(cmd[0], func(b *testing.B) {
			h := newHarness(&testing.T{}, 1)
			var fill []string
			for range 1000 {
				fill = append(fill, "xxx")
			}
			h.do(append([]string{"rpush", "l"}, fill...)...)
			argv := make([][]byte, len(cmd))
			for i, a := range cmd {
				argv[i] = []byte(a)
			}
			spec := Redis.Lookup(argv[0])
			push := [][]byte{[]byte("rpush"), []byte("l"), []byte("xxx")}
			b.ReportAllocs()
			for b.Loop() {
				h.w.Reset()
				spec.Run(&h.ctx, argv)
				if cmd[0] == "rpop" {
					rpushCommand(&h.ctx, push)
				}
			}
		})
	}
}
