package main

import (
	"errors"
	"strconv"
	"strings"
)

// byteSize is a flag value for a number of bytes, written as Redis writes
// memory sizes: a plain number, or a number followed by a unit, case
// insensitive: k/kb (1000/1024), m/mb, g/gb.
type byteSize int64

// unitsHelp ends the usage of every byteSize flag: the units, as redis.conf
// explains them.
const unitsHelp = "(units: k, m, g are 1000, 1000^2, 1000^3 bytes; kb, mb, gb are 1024, 1024^2, 1024^3 bytes)"

var units = []struct {
	suffix string
	mult   int64
}{
	{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10},
	{"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000},
	{"b", 1},
}

var errByteSize = errors.New("want a whole number of bytes, optionally with a unit: b, k, kb, m, mb, g, gb")

func (b *byteSize) Set(s string) error {
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(v)
	return nil
}

// String writes the size as Redis writes one back to redis.conf: in gb, mb
// or kb when it is a whole number of them, else in bytes. --help shows
// defaults this way.
func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range units[:3] { // gb, mb, kb, from the largest
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func parseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, errByteSize
	}
	return n * mult, nil
}
