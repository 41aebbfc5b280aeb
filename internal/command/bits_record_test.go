package command

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The scripts whose replies bits_redis_test.go holds, recorded from
// redis-server 7.0.15 by
//
//	redis-server --port 7395 --save '' --appendonly no --daemonize yes
//	BITS_REDIS_ADDR=127.0.0.1:7395 go test ./internal/command/ -run TestBitsRecord
//
// which flushes that server, runs each script on it and rewrites
// bits_redis_test.go. Without BITS_REDIS_ADDR the test does nothing.

// bitsScript runs with RESP2 on an empty keyspace.
var bitsScript = [][]string{
	// SETBIT and GETBIT.
	{"setbit", "k", "7", "1"},
	{"get", "k"},
	{"setbit", "k", "7", "1"},
	{"setbit", "k", "7", "0"},
	{"setbit", "k", "0", "1"},
	{"getbit", "k", "0"},
	{"getbit", "k", "1"},
	{"getbit", "k", "100"},
	{"setbit", "k", "100", "1"},
	{"strlen", "k"},
	{"get", "k"},
	{"setbit", "k", "100", "0"},
	{"get", "k"},
	{"setbit", "zero", "20", "0"},
	{"get", "zero"},
	{"getbit", "nokey", "0"},
	{"getbit", "nokey", "4294967295"},
	{"getbit", "k", "4294967295"},
	{"getbit", "k", "4294967296"},
	{"getbit", "k", "-1"},
	{"getbit", "k", "x"},
	{"getbit", "k", "+1"},
	{"getbit", "k", "01"},
	{"getbit", "k", " 1"},
	{"getbit", "k", ""},
	{"getbit", "k", "#1"},
	{"setbit", "k", "4294967296", "1"},
	{"setbit", "k", "-1", "1"},
	{"setbit", "k", "x", "1"},
	{"setbit", "k", "#8", "1"},
	{"setbit", "k", "0", "2"},
	{"setbit", "k", "0", "-1"},
	{"setbit", "k", "0", "x"},
	{"setbit", "k", "0", ""},
	{"setbit", "k", "0", "01"},
	{"setbit", "k", "x", "x"},
	{"setbit", "k", "0"},
	{"getbit", "k"},
	{"set", "n", "255"},
	{"setbit", "n", "0", "1"},
	{"get", "n"},
	{"setbit", "n", "24", "1"},
	{"get", "n"},
	{"set", "t", "a", "ex", "1000"},
	{"setbit", "t", "100", "1"},
	{"ttl", "t"},
	{"setbit", "t", "0", "0"},
	{"ttl", "t"},
	{"hset", "h", "f", "v"},
	{"setbit", "h", "0", "1"},
	{"setbit", "h", "x", "1"},
	{"setbit", "h", "0", "2"},
	{"getbit", "h", "0"},
	{"getbit", "h", "x"},
	{"type", "h"},

	// BITCOUNT.
	{"set", "s", "foobar"},
	{"bitcount", "s"},
	{"bitcount", "s", "0", "0"},
	{"bitcount", "s", "1", "1"},
	{"bitcount", "s", "1", "1", "byte"},
	{"bitcount", "s", "1", "1", "BYTE"},
	{"bitcount", "s", "5", "30", "bit"},
	{"bitcount", "s", "5", "30", "BiT"},
	{"bitcount", "s", "0", "-1"},
	{"bitcount", "s", "0", "-1", "bit"},
	{"bitcount", "s", "-1", "-1"},
	{"bitcount", "s", "-2", "-1", "bit"},
	{"bitcount", "s", "-1", "-5"},
	{"bitcount", "s", "-5", "-1"},
	{"bitcount", "s", "-100", "-200"},
	{"bitcount", "s", "-200", "-100"},
	{"bitcount", "s", "-100", "100"},
	{"bitcount", "s", "-100", "100", "bit"},
	{"bitcount", "s", "100", "200"},
	{"bitcount", "s", "3", "1"},
	{"bitcount", "s", "0", "0", "bit"},
	{"bitcount", "s", "1", "1", "bit"},
	{"bitcount", "s", "7", "7", "bit"},
	{"bitcount", "s", "8", "15", "bit"},
	{"bitcount", "s", "9", "14", "bit"},
	{"bitcount", "s", "47", "47", "bit"},
	{"bitcount", "s", "47", "48", "bit"},
	{"bitcount", "s", "48", "48", "bit"},
	{"bitcount", "s", "-9223372036854775808", "9223372036854775807"},
	{"bitcount", "s", "-9223372036854775808", "9223372036854775807", "bit"},
	{"bitcount", "s", "0"},
	{"bitcount", "s", "0", "1", "2"},
	{"bitcount", "s", "0", "1", "bit", "x"},
	{"bitcount", "s", "a", "1"},
	{"bitcount", "s", "0", "a"},
	{"bitcount", "s", "a", "b", "foo"},
	{"bitcount", "s", "0", "a", "foo"},
	{"bitcount", "s", "0", "1", "foo"},
	{"bitcount", "s", "0", "9223372036854775808"},
	{"bitcount", "nokey"},
	{"bitcount", "nokey", "0"},
	{"bitcount", "nokey", "a", "b", "c"},
	{"bitcount", "nokey", "0", "1", "bit", "x"},
	{"bitcount", "h"},
	{"bitcount", "h", "a"},
	{"set", "e", ""},
	{"bitcount", "e"},
	{"bitcount", "e", "0", "-1"},
	{"bitcount", "e", "0", "-1", "bit"},
	{"bitcount", "e", "0", "0"},
	{"bitcount", "e", "0"},
	{"set", "num", "1234"},
	{"bitcount", "num"},
	{"bitcount"},

	// BITPOS.
	{"set", "f", "\xff\xf0\x00"},
	{"bitpos", "f", "0"},
	{"bitpos", "f", "1"},
	{"bitpos", "f", "1", "2"},
	{"bitpos", "f", "0", "2"},
	{"bitpos", "f", "0", "0"},
	{"bitpos", "f", "0", "0", "0"},
	{"bitpos", "f", "0", "0", "1"},
	{"bitpos", "f", "0", "0", "-1"},
	{"bitpos", "f", "1", "1"},
	{"bitpos", "f", "1", "-1"},
	{"bitpos", "f", "1", "-2", "-1"},
	{"bitpos", "f", "1", "2", "1"},
	{"bitpos", "f", "0", "5", "13", "bit"},
	{"bitpos", "f", "0", "5", "13", "BIT"},
	{"bitpos", "f", "0", "5", "11", "bit"},
	{"bitpos", "f", "1", "3", "3", "bit"},
	{"bitpos", "f", "1", "3", "5", "bit"},
	{"bitpos", "f", "0", "12", "12", "bit"},
	{"bitpos", "f", "1", "12", "12", "bit"},
	{"bitpos", "f", "1", "13", "100", "bit"},
	{"bitpos", "f", "0", "13", "100", "bit"},
	{"bitpos", "f", "1", "11", "100", "bit"},
	{"bitpos", "f", "0", "-3", "-1", "bit"},
	{"bitpos", "f", "1", "-3", "-1", "bit"},
	{"bitpos", "f", "1", "-13", "-11", "bit"},
	{"bitpos", "f", "1", "-100", "-200"},
	{"bitpos", "f", "0", "-100", "-200"},
	{"bitpos", "f", "1", "-100", "-200", "bit"},
	{"bitpos", "f", "0", "-200", "-100", "bit"},
	{"bitpos", "f", "1", "-1", "-5"},
	{"bitpos", "f", "0", "0", "1", "byte"},
	{"bitpos", "f", "0", "0", "2", "byte"},
	{"bitpos", "f", "0", "100"},
	{"bitpos", "f", "1", "100"},
	{"bitpos", "f", "0", "100", "200"},
	{"bitpos", "f", "0", "1", "0"},
	{"set", "ones", "\xff\xff\xff"},
	{"bitpos", "ones", "0"},
	{"bitpos", "ones", "0", "0"},
	{"bitpos", "ones", "0", "1"},
	{"bitpos", "ones", "0", "-1"},
	{"bitpos", "ones", "0", "0", "-1"},
	{"bitpos", "ones", "0", "0", "2"},
	{"bitpos", "ones", "0", "0", "100"},
	{"bitpos", "ones", "0", "0", "-1", "bit"},
	{"bitpos", "ones", "0", "3", "23", "bit"},
	{"bitpos", "ones", "0", "3", "100", "bit"},
	{"bitpos", "ones", "0", "3", "5", "bit"},
	{"bitpos", "ones", "0", "2", "1"},
	{"bitpos", "ones", "1"},
	{"bitpos", "ones", "1", "-1"},
	{"bitpos", "ones", "1", "7", "7", "bit"},
	{"set", "ones64", strings.Repeat("\xff", 64)},
	{"bitpos", "ones64", "0"},
	{"bitpos", "ones64", "0", "3"},
	{"bitpos", "ones64", "0", "3", "-1"},
	{"bitpos", "ones64", "0", "3", "-2", "bit"},
	{"setbit", "ones64", "500", "0"},
	{"bitpos", "ones64", "0", "3"},
	{"bitpos", "ones64", "0", "3", "-1"},
	{"bitpos", "ones64", "0", "500", "500", "bit"},
	{"bitpos", "ones64", "0", "501", "-1", "bit"},
	{"set", "z", "\x00\x00"},
	{"bitpos", "z", "1"},
	{"bitpos", "z", "0"},
	{"bitpos", "z", "1", "0", "-1", "bit"},
	{"bitpos", "z", "0", "3"},
	{"bitpos", "z", "0", "-1"},
	{"set", "z64", strings.Repeat("\x00", 64) + "\x01"},
	{"bitpos", "z64", "1"},
	{"bitpos", "z64", "1", "1", "-2"},
	{"bitpos", "z64", "1", "3", "-1"},
	{"bitpos", "z64", "1", "-1", "-1", "bit"},
	{"bitpos", "e", "0"},
	{"bitpos", "e", "1"},
	{"bitpos", "e", "0", "0"},
	{"bitpos", "e", "0", "0", "-1"},
	{"bitpos", "e", "1", "0", "-1", "bit"},
	{"bitpos", "nokey", "0"},
	{"bitpos", "nokey", "1"},
	{"bitpos", "nokey", "0", "5"},
	{"bitpos", "nokey", "1", "0", "1", "bit"},
	{"bitpos", "nokey", "0", "x", "y", "z"},
	{"bitpos", "nokey", "2"},
	{"bitpos", "nokey", "x"},
	{"bitpos", "f", "2"},
	{"bitpos", "f", "-1"},
	{"bitpos", "f", "x"},
	{"bitpos", "f", "01"},
	{"bitpos", "f", "1", "x"},
	{"bitpos", "f", "1", "0", "x"},
	{"bitpos", "f", "1", "0", "1", "x"},
	{"bitpos", "f", "1", "x", "1", "bit"},
	{"bitpos", "f", "1", "0", "x", "foo"},
	{"bitpos", "f", "1", "0", "1", "bit", "1"},
	{"bitpos", "h", "1"},
	{"bitpos", "h", "2"},
	{"bitpos", "h", "1", "x"},
	{"bitpos", "f"},

	// BITOP.
	{"set", "a", "\x0f\xf0\x55"},
	{"set", "b", "\xff"},
	{"bitop", "and", "d", "a", "b"},
	{"get", "d"},
	{"bitop", "or", "d", "a", "b"},
	{"get", "d"},
	{"bitop", "xor", "d", "a", "b"},
	{"get", "d"},
	{"bitop", "not", "d", "a"},
	{"get", "d"},
	{"bitop", "AND", "d", "a"},
	{"get", "d"},
	{"bitop", "Or", "d", "b", "a"},
	{"get", "d"},
	{"bitop", "xor", "d", "a", "a", "a"},
	{"get", "d"},
	{"bitop", "and", "d", "a", "nokey"},
	{"get", "d"},
	{"bitop", "or", "d", "nokey", "a"},
	{"get", "d"},
	{"bitop", "and", "d", "a", "e"},
	{"get", "d"},
	{"bitop", "and", "d", "nokey", "nokey2"},
	{"exists", "d"},
	{"bitop", "not", "d", "nokey"},
	{"exists", "d"},
	{"bitop", "not", "d", "e"},
	{"exists", "d"},
	{"bitop", "not", "d", "a", "b"},
	{"bitop", "not", "d"},
	{"bitop", "foo", "d", "a"},
	{"bitop", "nota", "d", "a"},
	{"bitop", "and", "d", "a", "h"},
	{"bitop", "and", "d", "h", "nokey"},
	{"bitop", "and", "d"},
	{"set", "d", "x", "ex", "1000"},
	{"bitop", "or", "d", "a"},
	{"ttl", "d"},
	{"bitop", "or", "h", "a"},
	{"type", "h"},
	{"get", "h"},
	{"hset", "h", "f", "v"},
	{"bitop", "xor", "a", "a", "b"},
	{"get", "a"},
	{"set", "d", "x", "ex", "1000"},
	{"bitop", "and", "d", "nokey"},
	{"exists", "d"},
	{"set", "long", strings.Repeat("\xa5", 37)},
	{"bitop", "xor", "d", "long", "a", "b"},
	{"get", "d"},
	{"bitop", "and", "d", "long", "b"},
	{"get", "d"},
	{"bitop", "not", "d", "long"},
	{"get", "d"},

	// BITFIELD and BITFIELD_RO.
	{"bitfield", "bf", "set", "i8", "0", "-100"},
	{"bitfield", "bf", "get", "i8", "0", "get", "u8", "0", "get", "u4", "0", "get", "i4", "4"},
	{"get", "bf"},
	{"bitfield", "bf", "incrby", "i8", "0", "300"},
	{"bitfield", "bf", "set", "u8", "#1", "255", "get", "u8", "8", "get", "u16", "#0"},
	{"bitfield", "bf", "incrby", "u2", "100", "1", "get", "u2", "100"},
	{"strlen", "bf"},
	{"bitfield", "bf", "get", "u8", "#100"},
	{"strlen", "bf"},
	{"bitfield", "bf", "overflow", "fail", "incrby", "u2", "200", "10"},
	{"strlen", "bf"},
	{"bitfield", "bf", "overflow", "fail", "incrby", "u2", "200", "10", "overflow", "sat", "incrby", "u2", "200", "10", "overflow", "wrap", "incrby", "u2", "200", "10", "incrby", "u2", "200", "-10"},
	{"bitfield", "bf", "OVERFLOW", "SAT", "set", "u8", "0", "-1", "set", "i8", "0", "-1000", "set", "i8", "0", "1000", "get", "i8", "0"},
	{"bitfield", "bf", "overflow", "wrap", "set", "u8", "0", "-1", "get", "u8", "0", "set", "i8", "0", "1000", "get", "i8", "0"},
	{"bitfield", "bf", "overflow", "fail", "set", "u8", "0", "256", "set", "i8", "0", "128", "set", "i8", "0", "-128", "get", "i8", "0"},
	{"bitfield", "bf", "get", "i64", "3", "set", "i64", "3", "-9223372036854775808", "incrby", "i64", "3", "-1", "get", "i64", "3"},
	{"bitfield", "bf", "get", "u63", "5", "set", "u63", "5", "9223372036854775807", "incrby", "u63", "5", "1", "get", "u63", "5"},
	{"bitfield", "nokey", "get", "u8", "0", "get", "i64", "1000"},
	{"exists", "nokey"},
	{"bitfield", "nokey"},
	{"bitfield_ro", "nokey"},
	{"bitfield_ro", "bf", "get", "u8", "0", "get", "i3", "#2"},
	{"bitfield_ro", "bf", "overflow", "sat", "get", "u8", "0"},
	{"bitfield_ro", "bf", "set", "u8", "0", "1"},
	{"bitfield_ro", "bf", "incrby", "u8", "0", "1"},
	{"bitfield_ro", "bf", "get", "u8", "0", "incrby", "u8", "0", "x"},
	{"bitfield_ro", "h", "set", "u8", "0", "1"},
	{"bitfield_ro", "h", "get", "u8", "0"},
	{"bitfield_ro", "h"},
	{"bitfield", "h"},
	{"bitfield", "h", "get", "u8", "0"},
	{"bitfield", "h", "set", "u8", "0", "1"},
	{"bitfield", "h", "set", "u8", "x", "1"},
	{"bitfield", "bf", "get", "u8"},
	{"bitfield", "bf", "set", "u8", "0"},
	{"bitfield", "bf", "incrby", "u8", "0"},
	{"bitfield", "bf", "overflow"},
	{"bitfield", "bf", "bogus", "u8", "0"},
	{"bitfield", "bf", "get", "u8", "0", "bogus"},
	{"bitfield", "bf", "overflow", "foo", "get", "u8", "0"},
	{"bitfield", "bf", "get", "x8", "0", "overflow", "foo"},
	{"bitfield", "bf", "overflow", "foo", "get", "x8", "0"},
	{"bitfield", "bf", "GeT", "u8", "0", "SeT", "u8", "0", "1", "InCrBy", "u8", "0", "1"},
	{"bitfield", "bf", "get", "U8", "0"},
	{"bitfield", "bf", "get", "I8", "0"},
	{"bitfield", "bf", "get", "u64", "0"},
	{"bitfield", "bf", "get", "i65", "0"},
	{"bitfield", "bf", "get", "i0", "0"},
	{"bitfield", "bf", "get", "u0", "0"},
	{"bitfield", "bf", "get", "i-1", "0"},
	{"bitfield", "bf", "get", "i", "0"},
	{"bitfield", "bf", "get", "", "0"},
	{"bitfield", "bf", "get", "i08", "0"},
	{"bitfield", "bf", "get", "i+8", "0"},
	{"bitfield", "bf", "get", "i8 ", "0"},
	{"bitfield", "bf", "get", "i8\x00x", "0"},
	{"bitfield", "bf", "get", "u8", "-1"},
	{"bitfield", "bf", "get", "u8", "x"},
	{"bitfield", "bf", "get", "u8", "#"},
	{"bitfield", "bf", "get", "u8", "##1"},
	{"bitfield", "bf", "get", "u8", "#-1"},
	{"bitfield", "bf", "get", "u8", "#-0"},
	{"bitfield", "bf", "get", "u8", "#0"},
	{"bitfield", "bf", "get", "u8", "4294967295"},
	{"bitfield", "bf", "get", "u8", "4294967296"},
	{"bitfield", "bf", "get", "u8", "#536870911"},
	{"bitfield", "bf", "get", "u8", "#536870912"},
	{"bitfield", "bf", "get", "i64", "#67108863"},
	{"bitfield", "bf", "get", "i64", "#67108864"},
	{"bitfield", "bf", "get", "u8", "#1152921504606846976"},
	{"bitfield", "bf", "get", "u8", "#2305843009213693952"},
	{"bitfield", "bf", "get", "u8", "#3458764513820540928"},
	{"bitfield", "bf", "get", "i1", "#9223372036854775807"},
	{"bitfield", "bf", "set", "u8", "0", "x"},
	{"bitfield", "bf", "set", "u8", "0", "9223372036854775808"},
	{"bitfield", "bf", "incrby", "u8", "0", "1.5"},
	{"bitfield", "bf", "set", "u8", "x", "x"},
	{"bitfield", "bf", "set", "u8", "0", "1", "get", "x", "0"},
	{"set", "t", "abc", "ex", "1000"},
	{"bitfield", "t", "set", "u8", "100", "1"},
	{"ttl", "t"},
	{"bitfield", "t", "incrby", "i5", "3", "7", "incrby", "i5", "3", "7", "incrby", "i5", "3", "7", "get", "u16", "0"},
	{"set", "bfnum", "12"},
	{"bitfield", "bfnum", "incrby", "u8", "8", "1"},
	{"get", "bfnum"},
	{"bitfield", "bfs", "overflow", "fail", "incrby", "u8", "16", "1000"},
	{"get", "bfs"},
	{"bitfield", "bfw", "set", "i64", "0", "-1", "set", "u63", "64", "1", "get", "u8", "#15", "get", "i64", "1", "get", "i64", "#1", "get", "u63", "65"},
	{"get", "bfw"},
}

