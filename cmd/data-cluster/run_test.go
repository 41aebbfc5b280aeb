package main

import (
	"bufio"
	"context"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"--shards", "0"}, nil, exitUsage, "invalid value 0 for --shards"},
		{[]string{"--shards", "x"}, nil, exitUsage, `invalid value "x" for flag -shards`},
		{[]string{"--vnodes", "-1"}, nil, exitUsage, "invalid value -1 for --vnodes"},
		{[]string{"--shard-queue", "0"}, nil, exitUsage, "--shard-queue"},
		{[]string{"--router-queue", "0"}, nil, exitUsage, "--router-queue"},
		{[]string{"--procs", "-1"}, nil, exitUsage, "invalid value -1 for --procs"},
		{nil, map[string]string{"DATA_CLUSTER_PROCS": "5000"}, exitUsage, "invalid value 5000 for DATA_CLUSTER_PROCS"},
		{[]string{"--addr", "nohostport"}, nil, exitUsage, "--addr"},
		{[]string{"--resp-addr", "nohostport"}, nil, exitUsage, "invalid value \"nohostport\" for --resp-addr"},
		{nil, map[string]string{"DATA_CLUSTER_RESP_ADDR": "nohostport"}, exitUsage, "for DATA_CLUSTER_RESP_ADDR"},
		{[]string{"--proto-max-bulk-len", "12parsecs"}, nil, exitUsage, "want a whole number of bytes"},
		{[]string{"--proto-max-bulk-len", "0"}, nil, exitUsage, "--proto-max-bulk-len"},
		{[]string{"--nosuchflag"}, nil, exitUsage, "flag provided but not defined"},
		{[]string{"extra"}, nil, exitUsage, `unexpected argument "extra"`},
		{nil, map[string]string{"DATA_CLUSTER_SHARDS": "many"}, exitUsage, `invalid value "many" for DATA_CLUSTER_SHARDS`},
		{[]string{"--help"}, nil, exitOK, "DATA_CLUSTER_"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr testutil.SyncBuffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit status: got %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tt.want)
			}
			if stdout.String() != "" {
				t.Fatalf("stdout: got %q, want nothing", stdout.String())
			}
		})
	}
}

func TestProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for n, want := range map[int]int{1: 1, 2: 1, 3: 2, 8: 7} {
		if got := defaultProcs(n); got != want {
			t.Errorf("defaultProcs(%d) = %d, want %d", n, got, want)
		}
	}
	if got := setProcs(3); got != 3 || runtime.GOMAXPROCS(0) != 3 {
		t.Fatalf("setProcs(3) = %d, GOMAXPROCS %d", got, runtime.GOMAXPROCS(0))
	}
	// With GOMAXPROCS in the environment, 0 keeps what the runtime read.
	t.Setenv("GOMAXPROCS", "3")
	if got := setProcs(0); got != 3 || runtime.GOMAXPROCS(0) != 3 {
		t.Fatalf("setProcs(0) with GOMAXPROCS set = %d, GOMAXPROCS %d", got, runtime.GOMAXPROCS(0))
	}
	os.Unsetenv("GOMAXPROCS")
	defer func(n int) { goProcs = n }(goProcs)
	goProcs = 4
	if got := setProcs(0); got != 3 || runtime.GOMAXPROCS(0) != 3 {
		t.Fatalf("setProcs(0) = %d, GOMAXPROCS %d, want 3 (one less than 4)", got, runtime.GOMAXPROCS(0))
	}
}

