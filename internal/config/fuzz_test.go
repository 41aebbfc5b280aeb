package config

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzSplitArgs checks that SplitArgs never panics, and that what it
// splits, quoted again by Quote and joined, splits back the same.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"", "maxmemory 100mb", `requirepass "a b\x41\n"`, `x 'it\'s'`, `x "open`, `x "a"b`, "a\tb\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args, err := SplitArgs(line)
		if err != nil {
			return
		}
		q := make([]string, len(args))
		for i, a := range args {
			q[i] = Quote(a)
		}
		again, err := SplitArgs(strings.Join(q, " "))
		if err != nil {
			t.Fatalf("%q: split %q, quoted %q: %v", line, args, q, err)
		}
		if len(args) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(again, args) {
			t.Fatalf("%q: split %q, quoted and split again %q", line, args, again)
		}
	})
}

// FuzzParseOutputLimits checks that ParseOutputLimits never panics and
// that what it accepts is written back in a form it accepts again.
func FuzzParseOutputLimits(f *testing.F) {
	for _, s := range []string{"normal 0 0 0", "pubsub 32mb 8mb 60", "slave 1 2 3 pubsub 1 2 3", "pubsub 1 2", "x 1 2 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ls, err := ParseOutputLimits(v)
		if err != nil {
			return
		}
		var normal, ps OutputLimit
		for _, l := range ls {
			switch l.Class {
			case "normal":
				normal = l
			case "pubsub":
				ps = l
			}
		}
		if _, err := ParseOutputLimits(FormatOutputLimits(normal, ps)); err != nil {
			t.Fatalf("%q: written back as %q: %v", v, FormatOutputLimits(normal, ps), err)
		}
	})
}
