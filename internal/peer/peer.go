package peer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Frame is one message between two nodes. Kind and Group are for the layer
// above: the transport carries them without looking at them.
//
// A sender must not modify Data or Tail once Send has accepted the frame;
// the transport only reads them, so one Data may be sent to several peers.
// A receiver owns Data once it is handed to Handle.
type Frame struct {
	// Kind tells the receiver what Data holds.
	Kind uint8
	// Group names the consensus group the frame is for.
	Group uint32
	// Data is the payload.
	Data []byte
	// Tail, when set, is sent after Data as the rest of the payload, so
	// that a payload made of a header and a large body already in memory
	// goes out without first being copied into one slice: the receiver
	// finds both in Data, and never sees Tail.
	Tail []byte
	// Sent, when set, is called once the transport is done with Data and
	// Tail, if Send accepted the frame: the sender may then reuse their
	// memory. It is called once the frame is written, or its write failed;
	// a frame refused by Send, or still queued when its connection is
	// lost, never sees it. It runs on the transport's goroutine and must
	// not block.
	Sent func()
}

// size returns the bytes of f's payload.
func (f *Frame) size() int { return len(f.Data) + len(f.Tail) }

// Handler receives the frames that arrive from peers.
//
// Handle is called on the read goroutine of the peer's connection: frames
// from one peer arrive one at a time and in the order they were sent, while
// frames from different peers arrive concurrently, so Handle must be safe for
// concurrent use. It must not block for long: while it runs, nothing more is
// read from that peer. from is the peer's node ID.
type Handler interface {
	Handle(from string, f Frame)
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(from string, f Frame)

// Handle calls h(from, f).
func (h HandlerFunc) Handle(from string, f Frame) { h(from, f) }

// Sender sends frames to peers. Send never blocks: it reports false when the
// frame is dropped at once (the peer is unknown or its queue is full), and
// true when the frame was taken, which does not mean it will arrive. Send is
// safe for concurrent use.
type Sender interface {
	Send(to string, f Frame) bool
}

// MaxIDLen is the longest cluster ID, node ID or meta string, in bytes.
const MaxIDLen = 255

// Config configures a Transport. Zero values of the tunables (MaxFrame,
// QueueLen and the durations) mean the DefaultConfig value.
type Config struct {
	// ClusterID names the cluster; a peer with another one is refused.
	ClusterID string
	// NodeID is this node's ID, unique in the cluster.
	NodeID string
	// Meta is sent to peers in the handshake, and read back on them with
	// Transport.Meta: the node's advertised client address, for example
	// "127.0.0.1:7001".
	Meta string
	// Listener accepts the connections of peers whose IDs sort lower than
	// NodeID. It is bound by the caller (tests use 127.0.0.1:0) and closed
	// by Run when it returns. It must not be a TLS listener: the transport
	// runs TLS itself when TLS is set.
	Listener net.Listener
	// Peers maps the ID of every other node of the cluster to its address
	// (host:port). It must not contain NodeID.
	Peers map[string]string
	// TLS, when not nil, runs every connection under mutual TLS: it must
	// hold this node's certificate, presented both as a server and as a
	// client, and the CA pool in RootCAs or ClientCAs (either is used for
	// both directions when the other is nil). Client certificates are
	// required and verified whatever ClientAuth says. When ServerName is
	// empty, the host part of the peer's address is verified. Nil means
	// plain TCP.
	TLS *tls.Config
	// MaxFrame is the largest payload accepted, in bytes. A larger frame
	// from a peer ends the connection; a larger one given to Send is
	// dropped. All nodes of a cluster should use the same value.
	MaxFrame int
	// QueueLen is the number of frames queued per peer, waiting to be
	// written. Frames are queued while the peer is down too, and go out
	// once it is connected; Send drops frames when the queue is full.
	QueueLen int
	// HandshakeTimeout bounds a connection's TLS handshake and peer
	// handshake together.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write to a connection; a peer that reads
	// nothing for that long is disconnected.
	WriteTimeout time.Duration
	// MinBackoff is the first wait before redialling a peer; it doubles
	// after each failure up to MaxBackoff.
	MinBackoff time.Duration
	// MaxBackoff is the longest wait between two dials to a peer.
	MaxBackoff time.Duration
	// OnConnect, when not nil, is called with the peer's ID each time a
	// connection to it completes its handshake, before any frame from it
	// is handled. It is called on the connection's goroutine, like Handle,
	// and must not block for long.
	OnConnect func(id string)
	// OnDisconnect, when not nil, is called with the peer's ID each time a
	// connection to it that OnConnect announced ends, including when Run
	// returns. Same rules as OnConnect; Run waits for it.
	OnDisconnect func(id string)
	// Join, when not nil, answers the join requests of nodes that are not
	// peers yet (see peer.Join): it gets the asking node's ID and request
	// and returns the answer, or the reason for a refusal. It runs on the
	// connection's goroutine and may take a few seconds. Nil refuses every
	// join.
	Join func(from string, req []byte) ([]byte, error)
	// Logger receives connection events and refusals; nil means
	// slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the tunables used when a Config leaves them zero. The
// caller fills in ClusterID, NodeID, Meta, Listener and Peers.
func DefaultConfig() Config {
	return Config{
		MaxFrame:         64 << 20,
		QueueLen:         4096,
		HandshakeTimeout: 5 * time.Second,
		WriteTimeout:     10 * time.Second,
		MinBackoff:       50 * time.Millisecond,
		MaxBackoff:       time.Second,
	}
}

// withDefaults returns c with its zero tunables set from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxFrame == 0 {
		c.MaxFrame = d.MaxFrame
	}
	if c.QueueLen == 0 {
		c.QueueLen = d.QueueLen
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = d.HandshakeTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = d.MinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	return c
}

// maxFrameLimit is the largest MaxFrame: n, the frame's length field, must
// fit in 32 bits.
const maxFrameLimit = 1<<32 - 1 - frameHeader + 4

// Validate reports whether c can be used, wrapping ErrConfig with the reason.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(format string, args ...any) error { return errorf(ErrConfig, format, args...) }
	for _, f := range []struct{ name, v string }{{"cluster id", c.ClusterID}, {"node id", c.NodeID}, {"meta", c.Meta}} {
		if len(f.v) > MaxIDLen {
			return bad("%s longer than %d bytes", f.name, MaxIDLen)
		}
	}
	switch {
	case c.NodeID == "":
		return bad("empty node id")
	case c.Listener == nil:
		return bad("no listener")
	case c.MaxFrame < 0 || int64(c.MaxFrame) > maxFrameLimit:
		return bad("max frame %d out of range", c.MaxFrame)
	case c.QueueLen < 0:
		return bad("negative queue length %d", c.QueueLen)
	case c.HandshakeTimeout < 0 || c.WriteTimeout < 0:
		return bad("negative timeout")
	case c.MinBackoff < 0 || c.MinBackoff > c.MaxBackoff:
		return bad("backoff %v to %v", c.MinBackoff, c.MaxBackoff)
	}
	for id, addr := range c.Peers {
		switch {
		case id == "":
			return bad("empty peer id")
		case len(id) > MaxIDLen:
			return bad("peer id longer than %d bytes", MaxIDLen)
		case id == c.NodeID:
			return bad("node %q listed among its own peers", id)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad("peer %q: address %q: %v", id, addr, err)
		}
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && (c.TLS.GetCertificate == nil || c.TLS.GetClientCertificate == nil) {
		return bad("tls config without a certificate")
	}
	if c.TLS != nil && c.TLS.RootCAs == nil && c.TLS.ClientCAs == nil {
		return bad("tls config without a ca pool")
	}
	return nil
}

// Errors. Refusals are wrapped with the details, so compare them with
// errors.Is.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("peer: invalid config")
	// ErrRunning is returned by a second call to Transport.Run.
	ErrRunning = errors.New("peer: transport already run")
	// ErrBadMagic reports a connection that does not speak this protocol.
	ErrBadMagic = errors.New("peer: not a peer connection")
	// ErrVersion reports a peer speaking another protocol version.
	ErrVersion = errors.New("peer: unsupported protocol version")
	// ErrClusterID reports a peer of another cluster.
	ErrClusterID = errors.New("peer: cluster id mismatch")
	// ErrWrongNode reports a hello meant for another node.
	ErrWrongNode = errors.New("peer: connection meant for another node")
	// ErrUnknownPeer reports a hello from a node that is not a configured
	// peer.
	ErrUnknownPeer = errors.New("peer: unknown peer")
	// ErrDirection reports a hello from a node that should accept rather
	// than dial: its ID sorts higher than the acceptor's.
	ErrDirection = errors.New("peer: dialed by the node that should accept")
	// ErrRefused reports a hello the remote node refused; the error holds
	// its reason.
	ErrRefused = errors.New("peer: refused by remote node")
	// ErrFrameTooLarge reports a frame whose payload exceeds MaxFrame.
	ErrFrameTooLarge = errors.New("peer: frame too large")
	// ErrBadFrame reports a frame whose length field is too short to hold
	// its header.
	ErrBadFrame = errors.New("peer: malformed frame")
)

// PeerStats counts the traffic with one peer since New.
type PeerStats struct {
	// BytesSent counts the bytes written to connections, frame headers
	// included.
	BytesSent uint64
	// BytesRecv counts the bytes of frames read, headers included.
	BytesRecv uint64
	// FramesSent counts the frames written to connections, including
	// those still buffered when a connection failed, which are lost.
	FramesSent uint64
	// FramesRecv counts the frames handed to the Handler.
	FramesRecv uint64
	// FramesDropped counts the frames Send refused: queue full or payload
	// over MaxFrame.
	FramesDropped uint64
	// Writes counts the writes to connections: each carries every frame
	// that was queued when it was made.
	Writes uint64
	// Queued is the number of frames waiting to be written.
	Queued int
	// Connects counts the connections that completed their handshake.
	Connects uint64
	// Connected reports whether a connection is up now.
	Connected bool
}

// errorf wraps err with a formatted detail.
func errorf(err error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", err, fmt.Sprintf(format, args...))
}
