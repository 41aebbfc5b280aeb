package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		line string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   \t ", nil, false},
		{"maxmemory 100mb", []string{"maxmemory", "100mb"}, false},
		{"  a   b\tc  ", []string{"a", "b", "c"}, false},
		{`requirepass "with space"`, []string{"requirepass", "with space"}, false},
		{`x "a\nb\tc\\d\"e"`, []string{"x", "a\nb\tc\\d\"e"}, false},
		{`x "\x41\x4a\x4Bz"`, []string{"x", "AJKz"}, false},
		{`x "\x4"`, []string{"x", "x4"}, false},
		{`x "\q"`, []string{"x", "q"}, false},
		{`x 'it\'s' 'a\nb'`, []string{"x", "it's", `a\nb`}, false},
		{`x ""`, []string{"x", ""}, false},
		{`x ab"cd"`, []string{"x", "abcd"}, false},
		{`x "open`, nil, true},
		{`x 'open`, nil, true},
		{`x "a"b`, nil, true},
		{`x 'a'b`, nil, true},
		{`x "a\`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := SplitArgs(tt.line)
			if tt.err {
				if !errors.Is(err, ErrQuotes) {
					t.Fatalf("got %q, %v, want ErrQuotes", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", `q"uote`, "it's", "back\\slash", "#hash", "nl\nx", "\x00\xff", "tab\t"} {
		line := "x " + Quote(s)
		got, err := SplitArgs(line)
		if err != nil || len(got) != 2 || got[1] != s {
			t.Errorf("Quote(%q) = %s, read back as %q, %v", s, line, got, err)
		}
	}
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "sub/inc.conf", "timeout 5\ninclude deeper.conf\n")
	write(t, dir, "sub/deeper.conf", "loglevel warning\n")
	main := write(t, dir, "main.conf", "# comment\n\n  # indented comment\nMaxMemory 100mb\ninclude sub/inc.conf\nrequirepass \"a b\"\nclient-output-buffer-limit pubsub 1mb 2mb 3\n")
	got, err := ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	type d struct {
		name, value, file string
		line              int
	}
	want := []d{
		{"maxmemory", "100mb", main, 4},
		{"timeout", "5", filepath.Join(dir, "sub/inc.conf"), 1},
		{"loglevel", "warning", filepath.Join(dir, "sub/deeper.conf"), 1},
		{"requirepass", "a b", main, 6},
		{"client-output-buffer-limit", "pubsub 1mb 2mb 3", main, 7},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d directives %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Value() != w.value || g.File != w.file || g.Line != w.line {
			t.Errorf("directive %d: got %s %q at %s, want %s %q at %s:%d", i, g.Name, g.Value(), g.Where(), w.name, w.value, w.file, w.line)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		where string // file:line of the error, relative to the directory
		is    error
		text  string
	}{
		{"quotes", map[string]string{"main.conf": "a 1\nrequirepass \"open\n"}, "main.conf:2", ErrQuotes, "unbalanced quotes"},
		{"no value", map[string]string{"main.conf": "\n\nmaxmemory\n"}, "main.conf:3", ErrNoArgs, "maxmemory: a directive needs a value"},
		{"missing include", map[string]string{"main.conf": "include nope.conf\n"}, "main.conf:1", os.ErrNotExist, "include"},
		{"self include", map[string]string{"main.conf": "a 1\ninclude main.conf\n"}, "main.conf:2", ErrInclude, "include loop"},
		{"include loop", map[string]string{"main.conf": "include b.conf\n", "b.conf": "x 1\ninclude c.conf\n", "c.conf": "include main.conf\n"}, "c.conf:1", ErrInclude, "includes itself"},
		{"error inside include", map[string]string{"main.conf": "include b.conf\n", "b.conf": "x 1\ny 'z\n"}, "b.conf:2", ErrQuotes, "unbalanced"},
		{"include arity", map[string]string{"main.conf": "include a b\n"}, "main.conf:1", nil, "include takes one file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, text := range tt.files {
				write(t, dir, n, text)
			}
			_, err := ReadFile(filepath.Join(dir, "main.conf"))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a *FileError", err)
			}
			where := strings.TrimPrefix(fe.File, dir+"/") + ":" + strconv.Itoa(fe.Line)
			if where != tt.where {
				t.Errorf("got error at %s, want %s (%v)", where, tt.where, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want it to wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.text) || !strings.HasPrefix(err.Error(), fe.File+":") {
				t.Errorf("got %q, want the file:line and %q", err, tt.text)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}

// conf is a table's target in the tests.
type conf struct {
	on     bool
	n, mem int64
	policy int
	name   string
}

func testTable() *Table[conf] {
	names := []string{"one", "two"}
	return NewTable(
		BoolParam("flag", func(c *conf) *bool { return &c.on }),
		IntParam("count", -1, 10, func(c *conf) *int64 { return &c.n }).WithAliases("old-count"),
		MemoryParam("mem", 0, 1<<40, func(c *conf) *int64 { return &c.mem }),
		Param[conf]{Name: "policy", Kind: Enum,
			Get: func(c *conf) string { return names[c.policy] },
			Set: func(c *conf, v string) error {
				i, err := ParseEnum(v, names)
				if err == nil {
					c.policy = i
				}
				return err
			}},
		ReadOnly("fixed", func(c *conf) string { return c.name }),
	)
}

func TestTableSet(t *testing.T) {
	tests := []struct {
		args []string
		err  string
		want conf
	}{
		{[]string{"flag", "YES", "count", "-1", "MEM", "1kb", "policy", "Two"}, "", conf{on: true, n: -1, mem: 1024, policy: 1}},
		{[]string{"old-count", "10"}, "", conf{n: 10}},
		{[]string{"flag", "maybe"}, "ERR CONFIG SET failed (possibly related to argument 'flag') - argument must be 'yes' or 'no'", conf{}},
		{[]string{"count", "x"}, "ERR CONFIG SET failed (possibly related to argument 'count') - argument couldn't be parsed into an integer", conf{}},
		{[]string{"COUNT", "11"}, "ERR CONFIG SET failed (possibly related to argument 'count') - argument must be between -1 and 10 inclusive", conf{}},
		{[]string{"count", "99999999999999999999"}, "ERR CONFIG SET failed (possibly related to argument 'count') - argument couldn't be parsed into an integer", conf{}},
		{[]string{"mem", "1.5mb"}, "ERR CONFIG SET failed (possibly related to argument 'mem') - argument must be a memory value", conf{}},
		{[]string{"mem", "-1"}, "ERR CONFIG SET failed (possibly related to argument 'mem') - argument must be a memory value", conf{}},
		{[]string{"mem", "2tb"}, "ERR CONFIG SET failed (possibly related to argument 'mem') - argument must be a memory value", conf{}},
		{[]string{"mem", "1025gb"}, "ERR CONFIG SET failed (possibly related to argument 'mem') - argument must be between 0 and 1099511627776 inclusive", conf{}},
		{[]string{"policy", "three"}, "ERR CONFIG SET failed (possibly related to argument 'policy') - argument(s) must be one of the following: one, two", conf{}},
		{[]string{"Fixed", "x"}, "ERR CONFIG SET failed (possibly related to argument 'Fixed') - can't set immutable config", conf{}},
		{[]string{"count", "1", "Old-Count", "2"}, "ERR CONFIG SET failed (possibly related to argument 'Old-Count') - duplicate parameter", conf{}},
		{[]string{"NoSuch", "1", "fixed", "2"}, "ERR Unknown option or number of arguments for CONFIG SET - 'NoSuch'", conf{}},
		{[]string{"fixed", "1", "nosuch", "2"}, "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'", conf{}},
		// All or nothing: the good pairs before a bad one are not kept.
		{[]string{"flag", "yes", "count", "5", "mem", "x"}, "ERR CONFIG SET failed (possibly related to argument 'mem') - argument must be a memory value", conf{}},
	}
	tab := testTable()
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var c conf
			err := tab.Set(&c, tt.args)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Errorf("got error %q, want %q", got, tt.err)
			}
			if c != tt.want {
				t.Errorf("got %+v, want %+v", c, tt.want)
			}
		})
	}
}

