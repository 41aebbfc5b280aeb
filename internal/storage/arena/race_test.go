//go:build race

package arena

// raceEnabled reports whether the tests run under the race detector, which
// slows this single-goroutine code tenfold and finds nothing in it: the
// longest property tests then run on fewer keys or not at all.
const raceEnabled = true
