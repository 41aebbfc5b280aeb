package binread

import (
	"encoding/binary"
	"testing"
)

func TestReader(t *testing.T) {
	b := []byte{7}
	b = binary.LittleEndian.AppendUint64(b, 1<<40+3)
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abc"...)
	b = append(b, 'z')
	r := Reader{B: b}
	if got := r.U8(); got != 7 {
		t.Fatalf("U8 = %d", got)
	}
	if got := r.U64(); got != 1<<40+3 {
		t.Fatalf("U64 = %d", got)
	}
	if got := r.Uvarint(); got != 300 {
		t.Fatalf("Uvarint = %d", got)
	}
	v := r.Bytes()
	if string(v) != "abc" || cap(v) != 3 {
		t.Fatalf("Bytes = %q (cap %d), want abc with capacity 3", v, cap(v))
	}
	if r.Bad || string(r.B) != "z" {
		t.Fatalf("after the fields: Bad %v, left %q", r.Bad, r.B)
	}
}

// Every read past the end or of a bad varint marks the reader Bad, empties
// it and returns zero values from then on.
func TestReaderShort(t *testing.T) {
	cases := map[string]func(r *Reader) bool{
		"U8":      func(r *Reader) bool { return r.U8() == 0 },
		"U64":     func(r *Reader) bool { return r.U64() == 0 },
		"Uvarint": func(r *Reader) bool { return r.Uvarint() == 0 },
		"Bytes":   func(r *Reader) bool { return r.Bytes() == nil },
	}
	for name, read := range cases {
		r := Reader{}
		if !read(&r) || !r.Bad {
			t.Errorf("%s on nothing: want a zero value and Bad", name)
		}
	}
	r := Reader{B: []byte{0x80, 0x80}} // a varint that never ends
	if r.Uvarint(); !r.Bad || len(r.B) != 0 {
		t.Errorf("unterminated uvarint: Bad %v, left %q", r.Bad, r.B)
	}
	r = Reader{B: []byte{5, 'a', 'b'}} // a length past the end
	if v := r.Bytes(); v != nil || !r.Bad || len(r.B) != 0 {
		t.Errorf("length past the end: got %q, Bad %v, left %q", v, r.Bad, r.B)
	}
	r = Reader{B: []byte{1, 2, 3}}
	r.U64()
	if r.U8() != 0 || !r.Bad {
		t.Error("a read after a failed one returned data")
	}
}
