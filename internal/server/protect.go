package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/router"
	"github.com/data-cluster/data-cluster/internal/shard"
)

// Protection holds the limits and access rules that keep the server serving
// everyone when some clients are broken, slow, hostile or not allowed in,
// and when memory runs short. Where Redis has the same setting, the default
// is Redis's.
type Protection struct {
	// MaxClients is the most connections served at once; one more is sent
	// "-ERR max number of clients reached" and closed (Redis maxclients,
	// 10000).
	MaxClients int
	// IdleTimeout closes a connection that sends nothing for this long; 0
	// means never (Redis timeout, 0).
	IdleTimeout time.Duration
	// MaxQueryBuffer is the most bytes one connection may have buffered for
	// a command not yet whole; a client that needs more is closed (Redis
	// client-query-buffer-limit, 1 GiB).
	MaxQueryBuffer int64
	// MaxOutputBuffer is the most bytes of replies one connection may have
	// waiting to be written; a connection whose replies exceed it is closed
	// without them (1 GiB).
	MaxOutputBuffer int64
	// OutputTimeout closes a connection that accepts none of the replies
	// waiting for it during a whole OutputTimeout; 0 means never (60 s).
	OutputTimeout time.Duration
	// RequirePass, when not empty, is the password of the default user:
	// clients must authenticate before anything else.
	RequirePass string
	// ACLFile, when set, is the aclfile of the users (Redis's aclfile
	// syntax): loaded at start, reloaded by ACL LOAD and written by ACL
	// SAVE. It cannot be used with RequirePass: the default user's
	// password is then in the file.
	ACLFile string
	// ProtectedMode refuses clients from addresses other than loopback
	// while no password is set (Redis protected-mode, on).
	ProtectedMode bool
	// MaxMemory bounds the bytes of data the shards hold, as their engines
	// estimate it; each shard gets an equal share. 0 means no limit.
	MaxMemory int64
	// MaxMemoryPolicy chooses what a shard over its share evicts.
	MaxMemoryPolicy keyspace.Policy
	// MaxMemorySamples is how many keys one eviction samples (5).
	MaxMemorySamples int
	// TLSHandshakeTimeout bounds the handshake of a client of a TLS
	// listener (10 s).
	TLSHandshakeTimeout time.Duration
	// PubSubOutput bounds what waits for a subscribed client (Redis's
	// client-output-buffer-limit pubsub 32mb 8mb 60).
	PubSubOutput pubsub.Limits
	// NormalOutput bounds the replies waiting for any other client (Redis's
	// client-output-buffer-limit normal, 0 0 0: no bound). A client that
	// does not read its replies stops being read from anyway, once about
	// 1 MiB waits for it (see conn.drainOut), so these matter only below
	// that, or for one round's replies larger than that.
	NormalOutput pubsub.Limits
}

