package command

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// bitsRandomFile holds the seed of the randomized cross-check of the bit
// commands and, for each block of bitsRandomBlock commands, the SHA-256 of
// the replies redis-server 7.0.15 gave them, one after the other.
const (
	bitsRandomFile  = "testdata/bits_random.txt"
	bitsRandomOps   = 5000
	bitsRandomBlock = 500
)

// bitsRandomScript returns, for a seed, bitsRandomOps commands on a few
// string keys and a hash: every bit command with random arguments (mostly
// valid, some not), mixed with SET, APPEND, GET and DEL.
func bitsRandomScript(seed uint64) [][]string {
	r := rand.New(rand.NewPCG(seed, 0xb175))
	keys := []string{"k0", "k1", "k2", "k3", "k4", "{k}5", "h", "nokey"}
	key := func() string {
		if r.IntN(20) == 0 {
			return keys[6+r.IntN(2)]
		}
		return keys[r.IntN(6)]
	}
	// offset returns a bit offset: with far, sometimes the last one
	// (which only GETBIT is given: SETBIT there makes 512 MiB strings).
	offset := func(far bool) string {
		switch r.IntN(20) {
		case 0:
			return strconv.Itoa(r.IntN(1 << 16))
		case 1:
			if far && r.IntN(5) == 0 {
				return "4294967295"
			}
			return []string{"-1", "x", "4294967296", ""}[r.IntN(4)]
		case 2, 3, 4, 5:
			return strconv.Itoa(r.IntN(2048))
		}
		return strconv.Itoa(r.IntN(160))
	}
	index := func() string {
		switch r.IntN(20) {
		case 0:
			return []string{"9223372036854775807", "-9223372036854775808", "x", "1000000"}[r.IntN(4)]
		case 1, 2:
			return strconv.Itoa(r.IntN(400) - 200)
		}
		return strconv.Itoa(r.IntN(40) - 20)
	}
	unit := func() string {
		return []string{"bit", "byte", "BIT", "Byte", "bits"}[r.IntN(5)*r.IntN(2)]
	}
	value := func() string {
		n := r.IntN(21)
		b := make([]byte, n)
		for i := range b {
			switch r.IntN(4) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = 0xff
			default:
				b[i] = byte(r.Uint32())
			}
		}
		return string(b)
	}
	ftype := func() (string, int) {
		if r.IntN(40) == 0 {
			return []string{"u64", "i0", "i65", "x8"}[r.IntN(4)], 8
		}
		if r.IntN(2) == 0 {
			w := 1 + r.IntN(64)
			return "i" + strconv.Itoa(w), w
		}
		w := 1 + r.IntN(63)
		return "u" + strconv.Itoa(w), w
	}
	fieldOffset := func() string {
		if r.IntN(4) == 0 {
			return "#" + strconv.Itoa(r.IntN(20))
		}
		return strconv.Itoa(r.IntN(200))
	}
	fieldValue := func(w int) string {
		switch r.IntN(6) {
		case 0:
			return strconv.FormatInt(int64(r.Uint64()), 10)
		case 1:
			lim := uint64(1) << (w - 1)
			return strconv.FormatInt(int64(lim)+int64(r.IntN(5))-2, 10)
		case 2:
			lim := uint64(1) << (w - 1)
			return strconv.FormatInt(-int64(lim)+int64(r.IntN(5))-2, 10)
		case 3:
			return []string{"9223372036854775807", "-9223372036854775808", "x"}[r.IntN(3)]
		}
		return strconv.Itoa(r.IntN(600) - 300)
	}
	fieldOps := func(writes bool) []string {
		var args []string
		for range 1 + r.IntN(4) {
			op := r.IntN(10)
			switch {
			case op == 0:
				args = append(args, "overflow", []string{"wrap", "sat", "fail", "SAT", "bogus"}[r.IntN(5)])
			case op < 4 || !writes && op != 9:
				t, _ := ftype()
				args = append(args, "get", t, fieldOffset())
			default:
				t, w := ftype()
				args = append(args, []string{"set", "incrby"}[r.IntN(2)], t, fieldOffset(), fieldValue(w))
			}
		}
		return args
	}

	script := [][]string{{"hset", "h", "f", "v"}}
	for len(script) < bitsRandomOps {
		var cmd []string
		switch r.IntN(22) {
		case 0, 1, 2, 3:
			bit := "01"[r.IntN(2):][:1]
			if r.IntN(30) == 0 {
				bit = "2"
			}
			cmd = []string{"setbit", key(), offset(false), bit}
		case 4, 5:
			cmd = []string{"getbit", key(), offset(true)}
		case 6, 7, 8:
			cmd = []string{"bitcount", key()}
			switch r.IntN(6) {
			case 0:
			case 1:
				cmd = append(cmd, index())
			case 2, 3:
				cmd = append(cmd, index(), index())
			default:
				cmd = append(cmd, index(), index(), unit())
			}
		case 9, 10, 11:
			bit := []string{"0", "1", "0", "1", "2", "x"}[r.IntN(6)]
			cmd = []string{"bitpos", key(), bit}
			switch r.IntN(6) {
			case 0:
			case 1:
				cmd = append(cmd, index())
			case 2:
				cmd = append(cmd, index(), index())
			default:
				cmd = append(cmd, index(), index(), unit())
			}
		case 12, 13:
			op := []string{"and", "or", "xor", "not", "OR", "nand"}[r.IntN(6)]
			cmd = []string{"bitop", op, key()}
			n := 1 + r.IntN(3)
			if op == "not" && r.IntN(5) != 0 {
				n = 1
			}
			for range n {
				cmd = append(cmd, key())
			}
		case 14, 15, 16:
			cmd = append([]string{"bitfield", key()}, fieldOps(true)...)
		case 17:
			cmd = append([]string{"bitfield_ro", key()}, fieldOps(r.IntN(5) == 0)...)
		case 18:
			cmd = []string{"set", key(), value()}
		case 19:
			cmd = []string{"append", key(), value()}
		case 20:
			cmd = []string{"get", key()}
		default:
			if r.IntN(3) == 0 {
				cmd = []string{"del", key()}
			} else {
				cmd = []string{"strlen", key()}
			}
		}
		script = append(script, cmd)
	}
	return script
}