func TestHelpListsEveryFlag(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	run(context.Background(), []string{"--help"}, &stdout, &stderr)
	for _, f := range []string{"-addr", "127.0.0.1:8080", "-shards", "(default 3)", "-vnodes", "(default 64)",
		"-shard-queue", "(default 1024)", "-router-queue", "(default 2048)"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("help does not mention %q:\n%s", f, stderr.String())
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"100", 100, true}, {"1k", 1000, true}, {"1kb", 1024, true}, {"1KB", 1024, true},
		{"100mb", 100 << 20, true}, {"2m", 2000000, true}, {"1gb", 1 << 30, true}, {"1g", 1e9, true},
		{"5b", 5, true}, {"", 0, false}, {"-1", 0, false}, {"1tb", 0, false}, {"mb", 0, false},
		{"1.5mb", 0, false}, {"99999999999999gb", 0, false},
	}
	for _, tt := range tests {
		got, err := parseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseByteSize(%q): got %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr testutil.SyncBuffer
	code := run(context.Background(), []string{"--addr", ln.Addr().String()}, &stdout, &stderr)
	if code != exitError {
		t.Fatalf("exit status: got %d, want %d", code, exitError)
	}
	if !strings.Contains(stderr.String(), "cannot listen on "+ln.Addr().String()) ||
		!strings.Contains(stderr.String(), "address already in use") {
		t.Fatalf("stderr: got %q", stderr.String())
	}
}

