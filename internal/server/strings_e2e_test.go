package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// strClient returns a go-redis client of ts speaking RESP version proto (0
// for the default, RESP3 through HELLO), closed when the test ends.
func strClient(t *testing.T, ts *testServer, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
	t.Cleanup(func() { c.Close() })
	return c
}

// strShardKeys returns one key made from prefix on each shard of ts,
// indexed by shard.
func strShardKeys(ts *testServer, prefix string) []string {
	r := ts.Router().Ring()
	out := make([]string, r.Shards())
	found := 0
	for i := 0; found < len(out); i++ {
		k := prefix + strconv.Itoa(i)
		if s := r.LookupString(k); out[s] == "" {
			out[s] = k
			found++
		}
	}
	return out
}

// strWantErr fails t unless err is the server error msg.
func strWantErr(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if err == nil || err.Error() != msg {
		t.Errorf("%s: got error %v, want %q", what, err, msg)
	}
}

// strWant fails t unless got equals want.
func strWant[T comparable](t *testing.T, what string, got T, err error, want T) {
	t.Helper()
	if err != nil || got != want {
		t.Errorf("%s: got %v (error %v), want %v", what, got, err, want)
	}
}

// strWantNil fails t unless err is redis.Nil, the null reply.
func strWantNil(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, redis.Nil) {
		t.Errorf("%s: got error %v, want nil reply", what, err)
	}
}

