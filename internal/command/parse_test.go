package command

import (
	"math"
	"strconv"
	"testing"
)

// TestParseInt checks the parser of integer arguments against Redis's
// string2ll rules.
func TestParseInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1", 1, true},
		{"-1", -1, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false},
		{"99999999999999999999", 0, false},
		{"-0", 0, false},
		{"00", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1a", 0, false},
		{"1.0", 0, false},
		{"000000000000000000001", 0, false},
	} {
		got, ok := parseInt([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseInt(%q): got %d, %v, want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	// Every canonical decimal of an int64 round-trips.
	for _, n := range []int64{math.MaxInt64, math.MinInt64, 1 << 62, -(1 << 62), 10, -10, 1234567890123} {
		s := strconv.FormatInt(n, 10)
		if got, ok := parseInt([]byte(s)); !ok || got != n {
			t.Errorf("parseInt(%q): got %d, %v", s, got, ok)
		}
	}
}