// bitsResp3Script runs with RESP3 after bitsScript.
var bitsResp3Script = [][]string{
	{"bitfield", "r3", "overflow", "fail", "incrby", "u2", "0", "10", "incrby", "u2", "0", "1"},
	{"bitfield", "r3"},
	{"bitfield_ro", "r3", "get", "u2", "0"},
	{"setbit", "r3", "7", "1"},
	{"getbit", "r3", "7"},
	{"bitcount", "r3"},
	{"bitpos", "r3", "1"},
	{"bitop", "not", "r3n", "r3"},
}

// bitsOverflowScript returns BITFIELD's overflow cases: for every type,
// i1 to i64 and u1 to u63, and every OVERFLOW mode, SET and INCRBY at and
// past both limits, at an offset that is not a byte boundary.
func bitsOverflowScript() [][]string {
	var script [][]string
	for _, signed := range []bool{true, false} {
		top := 63
		if signed {
			top = 64
		}
		for w := 1; w <= top; w++ {
			var t, maxv, minv, over, under string
			if signed {
				t = "i" + strconv.Itoa(w)
				maxv = strconv.FormatInt(int64(uint64(1)<<(w-1)-1), 10)
				minv = strconv.FormatInt(-int64(uint64(1)<<(w-1)), 10)
				over = strconv.FormatInt(int64(uint64(1)<<(w-1)), 10)
				under = strconv.FormatInt(-int64(uint64(1)<<(w-1))-1, 10)
				if w == 64 {
					over, under = "1", "-1" // nothing lies beyond int64
				}
			} else {
				t = "u" + strconv.Itoa(w)
				maxv = strconv.FormatUint(uint64(1)<<w-1, 10)
				minv = "0"
				over = strconv.FormatUint(uint64(1)<<w, 10)
				under = "-1"
				if w == 63 {
					over = "-9223372036854775808" // 2^63 as an unsigned
				}
			}
			for _, mode := range []string{"wrap", "sat", "fail"} {
				key := "of" + t + mode
				script = append(script,
					[]string{"bitfield", key, "overflow", mode,
						"set", t, "3", maxv, "incrby", t, "3", "1", "get", t, "3",
						"set", t, "3", minv, "incrby", t, "3", "-1", "get", t, "3",
						"set", t, "3", over, "get", t, "3",
						"set", t, "3", under, "get", t, "3",
						"incrby", t, "3", "9223372036854775807", "incrby", t, "3", "-9223372036854775808",
						"set", t, "3", "0", "incrby", t, "3", maxv, "incrby", t, "3", minv, "incrby", t, "3", over},
					[]string{"get", key})
			}
		}
	}
	return script
}

