package rdb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// contents describes a value for comparison: its kind and its elements, a
// hash's as field=value and a sorted set's as member=score, sorted for a
// hash or a set, in order for a sorted set or a list; a stream as
// describeStream does.
func contents(v Value) (storage.Kind, []string) {
	if v.Object == nil {
		return storage.KindString, []string{string(v.String)}
	}
	if st, ok := v.Object.(*object.Stream); ok {
		return storage.KindStream, describeStream(st)
	}
	var out []string
	object.Elements(v.Object, func(e, val []byte) bool {
		switch v.Kind() {
		case storage.KindHash:
			out = append(out, string(e)+"="+string(val))
		case storage.KindZSet:
			s, _ := object.ZScoreOf(val)
			out = append(out, string(e)+"="+strconv.FormatFloat(s, 'g', -1, 64))
		default:
			out = append(out, string(e))
		}
		return true
	})
	if k := v.Kind(); k == storage.KindHash || k == storage.KindSet {
		slices.Sort(out)
	}
	return v.Kind(), out
}

// seq returns format applied to 1..n.
func seq(n int, format func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = format(i + 1)
	}
	return out
}

func sorted(s []string) []string { slices.Sort(s); return s }

// recorded are the payloads that redis-server 7.0.15 dumped
// (testdata/record.sh), what they hold, and whether Encode writes the same
// bytes for that content (not for LZF-compressed strings, which Encode
// does not write, nor for tables, whose order is Redis's hash order).
var recorded = []struct {
	name  string
	kind  storage.Kind
	elems []string
	exact bool
}{
	{"s-raw", storage.KindString, []string{"hello"}, true},
	{"s-empty", storage.KindString, []string{""}, true},
	{"s-i8", storage.KindString, []string{"-12"}, true},
	{"s-i16", storage.KindString, []string{"12345"}, true},
	{"s-i32", storage.KindString, []string{"-1234567"}, true},
	{"s-big", storage.KindString, []string{"12345678901"}, true},
	{"s-lzf", storage.KindString, []string{strings.Repeat("abcdefgh", 20)}, false},
	{"s-long", storage.KindString, []string{strings.Repeat("0123456789", 7000)}, false},
	{"h-lp", storage.KindHash, sorted([]string{"f1=v1", "n=12", "neg=-5", "big=1234567890123", "s=hello world"}), true},
	{"h-lplzf", storage.KindHash, sorted(seq(100, func(i int) string { return fmt.Sprintf("field:%d=value:%d", i, i) })), false},
	{"h-ht", storage.KindHash, sorted(seq(300, func(i int) string { return fmt.Sprintf("field:%d=value:%d", i, i) })), false},
	{"st-int", storage.KindSet, sorted([]string{"1", "-2", "300", "70000", "5000000000"}), false},
	{"st-int16", storage.KindSet, sorted([]string{"1", "-2", "300"}), true},
	{"st-intlzf", storage.KindSet, sorted(seq(500, strconv.Itoa)), false},
	{"st-ht", storage.KindSet, []string{"1", "a", "b"}, false},
	{"st-htint", storage.KindSet, sorted(seq(1000, strconv.Itoa)), false},
	{"z-lp", storage.KindZSet, []string{"c=-3", "f=0.1", "a=1", "b=2.5", "d=1e+20", "e=+Inf"}, false},
	{"z-sl", storage.KindZSet, seq(200, func(i int) string { return fmt.Sprintf("m%d=%g", i, float64(i)*1.5) }), false},
	{"l-small", storage.KindList, []string{"a", "1", "-300", "hello"}, true},
	{"l-big", storage.KindList, seq(2000, func(i int) string { return fmt.Sprintf("element-%d", i) }), false},
	{"l-multi", storage.KindList, []string{"a", "b", "c", "d", "e"}, false},
	{"l-plain", storage.KindList, []string{"x", "this is a long element of 34 bytes", "y"}, false},
}

// readRecorded returns the payload of testdata/redis-7.0/name.hex.
func readRecorded(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "redis-7.0", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkValue fails t unless v holds kind and elems. The times of a
// stream's groups are written T (see withoutTimes).
func checkValue(t *testing.T, v Value, kind storage.Kind, elems []string) {
	t.Helper()
	gotKind, got := contents(v)
	if gotKind == storage.KindStream {
		got = withoutTimes(got)
	}
	if gotKind != kind {
		t.Fatalf("got a %s, want a %s", gotKind, kind)
	}
	if !slices.Equal(got, elems) {
		t.Fatalf("got %d elements %.200q, want %d %.200q", len(got), got, len(elems), elems)
	}
}

// TestDecodeRedisPayloads decodes what Redis 7.0 dumped, and checks that
// what Encode writes for the same value decodes to it again (and is Redis's
// very bytes where Redis's encoding is ours).
func TestDecodeRedisPayloads(t *testing.T) {
	for _, tt := range recorded {
		t.Run(tt.name, func(t *testing.T) {
			p := readRecorded(t, tt.name)
			v, err := Decode(p)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkValue(t, v, tt.kind, tt.elems)

			enc, err := Encode(nil, v)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if tt.exact && !bytes.Equal(enc, p) {
				t.Errorf("Encode: got %x, want Redis's %x", enc, p)
			}
			// Where Redis compressed a listpack or intset, ours holds
			// the same bytes uncompressed.
			if enc[0] == p[0] && blobType(p[0]) {
				if got, want := blobOf(t, enc), blobOf(t, p); !bytes.Equal(got, want) {
					t.Errorf("Encode: got blob %x, want Redis's %x", got, want)
				}
			}
			again, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode of our payload %x: %v", enc, err)
			}
			checkValue(t, again, tt.kind, tt.elems)
		})
	}
}

