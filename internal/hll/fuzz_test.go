package hll

import (
	"errors"
	"testing"
)

// FuzzHLL gives arbitrary strings to what PFADD, PFCOUNT and PFMERGE do
// with a stored value: none may panic, a change must leave a valid
// HyperLogLog no longer than a dense one or a few bytes per element past
// the input, and the count of a string must equal the estimate of its
// registers merged.
func FuzzHLL(f *testing.F) {
	var s Sketch
	s.Load(New())
	f.Add(New(), []byte("a"), int64(DefaultSparseMaxBytes))
	for _, e := range elems("e", 1, 40) {
		s.Add(e, DefaultSparseMaxBytes)
	}
	f.Add(append([]byte(nil), s.Bytes()...), []byte("xyz"), int64(DefaultSparseMaxBytes))
	f.Add(append([]byte(nil), s.Bytes()...), []byte("q"), int64(0))
	s.ToDense()
	f.Add(append([]byte(nil), s.Bytes()...), []byte("b"), int64(DefaultSparseMaxBytes))
	f.Add([]byte(hdr+"\x7f\xfe"), []byte("a"), int64(DefaultSparseMaxBytes))
	f.Add([]byte(hdr+"\x7f"), []byte("zz"), int64(DefaultSparseMaxBytes))
	f.Add([]byte(hdr+"\x7f\xff\x9f"), []byte("a"), int64(10))
	f.Add([]byte(hdr+"\x00\x40\x00\x9f\x7f\xfb"), []byte("a"), int64(30))
	f.Fuzz(func(t *testing.T, v, elem []byte, sparseMax int64) {
		if !Valid(v) {
			return
		}
		n, errCount := Count(v)
		var m Max
		errMerge := m.Merge(v)
		if (errCount == nil) != (errMerge == nil) {
			t.Fatalf("Count error %v, Merge error %v", errCount, errMerge)
		}
		if errCount == nil && m.Estimate() != n {
			t.Fatalf("Count %d, estimate of the registers %d", n, m.Estimate())
		}
		Decode(nil, v)
		var s Sketch
		s.Load(v)
		k := 0
		for i := 0; i <= len(elem); i += 3 {
			k++
			Changes(s.Bytes(), elem[:i])
			changed, err := s.Add(elem[:i], sparseMax)
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatal(err)
			}
			if err == nil && changed {
				if c, _ := s.Add(elem[:i], sparseMax); c {
					t.Fatalf("adding %q twice changed the string twice", elem[:i])
				}
			}
			if !Valid(s.Bytes()) {
				t.Fatalf("invalid after adding %q: %q", elem[:i], s.Bytes())
			}
			if l := len(s.Bytes()); l > max(len(v)+3*k, DenseSize) {
				t.Fatalf("%d bytes from %d after %d elements", l, len(v), k)
			}
		}
		if errMerge != nil {
			return
		}
		// As PFMERGE does with a destination that merged cleanly.
		s.Raise(&m, sparseMax)
		if err := s.ToDense(); err == nil && len(s.Bytes()) != DenseSize {
			t.Fatalf("dense of %d bytes", len(s.Bytes()))
		}
	})
}
