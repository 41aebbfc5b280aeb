package server

import (
	"strconv"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

func (s *session) slowlog(w *resp.Writer, args [][]byte) { s.c.s.slowlog(w, args) }

func (s *Server) slowlog(w *resp.Writer, args [][]byte) { Slowlog(w, args, s.slow) }

// Slowlog implements SLOWLOG GET [count], LEN, RESET and HELP on l.
func Slowlog(w *resp.Writer, args [][]byte, l *slowlog.Log) {
	switch sub := lower(args[1]); sub {
	case "get":
		if len(args) > 3 {
			SubArity(w, "slowlog", sub)
			return
		}
		count := 10
		if len(args) == 3 {
			n, err := strconv.ParseInt(string(args[2]), 10, 64)
			if err != nil || n < -1 {
				w.AppendError("ERR count should be greater than or equal to -1")
				return
			}
			count = int(min(n, int64(maxSlowlogLen)))
		}
		entries := l.Get(count)
		w.AppendArray(len(entries))
		for _, e := range entries {
			w.AppendArray(6)
			w.AppendInt(e.ID)
			w.AppendInt(e.Time)
			w.AppendInt(e.Duration)
			w.AppendArray(len(e.Args))
			for _, a := range e.Args {
				w.AppendBulkString(a)
			}
			w.AppendBulkString(e.Addr)
			w.AppendBulkString(e.Name)
		}
	case "len":
		if len(args) != 2 {
			SubArity(w, "slowlog", sub)
			return
		}
		w.AppendInt(int64(l.Len()))
	case "reset":
		if len(args) != 2 {
			SubArity(w, "slowlog", sub)
			return
		}
		l.Reset()
		w.AppendOK()
	case "help":
		appendHelp(w,
			"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GET [<count>]",
			"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
			"    Entries are made of:",
			"    id, timestamp, time in microseconds, arguments array, client IP and port,",
			"    client name",
			"LEN",
			"    Return the length of the slowlog.",
			"RESET",
			"    Reset the slowlog.",
			"HELP",
			"    Prints this help.")
	default:
		UnknownSubcommand(w, "slowlog", args[1])
	}
}
