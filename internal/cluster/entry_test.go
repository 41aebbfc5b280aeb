package cluster

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/binread"
)

// TestReadCommands checks that readCommands gives back what
// appendCommands wrote, whatever the commands' lengths (a short first
// command followed by long ones outgrows the arguments' shared array),
// that a command's slice cannot reach into the next one's, and that a cut
// or corrupt encoding is refused rather than read past.
func TestReadCommands(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 2))
	for round := range 200 {
		cmds := make([][][]byte, 1+rng.IntN(20))
		for i := range cmds {
			args := make([][]byte, 1+rng.IntN(8)+i*rng.IntN(3))
			for j := range args {
				args[j] = fmt.Appendf(nil, "a%d-%d-%s", i, j, bytes.Repeat([]byte("x"), rng.IntN(40)))
			}
			if rng.IntN(10) == 0 {
				args = append(args, []byte{}) // an empty argument
			}
			cmds[i] = args
		}
		data := appendCommands(nil, cmds)
		if len(data) != commandsSize(cmds) {
			t.Fatalf("seed %d: commandsSize %d, encoding %d bytes", seed, commandsSize(cmds), len(data))
		}
		d := binread.Reader{B: data}
		got := readCommands(&d)
		if d.Bad || len(d.B) != 0 || len(got) != len(cmds) {
			t.Fatalf("seed %d round %d: bad %v, %d bytes left, %d commands of %d", seed, round, d.Bad, len(d.B), len(got), len(cmds))
		}
		for i := range cmds {
			if !slices.EqualFunc(got[i], cmds[i], bytes.Equal) {
				t.Fatalf("seed %d round %d: command %d read as %q, want %q", seed, round, i, got[i], cmds[i])
			}
		}
		if len(got) > 1 {
			next := slices.Clone(got[1])
			_ = append(got[0], []byte("appended"))
			if !slices.EqualFunc(got[1], next, bytes.Equal) {
				t.Fatalf("seed %d round %d: appending to command 0 changed command 1", seed, round)
			}
		}
		// Every cut of the encoding but the whole is refused.
		for cut := range len(data) {
			if round >= 20 {
				break
			}
			d := binread.Reader{B: data[:cut]}
			if cmds := readCommands(&d); !d.Bad && len(cmds) > 0 && cut < len(data) {
				t.Fatalf("seed %d round %d: the first %d of %d bytes read as %d commands", seed, round, cut, len(data), len(cmds))
			}
		}
	}
	// Counts larger than the bytes that follow.
	for _, b := range [][]byte{{0xff, 0x01}, {1, 0xff, 0x01}, {1, 1, 0xff, 0x01}} {
		d := binread.Reader{B: b}
		if readCommands(&d); !d.Bad {
			t.Errorf("%x: not refused", b)
		}
	}
}

// TestReadCommandsAllocs checks that an entry's commands cost two
// allocations however many they are: the commands' slice and the array
// their arguments share.
func TestReadCommandsAllocs(t *testing.T) {
	var cmds [][][]byte
	for i := range 16 {
		cmds = append(cmds, [][]byte{[]byte("set"), fmt.Appendf(nil, "key:%d", i), []byte("value")})
	}
	data := appendCommands(nil, cmds)
	allocs := testing.AllocsPerRun(100, func() {
		d := binread.Reader{B: data}
		if got := readCommands(&d); d.Bad || len(got) != len(cmds) {
			t.Fatalf("bad %v, %d commands", d.Bad, len(got))
		}
	})
	if allocs != 2 {
		t.Errorf("%v allocations to read %d commands, want 2", allocs, len(cmds))
	}
}

// TestReadCommandsShared checks that the entries of a batch read into one
// argSpace come back as written, whether they fit in it or outgrow it,
// and that no entry read later, nor an append to an entry's command,
// changes an entry read before.
func TestReadCommandsShared(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 3))
	for round := range 200 {
		entries := make([][][][]byte, 1+rng.IntN(12))
		for e := range entries {
			cmds := make([][][]byte, 1+rng.IntN(3))
			for i := range cmds {
				args := make([][]byte, 1+rng.IntN(7))
				for j := range args {
					args[j] = fmt.Appendf(nil, "e%d-c%d-a%d", e, i, j)
				}
				cmds[i] = args
			}
			entries[e] = cmds
		}
		// Sized for one command of a few arguments an entry, so that
		// some rounds fit and others outgrow it.
		sp := newArgSpace(len(entries))
		got := make([][][][]byte, len(entries))
		for e, cmds := range entries {
			d := binread.Reader{B: appendCommands(nil, cmds)}
			got[e] = readCommandsIn(&d, sp)
			if d.Bad || len(d.B) != 0 {
				t.Fatalf("seed %d round %d entry %d: bad %v, %d bytes left", seed, round, e, d.Bad, len(d.B))
			}
		}
		for e := range got {
			_ = append(got[e][len(got[e])-1], []byte("appended"))
			_ = append(got[e], [][]byte{[]byte("appended")})
		}
		for e, cmds := range entries {
			if !slices.EqualFunc(got[e], cmds, func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }) {
				t.Fatalf("seed %d round %d: entry %d read as %q, want %q", seed, round, e, got[e], cmds)
			}
		}
	}
}

// TestReadCommandsSharedAllocs checks that a batch of entries read into
// one argSpace costs the space's two allocations, not two an entry.
func TestReadCommandsSharedAllocs(t *testing.T) {
	var data [][]byte
	for i := range 16 {
		data = append(data, appendCommands(nil, [][][]byte{{[]byte("set"), fmt.Appendf(nil, "key:%d", i), []byte("value")}}))
	}
	allocs := testing.AllocsPerRun(100, func() {
		sp := newArgSpace(len(data))
		for _, b := range data {
			d := binread.Reader{B: b}
			if got := readCommandsIn(&d, sp); d.Bad || len(got) != 1 {
				t.Fatalf("bad %v, %d commands", d.Bad, len(got))
			}
		}
	})
	if allocs != 2 {
		t.Errorf("%v allocations to read %d entries into one space, want 2", allocs, len(data))
	}
}
