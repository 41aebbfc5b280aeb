package command

import (
	"testing"
	"time"
)

func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"0", 0, ""},
		{"1", time.Second, ""},
		{"0.05", 50 * time.Millisecond, ""},
		{"0.0001", time.Millisecond, ""}, // rounded up, as Redis 7.0
		{"1e-300", time.Millisecond, ""},
		{"-0.0001", 0, ""}, // rounds up to 0: no timeout
		{"+0.01", 10 * time.Millisecond, ""},
		{"9.2e15", 0, ""}, // past what a Duration holds: for ever
		{"-1", 0, ErrTimeoutNegative},
		{"inf", 0, ErrTimeoutNegative},
		{"-inf", 0, ErrTimeoutNegative},
		{"1e16", 0, ErrTimeoutNegative},
		{"abc", 0, ErrTimeoutNotFloat},
		{"nan", 0, ErrTimeoutNotFloat},
		{" 1", 0, ErrTimeoutNotFloat},
		{"1 ", 0, ErrTimeoutNotFloat},
		{"", 0, ErrTimeoutNotFloat},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimeout([]byte(tc.in))
			if got != tc.want || err != tc.err {
				t.Fatalf("ParseTimeout(%q) = %v, %q; want %v, %q", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestBlockingTimeoutArg(t *testing.T) {
	args := [][]byte{[]byte("bzmpop"), []byte("1.5"), []byte("1"), []byte("k"), []byte("MIN")}
	if got := string(Redis["bzmpop"].Block.Timeout(args)); got != "1.5" {
		t.Fatalf("BZMPOP timeout: got %q, want 1.5", got)
	}
	args = [][]byte{[]byte("bzpopmin"), []byte("a"), []byte("b"), []byte("3")}
	if got := string(Redis["bzpopmin"].Block.Timeout(args)); got != "3" {
		t.Fatalf("BZPOPMIN timeout: got %q, want 3", got)
	}
	if got := Redis["bzmpop"].Keys(args[:1], nil); len(got) != 0 {
		t.Fatalf("BZMPOP keys of no arguments: got %q, want none", got)
	}
}
