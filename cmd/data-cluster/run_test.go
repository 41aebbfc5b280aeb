package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
		{nil, map[string]string{"DATA_CLUSTER_PROCS": "5000"}, exitUsage, "invalid value 5000 for --procs"},
		{[]string{"--addr", "nohostport"}, nil, exitUsage, "--addr"},
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
