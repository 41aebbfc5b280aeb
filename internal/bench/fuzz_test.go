package bench

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readAll reads replies until the first error and returns what it saw.
func readAll(read func() (Reply, error)) (got []Reply, err error) {
	for range 1 << 16 {
		r, err := read()
		if err != nil {
			return got, err
		}
		r.Err = bytes.Clone(r.Err)
		got = append(got, r)
	}
	return got, nil
}

// checkSame checks two reads of one stream agree: one whole through a large
// buffer, one a byte at a time through the smallest buffer, where long lines
// are cut to their start.
func checkSame(t *testing.T, in []byte, newReader func(*bufio.Reader) func() (Reply, error)) {
	whole, errWhole := readAll(newReader(bufio.NewReaderSize(bytes.NewReader(in), 4096)))
	bytewise, errBytes := readAll(newReader(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(in)), 16)))
	if len(whole) != len(bytewise) {
		t.Fatalf("%q: %d replies whole, %d byte by byte", in, len(whole), len(bytewise))
	}
	for i := range whole {
		a, b := whole[i], bytewise[i]
		short := len(a.Code()) < 16
		if a.Type != b.Type || a.Null != b.Null || short && !bytes.Equal(a.Code(), b.Code()) {
			t.Fatalf("%q: reply %d: %+v whole, %+v byte by byte", in, i, a, b)
		}
	}
	if (errWhole == nil) != (errBytes == nil) || errors.Is(errWhole, ErrProtocol) != errors.Is(errBytes, ErrProtocol) {
		t.Fatalf("%q: error %v whole, %v byte by byte", in, errWhole, errBytes)
	}
	if errWhole != nil && errWhole != io.EOF && errWhole != io.ErrUnexpectedEOF && !errors.Is(errWhole, ErrProtocol) {
		t.Fatalf("%q: unexpected error %v", in, errWhole)
	}
}

func FuzzRESPReader(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-BUSY server is busy, try again later\r\n", ":12\r\n", "$3\r\nabc\r\n", "$-1\r\n",
		"*2\r\n$1\r\na\r\n*-1\r\n", "%1\r\n+a\r\n_\r\n", "!3\r\nERR\r\n", "*1\r\n", "$2\r\nab", ":1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSame(t, in, func(rd *bufio.Reader) func() (Reply, error) { return (&respReader{rd: rd}).read })
	})
}

func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"OK\n", "BUSY\r\n", "ERR key not found\n", "ERR x\nvalue\n", "\n", "abc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSame(t, in, func(rd *bufio.Reader) func() (Reply, error) { return newLineReader(rd).read })
	})
}
