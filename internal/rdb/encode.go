package rdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/object"
)

// Encode appends the DUMP payload of v to dst: its type, the value, Version
// and the CRC, as Redis 7.0 writes them (see the package documentation).
// It fails with ErrUnsupported for a type it has no encoding for.
func Encode(dst []byte, v Value) ([]byte, error) {
	start := len(dst)
	dst, err := AppendValue(dst, v)
	if err != nil {
		return dst[:start], err
	}
	return AppendFooter(dst, start, Version), nil
}

// AppendFooter appends to dst the footer of the payload that starts at
// dst[start:]: version and the CRC of the payload and version.
func AppendFooter(dst []byte, start int, version uint16) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, version)
	return binary.LittleEndian.AppendUint64(dst, CRC64(0, dst[start:]))
}

// AppendValue appends v's type byte and value, without a footer. It fails
// with ErrUnsupported for a type it has no encoding for.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	switch o := v.Object.(type) {
	case nil:
		return appendString(append(dst, TypeString), v.String), nil
	case *object.Hash:
		return appendHash(dst, o), nil
	case *object.Set:
		return appendSet(dst, o), nil
	case *object.ZSet:
		return appendZSet(dst, o), nil
	case *object.List:
		return appendList(dst, o), nil
	case *object.Stream:
		return appendStream(dst, o, TypeStream2), nil
	}
	return dst, fmt.Errorf("%w: %s", ErrUnsupported, v.Kind())
}

// appendLength appends n as an RDB length.
func appendLength(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, len14<<6|byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, len32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, len64), n)
}

// appendString appends s, as an integer when it is a canonical one of up
// to 32 bits (as Redis's rdbTryIntegerEncoding does), else as raw bytes.
func appendString(dst, s []byte) []byte {
	if len(s) <= 11 {
		if v, ok := parseInt(s); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(dst, lenEnc<<6|encInt8, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				return binary.LittleEndian.AppendUint16(append(dst, lenEnc<<6|encInt16), uint16(v))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				return binary.LittleEndian.AppendUint32(append(dst, lenEnc<<6|encInt32), uint32(v))
			}
		}
	}
	return append(appendLength(dst, uint64(len(s))), s...)
}

func appendHash(dst []byte, h *object.Hash) []byte {
	if h.Encoding() == object.EncListpack {
		lp := newListpack()
		h.Range(func(f, v []byte) bool {
			lp.add(f)
			lp.add(v)
			return true
		})
		return appendString(append(dst, TypeHashListpack), lp.finish())
	}
	dst = appendLength(append(dst, TypeHash), uint64(h.Len()))
	h.Range(func(f, v []byte) bool {
		dst = appendString(appendString(dst, f), v)
		return true
	})
	return dst
}

// appendSet writes an intset as Redis does, and any other set as SET:
// Redis 7.0 has no listpack sets and would hold one in a table.
func appendSet(dst []byte, s *object.Set) []byte {
	if s.Encoding() == object.EncIntset {
		nums := make([]int64, 0, s.Len())
		width := 2
		s.Range(func(m []byte) bool {
			v, _ := parseInt(m)
			nums = append(nums, v)
			switch {
			case v < math.MinInt32 || v > math.MaxInt32:
				width = 8
			case (v < math.MinInt16 || v > math.MaxInt16) && width < 4:
				width = 4
			}
			return true
		})
		is := make([]byte, 8, 8+width*len(nums))
		binary.LittleEndian.PutUint32(is, uint32(width))
		binary.LittleEndian.PutUint32(is[4:], uint32(len(nums)))
		for _, v := range nums {
			for i := range width {
				is = append(is, byte(v>>(8*i)))
			}
		}
		return appendString(append(dst, TypeSetIntset), is)
	}
	dst = appendLength(append(dst, TypeSet), uint64(s.Len()))
	s.Range(func(m []byte) bool {
		dst = appendString(dst, m)
		return true
	})
	return dst
}

// appendZSet writes a listpack of members and scores as text, or ZSET_2
// from the highest score down, as Redis 7.0 does.
func appendZSet(dst []byte, z *object.ZSet) []byte {
	if z.Encoding() == object.EncListpack {
		lp := newListpack()
		var buf []byte
		z.Range(func(m []byte, score float64) bool {
			lp.add(m)
			buf = appendScore(buf[:0], score)
			lp.add(buf)
			return true
		})
		return appendString(append(dst, TypeZSetListpack), lp.finish())
	}
	dst = appendLength(append(dst, TypeZSet2), uint64(z.Len()))
	z.Descend(z.Len()-1, func(m []byte, score float64) bool {
		dst = appendString(dst, m)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(score))
		return true
	})
	return dst
}

// appendScore appends score as Redis 7.0's d2string writes it into a
// listpack: an integer in decimal when it is one below 2^52 in magnitude,
// else %.17g.
func appendScore(dst []byte, score float64) []byte {
	switch {
	case math.IsInf(score, 1):
		return append(dst, "inf"...)
	case math.IsInf(score, -1):
		return append(dst, "-inf"...)
	case score == 0 && math.Signbit(score):
		return append(dst, "-0"...)
	case score > -(1<<52-1) && score < 1<<52 && score == math.Trunc(score):
		return strconv.AppendInt(dst, int64(score), 10)
	}
	return strconv.AppendFloat(dst, score, 'g', 17, 64)
}

// appendList writes a list as LIST_QUICKLIST_2 of packed nodes, each a
// listpack bounded as list-max-listpack-size bounds Redis's: a negative
// value n by bytes (4 KiB << (-n-1), at most 64 KiB), a positive one by
// elements (and 8 KiB). An element larger than the bound has a node of
// its own.
func appendList(dst []byte, l *object.List) []byte {
	fill := object.CurrentLimits().ListMaxListpackSize
	maxBytes, maxCount := 8192, math.MaxInt
	if fill < 0 {
		maxBytes = 4096 << (min(-fill, 5) - 1)
	} else {
		maxCount = int(max(fill, 1))
	}
	var nodes [][]byte
	lp := newListpack()
	l.Ascend(0, func(_ int, e []byte) bool {
		if lp.n > 0 && (lp.n >= maxCount || lp.size()+len(e)+11 > maxBytes) {
			nodes = append(nodes, lp.finish())
			lp = newListpack()
		}
		lp.add(e)
		return true
	})
	nodes = append(nodes, lp.finish())
	dst = appendLength(append(dst, TypeListQuicklist2), uint64(len(nodes)))
	for _, n := range nodes {
		dst = appendString(append(dst, 2), n) // 2: a packed node
	}
	return dst
}