func TestStringsE2ESetGet(t *testing.T) {
	ts := start(t, nil)
	c := strClient(t, ts, 0)
	ctx := context.Background()

	_, err := c.Get(ctx, "k").Result()
	strWantNil(t, "GET missing", err)
	v, err := c.Set(ctx, "k", "v1", 0).Result()
	strWant(t, "SET", v, err, "OK")
	v, err = c.Get(ctx, "k").Result()
	strWant(t, "GET", v, err, "v1")

	ok, err := c.SetNX(ctx, "k", "v2", 0).Result()
	strWant(t, "SET NX on an existing key", ok, err, false)
	ok, err = c.SetXX(ctx, "k", "v2", 0).Result()
	strWant(t, "SET XX", ok, err, true)
	ok, err = c.SetXX(ctx, "none", "v", 0).Result()
	strWant(t, "SET XX on a missing key", ok, err, false)
	v, err = c.SetArgs(ctx, "k", "v3", redis.SetArgs{Get: true}).Result()
	strWant(t, "SET GET", v, err, "v2")
	v, err = c.SetArgs(ctx, "k", "v4", redis.SetArgs{Mode: "NX", Get: true}).Result()
	strWant(t, "SET NX GET on an existing key", v, err, "v3")
	_, err = c.SetArgs(ctx, "fresh", "v", redis.SetArgs{Mode: "NX", Get: true}).Result()
	strWantNil(t, "SET NX GET on a missing key", err)
	v, err = c.Get(ctx, "fresh").Result()
	strWant(t, "GET after SET NX GET", v, err, "v")
	_, err = c.SetArgs(ctx, "none", "v", redis.SetArgs{Mode: "XX", Get: true}).Result()
	strWantNil(t, "SET XX GET on a missing key", err)

	// Expiry options and KEEPTTL.
	v, err = c.SetArgs(ctx, "t", "v", redis.SetArgs{TTL: 100 * time.Second}).Result()
	strWant(t, "SET EX", v, err, "OK")
	if d := c.TTL(ctx, "t").Val(); d <= 90*time.Second || d > 100*time.Second {
		t.Errorf("TTL after SET EX 100: got %v", d)
	}
	c.SetArgs(ctx, "t", "v2", redis.SetArgs{KeepTTL: true})
	if d := c.TTL(ctx, "t").Val(); d <= 90*time.Second || d > 100*time.Second {
		t.Errorf("TTL after SET KEEPTTL: got %v", d)
	}
	c.Set(ctx, "t", "v3", 0)
	if d := c.TTL(ctx, "t").Val(); d != -1 {
		t.Errorf("TTL after plain SET: got %v, want -1", d)
	}
	c.SetArgs(ctx, "t", "v", redis.SetArgs{ExpireAt: time.Now().Add(time.Hour)})
	if d := c.TTL(ctx, "t").Val(); d <= 50*time.Minute || d > time.Hour {
		t.Errorf("TTL after SET EXAT: got %v", d)
	}
	c.SetArgs(ctx, "t", "v", redis.SetArgs{ExpireAt: time.Now().Add(time.Hour).Truncate(time.Second).Add(5 * time.Millisecond)})
	if d := c.PTTL(ctx, "t").Val(); d <= 50*time.Minute || d > time.Hour {
		t.Errorf("PTTL after SET PXAT: got %v", d)
	}
	c.SetArgs(ctx, "t", "v", redis.SetArgs{ExpireAt: time.Unix(1, 0)})
	if n := c.Exists(ctx, "t").Val(); n != 0 {
		t.Errorf("EXISTS after SET EXAT in the past: got %d, want 0", n)
	}
	v, err = c.Do(ctx, "SETEX", "t", 10, "v").Text()
	strWant(t, "SETEX", v, err, "OK")
	if d := c.TTL(ctx, "t").Val(); d <= 5*time.Second || d > 10*time.Second {
		t.Errorf("TTL after SETEX: got %v", d)
	}
	v, err = c.Do(ctx, "PSETEX", "t", 20000, "w").Text()
	strWant(t, "PSETEX", v, err, "OK")
	if d := c.PTTL(ctx, "t").Val(); d <= 15*time.Second || d > 20*time.Second {
		t.Errorf("PTTL after PSETEX: got %v", d)
	}
	ok, err = c.Do(ctx, "SETNX", "t", "x").Bool()
	strWant(t, "SETNX existing", ok, err, false)
	ok, err = c.Do(ctx, "SETNX", "u", "x").Bool()
	strWant(t, "SETNX missing", ok, err, true)

	// Errors, word for word.
	for _, e := range []struct {
		args []any
		msg  string
	}{
		{[]any{"SET", "k", "v", "NX", "XX"}, "ERR syntax error"},
		{[]any{"SET", "k", "v", "EX", "10", "PX", "10"}, "ERR syntax error"},
		{[]any{"SET", "k", "v", "KEEPTTL", "EX", "10"}, "ERR syntax error"},
		{[]any{"SET", "k", "v", "EX"}, "ERR syntax error"},
		{[]any{"SET", "k", "v", "EX", "abc"}, "ERR value is not an integer or out of range"},
		{[]any{"SET", "k", "v", "EX", "0"}, "ERR invalid expire time in 'set' command"},
		{[]any{"SET", "k", "v", "PX", "-5"}, "ERR invalid expire time in 'set' command"},
		{[]any{"SETEX", "k", "0", "v"}, "ERR invalid expire time in 'setex' command"},
		{[]any{"PSETEX", "k", "-1", "v"}, "ERR invalid expire time in 'psetex' command"},
		{[]any{"SET", "k"}, "ERR wrong number of arguments for 'set' command"},
		{[]any{"GET", "k", "x"}, "ERR wrong number of arguments for 'get' command"},
	} {
		strWantErr(t, fmt.Sprint(e.args), c.Do(ctx, e.args...).Err(), e.msg)
	}
}

