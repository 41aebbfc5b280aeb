package resp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestWriterProto(t *testing.T) {
	var w Writer
	if got := w.Proto(); got != 2 {
		t.Errorf("zero Writer Proto(): got %d, want 2", got)
	}
	w.SetProto(3)
	if got := w.Proto(); got != 3 {
		t.Errorf("after SetProto(3) Proto(): got %d, want 3", got)
	}
	w.SetProto(2)
	if got := w.Proto(); got != 2 {
		t.Errorf("after SetProto(2) Proto(): got %d, want 2", got)
	}
	for _, p := range []int{0, 1, 4, -3} {
		t.Run(strconv.Itoa(p), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("SetProto(%d): got no panic, want one", p)
				}
			}()
			w.SetProto(p)
		})
	}
}

func TestWriterAppend(t *testing.T) {
	tests := []struct {
		name   string
		append func(w *Writer)
		resp2  string
		resp3  string
	}{
		{"ok", func(w *Writer) { w.AppendOK() }, "+OK\r\n", "+OK\r\n"},
		{"simple", func(w *Writer) { w.AppendSimple("PONG") }, "+PONG\r\n", "+PONG\r\n"},
		{"simple empty", func(w *Writer) { w.AppendSimple("") }, "+\r\n", "+\r\n"},
		{"simple line breaks", func(w *Writer) { w.AppendSimple("a\r\nb\nc") }, "+a  b c\r\n", "+a  b c\r\n"},
		{"error", func(w *Writer) { w.AppendError("ERR syntax error") }, "-ERR syntax error\r\n", "-ERR syntax error\r\n"},
		{"error wrongtype", func(w *Writer) {
			w.AppendError("WRONGTYPE Operation against a key holding the wrong kind of value")
		}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{"error line breaks", func(w *Writer) { w.AppendError("ERR bad\r\nthing\n") }, "-ERR bad  thing \r\n", "-ERR bad  thing \r\n"},
		{"int zero", func(w *Writer) { w.AppendInt(0) }, ":0\r\n", ":0\r\n"},
		{"int", func(w *Writer) { w.AppendInt(12345) }, ":12345\r\n", ":12345\r\n"},
		{"int negative", func(w *Writer) { w.AppendInt(-7) }, ":-7\r\n", ":-7\r\n"},
		{"int max", func(w *Writer) { w.AppendInt(math.MaxInt64) }, ":9223372036854775807\r\n", ":9223372036854775807\r\n"},
		{"int min", func(w *Writer) { w.AppendInt(math.MinInt64) }, ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"},
		{"bulk", func(w *Writer) { w.AppendBulk([]byte("hello")) }, "$5\r\nhello\r\n", "$5\r\nhello\r\n"},
		{"bulk empty", func(w *Writer) { w.AppendBulk(nil) }, "$0\r\n\r\n", "$0\r\n\r\n"},
		{"bulk binary", func(w *Writer) { w.AppendBulk([]byte("\x00\r\n")) }, "$3\r\n\x00\r\n\r\n", "$3\r\n\x00\r\n\r\n"},
		{"bulk string", func(w *Writer) { w.AppendBulkString("héllo") }, "$6\r\nhéllo\r\n", "$6\r\nhéllo\r\n"},
		{"bulk string empty", func(w *Writer) { w.AppendBulkString("") }, "$0\r\n\r\n", "$0\r\n\r\n"},
		{"null", func(w *Writer) { w.AppendNull() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *Writer) { w.AppendNullArray() }, "*-1\r\n", "_\r\n"},
		{"array", func(w *Writer) {
			w.AppendArray(2)
			w.AppendBulkString("a")
			w.AppendInt(1)
		}, "*2\r\n$1\r\na\r\n:1\r\n", "*2\r\n$1\r\na\r\n:1\r\n"},
		{"array empty", func(w *Writer) { w.AppendArray(0) }, "*0\r\n", "*0\r\n"},
		{"map", func(w *Writer) {
			w.AppendMap(2)
			w.AppendBulkString("k1")
			w.AppendInt(1)
			w.AppendBulkString("k2")
			w.AppendNull()
		}, "*4\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$-1\r\n", "%2\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n_\r\n"},
		{"map empty", func(w *Writer) { w.AppendMap(0) }, "*0\r\n", "%0\r\n"},
		{"set", func(w *Writer) {
			w.AppendSet(1)
			w.AppendBulkString("m")
		}, "*1\r\n$1\r\nm\r\n", "~1\r\n$1\r\nm\r\n"},
		{"push", func(w *Writer) {
			w.AppendPush(3)
			w.AppendBulkString("message")
			w.AppendBulkString("ch")
			w.AppendBulkString("hi")
		}, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"},
		{"double", func(w *Writer) { w.AppendDouble(1.5) }, "$3\r\n1.5\r\n", ",1.5\r\n"},
		{"double integral", func(w *Writer) { w.AppendDouble(10) }, "$2\r\n10\r\n", ",10\r\n"},
		{"double inf", func(w *Writer) { w.AppendDouble(math.Inf(1)) }, "$3\r\ninf\r\n", ",inf\r\n"},
		{"double negative inf", func(w *Writer) { w.AppendDouble(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"double nan", func(w *Writer) { w.AppendDouble(math.NaN()) }, "$3\r\nnan\r\n", ",nan\r\n"},
		{"double exponent", func(w *Writer) { w.AppendDouble(1e17) }, "$5\r\n1e+17\r\n", ",1e+17\r\n"},
		{"bool true", func(w *Writer) { w.AppendBool(true) }, ":1\r\n", "#t\r\n"},
		{"bool false", func(w *Writer) { w.AppendBool(false) }, ":0\r\n", "#f\r\n"},
		{"verbatim", func(w *Writer) { w.AppendVerbatim("txt", []byte("Some string")) }, "$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n"},
		{"verbatim markdown", func(w *Writer) { w.AppendVerbatim("mkd", []byte("# a\r\n")) }, "$5\r\n# a\r\n\r\n", "=9\r\nmkd:# a\r\n\r\n"},
		{"verbatim empty", func(w *Writer) { w.AppendVerbatim("txt", nil) }, "$0\r\n\r\n", "=4\r\ntxt:\r\n"},
		{"raw", func(w *Writer) { w.AppendRaw([]byte("VALUE k 0 1\r\n")) }, "VALUE k 0 1\r\n", "VALUE k 0 1\r\n"},
		{"raw empty", func(w *Writer) { w.AppendRaw(nil) }, "", ""},
		{"several", func(w *Writer) {
			w.AppendOK()
			w.AppendInt(3)
			w.AppendNull()
		}, "+OK\r\n:3\r\n$-1\r\n", "+OK\r\n:3\r\n_\r\n"},
	}
	for _, tt := range tests {
		for _, proto := range []int{2, 3} {
			want := tt.resp2
			if proto == 3 {
				want = tt.resp3
			}
			t.Run(tt.name+"/RESP"+strconv.Itoa(proto), func(t *testing.T) {
				var w Writer
				w.AppendRaw([]byte("prefix"))
				w.SetProto(proto)
				tt.append(&w)
				if got := string(w.Bytes()); got != "prefix"+want {
					t.Errorf("got %q, want %q", got, "prefix"+want)
				}
				if got := w.Len(); got != len("prefix")+len(want) {
					t.Errorf("Len(): got %d, want %d", got, len("prefix")+len(want))
				}
			})
		}
	}
}

func TestWriterAppendErrorKeepsArgument(t *testing.T) {
	msg := []byte("ERR a\nb")
	var w Writer
	w.AppendError(string(msg))
	if string(msg) != "ERR a\nb" {
		t.Errorf("AppendError changed its argument to %q", msg)
	}
}

func TestWriterVerbatimPanics(t *testing.T) {
	for _, format := range []string{"", "tx", "text"} {
		t.Run(format, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendVerbatim(%q, ...): got no panic, want one", format)
				}
			}()
			var w Writer
			w.SetProto(3)
			w.AppendVerbatim(format, []byte("x"))
		})
	}
}

func TestWriterResetTruncate(t *testing.T) {
	var w Writer
	w.AppendOK()
	mark := w.Len()
	w.AppendInt(1)
	w.Truncate(mark)
	if got, want := string(w.Bytes()), "+OK\r\n"; got != want {
		t.Errorf("after Truncate(%d): got %q, want %q", mark, got, want)
	}
	w.Reset()
	if got := w.Len(); got != 0 {
		t.Errorf("after Reset Len(): got %d, want 0", got)
	}
	w.AppendInt(2)
	if got, want := string(w.Bytes()), ":2\r\n"; got != want {
		t.Errorf("after Reset and AppendInt: got %q, want %q", got, want)
	}
}

func TestAppendDouble(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-1, "-1"},
		{1.5, "1.5"},
		{-1.5, "-1.5"},
		{10, "10"},
		{0.1, "0.1"},
		{0.3, "0.3"},
		{1.0 / 3, "0.3333333333333333"},
		{123456789.123, "123456789.123"},
		{0.0001, "0.0001"},
		{0.00012, "0.00012"},
		{0.00001, "1e-05"},
		{1.5e-5, "1.5e-05"},
		{1e16, "10000000000000000"},
		{1.2345e16, "12345000000000000"},
		{99999999999999984, "99999999999999980"},
		{1e17, "1e+17"},
		{1.25e17, "1.25e+17"},
		{-1e17, "-1e+17"},
		{1e100, "1e+100"},
		{1e-300, "1e-300"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.SmallestNonzeroFloat64, "5e-324"},
		{9007199254740993, "9007199254740992"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := string(appendDouble(nil, tt.in)); got != tt.want {
				t.Errorf("appendDouble(%v): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestAppendDoubleRandom checks, over many values, that the text reads back
// as the same double and is laid out as C's %.17g lays it out (Go's %.17g
// follows C's rule for choosing between plain and exponent form).
func TestAppendDoubleRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		if r.IntN(2) == 0 {
			// Favour magnitudes around the switch between forms.
			f = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-10))
		}
		got := string(appendDouble(nil, f))
		back, err := strconv.ParseFloat(got, 64)
		if err != nil || back != f {
			t.Fatalf("appendDouble(%v) = %q: reads back as %v, %v", f, got, back, err)
		}
		c := fmt.Sprintf("%.17g", f)
		if strings.Contains(got, "e") != strings.Contains(c, "e") {
			t.Fatalf("appendDouble(%v): got %q, want the form of %q", f, got, c)
		}
	}
}

func TestWriterNoAllocs(t *testing.T) {
	var w Writer
	w.AppendRaw(make([]byte, 0, 4096))
	value := []byte("some value")
	tests := []struct {
		name   string
		append func()
	}{
		{"ok", func() { w.AppendOK() }},
		{"simple", func() { w.AppendSimple("PONG") }},
		{"error", func() { w.AppendError("ERR syntax error") }},
		{"int", func() { w.AppendInt(-1234567) }},
		{"bulk", func() { w.AppendBulk(value) }},
		{"bulk string", func() { w.AppendBulkString("value") }},
		{"null", func() { w.AppendNull() }},
		{"null array", func() { w.AppendNullArray() }},
		{"array", func() { w.AppendArray(3) }},
		{"map", func() { w.AppendMap(3) }},
		{"set", func() { w.AppendSet(3) }},
		{"push", func() { w.AppendPush(3) }},
		{"double", func() { w.AppendDouble(3.14159) }},
		{"double exponent", func() { w.AppendDouble(-1.5e-300) }},
		{"bool", func() { w.AppendBool(true) }},
		{"verbatim", func() { w.AppendVerbatim("txt", value) }},
		{"raw", func() { w.AppendRaw(value) }},
	}
	for _, proto := range []int{2, 3} {
		w.SetProto(proto)
		for _, tt := range tests {
			t.Run(tt.name+"/RESP"+strconv.Itoa(proto), func(t *testing.T) {
				got := testing.AllocsPerRun(100, func() {
					w.Reset()
					tt.append()
				})
				if got != 0 {
					t.Errorf("allocations per run: got %v, want 0", got)
				}
			})
		}
	}
}

// TestAppendBulkLengths checks bulk strings around the lengths whose
// header AppendBulk writes by hand.
func TestAppendBulkLengths(t *testing.T) {
	var w Writer
	for _, n := range []int{0, 1, 9, 10, 11, 99, 100, 101, 1000} {
		w.Reset()
		w.AppendRaw([]byte("x"))
		b := strings.Repeat("a", n)
		w.AppendBulk([]byte(b))
		if got, want := string(w.Bytes()), "x$"+strconv.Itoa(n)+"\r\n"+b+"\r\n"; got != want {
			t.Errorf("AppendBulk of %d bytes: got %q, want %q", n, got, want)
		}
	}
}

func BenchmarkAppendBulk(b *testing.B) {
	var w Writer
	e := []byte("xxx")
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		for range 100 {
			w.AppendBulk(e)
		}
	}
}
