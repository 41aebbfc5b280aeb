package rdb

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/object"
)

// FuzzRestorePayload decodes arbitrary values behind a valid footer: no
// input may panic, loop or allocate more than a bounded multiple of its
// length, and what decodes must encode and decode to the same contents.
func FuzzRestorePayload(f *testing.F) {
	for _, tt := range recorded {
		p := readRecorded(f, tt.name)
		f.Add(p[:len(p)-10])
	}
	for _, tt := range handBuilt {
		f.Add(tt.payload[:len(tt.payload)-10])
	}
	for _, tt := range recordedStreams {
		p := readRecorded(f, tt.name)
		f.Add(p[:len(p)-10])
		v, err := Decode(p)
		if err != nil {
			f.Fatal(err)
		}
		// The older and newer stream types, as Encode would write them.
		for _, t := range []byte{TypeStreamListpack, TypeStream3} {
			f.Add(appendStream(nil, v.Object.(*object.Stream), t))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p := AppendFooter(bytes.Clone(body), 0, Version)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v, err := Decode(p)
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(1<<20+1000*len(body)); got > limit {
			t.Fatalf("decoding %d bytes allocated %d, more than %d", len(body), got, limit)
		}
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("got error %v, want ErrFormat or ErrUnsupported", err)
			}
			return
		}
		kind, elems := contents(v)
		enc, err := Encode(nil, v)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode of Encode's %x: %v", enc, err)
		}
		kind2, elems2 := contents(again)
		if kind2 != kind || !slices.Equal(elems2, elems) {
			t.Fatalf("round trip: got %s %q, want %s %q", kind2, elems2, kind, elems)
		}
	})
}