func TestStringsE2EGetFamily(t *testing.T) {
	ts := start(t, nil)
	c := strClient(t, ts, 0)
	ctx := context.Background()

	c.Set(ctx, "k", "v1", time.Minute)
	v, err := c.Do(ctx, "GETSET", "k", "v2").Text()
	strWant(t, "GETSET", v, err, "v1")
	if d := c.TTL(ctx, "k").Val(); d != -1 {
		t.Errorf("TTL after GETSET: got %v, want -1", d)
	}
	_, err = c.Do(ctx, "GETSET", "new", "x").Text()
	strWantNil(t, "GETSET missing", err)

	v, err = c.GetEx(ctx, "k", 50*time.Second).Result()
	strWant(t, "GETEX EX", v, err, "v2")
	if d := c.TTL(ctx, "k").Val(); d <= 40*time.Second || d > 50*time.Second {
		t.Errorf("TTL after GETEX EX: got %v", d)
	}
	v, err = c.GetEx(ctx, "k", 1500*time.Millisecond).Result()
	strWant(t, "GETEX PX", v, err, "v2")
	if d := c.PTTL(ctx, "k").Val(); d <= 0 || d > 1500*time.Millisecond {
		t.Errorf("PTTL after GETEX PX: got %v", d)
	}
	v, err = c.GetEx(ctx, "k", 0).Result()
	strWant(t, "GETEX PERSIST", v, err, "v2")
	if d := c.TTL(ctx, "k").Val(); d != -1 {
		t.Errorf("TTL after GETEX PERSIST: got %v, want -1", d)
	}
	at := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	v, err = c.Do(ctx, "GETEX", "k", "EXAT", at).Text()
	strWant(t, "GETEX EXAT", v, err, "v2")
	if d := c.TTL(ctx, "k").Val(); d <= 50*time.Minute || d > time.Hour {
		t.Errorf("TTL after GETEX EXAT: got %v", d)
	}
	v, err = c.Do(ctx, "GETEX", "k", "PXAT", "1").Text()
	strWant(t, "GETEX PXAT in the past", v, err, "v2")
	if n := c.Exists(ctx, "k").Val(); n != 0 {
		t.Errorf("EXISTS after GETEX PXAT 1: got %d, want 0", n)
	}
	_, err = c.GetEx(ctx, "k", time.Second).Result()
	strWantNil(t, "GETEX missing", err)
	c.Set(ctx, "k", "v", 0)
	strWantErr(t, "GETEX EX 0", c.Do(ctx, "GETEX", "k", "EX", "0").Err(), "ERR invalid expire time in 'getex' command")
	strWantErr(t, "GETEX KEEPTTL", c.Do(ctx, "GETEX", "k", "KEEPTTL").Err(), "ERR syntax error")
	strWantErr(t, "GETEX PERSIST EX", c.Do(ctx, "GETEX", "k", "PERSIST", "EX", "1").Err(), "ERR syntax error")

	v, err = c.GetDel(ctx, "k").Result()
	strWant(t, "GETDEL", v, err, "v")
	_, err = c.GetDel(ctx, "k").Result()
	strWantNil(t, "GETDEL again", err)
}

func TestStringsE2EMultiKey(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			c := strClient(t, ts, proto)
			c.FlushDB(ctx)
			ks := strShardKeys(ts, "multi")
			a, b, d := ks[0], ks[1], ks[2]
			v, err := c.MSet(ctx, a, "1", b, "2", d, "3").Result()
			strWant(t, "MSET", v, err, "OK")
			got, err := c.MGet(ctx, a, "missing", b, d).Result()
			if err != nil || !slices.Equal(got, []any{"1", nil, "2", "3"}) {
				t.Errorf("MGET: got %q (error %v), want [1 nil 2 3]", got, err)
			}
			ok, err := c.MSetNX(ctx, "n1", "x", d, "y").Result()
			strWant(t, "MSETNX with one key existing", ok, err, false)
			if n := c.Exists(ctx, "n1").Val(); n != 0 {
				t.Errorf("MSETNX set part of its keys")
			}
			c.Del(ctx, a, b, d)
			ok, err = c.MSetNX(ctx, a, "A", b, "B", d, "D").Result()
			strWant(t, "MSETNX", ok, err, true)
			got, _ = c.MGet(ctx, a, b, d).Result()
			if !slices.Equal(got, []any{"A", "B", "D"}) {
				t.Errorf("MGET after MSETNX: got %q", got)
			}
			// MSET drops the expiry of the keys it sets.
			c.Expire(ctx, a, time.Minute)
			c.MSet(ctx, a, "x", b, "y")
			if d := c.TTL(ctx, a).Val(); d != -1 {
				t.Errorf("TTL after MSET: got %v, want -1", d)
			}
			strWantErr(t, "MSET odd", c.Do(ctx, "MSET", a, "1", b).Err(), "ERR wrong number of arguments for 'mset' command")
			strWantErr(t, "MSETNX odd", c.Do(ctx, "MSETNX", a, "1", b).Err(), "ERR wrong number of arguments for 'msetnx' command")
		})
	}
}