// bitsRandomHashes runs the script with do and returns the SHA-256 of the
// replies of each block.
func bitsRandomHashes(script [][]string, do func(args ...string) string) []string {
	var out []string
	h := sha256.New()
	for i, cmd := range script {
		h.Write([]byte(do(cmd...)))
		if (i+1)%bitsRandomBlock == 0 || i == len(script)-1 {
			out = append(out, hex.EncodeToString(h.Sum(nil)))
			h.Reset()
		}
	}
	return out
}

// TestBitsRandomRedis replays the randomized script from its seed and
// compares the hash of each block of replies with the one recorded from
// redis-server 7.0.15. With BITS_REDIS_ADDR set to a redis-server's address
// it flushes that server and records them instead, stopping at the first
// reply that differs from ours.
func TestBitsRandomRedis(t *testing.T) {
	if addr := os.Getenv("BITS_REDIS_ADDR"); addr != "" {
		const seed = 20260314
		rc := dialRecorder(t, addr)
		defer rc.Close()
		rc.do("flushall")
		// Run the script here too, and stop at the first reply that
		// differs: that is the command to look at.
		h := newHarness(t, 3)
		hashes := bitsRandomHashes(bitsRandomScript(seed), func(args ...string) string {
			want := rc.do(args...)
			if got := h.do(args...); got != want {
				t.Fatalf("%q: got %.300q, redis-server %.300q", args, got, want)
			}
			return want
		})
		out := "seed " + strconv.Itoa(seed) + "\n" + strings.Join(hashes, "\n") + "\n"
		if err := os.WriteFile(bitsRandomFile, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(bitsRandomFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seed, err := strconv.ParseUint(strings.TrimPrefix(lines[0], "seed "), 10, 64)
	if err != nil {
		t.Fatalf("%s: first line %q", bitsRandomFile, lines[0])
	}
	want := lines[1:]
	script := bitsRandomScript(seed)
	h := newHarness(t, 3)
	got := bitsRandomHashes(script, h.do)
	if len(got) != len(want) {
		t.Fatalf("%d blocks, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			lo := i * bitsRandomBlock
			t.Fatalf("replies to commands %d to %d hash to %s, want %s; the first command: %q",
				lo, min(lo+bitsRandomBlock, len(script))-1, got[i], want[i], script[lo])
		}
	}
}
