// Package rdb reads and writes values in Redis's RDB serialization: the
// DUMP payload of one value, and the keys of an RDB file such as
// redis-cli --rdb writes.
//
// # DUMP payload
//
//	type byte | value | RDB version (2 bytes, little-endian) | CRC64 (8 bytes, little-endian)
//
// The CRC is Redis's crc64 (Jones polynomial, reflected, initial value 0)
// of every byte before it. Decode accepts any version up to MaxVersion
// (11, Redis 7.2's), as Redis 7.2 does; Encode writes Version (10, Redis
// 7.0's), so that Redis 7.0, which refuses payloads of a newer version,
// restores what data-cluster dumps.
//
// # Values
//
// Lengths are Redis's: the two high bits of the first byte say whether it
// holds 6 bits, a second byte follows (14 bits), 32 or 64 bits follow big
// endian (0x80, 0x81), or the string that follows is encoded (0xC0 an
// 8-bit integer, 0xC1 16 bits, 0xC2 32 bits, little-endian; 0xC3 LZF:
// compressed length, original length, compressed bytes).
//
// Decode reads every encoding Redis 7.2 reads for strings, hashes, sets,
// sorted sets, lists and streams: STRING; LIST, LIST_ZIPLIST,
// LIST_QUICKLIST (nodes of ziplists) and LIST_QUICKLIST_2 (plain and
// packed nodes); SET, SET_INTSET and SET_LISTPACK; ZSET (scores as text),
// ZSET_2 (binary scores), ZSET_ZIPLIST and ZSET_LISTPACK; HASH,
// HASH_ZIPMAP, HASH_ZIPLIST and HASH_LISTPACK; STREAM_LISTPACKS,
// STREAM_LISTPACKS_2 (Redis 7.0) and STREAM_LISTPACKS_3 (Redis 7.2, whose
// consumers' active times are read and not kept). Ziplists, listpacks,
// intsets and zipmaps are checked as Redis's deep sanitization checks them
// (every length, offset, back-length and count), and a collection with a
// repeated member or field, a NaN score or no element is refused, as Redis
// refuses them. A stream is checked as Redis's deep sanitization checks
// it, and further (see decodeStream); it may be empty, as Redis keeps
// empty streams. Nothing is allocated beyond a small multiple of the
// payload's length: LZF data expands at most 88 times, and counts are
// checked against the bytes left.
//
// Encode writes what Redis 7.0 writes for a value in the encoding the
// object has: a string as an integer when it is one within 32 bits and as
// raw bytes otherwise (never LZF-compressed: Redis compresses strings over
// 20 bytes, so such payloads differ in their bytes but not in what they
// hold); a hash as HASH_LISTPACK or HASH; a set as SET_INTSET or SET (Redis
// 7.0 has no listpack sets, so a listpack set is written as SET); a sorted
// set as ZSET_LISTPACK or ZSET_2; a list as LIST_QUICKLIST_2 of packed
// nodes of at most list-max-listpack-size; a stream as STREAM_LISTPACKS_2,
// its live entries in nodes cut as Redis cuts them by
// stream-node-max-entries and stream-node-max-bytes, each node the
// listpack Redis would build (without LZF compression, and without the
// deleted entries Redis may keep in its nodes), its first id, largest
// deleted id, entries added, and its groups with their entries read, PELs
// and consumers.
//
// A new type takes a case in Encode's and decodeValue's switches.
package rdb
