package script

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// The server declares the connection commands; these are the ones the
// tests call, as it declares them.
func init() {
	command.RegisterConn(
		&command.Spec{Name: "select", Arity: 2},
		&command.Spec{Name: "command", Arity: -1},
		&command.Spec{Name: "info", Arity: -1},
		&command.Spec{Name: "lastsave", Arity: 1},
		&command.Spec{Name: "slowlog", Arity: -2},
		&command.Spec{Name: "publish", Arity: 3, Flags: command.PubSub},
		&command.Spec{Name: "spublish", Arity: 3, Flags: command.PubSub, FirstKey: 1, LastKey: 1, Step: 1},
		&command.Spec{Name: "pubsub", Arity: -2, Flags: command.PubSub},
		&command.Spec{Name: "config", Arity: -2},
		&command.Spec{Name: "client", Arity: -2},
		&command.Spec{Name: "subscribe", Arity: -2, Flags: command.PubSub | command.NoScript},
	)
}

// echoHost answers every command with a fixed reply and records what it
// was asked.
type echoHost struct {
	reply string
	calls [][]string
}

func (h *echoHost) Busy(<-chan struct{}, string) {}

func (h *echoHost) Call(spec *command.Spec, args [][]byte, w *resp.Writer) {
	var call []string
	for _, a := range args {
		call = append(call, string(a))
	}
	h.calls = append(h.calls, call)
	w.AppendRaw([]byte(h.reply))
}

func runScript(t *testing.T, e *Engine, body string, h Host, keys ...string) string {
	t.Helper()
	sc, err := e.Cache.Load([]byte(body))
	if err != nil {
		t.Fatalf("%q: %v", body, err)
	}
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, []byte(k))
	}
	var w resp.Writer
	e.Run(Request{Script: sc, Keys: ks, Host: h}, &w)
	return string(w.Bytes())
}

// TestConversions checks Lua values turned into replies and replies into
// Lua values, as Redis converts them, without a server.
func TestConversions(t *testing.T) {
	e := New(DefaultConfig())
	for _, tc := range []struct{ body, want string }{
		{"return 1.9", ":1\r\n"},
		{"return 'x'", "$1\r\nx\r\n"},
		{"return true", ":1\r\n"},
		{"return false", "$-1\r\n"},
		{"return {1, 'a', {2}}", "*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n"},
		{"return {1, nil, 3}", "*1\r\n:1\r\n"},
		{"return {ok = 'fine'}", "+fine\r\n"},
		{"return {err = 'bad'}", "-bad\r\n"},
		{"return redis.status_reply('S')", "+S\r\n"},
		{"return KEYS[1]", "$1\r\nk\r\n"},
		{"return redis.sha1hex('')", "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"},
		{"return cjson.encode({1, 2})", "$5\r\n[1,2]\r\n"},
		{"return bit.band(12, 10)", ":8\r\n"},
	} {
		if got := runScript(t, e, tc.body, &echoHost{}, "k"); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.body, got, tc.want)
		}
	}
	h := &echoHost{reply: "*2\r\n:7\r\n$-1\r\n"}
	if got := runScript(t, e, "local r = redis.call('get', KEYS[1]); return {type(r), r[1], type(r[2])}", h, "k"); got != "*3\r\n$5\r\ntable\r\n:7\r\n$7\r\nboolean\r\n" {
		t.Errorf("a reply in Lua: %q", got)
	}
	if len(h.calls) != 1 || h.calls[0][0] != "get" || h.calls[0][1] != "k" {
		t.Errorf("calls %q", h.calls)
	}
}

// TestSandbox checks that scripts reach no global state and no system.
func TestSandbox(t *testing.T) {
	e := New(DefaultConfig())
	for _, body := range []string{"x = 1", "return os.time()", "return io.open('/etc/passwd')", "return require('os')", "return dofile('/etc/passwd')"} {
		if got := runScript(t, e, body, &echoHost{}); len(got) == 0 || got[0] != '-' {
			t.Errorf("%q: %q, want an error", body, got)
		}
	}
}

// TestKill checks SCRIPT KILL on a script that has run past the busy
// threshold, and that it cannot stop one that wrote.
func TestKill(t *testing.T) {
	e := New(Config{BusyThreshold: 20 * time.Millisecond, MaxMemory: 256 << 20})
	if err := e.Kill(false); !errors.Is(err, ErrNotBusy) {
		t.Fatalf("Kill with nothing running: %v", err)
	}
	done := make(chan string)
	go func() { done <- runScript(t, e, "while true do end", &echoHost{}) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if err := e.Kill(false); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the looping script never became killable")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if got := <-done; len(got) == 0 || got[0] != '-' {
		t.Fatalf("a killed script answered %q", got)
	}
}

