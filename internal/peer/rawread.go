package peer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"syscall"

	"github.com/data-cluster/data-cluster/internal/sockio"
)

// frameReader reads a connection without TLS through its file descriptor
// (syscall.RawConn) into a buffer of its own and hands every whole frame
// there to the Handler. A read that leaves room in the buffer found the
// socket empty: the next waits for the poller instead of making a read that
// would find nothing, which a bufio.Reader over the connection would make
// after each burst of frames. Used only by the connection's read goroutine.
type frameReader struct {
	t      *Transport
	p      *peer
	buf    []byte
	r, w   int   // the bytes not handed over yet are buf[r:w]
	err    error // what ended the read, from inside readFD
	readFD func(fd uintptr) bool
}

// readRaw is read for the connection rc, br holding what the handshake read
// past itself.
func (t *Transport) readRaw(rc syscall.RawConn, br *bufio.Reader, p *peer) error {
	fr := &frameReader{t: t, p: p, buf: make([]byte, max(readBufSize, br.Buffered()))}
	fr.readFD = fr.fill
	b, _ := br.Peek(br.Buffered())
	fr.w = copy(fr.buf, b)
	if err := fr.frames(); err != nil {
		return err
	}
	if err := rc.Read(fr.readFD); err != nil {
		return err
	}
	return fr.err
}

// fill is readRaw's function for syscall.RawConn.Read: it reports false to
// wait for the socket, true to end the read, with fr.err set.
func (fr *frameReader) fill(fd uintptr) bool {
	for {
		fr.room()
		room := len(fr.buf) - fr.w
		n, err := sockio.Read(fd, fr.buf[fr.w:])
		switch {
		case err == sockio.ErrWait:
			return false
		case err != nil:
			fr.err = err
			return true
		case n == 0:
			fr.err = io.EOF
			return true
		}
		fr.w += n
		if fr.err = fr.frames(); fr.err != nil {
			return true
		}
		if n < room {
			return false // the socket had no more: the poller tells when it has
		}
	}
}

// frames hands over every whole frame in the buffer. It refuses a frame
// whose length is out of bounds as soon as its header is in, as readFrame
// does.
func (fr *frameReader) frames() error {
	for fr.w-fr.r >= frameHeader {
		h := fr.buf[fr.r:]
		n := binary.BigEndian.Uint32(h[0:4])
		if n < 5 {
			return fmt.Errorf("%w: length %d", ErrBadFrame, n)
		}
		if uint64(n-5) > uint64(fr.t.cfg.MaxFrame) {
			return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n-5, fr.t.cfg.MaxFrame)
		}
		end := fr.r + 4 + int(n)
		if end > fr.w {
			break
		}
		// The Handler owns Data, so it gets a copy.
		f := Frame{Kind: h[4], Group: binary.BigEndian.Uint32(h[5:9]), Data: append([]byte(nil), fr.buf[fr.r+frameHeader:end]...)}
		fr.r = end
		fr.p.bytesRecv.Add(uint64(frameHeader + len(f.Data)))
		fr.p.framesRecv.Add(1)
		fr.t.h.Handle(fr.p.id, f)
	}
	return nil
}

// room makes room in the buffer for the rest of the frame under way: the
// bytes not handed over move to its start, into a larger buffer when the
// frame is larger than it, and back into one of readBufSize once a large
// frame is through.
func (fr *frameReader) room() {
	need := readBufSize
	if fr.w-fr.r >= frameHeader {
		need = max(need, 4+int(binary.BigEndian.Uint32(fr.buf[fr.r:])))
	}
	if len(fr.buf) < need || len(fr.buf) > readBufSize && need == readBufSize {
		b := make([]byte, need)
		fr.w = copy(b, fr.buf[fr.r:fr.w])
		fr.buf, fr.r = b, 0
	} else if fr.r > 0 {
		fr.w = copy(fr.buf, fr.buf[fr.r:fr.w])
		fr.r = 0
	}
}