func TestStringsE2ERangesAndCounters(t *testing.T) {
	ts := start(t, nil)
	c := strClient(t, ts, 0)
	ctx := context.Background()

	n, err := c.Append(ctx, "s", "Hello").Result()
	strWant(t, "APPEND new", n, err, 5)
	n, err = c.Append(ctx, "s", " World").Result()
	strWant(t, "APPEND", n, err, 11)
	n, err = c.StrLen(ctx, "s").Result()
	strWant(t, "STRLEN", n, err, 11)
	n, err = c.StrLen(ctx, "missing").Result()
	strWant(t, "STRLEN missing", n, err, 0)
	v, err := c.GetRange(ctx, "s", -5, -1).Result()
	strWant(t, "GETRANGE", v, err, "World")
	v, err = c.GetRange(ctx, "s", -1, -5).Result()
	strWant(t, "GETRANGE reversed", v, err, "")
	v, err = c.Do(ctx, "SUBSTR", "s", 0, 4).Text()
	strWant(t, "SUBSTR", v, err, "Hello")
	n, err = c.SetRange(ctx, "s", 6, "Redis").Result()
	strWant(t, "SETRANGE", n, err, 11)
	n, err = c.SetRange(ctx, "pad", 3, "x").Result()
	strWant(t, "SETRANGE padding", n, err, 4)
	v, _ = c.Get(ctx, "pad").Result()
	strWant(t, "GET padded", v, nil, "\x00\x00\x00x")
	strWantErr(t, "SETRANGE -1", c.SetRange(ctx, "s", -1, "x").Err(), "ERR offset is out of range")
	strWantErr(t, "SETRANGE too far", c.SetRange(ctx, "s", 512<<20, "x").Err(), "ERR string exceeds maximum allowed size (proto-max-bulk-len)")

	// APPEND, SETRANGE and the counters keep the expiry.
	c.Expire(ctx, "s", time.Minute)
	c.Append(ctx, "s", "!")
	c.SetRange(ctx, "s", 0, "J")
	v, _ = c.Get(ctx, "s").Result()
	strWant(t, "GET after edits", v, nil, "Jello Redis!")
	if d := c.TTL(ctx, "s").Val(); d <= 50*time.Second {
		t.Errorf("TTL after APPEND and SETRANGE: got %v, want about a minute", d)
	}

	n, err = c.Incr(ctx, "n").Result()
	strWant(t, "INCR", n, err, 1)
	n, err = c.IncrBy(ctx, "n", 41).Result()
	strWant(t, "INCRBY", n, err, 42)
	n, err = c.Decr(ctx, "n").Result()
	strWant(t, "DECR", n, err, 41)
	n, err = c.DecrBy(ctx, "n", 50).Result()
	strWant(t, "DECRBY", n, err, -9)
	c.Expire(ctx, "n", time.Minute)
	c.Incr(ctx, "n")
	if d := c.TTL(ctx, "n").Val(); d <= 50*time.Second {
		t.Errorf("TTL after INCR: got %v, want about a minute", d)
	}
	c.Set(ctx, "n", "9223372036854775807", 0)
	strWantErr(t, "INCR overflow", c.Incr(ctx, "n").Err(), "ERR increment or decrement would overflow")
	strWantErr(t, "INCR text", c.Incr(ctx, "s").Err(), "ERR value is not an integer or out of range")
	strWantErr(t, "DECRBY min", c.Do(ctx, "DECRBY", "x", "-9223372036854775808").Err(), "ERR decrement would overflow")

	for _, f := range []struct{ old, incr, want string }{
		{"10.5", "0.1", "10.6"},
		{"5.0e3", "0", "5000"},
		{"", "0.1", "0.1"},
		{"0.1", "0.2", "0.3"},
		{"", "-1.5e-3", "-0.0015"},
		{"", "1e30", "1000000000000000000024696061952"},
	} {
		c.Del(ctx, "f")
		if f.old != "" {
			c.Set(ctx, "f", f.old, 0)
		}
		v, err := c.Do(ctx, "INCRBYFLOAT", "f", f.incr).Text()
		strWant(t, f.old+" INCRBYFLOAT "+f.incr, v, err, f.want)
	}
	c.Set(ctx, "f", "1.5", 0)
	fl, err := c.IncrByFloat(ctx, "f", 0.25).Result()
	strWant(t, "IncrByFloat", fl, err, 1.75)
	strWantErr(t, "INCRBYFLOAT inf", c.Do(ctx, "INCRBYFLOAT", "f", "inf").Err(), "ERR increment would produce NaN or Infinity")
	strWantErr(t, "INCRBYFLOAT text", c.Do(ctx, "INCRBYFLOAT", "f", "abc").Err(), "ERR value is not a valid float")
}

