package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestExchange(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
	}{
		{"two", []string{"a", "b"}},
		{"three", []string{"n1", "n2", "n3"}},
		{"five", []string{"e", "d", "c", "b", "a"}},
	}
	const perPair = 200
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := cluster(t, tt.ids, nil)
			waitMesh(t, nodes)
			for _, n := range nodes {
				for to := range nodes {
					if to == n.id {
						continue
					}
					for i := range perPair {
						mustSend(t, n.tr, to, Frame{Kind: uint8(i), Group: uint32(i * 7), Data: fmt.Appendf(nil, "%s>%s#%d", n.id, to, i)})
					}
				}
			}
			for _, n := range nodes {
				for from := range nodes {
					if from == n.id {
						continue
					}
					n.b.wait(t, fmt.Sprintf("%d frames from %s at %s", perPair, from, n.id), func() bool {
						return len(n.b.framesFrom(from)) >= perPair
					})
					n.b.mu.Lock()
					got := n.b.framesFrom(from)
					n.b.mu.Unlock()
					if len(got) != perPair {
						t.Fatalf("%s from %s: got %d frames, want %d", n.id, from, len(got), perPair)
					}
					for i, f := range got {
						want := Frame{Kind: uint8(i), Group: uint32(i * 7), Data: fmt.Appendf(nil, "%s>%s#%d", from, n.id, i)}
						if f.Kind != want.Kind || f.Group != want.Group || string(f.Data) != string(want.Data) {
							t.Fatalf("%s: frame %d from %s: got %+v, want %+v", n.id, i, from, f, want)
						}
					}
				}
			}
			for _, n := range nodes {
				// One connection per pair: a node accepts one from each
				// peer whose ID sorts lower, and each link came up once.
				lower := 0
				for id := range nodes {
					if id < n.id {
						lower++
					}
				}
				if got := n.ln.n.Load(); got != int64(lower) {
					t.Errorf("%s accepted %d connections, want %d", n.id, got, lower)
				}
				for id, st := range n.tr.Stats() {
					if st.Connects != 1 || !st.Connected {
						t.Errorf("%s: link to %s: got %d connects, connected %v; want 1, true", n.id, id, st.Connects, st.Connected)
					}
					if st.FramesSent != perPair || st.FramesRecv != perPair || st.FramesDropped != 0 {
						t.Errorf("%s: link to %s: got %+v, want %d frames each way, none dropped", n.id, id, st, perPair)
					}
					if st.BytesSent == 0 || st.BytesRecv == 0 {
						t.Errorf("%s: link to %s: got %+v, want bytes counted", n.id, id, st)
					}
					if got, want := n.tr.Meta(id), "meta-of-"+id; got != want {
						t.Errorf("%s: Meta(%s): got %q, want %q", n.id, id, got, want)
					}
					if !n.tr.Connected(id) {
						t.Errorf("%s: Connected(%s): got false, want true", n.id, id)
					}
				}
			}
		})
	}
}

// TestRefusedPeers runs transports that are not what the node they dial
// expects: each is refused, both ends log why, and the real peer stays
// connected.
func TestRefusedPeers(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(c *Config, target string)
		want  error
	}{
		{"wrong cluster id", func(c *Config, target string) {
			c.ClusterID = "another-cluster"
			c.NodeID = "a"
			c.Peers = map[string]string{"b": target}
		}, ErrClusterID},
		{"stranger", func(c *Config, target string) {
			c.NodeID = "a-stranger"
			c.Peers = map[string]string{"b": target}
		}, ErrUnknownPeer},
		{"wrong node", func(c *Config, target string) {
			c.NodeID = "a"
			c.Peers = map[string]string{"z": target}
		}, ErrWrongNode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := cluster(t, []string{"a", "b"}, nil)
			waitMesh(t, nodes)
			a, b := nodes["a"], nodes["b"]

			ib := newBoard()
			cfg := testConfig("x", listen(t, ""), nil, ib)
			tt.tweak(&cfg, b.addr)
			intruder := start(t, cfg, ib)
			b.b.waitLog(t, "peer connection refused", tt.want.Error())
			ib.waitLog(t, "cannot connect to peer", ErrRefused.Error(), tt.want.Error())

			mustSend(t, a.tr, "b", Frame{Data: []byte("still here")})
			b.b.waitFrame(t, "a", "still here")
			mustSend(t, b.tr, "a", Frame{Data: []byte("and back")})
			a.b.waitFrame(t, "b", "and back")
			if st := b.tr.Stats()["a"]; st.Connects != 1 {
				t.Errorf("b: link to a: got %d connects, want 1", st.Connects)
			}
			for id := range cfg.Peers {
				if intruder.tr.Connected(id) {
					t.Errorf("intruder connected to %s", id)
				}
			}
		})
	}
}

