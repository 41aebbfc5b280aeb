package server

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// MemoryServerSub reports whether MEMORY's subcommand in args reads the
// whole server (STATS, DOCTOR, MALLOC-STATS, PURGE) rather than one key, so
// that the connection answers it (with Memory) instead of a shard.
func MemoryServerSub(args [][]byte) bool {
	if len(args) < 2 {
		return false
	}
	for _, s := range []string{"stats", "doctor", "malloc-stats", "purge"} {
		if ascii.EqualFold(args[1], s) {
			return true
		}
	}
	return false
}

// memoryOverhead is Redis's breakdown of the memory in use (its struct
// redisMemOverhead), with this server's figures where it has them and 0
// where the concept does not exist here (replication backlog, replica
// buffers, cluster links, AOF buffer, functions).
type memoryOverhead struct {
	peak, total, startup   int64
	clientsNormal, clients int64
	luaCaches, scripts     int64
	overheadTotal          int64
	keys                   int64
	bytesPerKey            int64
	dataset                int64
	datasetPct, peakPct    float32
	// The Go heap: allocated (HeapAlloc), active (HeapInuse), resident
	// (HeapSys minus what was given back to the OS), and the process's RSS.
	allocated, active, resident, rss int64
}

// MemoryFigures are what a server knows of its memory, for MEMORY STATS
// and MEMORY DOCTOR; the Go heap's figures are read by Memory itself.
type MemoryFigures struct {
	Used         int64 // used_memory
	Keys         int64 // keys in the keyspace
	Clients      int64 // connected clients
	ClientsBytes int64 // their buffers
	Scripts      int64 // cached Lua scripts
}

// memoryFigures gathers this server's figures: used_memory (what the
// shards count for their keys and values), the clients' read buffers and
// pending replies, and the scripts cached.
func (s *Server) memoryFigures() MemoryFigures {
	f := MemoryFigures{Used: s.usedMemory()}
	for _, c := range s.clients() {
		f.Clients++
		f.ClientsBytes += c.bufSize.Load()
		if ob := c.ob.Load(); ob != nil {
			f.ClientsBytes += ob.Pending()
		}
	}
	if s.scripts != nil {
		f.Scripts = int64(s.scripts.Cache.Len())
	}
	for _, sh := range s.router.Shards() {
		f.Keys += sh.Keys()
	}
	return f
}

// overheadOf derives the figures of MEMORY STATS and MEMORY DOCTOR
// from f and the Go heap. total is used_memory; startup is 0, as the
// keyspace is counted from empty; the peak is the larger of used_memory
// and the Go heap's high-water mark (INFO's used_memory_peak).
func overheadOf(f MemoryFigures) memoryOverhead {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var m memoryOverhead
	m.total = f.Used
	m.peak = max(m.total, int64(ms.HeapSys))
	m.clients, m.clientsNormal, m.scripts, m.keys = f.Clients, f.ClientsBytes, f.Scripts, f.Keys
	m.overheadTotal = m.startup + m.clientsNormal + m.luaCaches
	net := m.total - m.startup
	if m.keys > 0 {
		m.bytesPerKey = net / m.keys
	}
	m.dataset = max(m.total-m.overheadTotal, 0)
	if net > 0 {
		m.datasetPct = float32(float64(m.dataset) * 100 / float64(net))
	}
	if m.peak > 0 {
		m.peakPct = float32(float64(m.total) * 100 / float64(m.peak))
	}
	m.allocated = int64(ms.HeapAlloc)
	m.active = int64(ms.HeapInuse)
	m.resident = int64(ms.HeapSys - ms.HeapReleased)
	m.rss = int64(residentBytes())
	return m
}

// ratio is a/b as Redis computes its ratios, in single precision; 0 when b
// is 0.
func ratio(a, b int64) float32 {
	if b == 0 {
		return 0
	}
	return float32(a) / float32(b)
}

// appendFloat32 writes f as Redis's addReplyDouble writes a float: a RESP3
// double, or in RESP2 a bulk string of 17 significant digits.
func appendFloat32(w *resp.Writer, f float32) {
	if w.Proto() == 3 {
		w.AppendDouble(float64(f))
		return
	}
	w.AppendBulkString(strconv.FormatFloat(float64(f), 'g', 17, 64))
}

// memory answers the MEMORY subcommands that read the whole server.
func (s *session) memory(w *resp.Writer, args [][]byte) {
	Memory(w, args, s.c.s.memoryFigures)
}

// Memory answers the MEMORY subcommands that read the whole server: STATS,
// DOCTOR, MALLOC-STATS and PURGE (USAGE and HELP run on a key's shard),
// with the figures figures returns. A cluster node answers them the same
// way.
func Memory(w *resp.Writer, args [][]byte, figures func() MemoryFigures) {
	sub := lower(args[1])
	if len(args) != 2 {
		SubArity(w, "memory", sub)
		return
	}
	switch sub {
	case "stats":
		memoryStats(w, overheadOf(figures()))
	case "doctor":
		w.AppendVerbatim("txt", []byte(memoryDoctor(overheadOf(figures()))))
	case "malloc-stats":
		w.AppendVerbatim("txt", []byte(mallocStats()))
	case "purge":
		debug.FreeOSMemory()
		w.AppendOK()
	}
}

