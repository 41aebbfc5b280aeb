package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
)

// describeStream describes a stream for comparison: its entries, its
// counters, and each group with its pending entries and consumers.
func describeStream(st *object.Stream) []string {
	var out []string
	st.Ascend(object.StreamID{}, object.MaxStreamID, func(id object.StreamID, fv [][]byte) bool {
		s := id.String()
		for _, b := range fv {
			s += " " + string(b)
		}
		out = append(out, s)
		return true
	})
	out = append(out, fmt.Sprintf("length %d last %s added %d max-deleted %s first %s",
		st.Len(), st.LastID, st.EntriesAdded, st.MaxDeleted, st.FirstID()))
	for _, g := range st.Groups() {
		out = append(out, fmt.Sprintf("group %q last %s read %d pending %d", g.Name, g.LastID, g.EntriesRead, g.Pending()))
		g.AscendPending(nil, object.StreamID{}, func(p *object.StreamNack) bool {
			out = append(out, fmt.Sprintf("  pending %s %q %d %d", p.ID, p.Consumer.Name, p.DeliveryTime, p.DeliveryCount))
			return true
		})
		for _, c := range g.Consumers() {
			s := fmt.Sprintf("  consumer %q seen %d:", c.Name, c.SeenTime)
			g.AscendPending(c, object.StreamID{}, func(p *object.StreamNack) bool {
				s += " " + p.ID.String()
				return true
			})
			out = append(out, s)
		}
	}
	return out
}

// recordedStreams are the streams record.sh made: the entries of each
// (its XINFO STREAM FULL, recorded beside it, is checked by the command
// tests), and the stream-node-max-entries it was made with.
var recordedStreams = []struct {
	name       string
	entries    []string
	meta       string
	maxEntries int64
}{
	{"x-del", []string{"1-1 a 1 b hello", "2-0 a -3 b 1234567890123"}, "length 2 last 2-5 added 4 max-deleted 2-5 first 1-1", 100},
	{"x-fields", []string{"5-1 name alice age 30", "5-2 name bob age 31", "6-0 other field",
		"7-0 name carol age 32 note " + strings.Repeat("a value of seventy bytes", 3), "7-1 name dave age -33000"},
		"length 5 last 7-1 added 5 max-deleted 0-0 first 5-1", 100},
	{"x-nodes", seq(7, func(i int) string { return fmt.Sprintf("10-%d n %d s v%d", i, i, i) }), "length 7 last 10-7 added 7 max-deleted 0-0 first 10-1", 2},
	{"x-big", seq(250, func(i int) string { return fmt.Sprintf("100-%d field value:%d n %d", i, i, i*1000) }), "length 250 last 100-250 added 250 max-deleted 0-0 first 100-1", 100},
	{"x-empty", nil, "length 0 last 0-0 added 0 max-deleted 0-0 first 0-0", 100},
	{"x-groups", []string{"1-0 job 1", "2-0 job 2", "3-0 job 3", "5-0 job 5", "6-0 job 6", "7-0 job 7"}, "length 6 last 7-0 added 7 max-deleted 4-0 first 1-0", 100},
}

// withNodeMaxEntries runs fn with stream-node-max-entries set to n.
func withNodeMaxEntries(n int64, fn func()) {
	old := object.CurrentLimits()
	l := old
	l.StreamNodeMaxEntries = n
	object.SetLimits(l)
	defer object.SetLimits(old)
	fn()
}

// streamParts splits a stream payload of type 19 into its node keys and
// listpacks (uncompressed) and the bytes after them.
func streamParts(t *testing.T, p []byte) (nodes [][]byte, tail []byte) {
	t.Helper()
	s := &sliceSource{b: p[1 : len(p)-10]}
	n, err := readCount(s, 2)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * n {
		b, err := readString(s)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, b)
	}
	return nodes, s.b
}

