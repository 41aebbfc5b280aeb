package peer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// The wire format; see the package documentation.
const (
	magic         = "dcpeer"
	version       = 2
	statusOK      = 0
	statusRefused = 1
	frameHeader   = 9 // length, kind, group
)

// hello is what the dialer sends first.
type hello struct {
	cluster, from, to, meta string
}

// appendHello appends the encoding of h to b. Every string must be at most
// MaxIDLen bytes long.
func appendHello(b []byte, h hello) []byte {
	b = append(b, magic...)
	b = append(b, version)
	for _, s := range []string{h.cluster, h.from, h.to, h.meta} {
		b = appendString(b, s)
	}
	return b
}

// readHello reads a hello from r.
func readHello(r *bufio.Reader) (hello, error) {
	var h hello
	if err := readPreamble(r); err != nil {
		return h, err
	}
	for _, s := range []*string{&h.cluster, &h.from, &h.to, &h.meta} {
		var err error
		if *s, err = readString(r); err != nil {
			return h, err
		}
	}
	return h, nil
}

// appendReply appends the acceptor's answer to b: its meta when ok, else
// the reason for the refusal, cut to MaxIDLen bytes.
func appendReply(b []byte, ok bool, text string) []byte {
	b = append(b, magic...)
	b = append(b, version)
	if ok {
		b = append(b, statusOK)
	} else {
		b = append(b, statusRefused)
	}
	return appendString(b, text)
}

// readReply reads the acceptor's answer from r: its meta, or an error
// wrapping ErrRefused with its reason.
func readReply(r *bufio.Reader) (string, error) {
	if err := readPreamble(r); err != nil {
		return "", err
	}
	status, err := r.ReadByte()
	if err != nil {
		return "", err
	}
	text, err := readString(r)
	if err != nil {
		return "", err
	}
	switch status {
	case statusOK:
		return text, nil
	case statusRefused:
		return "", fmt.Errorf("%w: %s", ErrRefused, text)
	}
	return "", fmt.Errorf("%w: reply status %d", ErrBadMagic, status)
}

// readPreamble reads and checks the magic and the version.
func readPreamble(r *bufio.Reader) error {
	var p [len(magic) + 1]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return err
	}
	if string(p[:len(magic)]) != magic {
		return ErrBadMagic
	}
	if v := p[len(magic)]; v != version {
		return fmt.Errorf("%w: got %d, want %d", ErrVersion, v, version)
	}
	return nil
}

// appendString appends s with its 1-byte length, cut to MaxIDLen bytes.
func appendString(b []byte, s string) []byte {
	s = s[:min(len(s), MaxIDLen)]
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// readString reads a string written by appendString.
func readString(r *bufio.Reader) (string, error) {
	n, err := r.ReadByte()
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// writeFrame writes f to w, which buffers it. w's buffer must hold at least
// a frame header.
func writeFrame(w *bufio.Writer, f Frame) error {
	if w.Available() < frameHeader {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	h := binary.BigEndian.AppendUint32(w.AvailableBuffer(), uint32(5+f.size()))
	h = append(h, f.Kind)
	h = binary.BigEndian.AppendUint32(h, f.Group)
	if _, err := w.Write(h); err != nil {
		return err
	}
	if _, err := w.Write(f.Data); err != nil {
		return err
	}
	_, err := w.Write(f.Tail)
	return err
}

// readFrame reads one frame from r, whose buffer must hold at least a frame
// header. Its payload is newly allocated, and refused with ErrFrameTooLarge
// before anything is allocated when it is longer than maxData.
func readFrame(r *bufio.Reader, maxData int) (Frame, error) {
	h, err := r.Peek(frameHeader)
	if err != nil {
		if len(h) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(h[0:4])
	if n < 5 {
		return Frame{}, fmt.Errorf("%w: length %d", ErrBadFrame, n)
	}
	if uint64(n-5) > uint64(maxData) {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n-5, maxData)
	}
	f := Frame{Kind: h[4], Group: binary.BigEndian.Uint32(h[5:9]), Data: make([]byte, n-5)}
	r.Discard(frameHeader)
	if _, err := io.ReadFull(r, f.Data); err != nil {
		return Frame{}, err
	}
	return f, nil
}
