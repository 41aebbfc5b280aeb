package server

import (
	"context"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
)

// TestHLLConfig checks CONFIG GET and SET of hll-sparse-max-bytes with
// Redis's memory values and errors (recorded from redis-server 7.0.15),
// and that a HyperLogLog turns dense past it.
func TestHLLConfig(t *testing.T) {
	old := object.CurrentLimits()
	t.Cleanup(func() { object.SetLimits(old) })
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	if cfg, err := rc.ConfigGet(ctx, "hll-*").Result(); err != nil || cfg["hll-sparse-max-bytes"] != "3000" {
		t.Fatalf("CONFIG GET: %v %v", cfg, err)
	}
	for _, c := range []struct{ value, want string }{
		{"1kb", "1024"}, {"1K", "1000"}, {"2mb", "2097152"}, {"", "0"},
		{"9223372036854775807", "9223372036854775807"}, {"3000", "3000"},
	} {
		if err := rc.ConfigSet(ctx, "hll-sparse-max-bytes", c.value).Err(); err != nil {
			t.Fatalf("CONFIG SET %q: %v", c.value, err)
		}
		if v, _ := rc.ConfigGet(ctx, "hll-sparse-max-bytes").Result(); v["hll-sparse-max-bytes"] != c.want {
			t.Fatalf("CONFIG SET %q: got %q, want %q", c.value, v["hll-sparse-max-bytes"], c.want)
		}
	}
	const prefix = "ERR CONFIG SET failed (possibly related to argument 'hll-sparse-max-bytes') - argument must be "
	for _, c := range []struct{ value, want string }{
		{"abc", "a memory value"}, {"-1", "a memory value"}, {" 5", "a memory value"}, {"1.5", "a memory value"},
		{"9223372036854775808", "between 0 and 9223372036854775807 inclusive"},
	} {
		err := rc.ConfigSet(ctx, "hll-sparse-max-bytes", c.value).Err()
		if err == nil || err.Error() != prefix+c.want {
			t.Errorf("CONFIG SET %q: got %v, want %q", c.value, err, prefix+c.want)
		}
	}
	if n, err := rc.PFAdd(ctx, "h", "a", "b", "c").Result(); n != 1 || err != nil {
		t.Fatalf("PFADD: %d %v", n, err)
	}
	if enc, _ := rc.Do(ctx, "pfdebug", "encoding", "h").Text(); enc != "sparse" {
		t.Fatalf("PFDEBUG ENCODING: %q", enc)
	}
	rc.ConfigSet(ctx, "hll-sparse-max-bytes", "0")
	rc.PFAdd(ctx, "h", "d")
	if enc, _ := rc.Do(ctx, "pfdebug", "encoding", "h").Text(); enc != "dense" {
		t.Fatalf("PFDEBUG ENCODING past the limit: %q", enc)
	}
	if n, err := rc.PFCount(ctx, "h").Result(); n != 4 || err != nil {
		t.Fatalf("PFCOUNT: %d %v", n, err)
	}
}

// TestHLLEndToEnd runs the HyperLogLog commands through the server: keys
// on several shards merged and counted atomically, the cache written by
// PFCOUNT, Redis's errors, and COMMAND INFO's flags.
func TestHLLEndToEnd(t *testing.T) {
	ts := start(t, nil)
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	for i, k := range keys {
		if err := rc.PFAdd(ctx, k, k, "shared", strings.Repeat("x", i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := rc.PFCount(ctx, keys...).Result(); n != 13 || err != nil {
		t.Fatalf("PFCOUNT of every key: %d %v, want 13", n, err)
	}
	if err := rc.PFMerge(ctx, "all", keys...).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.PFCount(ctx, "all").Result(); n != 13 || err != nil {
		t.Fatalf("PFCOUNT of the merge: %d %v, want 13", n, err)
	}
	v, _ := rc.Get(ctx, "all").Bytes()
	if len(v) < 16 || v[8] != 13 || v[15]&0x80 != 0 {
		t.Fatalf("cached cardinality not written: % x", v[:min(16, len(v))])
	}
	rc.Set(ctx, "str", "hello", 0)
	if err := rc.PFAdd(ctx, "str", "x").Err(); err == nil || err.Error() != "WRONGTYPE Key is not a valid HyperLogLog string value." {
		t.Fatalf("PFADD on a plain string: %v", err)
	}
	rc.Set(ctx, "bad", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe", 0)
	if err := rc.PFCount(ctx, "bad").Err(); err == nil || err.Error() != "INVALIDOBJ Corrupted HLL object detected" {
		t.Fatalf("PFCOUNT of a damaged HyperLogLog: %v", err)
	}
	info, err := rc.Do(ctx, "command", "info", "pfcount", "pfadd", "pfmerge").Slice()
	if err != nil || len(info) != 3 {
		t.Fatalf("COMMAND INFO: %v %v", info, err)
	}
	for i, want := range [][]any{{"readonly"}, {"write", "denyoom", "fast"}, {"write", "denyoom"}} {
		flags := info[i].([]any)[2]
		if got := flags.([]any); len(got) != len(want) {
			t.Errorf("COMMAND INFO %d flags: got %v, want %v", i, got, want)
		}
	}
}
