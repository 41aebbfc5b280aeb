package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Versions of the RDB format.
const (
	// Version is the RDB version Encode writes: Redis 7.0's, which Redis
	// 7.0 and later restore.
	Version = 10
	// MaxVersion is the newest RDB version Decode accepts: Redis 7.2's.
	MaxVersion = 11
)

// Errors of decoding. RESTORE answers ErrChecksum with Redis's "DUMP
// payload version or checksum are wrong" and the others with "Bad data
// format".
var (
	// ErrChecksum is a payload shorter than its footer, of a version
	// newer than MaxVersion, or whose CRC does not match.
	ErrChecksum = errors.New("rdb: payload version or checksum are wrong")
	// ErrFormat is a payload or file that does not decode.
	ErrFormat = errors.New("rdb: bad data format")
	// ErrUnsupported is a value of a type this server does not hold
	// (module types).
	ErrUnsupported = errors.New("rdb: unsupported value type")
)

// Value types, as Redis's rdb.h numbers them.
const (
	TypeString         = 0
	TypeList           = 1
	TypeSet            = 2
	TypeZSet           = 3
	TypeHash           = 4
	TypeZSet2          = 5
	TypeModulePreGA    = 6
	TypeModule2        = 7
	TypeHashZipmap     = 9
	TypeListZiplist    = 10
	TypeSetIntset      = 11
	TypeZSetZiplist    = 12
	TypeHashZiplist    = 13
	TypeListQuicklist  = 14
	TypeStreamListpack = 15
	TypeHashListpack   = 16
	TypeZSetListpack   = 17
	TypeListQuicklist2 = 18
	TypeStream2        = 19
	TypeSetListpack    = 20
	TypeStream3        = 21
)

// Value is one decoded value: a string, or a collection.
type Value struct {
	String []byte         // a string's bytes, when Object is nil
	Object storage.Object // a hash, set, sorted set, list or stream
}

// Kind returns the value's type.
func (v Value) Kind() storage.Kind {
	if v.Object == nil {
		return storage.KindString
	}
	return v.Object.Kind()
}

// Decode checks the footer of a DUMP payload (its version and CRC) and
// decodes the value it holds. A String returned shares payload's bytes.
func Decode(payload []byte) (Value, error) {
	if len(payload) < 10 {
		return Value{}, ErrChecksum
	}
	body := payload[:len(payload)-10]
	footer := payload[len(payload)-10:]
	if binary.LittleEndian.Uint16(footer) > MaxVersion ||
		binary.LittleEndian.Uint64(footer[2:]) != CRC64(0, payload[:len(payload)-8]) {
		return Value{}, ErrChecksum
	}
	if len(body) == 0 {
		return Value{}, fmt.Errorf("%w: no type", ErrFormat)
	}
	s := &sliceSource{b: body[1:]}
	v, err := decodeValue(s, body[0])
	if err != nil {
		return Value{}, err
	}
	if len(s.b) != 0 {
		return Value{}, fmt.Errorf("%w: %d bytes after the value", ErrFormat, len(s.b))
	}
	return v, nil
}

// source is where a value is decoded from.
type source interface {
	// read returns the next n bytes, or an error if fewer remain. The
	// slice is not changed by later reads.
	read(n int) ([]byte, error)
	// left returns at least the number of bytes that remain.
	left() int
}

// sliceSource reads a byte slice.
type sliceSource struct{ b []byte }

func (s *sliceSource) read(n int) ([]byte, error) {
	if n < 0 || n > len(s.b) {
		return nil, fmt.Errorf("%w: %d bytes wanted, %d left", ErrFormat, n, len(s.b))
	}
	b := s.b[:n:n]
	s.b = s.b[n:]
	return b, nil
}

func (s *sliceSource) left() int { return len(s.b) }