func TestTableGet(t *testing.T) {
	tab := testTable()
	c := conf{n: 3, name: "x"}
	got := tab.Get(&c, [][]byte{[]byte("*COUNT"), []byte("fix*")})
	want := [][2]string{{"count", "3"}, {"old-count", "3"}, {"fixed", "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "inc.conf", "timeout 7\n")
	orig := "# Top comment\nmaxmemory 100mb\n\n# about the timeout\ntimeout 5\ninclude inc.conf\nunrelated-line x y\nloglevel notice\nloglevel debug\n"
	path := write(t, dir, "main.conf", orig)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	same := func(v string) func([]string) bool {
		return func(a []string) bool { return len(a) == 1 && a[0] == v }
	}
	isDefault := func(def, v string) func([]string) bool {
		return func(a []string) bool {
			if a == nil {
				return v == def
			}
			return len(a) == 1 && a[0] == v
		}
	}
	settings := []Setting{
		{Name: "maxmemory", Args: []string{"104857600"}, Same: func(a []string) bool { return len(a) == 1 && a[0] == "100mb" }},
		{Name: "timeout", Args: []string{"9"}, Same: same("9")},
		{Name: "loglevel", Aliases: []string{"log-level"}, Args: []string{"warning"}, Same: same("warning")},
		{Name: "requirepass", Args: []string{"p w"}, Same: isDefault("", "p w")},
		{Name: "maxclients", Args: []string{"10000"}, Same: isDefault("10000", "10000")},
	}
	if err := Rewrite(path, settings); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "# Top comment\nmaxmemory 100mb\n\n# about the timeout\ntimeout 9\ninclude inc.conf\nunrelated-line x y\nloglevel warning\n" +
		rewriteMark + "\nrequirepass \"p w\"\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if inc, _ := os.ReadFile(filepath.Join(dir, "inc.conf")); string(inc) != "timeout 7\n" {
		t.Errorf("the included file was changed: %q", inc)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600 kept", fi.Mode().Perm())
	}
	// A second rewrite with the same values changes nothing, and appends
	// under the existing mark.
	if err := Rewrite(path, settings); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != want {
		t.Errorf("second rewrite: got\n%s\nwant\n%s", again, want)
	}
	settings[4].Args, settings[4].Same = []string{"5"}, isDefault("10000", "5")
	if err := Rewrite(path, settings); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); string(again) != want+"maxclients 5\n" {
		t.Errorf("third rewrite: got\n%s", again)
	}
	// Only the main file is there after a rewrite: no temporary file left.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("got %d files in the directory, want 2", len(ents))
	}
}
