package server

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestRepliesIntact pipelines GETs of values of sizes around the lengths
// at which a reply is sent from the shard's buffer rather than copied
// (reply.DefaultMinSplice, and tlsMinSplice over TLS), from keys on every
// shard, mixed with the connection's own replies, errors and a reply
// dropped by CLIENT REPLY SKIP, and checks every byte of the replies, in
// order, over TCP and TLS, in RESP and the line protocol (whose lines
// hold values up to 64 KiB).
func TestRepliesIntact(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	sizes := []int{1, 100, 1023, 1024, 1025, 4096, 16383, 16384, 16385, 100_000, 300_000, 1<<20 + 7}
	vals := make([]string, len(sizes))
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		vals[i] = string(b)
	}

	pki := newTestPKI(t)
	for _, tc := range []struct {
		name      string
		tls, line bool
	}{{"tcp", false, false}, {"tls", true, false}, {"line", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var ts *testServer
			if tc.tls {
				ts = startTLS(t, pki, false)
			} else {
				ts = start(t, nil)
			}
			c := ts.dial(t)
			if tc.tls {
				c = ts.dialTLS(t, pki, false)
			}
			cmd := func(args ...string) string {
				if tc.line {
					s := args[0]
					for _, a := range args[1:] {
						s += " " + a
					}
					return s + "\n"
				}
				return respCmd(args...)
			}
			bulk := func(v string) string {
				if tc.line {
					return v + "\n"
				}
				return "$" + strconv.Itoa(len(v)) + "\r\n" + v + "\r\n"
			}
			vals := vals
			if tc.line {
				vals = vals[:8] // the line protocol's lines are shorter than the rest
			}
			var in, want string
			for i, v := range vals {
				in += cmd("SET", fmt.Sprintf("k%d", i), v)
				want += map[bool]string{false: "+OK\r\n", true: "OK\n"}[tc.line]
			}
			for range 150 {
				switch r := rng.IntN(20); {
				case r == 0:
					in += cmd("GET", "missing")
					want += map[bool]string{false: "$-1\r\n", true: "ERR key not found\n"}[tc.line]
				case r == 1 && !tc.line:
					in += cmd("PING")
					want += "+PONG\r\n"
				case r == 2 && !tc.line:
					// The GET's reply is dropped.
					in += cmd("CLIENT", "REPLY", "SKIP") + cmd("GET", fmt.Sprintf("k%d", len(vals)-1))
				default:
					i := rng.IntN(len(vals))
					in += cmd("GET", fmt.Sprintf("k%d", i))
					want += bulk(vals[i])
				}
			}
			in += cmd("GET", "k0")
			want += bulk(vals[0])
			c.send(in)
			got := make([]byte, len(want))
			if _, err := io.ReadFull(c.rd, got); err != nil {
				t.Fatalf("read %d bytes of replies: %v", len(want), err)
			}
			for i := range got {
				if got[i] != want[i] {
					lo, hi := max(0, i-20), min(len(got), i+20)
					t.Fatalf("replies differ at byte %d of %d: got %q, want %q", i, len(want), got[lo:hi], want[lo:hi])
				}
			}
		})
	}
}