func TestStringsE2ELCS(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			c := strClient(t, ts, proto)
			ks := strShardKeys(ts, "lcs")
			a, b := ks[0], ks[2]
			c.MSet(ctx, a, "ohmytext", b, "mynewtext")
			m, err := c.LCS(ctx, &redis.LCSQuery{Key1: a, Key2: b}).Result()
			if err != nil || m.MatchString != "mytext" {
				t.Errorf("LCS: got %+v (error %v), want mytext", m, err)
			}
			m, err = c.LCS(ctx, &redis.LCSQuery{Key1: a, Key2: b, Len: true}).Result()
			if err != nil || m.Len != 6 {
				t.Errorf("LCS LEN: got %+v (error %v), want 6", m, err)
			}
			m, err = c.LCS(ctx, &redis.LCSQuery{Key1: a, Key2: b, Idx: true, WithMatchLen: true}).Result()
			want := &redis.LCSMatch{Len: 6, Matches: []redis.LCSMatchedPosition{
				{Key1: redis.LCSPosition{Start: 4, End: 7}, Key2: redis.LCSPosition{Start: 5, End: 8}, MatchLen: 4},
				{Key1: redis.LCSPosition{Start: 2, End: 3}, Key2: redis.LCSPosition{Start: 0, End: 1}, MatchLen: 2},
			}}
			if err != nil || m.Len != want.Len || !slices.Equal(m.Matches, want.Matches) {
				t.Errorf("LCS IDX WITHMATCHLEN: got %+v (error %v), want %+v", m, err, want)
			}
			m, err = c.LCS(ctx, &redis.LCSQuery{Key1: a, Key2: b, Idx: true, MinMatchLen: 3}).Result()
			if err != nil || m.Len != 6 || len(m.Matches) != 1 || m.Matches[0].Key1 != want.Matches[0].Key1 {
				t.Errorf("LCS IDX MINMATCHLEN 3: got %+v (error %v)", m, err)
			}
			// The raw reply: a map in RESP3, a flat array in RESP2.
			raw, err := c.Do(ctx, "LCS", a, b, "IDX").Result()
			if err != nil {
				t.Fatal(err)
			}
			if _, isMap := raw.(map[any]any); isMap != (proto == 3) {
				t.Errorf("LCS IDX reply in RESP%d: got %T", proto, raw)
			}
			strWantErr(t, "LCS LEN IDX", c.Do(ctx, "LCS", a, b, "LEN", "IDX").Err(), "ERR If you want both the length and indexes, please just use IDX.")
		})
	}
}