// readByte reads one byte of s.
func readByte(s source) (byte, error) {
	b, err := s.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// Length encodings: the two high bits of the first byte.
const (
	len6     = 0
	len14    = 1
	lenLong  = 2
	lenEnc   = 3
	len32    = 0x80
	len64    = 0x81
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// readLength reads a length, or, with encoded set, the kind of encoding of
// the string that follows.
func readLength(s source) (n uint64, encoded bool, err error) {
	c, err := readByte(s)
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case len6:
		return uint64(c & 0x3f), false, nil
	case len14:
		d, err := readByte(s)
		return uint64(c&0x3f)<<8 | uint64(d), false, err
	case lenEnc:
		return uint64(c & 0x3f), true, nil
	}
	switch c {
	case len32:
		b, err := s.read(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case len64:
		b, err := s.read(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, fmt.Errorf("%w: bad length byte %#x", ErrFormat, c)
}

// readCount reads a length that counts what follows, each at least min
// bytes long, so that it can be no more than the bytes left allow.
func readCount(s source, min int) (int, error) {
	n, enc, err := readLength(s)
	if err != nil {
		return 0, err
	}
	if enc || n > uint64(s.left()/min) {
		return 0, fmt.Errorf("%w: count %d past the end", ErrFormat, n)
	}
	return int(n), nil
}

// readString reads a string in any of its encodings.
func readString(s source) ([]byte, error) {
	n, enc, err := readLength(s)
	if err != nil {
		return nil, err
	}
	if !enc {
		if n > uint64(s.left()) {
			return nil, fmt.Errorf("%w: string of %d bytes past the end", ErrFormat, n)
		}
		return s.read(int(n))
	}
	switch n {
	case encInt8, encInt16, encInt32:
		b, err := s.read(1 << n)
		if err != nil {
			return nil, err
		}
		v := int64(int8(b[0]))
		if n > encInt8 {
			v = leInt(b)
		}
		return strconv.AppendInt(nil, v, 10), nil
	case encLZF:
		clen, enc1, err := readLength(s)
		if err != nil {
			return nil, err
		}
		ulen, enc2, err := readLength(s)
		if err != nil {
			return nil, err
		}
		if enc1 || enc2 || clen > uint64(s.left()) || ulen > clen*lzfMaxRatio+lzfMaxRatio {
			return nil, fmt.Errorf("%w: LZF string past the end", ErrFormat)
		}
		c, err := s.read(int(clen))
		if err != nil {
			return nil, err
		}
		return lzfDecompress(c, int(ulen))
	}
	return nil, fmt.Errorf("%w: bad string encoding %d", ErrFormat, n)
}

// readTextScore reads a score of the old ZSET type: a length byte (253
// NaN, 254 +inf, 255 -inf) and that many bytes of text.
func readTextScore(s source) (float64, error) {
	n, err := readByte(s)
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := s.read(int(n))
	if err != nil {
		return 0, err
	}
	return parseScore(b)
}

// parseScore parses a score written as text, as strtod reads it.
func parseScore(b []byte) (float64, error) {
	switch string(b) {
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%w: score %q", ErrFormat, b)
	}
	return f, nil
}

// entryScore returns the score a ziplist or listpack element holds.
func entryScore(e entry) (float64, error) {
	if e.isInt {
		return float64(e.num), nil
	}
	return parseScore(e.str)
}

// hint caps a count read from input before it sizes an allocation.
func hint(s source, n int) int { return min(n, s.left(), 1<<16) }

// decodeValue decodes a value of type t from s.
func decodeValue(s source, t byte) (Value, error) {
	var obj storage.Object
	var err error
	switch t {
	case TypeString:
		b, err := readString(s)
		return Value{String: b}, err
	case TypeList, TypeListZiplist, TypeListQuicklist, TypeListQuicklist2:
		obj, err = decodeList(s, t)
	case TypeSet, TypeSetIntset, TypeSetListpack:
		obj, err = decodeSet(s, t)
	case TypeZSet, TypeZSet2, TypeZSetZiplist, TypeZSetListpack:
		obj, err = decodeZSet(s, t)
	case TypeHash, TypeHashZipmap, TypeHashZiplist, TypeHashListpack:
		obj, err = decodeHash(s, t)
	case TypeModulePreGA, TypeModule2:
		return Value{}, fmt.Errorf("%w: a module's type", ErrUnsupported)
	case TypeStreamListpack, TypeStream2, TypeStream3:
		// A stream may be empty: Redis keeps one with no entry.
		st, err := decodeStream(s, t)
		if err != nil {
			return Value{}, err
		}
		return Value{Object: st}, nil
	default:
		return Value{}, fmt.Errorf("%w: unknown type %d", ErrFormat, t)
	}
	if err != nil {
		return Value{}, err
	}
	if obj.Len() == 0 {
		return Value{}, fmt.Errorf("%w: an empty collection", ErrFormat)
	}
	return Value{Object: obj}, nil
}

// errDuplicate is a collection that names a member or field twice.
var errDuplicate = fmt.Errorf("%w: a repeated member", ErrFormat)

func decodeList(s source, t byte) (storage.Object, error) {
	l := object.NewList()
	var scratch []byte
	push := func(e entry) error {
		l.Push(false, e.bytes(&scratch))
		return nil
	}
	switch t {
	case TypeList:
		n, err := readCount(s, 1)
		if err != nil {
			return nil, err
		}
		for range n {
			e, err := readString(s)
			if err != nil {
				return nil, err
			}
			l.Push(false, e)
		}
	case TypeListZiplist:
		b, err := readString(s)
		if err != nil {
			return nil, err
		}
		return l, ziplistEach(b, push)
	case TypeListQuicklist, TypeListQuicklist2:
		n, err := readCount(s, 1)
		if err != nil {
			return nil, err
		}
		for range n {
			container := uint64(2) // packed
			if t == TypeListQuicklist2 {
				if container, _, err = readLength(s); err != nil {
					return nil, err
				}
			}
			b, err := readString(s)
			switch {
			case err != nil:
				return nil, err
			case t == TypeListQuicklist:
				err = ziplistEach(b, push)
			case container == 1: // a plain node: one element
				l.Push(false, b)
			case container == 2:
				err = listpackEach(b, push)
			default:
				err = fmt.Errorf("%w: quicklist container %d", ErrFormat, container)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

func decodeSet(s source, t byte) (storage.Object, error) {
	if t == TypeSet {
		n, err := readCount(s, 1)
		if err != nil {
			return nil, err
		}
		// Built member by member from an intset, as recovery from the
		// log rebuilds it, so that its order survives a restart.
		set := object.NewSet()
		for range n {
			m, err := readString(s)
			if err != nil {
				return nil, err
			}
			if !set.Add(m) {
				return nil, errDuplicate
			}
		}
		return set, nil
	}
	b, err := readString(s)
	if err != nil {
		return nil, err
	}
	set := object.NewSet()
	var scratch []byte
	add := func(e entry) error {
		if !set.Add(e.bytes(&scratch)) {
			return errDuplicate
		}
		return nil
	}
	if t == TypeSetIntset {
		err = intsetEach(b, add)
	} else {
		err = listpackEach(b, add)
	}
	return set, err
}

func decodeZSet(s source, t byte) (storage.Object, error) {
	set := func(z *object.ZSet, m []byte, score float64) error {
		if math.IsNaN(score) {
			return fmt.Errorf("%w: a NaN score", ErrFormat)
		}
		if !z.Set(m, score) {
			return errDuplicate
		}
		return nil
	}
	if t == TypeZSet || t == TypeZSet2 {
		n, err := readCount(s, 2)
		if err != nil {
			return nil, err
		}
		z := object.NewZSetFor(hint(s, n), 0)
		for range n {
			m, err := readString(s)
			if err != nil {
				return nil, err
			}
			var score float64
			if t == TypeZSet2 {
				b, err := s.read(8)
				if err != nil {
					return nil, err
				}
				score = math.Float64frombits(binary.LittleEndian.Uint64(b))
			} else if score, err = readTextScore(s); err != nil {
				return nil, err
			}
			if err := set(z, m, score); err != nil {
				return nil, err
			}
		}
		return z, nil
	}
	b, err := readString(s)
	if err != nil {
		return nil, err
	}
	z := object.NewZSet()
	var member, scratch []byte
	odd := false
	pair := func(e entry) error {
		odd = !odd
		if odd {
			member = e.bytes(&scratch)
			return nil
		}
		score, err := entryScore(e)
		if err != nil {
			return err
		}
		return set(z, member, score)
	}
	if t == TypeZSetZiplist {
		err = ziplistEach(b, pair)
	} else {
		err = listpackEach(b, pair)
	}
	if err == nil && odd {
		err = fmt.Errorf("%w: a member without its score", ErrFormat)
	}
	return z, err
}

func decodeHash(s source, t byte) (storage.Object, error) {
	if t == TypeHash {
		n, err := readCount(s, 2)
		if err != nil {
			return nil, err
		}
		h := object.NewHash()
		if int64(n) > object.CurrentLimits().HashMaxListpackEntries {
			h = object.NewHashEncoded(object.EncHashtable)
		}
		for range n {
			f, err := readString(s)
			if err != nil {
				return nil, err
			}
			v, err := readString(s)
			if err != nil {
				return nil, err
			}
			if !h.Set(f, v) {
				return nil, errDuplicate
			}
		}
		return h, nil
	}
	b, err := readString(s)
	if err != nil {
		return nil, err
	}
	h := object.NewHash()
	var field, fieldBuf, valBuf []byte
	odd := false
	pair := func(e entry) error {
		odd = !odd
		if odd {
			field = e.bytes(&fieldBuf)
			return nil
		}
		if !h.Set(field, e.bytes(&valBuf)) {
			return errDuplicate
		}
		return nil
	}
	switch t {
	case TypeHashZipmap:
		err = zipmapEach(b, pair)
	case TypeHashZiplist:
		err = ziplistEach(b, pair)
	default:
		err = listpackEach(b, pair)
	}
	if err == nil && odd {
		err = fmt.Errorf("%w: a field without its value", ErrFormat)
	}
	return h, err
}
