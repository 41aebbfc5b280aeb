package resp

import (
	"errors"
	"slices"
	"testing"
)

// fuzzLimits are small so that short inputs reach every limit.
var fuzzLimits = Limits{MaxBulkLen: 64, MaxMultibulkLen: 8, MaxInlineLen: 32}

func FuzzReadCommand(f *testing.F) {
	for _, seed := range []string{
		"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
		"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n",
		"SET \"a\\x41\\n\" 'b\\'c' d\r\n",
		"*1\r\n$4\r\nPI",
		"*-1\r\n",
		"*1\r\nx\r\n",
		"ECHO \"a\"b\r\n",
		"*11\r\n",
		"*1\r\n$16385\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		unauth := DefaultLimits()
		unauth.Unauthenticated = true
		for _, lim := range []Limits{DefaultLimits(), fuzzLimits, unauth} {
			checkReadCommand(t, data, lim)
		}
	})
}

// checkReadCommand checks what ReadCommand and Need make of data.
func checkReadCommand(t *testing.T, data []byte, lim Limits) {
	b := slices.Clone(data)
	need := Need(b, lim)
	if !slices.Equal(b, data) {
		t.Fatalf("Need(%q) rewrote b", data)
	}
	args, n, err := ReadCommand(b, nil, lim)
	if n < 0 || n > len(b) {
		t.Fatalf("ReadCommand(%q) n: got %d, want within [0, %d]", data, n, len(b))
	}
	if err != nil {
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("ReadCommand(%q) error type: got %T, want *ProtocolError", data, err)
		}
		if n != 0 || len(args) != 0 || need != 0 {
			t.Fatalf("ReadCommand(%q) = %q, n %d, err %v; Need %d: want no args, n 0, Need 0", data, strs(args), n, err, need)
		}
		return
	}
	if n == 0 {
		if len(args) != 0 || need <= len(b) {
			t.Fatalf("ReadCommand(%q) = %q, n 0; Need %d: want no args and Need beyond %d", data, strs(args), need, len(b))
		}
		if !slices.Equal(b, data) {
			t.Fatalf("ReadCommand(%q) rewrote b without consuming it", data)
		}
		return
	}
	if need != 0 {
		t.Fatalf("Need(%q): got %d, want 0 for a whole request", data, need)
	}
	// The request alone parses the same, and without its last byte it is
	// not whole.
	again, n2, err := ReadCommand(slices.Clone(data[:n]), nil, lim)
	if err != nil || n2 != n || !slices.EqualFunc(again, args, slices.Equal) {
		t.Fatalf("ReadCommand(%q) = %q, %d, %v; want %q, %d, nil", data[:n], strs(again), n2, err, strs(args), n)
	}
	if _, n3, err := ReadCommand(slices.Clone(data[:n-1]), nil, lim); n3 != 0 || err != nil {
		t.Fatalf("ReadCommand(%q) = n %d, err %v; want 0, nil", data[:n-1], n3, err)
	}
	if data[0] != '*' {
		return
	}
	// A multibulk re-encoded as a multibulk parses to the same arguments.
	var w Writer
	w.AppendArray(len(args))
	for _, a := range args {
		w.AppendBulk(a)
	}
	again, n4, err := ReadCommand(w.Bytes(), nil, lim)
	if len(args) == 0 {
		// An empty request re-encodes as "*0\r\n".
		if err != nil || n4 != w.Len() || len(again) != 0 {
			t.Fatalf("ReadCommand(%q) = %q, %d, %v; want none, %d, nil", w.Bytes(), strs(again), n4, err, w.Len())
		}
		return
	}
	if err != nil || n4 != w.Len() || !slices.EqualFunc(again, args, slices.Equal) {
		t.Fatalf("ReadCommand(%q) = %q, %d, %v; want %q, %d, nil", w.Bytes(), strs(again), n4, err, strs(args), w.Len())
	}
}
