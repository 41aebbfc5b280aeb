package server

import (
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
)

// InfoWant returns the sections that INFO's arguments ask for, out of
// sections (lower case): every one for "all" or "everything", those not
// listed in notDefault for "default" or for no argument, as Redis leaves
// commandstats and latencystats out of them, and any other argument as the
// section it names. A name that is no section selects nothing.
func InfoWant(args [][]byte, sections []string, notDefault ...string) map[string]bool {
	want := map[string]bool{}
	defaults := func() {
		for _, sec := range sections {
			if !slices.Contains(notDefault, sec) {
				want[sec] = true
			}
		}
	}
	if len(args) == 0 {
		defaults()
	}
	for _, a := range args {
		switch n := lower(a); n {
		case "all", "everything":
			for _, sec := range sections {
				want[sec] = true
			}
		case "default":
			defaults()
		default:
			want[n] = true
		}
	}
	return want
}

// InfoText is INFO's reply being written: sections of "field:value" lines
// under a "# Title" line, separated by an empty line, each line ending in
// CRLF, as Redis writes it.
type InfoText struct {
	b strings.Builder
}

// Add appends the section title with its fields.
func (t *InfoText) Add(title string, fields [][2]string) {
	if t.b.Len() > 0 {
		t.b.WriteString("\r\n")
	}
	t.b.WriteString("# " + title + "\r\n")
	for _, f := range fields {
		t.b.WriteString(f[0] + ":" + f[1] + "\r\n")
	}
}

// String returns the sections added so far.
func (t *InfoText) String() string { return t.b.String() }

// ServerFields are the fields of INFO's server section that every kind of
// process shares: mode is Redis's redis_mode (standalone or cluster), port
// the client port, start when the process began serving.
func ServerFields(mode, port string, start, now time.Time) [][2]string {
	up := int64(now.Sub(start).Seconds())
	return [][2]string{
		{"redis_version", command.RedisVersion},
		{"data_cluster_version", Version},
		{"redis_mode", mode},
		{"os", runtime.GOOS + " " + runtime.GOARCH},
		{"arch_bits", "64"},
		{"go_version", runtime.Version()},
		{"process_id", strconv.Itoa(os.Getpid())},
		{"tcp_port", port},
		{"server_time_usec", strconv.FormatInt(now.UnixMicro(), 10)},
		{"uptime_in_seconds", strconv.FormatInt(up, 10)},
		{"uptime_in_days", strconv.FormatInt(up/86400, 10)},
		{"hz", "10"},
	}
}

// PortOf returns the port of addr (host:port), or "" when it has none.
func PortOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}

// MemoryFields are INFO's memory section: used is used_memory (what the
// storage engines count for their keys and values), maxMemory and policy
// what bounds it.
func MemoryFields(used, maxMemory int64, policy string) [][2]string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := residentBytes()
	return [][2]string{
		{"used_memory", strconv.FormatInt(used, 10)},
		{"used_memory_human", humanBytes(uint64(max(used, 0)))},
		{"used_memory_heap", strconv.FormatUint(ms.HeapAlloc, 10)},
		{"used_memory_rss", strconv.FormatUint(rss, 10)},
		{"used_memory_rss_human", humanBytes(rss)},
		{"used_memory_peak", strconv.FormatUint(ms.HeapSys, 10)},
		{"total_system_memory", strconv.FormatUint(totalMemory(), 10)},
		{"maxmemory", strconv.FormatInt(maxMemory, 10)},
		{"maxmemory_human", humanBytes(uint64(max(maxMemory, 0)))},
		{"maxmemory_policy", policy},
		{"mem_allocator", "go"},
		{"gc_cycles", strconv.FormatUint(uint64(ms.NumGC), 10)},
		{"gc_pause_total_ns", strconv.FormatUint(ms.PauseTotalNs, 10)},
	}
}

// CPUFields are INFO's cpu section: the CPU seconds the process has used.
func CPUFields() [][2]string {
	user, sys := cpuTimes()
	return [][2]string{
		{"used_cpu_sys", strconv.FormatFloat(sys, 'f', 6, 64)},
		{"used_cpu_user", strconv.FormatFloat(user, 'f', 6, 64)},
	}
}
