package script

import (
	"bytes"
	"testing"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// FuzzLibDecoders feeds arbitrary bytes to the decoders scripts reach
// (cjson.decode, cmsgpack.unpack, struct.unpack): each must answer a
// reply, an error or a value, and never panic or hang.
func FuzzLibDecoders(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `[1,`, `"\ud83d\ude00"`, "\x93\x01\x02\x03", "\xdc\x00\x10", "\x81\xa1a\x01", "\xff\xff\xff\xff", ""} {
		f.Add([]byte(s), byte(0))
		f.Add([]byte(s), byte(1))
		f.Add([]byte(s), byte(2))
	}
	e := New(DefaultConfig())
	bodies := []string{
		"return cjson.encode(cjson.decode(ARGV[1]))",
		"return {cmsgpack.unpack(ARGV[1])}",
		"return {struct.unpack('>i2c0sbd', ARGV[1])}",
	}
	scripts := make([]*Script, len(bodies))
	for i, b := range bodies {
		sc, err := e.Cache.Load([]byte(b))
		if err != nil {
			f.Fatal(err)
		}
		scripts[i] = sc
	}
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		var w resp.Writer
		e.Run(Request{Script: scripts[int(which)%len(scripts)], Args: [][]byte{data}, Host: &echoHost{}}, &w)
		if w.Len() == 0 {
			t.Fatalf("no reply for %q", data)
		}
	})
}

// FuzzDecodeLibs checks that a payload decodes to what was encoded, and
// that any other bytes are refused without a panic.
func FuzzDecodeLibs(f *testing.F) {
	f.Add([]byte(EncodeLibs([]*Library{{Code: "#!lua name=a\nredis.register_function('f', function() return 1 end)"}})))
	f.Add([]byte("DCFN\x01\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		codes, err := DecodeLibs(b)
		if err != nil {
			return
		}
		libs := make([]*Library, len(codes))
		for i, c := range codes {
			libs[i] = &Library{Code: c}
		}
		if again := EncodeLibs(libs); !bytes.Equal(again, b) {
			t.Fatalf("decoded %q, encoded again %q", b, again)
		}
	})
}