// TestStringsE2EBinarySafe stores keys and values with every awkward byte
// and reads them back through each command.
func TestStringsE2EBinarySafe(t *testing.T) {
	ts := start(t, nil)
	c := strClient(t, ts, 0)
	ctx := context.Background()
	var all strings.Builder
	for i := range 256 {
		all.WriteByte(byte(i))
	}
	vals := []string{"\x00", "a\x00b", "\r\n", "line1\nline2\r\n", " lead and trail ", "\xff\xfe\x00\xff", all.String(), strings.Repeat("\x00\r\n\xff ", 50000)}
	keys := []string{"\x00", "k\r\nx", "sp ace", "\xff\xff", "\x00\xff\r\n ", "$3\r\nbad\r\n", "*1\r\n"}
	for i, k := range keys {
		v := vals[i%len(vals)]
		if err := c.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatalf("SET %q: %v", k, err)
		}
		got, err := c.Get(ctx, k).Result()
		if err != nil || got != v {
			t.Errorf("GET %q: got %q (error %v), want %q", k, got, err, v)
		}
		n, err := c.Append(ctx, k, "\x00\xff").Result()
		strWant(t, "APPEND "+strconv.Quote(k), n, err, int64(len(v)+2))
		r, err := c.GetRange(ctx, k, -3, -1).Result()
		strWant(t, "GETRANGE "+strconv.Quote(k), r, err, (v + "\x00\xff")[len(v)-1:])
	}
	// Every pair at once, across shards.
	pairs := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		pairs = append(pairs, k, vals[len(vals)-1-i%len(vals)])
	}
	if err := c.MSet(ctx, pairs...).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if got[i] != pairs[2*i+1] {
			t.Errorf("MGET %q: got %q, want %q", keys[i], got[i], pairs[2*i+1])
		}
	}
	c.Set(ctx, "bin1", "\x00a\xffb\r\nc", 0)
	c.Set(ctx, "bin2", "a\x00\xff\r\nb c", 0)
	m, err := c.LCS(ctx, &redis.LCSQuery{Key1: "bin1", Key2: "bin2"}).Result()
	if err != nil || m.MatchString != "a\xff\r\nc" {
		t.Errorf("LCS binary: got %+v (error %v)", m, err)
	}
	n, err := c.SetRange(ctx, "bin1", 1, "\r\n\x00").Result()
	strWant(t, "SETRANGE binary", n, err, 7)
	v, err := c.GetDel(ctx, "bin1").Result()
	strWant(t, "GETDEL binary", v, err, "\x00\r\n\x00\r\nc")
}