// TestRunServes starts the server in process with flags from the
// environment and the command line, checks the banner names the bound
// address, talks to it, and stops it by cancelling.
func TestRunServes(t *testing.T) {
	t.Setenv("DATA_CLUSTER_SHARDS", "5")
	t.Setenv("DATA_CLUSTER_ADDR", "256.0.0.1:1") // overridden by the flag
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--procs", "2"}, &stdout, &stderr) }()

	var banner string
	for i := 0; ; i++ {
		if banner = stdout.String(); strings.HasSuffix(banner, "\n") {
			break
		}
		if i == 1000 {
			t.Fatalf("no banner; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(banner, "Server listening on "), " — commands: GET <key> | SET <key> <value> | DELETE <key> | LIST\n")
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("banner %q does not name the bound address", banner)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	rd := bufio.NewReader(nc)
	nc.Write([]byte("SET a 1\nGET a\n"))
	for _, want := range []string{"OK\n", "1\n"} {
		if got, _ := rd.ReadString('\n'); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if !strings.Contains(stderr.String(), "shards=5") {
		t.Fatalf("DATA_CLUSTER_SHARDS was not applied: %q", stderr.String())
	}
	if !strings.Contains(stderr.String(), "procs=2") || runtime.GOMAXPROCS(0) != 2 {
		t.Fatalf("--procs 2 was not applied: GOMAXPROCS %d, log %q", runtime.GOMAXPROCS(0), stderr.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
}

// TestRunRESPAddr runs the server with a RESP-only listener, given by its
// environment variable: there an inline GET is Redis's, while the shared
// port still picks the protocol from the first command.
func TestRunRESPAddr(t *testing.T) {
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	respAddr := fl.Addr().String()
	fl.Close()
	t.Setenv("DATA_CLUSTER_RESP_ADDR", respAddr)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, &stdout, &stderr) }()
	var banner string
	for i := 0; ; i++ {
		if banner = stdout.String(); strings.HasSuffix(banner, "\n") {
			break
		}
		if i == 1000 {
			t.Fatalf("no banner; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(banner, "Server listening on "), " — commands: GET <key> | SET <key> <value> | DELETE <key> | LIST\n")
	if !strings.Contains(stderr.String(), "RESP listener started") {
		t.Errorf("the log does not say the RESP listener started: %q", stderr.String())
	}
	for _, tt := range []struct{ addr, in, want string }{
		{addr, "SET a 1\n", "OK\n"},
		{addr, "PING\r\nGET a\r\n", "+PONG\r\n$1\r\n1\r\n"},
		{respAddr, "GET a\r\nGET nosuch\r\n", "$1\r\n1\r\n$-1\r\n"},
	} {
		nc, err := net.Dial("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(nc, tt.in)
		got := make([]byte, len(tt.want))
		if _, err := io.ReadFull(nc, got); err != nil || string(got) != tt.want {
			t.Errorf("%s %q: got %q, %v, want %q", tt.addr, tt.in, got, err, tt.want)
		}
		nc.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := net.DialTimeout("tcp", respAddr, time.Second); err == nil {
		t.Fatal("the RESP listener still accepts after the server stopped")
	}
}

// TestSignals builds the binary and stops it with SIGINT and SIGTERM.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "data-cluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "--addr", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), "DATA_CLUSTER_SHARDS=2")
			stdout, _ := cmd.StdoutPipe()
			var stderr testutil.SyncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			banner, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || !strings.HasPrefix(banner, "Server listening on 127.0.0.1:") {
				t.Fatalf("banner: got %q, %v", banner, err)
			}
			addr := strings.Fields(banner)[3]
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			cmd.Process.Signal(sig)
			exited := make(chan error)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exit: %v; stderr %q", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("did not exit within 10s")
			}
			if !strings.Contains(stderr.String(), "server stopped") {
				t.Fatalf("stderr: %q", stderr.String())
			}
		})
	}
}

// TestVariableOnlyWithoutFlag checks that an environment variable is read
// only when its flag is not given, and that an invalid value is reported
// under the name it was given by.
func TestVariableOnlyWithoutFlag(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		shards int    // when the flags are valid
		want   string // else, the error
		not    string // which must not name this
	}{
		{"flag over invalid variable", []string{"--shards", "2"}, map[string]string{"DATA_CLUSTER_SHARDS": "abc"}, 2, "", ""},
		{"flag over valid variable", []string{"--shards", "2"}, map[string]string{"DATA_CLUSTER_SHARDS": "5"}, 2, "", ""},
		{"variable without flag", nil, map[string]string{"DATA_CLUSTER_SHARDS": "5"}, 5, "", ""},
		{"unparsable variable", nil, map[string]string{"DATA_CLUSTER_SHARDS": "abc"}, 0, `invalid value "abc" for DATA_CLUSTER_SHARDS`, "--shards"},
		{"variable out of range", nil, map[string]string{"DATA_CLUSTER_SHARDS": "0"}, 0, "invalid value 0 for DATA_CLUSTER_SHARDS", "--shards"},
		{"flag out of range", []string{"--shards", "0"}, map[string]string{"DATA_CLUSTER_SHARDS": "5"}, 0, "invalid value 0 for --shards", "DATA_CLUSTER_SHARDS"},
		{"variables multiplied", nil, map[string]string{"DATA_CLUSTER_SHARDS": "1024", "DATA_CLUSTER_VNODES": "4096"}, 0,
			"DATA_CLUSTER_SHARDS times DATA_CLUSTER_VNODES must be at most", "--"},
		{"variable and flag multiplied", []string{"--vnodes", "4096"}, map[string]string{"DATA_CLUSTER_SHARDS": "1024"}, 0,
			"DATA_CLUSTER_SHARDS times --vnodes must be at most", "--shards"},
		{"byte size variable", nil, map[string]string{"DATA_CLUSTER_CLIENT_QUERY_BUFFER_LIMIT": "10"}, 0,
			"invalid value 10 for DATA_CLUSTER_CLIENT_QUERY_BUFFER_LIMIT", "--client-query-buffer-limit"},
		{"slow log variable", nil, map[string]string{"DATA_CLUSTER_SLOWLOG_MAX_LEN": "-1"}, 0,
			"invalid value -1 for DATA_CLUSTER_SLOWLOG_MAX_LEN", "--slowlog-max-len"},
		{"TLS variable", nil, map[string]string{"DATA_CLUSTER_TLS_CERT": "cert.pem"}, 0,
			"DATA_CLUSTER_TLS_CERT, --tls-key and --tls-ca need --tls-addr", "--tls-cert"},
		{"cluster variable", []string{"--initial-cluster", "a=127.0.0.1:1", "--node-id", "a", "--peer-addr", "127.0.0.1:1", "--data-dir", "d"},
			map[string]string{"DATA_CLUSTER_REPLICAS": "0"}, 0, "invalid value 0 for DATA_CLUSTER_REPLICAS", "--replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stderr testutil.SyncBuffer
			opts, code, ok := parseFlags(tt.args, &stderr)
			if tt.want == "" {
				if !ok || opts.shards != tt.shards {
					t.Fatalf("got shards %d, ok %v (exit %d, stderr %q); want %d", opts.shards, ok, code, stderr.String(), tt.shards)
				}
				return
			}
			if ok || code != exitUsage || !strings.Contains(stderr.String(), tt.want) || strings.Contains(stderr.String(), tt.not) {
				t.Fatalf("got exit %d, stderr %q; want %d saying %q and not %q", code, stderr.String(), exitUsage, tt.want, tt.not)
			}
		})
	}
}

// TestEveryFlagWinsOverItsVariable gives every flag its default on the
// command line and sets every variable to a value no flag accepts: none of
// them is read.
func TestEveryFlagWinsOverItsVariable(t *testing.T) {
	var want options
	fs := flagSet(&want, io.Discard)
	var args []string
	fs.VisitAll(func(f *flag.Flag) {
		t.Setenv(envName(f.Name), "not a value")
		args = append(args, "--"+f.Name+"="+f.DefValue)
	})
	var stderr testutil.SyncBuffer
	got, code, ok := parseFlags(args, &stderr)
	if !ok {
		t.Fatalf("got exit %d, stderr %q; want the variables left unread", code, stderr.String())
	}
	if len(got.from) != 0 {
		t.Fatalf("values read from the environment: %v, want none", got.from)
	}
	got.from = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want the defaults %+v", got, want)
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		in   byteSize
		want string
	}{
		{0, "0"}, {1000, "1000"}, {1024, "1kb"}, {1536, "1536"}, {2048, "2kb"}, {64 << 20, "64mb"},
		{512 << 20, "512mb"}, {1 << 30, "1gb"}, {3 << 30, "3gb"}, {1<<30 + 1<<20, "1025mb"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("byteSize(%d).String(): got %q, want %q", int64(tt.in), got, tt.want)
		}
		if back, err := parseByteSize(tt.in.String()); err != nil || back != int64(tt.in) {
			t.Errorf("parseByteSize(%q): got %d, %v; want %d", tt.in.String(), back, err, int64(tt.in))
		}
	}
}

// TestHelpListsBothUnits checks that every byte-size flag's help gives both
// kinds of units, as redis.conf explains them: k, m, g in powers of 1000,
// kb, mb, gb in powers of 1024.
func TestHelpListsBothUnits(t *testing.T) {
	help := helpFlags(t, "--help")
	fs := flagSet(&options{}, io.Discard)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(*byteSize); !ok {
			return
		}
		n++
		for _, want := range []string{"k, m, g are 1000, 1000^2, 1000^3 bytes", "kb, mb, gb are 1024, 1024^2, 1024^3 bytes"} {
			if !strings.Contains(help[f.Name].usage, want) {
				t.Errorf("--%s: help %q lacks %q", f.Name, help[f.Name].usage, want)
			}
		}
	})
	if n < 5 {
		t.Fatalf("found %d byte-size flags, want at least 5", n)
	}
}

