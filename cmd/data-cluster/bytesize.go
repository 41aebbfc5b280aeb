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

var units = []struct {
	suffix string
	mult   int64
}{
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
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

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

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
