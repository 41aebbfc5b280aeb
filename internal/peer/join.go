package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// A node that is not a member yet asks a member to admit it over the same
// port and handshake as the peers: its hello names no cluster and no
// receiving node, and carries its own ID. Then, both ways, one message:
//
//	dialer:   request length uvarint | request
//	acceptor: magic | version | status u8 | text (as a hello's strings) |
//	          when status is OK: answer length uvarint | answer
//
// where text is the reason of a refusal. What requests and answers hold is
// the caller's (Config.Join).

// maxJoinMessage bounds a join request or answer.
const maxJoinMessage = 16 << 20

// joinTimeout bounds a join exchange, the member's work included.
const joinTimeout = 30 * time.Second

// ErrJoin reports a join request the member refused; the error names the
// reason it gave.
var ErrJoin = errors.New("peer: join refused")

// Join asks the member at addr to admit the node from with req, and returns
// the member's answer. tlsCfg, when not nil, is the client configuration
// of mutual TLS, as Config.TLS. A refusal is an error wrapping ErrJoin.
func Join(ctx context.Context, addr string, tlsCfg *tls.Config, from string, req []byte) ([]byte, error) {
	if from == "" || len(from) > MaxIDLen {
		return nil, errorf(ErrConfig, "bad node id %q", from)
	}
	if len(req) > maxJoinMessage {
		return nil, errorf(ErrConfig, "join request of %d bytes", len(req))
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	conn := c
	if tlsCfg != nil {
		cfg := tlsCfg.Clone()
		if cfg.RootCAs == nil {
			cfg.RootCAs = tlsCfg.ClientCAs
		}
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		conn = tc
	}
	b := appendHello(nil, hello{from: from})
	b = binary.AppendUvarint(b, uint64(len(req)))
	if _, err := conn.Write(append(b, req...)); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	if _, err := readReply(br); err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, fmt.Errorf("%w: %s", ErrJoin, strings.TrimPrefix(err.Error(), ErrRefused.Error()+": "))
		}
		return nil, err
	}
	return readJoinMessage(br)
}

// readJoinMessage reads a length and that many bytes.
func readJoinMessage(br *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > maxJoinMessage {
		return nil, fmt.Errorf("%w: join message of %d bytes", ErrBadFrame, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	return b, nil
}

// serveJoin answers the join request of h.from on conn.
func (t *Transport) serveJoin(conn net.Conn, br *bufio.Reader, h hello, remote string) {
	conn.SetDeadline(time.Now().Add(joinTimeout))
	req, err := readJoinMessage(br)
	if err != nil {
		t.log.Warn("join request refused: unreadable", "remote", remote, "from", h.from, "err", err)
		return
	}
	if t.cfg.Join == nil || h.from == "" {
		conn.Write(appendReply(nil, false, "this node takes no join requests"))
		return
	}
	answer, err := t.cfg.Join(h.from, req)
	if err != nil {
		t.log.Warn("join request refused", "remote", remote, "from", h.from, "err", err)
		conn.Write(appendReply(nil, false, err.Error()))
		return
	}
	b := appendReply(nil, true, "")
	b = binary.AppendUvarint(b, uint64(len(answer)))
	if _, err := conn.Write(append(b, answer...)); err != nil {
		t.log.Warn("join answer not sent", "remote", remote, "from", h.from, "err", err)
		return
	}
	t.log.Info("join request answered", "remote", remote, "from", h.from)
}
