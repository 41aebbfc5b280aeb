// Package slot maps keys to Redis Cluster hash slots.
//
// # Algorithm
//
// The key space is divided into Count (16384) slots. A key belongs to slot
//
//	CRC16(k) mod 16384
//
// where CRC16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0, no input
// or output reflection, no final xor) and k is the key's hash tag if it has
// one, or else the whole key. This is the function of the Redis Cluster
// specification and of Redis's keyHashSlot, so a key lands in the same slot
// here as in Redis and in every cluster-aware Redis client.
//
// # Hash tags
//
// A hash tag lets related keys share a slot. If the key contains a '{', and a
// '}' somewhere after that first '{', and at least one byte lies between the
// two, then only the bytes between them are hashed:
//
//	"{user1000}.following"  hashes "user1000"
//	"foo{{bar}}zap"         hashes "{bar"
//	"foo{bar}{zap}"         hashes "bar"
//	"foo{}{bar}"            hashes the whole key: the first tag is empty
//	"foo{bar"               hashes the whole key: no '}' follows the '{'
//
// Only the first '{' counts, and only the first '}' after it.
//
// Of and CRC16 do not allocate and are safe for concurrent use.
package slot

import "bytes"

// Count is the number of hash slots of a Redis Cluster. Slots are numbered 0
// to Count-1.
const Count = 16384

// tables[0][b] is the CRC-16/XMODEM register after feeding byte b into a
// zero register; tables[k][b] is that register after k further zero bytes.
// CRC16 uses all eight to consume eight bytes per step ("slicing by eight").
var tables = func() (t [8][256]uint16) {
	for i := range t[0] {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[0][i] = crc
	}
	for k := 1; k < len(t); k++ {
		for i := range t[k] {
			prev := t[k-1][i]
			t[k][i] = prev<<8 ^ t[0][prev>>8]
		}
	}
	return t
}()

// CRC16 returns the CRC-16/XMODEM checksum of b: polynomial 0x1021, initial
// value 0, bits fed most significant first, no final xor. CRC16 of the nine
// bytes "123456789" is 0x31C3. It does not allocate.
func CRC16(b []byte) uint16 {
	var crc uint16
	t := &tables
	for len(b) >= 8 {
		crc = t[7][b[0]^byte(crc>>8)] ^ t[6][b[1]^byte(crc)] ^
			t[5][b[2]] ^ t[4][b[3]] ^ t[3][b[4]] ^ t[2][b[5]] ^
			t[1][b[6]] ^ t[0][b[7]]
		b = b[8:]
	}
	for _, c := range b {
		crc = crc<<8 ^ t[0][byte(crc>>8)^c]
	}
	return crc
}

// Of returns the hash slot of key, in 0..Count-1, applying the hash-tag rule
// of the package documentation. It does not allocate.
func Of(key []byte) uint16 {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		rest := key[i+1:]
		if j := bytes.IndexByte(rest, '}'); j > 0 {
			key = rest[:j]
		}
	}
	return CRC16(key) & (Count - 1)
}

// OfPattern returns the slot of every key that the glob-style pattern
// matches, as Redis's patternHashSlot finds it, and false when those keys
// may be in different slots. The keys share a slot when the pattern has a
// non-empty hash tag before any wildcard ('*', '?', '[') or escape ('\'),
// or when it has no wildcard at all and so matches one key. A first tag
// that is empty ("{}") makes the whole key hashed, as in Of.
func OfPattern(pattern []byte) (uint16, bool) {
	open := -1 // index of the first '{'; -2 after an empty tag
	for i, c := range pattern {
		switch {
		case c == '*' || c == '?' || c == '[' || c == '\\':
			return 0, false
		case open == -1 && c == '{':
			open = i
		case open >= 0 && c == '}' && i == open+1:
			open = -2
		case open >= 0 && c == '}':
			return CRC16(pattern[open+1:i]) & (Count - 1), true
		}
	}
	return CRC16(pattern) & (Count - 1), true
}
