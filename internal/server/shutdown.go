package server

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// SHUTDOWN's replies, with Redis 7.0's texts.
const (
	// MsgNoShutdown answers SHUTDOWN ABORT: no shutdown ever waits to be
	// aborted here (Redis's waits for lagging replicas).
	MsgNoShutdown = "ERR No shutdown in progress."
	// MsgShutdownFailed answers a SHUTDOWN SAVE whose snapshot failed,
	// without FORCE: the server goes on.
	MsgShutdownFailed = "ERR Errors trying to SHUTDOWN. Check logs."
)

// errSaveOff is logged when SHUTDOWN SAVE finds persistence off.
var errSaveOff = errors.New("persistence is off (no --data-dir): there is nothing to save the data to")

// ShutdownOptions are SHUTDOWN's modifiers.
type ShutdownOptions struct {
	NoSave bool // skip the snapshot; stop even while a script runs
	Save   bool // write a snapshot before stopping
	Now    bool // accepted: there are no replicas to wait for
	Force  bool // stop even when the snapshot failed
	Abort  bool // answered MsgNoShutdown
}

// ParseShutdown reads the arguments of SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]
// [ABORT] as Redis 7.0 does: any order, repeats allowed, ABORT alone. It
// returns the error reply for arguments Redis refuses, or "".
func ParseShutdown(args [][]byte) (o ShutdownOptions, msg string) {
	for _, a := range args[1:] {
		switch lower(a) {
		case "nosave":
			o.NoSave = true
		case "save":
			o.Save = true
		case "now":
			o.Now = true
		case "force":
			o.Force = true
		case "abort":
			o.Abort = true
		default:
			return o, "ERR syntax error"
		}
	}
	if (o.Abort && (o.NoSave || o.Save || o.Now || o.Force)) || (o.NoSave && o.Save) {
		return o, "ERR syntax error"
	}
	return o, ""
}

// shutdown implements SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Once
// the snapshot SAVE asks for is written, the server is stopped as a signal
// stops it (Config.OnShutdown). The client gets no reply: its connection
// stays open until the server has stopped, as a Redis client's closes when
// the process exits.
func (s *session) shutdown(w *resp.Writer, args [][]byte) {
	o, msg := ParseShutdown(args)
	if msg == "" {
		msg = s.c.s.prepareShutdown(o, s.c.logger())
	}
	if msg != "" {
		w.AppendError(msg)
		return
	}
	s.c.quit, s.c.keepOpen = true, true
	s.c.s.stopForClient()
}

// prepareShutdown does what SHUTDOWN does before the server stops, and
// returns the error reply when it must not stop, or "". Without NOSAVE a
// busy script refuses it, as in Redis; with NOSAVE every script under way
// is stopped, since the stop waits for the connections.
func (s *Server) prepareShutdown(o ShutdownOptions, log *slog.Logger) string {
	if o.Abort {
		return MsgNoShutdown
	}
	if !o.NoSave {
		if err := s.scripts.BusyError(); err != nil {
			return err.Error()
		}
	}
	if o.Save {
		err := errSaveOff
		if s.store != nil {
			err = s.store.Save(context.Background(), true, false)
		}
		if err != nil {
			if !o.Force {
				log.Error("SHUTDOWN SAVE: the snapshot failed; not stopping", "err", err)
				return MsgShutdownFailed
			}
			log.Error("SHUTDOWN SAVE: the snapshot failed; stopping anyway (FORCE)", "err", err)
		}
	}
	if o.NoSave {
		if n := s.scripts.StopAll(); n > 0 {
			log.Warn("SHUTDOWN NOSAVE: stopped the scripts under way", "scripts", n)
		}
	}
	log.Info("SHUTDOWN: stopping the server")
	return ""
}

// stopForClient stops the server for a client's SHUTDOWN: through
// Config.OnShutdown when set, else by calling Shutdown.
func (s *Server) stopForClient() {
	if stop := s.cfg().OnShutdown; stop != nil {
		stop()
		return
	}
	go s.Shutdown(context.Background())
}

// closeLater keeps the socket of a client that asked for SHUTDOWN open
// until Shutdown ends.
func (s *Server) closeLater(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = append(s.held, nc)
}

// closeHeld closes the sockets closeLater kept.
func (s *Server) closeHeld() {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, nc := range held {
		nc.Close()
	}
}