// rawHello returns the hello of node from to node to in the test cluster.
func rawHello(from, to string) []byte {
	return appendHello(nil, hello{cluster: "test-cluster", from: from, to: to, meta: "raw"})
}

// frameHead returns a frame header whose length field is n.
func frameHead(n uint32) []byte {
	return append(binary.BigEndian.AppendUint32(nil, n), 0, 0, 0, 0, 0)
}

// TestRawClients sends what no transport would to a node, from raw TCP
// connections: the node refuses it, logs the remote address, and keeps
// serving its real peer.
func TestRawClients(t *testing.T) {
	const maxFrame = 1024
	refusal := func(s string) bool {
		return len(s) > len(magic)+1 && s[:len(magic)] == magic && s[len(magic)+1] == statusRefused
	}
	closed := func(s string) bool { return s == "" }
	tests := []struct {
		name      string
		handshake bool // send a good hello from "a" first, and read the reply
		send      []byte
		wantReply func(string) bool // what the node answers before closing
		wantLog   []string
	}{
		{"garbage", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), closed, []string{"bad hello", ErrBadMagic.Error()}},
		{"binary garbage", false, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, closed, []string{"bad hello", ErrBadMagic.Error()}},
		{"truncated hello", false, rawHello("a", "m")[:12], closed, []string{"bad hello", "unexpected EOF"}},
		{"another version", false, append([]byte(magic), version+1, 0, 0, 0, 0), refusal, []string{"bad hello", ErrVersion.Error()}},
		{"wrong cluster", false, appendHello(nil, hello{cluster: "other", from: "a", to: "m"}), refusal, []string{"refused", ErrClusterID.Error()}},
		{"higher id dials", false, rawHello("z", "m"), refusal, []string{"refused", ErrDirection.Error()}},
		{"silent", false, nil, closed, []string{"bad hello", "timeout"}},
		{"oversized frame", true, append(frameHead(5+maxFrame+1), make([]byte, 64)...), closed, []string{"bad frame", ErrFrameTooLarge.Error()}},
		{"huge length", true, frameHead(1<<32 - 1), closed, []string{"bad frame", ErrFrameTooLarge.Error()}},
		{"short length", true, frameHead(4), closed, []string{"bad frame", ErrBadFrame.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// m accepts from the real node "0" and from "a", played by the
			// raw client; it dials "z", which is not there.
			lnM, ln0 := listen(t, ""), listen(t, "")
			addrs := map[string]string{"m": lnM.Addr().String(), "0": ln0.Addr().String(), "a": "127.0.0.1:1", "z": "127.0.0.1:1"}
			bm, b0 := newBoard(), newBoard()
			cm := testConfig("m", lnM, addrs, bm)
			cm.MaxFrame = maxFrame
			cm.HandshakeTimeout = 300 * time.Millisecond
			m := start(t, cm, bm)
			n0 := start(t, testConfig("0", ln0, map[string]string{"m": m.addr}, b0), b0)
			bm.waitUps(t, "0", 1)

			c, err := net.Dial("tcp", m.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(waitLimit))
			br := bufio.NewReader(c)
			if tt.handshake {
				if _, err := c.Write(rawHello("a", "m")); err != nil {
					t.Fatal(err)
				}
				if meta, err := readReply(br); err != nil || meta != "meta-of-m" {
					t.Fatalf("handshake: got %q, %v; want %q, nil", meta, err, "meta-of-m")
				}
				bm.waitUps(t, "a", 1)
			}
			if _, err := c.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			if !tt.handshake && tt.send != nil {
				c.(*net.TCPConn).CloseWrite() // a hello cut short ends here
			}
			got, err := io.ReadAll(br)
			if err != nil && !isReset(err) {
				t.Fatalf("got %v, want the connection closed", err)
			}
			if !tt.wantReply(string(got)) {
				t.Errorf("got reply %q", got)
			}
			bm.waitLog(t, append(tt.wantLog, "remote="+c.LocalAddr().String())...)

			mustSend(t, n0.tr, "m", Frame{Data: []byte("ping")})
			bm.waitFrame(t, "0", "ping")
			mustSend(t, m.tr, "0", Frame{Data: []byte("pong")})
			b0.waitFrame(t, "m", "pong")
			if tt.handshake {
				bm.waitDowns(t, "a", 1)
			}
			if m.tr.Connected("a") {
				t.Error("m: Connected(a) after the raw client went: got true, want false")
			}
		})
	}
}