// DefaultProtection returns the defaults.
func DefaultProtection() Protection {
	return Protection{
		MaxClients:          10000,
		MaxQueryBuffer:      1 << 30,
		MaxOutputBuffer:     1 << 30,
		OutputTimeout:       60 * time.Second,
		PubSubOutput:        pubsub.DefaultLimits(),
		ProtectedMode:       true,
		MaxMemoryPolicy:     keyspace.NoEviction,
		MaxMemorySamples:    keyspace.DefaultSamples,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// validate reports whether p can be used.
func (p Protection) validate() error {
	switch {
	case p.ACLFile != "" && p.RequirePass != "":
		return errors.New("server: requirepass cannot be used with an aclfile: give the default user's password in the aclfile")
	case p.MaxClients < 1:
		return fmt.Errorf("server: max clients must be at least 1, got %d", p.MaxClients)
	case p.IdleTimeout < 0 || p.OutputTimeout < 0 || p.TLSHandshakeTimeout < 0:
		return errors.New("server: timeouts must not be negative")
	case p.MaxQueryBuffer < 1 || p.MaxOutputBuffer < 1:
		return errors.New("server: buffer limits must be positive")
	case p.MaxMemory < 0:
		return fmt.Errorf("server: max memory must not be negative, got %d", p.MaxMemory)
	case p.MaxMemoryPolicy > keyspace.VolatileTTL:
		return fmt.Errorf("server: unknown maxmemory policy %d", p.MaxMemoryPolicy)
	case p.MaxMemorySamples < 1 || p.MaxMemorySamples > 64:
		return fmt.Errorf("server: maxmemory samples must be between 1 and 64, got %d", p.MaxMemorySamples)
	}
	return nil
}

// applyEviction gives every shard its share of MaxMemory: MaxMemory divided
// by the number of shards, since the ring spreads keys evenly. An LFU
// policy is given even without a limit, so that OBJECT FREQ counts.
func (p Protection) applyEviction(r *router.Config) {
	if p.MaxMemory <= 0 && !p.MaxMemoryPolicy.LFU() {
		return
	}
	if r.Shard == (shard.Config{}) {
		r.Shard = shard.DefaultConfig()
	}
	r.Shard.Eviction = keyspace.Eviction{
		Policy:  p.MaxMemoryPolicy,
		Samples: p.MaxMemorySamples,
	}
	if p.MaxMemory > 0 {
		r.Shard.Eviction.MaxMemory = max(1, p.MaxMemory/int64(r.Shards))
	}
}

// Replies of the connection gate, Redis's texts: ReplyMaxClients to a
// client beyond --max-clients, ReplyDenied to one refused by protected mode.
var (
	ReplyMaxClients = []byte("-ERR max number of clients reached\r\n")
	ReplyDenied     = []byte("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n")
)

// refuse decides, before a connection is registered, whether it must be
// turned away: too many clients, or protected mode. It then answers and
// closes it on a goroutine of its own (a TLS client needs a handshake
// first) and reports true. The caller holds s.mu.
func (s *Server) refuse(nc net.Conn) bool {
	var reason string
	var msg []byte
	switch {
	case s.connected.Load() >= int64(s.cfg().MaxClients):
		reason, msg = "max number of clients reached", ReplyMaxClients
	case s.cfg().ProtectedMode && s.acl.Default().Rules().NoPass() && !IsLoopback(nc.RemoteAddr()):
		reason, msg = "protected mode: not a loopback client and no password set", ReplyDenied
	default:
		return false
	}
	s.connWG.Add(1)
	go func() {
		defer s.connWG.Done()
		s.rejectClient(nc, reason, msg)
	}()
	return true
}

// IsLoopback reports whether a is a loopback address or not an IP address at
// all (a Unix socket, say), which counts as local as in Redis.
func IsLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UDPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// gate is a connection's state for authentication and its timeouts. It
// belongs to the connection's goroutine.
type gate struct {
	authed bool
	lim    resp.Limits // the RESP limits in force: tighter until authenticated
	tls    bool        // the connection is TLS: see send
}

// begin prepares a new connection before its first read: the TLS handshake,
// within its timeout, the authentication state and the write deadline. It
// reports false when the connection must be closed.
func (c *conn) begin() bool {
	cfg := c.s.cfg()
	c.setAuthed(c.s.acl.DefaultOpen())
	if tc, ok := c.nc.(*tls.Conn); ok {
		c.gate.tls = true
		ctx := context.Background()
		if d := cfg.TLSHandshakeTimeout; d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			c.s.protoLog.log(c.s.log, slog.LevelInfo, "closing client: TLS handshake failed",
				"client", c.nc.RemoteAddr().String(), "id", c.id, "err", err)
			return false
		}
	}
	if cfg.OutputTimeout > 0 && !c.gate.tls {
		c.nc.SetWriteDeadline(time.Now().Add(cfg.OutputTimeout))
	}
	return true
}

// setAuthed sets whether the connection is authenticated, and with it the
// RESP limits.
func (c *conn) setAuthed(ok bool) {
	c.gate.authed = ok
	c.gate.lim = c.s.cfg().Limits
	c.gate.lim.Unauthenticated = !ok
}

// armIdle sets the read deadline of the next read when idle clients are
// closed. A timed-out read then ends the connection, as it does for a
// client that closes. stop sets a deadline of its own: if it ran before
// ours was set, ours is replaced.
func (c *conn) armIdle() {
	d := c.s.cfg().IdleTimeout
	if d <= 0 {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(d))
	if c.stopping.Load() {
		c.nc.SetReadDeadline(time.Now())
	}
}

// bufLimit returns the size the read buffer may grow to: enough for the
// longest line of the line protocol, or, for RESP, the query buffer limit.
func (c *conn) bufLimit() int {
	limit := int64(c.s.cfg().MaxLineLen + 2)
	if c.isRESP {
		limit = c.s.cfg().MaxQueryBuffer
	}
	return int(min(limit, c.s.cfg().MaxQueryBuffer, 1<<40))
}

// errOutputStalled ends a connection that accepted no reply bytes for a
// whole output timeout.
var errOutputStalled = errors.New("client accepted none of its replies within the output timeout")

// send writes v, the replies of one round in pieces, to the client:
// straight to the socket in one vectored write, or, once the connection has
// subscribed, through its outbox (which copies them).
func (c *conn) send(v net.Buffers) error {
	if ob := c.ob.Load(); ob != nil {
		for _, b := range v {
			if err := ob.Put(b); err != nil {
				return err
			}
		}
		return nil
	}
	if c.onLoop.Load() {
		return c.sendOnLoop(v)
	}
	c.wv = v
	err := c.writev(&c.wv)
	clear(c.wv[:cap(c.wv)])
	return err
}

// writev writes v to the socket, from the connection's goroutine, or from
// its outbox's once it has one (pubsub.go), in one vectored write (writev)
// on TCP, a Write per piece on TLS. It returns once the socket has taken
// all of v (consuming v): a client that does not read stops its connection here,
// which then reads and runs nothing more (flow control; see conn.drainOut).
// CLIENT LIST shows what waits meanwhile as omem.
//
// Replies larger than the output buffer limit, or the normal class's hard
// limit, close the connection unwritten; replies that stay above the normal
// class's soft limit for its seconds close it too (Redis's
// client-output-buffer-limit normal; a subscriber's are checked by its
// outbox instead). With an output timeout, the write deadline is moved on
// only when it passes: a client that takes part of the replies gets another
// full timeout, and one that takes none within a whole timeout is closed.
// The deadline is thus left alone while writes complete, at no cost per
// write.
//
// A TLS connection cannot go on after a write times out, so there the
// deadline is set before every write: the replies of one round must all be
// taken within the timeout.
func (c *conn) writev(v *net.Buffers) error {
	cfg := c.s.cfg()
	lim := cfg.NormalOutput
	if c.ob.Load() != nil {
		lim = pubsub.Limits{} // the outbox applies the pubsub class
	}
	left := int64(0) // bytes of v not yet taken
	for _, b := range *v {
		left += int64(len(b))
	}
	if err := c.overHard(left, cfg, lim); err != nil {
		return err
	}
	c.omem.Store(left)
	defer c.omem.Store(0)
	d := cfg.OutputTimeout
	if c.gate.tls && d > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(d))
		_, err := sendPieces(c.nc, v)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.warn("closing client that does not read its replies", "timeout", d)
		}
		return err
	}
	fresh := false
	for {
		soft := lim.Soft > 0 && left > lim.Soft
		byTimeout := false // the deadline set is the output timeout's
		if soft {
			now := time.Now()
			if c.softSince.IsZero() {
				c.softSince = now
			}
			// At least a second, Redis counting whole seconds.
			end := c.softSince.Add(max(lim.SoftFor, time.Second))
			if !now.Before(end) && now.Sub(c.softSince) > lim.SoftFor {
				c.warn("closing client for overcoming of output buffer limits",
					"class", "normal", "limit", "soft", "pending", left, "max", lim.Soft, "seconds", int64(lim.SoftFor/time.Second))
				return errOutputBuffer
			}
			if d > 0 && now.Add(d).Before(end) {
				end, byTimeout = now.Add(d), true
			}
			c.nc.SetWriteDeadline(end)
			c.softDeadline = true
		} else {
			c.softSince = time.Time{}
			if c.softDeadline {
				c.softDeadline = false
				var end time.Time
				if d > 0 {
					end = time.Now().Add(d)
				}
				c.nc.SetWriteDeadline(end)
			}
		}
		var (
			n   int64
			err error
		)
		if c.raw != nil {
			n, err = c.raw.write(v)
		} else {
			n, err = sendPieces(c.nc, v)
		}
		c.omem.Add(-n)
		left -= n
		if err == nil {
			c.softSince = time.Time{}
			return nil
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		if soft && !byTimeout {
			continue // the soft limit's seconds: checked above
		}
		if d <= 0 {
			return err
		}
		if n == 0 && (fresh || soft) {
			c.warn("closing client that does not read its replies", "pending", left, "timeout", d)
			return errOutputStalled
		}
		c.nc.SetWriteDeadline(time.Now().Add(d))
		fresh = true
	}
}