// TestDecodeRedisStreams decodes the streams Redis 7.0 dumped, and checks
// that Encode writes Redis's nodes (where Redis's hold no deleted entry)
// and Redis's bytes after them, and that what it writes decodes the same.
func TestDecodeRedisStreams(t *testing.T) {
	for _, tt := range recordedStreams {
		t.Run(tt.name, func(t *testing.T) {
			p := readRecorded(t, tt.name)
			v, err := Decode(p)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			st, ok := v.Object.(*object.Stream)
			if !ok {
				t.Fatalf("got a %s, want a stream", v.Kind())
			}
			got := describeStream(st)
			if n := len(tt.entries); !slices.Equal(got[:n], tt.entries) || got[n] != tt.meta {
				t.Fatalf("got %q, want entries %q and %q", got, tt.entries, tt.meta)
			}
			var enc []byte
			withNodeMaxEntries(tt.maxEntries, func() { enc, err = Encode(nil, v) })
			if err != nil {
				t.Fatal(err)
			}
			gotNodes, gotTail := streamParts(t, enc)
			wantNodes, wantTail := streamParts(t, p)
			if tt.name != "x-del" && tt.name != "x-groups" { // Redis's keep deleted entries
				if !slices.EqualFunc(gotNodes, wantNodes, bytes.Equal) {
					t.Errorf("nodes: got %x, want Redis's %x", gotNodes, wantNodes)
				}
			}
			if !bytes.Equal(gotTail, wantTail) {
				t.Errorf("after the nodes: got %x, want Redis's %x", gotTail, wantTail)
			}
			again, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode of our payload: %v", err)
			}
			if got2 := describeStream(again.Object.(*object.Stream)); !slices.Equal(got2, got) {
				t.Fatalf("round trip: got %q, want %q", got2, got)
			}
		})
	}
}

// withoutTimes replaces in lines of describeStream the times of a
// recording (Unix milliseconds of 13 digits) with T.
func withoutTimes(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		f := strings.Fields(l)
		for j, w := range f {
			if n := strings.TrimSuffix(w, ":"); len(n) == 13 && strings.Trim(n, "0123456789") == "" {
				f[j] = "T" + w[len(n):]
			}
		}
		out[i] = strings.Join(f, " ")
	}
	return out
}