// isReset reports whether err is a connection reset, which a peer closing
// with unread input causes.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

// TestReplaceConnection checks that a new connection from a peer replaces
// the one the acceptor has, and that the real peer then reconnects.
func TestReplaceConnection(t *testing.T) {
	nodes := cluster(t, []string{"a", "b"}, nil)
	waitMesh(t, nodes)
	a, b := nodes["a"], nodes["b"]

	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := c.Write(appendHello(nil, hello{cluster: "test-cluster", from: "a", to: "b", meta: "impostor"})); err != nil {
		t.Fatal(err)
	}
	if meta, err := readReply(br); err != nil || meta != "meta-of-b" {
		t.Fatalf("reply: got %q, %v; want %q, nil", meta, err, "meta-of-b")
	}
	b.b.waitUps(t, "a", 2)
	b.b.waitLog(t, "replaced by a newer connection")
	if got := b.tr.Meta("a"); got != "impostor" {
		t.Errorf("b: Meta(a): got %q, want %q", got, "impostor")
	}
	mustSend(t, b.tr, "a", Frame{Kind: 3, Group: 9, Data: []byte("to the newest")})
	c.SetReadDeadline(time.Now().Add(waitLimit))
	f, err := readFrame(br, 1024)
	if err != nil || f.Kind != 3 || f.Group != 9 || string(f.Data) != "to the newest" {
		t.Fatalf("frame on the new connection: got %+v, %v", f, err)
	}

	// a saw its connection closed and dials again, replacing the raw one.
	a.b.waitDowns(t, "b", 1)
	a.b.waitUps(t, "b", 2)
	b.b.waitUps(t, "a", 3)
	if _, err := io.ReadAll(c); err != nil && !isReset(err) {
		t.Fatalf("raw connection: got %v, want it closed", err)
	}
	mustSend(t, a.tr, "b", Frame{Data: []byte("back")})
	b.b.waitFrame(t, "a", "back")
	if got := b.tr.Meta("a"); got != "meta-of-a" {
		t.Errorf("b: Meta(a): got %q, want %q", got, "meta-of-a")
	}
}

