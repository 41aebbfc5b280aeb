package slot

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// crc16Bitwise is CRC-16/XMODEM computed one bit at a time, straight from
// its definition, as a reference for the table-driven CRC16.
func crc16Bitwise(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// ofReference is Redis's keyHashSlot transcribed loop for loop, with the
// bitwise CRC: a reference for Of.
func ofReference(key []byte) uint16 {
	keylen := len(key)
	var s, e int
	for s = 0; s < keylen; s++ {
		if key[s] == '{' {
			break
		}
	}
	// No '{': hash the whole key.
	if s == keylen {
		return crc16Bitwise(key) % Count
	}
	// '{' found: is there a '}' after it?
	for e = s + 1; e < keylen; e++ {
		if key[e] == '}' {
			break
		}
	}
	// No '}' or nothing between the braces: hash the whole key.
	if e == keylen || e == s+1 {
		return crc16Bitwise(key) % Count
	}
	return crc16Bitwise(key[s+1:e]) % Count
}

func TestCRC16(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"", 0x0000},
		{"123456789", 0x31C3}, // the CRC-16/XMODEM check value, also in Redis's crc16.c
		{"A", 0x58E5},
		{"\x00", 0x0000},
		{"\xff", 0x1EF0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			if got := CRC16([]byte(tt.in)); got != tt.want {
				t.Errorf("CRC16(%q): got %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
}

func TestCRC16Bitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 64 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if got, want := CRC16(b), crc16Bitwise(b); got != want {
			t.Fatalf("CRC16(%x): got %#04x, want %#04x", b, got, want)
		}
		if got, want := crc16Bytewise(b), crc16Bitwise(b); got != want {
			t.Fatalf("crc16Bytewise(%x): got %#04x, want %#04x", b, got, want)
		}
	}
	for c := range 256 {
		b := []byte{byte(c)}
		if got, want := CRC16(b), crc16Bitwise(b); got != want {
			t.Fatalf("CRC16(%x): got %#04x, want %#04x", b, got, want)
		}
	}
}

// TestOf pins the slots of fixed keys. Those of "foo", "bar" and "hello" are
// the ones Redis answers to CLUSTER KEYSLOT; the others follow from them by
// the hash-tag rule or were checked against an independent CRC-16/XMODEM.
func TestOf(t *testing.T) {
	tests := []struct {
		key  string
		want uint16
	}{
		{"foo", 12182},
		{"bar", 5061},
		{"hello", 866},
		{"", 0},
		{"123456789", 0x31C3 % Count},
		{"user1000", 3443},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", CRC16([]byte("foo{}{bar}")) % Count},
		{"foo{{bar}}zap", 4015},
		{"{bar", 4015},
		{"foo{bar}{zap}", 5061},
		{"{}", CRC16([]byte("{}")) % Count},
		{"{", CRC16([]byte("{")) % Count},
		{"}", CRC16([]byte("}")) % Count},
		{"}{a}", 15495},
		{"a", 15495},
		{"foo{bar", CRC16([]byte("foo{bar")) % Count},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.key), func(t *testing.T) {
			if got := Of([]byte(tt.key)); got != tt.want {
				t.Errorf("Of(%q): got %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

// TestOfSameSlot checks the hash-tag rule through keys that must share a
// slot, as the Redis Cluster specification describes them.
func TestOfSameSlot(t *testing.T) {
	tests := []struct{ a, b string }{
		{"{user1000}.following", "{user1000}.followers"},
		{"{user1000}.following", "user1000"},
		{"foo{{bar}}zap", "{bar"},
		{"foo{bar}{zap}", "bar"},
		{"foo{bar}{zap}", "{bar}"},
		{"x{tag}y", "z{tag}"},
		{"{a}", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.a+"~"+tt.b, func(t *testing.T) {
			if a, b := Of([]byte(tt.a)), Of([]byte(tt.b)); a != b {
				t.Errorf("Of(%q) = %d and Of(%q) = %d: got different slots, want the same", tt.a, a, tt.b, b)
			}
		})
	}
}

func TestOfReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// An alphabet rich in braces so that tags of every shape turn up.
	alphabet := []byte("{}{}{}ab\x00\xff")
	for range 100_000 {
		key := make([]byte, rng.IntN(12))
		for i := range key {
			key[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got, want := Of(key), ofReference(key); got != want {
			t.Fatalf("Of(%q): got %d, want %d", key, got, want)
		}
	}
}

func TestAllocs(t *testing.T) {
	key := []byte("{user1000}.following")
	tests := []struct {
		name string
		f    func()
	}{
		{"CRC16", func() { CRC16(key) }},
		{"Of", func() { Of(key) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(1000, tt.f); got != 0 {
				t.Errorf("allocs per run: got %v, want 0", got)
			}
		})
	}
}

func FuzzOf(f *testing.F) {
	for _, key := range []string{
		"",
		"foo",
		"{user1000}.following",
		"foo{}{bar}",
		"foo{{bar}}zap",
		"foo{bar}{zap}",
		"{",
		"}{",
	} {
		f.Add([]byte(key))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		got := Of(key)
		if want := ofReference(key); got != want {
			t.Fatalf("Of(%q): got %d, want %d", key, got, want)
		}
		if got >= Count {
			t.Fatalf("Of(%q): got %d, want below %d", key, got, Count)
		}
		if got, want := CRC16(key), crc16Bitwise(key); got != want {
			t.Fatalf("CRC16(%q): got %#04x, want %#04x", key, got, want)
		}
	})
}

// benchKeys returns 1024 pseudo-random keys of n bytes each, the same on
// every run. With tag set, each key is "{" + 6 bytes + "}" followed by
// filler, so Of hashes the tag only.
func benchKeys(n int, tag bool) [][]byte {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	keys := make([][]byte, 1024)
	for i := range keys {
		k := make([]byte, n)
		for j := range k {
			k[j] = 'a' + byte(rng.IntN(26))
		}
		if tag && n >= 8 {
			k[0], k[7] = '{', '}'
		}
		keys[i] = k
	}
	return keys
}

func BenchmarkOf8(b *testing.B)      { benchmarkOf(b, 8, false) }
func BenchmarkOf32(b *testing.B)     { benchmarkOf(b, 32, false) }
func BenchmarkOf256(b *testing.B)    { benchmarkOf(b, 256, false) }
func BenchmarkOfTag32(b *testing.B)  { benchmarkOf(b, 32, true) }
func BenchmarkOfTag256(b *testing.B) { benchmarkOf(b, 256, true) }

func benchmarkOf(b *testing.B, n int, tag bool) {
	keys := benchKeys(n, tag)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Of(keys[i%len(keys)])
		i++
	}
}

// crc16Bytewise is CRC16 with one table lookup per byte, the classic
// table-driven form, for BenchmarkCRC16.
func crc16Bytewise(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ tables[0][byte(crc>>8)^c]
	}
	return crc
}

// BenchmarkCRC16 compares CRC16's eight bytes per step with one byte per
// step and one bit per step.
func BenchmarkCRC16(b *testing.B) {
	variants := []struct {
		name string
		f    func([]byte) uint16
	}{
		{"slicing8", CRC16},
		{"bytewise", crc16Bytewise},
		{"bitwise", crc16Bitwise},
	}
	for _, n := range []int{8, 32, 256} {
		keys := benchKeys(n, false)
		for _, v := range variants {
			b.Run(fmt.Sprintf("len=%d/%s", n, v.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					v.f(keys[i%len(keys)])
					i++
				}
			})
		}
	}
}

func TestOfPattern(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		want    string // a key of the slot, "" for none
	}{
		{"{user1}:weight_*", "user1"},
		{"w_{user1}*->f", "user1"},
		{"{user1}*{x}", "user1"},
		{"exact-key", "exact-key"},
		{"foo{}{bar}", "foo{}{bar}"},
		{"foo{}{bar}*", ""},
		{"w_*", ""},
		{"*{user1}", ""},
		{"{us?r}*", ""},
		{"{us[e]r}*", ""},
		{"\\{user1}*", ""},
		{"{user1*}", ""},
	} {
		s, ok := OfPattern([]byte(tt.pattern))
		switch {
		case tt.want == "" && ok:
			t.Errorf("%q: got slot %d, want none", tt.pattern, s)
		case tt.want != "" && (!ok || s != Of([]byte(tt.want))):
			t.Errorf("%q: got %d, %v, want %d", tt.pattern, s, ok, Of([]byte(tt.want)))
		}
	}
}
