package command

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestParseTimeout checks timeouts in seconds against the replies of
// redis-server 7.0.15, which reads them as long doubles: its cutoff lies
// where the milliseconds, rounded up, reach 2^63.
func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"0", 0, ""},
		{"1", time.Second, ""},
		{"007", 7 * time.Second, ""},
		{"0.05", 50 * time.Millisecond, ""},
		{"0.0001", time.Millisecond, ""}, // rounded up, as Redis 7.0
		{"1e-300", time.Millisecond, ""},
		{"1e-400", time.Millisecond, ""}, // a long double, not 0
		{"4e-4951", time.Millisecond, ""},
		{"0x1p-16445", time.Millisecond, ""},
		{"-0.0001", 0, ""}, // rounds up to 0: no timeout
		{"-1e-400", 0, ""},
		{"+0.01", 10 * time.Millisecond, ""},
		{"9.2e15", 0, ""}, // past what a Duration holds: for ever
		{"0x1p52", 0, ""},
		{"9223372036854775", 0, ""},
		{"9223372036854775.0", 0, ""},
		{"9223372036854775.8", 0, ""},
		{"9223372036854775.807", 0, ""},
		{"9223372036854775.80712", 0, ""},
		{"9223372036854775807e-3", 0, ""},
		{"9223372036854775.808", 0, ErrTimeoutNegative},
		{"9223372036854775.80762", 0, ErrTimeoutNegative},
		{"9223372036854775807.9e-3", 0, ErrTimeoutNegative},
		{"9223372036854775808e-3", 0, ErrTimeoutNegative},
		{"9223372036854776", 0, ErrTimeoutNegative},
		{"1e16", 0, ErrTimeoutNegative},
		{"1e400", 0, ErrTimeoutNegative},
		{"-1e400", 0, ErrTimeoutNegative},
		{"-1", 0, ErrTimeoutNegative},
		{"-0.9", 0, ErrTimeoutNegative},
		{"inf", 0, ErrTimeoutNegative},
		{"infinity", 0, ErrTimeoutNegative},
		{"-inf", 0, ErrTimeoutNegative},
		{"1e5000", 0, ErrTimeoutNotFloat},
		{"1e-5000", 0, ErrTimeoutNotFloat},
		{"1e-4951", 0, ErrTimeoutNotFloat},
		{"0x1p-16446", 0, ErrTimeoutNotFloat},
		{"1\x00x", 0, ErrTimeoutNotFloat},
		{"1" + strings.Repeat("0", 5200), 0, ErrTimeoutNotFloat},
		{strings.Repeat("0", 5119) + "1", 0, ErrTimeoutNotFloat}, // 5120 bytes
		{strings.Repeat("0", 5118) + "1", time.Second, ""},
		{"abc", 0, ErrTimeoutNotFloat},
		{"nan", 0, ErrTimeoutNotFloat},
		{" 1", 0, ErrTimeoutNotFloat},
		{"1 ", 0, ErrTimeoutNotFloat},
		{"", 0, ErrTimeoutNotFloat},
	} {
		t.Run(tc.in[:min(len(tc.in), 30)], func(t *testing.T) {
			got, err := ParseTimeout([]byte(tc.in))
			if got != tc.want || err != tc.err {
				t.Fatalf("ParseTimeout(%q) = %v, %q; want %v, %q", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestDecimalMillis checks the shortcut for plain decimal timeouts against
// the long double arithmetic it skips, on random texts of every length it
// takes and on the ones where rounding twice matters.
func TestDecimalMillis(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	texts := []string{"8.1", "0.253", "4.01", "0.501", "0.5", "5.", ".5", "0", "0.0", "007",
		"9223372036854775", "9223372036854775.807", "9223372036854775.808", "9223372036854775807",
		"0.0000000000000000001", "18446744073709551.5", "9999999999999999999"}
	for range 20000 {
		// At most 19 digits in all, leading zeros aside.
		w := r.IntN(20)
		text := strings.Repeat("0", r.IntN(3)) + digits(w) + "." + digits(r.IntN(20-w))
		if r.IntN(4) == 0 {
			text = digits(w)
		}
		texts = append(texts, text)
	}
	for _, text := range texts {
		got, ok := decimalMillis([]byte(text))
		if !ok {
			if text != "." && text != "" {
				t.Errorf("decimalMillis(%q) refused", text)
			}
			continue
		}
		x, _ := parseExtFloat([]byte(text))
		if want := extMillis(x); got != want {
			t.Errorf("decimalMillis(%q) = %d, want %d", text, got, want)
		}
	}
	for _, text := range []string{"", ".", "1e3", "-1", "+1", " 1", "1..2", "0x10", "inf",
		"12345678901234567890", "0.12345678901234567890"} {
		if _, ok := decimalMillis([]byte(text)); ok {
			t.Errorf("decimalMillis(%q) took it", text)
		}
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