// TestBitsRecord records the replies of the scripts from a redis-server
// whose address is in BITS_REDIS_ADDR and rewrites bits_redis_test.go.
func TestBitsRecord(t *testing.T) {
	addr := os.Getenv("BITS_REDIS_ADDR")
	if addr == "" {
		t.Skip("BITS_REDIS_ADDR not set")
	}
	rc := dialRecorder(t, addr)
	defer rc.Close()
	rc.do("flushall")
	var out strings.Builder
	out.WriteString(`package command

// Code generated by TestBitsRecord from redis-server 7.0.15; DO NOT EDIT.
// The scripts are in bits_record_test.go.

`)
	table := func(name, doc string, script [][]string) {
		fmt.Fprintf(&out, "// %s %s\nvar %s = []step{\n", name, doc, name)
		for _, args := range script {
			rep := rc.do(args...)
			var qs []string
			for _, a := range args {
				qs = append(qs, strconv.Quote(a))
			}
			fmt.Fprintf(&out, "\t{[]string{%s}, %s},\n", strings.Join(qs, ", "), strconv.Quote(rep))
		}
		out.WriteString("}\n\n")
	}
	table("bitsCases", "run in RESP2 on an empty keyspace.", bitsScript)
	table("bitsOverflowCases", "are BITFIELD's overflow cases for every type, on an empty keyspace.", bitsOverflowScript())
	rc.do("flushall")
	if got := rc.do("hello", "3"); !strings.HasPrefix(got, "%") {
		t.Fatalf("hello 3: %q", got)
	}
	table("bitsResp3Cases", "run in RESP3 on an empty keyspace.", bitsResp3Script)
	if err := os.WriteFile("bits_redis_test.go", []byte(strings.TrimSuffix(out.String(), "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// recorder is a connection to a redis-server that returns raw replies.
type recorder struct {
	t    *testing.T
	conn net.Conn
	rd   *bufio.Reader
}

func dialRecorder(t *testing.T, addr string) *recorder {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{t: t, conn: conn, rd: bufio.NewReader(conn)}
}

func (r *recorder) Close() { r.conn.Close() }

// do sends one command and returns its reply as read.
func (r *recorder) do(args ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&sb, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(r.conn, sb.String()); err != nil {
		r.t.Fatal(err)
	}
	var rep strings.Builder
	if err := readRawReply3(r.rd, &rep); err != nil {
		r.t.Fatal(err)
	}
	return rep.String()
}

// readRawReply3 appends one RESP2 or RESP3 reply, as read, to sb.
func readRawReply3(r *bufio.Reader, sb *strings.Builder) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	sb.WriteString(line)
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	switch line[0] {
	case '$', '=', '!':
		if n >= 0 {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return err
			}
			sb.Write(buf)
		}
	case '*', '~', '>':
		for range n {
			if err := readRawReply3(r, sb); err != nil {
				return err
			}
		}
	case '%', '|':
		for range 2 * n {
			if err := readRawReply3(r, sb); err != nil {
				return err
			}
		}
	}
	return nil
}
