package command

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
)

// Replies recorded from redis-server 7.0.15 for the HyperLogLog commands:
// the bytes of the strings they write, errors for values of other types
// and for damaged HyperLogLogs, merges, and the cached cardinality.

var hllCases = []step{
	{[]string{"pfadd", "h"}, ":1\r\n"},
	{[]string{"get", "h"}, "$18\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\r\n"},
	{[]string{"pfadd", "h"}, ":0\r\n"},
	{[]string{"pfcount", "h"}, ":0\r\n"},
	{[]string{"pfadd", "h", "a", "b", "c"}, ":1\r\n"},
	{[]string{"get", "h"}, "$27\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ\r\n"},
	{[]string{"pfadd", "h", "a", "b", "c"}, ":0\r\n"},
	{[]string{"pfcount", "h"}, ":3\r\n"},
	{[]string{"get", "h"}, "$27\r\nHYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ\r\n"},
	{[]string{"pfadd", "h", "d"}, ":1\r\n"},
	{[]string{"get", "h"}, "$30\r\nHYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ\r\n"},
	{[]string{"pfdebug", "encoding", "h"}, "+sparse\r\n"},
	{[]string{"pfdebug", "decode", "h"}, "$57\r\nZ:7292 v:1,1 Z:1143 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n"},
	{[]string{"pfcount", "nokey"}, ":0\r\n"},
	{[]string{"pfcount", "h", "nokey"}, ":4\r\n"},
	{[]string{"pfcount", "nokey", "nokey2"}, ":0\r\n"},
	{[]string{"exists", "nokey"}, ":0\r\n"},
	{[]string{"set", "str", "hello"}, "+OK\r\n"},
	{[]string{"pfadd", "str", "a"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"pfcount", "str"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"pfcount", "h", "str"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"pfmerge", "str", "h"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"pfmerge", "h", "str"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"pfdebug", "encoding", "str"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"lpush", "list", "a"}, ":1\r\n"},
	{[]string{"pfadd", "list", "a"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"pfcount", "list"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"pfcount", "h", "list"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"pfmerge", "h", "list"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"pfmerge", "list", "h"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{[]string{"set", "shortmagic", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}, "+OK\r\n"},
	{[]string{"pfcount", "shortmagic"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"set", "badenc", "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"}, "+OK\r\n"},
	{[]string{"pfadd", "badenc", "x"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"set", "shortdense", "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\x00"}, "+OK\r\n"},
	{[]string{"pfcount", "shortdense"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"set", "bad", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"}, "+OK\r\n"},
	{[]string{"pfcount", "bad"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"pfcount", "bad", "h"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"pfmerge", "m", "bad"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"exists", "m"}, ":0\r\n"},
	{[]string{"pfadd", "bad", "a"}, ":1\r\n"},
	{[]string{"get", "bad"}, "$21\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80q\xa6\x84NV\r\n"},
	{[]string{"pfdebug", "decode", "bad"}, "$20\r\nZ:12711 v:2,1 Z:3671\r\n"},
	{[]string{"pfdebug", "getreg", "bad"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"pfdebug", "todense", "bad"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"set", "cached", "HYLL\x01\x00\x00\x00*\x00\x00\x00\x00\x00\x00\x00\x7f\xfe"}, "+OK\r\n"},
	{[]string{"pfcount", "cached"}, ":42\r\n"},
	{[]string{"pfadd", "cached", "a"}, ":1\r\n"},
	{[]string{"pfcount", "cached"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"set", "over", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\x9f"}, "+OK\r\n"},
	{[]string{"pfcount", "over"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"pfmerge", "m", "over"}, "-INVALIDOBJ Corrupted HLL object detected\r\n"},
	{[]string{"pfadd", "over", "a"}, ":1\r\n"},
	{[]string{"get", "over"}, "$22\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80q\xa6\x84NW\x9f\r\n"},
	{[]string{"pfmerge", "m1", "h"}, "+OK\r\n"},
	{[]string{"get", "m1"}, "$30\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ\r\n"},
	{[]string{"pfmerge", "m1"}, "+OK\r\n"},
	{[]string{"get", "m1"}, "$30\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ\r\n"},
	{[]string{"pfmerge", "m2"}, "+OK\r\n"},
	{[]string{"get", "m2"}, "$18\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\r\n"},
	{[]string{"pfadd", "h2", "c", "d", "e", "f", "g"}, ":1\r\n"},
	{[]string{"pfmerge", "m3", "h", "h2", "nokey"}, "+OK\r\n"},
	{[]string{"pfcount", "m3"}, ":7\r\n"},
	{[]string{"get", "m3"}, "$38\r\nHYLL\x01\x00\x00\x00\a\x00\x00\x00\x00\x00\x00\x00Fm\x80V\f\x80D<\x848\x80P\xb1\x84I\x8c\x80Bm\x80BZ\r\n"},
	{[]string{"pfcount", "h", "h2"}, ":7\r\n"},
	{[]string{"pfcount", "h", "h2", "m3", "nokey"}, ":7\r\n"},
	{[]string{"pfdebug", "encoding", "nokey"}, "-ERR The specified key does not exist\r\n"},
	{[]string{"pfdebug", "nosuch", "h"}, "-ERR Unknown PFDEBUG subcommand 'nosuch'\r\n"},
	{[]string{"pfdebug", "nosuch", "nokey"}, "-ERR The specified key does not exist\r\n"},
	{[]string{"pfdebug", "decode", "str"}, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"},
	{[]string{"pfdebug", "getreg", "h", "x"}, "-ERR wrong number of arguments for 'pfdebug' command\r\n"},
	{[]string{"pfadd"}, "-ERR wrong number of arguments for 'pfadd' command\r\n"},
	{[]string{"pfcount"}, "-ERR wrong number of arguments for 'pfcount' command\r\n"},
	{[]string{"pfmerge"}, "-ERR wrong number of arguments for 'pfmerge' command\r\n"},
	{[]string{"set", "ttl", "x"}, "+OK\r\n"},
	{[]string{"del", "ttl"}, ":1\r\n"},
	{[]string{"pfadd", "ttl", "a"}, ":1\r\n"},
	{[]string{"pexpireat", "ttl", "4102444800000"}, ":1\r\n"},
	{[]string{"pfadd", "ttl", "zz"}, ":1\r\n"},
	{[]string{"pfcount", "ttl"}, ":2\r\n"},
	{[]string{"pfmerge", "ttl", "h"}, "+OK\r\n"},
	{[]string{"pexpiretime", "ttl"}, ":4102444800000\r\n"},
	{[]string{"type", "h"}, "+string\r\n"},
}

func TestHLLRedis(t *testing.T) {
	newHarness(t, 4).check(hllCases)
}

func hllElems(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

// replySum is the SHA-256 of the value of a bulk reply.
func replySum(reply string) string {
	_, v, _ := strings.Cut(reply, "\r\n")
	h := sha256.Sum256([]byte(strings.TrimSuffix(v, "\r\n")))
	return hex.EncodeToString(h[:])
}

// TestHLLRedisDense checks the sparse to dense conversion by size, dense
// merges and counts against Redis 7.0.15, by the SHA-256 of the strings.
func TestHLLRedisDense(t *testing.T) {
	h := newHarness(t, 4)
	steps := []struct {
		args []string
		want string // a reply, or "sha:" and the SHA-256 of a bulk reply
	}{
		{append([]string{"pfadd", "sp"}, hllElems("e", 200)...), ":1\r\n"},
		{[]string{"pfdebug", "encoding", "sp"}, "+sparse\r\n"},
		{[]string{"get", "sp"}, "sha:d03bb716b351e29e7ae8fa334fba7f6ebea70d23cd82e8dd0dc9263d3a4ebc58"},
		{[]string{"strlen", "sp"}, ":512\r\n"},
		{append([]string{"pfadd", "dn"}, hllElems("e", 3000)...), ":1\r\n"},
		{[]string{"pfdebug", "encoding", "dn"}, "+dense\r\n"},
		{[]string{"get", "dn"}, "sha:859ccced9f2265e145b0cca35c441ad7ac2e7383514a2b6054b4932414bfa862"},
		{[]string{"pfcount", "dn"}, ":2979\r\n"},
		{[]string{"get", "dn"}, "sha:327bda18bdc7253e9dfd4ee716fd341d5930393da1ee1963c5e50240af59a94b"},
		{[]string{"pfcount", "dn", "sp"}, ":2979\r\n"},
		{[]string{"pfmerge", "mg", "sp", "dn"}, "+OK\r\n"},
		{[]string{"get", "mg"}, "sha:859ccced9f2265e145b0cca35c441ad7ac2e7383514a2b6054b4932414bfa862"},
		{[]string{"pfmerge", "sp2", "sp"}, "+OK\r\n"},
		{[]string{"pfadd", "sp2", "x", "y", "z"}, ":1\r\n"},
		{[]string{"get", "sp2"}, "sha:bba88af8b3baf8000ccb654e38b0947de56caa7974fa11f78560daac3aaf96d1"},
		{[]string{"pfadd", "dn", "e1"}, ":0\r\n"},
		{[]string{"pfadd", "dn", "newone", "e1"}, ":1\r\n"},
		{[]string{"pfdebug", "todense", "dn"}, ":0\r\n"},
		{[]string{"pfdebug", "todense", "sp"}, ":1\r\n"},
		{[]string{"pfdebug", "encoding", "sp"}, "+dense\r\n"},
		{[]string{"pfcount", "sp"}, ":200\r\n"},
	}
	for _, s := range steps {
		got := h.do(s.args...)
		if sha, ok := strings.CutPrefix(s.want, "sha:"); ok {
			got = replySum(got)
			s.want = sha
		}
		if got != s.want {
			t.Errorf("%.40q: got %q, want %q", s.args, got, s.want)
		}
	}
}

// TestHLLSparseMaxBytes checks that hll-sparse-max-bytes 0 turns a
// HyperLogLog dense at its first register, and the default does not.
func TestHLLSparseMaxBytes(t *testing.T) {
	defer object.SetLimits(object.CurrentLimits())
	l := object.CurrentLimits()
	l.HLLSparseMaxBytes = 0
	object.SetLimits(l)
	h := newHarness(t, 1)
	h.check([]step{
		{[]string{"pfadd", "h"}, ":1\r\n"},
		{[]string{"pfdebug", "encoding", "h"}, "+sparse\r\n"},
		{[]string{"pfadd", "h", "a"}, ":1\r\n"},
		{[]string{"pfdebug", "encoding", "h"}, "+dense\r\n"},
		{[]string{"pfcount", "h"}, ":1\r\n"},
	})
}

// TestHLLNoPanic runs random HyperLogLog commands on values that include
// damaged HyperLogLogs: each must reply, never panic.
func TestHLLNoPanic(t *testing.T) {
	h := newHarness(t, 2)
	specs := append([]*Spec{}, hllCommands...)
	specs = append(specs, Redis["set"], Redis["append"], Redis["setrange"])
	words := []string{"k1", "k2", "k3", "a", "b", "0", "16", "17", "getreg", "decode", "todense", "encoding",
		hllHdr + "\x7f\xfe", hllHdr + "\x7f", hllHdr + "\x7f\xff\x9f", hllHdr + "\x40\x00\xbf\x7f\xfc", hllHdr, "\xff", "\x40"}
	seed := uint64(1)
	h.noPanic(rand.New(rand.NewPCG(seed, 17)), seed, specs, words, 5000, 5, nil)
}

const hllHdr = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"
