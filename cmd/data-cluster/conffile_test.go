package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/config"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/testutil"
	"github.com/redis/go-redis/v9"
)

func writeConf(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigFileErrors checks that a bad configuration file stops the
// server before it listens, with exit status 2 and one line naming the file
// and the line.
func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // main.conf and what it includes
		where string            // "file:line" the error names
		want  string
	}{
		{"unknown name", map[string]string{"main.conf": "# c\nshards 2\nnosuch 1\n"}, "main.conf:3", `unknown parameter "nosuch"`},
		{"bad value", map[string]string{"main.conf": "maxmemory abc\n"}, "main.conf:1", `invalid value "abc" for maxmemory`},
		{"bad Redis name value", map[string]string{"main.conf": "\nappendfsync sometimes\n"}, "main.conf:2", "fsync"},
		{"out of range", map[string]string{"main.conf": "shards 2\nmaxmemory-samples 0\n"}, "main.conf:2", "invalid value 0 for maxmemory-samples"},
		{"Redis name out of range", map[string]string{"main.conf": "maxclients 0\n"}, "main.conf:1", "invalid value 0 for maxclients"},
		{"quotes", map[string]string{"main.conf": "requirepass \"open\n"}, "main.conf:1", "unbalanced quotes"},
		{"missing include", map[string]string{"main.conf": "shards 2\ninclude none.conf\n"}, "main.conf:2", "include"},
		{"include loop", map[string]string{"main.conf": "include a.conf\n", "a.conf": "shards 2\ninclude main.conf\n"}, "a.conf:2", "include loop"},
		{"error in include", map[string]string{"main.conf": "include a.conf\n", "a.conf": "timeout x\n"}, "a.conf:1", `invalid value "x" for timeout`},
		{"config in a file", map[string]string{"main.conf": "config other.conf\n"}, "main.conf:1", "config cannot be set"},
		{"no value", map[string]string{"main.conf": "maxmemory\n"}, "main.conf:1", "needs a value"},
		{"read-only parameter", map[string]string{"main.conf": "databases 16\n"}, "main.conf:1", "databases cannot be set"},
		{"bad collection limit", map[string]string{"main.conf": "hash-max-listpack-entries x\n"}, "main.conf:1", "argument couldn't be parsed into an integer"},
		{"bad output class", map[string]string{"main.conf": "client-output-buffer-limit master 1 2 3\n"}, "main.conf:1", "unknown class"},
		{"bad pubsub limit", map[string]string{"main.conf": "client-output-buffer-limit pubsub 1x 2 3\n"}, "main.conf:1", "client-output-buffer-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, text := range tt.files {
				writeConf(t, dir, n, text)
			}
			var stdout, stderr testutil.SyncBuffer
			code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--config", filepath.Join(dir, "main.conf")}, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit status: got %d, want %d (stderr %q)", code, exitUsage, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, filepath.Join(dir, tt.where)) || !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q: want one line naming %s and saying %q", msg, tt.where, tt.want)
			}
			if stdout.String() != "" {
				t.Errorf("stdout %q: want nothing (the server must not start)", stdout.String())
			}
		})
	}
	var stderr testutil.SyncBuffer
	if code := run(context.Background(), []string{"--config", filepath.Join(t.TempDir(), "none.conf")}, &stderr, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "none.conf") {
		t.Errorf("missing file: got exit %d, %q", code, stderr.String())
	}
}

// TestConfigFilePrecedence sets values in a file (by flag names and Redis
// names, through an include and with quotes), in the environment and on the
// command line: the command line wins over the environment, which wins over
// the file.
func TestConfigFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	writeConf(t, dir, "more.conf", "timeout 9\nmaxclients 55\n")
	path := writeConf(t, dir, "main.conf", "# settings\nshards 4\nvnodes 16\ninclude more.conf\nmaxmemory 100mb\nrequirepass \"a b\"\n"+
		"loglevel warning\nappendfsync no\nclient-output-buffer-limit normal 0 0 0 replica 1 2 3 pubsub 1mb 2kb 3\n")
	t.Setenv("DATA_CLUSTER_SHARDS", "5")
	t.Setenv("DATA_CLUSTER_TIMEOUT", "3")
	t.Setenv("DATA_CLUSTER_CONFIG", path)
	var stderr testutil.SyncBuffer
	opts, code, ok := parseFlags([]string{"--shards", "6"}, &stderr)
	if !ok {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"shards (flag over variable over file)", opts.shards, 6},
		{"vnodes (file)", opts.vnodes, 16},
		{"timeout (variable over file)", opts.sec.timeout, 3},
		{"maxclients (file, Redis name, included)", opts.sec.maxClients, 55},
		{"maxmemory (file)", int64(opts.sec.maxMemory), int64(100 << 20)},
		{"requirepass (quoted)", opts.sec.requirePass, "a b"},
		{"loglevel", opts.obs.logLevel, "warning"},
		{"appendfsync", opts.persist.fsync, "no"},
		{"normal output limit", int64(opts.sec.outputBuffer), int64(0)},
		{"pubsub output limit", opts.sec.pubsubLimit.Hard, int64(1 << 20)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := opts.from.name("maxmemory"); got != "maxmemory ("+path+":5)" {
		t.Errorf("the file's value is named %q", got)
	}
}

