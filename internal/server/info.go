package server

import (
	"slices"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
)

// wantDefault marks the sections INFO shows without arguments: all but
// commandstats and latencystats, as in Redis.
func wantDefault(want map[string]bool) {
	for _, sec := range infoSections {
		if sec != "commandstats" && sec != "latencystats" {
			want[sec] = true
		}
	}
}

// infoCommandStats renders INFO's commandstats section in Redis's format,
// one line per command that was called, failed or refused since the start
// or the last CONFIG RESETSTAT, sorted by name:
//
//	cmdstat_get:calls=3,usec=12,usec_per_call=4.00,rejected_calls=0,failed_calls=0
func (s *Server) infoCommandStats() [][2]string {
	counters := s.commandCountersSinceReset()
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
