package peer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitLimit bounds every wait for an event, so that a broken test fails
// instead of hanging. It is never what a test synchronises on.
const waitLimit = 10 * time.Second

// recvd is a frame as a Handler saw it.
type recvd struct {
	from string
	f    Frame
}

// board records what happens on one node (frames, connects, disconnects,
// log lines) and lets a test wait until a condition on them holds.
type board struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	frames  []recvd
	ups     map[string]int
	downs   map[string]int
	logs    []string
}

func newBoard() *board {
	return &board{changed: make(chan struct{}), ups: map[string]int{}, downs: map[string]int{}}
}

// update runs fn under the lock and wakes the waiters.
func (b *board) update(fn func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn()
	close(b.changed)
	b.changed = make(chan struct{})
}

// wait returns once cond, run under the lock, holds.
func (b *board) wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	limit := time.After(waitLimit)
	for {
		b.mu.Lock()
		ok := cond()
		ch := b.changed
		b.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-limit:
			t.Fatalf("timed out waiting for %s; log:\n%s", what, b.logText())
		}
	}
}

// Handle records f.
func (b *board) Handle(from string, f Frame) {
	b.update(func() { b.frames = append(b.frames, recvd{from, f}) })
}

// framesFrom returns the frames received from id. b.mu is held.
func (b *board) framesFrom(id string) []Frame {
	var fs []Frame
	for _, r := range b.frames {
		if r.from == id {
			fs = append(fs, r.f)
		}
	}
	return fs
}

// waitFrame waits for a frame from id carrying data.
func (b *board) waitFrame(t testing.TB, from, data string) {
	t.Helper()
	b.wait(t, fmt.Sprintf("frame %q from %s", data, from), func() bool {
		return slices.ContainsFunc(b.frames, func(r recvd) bool { return r.from == from && string(r.f.Data) == data })
	})
}

// waitUps waits until the link to id has come up n times.
func (b *board) waitUps(t testing.TB, id string, n int) {
	t.Helper()
	b.wait(t, fmt.Sprintf("%d connects of %s", n, id), func() bool { return b.ups[id] >= n })
}

// waitDowns waits until the link to id has gone down n times.
func (b *board) waitDowns(t testing.TB, id string, n int) {
	t.Helper()
	b.wait(t, fmt.Sprintf("%d disconnects of %s", n, id), func() bool { return b.downs[id] >= n })
}

// waitLog waits for a log line holding every one of parts.
func (b *board) waitLog(t testing.TB, parts ...string) {
	t.Helper()
	b.wait(t, fmt.Sprintf("a log line with %q", parts), func() bool {
		return slices.ContainsFunc(b.logs, func(l string) bool {
			for _, p := range parts {
				if !strings.Contains(l, p) {
					return false
				}
			}
			return true
		})
	})
}

// countLogs returns the number of log lines holding s.
func (b *board) countLogs(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.countLogsLocked(s)
}

// countLogsLocked is countLogs with b.mu held.
func (b *board) countLogsLocked(s string) int {
	n := 0
	for _, l := range b.logs {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func (b *board) logText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.logs, "\n")
}

// logHandler is a slog.Handler writing one line per record to a board.
type logHandler struct {
	b     *board
	attrs []slog.Attr
}

func (h logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&sb, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s", a)
		return true
	})
	h.b.update(func() { h.b.logs = append(h.b.logs, sb.String()) })
	return nil
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{b: h.b, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h logHandler) WithGroup(string) slog.Handler { return h }

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// node is one transport under test.
type node struct {
	id     string
	addr   string
	ln     *countingListener
	tr     *Transport
	b      *board
	cancel context.CancelFunc
	done   chan error
}

// listen binds a listener on 127.0.0.1, or on addr when not empty.
func listen(t testing.TB, addr string) *countingListener {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return &countingListener{Listener: ln}
}

// testConfig returns the config of node id, whose peers are at addrs.
func testConfig(id string, ln net.Listener, addrs map[string]string, b *board) Config {
	cfg := DefaultConfig()
	cfg.ClusterID = "test-cluster"
	cfg.NodeID = id
	cfg.Meta = "meta-of-" + id
	cfg.Listener = ln
	cfg.Peers = map[string]string{}
	for p, a := range addrs {
		if p != id {
			cfg.Peers[p] = a
		}
	}
	cfg.MinBackoff = 5 * time.Millisecond
	cfg.MaxBackoff = 50 * time.Millisecond
	cfg.OnConnect = func(id string) { b.update(func() { b.ups[id]++ }) }
	cfg.OnDisconnect = func(id string) { b.update(func() { b.downs[id]++ }) }
	cfg.Logger = slog.New(logHandler{b: b})
	return cfg
}

// start runs a transport for cfg, stopped when the test ends.
func start(t testing.TB, cfg Config, b *board) *node {
	t.Helper()
	tr, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{id: cfg.NodeID, addr: cfg.Listener.Addr().String(), tr: tr, b: b, cancel: cancel, done: make(chan error, 1)}
	if cl, ok := cfg.Listener.(*countingListener); ok {
		n.ln = cl
	}
	go func() { n.done <- tr.Run(ctx) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

// stop stops the node's transport and waits for Run to return; it may be
// called more than once.
func (n *node) stop(t testing.TB) {
	t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("%s: Run: got %v, want nil", n.id, err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s: Run did not return", n.id)
	}
}

// cluster starts one transport per id, all peers of each other; tweak, if
// not nil, adjusts each config.
func cluster(t testing.TB, ids []string, tweak func(*Config)) map[string]*node {
	t.Helper()
	lns := map[string]*countingListener{}
	addrs := map[string]string{}
	for _, id := range ids {
		lns[id] = listen(t, "")
		addrs[id] = lns[id].Addr().String()
	}
	nodes := map[string]*node{}
	for _, id := range ids {
		b := newBoard()
		cfg := testConfig(id, lns[id], addrs, b)
		if tweak != nil {
			tweak(&cfg)
		}
		nodes[id] = start(t, cfg, b)
	}
	return nodes
}

// waitMesh waits until every node is connected to every other.
func waitMesh(t testing.TB, nodes map[string]*node) {
	t.Helper()
	for _, n := range nodes {
		for id := range nodes {
			if id != n.id {
				n.b.waitUps(t, id, 1)
			}
		}
	}
}

// mustSend sends f and fails the test when it is refused.
func mustSend(t testing.TB, s Sender, to string, f Frame) {
	t.Helper()
	if !s.Send(to, f) {
		t.Fatalf("Send to %s: got false, want true", to)
	}
}

// testPKI is a certificate authority made for one test, and certificates it
// signed for 127.0.0.1, good for both ends of a connection.
type testPKI struct {
	pool   *x509.CertPool
	caKey  *ecdsa.PrivateKey
	ca     *x509.Certificate
	serial int64
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "data-cluster peer test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pki := &testPKI{pool: x509.NewCertPool(), caKey: key, ca: ca, serial: 1}
	pki.pool.AddCert(ca)
	return pki
}

// cert returns a certificate for 127.0.0.1, usable as server and client.
func (p *testPKI) cert(t testing.TB, name string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// config returns the TLS config of a node named name.
func (p *testPKI) config(t testing.TB, name string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.cert(t, name)},
		RootCAs:      p.pool,
		ClientCAs:    p.pool,
		MinVersion:   tls.VersionTLS12,
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
