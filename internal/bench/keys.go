package bench

import (
	"bytes"
	"math/rand/v2"
	"strconv"
)

// keyLen is the length of every key: "key:" and 12 digits.
const keyLen = 16

// keyPrefix is a key with index 0; appendKey writes the digits over it.
const keyPrefix = "key:000000000000"

// appendKey appends the key of index idx, as fmt's "key:%012d" would write
// it, to dst. idx must be below MaxKeyspace.
func appendKey(dst []byte, idx uint64) []byte {
	dst = append(dst, keyPrefix...)
	digits := dst[len(dst)-12:]
	for i := 11; idx > 0; i-- {
		digits[i] = '0' + byte(idx%10)
		idx /= 10
	}
	return dst
}

// generator draws the operations and keys of one connection. It is used by
// that connection's goroutine only.
type generator struct {
	rnd         *rand.Rand
	keyspace    uint64
	readPercent int
	sequential  bool
}

// newGenerator returns the generator of connection conn of a run with cfg
// and seed; its random stream is (seed, conn).
func newGenerator(cfg Config, seed uint64, conn int) *generator {
	return &generator{
		rnd:         rand.New(rand.NewPCG(seed, uint64(conn))),
		keyspace:    uint64(cfg.Keyspace),
		readPercent: cfg.ReadPercent,
		sequential:  cfg.Sequential,
	}
}

// key returns the index of the key of request number seq of the run: seq
// modulo the key space when sequential, else a random index.
func (g *generator) key(seq uint64) uint64 {
	if g.sequential {
		return seq % g.keyspace
	}
	return g.rnd.Uint64N(g.keyspace)
}

// read reports whether the next request is a GET (otherwise a SET).
func (g *generator) read() bool {
	switch g.readPercent {
	case 0:
		return false
	case 100:
		return true
	}
	return g.rnd.IntN(100) < g.readPercent
}

// encoder appends requests in one protocol. Its buffers are read only once
// built, so connections share one encoder.
type encoder struct {
	getHead []byte // up to the key of a GET
	setHead []byte // up to the key of a SET
	getTail []byte // after the key of a GET
	setTail []byte // after the key of a SET: the value and what surrounds it
}

// newEncoder returns the encoder of proto for values of valueSize bytes of
// 'x'.
func newEncoder(proto Protocol, valueSize int) *encoder {
	value := bytes.Repeat([]byte{'x'}, valueSize)
	if proto == Line {
		return &encoder{
			getHead: []byte("GET "),
			setHead: []byte("SET "),
			getTail: []byte("\n"),
			setTail: append(append([]byte(" "), value...), '\n'),
		}
	}
	keyHeader := "$" + strconv.Itoa(keyLen) + "\r\n"
	tail := append([]byte("\r\n$"+strconv.Itoa(valueSize)+"\r\n"), value...)
	return &encoder{
		getHead: []byte("*2\r\n$3\r\nGET\r\n" + keyHeader),
		setHead: []byte("*3\r\n$3\r\nSET\r\n" + keyHeader),
		getTail: []byte("\r\n"),
		setTail: append(tail, "\r\n"...),
	}
}

// appendGet appends a GET of key idx to dst.
func (e *encoder) appendGet(dst []byte, idx uint64) []byte {
	dst = append(dst, e.getHead...)
	dst = appendKey(dst, idx)
	return append(dst, e.getTail...)
}

// appendSet appends a SET of key idx to dst.
func (e *encoder) appendSet(dst []byte, idx uint64) []byte {
	dst = append(dst, e.setHead...)
	dst = appendKey(dst, idx)
	return append(dst, e.setTail...)
}
