package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("v"), 70000)
	tests := []struct {
		name string
		b    []byte
		want Record
	}{
		{"set", appendSet(nil, []byte("k"), []byte("v"), 0), Record{Op: OpSet, Key: []byte("k"), Value: []byte("v")}},
		{"set expiry", appendSet(nil, []byte("k"), nil, 1700000000123), Record{Op: OpSet, Key: []byte("k"), Value: []byte{}, ExpireAt: 1700000000123}},
		{"set empty key", appendSet(nil, nil, []byte("v"), 5), Record{Op: OpSet, Key: []byte{}, Value: []byte("v"), ExpireAt: 5}},
		{"set big", appendSet(nil, []byte("k"), big, 0), Record{Op: OpSet, Key: []byte("k"), Value: big}},
		{"delete", appendDelete(nil, []byte("a\x00b")), Record{Op: OpDelete, Key: []byte("a\x00b")}},
		{"expire", appendExpire(nil, []byte("k"), 42), Record{Op: OpExpire, Key: []byte("k"), ExpireAt: 42}},
		{"persist", appendExpire(nil, []byte("k"), 0), Record{Op: OpExpire, Key: []byte("k")}},
		{"flush", appendFlush(nil), Record{Op: OpFlush}},
		{"range", appendRange(nil, []byte("k"), 1000, []byte("xy")), Record{Op: OpRange, Key: []byte("k"), Offset: 1000, Value: []byte("xy")}},
		{"range empty", appendRange(nil, []byte("k"), 0, nil), Record{Op: OpRange, Key: []byte("k"), Value: []byte{}}},
		{"header", appendHeader(nil, kindLog, 7, 12), Record{Op: OpHeader, Kind: kindLog, Shard: 7, Seq: 12}},
		{"journal header", appendHeader(nil, kindJournal, 3, 1), Record{Op: OpHeader, Kind: kindJournal, Shard: 3, Seq: 1}},
		{"shard", appendShard(nil, 300), Record{Op: OpShard, Shard: 300}},
		{"end", appendEnd(nil, 99), Record{Op: OpEnd, Count: 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, tt.b, 0o644); err != nil {
				t.Fatal(err)
			}
			f, _ := os.Open(path)
			defer f.Close()
			r := newReader(f, int64(len(tt.b)))
			var got Record
			if err := r.next(&got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if r.off != int64(len(tt.b)) {
				t.Fatalf("read %d bytes, want %d", r.off, len(tt.b))
			}
		})
	}
}

// testLog is a small log segment and where each record lies in it.
type testLog struct {
	data   []byte
	starts []int64 // offset of each record, the header first
	keys   []string
}

// end returns the end of record i.
func (tl testLog) end(i int) int64 {
	if i+1 < len(tl.starts) {
		return tl.starts[i+1]
	}
	return int64(len(tl.data))
}

// makeTestLog builds a segment of shard 0, number 1, with records of every
// kind and sizes that cross sector boundaries. Its last record crosses one
// and ends with a non-zero byte, so that damage to it never looks like
// zeroed sectors.
func makeTestLog() testLog {
	tl := testLog{}
	add := func(b []byte, key string) {
		tl.starts = append(tl.starts, int64(len(tl.data)))
		tl.keys = append(tl.keys, key)
		tl.data = append(tl.data, b...)
	}
	add(appendHeader(nil, kindLog, 0, 1), "")
	add(appendSet(nil, []byte("a"), []byte("1"), 0), "a")
	add(appendSet(nil, []byte("b"), bytes.Repeat([]byte("x"), 600), 1<<41), "b")
	add(appendDelete(nil, []byte("a")), "a")
	add(appendExpire(nil, []byte("b"), 1<<42), "b")
	add(appendFlush(nil), "")
	add(appendSet(nil, []byte("c"), bytes.Repeat([]byte("y"), 300), 0), "c")
	add(appendSet(nil, []byte("d"), []byte("4"), 1<<43), "d")
	add(appendSet(nil, []byte("e"), bytes.Repeat([]byte("z"), 700), 1<<43), "e")
	return tl
}

// readAll reads data as log segment 1 of shard 0, named path, and returns
// the keys of the records it delivered.
func readAll(t *testing.T, path string, data []byte, tornOK bool) ([]string, fileResult, error) {
	t.Helper()
	var got []string
	res, err := readRecords(bytes.NewReader(data), int64(len(data)), path, kindLog, 0, 1, tornOK, func(r *Record) { got = append(got, string(r.Key)) })
	return got, res, err
}