// TestErrorReply checks redis.error_reply and status_reply, and error
// tables a script returns, against replies of redis-server 7.0.15.
func TestErrorReply(t *testing.T) {
	e := New(DefaultConfig())
	for _, tc := range []struct{ body, want string }{
		{"return redis.error_reply('my err')", "-my err\r\n"},
		{"return redis.error_reply('-MY err')", "-MY err\r\n"},
		{"return redis.error_reply('x')", "-ERR x\r\n"},
		{"return redis.error_reply('')", "-ERR \r\n"},
		{"return redis.error_reply('x y').err", "$3\r\nx y\r\n"},
		{"return redis.error_reply('-x').err", "$5\r\nERR x\r\n"},
		{"return redis.error_reply('-ERR').err", "$7\r\nERR ERR\r\n"},
		{"return redis.error_reply('- a').err", "$2\r\n a\r\n"},
		{"return redis.error_reply('a b\\r\\n').err", "$3\r\na b\r\n"},
		{"return redis.error_reply('a\\nb c').err", "$5\r\na\nb c\r\n"},
		{"return redis.error_reply()", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.error_reply(5)", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.error_reply('a', 'b')", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.status_reply()", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.status_reply(5)", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.status_reply('a', 'b')", "-ERR wrong number or type of arguments\r\n"},
		{"return redis.status_reply('a\\nb')", "+a b\r\n"},
		{"error(redis.error_reply('x'))", "-ERR x script: 0a27a949de08fe2e70b8555bcd7d6e4a25af2c8e, on @user_script:1.\r\n"},
		{"return {err = 'x'}", "-x\r\n"},
		{"return {err = ''}", "-\r\n"},
		{"return {err = '-x y'}", "--x y\r\n"},
		{"return {err = 'a\\nb'}", "-a b\r\n"},
		{"return {err = 'x\\r\\n\\r'}", "-x\r\n"},
		{"return {err = '\\r\\nx'}", "-  x\r\n"},
	} {
		if got := runScript(t, e, tc.body, &echoHost{}); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.body, got, tc.want)
		}
	}
}

// TestServerCommands checks that scripts hand the Host the connection
// commands Redis lets them call, that read-only scripts may not publish,
// and that the other connection commands stay refused.
func TestServerCommands(t *testing.T) {
	e := New(DefaultConfig())
	for _, call := range []string{"'select', 0", "'command', 'count'", "'info'", "'lastsave'", "'slowlog', 'len'", "'publish', 'ch', 'm'", "'spublish', 'ch', 'm'", "'pubsub', 'numpat'"} {
		h := &echoHost{reply: ":7\r\n"}
		if got := runScript(t, e, "return redis.call("+call+")", h); got != ":7\r\n" || len(h.calls) != 1 {
			t.Errorf("redis.call(%s): got %q and calls %q, want the host's reply", call, got, h.calls)
		}
	}
	sc, err := e.Cache.Load([]byte("return redis.pcall('publish', 'ch', 'm')"))
	if err != nil {
		t.Fatal(err)
	}
	var w resp.Writer
	h := &echoHost{reply: ":1\r\n"}
	e.Run(Request{Script: sc, ReadOnly: true, Host: h}, &w)
	if got, want := string(w.Bytes()), "-ERR Write commands are not allowed from read-only scripts.\r\n"; got != want || len(h.calls) != 0 {
		t.Errorf("PUBLISH from EVAL_RO: got %q and calls %q, want %q", got, h.calls, want)
	}
	for _, body := range []string{"return redis.pcall('config', 'get', 'x')", "return redis.pcall('client', 'id')", "return redis.pcall('subscribe', 'x')"} {
		h := &echoHost{reply: ":1\r\n"}
		if got, want := runScript(t, e, body, h), "-"+NotAllowed+"\r\n"; got != want || len(h.calls) != 0 {
			t.Errorf("%q: got %q and calls %q, want %q", body, got, h.calls, want)
		}
	}
}