// TestStringsE2EExpiry watches short expiries pass through GET, polling
// with a bound rather than asserting exact times.
func TestStringsE2EExpiry(t *testing.T) {
	ts := start(t, nil)
	c := strClient(t, ts, 0)
	ctx := context.Background()

	// waitGone polls GET until key is gone, and fails after a bound.
	waitGone := func(what, key string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := c.Get(ctx, key).Result(); errors.Is(err, redis.Nil) {
				return
			} else if err != nil {
				t.Fatalf("%s: GET: %v", what, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("%s: key %q still there after 10s", what, key)
	}
	// present checks that key holds want, unless the expiry may already
	// have passed (begun more than 100 ms ago).
	present := func(what, key, want string, begun time.Time) {
		t.Helper()
		got, err := c.Get(ctx, key).Result()
		if time.Since(begun) >= 100*time.Millisecond {
			return
		}
		if err != nil || got != want {
			t.Errorf("%s: GET %q right away: got %q (error %v), want %q", what, key, got, err, want)
		}
	}

	begun := time.Now()
	c.Do(ctx, "SET", "a", "v", "PX", 100)
	present("SET PX", "a", "v", begun)
	waitGone("SET PX", "a")

	begun = time.Now()
	c.Do(ctx, "PSETEX", "b", 100, "v")
	present("PSETEX", "b", "v", begun)
	waitGone("PSETEX", "b")

	c.Set(ctx, "c", "v", 0)
	begun = time.Now()
	c.Do(ctx, "GETEX", "c", "PX", 100)
	present("GETEX PX", "c", "v", begun)
	waitGone("GETEX PX", "c")

	// KEEPTTL, APPEND, SETRANGE and INCR keep the expiry running.
	begun = time.Now()
	c.Do(ctx, "SET", "d", "1", "PX", 100)
	c.Do(ctx, "SET", "d", "2", "KEEPTTL")
	c.Incr(ctx, "d")
	c.Append(ctx, "d", "0")
	c.SetRange(ctx, "d", 0, "4")
	present("KEEPTTL and edits", "d", "40", begun)
	waitGone("KEEPTTL and edits", "d")

	// A plain SET clears it.
	c.Do(ctx, "SET", "e", "v", "PX", 100)
	c.Set(ctx, "e", "w", 0)
	time.Sleep(150 * time.Millisecond)
	v, err := c.Get(ctx, "e").Result()
	strWant(t, "GET after SET cleared the expiry", v, err, "w")

	// An expired key is missing to every command.
	c.Do(ctx, "SET", "f", "5", "PX", 100)
	waitGone("SET PX", "f")
	n, err := c.Incr(ctx, "f").Result()
	strWant(t, "INCR after expiry", n, err, 1)
	ok, err := c.MSetNX(ctx, "f2", "x").Result()
	strWant(t, "MSETNX", ok, err, true)
}

// TestStringsE2EPipeline sends 5,000 mixed string commands, some spanning
// shards, in one pipeline and checks every reply against a model.
func TestStringsE2EPipeline(t *testing.T) {
	ts := start(t, nil)
	c := strClient(t, ts, 0)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	model := make(map[string]string)
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = "pipe:" + strconv.Itoa(i)
	}
	key := func() string { return keys[rng.IntN(len(keys))] }

	// Each expected reply is written as normalize writes the actual one.
	var cmds []*redis.Cmd
	var wants []string
	p := c.Pipeline()
	add := func(want string, args ...any) {
		cmds = append(cmds, p.Do(ctx, args...))
		wants = append(wants, want)
	}
	bulk := func(k string) string {
		if v, ok := model[k]; ok {
			return "s:" + v
		}
		return "nil"
	}
	for i := range 5000 {
		k := key()
		switch op := rng.IntN(14); op {
		case 0:
			v := "v" + strconv.Itoa(i)
			add("s:OK", "SET", k, v)
			model[k] = v
		case 1:
			add(bulk(k), "GET", k)
		case 2:
			cur, ok := model[k]
			n, err := strconv.ParseInt(cur, 10, 64)
			if ok && (err != nil || strconv.FormatInt(n, 10) != cur) {
				add("err:ERR value is not an integer or out of range", "INCR", k)
				continue
			}
			add("i:"+strconv.FormatInt(n+1, 10), "INCR", k)
			model[k] = strconv.FormatInt(n+1, 10)
		case 3:
			tail := strconv.Itoa(i % 10)
			model[k] += tail
			add("i:"+strconv.Itoa(len(model[k])), "APPEND", k, tail)
		case 4:
			k2, k3 := key(), key()
			add("["+bulk(k)+" "+bulk(k2)+" "+bulk(k3)+"]", "MGET", k, k2, k3)
		case 5:
			k2 := key()
			v := "m" + strconv.Itoa(i)
			add("s:OK", "MSET", k, v, k2, v+"b")
			model[k], model[k2] = v, v+"b"
		case 6:
			add(bulk(k), "GETDEL", k)
			delete(model, k)
		case 7:
			add("i:"+strconv.Itoa(len(model[k])), "STRLEN", k)
		case 8:
			k2 := key()
			_, e1 := model[k]
			_, e2 := model[k2]
			if e1 || e2 {
				add("i:0", "MSETNX", k, "x", k2, "y")
				continue
			}
			add("i:1", "MSETNX", k, "x", k2, "y")
			model[k], model[k2] = "x", "y"
			if k == k2 {
				model[k] = "y"
			}
		case 9:
			v := "g" + strconv.Itoa(i)
			add(bulk(k), "GETSET", k, v)
			model[k] = v
		case 10:
			cur, ok := model[k]
			if !ok {
				add("i:0", "SETRANGE", k, 0, "")
				continue
			}
			b := []byte(cur)
			b[0] = 'Z'
			model[k] = string(b)
			add("i:"+strconv.Itoa(len(cur)), "SETRANGE", k, 0, "Z")
		case 11:
			cur := model[k]
			want := ""
			if len(cur) > 1 {
				want = cur[1:]
			}
			add("s:"+want, "GETRANGE", k, 1, -1)
		case 12:
			_, exists := model[k]
			if exists {
				add("i:0", "SETNX", k, "nx")
				continue
			}
			add("i:1", "SETNX", k, "nx")
			model[k] = "nx"
		default:
			add("err:ERR syntax error", "SET", k, "v", "NX", "XX")
		}
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "ERR ") {
		t.Fatal(err)
	}
	bad := 0
	for i, cmd := range cmds {
		if got := strNormalize(cmd); got != wants[i] {
			t.Errorf("command %d %q: got %s, want %s", i, cmd.Args(), got, wants[i])
			if bad++; bad > 10 {
				t.FailNow()
			}
		}
	}
	// The keyspace ends as the model does.
	got, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		want, ok := model[k]
		if !ok && got[i] != nil || ok && got[i] != want {
			t.Errorf("final %q: got %v, want %q", k, got[i], want)
		}
	}
}