// TestTornTail cuts the log at every offset, as a crash mid-write would,
// and checks that exactly the whole records before the cut are delivered,
// that the torn part is reported, and that without tornOK it is corruption.
func TestTornTail(t *testing.T) {
	tl := makeTestLog()
	path := segName(1, logExt)
	for cut := int64(1); cut <= int64(len(tl.data)); cut++ {
		whole := 0 // records wholly before the cut
		for whole < len(tl.starts) && tl.end(whole) <= cut {
			whole++
		}
		boundary := int64(0)
		if whole > 0 {
			boundary = tl.end(whole - 1)
		}
		want := []string{}
		for i := 1; i < whole; i++ {
			want = append(want, tl.keys[i])
		}
		got, res, err := readAll(t, path, tl.data[:cut], true)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cut at %d: got records %q, want %q", cut, got, want)
		}
		if res.end != boundary || (res.torn != nil) != (cut != boundary) {
			t.Fatalf("cut at %d: got end %d torn %v, want end %d torn %v", cut, res.end, res.torn, boundary, cut != boundary)
		}
		_, _, err = readAll(t, path, tl.data[:cut], false)
		var ce *CorruptError
		if cut != boundary && (!errors.As(err, &ce) || ce.Offset != boundary) {
			t.Fatalf("cut at %d without tornOK: got %v, want corruption at %d", cut, err, boundary)
		}
	}
}

// TestCorruptEveryByte damages each byte of the log in turn: recovery must
// deliver the records before the damaged one and report corruption at its
// offset, whichever record it is, the last included.
func TestCorruptEveryByte(t *testing.T) {
	tl := makeTestLog()
	path := segName(1, logExt)
	for _, flip := range []byte{0x01, 0x80, 0xff} {
		for off := range int64(len(tl.data)) {
			data := bytes.Clone(tl.data)
			data[off] ^= flip
			rec := 0
			for tl.end(rec) <= off {
				rec++
			}
			want := []string{}
			for i := 1; i < rec; i++ {
				want = append(want, tl.keys[i])
			}
			got, _, err := readAll(t, path, data, true)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != tl.starts[rec] || ce.Path != path {
				t.Fatalf("byte %d ^ %#x: got %v, want corruption in %s at %d", off, flip, err, path, tl.starts[rec])
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("byte %d: %v is not ErrCorrupt", off, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("byte %d ^ %#x: got records %q, want %q", off, flip, got, want)
			}
		}
	}
}

// TestZeroedTail checks that zeros after the last record, as a crash after
// the file grew but before its data reached the disk leaves, are a torn tail.
func TestZeroedTail(t *testing.T) {
	tl := makeTestLog()
	path := segName(1, logExt)
	last := len(tl.starts) - 1
	tests := []struct {
		name string
		data []byte
		end  int64
	}{
		{"1 zero", append(bytes.Clone(tl.data), 0), int64(len(tl.data))},
		{"a header of zeros", append(bytes.Clone(tl.data), make([]byte, headerSize)...), int64(len(tl.data))},
		{"a page of zeros", append(bytes.Clone(tl.data), make([]byte, 4096)...), int64(len(tl.data))},
		{"last record zeroed from a sector", zeroFrom(tl.data, (tl.end(last)-1)/sectorSize*sectorSize), tl.starts[last]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res, err := readAll(t, path, tt.data, true)
			if err != nil || res.torn == nil || res.end != tt.end {
				t.Fatalf("got end %d torn %v err %v, want end %d torn", res.end, res.torn, err, tt.end)
			}
		})
	}
}

func zeroFrom(b []byte, off int64) []byte {
	b = bytes.Clone(b)
	clear(b[off:])
	return b
}

func TestManifest(t *testing.T) {
	m := manifest{version: manifestVersion, gen: 3, shards: 4, vnodes: 64}
	got, err := parseManifest(m.encode())
	if err != nil || got != m {
		t.Fatalf("got %+v, %v; want %+v", got, err, m)
	}
	b := m.encode()
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x04
		if got, err := parseManifest(c); err == nil && got == m {
			t.Fatalf("byte %d changed, manifest still parses as the same", i)
		}
	}
}
