package server

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestGatherE2E runs KEYS and LIST, which read the shards one at a time in
// parts of two entries here, on both protocols and inside MULTI/EXEC, and
// checks that they are counted and slow-logged as other commands.
func TestGatherE2E(t *testing.T) {
	ts := start(t, func(c *Config) {
		c.Router.Shards = 4
		c.Router.GatherPart = 2
		c.SlowlogSlowerThan = 0
	})
	ctx := context.Background()
	rc := newClient(t, ts, nil)
	var want []string
	for i := range 100 {
		k := fmt.Sprintf("k%03d", i)
		want = append(want, k)
		if err := rc.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	got, err := rc.Keys(ctx, "*").Result()
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("KEYS *: got %d keys %v, want %d", len(got), err, len(want))
	}
	if got, err := rc.Keys(ctx, "k09?").Result(); err != nil || len(got) != 10 {
		t.Errorf("KEYS k09?: got %q, %v, want 10 keys", got, err)
	}
	if got, err := rc.Do(ctx, "LIST").StringSlice(); err != nil || !slices.Equal(got, want) {
		t.Errorf("LIST: got %d keys %v, want %d, sorted", len(got), err, len(want))
	}
	lc := ts.dial(t)
	if got := lc.do("LIST"); got != strings.Join(want, ",") {
		t.Errorf("line LIST: got %.100q…, want %.100q…", got, strings.Join(want, ","))
	}

	// Inside a transaction they see its own writes, atomically.
	cmds, err := rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "tx", "1", 0)
		p.Del(ctx, "k000")
		p.Keys(ctx, "*")
		p.Keys(ctx, "k00?")
		p.Do(ctx, "LIST")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after := append(slices.Clone(want[1:]), "tx")
	all := cmds[2].(*redis.StringSliceCmd).Val()
	slices.Sort(all)
	if !slices.Equal(all, after) {
		t.Errorf("KEYS * in EXEC: got %d keys, want %d", len(all), len(after))
	}
	if got := cmds[3].(*redis.StringSliceCmd).Val(); len(got) != 9 || slices.Contains(got, "k000") {
		t.Errorf("KEYS k00? in EXEC: got %q", got)
	}
	if got, _ := cmds[4].(*redis.Cmd).StringSlice(); !slices.Equal(got, after) {
		t.Errorf("LIST in EXEC: got %d keys, want %d, sorted", len(got), len(after))
	}

	// Counted by INFO and logged by SLOWLOG like any command.
	info := rc.Info(ctx, "commandstats").Val()
	for _, name := range []string{"keys", "list"} {
		if !strings.Contains(info, "cmdstat_"+name+":calls=") {
			t.Errorf("INFO commandstats has no line for %s:\n%s", name, info)
		}
	}
	logged := false
	for _, e := range rc.SlowLogGet(ctx, 128).Val() {
		logged = logged || slices.Equal(e.Args, []string{"keys", "*"})
	}
	if !logged {
		t.Error("KEYS * is not in the slow log")
	}
}