// TestReconnect restarts the accepting node on the same address: the
// dialer reconnects, learns the new meta, and sends what was queued while
// the link was down.
func TestReconnect(t *testing.T) {
	nodes := cluster(t, []string{"a", "b"}, nil)
	waitMesh(t, nodes)
	a, b := nodes["a"], nodes["b"]
	mustSend(t, a.tr, "b", Frame{Data: []byte("first")})
	b.b.waitFrame(t, "a", "first")

	b.stop(t)
	a.b.waitDowns(t, "b", 1)
	if a.tr.Connected("b") {
		t.Fatal("a: Connected(b) after b stopped: got true, want false")
	}
	mustSend(t, a.tr, "b", Frame{Data: []byte("queued while down")})

	ln := listen(t, b.addr)
	b2b := newBoard()
	cfg := testConfig("b", ln, map[string]string{"a": a.addr}, b2b)
	cfg.Meta = "meta-of-b-restarted"
	b2 := start(t, cfg, b2b)
	a.b.waitUps(t, "b", 2)
	b2b.waitFrame(t, "a", "queued while down")
	if got := a.tr.Meta("b"); got != "meta-of-b-restarted" {
		t.Errorf("a: Meta(b): got %q, want %q", got, "meta-of-b-restarted")
	}
	mustSend(t, b2.tr, "a", Frame{Data: []byte("second")})
	a.b.waitFrame(t, "b", "second")
	if got := a.tr.Stats()["b"].Connects; got != 2 {
		t.Errorf("a: connects to b: got %d, want 2", got)
	}
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	nodes := cluster(t, []string{"a", "b"}, func(c *Config) { c.TLS = pki.config(t, c.NodeID) })
	waitMesh(t, nodes)
	a, b := nodes["a"], nodes["b"]
	mustSend(t, a.tr, "b", Frame{Data: []byte("secret")})
	b.b.waitFrame(t, "a", "secret")
	mustSend(t, b.tr, "a", Frame{Data: []byte("reply")})
	a.b.waitFrame(t, "b", "reply")

	other := newTestPKI(t)
	tests := []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"no client certificate", func() (net.Conn, error) {
			return tls.Dial("tcp", b.addr, &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"})
		}},
		{"certificate of another CA", func() (net.Conn, error) {
			return tls.Dial("tcp", b.addr, &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{other.cert(t, "a")}})
		}},
		{"plain TCP", func() (net.Conn, error) {
			return net.Dial("tcp", b.addr)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := b.b.countLogs("tls handshake failed")
			c, err := tt.dial()
			if err == nil {
				defer c.Close()
				c.SetDeadline(time.Now().Add(waitLimit))
				c.Write(rawHello("a", "b"))
				got, err := io.ReadAll(c)
				if bytes.Contains(got, []byte(magic)) {
					t.Fatalf("got %q, %v; want the connection refused", got, err)
				}
				b.b.waitLog(t, "tls handshake failed", "remote="+c.LocalAddr().String())
			} // else refused during the handshake already
			b.b.wait(t, "one more tls refusal", func() bool { return b.b.countLogsLocked("tls handshake failed") > before })
			if st := b.tr.Stats()["a"]; st.Connects != 1 || !st.Connected {
				t.Errorf("b: link to a: got %+v, want one connect, connected", st)
			}
		})
	}
}

func TestSendNeverBlocks(t *testing.T) {
	dead := listen(t, "")
	deadAddr := dead.Addr().String()
	dead.Close()
	b := newBoard()
	cfg := testConfig("a", listen(t, ""), map[string]string{"b": deadAddr}, b)
	cfg.QueueLen = 8
	cfg.MaxFrame = 16
	n := start(t, cfg, b)
	b.waitLog(t, "cannot connect to peer", "peer=b")
	for i := range cfg.QueueLen {
		mustSend(t, n.tr, "b", Frame{Data: []byte{byte(i)}})
	}
	tests := []struct {
		name string
		to   string
		f    Frame
	}{
		{"queue full", "b", Frame{Data: []byte("one too many")}},
		{"over MaxFrame", "b", Frame{Data: make([]byte, 17)}},
		{"over MaxFrame with its tail", "b", Frame{Data: make([]byte, 8), Tail: make([]byte, 9)}},
		{"unknown peer", "c", Frame{}},
		{"self", "a", Frame{}},
	}
	for _, tt := range tests {
		if n.tr.Send(tt.to, tt.f) {
			t.Errorf("%s: Send: got true, want false", tt.name)
		}
	}
	st := n.tr.Stats()["b"]
	if st.FramesDropped != 3 || st.Queued != cfg.QueueLen || st.Connected {
		t.Errorf("got %+v, want 3 dropped, %d queued, not connected", st, cfg.QueueLen)
	}
}