// TestListenIPv4 checks that an IPv4 address, the wildcard included, is
// listened on and named as given rather than as Go's dual-stack [::].
func TestListenIPv4(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "127.0.0.1:0"} {
		t.Run(addr, func(t *testing.T) {
			ln, err := listenTCP(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			host, _, _ := net.SplitHostPort(addr)
			if got := ln.Addr().String(); !strings.HasPrefix(got, host+":") {
				t.Fatalf("listener on %s: got %s, want %s:port", addr, got, host)
			}
		})
	}
	banner, _ := runInProcess(t, "--addr", "0.0.0.0:0")
	addr := strings.Fields(banner)[3]
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "0.0.0.0" || port == "0" {
		t.Fatalf("ready line %q: want the address as given, 0.0.0.0 and the bound port", banner)
	}
	nc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(nc, "SET a 1\n")
	if got, _ := bufio.NewReader(nc).ReadString('\n'); got != "OK\n" {
		t.Fatalf("got %q, want OK", got)
	}
}

// runInProcess runs the server with args until the test ends, and returns
// its ready line and its log. It reads the ready line through a pipe, so
// it waits for it without polling.
func runInProcess(t *testing.T, args ...string) (banner string, stderr *testutil.SyncBuffer) {
	t.Helper()
	procs := runtime.GOMAXPROCS(0) // run sets it (--procs)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &testutil.SyncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, pw, stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("exit status %d, want 0; stderr %q", code, stderr.String())
		}
		runtime.GOMAXPROCS(procs)
	})
	banner, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "Server listening on ") {
		t.Fatalf("ready line: got %q, %v; stderr %q", banner, err, stderr.String())
	}
	return banner, stderr
}