// overHard returns errOutputBuffer, with a warning, when left bytes of
// replies waiting pass the server's bound or the hard limit of lim.
func (c *conn) overHard(left int64, cfg *Config, lim pubsub.Limits) error {
	if left > cfg.MaxOutputBuffer || lim.Hard > 0 && left > lim.Hard {
		c.warn("closing client for overcoming of output buffer limits",
			"class", "normal", "limit", "hard", "pending", left, "max", min(cfg.MaxOutputBuffer, hardOrMax(lim.Hard)))
		return errOutputBuffer
	}
	return nil
}

// sendPieces writes the pieces v to w and consumes what it wrote: one
// Write for one piece, else a vectored write (net.Buffers.WriteTo: writev
// on TCP, a Write per piece on TLS). v is a pointer so that the pieces,
// kept in a field of the connection, are not moved to the heap on every
// write.
func sendPieces(w io.Writer, v *net.Buffers) (int64, error) {
	if len(*v) == 1 {
		n, err := w.Write((*v)[0])
		(*v)[0] = (*v)[0][n:]
		if err == nil {
			*v = (*v)[:0]
		}
		return int64(n), err
	}
	return v.WriteTo(w)
}

// hardOrMax returns a hard limit, or the largest int64 for none (0).
func hardOrMax(h int64) int64 {
	if h <= 0 {
		return math.MaxInt64
	}
	return h
}

