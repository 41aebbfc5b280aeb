package rdb

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// readAll reads every key of the RDB file data.
func readAll(data []byte) (*Reader, map[string]Entry, error) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	keys := map[string]Entry{}
	for {
		e, err := r.Next()
		if err == io.EOF {
			return r, keys, nil
		}
		if err != nil {
			return r, keys, err
		}
		c := *e
		c.Key = bytes.Clone(e.Key)
		c.Payload = bytes.Clone(e.Payload)
		c.Value.String = bytes.Clone(e.Value.String)
		keys[string(c.Key)] = c
	}
}

// TestReaderRedisFile reads a file redis-cli --rdb took from redis-server
// 7.0 (testdata/record.sh).
func TestReaderRedisFile(t *testing.T) {
	data, err := os.ReadFile("testdata/redis-7.0/dump.rdb")
	if err != nil {
		t.Fatal(err)
	}
	r, keys, err := readAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version() != 10 || r.Aux()["redis-ver"] != "7.0.15" || r.Functions() != 1 {
		t.Errorf("got version %d, redis-ver %q, %d functions; want 10, 7.0.15, 1", r.Version(), r.Aux()["redis-ver"], r.Functions())
	}
	want := map[string]struct {
		kind  storage.Kind
		elems []string
	}{
		"str":    {storage.KindString, []string{"hello"}},
		"int":    {storage.KindString, []string{"42"}},
		"ttl":    {storage.KindString, []string{"value"}},
		"hash":   {storage.KindHash, []string{"f=v", "n=1"}},
		"set":    {storage.KindSet, []string{"a", "b", "c"}},
		"intset": {storage.KindSet, []string{"1", "2", "3"}},
		"zset":   {storage.KindZSet, []string{"a=1", "b=2"}},
		"list":   {storage.KindList, []string{"a", "b", "c"}},
		"bigset": {storage.KindSet, sorted(seq(300, func(i int) string { return "member:" + strconv.Itoa(i) }))},
		"other":  {storage.KindString, []string{"db2"}},
		"stream": {storage.KindStream, []string{"1-1 f v", "1-2 f w", "length 2 last 1-2 added 2 max-deleted 0-0 first 1-1",
			`group "g" last 1-1 read 1 pending 1`, `pending 1-1 "c" T 1`, `consumer "c" seen T: 1-1`}},
	}
	if len(keys) != len(want) {
		t.Errorf("got %d keys, want %d", len(keys), len(want))
	}
	for k, w := range want {
		t.Run(k, func(t *testing.T) {
			e, ok := keys[k]
			if !ok {
				t.Fatal("missing")
			}
			checkValue(t, e.Value, w.kind, w.elems)
			v, err := Decode(e.Payload)
			if err != nil {
				t.Fatalf("Decode of the payload: %v", err)
			}
			checkValue(t, v, w.kind, w.elems)
			wantDB, wantAt := 0, int64(0)
			switch k {
			case "other":
				wantDB = 2
			case "ttl":
				wantAt = 4102444800000
			}
			if e.DB != wantDB || e.ExpireAt != wantAt || e.Freq < 0 || e.Idle != -1 {
				t.Errorf("got db %d, expiry %d, freq %d, idle %d; want %d, %d, a counter, -1", e.DB, e.ExpireAt, e.Freq, e.Idle, wantDB, wantAt)
			}
		})
	}
}

// TestReaderDamage checks that a damaged or cut file is refused, never
// read as other data.
func TestReaderDamage(t *testing.T) {
	data, err := os.ReadFile("testdata/redis-7.0/dump.rdb")
	if err != nil {
		t.Fatal(err)
	}
	// Every byte changed in turn: the read fails.
	_, good, _ := readAll(data)
	for i := range data {
		d := bytes.Clone(data)
		d[i] ^= 0x20
		_, keys, err := readAll(d)
		if err == nil {
			t.Fatalf("byte %d changed: read %d keys without an error", i, len(keys))
		}
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("byte %d changed: got %v", i, err)
		}
	}
	for n := range len(data) {
		if _, _, err := readAll(data[:n]); err == nil {
			t.Fatalf("cut at %d: no error", n)
		}
	}
	// A checksum of 0 means none was computed.
	d := bytes.Clone(data)
	copy(d[len(d)-8:], make([]byte, 8))
	if _, keys, err := readAll(d); err != nil || len(keys) != len(good) {
		t.Fatalf("no checksum: got %d keys, %v; want %d", len(keys), err, len(good))
	}
}

// TestReaderRefusesModuleKeys checks that a key of a module's type is
// refused with an error naming it.
func TestReaderRefusesModuleKeys(t *testing.T) {
	f := []byte("REDIS0010")
	f = append(f, opSelectDB, 0, TypeString)
	f = append(f, str("ok")...)
	f = append(f, str("v")...)
	f = append(f, TypeModule2)
	f = append(f, str("mod:key")...)
	f = append(f, 0, 0, 0, opEOF)
	f = append(f, make([]byte, 8)...)
	r, err := NewReader(bytes.NewReader(f), int64(len(f)))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := r.Next(); err != nil || string(e.Key) != "ok" {
		t.Fatalf("first key: got %v, %v", e, err)
	}
	_, err = r.Next()
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"mod:key"`) {
		t.Fatalf("got %v, want ErrUnsupported naming mod:key", err)
	}
}