// TestShebang checks the "#!lua" line of scripts: its flags, Redis's
// errors for a bad one, and line numbers that count it.
func TestShebang(t *testing.T) {
	for _, tc := range []struct {
		body    string
		shebang bool
		flags   FuncFlags
		err     string
	}{
		{body: "return 1"},
		{body: "#!lua\nreturn 1", shebang: true},
		{body: "#!lua flags=no-writes\nreturn 1", shebang: true, flags: FlagNoWrites},
		{body: "#!lua flags=no-writes,allow-oom flags=no-cluster\r\nreturn 1", shebang: true, flags: FlagNoWrites | FlagAllowOOM | FlagNoCluster},
		{body: "#!lua\tflags=\"allow-stale,allow-cross-slot-keys\"\nreturn 1", shebang: true, flags: FlagAllowStale | FlagAllowCrossSlot},
		{body: "#!lua flags=\nreturn 1", shebang: true},
		{body: "#!lua flags=bogus\nreturn 1", err: "ERR Unexpected flag in script shebang: bogus"},
		{body: "#!lua flags=no-writes,\nreturn 1", err: "ERR Unexpected flag in script shebang: "},
		{body: "#!lua flags=NO-WRITES\nreturn 1", err: "ERR Unexpected flag in script shebang: NO-WRITES"},
		{body: "#!lua name=x\nreturn 1", err: "ERR Unknown lua shebang option: name=x"},
		{body: "#!LUA\nreturn 1", err: "ERR Unexpected engine in script shebang: #!LUA"},
		{body: "#! lua\nreturn 1", err: "ERR Unexpected engine in script shebang: #!"},
		{body: "#!lua flags=\"no-writes\nreturn 1", err: "ERR Invalid engine in script shebang"},
		{body: "#!lua return 1", err: "ERR Invalid script shebang"},
	} {
		sc, err := Compile(tc.body)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: got error %v, want %q", tc.body, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.body, err)
		case sc.Shebang != tc.shebang || sc.Flags != tc.flags:
			t.Errorf("%q: got shebang %v flags %v, want %v %v", tc.body, sc.Shebang, sc.Flags.Names(), tc.shebang, tc.flags.Names())
		}
	}
	e := New(DefaultConfig())
	if got, want := runScript(t, e, "#!lua flags=no-writes\nerror('x')", &echoHost{}), "-ERR user_script:2: x script: 92a1f2c9b02e32b5bc57bd411dde4eebcb848a63, on @user_script:2.\r\n"; got != want {
		t.Errorf("an error on line 2: got %q, want %q", got, want)
	}
}

// TestACLCheckAndDebugger checks redis.acl_check_cmd against the caller's
// permissions, and that redis.breakpoint and redis.debug do nothing in
// EVAL's scripts and are missing in functions, as in Redis.
func TestACLCheckAndDebugger(t *testing.T) {
	e := New(DefaultConfig())
	for _, tc := range []struct{ body, want string }{
		{"return redis.acl_check_cmd('get', 'k')", ":1\r\n"},
		{"return redis.acl_check_cmd('config')", ":1\r\n"},
		{"return redis.acl_check_cmd('config', 'get')", ":1\r\n"},
		{"return redis.acl_check_cmd('nosuch')", "-ERR Invalid command passed to redis.acl_check_cmd() script: d2491587bab5149c93be0dce4426f7a06ba9e1a1, on @user_script:1.\r\n"},
		{"return redis.acl_check_cmd('config','nosuch')", "-ERR Invalid command passed to redis.acl_check_cmd() script: 24d1b174c241d2198e4652a7d7502350e42a21ed, on @user_script:1.\r\n"},
		{"return redis.acl_check_cmd()", "-ERR Please specify at least one argument for this redis lib call script: 1124f33ad66e7866b4e0c1499a4c20fb5eb9c180, on @user_script:1.\r\n"},
		{"return redis.breakpoint()", "$-1\r\n"},
		{"return type(redis.breakpoint())", "$7\r\nboolean\r\n"},
		{"return {redis.debug('x', 1)}", "*0\r\n"},
	} {
		if got := runScript(t, e, tc.body, &echoHost{}); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.body, got, tc.want)
		}
	}

	sc, err := e.Cache.Load([]byte("return {redis.acl_check_cmd('get', 'k'), redis.acl_check_cmd('set', 'k', 'v')}"))
	if err != nil {
		t.Fatal(err)
	}
	var w resp.Writer
	onlyGet := func(spec *command.Spec, _ [][]byte) bool { return spec.Name == "get" }
	e.Run(Request{Script: sc, Host: &echoHost{}, Permits: onlyGet}, &w)
	if got, want := string(w.Bytes()), "*2\r\n:1\r\n$-1\r\n"; got != want {
		t.Errorf("a user who may run GET only: got %q, want %q", got, want)
	}

	lib, err := e.Funcs.Load("#!lua name=lib\nredis.register_function('f', function() return {type(redis.breakpoint), type(redis.debug), redis.acl_check_cmd('get', 'k')} end)", false)
	if err != nil {
		t.Fatal(err)
	}
	w.Reset()
	e.Run(Request{Func: lib.Functions[0], Command: "fcall", Host: &echoHost{}}, &w)
	if got, want := string(w.Bytes()), "*3\r\n$3\r\nnil\r\n$3\r\nnil\r\n:1\r\n"; got != want {
		t.Errorf("in a function: got %q, want %q", got, want)
	}
	if got, want := runScript(t, e, "return type(redis.debug)", &echoHost{}), "$8\r\nfunction\r\n"; got != want {
		t.Errorf("EVAL after FCALL: got %q, want %q", got, want)
	}
}
