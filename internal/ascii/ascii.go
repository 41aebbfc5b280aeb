// Package ascii holds the byte-level text helpers that command parsing
// needs in more than one package.
package ascii

// EqualFold reports whether b is the lower-case ASCII word lower in any
// case: "EX", "Ex" and "ex" all match "ex".
func EqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
