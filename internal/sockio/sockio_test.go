package sockio

import "testing"

func TestCompact(t *testing.T) {
	for _, tt := range []struct {
		r, w int
		want string
	}{
		{0, 5, "abcde"}, // nothing handled: left in place
		{2, 5, "cde"},   // the rest moves to the start
		{5, 5, ""},      // everything handled: empty
		{0, 0, ""},
	} {
		buf := []byte("abcdefgh")
		if w := Compact(buf, tt.r, tt.w); string(buf[:w]) != tt.want {
			t.Errorf("Compact(%d, %d): got %q, want %q", tt.r, tt.w, buf[:w], tt.want)
		}
	}
}
