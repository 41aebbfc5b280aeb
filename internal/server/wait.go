package server

import (
	"math"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/shard"
)

// WAIT and ROLE.
//
// A server started without --initial-cluster has no replicas, so it
// answers them as a Redis master without replicas does: ROLE says master at
// offset 0 with none attached, and WAIT counts no replica. WAIT for none
// (numreplicas 0 or less) answers 0 at once; WAIT for one or more blocks,
// as Redis's does, until its timeout (0: until the client goes away or
// CLIENT UNBLOCK), then answers 0. Inside EXEC it answers at once. A
// cluster node answers WAIT with the copies of the client's writes
// (internal/cluster, wait.go).

// ParseWait parses WAIT numreplicas timeout: the copies asked for, the time
// to wait in milliseconds (0: no limit, as is a time too large to add to
// now) and Redis's error reply for bad arguments.
func ParseWait(args [][]byte) (replicas int64, timeout time.Duration, errReply string) {
	replicas, ok := resp.ParseInt(args[1])
	if !ok {
		return 0, 0, "ERR value is not an integer or out of range"
	}
	ms, ok := resp.ParseInt(args[2])
	switch {
	case !ok:
		return 0, 0, "ERR timeout is not an integer or out of range"
	case ms < 0:
		return 0, 0, "ERR timeout is negative"
	case ms > math.MaxInt64/int64(time.Millisecond):
		ms = 0
	}
	return replicas, time.Duration(ms) * time.Millisecond, ""
}

// AppendRole writes ROLE's reply for a master with no replica attached.
func AppendRole(w *resp.Writer) {
	w.AppendArray(3)
	w.AppendBulkString("master")
	w.AppendInt(0)
	w.AppendArray(0)
}

func (s *session) role(w *resp.Writer, _ [][]byte) { AppendRole(w) }

// wait implements WAIT. A wait that blocks is left to run (see run), after
// the command's own time is counted: the time it waits is not the
// command's, as in Redis's slow log.
func (s *session) wait(w *resp.Writer, args [][]byte) {
	n, timeout, msg := ParseWait(args)
	switch {
	case msg != "":
		w.AppendError(msg)
	case n <= 0 || s.inExec:
		w.AppendInt(0)
	default:
		s.waitFor, s.waiting = timeout, true
	}
}

// waitReplicas blocks the connection for a WAIT that asked for replicas
// this server does not have, and answers 0 when the wait ends: at its
// timeout, or at CLIENT UNBLOCK … TIMEOUT; CLIENT UNBLOCK … ERROR answers
// Redis's UNBLOCKED error.
func (s *session) waitReplicas(timeout time.Duration) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	// Parked nowhere: only the timeout, CLIENT UNBLOCK or the client's
	// leaving end it.
	s.c.wait(&shard.Waiter{}, deadline, func(w *resp.Writer) { w.AppendInt(0) })
}
