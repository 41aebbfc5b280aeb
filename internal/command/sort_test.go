package command

import (
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/resp"
)

func TestSortKeys(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		keys   []string
		others bool
	}{
		{[]string{"sort", "k"}, []string{"k"}, false},
		{[]string{"sort", "k", "store", "d"}, []string{"k", "d"}, false},
		{[]string{"sort", "k", "STORE", "d", "store", "e"}, []string{"k", "e"}, false},
		{[]string{"sort", "k", "limit", "store", "x", "store", "d"}, []string{"k", "d"}, false},
		{[]string{"sort", "k", "get", "store", "by", "store"}, []string{"k"}, false},
		{[]string{"sort", "k", "store", "get", "store", "d"}, []string{"k", "get"}, false},
		{[]string{"sort", "k", "store"}, []string{"k"}, false},
		{[]string{"sort", "k", "by", "w_*"}, []string{"k"}, true},
		{[]string{"sort", "k", "by", "nosort"}, []string{"k"}, false},
		{[]string{"sort", "k", "by", "no\x00*"}, []string{"k"}, false},
		{[]string{"sort", "k", "get", "#"}, []string{"k"}, false},
		{[]string{"sort", "k", "get", "#", "get", "o_*->f"}, []string{"k"}, true},
		{[]string{"sort", "k", "get", "nostar"}, []string{"k"}, false},
		{[]string{"sort", "k", "store", "w_*"}, []string{"k", "w_*"}, false},
		{[]string{"sort", "k", "limit", "by", "w_*"}, []string{"k"}, false},
	} {
		args := make([][]byte, len(tt.args))
		for i, a := range tt.args {
			args[i] = []byte(a)
		}
		var keys []string
		for _, k := range Redis["sort"].Keys(args, nil) {
			keys = append(keys, string(k))
		}
		if !slices.Equal(keys, tt.keys) {
			t.Errorf("%q: got keys %q, want %q", tt.args, keys, tt.keys)
		}
		if got := sortReadsOthers(args); got != tt.others {
			t.Errorf("%q: got ReadsOthers %v, want %v", tt.args, got, tt.others)
		}
	}
}

// TestSortStoreUndeclared checks that a STORE other than the one the key
// specs find is refused: it would write a key the router did not hold.
func TestSortStoreUndeclared(t *testing.T) {
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"rpush", "l", "b", "a"}, ":2\r\n"},
		{[]string{"sort", "l", "alpha", "store", "get", "store", "d"}, "-ERR syntax error\r\n"},
		{[]string{"exists", "get", "d"}, ":0\r\n"},
	})
}

// TestSortSlotted checks SORT in a cluster group, which holds its own
// slots only: BY and GET patterns must name keys of the sorted key's slot
// through a hash tag.
func TestSortSlotted(t *testing.T) {
	h := newHarness(t, 1)
	h.ctx.Slotted = true
	h.check([]step{
		{[]string{"rpush", "{t}l", "a", "b", "c"}, ":3\r\n"},
		{[]string{"mset", "{t}w_a", "3", "{t}w_b", "1", "{t}w_c", "2", "{t}o_b", "B"}, "+OK\r\n"},
		{[]string{"sort", "{t}l", "by", "{t}w_*", "get", "#", "get", "{t}o_*"}, "*6\r\n$1\r\nb\r\n$1\r\nB\r\n$1\r\nc\r\n$-1\r\n$1\r\na\r\n$-1\r\n"},
		{[]string{"sort_ro", "{t}l", "by", "nosort", "get", "#"}, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"},
		{[]string{"sort", "{t}l", "by", "w_*"}, "-" + sortErrBy + "\r\n"},
		{[]string{"sort", "{t}l", "by", "{u}w_*"}, "-" + sortErrBy + "\r\n"},
		{[]string{"sort", "{t}l", "by", "*{t}"}, "-" + sortErrBy + "\r\n"},
		{[]string{"sort_ro", "{t}l", "alpha", "get", "o_*"}, "-" + sortErrGet + "\r\n"},
		{[]string{"sort", "{t}l", "alpha", "get", "nostar"}, "-" + sortErrGet + "\r\n"},
		{[]string{"sort", "{t}l", "alpha", "get", "{t}o_*->f", "get", "o_*"}, "-" + sortErrGet + "\r\n"},
		{[]string{"sort", "{t}l", "limit", "x", "0", "by", "w_*"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"sort", "{t}l", "by", "w_*", "limit", "x", "0"}, "-" + sortErrBy + "\r\n"},
	})
}

// TestSortOneShard checks that a SORT run on one shard of several, which
// the router does not do for patterns (see sortReadsOthers), refuses to
// read keys through them rather than touch another shard.
func TestSortOneShard(t *testing.T) {
	h := newHarness(t, 4)
	h.do("rpush", "l", "b", "a")
	i := h.ring.Lookup([]byte("l"))
	var w resp.Writer
	var c Ctx
	c.W = &w
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"sort", "l", "alpha"}, "*2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{[]string{"sort", "l", "by", "nosort", "get", "#"}, "*2\r\n$1\r\nb\r\n$1\r\na\r\n"},
		{[]string{"sort", "l", "by", "w_*"}, "-" + sortErrBy + "\r\n"},
		{[]string{"sort", "l", "alpha", "get", "o_*"}, "-" + sortErrGet + "\r\n"},
	} {
		args := make([][]byte, len(tt.args))
		for j, a := range tt.args {
			args[j] = []byte(a)
		}
		w.Reset()
		c.Single(h.dbs[i], i, h.ring)
		Redis["sort"].Run(&c, args)
		if got := string(w.Bytes()); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.args, got, tt.want)
		}
	}
}
