package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// keysClient returns a go-redis client of ts speaking RESP version proto
// (0 for the default, RESP3 through HELLO), closed when the test ends.
func keysClient(t *testing.T, ts *testServer, proto int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
	t.Cleanup(func() { c.Close() })
	return c
}

// keysOnShards returns n keys made from prefix on each shard of ts, indexed by
// shard.
func keysOnShards(ts *testServer, prefix string, n int) [][]string {
	r := ts.Router().Ring()
	out := make([][]string, r.Shards())
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		if s := r.LookupString(k); len(out[s]) < n {
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

// keysWantErr fails t unless err is the server error msg.
func keysWantErr(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if err == nil || err.Error() != msg {
		t.Errorf("%s: got error %v, want %q", what, err, msg)
	}
}

// keysScan runs a full SCAN with the given options and returns how many
// times each key came back. It gives up after maxCalls calls.
func keysScan(ctx context.Context, t *testing.T, c *redis.Client, match string, count int64, typ string, maxCalls int) map[string]int {
	t.Helper()
	seen := make(map[string]int)
	var cursor uint64
	for range maxCalls {
		keys, next, err := c.ScanType(ctx, cursor, match, count, typ).Result()
		if err != nil {
			t.Fatalf("SCAN %d: %v", cursor, err)
		}
		for _, k := range keys {
			seen[k]++
		}
		if next == 0 {
			return seen
		}
		cursor = next
	}
	t.Fatalf("SCAN did not finish in %d calls", maxCalls)
	return nil
}

// TestKeysE2EScanEmptyShards: SCAN skips the shards without keys, so that
// it answers cursor 0 at once on an empty keyspace, as Redis does; and
// the keys a command holding several shards wrote (MSET) are counted
// before its reply goes out, so that a SCAN right after it finds them.
func TestKeysE2EScanEmptyShards(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	keys, next, err := c.Scan(ctx, 0, "", 0).Result()
	if err != nil || next != 0 || len(keys) != 0 {
		t.Fatalf("SCAN 0 on an empty keyspace: %q, cursor %d, %v; want none and 0", keys, next, err)
	}
	for round := range 20 {
		var kv []any
		for i := range 8 {
			kv = append(kv, fmt.Sprintf("r%d:%d", round, i), "v")
		}
		if err := c.MSet(ctx, kv...).Err(); err != nil {
			t.Fatal(err)
		}
		seen := keysScan(ctx, t, c, "", 1000, "", 10)
		for i := 0; i < len(kv); i += 2 {
			if seen[kv[i].(string)] != 1 {
				t.Fatalf("round %d: SCAN right after MSET returned %s %d times, want once", round, kv[i], seen[kv[i].(string)])
			}
		}
		if err := c.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeysE2EDelExistsType(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()

	var keys []string
	for _, ks := range keysOnShards(ts, "k", 10) {
		keys = append(keys, ks...)
	}
	for _, k := range keys {
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		cmd  *redis.IntCmd
		want int64
	}{
		{"EXISTS all", c.Exists(ctx, keys...), 30},
		{"EXISTS repeated", c.Exists(ctx, keys[0], keys[0], keys[29], "missing"), 3},
		{"TOUCH", c.Touch(ctx, keys[0], keys[15], "missing"), 2},
		{"DEL", c.Del(ctx, append(keys[:10:10], "missing", keys[0])...), 10},
		{"EXISTS after DEL", c.Exists(ctx, keys...), 20},
		{"UNLINK", c.Unlink(ctx, keys[10:]...), 20},
		{"DBSIZE", c.DBSize(ctx), 0},
	}
	for _, tt := range tests {
		if got, err := tt.cmd.Result(); err != nil || got != tt.want {
			t.Errorf("%s: got %d, %v, want %d", tt.name, got, err, tt.want)
		}
	}
	c.Set(ctx, "s", "v", 0)
	if got := c.Type(ctx, "s").Val(); got != "string" {
		t.Errorf("TYPE s: got %q, want string", got)
	}
	if got := c.Type(ctx, "missing").Val(); got != "none" {
		t.Errorf("TYPE missing: got %q, want none", got)
	}
	keysWantErr(t, "DEL without keys", c.Do(ctx, "DEL").Err(), "ERR wrong number of arguments for 'del' command")
}

func TestKeysE2EDeleteList(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	for _, k := range []string{"b", "a", "c", "\x00", "B"} {
		c.Set(ctx, k, "v", 0)
	}
	got, err := c.Do(ctx, "LIST").StringSlice()
	if want := []string{"\x00", "B", "a", "b", "c"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("LIST: got %q, %v, want %q", got, err, want)
	}
	for range 2 {
		if got, err := c.Do(ctx, "DELETE", "a").Text(); err != nil || got != "OK" {
			t.Errorf("DELETE a: got %q, %v, want OK", got, err)
		}
	}
	if n := c.Exists(ctx, "a").Val(); n != 0 {
		t.Errorf("EXISTS a after DELETE: got %d, want 0", n)
	}
}

func TestKeysE2ERenameCopy(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	ks := keysOnShards(ts, "r", 2)
	a, b, d := ks[0][0], ks[1][0], ks[2][0]

	keysWantErr(t, "RENAME missing", c.Rename(ctx, "missing", b).Err(), "ERR no such key")
	keysWantErr(t, "RENAMENX missing", c.RenameNX(ctx, "missing", b).Err(), "ERR no such key")

	c.Set(ctx, a, "value", time.Minute)
	if err := c.Rename(ctx, a, b).Err(); err != nil {
		t.Fatalf("RENAME across shards: %v", err)
	}
	if got, err := c.Get(ctx, b).Result(); err != nil || got != "value" {
		t.Errorf("GET %s after RENAME: got %q, %v, want value", b, got, err)
	}
	if n := c.Exists(ctx, a).Val(); n != 0 {
		t.Errorf("EXISTS source after RENAME: got %d, want 0", n)
	}
	if ttl := c.PTTL(ctx, b).Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("PTTL after RENAME: got %v, want about 1m", ttl)
	}
	if err := c.Rename(ctx, b, b).Err(); err != nil {
		t.Errorf("RENAME to itself: %v", err)
	}

	if n, err := c.Copy(ctx, b, d, 0, false).Result(); err != nil || n != 1 {
		t.Errorf("COPY across shards: got %d, %v, want 1", n, err)
	}
	if got := c.Get(ctx, d).Val(); got != "value" {
		t.Errorf("GET copy: got %q, want value", got)
	}
	if ttl := c.PTTL(ctx, d).Val(); ttl <= 50*time.Second {
		t.Errorf("PTTL of the copy: got %v, want about 1m", ttl)
	}
	c.Set(ctx, a, "other", 0)
	if n := c.Copy(ctx, a, d, 0, false).Val(); n != 0 {
		t.Errorf("COPY onto an existing key: got %d, want 0", n)
	}
	if n := c.Copy(ctx, a, d, 0, true).Val(); n != 1 {
		t.Errorf("COPY REPLACE: got %d, want 1", n)
	}
	if got, ttl := c.Get(ctx, d).Val(), c.TTL(ctx, d).Val(); got != "other" || ttl != -1 {
		t.Errorf("after COPY REPLACE: got %q with TTL %v, want other with -1", got, ttl)
	}
	keysWantErr(t, "COPY DB 1", c.Copy(ctx, a, "x", 1, false).Err(), "ERR DB index is out of range")
	keysWantErr(t, "COPY to itself", c.Copy(ctx, a, a, 0, false).Err(), "ERR source and destination objects are the same")

	if ok, err := c.RenameNX(ctx, a, b).Result(); err != nil || ok {
		t.Errorf("RENAMENX onto an existing key: got %v, %v, want false", ok, err)
	}
	if ok, err := c.RenameNX(ctx, a, ks[1][1]).Result(); err != nil || !ok {
		t.Errorf("RENAMENX: got %v, %v, want true", ok, err)
	}
}

func TestKeysE2EExpire(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	c.Set(ctx, "k", "v", 0)

	bools := []struct {
		name string
		cmd  *redis.BoolCmd
		want bool
	}{
		{"EXPIRE missing", c.Expire(ctx, "missing", time.Minute), false},
		{"PERSIST without TTL", c.Persist(ctx, "k"), false},
		{"EXPIRE XX without TTL", c.ExpireXX(ctx, "k", time.Minute), false},
		{"EXPIRE GT without TTL", c.ExpireGT(ctx, "k", time.Minute), false},
		{"EXPIRE NX", c.ExpireNX(ctx, "k", 100*time.Second), true},
		{"EXPIRE NX again", c.ExpireNX(ctx, "k", time.Minute), false},
		{"EXPIRE GT smaller", c.ExpireGT(ctx, "k", time.Minute), false},
		{"EXPIRE LT smaller", c.ExpireLT(ctx, "k", time.Minute), true},
		{"EXPIRE LT larger", c.ExpireLT(ctx, "k", 2*time.Minute), false},
		{"EXPIRE GT larger", c.ExpireGT(ctx, "k", 2*time.Minute), true},
		{"EXPIRE XX", c.ExpireXX(ctx, "k", 3*time.Minute), true},
	}
	for _, tt := range bools {
		if got, err := tt.cmd.Result(); err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v, want %v", tt.name, got, err, tt.want)
		}
	}
	if ttl := c.TTL(ctx, "k").Val(); ttl != 3*time.Minute && ttl != 3*time.Minute-time.Second {
		t.Errorf("TTL: got %v, want 3m", ttl)
	}
	if ttl := c.PTTL(ctx, "k").Val(); ttl <= 170*time.Second || ttl > 3*time.Minute {
		t.Errorf("PTTL: got %v, want about 3m", ttl)
	}

	at := time.Now().Add(time.Hour).Truncate(time.Second)
	if !c.ExpireAt(ctx, "k", at).Val() {
		t.Error("EXPIREAT: got false, want true")
	}
	if got := c.ExpireTime(ctx, "k").Val(); got != time.Duration(at.Unix())*time.Second {
		t.Errorf("EXPIRETIME: got %v, want %v", got, time.Duration(at.Unix())*time.Second)
	}
	atMs := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if !c.PExpireAt(ctx, "k", atMs).Val() {
		t.Error("PEXPIREAT: got false, want true")
	}
	if got := c.PExpireTime(ctx, "k").Val(); got != time.Duration(atMs.UnixMilli())*time.Millisecond {
		t.Errorf("PEXPIRETIME: got %v, want %v", got, time.Duration(atMs.UnixMilli())*time.Millisecond)
	}
	if !c.PExpire(ctx, "k", 90*time.Second).Val() {
		t.Error("PEXPIRE: got false, want true")
	}
	if !c.Persist(ctx, "k").Val() {
		t.Error("PERSIST: got false, want true")
	}
	if got := c.TTL(ctx, "k").Val(); got != -1 {
		t.Errorf("TTL after PERSIST: got %v, want -1", got)
	}
	if got := c.TTL(ctx, "missing").Val(); got != -2 {
		t.Errorf("TTL missing: got %v, want -2", got)
	}
	if got := c.ExpireTime(ctx, "k").Val(); got != -1 {
		t.Errorf("EXPIRETIME without TTL: got %v, want -1", got)
	}

	// A time in the past deletes the key.
	if !c.ExpireAt(ctx, "k", time.Unix(1, 0)).Val() {
		t.Error("EXPIREAT in the past: got false, want true")
	}
	if n := c.Exists(ctx, "k").Val(); n != 0 {
		t.Errorf("EXISTS after EXPIREAT in the past: got %d, want 0", n)
	}

	errs := []struct {
		args []any
		want string
	}{
		{[]any{"EXPIRE", "k", 10, "NX", "XX"}, "ERR NX and XX, GT or LT options at the same time are not compatible"},
		{[]any{"EXPIRE", "k", 10, "GT", "LT"}, "ERR GT and LT options at the same time are not compatible"},
		{[]any{"EXPIRE", "k", 10, "BOGUS"}, "ERR Unsupported option BOGUS"},
		{[]any{"EXPIRE", "k", "ten"}, "ERR value is not an integer or out of range"},
		{[]any{"EXPIRE", "k", "9223372036854775807"}, "ERR invalid expire time in 'expire' command"},
		{[]any{"PEXPIRE", "k", "9223372036854775807"}, "ERR invalid expire time in 'pexpire' command"},
	}
	for _, tt := range errs {
		keysWantErr(t, fmt.Sprint(tt.args), c.Do(ctx, tt.args...).Err(), tt.want)
	}
}

// TestKeysE2ETTLExpiry watches a key with a 100 ms expiry go away.
func TestKeysE2ETTLExpiry(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	if err := c.Set(ctx, "short", "v", 100*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if ttl := c.PTTL(ctx, "short").Val(); ttl <= 0 || ttl > 100*time.Millisecond {
		t.Errorf("PTTL: got %v, want within (0, 100ms]", ttl)
	}
	begin := time.Now()
	for {
		_, err := c.Get(ctx, "short").Result()
		if errors.Is(err, redis.Nil) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(begin) > 5*time.Second {
			t.Fatal("key with a 100ms expiry still there after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if elapsed := time.Since(begin); elapsed < 80*time.Millisecond {
		t.Errorf("key gone after %v, want about 100ms", elapsed)
	}
	if got := c.TTL(ctx, "short").Val(); got != -2 {
		t.Errorf("TTL after expiry: got %v, want -2", got)
	}
}

// TestKeysE2EActiveExpiry checks that keys nobody reads are removed by the
// active expiry cycle.
func TestKeysE2EActiveExpiry(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	p := c.Pipeline()
	for i := range 1000 {
		p.Set(ctx, "gone:"+strconv.Itoa(i), "v", 50*time.Millisecond)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	var n int64
	for range 200 {
		n = c.DBSize(ctx).Val()
		if n == 0 {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Errorf("DBSIZE 5s after the keys expired: got %d, want 0", n)
}

func TestKeysE2EKeys(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	for _, k := range []string{"hello", "hallo", "hxllo", "hllo", "heeello", "user:1", "user:2", "user:10", "a\x00b", "\r\n", ""} {
		c.Set(ctx, k, "v", 0)
	}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"*", []string{"", "\r\n", "a\x00b", "hallo", "heeello", "hello", "hllo", "hxllo", "user:1", "user:10", "user:2"}},
		{"h?llo", []string{"hallo", "hello", "hxllo"}},
		{"h*llo", []string{"hallo", "heeello", "hello", "hllo", "hxllo"}},
		{"h[ae]llo", []string{"hallo", "hello"}},
		{"h[^e]llo", []string{"hallo", "hxllo"}},
		{"user:?", []string{"user:1", "user:2"}},
		{"a?b", []string{"a\x00b"}},
		{"\r*", []string{"\r\n"}},
		{"none*", []string{}},
		{"", []string{""}},
	}
	for _, tt := range tests {
		got, err := c.Keys(ctx, tt.pattern).Result()
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("KEYS %q: got %q, %v, want %q", tt.pattern, got, err, tt.want)
		}
	}
}

func TestKeysE2EScan(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	p := c.Pipeline()
	want := make(map[string]bool)
	for i := range 2000 {
		k := "user:" + strconv.Itoa(i)
		if i%4 == 0 {
			k = "item:" + strconv.Itoa(i)
		}
		want[k] = true
		p.Set(ctx, k, "v", 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for _, count := range []int64{0, 1, 10, 1000} {
		seen := keysScan(ctx, t, c, "", count, "", 10000)
		for k := range want {
			if seen[k] != 1 {
				t.Errorf("COUNT %d: key %q returned %d times, want once", count, k, seen[k])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("COUNT %d: got %d keys, want %d", count, len(seen), len(want))
		}
	}
	items := keysScan(ctx, t, c, "item:*", 50, "", 10000)
	if len(items) != 500 {
		t.Errorf("MATCH item:*: got %d keys, want 500", len(items))
	}
	for k := range items {
		if !strings.HasPrefix(k, "item:") {
			t.Errorf("MATCH item:*: got %q", k)
		}
	}
	if got := keysScan(ctx, t, c, "", 100, "string", 10000); len(got) != 2000 {
		t.Errorf("TYPE string: got %d keys, want 2000", len(got))
	}
	if got := keysScan(ctx, t, c, "", 100, "list", 10000); len(got) != 0 {
		t.Errorf("TYPE list: got %d keys, want 0", len(got))
	}

	// The iterator of go-redis follows the cursors too.
	n := 0
	for it := c.Scan(ctx, 0, "user:*", 100).Iterator(); it.Next(ctx); n++ {
		if !strings.HasPrefix(it.Val(), "user:") {
			t.Errorf("iterator: got %q", it.Val())
		}
	}
	if n != 1500 {
		t.Errorf("iterator: got %d keys, want 1500", n)
	}

	// An empty pattern or type is not the absence of one.
	for _, opt := range []string{"MATCH", "TYPE"} {
		c.Set(ctx, "", "v", 0)
		var got []string
		for cursor, calls := "0", 0; calls < 100; calls++ {
			res, err := c.Do(ctx, "SCAN", cursor, opt, "", "COUNT", 1000).Slice()
			if err != nil || len(res) != 2 {
				t.Fatalf("SCAN %s '': got %v, %v", opt, res, err)
			}
			for _, k := range res[1].([]any) {
				got = append(got, k.(string))
			}
			if cursor = res[0].(string); cursor == "0" {
				break
			}
		}
		want := []string{""}
		if opt == "TYPE" {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("SCAN %s '': got %q, want %q", opt, got, want)
		}
		c.Del(ctx, "")
	}

	keysWantErr(t, "SCAN x", c.Do(ctx, "SCAN", "x").Err(), "ERR invalid cursor")
	keysWantErr(t, "SCAN COUNT 0", c.Do(ctx, "SCAN", "0", "COUNT", "0").Err(), "ERR syntax error")
	keysWantErr(t, "SCAN BOGUS", c.Do(ctx, "SCAN", "0", "BOGUS", "1").Err(), "ERR syntax error")
}

// TestKeysE2EScanConcurrentWrites scans while another client keeps adding
// and deleting other keys: every key present for the whole scan must come
// back at least once.
func TestKeysE2EScanConcurrentWrites(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	w := keysClient(t, ts, 0)
	ctx := context.Background()
	p := c.Pipeline()
	for i := range 3000 {
		p.Set(ctx, "stable:"+strconv.Itoa(i), "v", 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	for round := range 3 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var writes int
		var werr error
		// started is closed once the writer has made its first round (or
		// given up), so that the scan surely runs among writes.
		started := make(chan struct{})
		var once sync.Once
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer once.Do(func() { close(started) })
			for i := 0; i < 1_000_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Grow the keyspace, then shrink it, so that the
				// engines' slots are reused while the scan runs.
				wp := w.Pipeline()
				for j := range 50 {
					wp.Set(ctx, fmt.Sprintf("churn:%d:%d", i, j), "v", 0)
				}
				if i > 0 {
					for j := range 50 {
						wp.Del(ctx, fmt.Sprintf("churn:%d:%d", i-1, j))
					}
				}
				if _, err := wp.Exec(ctx); err != nil {
					werr = err
					return
				}
				writes++
				once.Do(func() { close(started) })
			}
		}()
		<-started
		seen := keysScan(ctx, t, c, "", 10, "", 100000)
		close(stop)
		wg.Wait()
		if werr != nil {
			t.Fatalf("writer: %v", werr)
		}
		t.Logf("round %d: the writer made %d rounds of 100 commands during the scan", round, writes)
		missing := 0
		for i := range 3000 {
			if seen["stable:"+strconv.Itoa(i)] == 0 {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("round %d: %d stable keys not returned (writer made %d rounds)", round, missing, writes)
		}
		for k := range seen {
			if !strings.HasPrefix(k, "stable:") && !strings.HasPrefix(k, "churn:") {
				t.Errorf("round %d: unexpected key %q", round, k)
			}
		}
	}
}

func TestKeysE2ERandomKeyObject(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run("RESP"+strconv.Itoa(proto), func(t *testing.T) {
			c := keysClient(t, ts, proto)
			c.FlushDB(ctx)
			if _, err := c.RandomKey(ctx).Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("RANDOMKEY on an empty keyspace: got %v, want redis.Nil", err)
			}
			if _, err := c.ObjectEncoding(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("OBJECT ENCODING missing: got %v, want redis.Nil", err)
			}
			keys := make(map[string]bool)
			for _, ks := range keysOnShards(ts, "rk", 3) {
				for _, k := range ks {
					keys[k] = true
					c.Set(ctx, k, "v", 0)
				}
			}
			seen := make(map[string]bool)
			for range 500 {
				k, err := c.RandomKey(ctx).Result()
				if err != nil || !keys[k] {
					t.Fatalf("RANDOMKEY: got %q, %v", k, err)
				}
				seen[k] = true
			}
			if len(seen) != len(keys) {
				t.Errorf("RANDOMKEY: %d of %d keys seen in 500 calls", len(seen), len(keys))
			}

			c.Set(ctx, "int", "123", 0)
			c.Set(ctx, "short", "abc", 0)
			c.Set(ctx, "long", strings.Repeat("x", 45), 0)
			for k, want := range map[string]string{"int": "int", "short": "embstr", "long": "raw"} {
				if got, err := c.ObjectEncoding(ctx, k).Result(); err != nil || got != want {
					t.Errorf("OBJECT ENCODING %s: got %q, %v, want %q", k, got, err, want)
				}
			}
			if got := c.ObjectRefCount(ctx, "short").Val(); got != 1 {
				t.Errorf("OBJECT REFCOUNT: got %d, want 1", got)
			}
			if got, err := c.ObjectIdleTime(ctx, "short").Result(); err != nil || got != 0 {
				t.Errorf("OBJECT IDLETIME: got %v, %v, want 0", got, err)
			}
			keysWantErr(t, "OBJECT FREQ", c.ObjectFreq(ctx, "short").Err(),
				"ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
			help, err := c.Do(ctx, "OBJECT", "HELP").StringSlice()
			if err != nil || len(help) != 15 || help[13] != "HELP" {
				t.Errorf("OBJECT HELP: got %q, %v", help, err)
			}
			keysWantErr(t, "OBJECT BOGUS", c.Do(ctx, "OBJECT", "BOGUS").Err(), "ERR unknown subcommand 'BOGUS'. Try OBJECT HELP.")
		})
	}
}

func TestKeysE2EBinaryKeys(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	keys := []string{"\x00", "\xff\xfe\xfd", "a\r\nb", "space key", "\x00\x01*?[", strings.Repeat("\xaa", 1000)}
	for _, k := range keys {
		if err := c.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Exists(ctx, keys...).Val(); n != int64(len(keys)) {
		t.Errorf("EXISTS: got %d, want %d", n, len(keys))
	}
	got := c.Keys(ctx, "*").Val()
	slices.Sort(got)
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Errorf("KEYS *: got %q, want %q", got, want)
	}
	seen := keysScan(ctx, t, c, "", 2, "", 1000)
	for _, k := range keys {
		if seen[k] != 1 {
			t.Errorf("SCAN: key %q returned %d times, want once", k, seen[k])
		}
	}
	if got := c.Keys(ctx, `\x00\x01\*\?\[`).Val(); len(got) != 0 {
		t.Errorf("KEYS with escaped text: got %q, want none", got)
	}
	if got := c.Keys(ctx, "\x00\x01\\*\\?\\[").Val(); !slices.Equal(got, []string{"\x00\x01*?["}) {
		t.Errorf("KEYS with escaped specials: got %q", got)
	}
	for i, k := range keys {
		dst := "\xff" + k + strconv.Itoa(i)
		if err := c.Rename(ctx, k, dst).Err(); err != nil {
			t.Fatalf("RENAME %q: %v", k, err)
		}
		if got := c.Get(ctx, dst).Val(); got != k {
			t.Errorf("GET after RENAME %q: got %q", k, got)
		}
		if n := c.Del(ctx, dst).Val(); n != 1 {
			t.Errorf("DEL %q: got %d, want 1", dst, n)
		}
	}
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Errorf("DBSIZE: got %d, want 0", n)
	}
}

// TestKeysE2EPipeline sends thousands of key commands in pipelines whose
// commands land on every shard, some of them spanning shards.
func TestKeysE2EPipeline(t *testing.T) {
	ts := start(t, nil)
	c := keysClient(t, ts, 0)
	ctx := context.Background()
	const n = 3000
	key := func(i int) string { return "p:" + strconv.Itoa(i) }

	p := c.Pipeline()
	for i := range n {
		p.Set(ctx, key(i), strconv.Itoa(i), 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	p = c.Pipeline()
	exists := make([]*redis.IntCmd, n)
	expire := make([]*redis.BoolCmd, n)
	ttl := make([]*redis.DurationCmd, n)
	typ := make([]*redis.StatusCmd, n)
	for i := range n {
		exists[i] = p.Exists(ctx, key(i), key((i+1)%n), "missing")
		expire[i] = p.PExpire(ctx, key(i), time.Duration(i+10000)*time.Millisecond)
		ttl[i] = p.PTTL(ctx, key(i))
		typ[i] = p.Type(ctx, key(i))
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got := exists[i].Val(); got != 2 {
			t.Fatalf("EXISTS %d: got %d, want 2", i, got)
		}
		if !expire[i].Val() {
			t.Fatalf("PEXPIRE %d: got false", i)
		}
		want := time.Duration(i+10000) * time.Millisecond
		if got := ttl[i].Val(); got > want || got < want-5*time.Second {
			t.Fatalf("PTTL %d: got %v, want about %v", i, got, want)
		}
		if got := typ[i].Val(); got != "string" {
			t.Fatalf("TYPE %d: got %q", i, got)
		}
	}

	// Renames across shards, then deletions of pairs, in one pipeline.
	p = c.Pipeline()
	renames := make([]*redis.StatusCmd, n)
	for i := range n {
		renames[i] = p.Rename(ctx, key(i), "moved:"+strconv.Itoa(i))
	}
	dels := make([]*redis.IntCmd, n/2)
	for i := range n / 2 {
		dels[i] = p.Del(ctx, "moved:"+strconv.Itoa(2*i), "moved:"+strconv.Itoa(2*i+1), key(i))
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, r := range renames {
		if r.Err() != nil {
			t.Fatalf("RENAME %d: %v", i, r.Err())
		}
	}
	for i, d := range dels {
		if got := d.Val(); got != 2 {
			t.Fatalf("DEL pair %d: got %d, want 2", i, got)
		}
	}
	if got := c.DBSize(ctx).Val(); got != 0 {
		t.Errorf("DBSIZE: got %d, want 0", got)
	}
}