// blobType reports whether values of type t are one string holding a
// listpack or an intset.
func blobType(t byte) bool {
	return t == TypeHashListpack || t == TypeZSetListpack || t == TypeSetIntset || t == TypeSetListpack
}

// blobOf returns the string, uncompressed, of a payload of a blob type.
func blobOf(t *testing.T, p []byte) []byte {
	t.Helper()
	b, err := readString(&sliceSource{b: p[1 : len(p)-10]})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRC64(t *testing.T) {
	// The check value of CRC-64/Jones as Redis's crc64.c tests it.
	if got, want := CRC64(0, []byte("123456789")), uint64(0xe9c6d914c4b8d9ca); got != want {
		t.Fatalf("got %#x, want %#x", got, want)
	}
	// Continuing a CRC equals computing it at once.
	data := []byte("The quick brown fox jumps over the lazy dog")
	if got, want := CRC64(CRC64(0, data[:10]), data[10:]), CRC64(0, data); got != want {
		t.Fatalf("continued: got %#x, want %#x", got, want)
	}
}

func TestDecodeFooter(t *testing.T) {
	p := readRecorded(t, "s-raw")
	withVersion := func(v uint16) []byte {
		q := AppendFooter(bytes.Clone(p[:len(p)-10]), 0, v)
		return q
	}
	tests := []struct {
		name    string
		payload []byte
		want    error
	}{
		{"short", p[:9], ErrChecksum},
		{"bad crc", append(bytes.Clone(p[:len(p)-1]), p[len(p)-1]^1), ErrChecksum},
		{"bad version", withVersion(12), ErrChecksum},
		{"version 11", withVersion(11), nil},
		{"version 1", withVersion(1), nil},
		{"no type", AppendFooter(nil, 0, Version), ErrFormat},
		{"trailing byte", AppendFooter(append(bytes.Clone(p[:len(p)-10]), 0), 0, Version), ErrFormat},
		{"unknown type", AppendFooter([]byte{99, 0}, 0, Version), ErrFormat},
		{"stream", AppendFooter([]byte{TypeStream3, 0}, 0, Version), ErrFormat},
		{"module", AppendFooter([]byte{TypeModule2, 0}, 0, Version), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.payload)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// ziplist builds a ziplist as Redis's ziplistPush does: canonical integers
// as integers of the smallest encoding (0 to 12 in the encoding byte).
func ziplist(elems ...string) []byte {
	b := make([]byte, 10)
	prev, last := 0, 10
	for _, e := range elems {
		start := len(b)
		last = start
		if prev < 254 {
			b = append(b, byte(prev))
		} else {
			b = binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(prev))
		}
		if v, ok := parseInt([]byte(e)); ok {
			switch {
			case v >= 0 && v <= 12:
				b = append(b, 0xf1+byte(v))
			case v >= math.MinInt8 && v <= math.MaxInt8:
				b = append(b, 0xfe, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				b = binary.LittleEndian.AppendUint16(append(b, 0xc0), uint16(v))
			case v >= -1<<23 && v < 1<<23:
				b = append(b, 0xf0, byte(v), byte(v>>8), byte(v>>16))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				b = binary.LittleEndian.AppendUint32(append(b, 0xd0), uint32(v))
			default:
				b = binary.LittleEndian.AppendUint64(append(b, 0xe0), uint64(v))
			}
		} else {
			switch n := len(e); {
			case n < 64:
				b = append(b, byte(n))
			case n < 16384:
				b = append(b, 0x40|byte(n>>8), byte(n))
			default:
				b = binary.BigEndian.AppendUint32(append(b, 0x80), uint32(n))
			}
			b = append(b, e...)
		}
		prev = len(b) - start
	}
	b = append(b, 0xff)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	binary.LittleEndian.PutUint32(b[4:], uint32(last))
	binary.LittleEndian.PutUint16(b[8:], uint16(min(len(elems), 65535)))
	return b
}

// zipmap builds a zipmap of key and value pairs, with free bytes after
// each value as an update in place leaves them.
func zipmap(pairs ...string) []byte {
	b := []byte{byte(len(pairs) / 2)}
	length := func(n int) {
		if n < 254 {
			b = append(b, byte(n))
		} else {
			b = binary.LittleEndian.AppendUint32(append(b, 254), uint32(n))
		}
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		length(len(pairs[i]))
		b = append(b, pairs[i]...)
		length(len(pairs[i+1]))
		b = append(b, 2) // two free bytes
		b = append(b, pairs[i+1]...)
		b = append(b, 0, 0)
	}
	return append(b, 0xff)
}

// lpOf returns a listpack of elems.
func lpOf(elems ...string) []byte {
	lp := newListpack()
	for _, e := range elems {
		lp.add([]byte(e))
	}
	return lp.finish()
}

// payload returns the DUMP payload of type t and the value parts given.
func payload(t byte, parts ...[]byte) []byte {
	b := []byte{t}
	for _, p := range parts {
		b = append(b, p...)
	}
	return AppendFooter(b, 0, Version)
}

func str(s string) []byte    { return appendString(nil, []byte(s)) }
func length(n int) []byte    { return appendLength(nil, uint64(n)) }
func raw(b []byte) []byte    { return append(appendLength(nil, uint64(len(b))), b...) }
func text(s string) []byte   { return append([]byte{byte(len(s))}, s...) }
func cat(p ...[]byte) []byte { return bytes.Join(p, nil) }

// long is an element past the 14-bit lengths of ziplists.
var long = strings.Repeat("L", 20000)

// handBuilt are payloads of the encodings Redis 7.0 reads but no longer
// writes (and Redis 7.2's SET_LISTPACK), built here; redis-server 7.0.15
// restored each one (but the SET_LISTPACK) to what the test wants.
var handBuilt = []struct {
	name    string
	payload []byte
	kind    storage.Kind
	elems   []string
}{
	{"list", payload(TypeList, length(3), str("a"), str("12"), str("")), storage.KindList, []string{"a", "12", ""}},
	{"list ziplist", payload(TypeListZiplist, raw(ziplist("a", "0", "12", "13", "-100", "1000", "100000", "3000000000", "-9223372036854775808", long, "z"))),
		storage.KindList, []string{"a", "0", "12", "13", "-100", "1000", "100000", "3000000000", "-9223372036854775808", long, "z"}},
	{"list quicklist", payload(TypeListQuicklist, length(3), raw(ziplist("a", "b")), raw(ziplist()), raw(ziplist("7", strings.Repeat("x", 300)))),
		storage.KindList, []string{"a", "b", "7", strings.Repeat("x", 300)}},
	{"list quicklist2 plain and packed", payload(TypeListQuicklist2, length(3), length(2), raw(lpOf("a", "-5000", "70000")), length(1), str("plain"), length(2), raw(lpOf(long))),
		storage.KindList, []string{"a", "-5000", "70000", "plain", long}},
	{"set listpack", payload(TypeSetListpack, raw(lpOf("a", "1", "-1", "bb"))), storage.KindSet, sorted([]string{"a", "1", "-1", "bb"})},
	{"set intset of 64 bits", payload(TypeSetIntset, raw(cat([]byte{8, 0, 0, 0, 2, 0, 0, 0}, binary.LittleEndian.AppendUint64(nil, uint64(1)<<63), binary.LittleEndian.AppendUint64(nil, 5)))),
		storage.KindSet, sorted([]string{"-9223372036854775808", "5"})},
	{"zset text scores", payload(TypeZSet, length(5), str("a"), text("1.5"), str("b"), []byte{254}, str("c"), []byte{255}, str("d"), text("-0.25"), str("e"), text("3e10")),
		storage.KindZSet, []string{"c=-Inf", "d=-0.25", "a=1.5", "e=3e+10", "b=+Inf"}},
	{"zset ziplist", payload(TypeZSetZiplist, raw(ziplist("a", "1", "b", "2.5", "c", "1e20"))), storage.KindZSet, []string{"a=1", "b=2.5", "c=1e+20"}},
	{"hash ziplist", payload(TypeHashZiplist, raw(ziplist("f", "v", "n", "-7", "long", long))), storage.KindHash, sorted([]string{"f=v", "n=-7", "long=" + long})},
	{"hash zipmap", payload(TypeHashZipmap, raw(zipmap("f", "v", "k", "300", "long", strings.Repeat("y", 300)))), storage.KindHash, sorted([]string{"f=v", "k=300", "long=" + strings.Repeat("y", 300)})},
	{"hash", payload(TypeHash, length(2), str("f"), str("1"), str("g"), str("")), storage.KindHash, []string{"f=1", "g="}},
	{"string len32", payload(TypeString, raw([]byte(strings.Repeat("s", 70000)))), storage.KindString, []string{strings.Repeat("s", 70000)}},
	{"string len64", payload(TypeString, []byte{len64, 0, 0, 0, 0, 0, 0, 0, 2}, []byte("ab")), storage.KindString, []string{"ab"}},
}

func TestDecodeOldEncodings(t *testing.T) {
	for _, tt := range handBuilt {
		t.Run(tt.name, func(t *testing.T) {
			if os.Getenv("RDB_PRINT") != "" {
				fmt.Printf("%s\t%x\n", tt.name, tt.payload)
			}
			v, err := Decode(tt.payload)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkValue(t, v, tt.kind, tt.elems)
			enc, err := Encode(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode of our payload: %v", err)
			}
			checkValue(t, again, tt.kind, tt.elems)
		})
	}
}