func TestConfigValidate(t *testing.T) {
	ln := listen(t, "")
	defer ln.Close()
	good := func() Config {
		c := DefaultConfig()
		c.ClusterID, c.NodeID, c.Listener = "c", "a", ln
		c.Peers = map[string]string{"b": "127.0.0.1:1"}
		return c
	}
	long := string(make([]byte, MaxIDLen+1))
	tests := []struct {
		name  string
		tweak func(*Config)
		ok    bool
	}{
		{"default", func(*Config) {}, true},
		{"zero tunables", func(c *Config) { c.MaxFrame, c.QueueLen, c.MinBackoff, c.MaxBackoff = 0, 0, 0, 0 }, true},
		{"tls", func(c *Config) { c.TLS = newTestPKI(t).config(t, "a") }, true},
		{"no node id", func(c *Config) { c.NodeID = "" }, false},
		{"long node id", func(c *Config) { c.NodeID = long }, false},
		{"long meta", func(c *Config) { c.Meta = long }, false},
		{"no listener", func(c *Config) { c.Listener = nil }, false},
		{"self among peers", func(c *Config) { c.Peers["a"] = "127.0.0.1:2" }, false},
		{"empty peer id", func(c *Config) { c.Peers[""] = "127.0.0.1:2" }, false},
		{"bad peer address", func(c *Config) { c.Peers["b"] = "nowhere" }, false},
		{"negative queue", func(c *Config) { c.QueueLen = -1 }, false},
		{"negative max frame", func(c *Config) { c.MaxFrame = -1 }, false},
		{"backoff inverted", func(c *Config) { c.MinBackoff = 2 * time.Second }, false},
		{"tls without certificate", func(c *Config) { c.TLS = &tls.Config{RootCAs: newTestPKI(t).pool} }, false},
		{"tls without ca", func(c *Config) { c.TLS = &tls.Config{Certificates: []tls.Certificate{newTestPKI(t).cert(t, "a")}} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.tweak(&c)
			err := c.Validate()
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if _, err := New(c, HandlerFunc(func(string, Frame) {})); tt.ok != (err == nil) {
				t.Fatalf("New: got %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	tr, err := New(testConfig("a", listen(t, ""), nil, newBoard()), HandlerFunc(func(string, Frame) {}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Run(ctx); err != nil {
		t.Fatalf("first Run: got %v, want nil", err)
	}
	if err := tr.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: got %v, want %v", err, ErrRunning)
	}
}

// A frame with a Tail arrives whole, and its Sent is called once the
// transport is done with its memory: the sender may then change it, and
// what arrives is what was sent.
func TestSentTail(t *testing.T) {
	nodes := cluster(t, []string{"a", "b"}, nil)
	waitMesh(t, nodes)
	body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	want := "head|" + string(body)
	sent := make(chan struct{})
	mustSend(t, nodes["a"].tr, "b", Frame{Kind: 7, Data: []byte("head|"), Tail: body, Sent: func() { close(sent) }})
	<-sent
	copy(body, "CHANGED") // the transport has taken it
	nodes["b"].b.waitFrame(t, "a", want)
}

// TestFrameSizes sends frames from empty to several times the read buffer,
// in a seeded random order of sizes, both ways: each arrives whole and in
// order, whether it fits in what one read of the socket returns or spans
// many.
func TestFrameSizes(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	sizes := []int{0, 1, frameHeader, readBufSize - frameHeader, readBufSize, readBufSize + 1, 3*readBufSize + 7}
	for range 200 {
		sizes = append(sizes, rng.IntN(2000))
	}
	for range 20 {
		sizes = append(sizes, rng.IntN(4*readBufSize))
	}
	rng.Shuffle(len(sizes), func(i, j int) { sizes[i], sizes[j] = sizes[j], sizes[i] })
	payload := func(from string, i, n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i*31 + j + int(from[0]))
		}
		return b
	}
	nodes := cluster(t, []string{"a", "b"}, nil)
	waitMesh(t, nodes)
	for _, n := range nodes {
		for to := range nodes {
			if to == n.id {
				continue
			}
			for i, size := range sizes { // fewer than a queue holds
				mustSend(t, n.tr, to, Frame{Kind: 1, Group: uint32(i), Data: payload(n.id, i, size)})
			}
		}
	}
	for _, n := range nodes {
		for from := range nodes {
			if from == n.id {
				continue
			}
			n.b.wait(t, fmt.Sprintf("%d frames from %s at %s", len(sizes), from, n.id), func() bool {
				return len(n.b.framesFrom(from)) >= len(sizes)
			})
			n.b.mu.Lock()
			got := n.b.framesFrom(from)
			n.b.mu.Unlock()
			if len(got) != len(sizes) {
				t.Fatalf("%s from %s: got %d frames, want %d (seed %d)", n.id, from, len(got), len(sizes), seed)
			}
			for i, f := range got {
				if f.Group != uint32(i) || !bytes.Equal(f.Data, payload(from, i, sizes[i])) {
					t.Fatalf("%s: frame %d from %s: got group %d, %d bytes, want group %d, %d bytes as sent (seed %d)",
						n.id, i, from, f.Group, len(f.Data), i, sizes[i], seed)
				}
			}
		}
	}
}

// gated holds the first frame it is handed until gate is closed, then
// records every frame on b.
type gated struct {
	b    *board
	gate chan struct{}
	once sync.Once
}

func (g *gated) Handle(from string, f Frame) {
	g.once.Do(func() { <-g.gate })
	g.b.Handle(from, f)
}

// TestSlowReader sends more than the sockets of a loopback connection can
// hold to a peer that reads nothing until all of it is queued: the
// sender's writes find the socket full and must wait for it, and every
// frame still arrives whole and in order once the peer reads again.
func TestSlowReader(t *testing.T) {
	lnA, lnB := listen(t, ""), listen(t, "")
	addrs := map[string]string{"a": lnA.Addr().String(), "b": lnB.Addr().String()}
	ba, bb := newBoard(), newBoard()
	a := start(t, testConfig("a", lnA, addrs, ba), ba)
	g := &gated{b: bb, gate: make(chan struct{})}
	cfgB := testConfig("b", lnB, addrs, bb)
	tr, err := New(cfgB, g)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("b: Run: %v", err)
		}
	})
	ba.waitUps(t, "b", 1)

	const frames, size = 512, 64 << 10 // 32 MiB
	for i := range frames {
		data := bytes.Repeat([]byte{byte(i)}, size)
		binary.BigEndian.PutUint32(data, uint32(i))
		mustSend(t, a.tr, "b", Frame{Kind: 1, Group: uint32(i), Data: data})
	}
	close(g.gate)
	bb.wait(t, fmt.Sprintf("%d frames from a", frames), func() bool { return len(bb.framesFrom("a")) >= frames })
	bb.mu.Lock()
	got := bb.framesFrom("a")
	bb.mu.Unlock()
	if len(got) != frames {
		t.Fatalf("got %d frames, want %d", len(got), frames)
	}
	for i, f := range got {
		want := bytes.Repeat([]byte{byte(i)}, size)
		binary.BigEndian.PutUint32(want, uint32(i))
		if f.Group != uint32(i) || !bytes.Equal(f.Data, want) {
			t.Fatalf("frame %d: got group %d and %d bytes starting %x, want group %d and its %d bytes", i, f.Group, len(f.Data), f.Data[:min(8, len(f.Data))], i, size)
		}
	}
	if st := a.tr.Stats()["b"]; st.Connects != 1 || st.FramesDropped != 0 {
		t.Errorf("a's link to b: got %+v, want one connect and no frame dropped", st)
	}
}
