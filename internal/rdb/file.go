package rdb

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// MaxFileVersion is the newest RDB file version Reader reads: Redis 7.4's
// and 8's, whose files hold the types of Redis 7.2 unless hash fields have
// expiries (types Reader refuses).
const MaxFileVersion = 12

// File opcodes, as Redis's rdb.h numbers them.
const (
	opFunction2     = 0xf5
	opFunctionPreGA = 0xf6
	opModuleAux     = 0xf7
	opIdle          = 0xf8
	opFreq          = 0xf9
	opAux           = 0xfa
	opResizeDB      = 0xfb
	opExpireTimeMS  = 0xfc
	opExpireTime    = 0xfd
	opSelectDB      = 0xfe
	opEOF           = 0xff
)

// Entry is one key of an RDB file.
type Entry struct {
	DB       int    // the database the key is in
	Key      []byte // the key
	ExpireAt int64  // the key's expiry, a Unix time in milliseconds; 0 for none
	Idle     int64  // seconds since the key was used (LRU), or -1
	Freq     int    // the key's LFU counter, or -1
	Type     byte   // the value's type in the file
	Value    Value  // the value, decoded
	// Payload is the value as a DUMP payload, ready for RESTORE: the
	// bytes of the file, with the file's version (at most MaxVersion) and
	// a CRC after them.
	Payload []byte
}

// Reader reads the keys of an RDB file, as SAVE and redis-cli --rdb write
// it, one at a time, checking the file's checksum at its end. Auxiliary
// fields, database sizes and modules' auxiliary data are skipped; function
// libraries are skipped and counted; module types and types it does not
// know are refused with an error naming the key. A Reader is used
// by one goroutine at a time.
type Reader struct {
	src      *streamSource
	version  int
	db       int
	payload  []byte
	entry    Entry
	done     bool
	aux      map[string]string
	funcs    int
	expireAt int64
	idle     int64
	freq     int
}

// NewReader reads the header of the RDB file r of size bytes and returns a
// Reader of its keys.
func NewReader(r io.Reader, size int64) (*Reader, error) {
	s := &streamSource{r: bufio.NewReaderSize(r, 1<<16), size: size}
	h, err := s.read(9)
	if err != nil || string(h[:5]) != "REDIS" {
		return nil, fmt.Errorf("%w: not an RDB file (no REDIS header)", ErrFormat)
	}
	v, err := strconv.Atoi(string(h[5:]))
	if err != nil || v < 1 || v > MaxFileVersion {
		return nil, fmt.Errorf("%w: RDB version %q; versions 1 to %d are read", ErrFormat, h[5:], MaxFileVersion)
	}
	return &Reader{src: s, version: v, aux: map[string]string{}, idle: -1, freq: -1}, nil
}

// Version returns the file's RDB version.
func (r *Reader) Version() int { return r.version }

// Aux returns the auxiliary fields read so far (redis-ver, ctime …).
func (r *Reader) Aux() map[string]string { return r.aux }

// Functions returns the number of function libraries skipped so far.
func (r *Reader) Functions() int { return r.funcs }

// Next returns the next key. The Entry and its slices are valid until the
// next call. At the end of the file, once its checksum matched, it returns
// io.EOF.
func (r *Reader) Next() (*Entry, error) {
	if r.done {
		return nil, io.EOF
	}
	s := r.src
	for {
		s.rec = s.rec[:0]
		op, err := readByte(s)
		if err != nil {
			return nil, err
		}
		switch op {
		case opEOF:
			return nil, r.end()
		case opSelectDB:
			n, _, err := readLength(s)
			if err != nil {
				return nil, err
			}
			r.db = int(min(n, 1<<31))
		case opResizeDB:
			if _, _, err := readLength(s); err != nil {
				return nil, err
			}
			if _, _, err := readLength(s); err != nil {
				return nil, err
			}
		case opAux:
			k, err := readString(s)
			if err != nil {
				return nil, err
			}
			v, err := readString(s)
			if err != nil {
				return nil, err
			}
			r.aux[string(k)] = string(v)
		case opExpireTime:
			b, err := s.read(4)
			if err != nil {
				return nil, err
			}
			r.expireAt = int64(int32(binary.LittleEndian.Uint32(b))) * 1000
		case opExpireTimeMS:
			b, err := s.read(8)
			if err != nil {
				return nil, err
			}
			r.expireAt = int64(binary.LittleEndian.Uint64(b))
		case opIdle:
			n, _, err := readLength(s)
			if err != nil {
				return nil, err
			}
			r.idle = int64(min(n, 1<<62))
		case opFreq:
			b, err := readByte(s)
			if err != nil {
				return nil, err
			}
			r.freq = int(b)
		case opModuleAux:
			if err := skipModuleAux(s); err != nil {
				return nil, err
			}
		case opFunction2:
			if _, err := readString(s); err != nil {
				return nil, err
			}
			r.funcs++
		case opFunctionPreGA:
			return nil, fmt.Errorf("%w: functions saved by a Redis 7.0 release candidate", ErrUnsupported)
		default:
			return r.key(op)
		}
	}
}