// memoryStats writes MEMORY STATS: Redis 7.0's fields in its order.
func memoryStats(w *resp.Writer, m memoryOverhead) {
	w.AppendMap(28)
	ints := func(pairs ...any) {
		for i := 0; i < len(pairs); i += 2 {
			w.AppendBulkString(pairs[i].(string))
			w.AppendInt(pairs[i+1].(int64))
		}
	}
	ints("peak.allocated", m.peak, "total.allocated", m.total, "startup.allocated", m.startup,
		"replication.backlog", int64(0), "clients.slaves", int64(0), "clients.normal", m.clientsNormal,
		"cluster.links", int64(0), "aof.buffer", int64(0), "lua.caches", m.luaCaches,
		"functions.caches", int64(0))
	w.AppendBulkString("db.0")
	w.AppendMap(3)
	ints("overhead.hashtable.main", int64(0), "overhead.hashtable.expires", int64(0),
		"overhead.hashtable.slot-to-keys", int64(0))
	ints("overhead.total", m.overheadTotal, "keys.count", m.keys, "keys.bytes-per-key", m.bytesPerKey,
		"dataset.bytes", m.dataset)
	w.AppendBulkString("dataset.percentage")
	appendFloat32(w, m.datasetPct)
	w.AppendBulkString("peak.percentage")
	appendFloat32(w, m.peakPct)
	ints("allocator.allocated", m.allocated, "allocator.active", m.active, "allocator.resident", m.resident)
	w.AppendBulkString("allocator-fragmentation.ratio")
	appendFloat32(w, ratio(m.active, m.allocated))
	ints("allocator-fragmentation.bytes", m.active-m.allocated)
	w.AppendBulkString("allocator-rss.ratio")
	appendFloat32(w, ratio(m.resident, m.active))
	ints("allocator-rss.bytes", m.resident-m.active)
	w.AppendBulkString("rss-overhead.ratio")
	appendFloat32(w, ratio(m.rss, m.resident))
	ints("rss-overhead.bytes", m.rss-m.resident)
	w.AppendBulkString("fragmentation")
	appendFloat32(w, ratio(m.rss, m.total))
	ints("fragmentation.bytes", m.rss-m.total)
}

// Texts of MEMORY DOCTOR, Redis 7.0's.
const (
	doctorFine  = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
	doctorEmpty = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
)

// memoryDoctor writes MEMORY DOCTOR's report with Redis's rules and texts:
// below 5 MiB of used_memory the instance counts as empty; otherwise it
// reports a peak above 150% of the memory in use, fragmentation and RSS
// overheads above their ratios and 10 MiB, clients holding more than 200
// KiB each, and more than 1000 cached scripts. The Go heap stands for the
// allocator.
func memoryDoctor(m memoryOverhead) string {
	const mib10 = 10 << 20
	var issues []string
	if m.total < 5<<20 {
		return doctorEmpty
	}
	if float32(m.peak)/float32(m.total) > 1.5 {
		issues = append(issues, " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n")
	}
	if ratio(m.rss, m.total) > 1.4 && m.rss-m.total > mib10 {
		issues = append(issues, " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"go\".\n\n")
	}
	if ratio(m.active, m.allocated) > 1.1 && m.active-m.allocated > mib10 {
		issues = append(issues, " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n")
	}
	if ratio(m.resident, m.active) > 1.1 && m.resident-m.active > mib10 {
		issues = append(issues, " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n")
	}
	if ratio(m.rss, m.resident) > 1.1 && m.rss-m.resident > mib10 {
		issues = append(issues, " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n")
	}
	if m.clients > 0 && m.clientsNormal/m.clients > 200<<10 {
		issues = append(issues, " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n")
	}
	if m.scripts > 1000 {
		issues = append(issues, " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n")
	}
	if len(issues) == 0 {
		return doctorFine
	}
	return "Sam, I detected a few issues in this Redis instance memory implants:\n\n" + strings.Join(issues, "") +
		"I'm here to keep you safe, Sam. I want to help you.\n"
}

// mallocStats renders MEMORY MALLOC-STATS: where Redis prints jemalloc's
// statistics, the Go runtime's, one figure a line.
func mallocStats() string {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var b strings.Builder
	b.WriteString("___ Begin Go runtime memory statistics ___\n")
	fmt.Fprintf(&b, "Version: %q\n", runtime.Version())
	for _, f := range []struct {
		name string
		v    uint64
	}{
		{"heap.alloc", ms.HeapAlloc}, {"heap.inuse", ms.HeapInuse}, {"heap.idle", ms.HeapIdle},
		{"heap.sys", ms.HeapSys}, {"heap.released", ms.HeapReleased}, {"heap.objects", ms.HeapObjects},
		{"stack.inuse", ms.StackInuse}, {"stack.sys", ms.StackSys},
		{"mspan.inuse", ms.MSpanInuse}, {"mspan.sys", ms.MSpanSys},
		{"mcache.inuse", ms.MCacheInuse}, {"mcache.sys", ms.MCacheSys},
		{"gc.sys", ms.GCSys}, {"other.sys", ms.OtherSys}, {"buckhash.sys", ms.BuckHashSys},
		{"sys", ms.Sys}, {"total.alloc", ms.TotalAlloc}, {"mallocs", ms.Mallocs}, {"frees", ms.Frees},
		{"gc.count", uint64(ms.NumGC)}, {"gc.forced", uint64(ms.NumForcedGC)},
		{"gc.next", ms.NextGC}, {"gc.pause_total_ns", ms.PauseTotalNs},
	} {
		fmt.Fprintf(&b, "%s: %d\n", f.name, f.v)
	}
	if ms.NumGC > 0 {
		fmt.Fprintf(&b, "gc.last_pause_ns: %d\n", ms.PauseNs[(ms.NumGC+255)%256])
	}
	fmt.Fprintf(&b, "gc.cpu_fraction: %s\n", strconv.FormatFloat(math.Round(ms.GCCPUFraction*1e6)/1e6, 'f', -1, 64))
	b.WriteString("--- End Go runtime memory statistics ---\n")
	return b.String()
}
