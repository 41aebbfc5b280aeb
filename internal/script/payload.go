package script

import (
	"encoding/binary"
	"hash/crc32"
)

// The FUNCTION DUMP payload, which is also the file the server keeps its
// libraries in (Redis's payload is RDB-specific, so ours is not Redis's):
//
//	"DCFN"             magic
//	version            1 byte, 1
//	count              uvarint, the number of libraries
//	count × (len uvarint, code [len]byte)
//	crc                4 bytes, little-endian CRC-32C of everything before
//
// A library is kept as its code: loading runs it again.

const (
	payloadMagic   = "DCFN"
	payloadVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeLibs returns the payload of libs.
func EncodeLibs(libs []*Library) []byte {
	b := append([]byte(payloadMagic), payloadVersion)
	b = binary.AppendUvarint(b, uint64(len(libs)))
	for _, l := range libs {
		b = binary.AppendUvarint(b, uint64(len(l.Code)))
		b = append(b, l.Code...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// DecodeLibs returns the library codes of a payload, or ErrBadPayload.
func DecodeLibs(b []byte) ([]string, error) {
	if len(b) < len(payloadMagic)+1+1+4 || string(b[:4]) != payloadMagic || b[4] != payloadVersion {
		return nil, ErrBadPayload
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, ErrBadPayload
	}
	p := body[5:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)) {
		return nil, ErrBadPayload
	}
	p = p[k:]
	codes := make([]string, 0, n)
	for range n {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > uint64(len(p)-k) {
			return nil, ErrBadPayload
		}
		codes = append(codes, string(p[k:k+int(l)]))
		p = p[k+int(l):]
	}
	if len(p) != 0 {
		return nil, ErrBadPayload
	}
	return codes, nil
}
