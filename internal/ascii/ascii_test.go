package ascii

import "testing"

func TestEqualFold(t *testing.T) {
	for _, tt := range []struct {
		b, lower string
		want     bool
	}{
		{"ex", "ex", true},
		{"EX", "ex", true},
		{"eX", "ex", true},
		{"", "", true},
		{"e", "ex", false},
		{"exx", "ex", false},
		{"px", "ex", false},
		{"[x", "{x", false}, // '[' is not the upper case of '{'
		{"\xc3\x89", "\xc3\xa9", false},
	} {
		if got := EqualFold([]byte(tt.b), tt.lower); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tt.b, tt.lower, got, tt.want)
		}
	}
}
