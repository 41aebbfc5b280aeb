package command

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
)

func TestKeysList(t *testing.T) {
	var k Keys
	if k.Len() != 0 || len(k.Sorted()) != 0 {
		t.Fatalf("zero Keys: got %d keys", k.Len())
	}
	in := []string{"b", "", "a\x00", "b", "\xff", "a"}
	for _, s := range in {
		k.Append([]byte(s))
	}
	for i, s := range in {
		if got := string(k.At(i)); got != s {
			t.Errorf("At(%d): got %q, want %q", i, got, s)
		}
	}
	if k.Size() != 6 {
		t.Errorf("Size: got %d, want 6", k.Size())
	}
	var sorted []string
	for _, b := range k.Sorted() {
		sorted = append(sorted, string(b))
	}
	if want := []string{"", "a", "a\x00", "b", "\xff"}; !slices.Equal(sorted, want) {
		t.Errorf("Sorted: got %q, want %q", sorted, want)
	}
	// A key taken with At cannot grow into the next one.
	if got := append(k.At(0), 'x'); string(k.At(1)) != "" || string(got) != "bx" {
		t.Errorf("append to At(0) changed At(1) to %q", k.At(1))
	}
	k.Reset()
	if k.Len() != 0 || k.Size() != 0 {
		t.Errorf("after Reset: %d keys, %d bytes", k.Len(), k.Size())
	}
}

// TestGatherParts reads the harness's shards in parts of a few entries, as
// the router does, and checks that the replies are those of Run, which reads
// them whole; expired keys are not reported.
func TestGatherParts(t *testing.T) {
	h := newHarness(t, 3)
	for i := range 40 {
		keySeed(h, fmt.Sprintf("key:%d", i), "v")
		if i%4 == 0 {
			keyDo(h, "SET", fmt.Sprintf("exp:%d", i), "v", "PX", "10")
		}
	}
	h.advance(11 * time.Millisecond)
	cases := []struct {
		table Table
		args  []string
	}{
		{Redis, []string{"keys", "*"}},
		{Redis, []string{"keys", "key:1*"}},
		{Redis, []string{"list"}},
		{Line, []string{"list"}},
	}
	for _, tt := range cases {
		argv := make([][]byte, len(tt.args))
		for i, a := range tt.args {
			argv[i] = []byte(a)
		}
		spec := tt.table[tt.args[0]]
		for _, db := range h.dbs {
			db.SetNow(h.now)
		}
		h.w.Reset()
		h.ctx.W = &h.w
		h.ctx.Held(h.dbs, h.ring)
		spec.Run(&h.ctx, argv)
		want := string(h.w.Bytes())
		if n := len(want); n < 100 {
			t.Fatalf("%q: Run replied only %q", tt.args, want)
		}
		for _, limit := range []int{1, 2, 5, 1000} {
			var keys Keys
			parts := 0
			for _, db := range h.dbs {
				for cursor := uint64(0); ; {
					cursor = spec.Gather.Part(&keys, db, cursor, limit, argv)
					parts++
					if cursor == 0 {
						break
					}
				}
			}
			var w resp.Writer
			spec.Gather.Reply(&w, &keys, argv)
			if got := string(w.Bytes()); got != want {
				t.Errorf("%q in parts of %d: got %.200q, want %.200q", tt.args, limit, got, want)
			}
			// 50 entries: parts of one visit one each, and one more per
			// shard may find the end.
			if limit == 1 && (parts < 50 || parts > 53) {
				t.Errorf("%q in parts of 1: %d parts for 50 entries", tt.args, parts)
			}
		}
	}
}