// TestDecodeRedisStreamGroups checks the groups of x-groups, as
// record.sh made them.
func TestDecodeRedisStreamGroups(t *testing.T) {
	v, err := Decode(readRecorded(t, "x-groups"))
	if err != nil {
		t.Fatal(err)
	}
	got := withoutTimes(describeStream(v.Object.(*object.Stream))[7:])
	want := []string{
		`group "42" last 6-0 read -1 pending 0`,
		`group "g1" last 5-0 read 5 pending 4`,
		`pending 2-0 "bob" T 2`,
		`pending 3-0 "bob" T 1`,
		`pending 4-0 "bob" T 1`,
		`pending 5-0 "bob" T 1`,
		`consumer "alice" seen T:`,
		`consumer "bob" seen T: 2-0 3-0 4-0 5-0`,
		`consumer "carol" seen T:`,
		`group "late" last 4-0 read -1 pending 1`,
		`pending 4-0 "7" T 1`,
		`consumer "7" seen T: 4-0`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// TestStreamTypes writes a stream with groups as each of the three stream
// types and reads it back: STREAM_LISTPACKS has no counters nor entries
// read (they are derived as Redis derives them), STREAM_LISTPACKS_3 has
// consumers' active times (not kept).
func TestStreamTypes(t *testing.T) {
	v, err := Decode(readRecorded(t, "x-groups"))
	if err != nil {
		t.Fatal(err)
	}
	st := v.Object.(*object.Stream)
	want := describeStream(st)
	for _, typ := range []byte{TypeStreamListpack, TypeStream2, TypeStream3} {
		t.Run(fmt.Sprint(typ), func(t *testing.T) {
			p := AppendFooter(appendStream(nil, st, typ), 0, Version)
			got, err := Decode(p)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			d := describeStream(got.Object.(*object.Stream))
			if typ == TypeStreamListpack {
				// entries added is the length, max deleted 0-0; a group's
				// entries read is estimated: unknown past a deletion.
				want := slices.Clone(want)
				want[6] = "length 6 last 7-0 added 6 max-deleted 0-0 first 1-0"
				for i, l := range want {
					want[i] = strings.Replace(l, "read 5", "read -1", 1)
				}
				if !slices.Equal(d, want) {
					t.Fatalf("got %q, want %q", d, want)
				}
				return
			}
			if !slices.Equal(d, want) {
				t.Fatalf("got %q, want %q", d, want)
			}
		})
	}
}

// streamBody returns a stream value of type 19 with the nodes given (key,
// listpack, …) and the rest after them.
func streamBody(nodes [][]byte, rest ...[]byte) []byte {
	b := append([]byte{TypeStream2}, length(len(nodes)/2)...)
	for _, n := range nodes {
		b = append(b, raw(n)...)
	}
	for _, r := range rest {
		b = append(b, r...)
	}
	return AppendFooter(b, 0, Version)
}

// ints returns lengths, as the counters after the nodes are written.
func ints(v ...uint64) []byte {
	var b []byte
	for _, n := range v {
		b = appendLength(b, n)
	}
	return b
}

// lpElems builds a listpack of integers (int64) and strings.
func lpElems(elems ...any) []byte {
	lp := newListpack()
	for _, e := range elems {
		switch e := e.(type) {
		case int:
			lp.addInt(int64(e))
		case string:
			lp.add([]byte(e))
		}
	}
	return lp.finish()
}

func rid(ms, seq uint64) []byte { return appendRawID(nil, object.StreamID{Ms: ms, Seq: seq}) }

func le64(v int64) []byte { return binaryLE(uint64(v)) }

func binaryLE(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

// TestDecodeBadStreams checks that damaged streams are refused.
func TestDecodeBadStreams(t *testing.T) {
	// A node of entries 5-1 (a=1) and 5-2 (a=2, same fields), live.
	good := lpElems(2, 0, 1, "a", 0, 2, 0, 0, "1", 4, 2, 0, 1, "2", 4)
	meta := ints(2, 5, 2, 5, 1, 0, 0, 2)
	noGroups := ints(0)
	// One group "g" of last 5-2, entries read 2, with 5-1 pending for
	// consumer "c".
	group := func(pel, consumers []byte) []byte {
		return cat(ints(1), str("g"), ints(5, 2, 2), pel, consumers)
	}
	pel := cat(ints(1), rid(5, 1), le64(1000), ints(1))
	consumer := cat(ints(1), str("c"), le64(2000), ints(1), rid(5, 1))
	tests := []struct {
		name    string
		payload []byte
	}{
		{"short key", streamBody([][]byte{rid(5, 1)[:15], good}, meta, noGroups)},
		{"not a listpack", streamBody([][]byte{rid(5, 1), []byte("garbage")}, meta, noGroups)},
		{"no entries", streamBody([][]byte{rid(5, 1), lpElems(0, 0, 1, "a", 0)}, ints(0, 5, 2, 0, 0, 0, 0, 0), noGroups)},
		{"no fields", streamBody([][]byte{rid(5, 1), lpElems(1, 0, 0, 0, 2, 0, 0, 3)}, ints(1, 5, 1, 5, 1, 0, 0, 1), noGroups)},
		{"entry without fields", streamBody([][]byte{rid(5, 1), lpElems(1, 0, 1, "a", 0, 0, 0, 0, 0, 4)}, ints(1, 5, 1, 5, 1, 0, 0, 1), noGroups)},
		{"wrong count", streamBody([][]byte{rid(5, 1), lpElems(3, 0, 1, "a", 0, 2, 0, 0, "1", 4, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"wrong deleted count", streamBody([][]byte{rid(5, 1), lpElems(2, 1, 1, "a", 0, 2, 0, 0, "1", 4, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"wrong lp-count", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, 2, 0, 0, "1", 5, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"bad flags", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, 6, 0, 0, "1", 4, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"a string for an integer", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, "x", 0, 0, "1", 4, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"ids not increasing", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, 2, 0, 1, "1", 4, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"id before the master", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, 2, 0, -1, "1", 4, 2, 0, 1, "2", 4)}, meta, noGroups)},
		{"elements after the entries", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, 2, 0, 0, "1", 4, 2, 0, 1, "2", 4, 1)}, meta, noGroups)},
		{"entry past the end", streamBody([][]byte{rid(5, 1), lpElems(2, 0, 1, "a", 0, 2, 0, 0, "1", 4, 0, 0, 1, 3, "b")}, meta, noGroups)},
		{"nodes out of order", streamBody([][]byte{rid(5, 1), good, rid(5, 0), lpElems(1, 0, 1, "a", 0, 2, 0, 0, "1", 4)}, meta, noGroups)},
		{"node overlapping the one before", streamBody([][]byte{rid(5, 1), good, rid(5, 2), lpElems(1, 0, 1, "a", 0, 2, 0, 0, "1", 4)}, meta, noGroups)},
		{"wrong length", streamBody([][]byte{rid(5, 1), good}, ints(3, 5, 2, 5, 1, 0, 0, 3), noGroups)},
		{"last id before an entry", streamBody([][]byte{rid(5, 1), good}, ints(2, 5, 1, 5, 1, 0, 0, 2), noGroups)},
		{"fewer added than entries", streamBody([][]byte{rid(5, 1), good}, ints(2, 5, 2, 5, 1, 0, 0, 1), noGroups)},
		{"repeated group", streamBody([][]byte{rid(5, 1), good}, meta, ints(2), str("g"), ints(0, 0, 0, 0, 0), str("g"), ints(0, 0, 0, 0, 0))},
		{"entries read out of range", streamBody([][]byte{rid(5, 1), good}, meta, ints(1), str("g"), ints(0, 0, 1<<63, 0, 0))},
		{"repeated pending entry", streamBody([][]byte{rid(5, 1), good}, meta, group(cat(ints(2), rid(5, 1), le64(1), ints(1), rid(5, 1), le64(1), ints(1)), consumer))},
		{"pending entry without a consumer", streamBody([][]byte{rid(5, 1), good}, meta, group(pel, ints(0)))},
		{"consumer's entry not in the group's", streamBody([][]byte{rid(5, 1), good}, meta, group(pel, cat(ints(1), str("c"), le64(2000), ints(1), rid(5, 2))))},
		{"entry owned twice", streamBody([][]byte{rid(5, 1), good}, meta, group(pel, cat(ints(2), str("c"), le64(2000), ints(1), rid(5, 1), str("d"), le64(2000), ints(1), rid(5, 1))))},
		{"repeated consumer", streamBody([][]byte{rid(5, 1), good}, meta, group(pel, cat(ints(2), str("c"), le64(2000), ints(1), rid(5, 1), str("c"), le64(2000), ints(0))))},
		{"short pending entry", streamBody([][]byte{rid(5, 1), good}, meta, group(cat(ints(1), rid(5, 1)[:10]), nil))},
		{"huge counts", streamBody(nil, ints(0, 0, 0, 0, 0, 0, 0, 0), ints(math.MaxUint32))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.payload)
			t.Log(err)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("got %v, want ErrFormat", err)
			}
		})
	}
	// The same pieces, undamaged, decode.
	for name, p := range map[string][]byte{
		"no groups":     streamBody([][]byte{rid(5, 1), good}, meta, noGroups),
		"with a group":  streamBody([][]byte{rid(5, 1), good}, meta, group(pel, consumer)),
		"integer names": streamBody([][]byte{rid(5, 1), good}, meta, ints(1), str("12"), ints(5, 2, math.MaxUint64), pel, cat(ints(1), str("-7"), le64(-1), ints(1), rid(5, 1))),
	} {
		if _, err := Decode(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
