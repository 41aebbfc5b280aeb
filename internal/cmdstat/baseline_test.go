package cmdstat

import (
	"maps"
	"testing"
)

// TestBaseline subtracts what a reset set aside: counters by ID, error
// prefixes (a prefix seen no more since is dropped) and the error total.
func TestBaseline(t *testing.T) {
	var b Baseline
	if got := b.Counters([]Counters{{Calls: 3}}); got[0].Calls != 3 {
		t.Errorf("before any reset: %+v, want the counts as they are", got)
	}
	b.Reset([]Counters{{Calls: 2, Failed: 1}, {Calls: 5}}, map[string]int64{"ERR": 2, "WRONGTYPE": 1}, 3)
	got := b.Counters([]Counters{{Calls: 7, Failed: 1}, {Calls: 5}, {Calls: 1}})
	if got[0].Calls != 5 || got[0].Failed != 0 || got[1].Calls != 0 || got[2].Calls != 1 {
		t.Errorf("counters after the reset: %+v", got)
	}
	errs, total := b.Errors(map[string]int64{"ERR": 4, "WRONGTYPE": 1, "MOVED": 2}, 7)
	if want := map[string]int64{"ERR": 2, "MOVED": 2}; !maps.Equal(errs, want) || total != 4 {
		t.Errorf("errors after the reset: %v %d, want %v 4", errs, total, want)
	}
}
