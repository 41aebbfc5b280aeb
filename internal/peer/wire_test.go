package peer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

func TestWire(t *testing.T) {
	h := hello{cluster: "c1", from: "a", to: "b", meta: "127.0.0.1:7001"}
	got, err := readHello(bufio.NewReader(bytes.NewReader(appendHello(nil, h))))
	if err != nil || got != h {
		t.Fatalf("hello round trip: got %+v, %v; want %+v", got, err, h)
	}
	big := bytes.Repeat([]byte("0123456789"), 100)
	frames := []Frame{{}, {Kind: 255, Group: 1<<32 - 1, Data: []byte("payload")}, {Kind: 1, Data: make([]byte, 1000)},
		{Kind: 2, Data: []byte("head:"), Tail: big[:995]}, {Kind: 3, Tail: big}}
	var buf bytes.Buffer
	w := bufio.NewWriterSize(&buf, 64) // smaller than a tail: written past the buffer
	for _, f := range frames {
		if err := writeFrame(w, f); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	r := bufio.NewReader(&buf)
	for i, f := range frames {
		want := append(slices.Clone(f.Data), f.Tail...) // a receiver finds the tail in Data
		got, err := readFrame(r, 1000)
		if err != nil || got.Kind != f.Kind || got.Group != f.Group || !bytes.Equal(got.Data, want) || got.Tail != nil {
			t.Fatalf("frame %d: got %+v, %v; want %+v", i, got, err, f)
		}
	}
	if _, err := readFrame(r, 1000); err != io.EOF {
		t.Fatalf("after the last frame: got %v, want EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"cut header", []byte{0, 0, 0, 5, 1}, io.ErrUnexpectedEOF},
		{"cut payload", append(frameHead(5+4), 'a', 'b'), io.ErrUnexpectedEOF},
		{"length below header", frameHead(4), ErrBadFrame},
		{"zero length", frameHead(0), ErrBadFrame},
		{"over max", frameHead(5 + 11), ErrFrameTooLarge},
		{"max length field", frameHead(1<<32 - 1), ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tt.in)), 10)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		wantMeta string
		want     error
	}{
		{"accepted", appendReply(nil, true, "127.0.0.1:7001"), "127.0.0.1:7001", nil},
		{"refused", appendReply(nil, false, "no"), "", ErrRefused},
		{"bad status", append([]byte(magic), version, 7, 0), "", ErrBadMagic},
		{"not a reply", []byte("-ERR unknown command\r\n"), "", ErrBadMagic},
		{"other version", append([]byte(magic), version+1, statusOK, 0), "", ErrVersion},
		{"cut", appendReply(nil, true, "127.0.0.1:7001")[:10], "", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta, err := readReply(bufio.NewReader(bytes.NewReader(tt.in)))
			if meta != tt.wantMeta || !errors.Is(err, tt.want) {
				t.Fatalf("got %q, %v; want %q, %v", meta, err, tt.wantMeta, tt.want)
			}
		})
	}
}

func TestAppendStringCuts(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 300))
	got, err := readString(bufio.NewReader(bytes.NewReader(appendString(nil, long))))
	if err != nil || got != long[:MaxIDLen] {
		t.Fatalf("got %d bytes, %v; want %d", len(got), err, MaxIDLen)
	}
}

// FuzzReadHello checks that any input either fails or reads a hello that
// encodes back to the bytes read.
func FuzzReadHello(f *testing.F) {
	f.Add(appendHello(nil, hello{cluster: "c", from: "a", to: "b", meta: "127.0.0.1:7001"}))
	f.Add(appendHello(nil, hello{}))
	f.Add([]byte("dcpeer\x02"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		h, err := readHello(r)
		if err != nil {
			return
		}
		enc := appendHello(nil, h)
		if !bytes.HasPrefix(in, enc) {
			t.Fatalf("read %+v from %q, which encodes as %q", h, in, enc)
		}
	})
}

// FuzzReadFrame checks that any input reads as frames that encode back to
// the bytes read, and that no frame exceeds the limit.
func FuzzReadFrame(f *testing.F) {
	var seed bytes.Buffer
	w := bufio.NewWriter(&seed)
	writeFrame(w, Frame{Kind: 1, Group: 2, Data: []byte("abc")})
	writeFrame(w, Frame{})
	w.Flush()
	f.Add(seed.Bytes())
	f.Add(frameHead(1<<32 - 1))
	f.Add(frameHead(3))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 10
		r := bufio.NewReader(bytes.NewReader(in))
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		for {
			fr, err := readFrame(r, limit)
			if err != nil {
				break
			}
			if len(fr.Data) > limit {
				t.Fatalf("got a frame of %d bytes, limit %d", len(fr.Data), limit)
			}
			writeFrame(w, fr)
		}
		w.Flush()
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("frames read from %q encode as %q", in, out.Bytes())
		}
	})
}