// TestConfigFileRewriteRoundTrip starts a server from a file, changes
// settings with CONFIG SET, rewrites the file with CONFIG REWRITE, and
// starts a second server from it: it has the values set, and the file
// keeps its comments.
func TestConfigFileRewriteRoundTrip(t *testing.T) {
	defer object.SetLimits(object.DefaultLimits())
	dir := t.TempDir()
	path := writeConf(t, dir, "server.conf", "# Top comment\nshards 2\n\n# memory\nmaxmemory 100mb\nhash-max-listpack-entries 100\n")
	ctx := context.Background()
	set := []string{
		"maxmemory", "200mb", "maxmemory-policy", "allkeys-lru", "maxmemory-samples", "7", "timeout", "11",
		"maxclients", "321", "client-query-buffer-limit", "2mb", "proto-max-bulk-len", "3mb",
		"slowlog-log-slower-than", "-1", "slowlog-max-len", "9", "requirepass", "it's \"quoted\"",
		"appendfsync", "always", "loglevel", "verbose", "protected-mode", "no",
		"client-output-buffer-limit", "normal 5mb 0 0 pubsub 4mb 1mb 30", "client-output-timeout", "13",
		"hash-max-listpack-entries", "64", "zset-max-listpack-value", "33", "list-max-listpack-size", "-3",
		"stream-node-max-bytes", "8kb", "hll-sparse-max-bytes", "2000",
	}
	values := func(addr, pass string) map[string]string {
		rc := redis.NewClient(&redis.Options{Addr: addr, Password: pass})
		defer rc.Close()
		v, err := rc.ConfigGet(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var want map[string]string
	func() {
		banner, _ := runInProcess(t, "--addr", "127.0.0.1:0", "--config", path)
		addr := bannerAddr(t, banner)
		rc := redis.NewClient(&redis.Options{Addr: addr})
		defer rc.Close()
		args := []any{"CONFIG", "SET"}
		for _, a := range set {
			args = append(args, a)
		}
		if err := rc.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rc.Do(ctx, "CONFIG", "REWRITE").Err(); err != nil {
			t.Fatal(err)
		}
		want = values(addr, "it's \"quoted\"")
	}()
	text, _ := os.ReadFile(path)
	for _, keep := range []string{"# Top comment\nshards 2\n\n# memory\nmaxmemory 200mb\nhash-max-listpack-entries 64\n", "# Generated by CONFIG REWRITE\n"} {
		if !strings.Contains(string(text), keep) {
			t.Errorf("rewritten file does not hold %q:\n%s", keep, text)
		}
	}
	object.SetLimits(object.DefaultLimits())

	banner, _ := runInProcess(t, "--addr", "127.0.0.1:0", "--config", path)
	got := values(bannerAddr(t, banner), "it's \"quoted\"")
	for i := 0; i < len(set); i += 2 {
		name := set[i]
		if got[name] != want[name] {
			t.Errorf("%s: got %q after the restart, want %q", name, got[name], want[name])
		}
	}
}

// bannerAddr returns the address of the ready line.
func bannerAddr(t *testing.T, banner string) string {
	t.Helper()
	f := strings.Fields(strings.TrimPrefix(banner, "Server listening on "))
	if len(f) == 0 {
		t.Fatalf("ready line %q", banner)
	}
	return f[0]
}

// TestConfigFileCluster sets a cluster node's flags from a file, and checks
// the file's other parameters against a node's.
func TestConfigFileCluster(t *testing.T) {
	dir := t.TempDir()
	path := writeConf(t, dir, "node.conf", "node-id a\ninitial-cluster a=127.0.0.1:1\npeer-addr 127.0.0.1:1\n"+
		"replicas 1\ndata-dir "+config.Quote(filepath.Join(dir, "data"))+"\ncluster-redirects yes\nhash-max-listpack-entries 10\n")
	var stderr testutil.SyncBuffer
	opts, code, ok := parseFlags([]string{"--config", path}, &stderr)
	if !ok {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !opts.cluster.enabled() || opts.cluster.nodeID != "a" || opts.cluster.peerAddr != "127.0.0.1:1" || !opts.cluster.redirects {
		t.Errorf("cluster options from the file: got %+v", opts.cluster)
	}
	if len(opts.params) != 1 || opts.params[0].name != "hash-max-listpack-entries" {
		t.Errorf("got parameters %+v, want hash-max-listpack-entries", opts.params)
	}
}