// warn logs why a client is closed, at most one line per second for all
// clients, so that a flood of bad clients cannot flood the log.
func (c *conn) warn(msg string, args ...any) {
	c.s.protoLog.log(c.s.log, slog.LevelWarn, msg, append([]any{"client", c.nc.RemoteAddr().String(), "id", c.id}, args...)...)
}

// errOutputBuffer ends a connection whose replies exceed the output buffer
// limit.
var errOutputBuffer = errors.New("replies over the output buffer limit")

// httpRequest reports whether args, a command that failed to run, looks like
// part of an HTTP request: a request line ("GET / HTTP/1.1"), or a POST or
// Host: line, which Redis treats as an attack (a browser tricked into
// sending commands to the server). The connection is then closed without a
// reply and a warning is logged.
func (c *conn) httpRequest(args [][]byte) bool {
	if !looksLikeHTTP(args) {
		return false
	}
	c.warn("possible security attack detected: an HTTP request was sent to the server (cross-protocol scripting?); connection closed")
	c.quit = true
	return true
}

func looksLikeHTTP(args [][]byte) bool {
	if len(args) == 0 {
		return false
	}
	if bytes.EqualFold(args[0], []byte("post")) || bytes.EqualFold(args[0], []byte("host:")) {
		return true
	}
	if len(args) != 3 || !bytes.HasPrefix(args[2], []byte("HTTP/")) || len(args[0]) == 0 {
		return false
	}
	for _, ch := range args[0] {
		if ch < 'A' || ch > 'Z' {
			return false
		}
	}
	return true
}

// execOOM refuses a transaction that has a command needing memory while a
// shard it holds stays over its limit after eviction, as Redis refuses such
// an EXEC before running any of it. It writes the error and reports true.
func (s *session) execOOM(w *resp.Writer, dbs []*keyspace.DB) bool {
	deny := false
	for _, q := range s.queued {
		if q.spec.Flags&command.DenyOOM != 0 {
			deny = true
			break
		}
	}
	if !deny {
		return false
	}
	ok := true
	for _, db := range dbs {
		if db != nil && !db.MakeRoom() {
			ok = false
		}
	}
	if ok {
		return false
	}
	w.AppendError("EXECABORT Transaction discarded because of: " + command.OOMError)
	return true
}

// usedMemory returns the bytes of data the shards hold, as their engines
// estimate it: what --maxmemory bounds, reported by INFO as used_memory. The
// figures are refreshed by each shard's expiry cycle.
func (s *Server) usedMemory() int64 {
	var n int64
	for _, sh := range s.router.Shards() {
		if m, ok := sh.(interface{ UsedMemory() int64 }); ok {
			n += m.UsedMemory()
		}
	}
	return n
}