// key reads a key and its value of type t.
func (r *Reader) key(t byte) (*Entry, error) {
	s := r.src
	key, err := readString(s)
	if err != nil {
		return nil, err
	}
	start := len(s.rec)
	v, err := decodeValue(s, t)
	if err != nil {
		return nil, fmt.Errorf("key %q of database %d: %w", key, r.db, err)
	}
	r.payload = append(append(r.payload[:0], t), s.rec[start:]...)
	r.payload = AppendFooter(r.payload, 0, uint16(min(r.version, MaxVersion)))
	r.entry = Entry{DB: r.db, Key: key, ExpireAt: r.expireAt, Idle: r.idle, Freq: r.freq, Type: t, Value: v, Payload: r.payload}
	r.expireAt, r.idle, r.freq = 0, -1, -1
	return &r.entry, nil
}

// end reads the checksum after the end opcode: the CRC64 of the whole file
// before it, or 0 when it was saved without one (and before version 5 it
// is absent).
func (r *Reader) end() error {
	r.done = true
	if r.version < 5 {
		return io.EOF
	}
	want := r.src.crc
	b, err := r.src.read(8)
	if err != nil {
		return err
	}
	if got := binary.LittleEndian.Uint64(b); got != 0 && got != want {
		return fmt.Errorf("%w: the file's checksum %#x does not match its data's %#x", ErrChecksum, got, want)
	}
	return io.EOF
}

// Module serialization opcodes.
const (
	moduleEOF    = 0
	moduleSInt   = 1
	moduleUInt   = 2
	moduleFloat  = 3
	moduleDouble = 4
	moduleString = 5
)

// skipModuleAux skips a module's auxiliary data: its module id, when, and
// the values it wrote, each behind its opcode, up to the end opcode.
func skipModuleAux(s source) error {
	for range 3 { // module id, when opcode, when
		if _, _, err := readLength(s); err != nil {
			return err
		}
	}
	for {
		op, _, err := readLength(s)
		if err != nil {
			return err
		}
		switch op {
		case moduleEOF:
			return nil
		case moduleSInt, moduleUInt:
			_, _, err = readLength(s)
		case moduleFloat:
			_, err = s.read(4)
		case moduleDouble:
			_, err = s.read(8)
		case moduleString:
			_, err = readString(s)
		default:
			err = fmt.Errorf("%w: module opcode %d", ErrFormat, op)
		}
		if err != nil {
			return err
		}
	}
}

// streamSource reads a file, keeping the bytes read since rec was last
// cut, and the CRC of every byte read.
type streamSource struct {
	r    *bufio.Reader
	rec  []byte
	crc  uint64
	off  int64
	size int64
}

func (s *streamSource) read(n int) ([]byte, error) {
	if n < 0 || int64(n) > s.size-s.off {
		return nil, fmt.Errorf("%w: %d bytes wanted at offset %d, past the end of the file", ErrFormat, n, s.off)
	}
	start := len(s.rec)
	// Read in parts, so that a length the file does not hold is found out
	// before it is all allocated.
	for left := n; left > 0; {
		part := min(left, 1<<20)
		s.rec = slices.Grow(s.rec, part)
		end := len(s.rec) + part
		if _, err := io.ReadFull(s.r, s.rec[len(s.rec):end]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: the file ends at offset %d, inside a value", ErrFormat, s.off)
			}
			return nil, err
		}
		s.rec = s.rec[:end]
		left -= part
	}
	b := s.rec[start:len(s.rec):len(s.rec)]
	s.crc = CRC64(s.crc, b)
	s.off += int64(n)
	return b, nil
}

func (s *streamSource) left() int { return int(min(s.size-s.off, 1<<62)) }