// strNormalize writes a reply as the pipeline test's model does: "s:" and
// the text of a string, "i:" and an integer, "nil", "err:" and the message,
// and arrays as "[a b]".
func strNormalize(cmd *redis.Cmd) string {
	v, err := cmd.Result()
	switch {
	case errors.Is(err, redis.Nil):
		return "nil"
	case err != nil:
		return "err:" + err.Error()
	}
	var norm func(v any) string
	norm = func(v any) string {
		switch v := v.(type) {
		case nil:
			return "nil"
		case string:
			return "s:" + v
		case int64:
			return "i:" + strconv.FormatInt(v, 10)
		case []any:
			parts := make([]string, len(v))
			for i, e := range v {
				parts[i] = norm(e)
			}
			return "[" + strings.Join(parts, " ") + "]"
		}
		return fmt.Sprintf("?%T:%v", v, v)
	}
	return norm(v)
}

// TestStringsE2EMSetAtomic runs writers that each MSET the same keys, one
// per shard and more, to one value per MSET, against readers that MGET
// them all: a reader must never see part of an MSET.
func TestStringsE2EMSetAtomic(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	var keys []string
	for i := range 3 {
		keys = append(keys, strShardKeys(ts, "atom"+strconv.Itoa(i)+":")...)
	}
	// Readers keep reading until the writers are done, up to maxReads each.
	const writers, readers, rounds, maxReads = 4, 4, 300, 20000
	setup := strClient(t, ts, 0)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, "init")
	}
	if err := setup.MSet(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}

	var wg, writing sync.WaitGroup
	var done atomic.Bool
	for w := range writers {
		c := strClient(t, ts, 0)
		writing.Go(func() {
			pairs := make([]any, 2*len(keys))
			for i := range rounds {
				// Round i of writer w sets every key to "w-i".
				v := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				for j, k := range keys {
					pairs[2*j], pairs[2*j+1] = k, v
				}
				if err := c.MSet(ctx, pairs...).Err(); err != nil {
					t.Errorf("writer %d: MSET: %v", w, err)
					return
				}
			}
		})
	}
	var total atomic.Int64
	for r := range readers {
		c := strClient(t, ts, 0)
		wg.Go(func() {
			for range maxReads {
				if done.Load() {
					return
				}
				total.Add(1)
				vals, err := c.MGet(ctx, keys...).Result()
				if err != nil {
					t.Errorf("reader %d: MGET: %v", r, err)
					return
				}
				for _, v := range vals[1:] {
					if v != vals[0] {
						t.Errorf("reader %d: MGET saw part of an MSET: %q", r, vals)
						return
					}
				}
			}
		})
	}
	writing.Wait()
	done.Store(true)
	wg.Wait()
	t.Logf("%d MGETs during %d MSETs", total.Load(), writers*rounds)
	vals, err := setup.MGet(ctx, keys...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if v != vals[0] || v == "init" {
			t.Fatalf("final MGET: got %q, want one writer's last value everywhere", vals)
		}
	}
}
