package rdb

// crcTable is the byte table of Redis's crc64: the Jones polynomial
// 0xad93d23594c935a9, reflected.
var crcTable = func() *[256]uint64 {
	const poly = 0x95ac9329ac4bc9b5 // 0xad93d23594c935a9 bit-reversed
	var t [256]uint64
	for i := range t {
		c := uint64(i)
		for range 8 {
			if c&1 == 1 {
				c = c>>1 ^ poly
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return &t
}()

// CRC64 returns Redis's crc64 of p continued from crc, which is 0 to start:
// reflected, with no final inversion, as Redis's crc64.c computes it.
func CRC64(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc = crcTable[byte(crc)^b] ^ crc>>8
	}
	return crc
}
