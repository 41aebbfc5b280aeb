package server

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInfoFieldsRedisCliReads checks the INFO fields that redis-cli's modes
// read: --stat (keys per db line, used_memory, connected_clients,
// blocked_clients, total_commands_processed, total_connections_received,
// and the child fields rdb_bgsave_in_progress, aof_rewrite_in_progress,
// loading), --bigkeys and --memkeys (db0's keys), and the sections INFO
// must have for redis-cli to parse them.
func TestInfoFieldsRedisCliReads(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for i := range 7 {
		c.raw("SET", "k"+strconv.Itoa(i), "v")
	}
	c.raw("EXPIRE", "k0", "100")
	info := c.call("INFO").(string)
	f := infoFields(info)
	for _, name := range []string{"used_memory", "connected_clients", "blocked_clients", "total_commands_processed",
		"total_connections_received", "rdb_bgsave_in_progress", "aof_rewrite_in_progress", "loading",
		"total_error_replies"} {
		v, ok := f[name]
		if !ok {
			t.Errorf("INFO lacks %s", name)
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			t.Errorf("%s: %q is not an integer", name, v)
		}
	}
	if f["connected_clients"] != "1" || f["blocked_clients"] != "0" {
		t.Errorf("clients: connected %s, blocked %s; want 1 and 0", f["connected_clients"], f["blocked_clients"])
	}
	if n, _ := strconv.Atoi(f["total_commands_processed"]); n < 8 {
		t.Errorf("total_commands_processed: got %d, want at least 8", n)
	}
	// redis-cli --stat reads "keys=" from the db0 line.
	if db := subFields(f["db0"]); db["keys"] != 7 || db["expires"] != 1 {
		t.Errorf("db0: got %q, want keys=7,expires=1", f["db0"])
	}
	for _, sec := range []string{"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Persistence\r\n", "# Stats\r\n", "# Keyspace\r\n"} {
		if !strings.Contains(info, sec) {
			t.Errorf("INFO lacks %q", sec)
		}
	}
	// instantaneous_ops_per_sec, sampled every 100 ms, follows the
	// commands sent while it is sampled.
	deadline := time.Now().Add(10 * time.Second)
	for {
		for range 100 {
			c.raw("PING")
		}
		if n, _ := strconv.Atoi(infoFields(c.call("INFO", "stats").(string))["instantaneous_ops_per_sec"]); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instantaneous_ops_per_sec stayed 0 under PINGs for 10 s")
		}
	}
}