// helpFlag is a flag as --help shows it.
type helpFlag struct {
	def   string // the default shown, unquoted; "" when none is
	usage string
}

// helpFlags runs data-cluster with args, which ask for help, and returns
// the flags the help lists.
func helpFlags(t *testing.T, args ...string) map[string]helpFlag {
	t.Helper()
	var stdout, stderr testutil.SyncBuffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("%v: exit status %d, want 0", args, code)
	}
	name := regexp.MustCompile(`^  -([a-z0-9-]+)( |$)`)
	def := regexp.MustCompile(`\(default (.+)\)$`)
	flags := map[string]helpFlag{}
	cur := ""
	for _, l := range strings.Split(stderr.String(), "\n") {
		if m := name.FindStringSubmatch(l); m != nil {
			cur = m[1]
			flags[cur] = helpFlag{}
			continue
		}
		if cur == "" || !strings.HasPrefix(l, "    \t") {
			continue
		}
		f := flags[cur]
		f.usage = strings.TrimSpace(l)
		if m := def.FindStringSubmatch(l); m != nil {
			f.def = m[1]
			if s, err := strconv.Unquote(m[1]); err == nil {
				f.def = s
			}
		}
		flags[cur] = f
	}
	if len(flags) == 0 {
		t.Fatalf("%v lists no flags:\n%s", args, stderr.String())
	}
	return flags
}

// TestIOURingFlag runs the server with each setting of --io-uring and
// asks it over TCP which path serves (INFO's multiplexing_api): the loop
// by default, with a data directory too, and goroutines with
// --io-uring=false.
func TestIOURingFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "io_uring"},
		{"off", []string{"--io-uring=false"}, "epoll"},
		{"data directory", []string{"--data-dir", t.TempDir()}, "io_uring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			banner, stderr := runInProcess(t, append([]string{"--addr", "127.0.0.1:0"}, tc.args...)...)
			if tc.want == "io_uring" && strings.Contains(stderr.String(), "io_uring refused") {
				t.Skipf("NOT TESTED: this host refuses io_uring: %s", stderr.String())
			}
			addr := strings.TrimSuffix(strings.TrimPrefix(banner, "Server listening on "), " — commands: GET <key> | SET <key> <value> | DELETE <key> | LIST\n")
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(nc, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
			rd := bufio.NewReader(nc)
			head, err := rd.ReadString('\n')
			if err != nil || !strings.HasPrefix(head, "$") {
				t.Fatalf("INFO: %q, %v", head, err)
			}
			n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
			body := make([]byte, n)
			if _, err := io.ReadFull(rd, body); err != nil {
				t.Fatal(err)
			}
			if want := "multiplexing_api:" + tc.want + "\r\n"; !strings.Contains(string(body), want) {
				t.Fatalf("INFO server has no %q:\n%s", want, body)
			}
		})
	}
}
