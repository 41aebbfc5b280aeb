package script

import (
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// connCall answers the connection commands a script may call.
func connCall(spec *command.Spec, args [][]byte, w *resp.Writer, h Host) {
	switch spec.Name {
	case "ping":
		if len(args) > 1 {
			w.AppendBulk(args[1])
		} else {
			w.AppendSimple("PONG")
		}
	case "echo":
		w.AppendBulk(args[1])
	case "time":
		now := time.Now()
		if c, ok := h.(Clock); ok {
			now = c.Now()
		}
		w.AppendArray(2)
		w.AppendBulkString(strconv.FormatInt(now.Unix(), 10))
		w.AppendBulkString(strconv.Itoa(now.Nanosecond() / 1000))
	}
}

// parse converts the reply at the start of b to a Lua value as Redis does
// and returns the bytes after it.
func (st *state) parse(b []byte) (lua.LValue, []byte) {
	L := st.L
	if len(b) < 3 {
		return lua.LFalse, nil
	}
	kind := b[0]
	end := 1
	for end < len(b) && b[end] != '\r' {
		end++
	}
	line := b[1:end]
	rest := b[min(end+2, len(b)):]
	switch kind {
	case '+':
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(line))
		return t, rest
	case '-':
		t := L.NewTable()
		t.RawSetString("err", lua.LString(line))
		return t, rest
	case ':':
		n, _ := strconv.ParseInt(string(line), 10, 64)
		return lua.LNumber(n), rest
	case '$', '=':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, rest
		}
		s := rest[:n]
		rest = rest[n+2:]
		if kind == '=' {
			t := L.NewTable()
			v := L.NewTable()
			v.RawSetString("format", lua.LString(s[:3]))
			v.RawSetString("string", lua.LString(s[4:]))
			t.RawSetString("verbatim_string", v)
			return t, rest
		}
		return lua.LString(s), rest
	case '*', '>':
		n, _ := strconv.Atoi(string(line))
		if n < 0 {
			return lua.LFalse, rest
		}
		t := L.CreateTable(n, 0)
		for i := 0; i < n; i++ {
			var v lua.LValue
			v, rest = st.parse(rest)
			if v == lua.LNil {
				v = lua.LFalse
			}
			t.RawSetInt(i+1, v)
		}
		return t, rest
	case '%':
		n, _ := strconv.Atoi(string(line))
		m := L.CreateTable(0, n)
		for i := 0; i < n; i++ {
			var k, v lua.LValue
			k, rest = st.parse(rest)
			v, rest = st.parse(rest)
			m.RawSet(k, v)
		}
		t := L.NewTable()
		t.RawSetString("map", m)
		return t, rest
	case '~':
		n, _ := strconv.Atoi(string(line))
		m := L.CreateTable(0, n)
		for i := 0; i < n; i++ {
			var k lua.LValue
			k, rest = st.parse(rest)
			m.RawSet(k, lua.LTrue)
		}
		t := L.NewTable()
		t.RawSetString("set", m)
		return t, rest
	case '_':
		return lua.LNil, rest
	case '#':
		return lua.LBool(len(line) > 0 && line[0] == 't'), rest
	case ',':
		f, _ := strconv.ParseFloat(string(line), 64)
		switch string(line) {
		case "inf":
			f = math.Inf(1)
		case "-inf":
			f = math.Inf(-1)
		}
		t := L.NewTable()
		t.RawSetString("double", lua.LNumber(f))
		return t, rest
	case '(':
		t := L.NewTable()
		t.RawSetString("big_number", lua.LString(line))
		return t, rest
	}
	return lua.LFalse, nil
}

// maxDepth bounds the nesting of a reply built from Lua tables.
const maxDepth = 1000

// reply appends v to w as Redis converts a script's result.
func (st *state) reply(w *resp.Writer, v lua.LValue, depth int) {
	if depth > maxDepth {
		w.AppendError("ERR reached lua stack limit")
		return
	}
	switch v := v.(type) {
	case lua.LString:
		w.AppendBulkString(string(v))
	case lua.LNumber:
		w.AppendInt(toInt(float64(v)))
	case lua.LBool:
		switch {
		case st.resp == 3:
			w.AppendBool(bool(v))
		case bool(v):
			w.AppendInt(1)
		default:
			w.AppendNull()
		}
	case *lua.LTable:
		st.replyTable(w, v, depth)
	default:
		w.AppendNull()
	}
}

// toInt truncates f to an integer as C's cast does on amd64: values out of
// range give the minimum int64.
func toInt(f float64) int64 {
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return math.MinInt64
	}
	return int64(f)
}

func (st *state) replyTable(w *resp.Writer, t *lua.LTable, depth int) {
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		// Redis trims the line breaks that end the text and adds no
		// code: {err = 'oops'} is answered "-oops".
		w.AppendError(strings.TrimRight(string(s), "\r\n"))
		return
	}
	if s, ok := t.RawGetString("ok").(lua.LString); ok {
		w.AppendSimple(string(s))
		return
	}
	if d, ok := t.RawGetString("double").(lua.LNumber); ok {
		w.AppendDouble(float64(d))
		return
	}
	if s, ok := t.RawGetString("big_number").(lua.LString); ok {
		if w.Proto() == 3 {
			w.AppendRaw([]byte("(" + string(s) + "\r\n"))
		} else {
			w.AppendBulkString(string(s))
		}
		return
	}
	if m, ok := t.RawGetString("map").(*lua.LTable); ok {
		n := 0
		m.ForEach(func(_, _ lua.LValue) { n++ })
		w.AppendMap(n)
		m.ForEach(func(k, v lua.LValue) {
			st.reply(w, k, depth+1)
			st.reply(w, v, depth+1)
		})
		return
	}
	if s, ok := t.RawGetString("set").(*lua.LTable); ok {
		n := 0
		s.ForEach(func(_, _ lua.LValue) { n++ })
		w.AppendSet(n)
		s.ForEach(func(k, _ lua.LValue) { st.reply(w, k, depth+1) })
		return
	}
	if v, ok := t.RawGetString("verbatim_string").(*lua.LTable); ok {
		f, _ := v.RawGetString("format").(lua.LString)
		s, _ := v.RawGetString("string").(lua.LString)
		w.AppendVerbatim(string(f), []byte(s))
		return
	}
	n := 0
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	w.AppendArray(n)
	for i := 1; i <= n; i++ {
		st.reply(w, t.RawGetInt(i), depth+1)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
