package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// infoCommandStats renders INFO's commandstats section in Redis's format,
// one line per command that was called, failed or refused since the start
// or the last CONFIG RESETSTAT, sorted by name:
//
//	cmdstat_get:calls=3,usec=12,usec_per_call=4.00,rejected_calls=0,failed_calls=0
func (s *Server) infoCommandStats() [][2]string {
	return CommandStats(s.commandCountersSinceReset())
}

// CommandStats renders counters, by command ID, as INFO's commandstats
// section does (see infoCommandStats).
func CommandStats(counters []cmdstat.Counters) [][2]string {
	var out [][2]string
	for _, id := range commandIDsByName() {
		c, name := &counters[id], command.NameOf(id)
		if c.Zero() {
			continue
		}
		out = append(out, [2]string{"cmdstat_" + name, cmdstatValue(c)})
	}
	return out
}

// cmdstatValue renders one command's counters as a commandstats line does.
// As in Redis, usec_per_call is the whole microseconds that usec shows
// divided by the calls, in single precision, so that the two agree.
func cmdstatValue(c *cmdstat.Counters) string {
	usec := c.Nanos / 1000
	var per float32
	if c.Calls > 0 {
		per = float32(usec) / float32(c.Calls)
	}
	return "calls=" + strconv.FormatInt(c.Calls, 10) +
		",usec=" + strconv.FormatInt(usec, 10) +
		",usec_per_call=" + strconv.FormatFloat(float64(per), 'f', 2, 64) +
		",rejected_calls=" + strconv.FormatInt(c.Rejected, 10) +
		",failed_calls=" + strconv.FormatInt(c.Failed, 10)
}

// commandIDsByName returns every command ID but 0, sorted by name.
func commandIDsByName() []int {
	ids := make([]int, 0, command.NumIDs())
	for id := 1; id < command.NumIDs(); id++ {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int) int { return strings.Compare(command.NameOf(a), command.NameOf(b)) })
	return ids
}

// info implements INFO [section ...].
func (s *session) info(w *resp.Writer, args [][]byte) {
	s.c.rec.Flush() // count this connection's commands so far
	w.AppendVerbatim("txt", []byte(s.c.s.infoText(args[1:])))
}

var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats", "errorstats", "latencystats", "keyspace", "shards"}

// infoText renders the INFO sections asked for (InfoWant).
func (s *Server) infoText(args [][]byte) string {
	want := InfoWant(args, infoSections, "commandstats", "latencystats")
	var t InfoText
	add := t.Add
	now := time.Now()
	r := s.router
	var keys, expires, expired, hits, misses int64
	for _, sh := range r.Shards() {
		keys += sh.Keys()
		expires += sh.Expires()
		expired += sh.ExpiredKeys()
		h, m := sh.Hits()
		hits += h
		misses += m
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	if want["server"] {
		add("Server", append(ServerFields("standalone", PortOf(s.anyListener()), s.start, now),
			[2]string{"multiplexing_api", s.multiplexingAPI()},
			[2]string{"shards", strconv.Itoa(len(r.Shards()))},
			[2]string{"vnodes", strconv.Itoa(r.Ring().Vnodes())}))
	}
	if want["clients"] {
		add("Clients", [][2]string{
			{"connected_clients", itoa(s.connected.Load())},
			{"maxclients", strconv.Itoa(s.cfg().MaxClients)},
			{"blocked_clients", itoa(s.blocked.Load())},
			{"tracking_clients", itoa(s.track.Stats().Clients)},
		})
	}
	if want["memory"] {
		add("Memory", MemoryFields(s.usedMemory(), s.cfg().MaxMemory, s.cfg().MaxMemoryPolicy.String()))
	}
	if want["persistence"] {
		add("Persistence", s.persistenceInfo())
	}
	if want["stats"] {
		busyR, busyS := r.Busy()
		_, errTotal := s.errorCounts()
		ts := s.track.Stats()
		add("Stats", [][2]string{
			{"total_connections_received", itoa(s.totalConns.Load())},
			{"total_commands_processed", itoa(s.totalCmds.Load())},
			{"instantaneous_ops_per_sec", itoa(s.ops.PerSecond())},
			{"rejected_connections", itoa(s.rejectConns.Load())},
			{"expired_keys", itoa(expired)},
			{"evicted_keys", itoa(s.evictedKeys())},
			{"keyspace_hits", itoa(hits)},
			{"keyspace_misses", itoa(misses)},
			{"total_error_replies", itoa(errTotal)},
			{"tracking_total_keys", itoa(ts.Keys)},
			{"tracking_total_items", itoa(ts.Items)},
			{"tracking_total_prefixes", itoa(ts.Prefixes)},
			{"busy_router", itoa(busyR)},
			{"busy_shard", itoa(busyS)},
		})
	}
	if want["replication"] {
		add("Replication", [][2]string{{"role", "master"}, {"connected_slaves", "0"}})
	}
	if want["cpu"] {
		add("CPU", CPUFields())
	}
	if want["commandstats"] {
		add("Commandstats", s.infoCommandStats())
	}
	if want["errorstats"] {
		add("Errorstats", s.infoErrorStats())
	}
	if want["latencystats"] {
		add("Latencystats", s.infoLatencyStats())
	}
	if want["keyspace"] {
		var f [][2]string
		if keys > 0 {
			f = append(f, [2]string{"db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", keys, expires, s.avgTTL())})
		}
		add("Keyspace", f)
	}
	if want["shards"] {
		var f [][2]string
		for i, sh := range r.Shards() {
			f = append(f, [2]string{"shard" + strconv.Itoa(i),
				fmt.Sprintf("keys=%d,expires=%d,queue=%d,busy=%d", sh.Keys(), sh.Expires(), sh.Pending(), sh.Busy())})
		}
		add("Shards", f)
	}
	return t.String()
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + "B"
	}
	v, suffix := float64(n), "B"
	for _, s := range []string{"K", "M", "G", "T"} {
		if v < unit {
			break
		}
		v /= unit
		suffix = s
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + suffix
}
