package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testPKI is a certificate authority made for one test, with a server
// certificate for 127.0.0.1 and a client certificate, both signed by it.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "data-cluster test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	pki := &testPKI{pool: x509.NewCertPool()}
	pki.pool.AddCert(ca)
	leaf := func(serial int64, usage x509.ExtKeyUsage) tls.Certificate {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "data-cluster test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	pki.server = leaf(2, x509.ExtKeyUsageServerAuth)
	pki.client = leaf(3, x509.ExtKeyUsageClientAuth)
	return pki
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// startTLS runs a server on a TLS listener; requireClient asks clients for a
// certificate signed by the test CA.
func startTLS(t *testing.T, pki *testPKI, requireClient bool) *testServer {
	cfg := &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	if requireClient {
		cfg.ClientCAs = pki.pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return startOn(t, nil, func(ln net.Listener) net.Listener { return tls.NewListener(ln, cfg) })
}

// dialTLS connects over TLS; withCert presents the client certificate.
func (ts *testServer) dialTLS(t *testing.T, pki *testPKI, withCert bool) *client {
	t.Helper()
	cfg := &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}
	if withCert {
		cfg.Certificates = []tls.Certificate{pki.client}
	}
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ts.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	return &client{t: t, nc: nc, rd: bufio.NewReaderSize(nc, 64<<10)}
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	ts := startTLS(t, pki, false)

	r := ts.dialTLS(t, pki, false)
	r.send(respCmd("SET", "k", "over tls") + respCmd("GET", "k"))
	r.expect("+OK\r\n$8\r\nover tls\r\n")

	l := ts.dialTLS(t, pki, false)
	if got := l.do("GET k"); got != "over tls" {
		t.Fatalf("line protocol over TLS: got %q", got)
	}
	if got := l.do("SET k2 v"); got != "OK" {
		t.Fatalf("line protocol over TLS: got %q", got)
	}

	rc := newClient(t, ts, func(o *redis.Options) {
		o.TLSConfig = &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}
	})
	if got, err := rc.Get(context.Background(), "k2").Result(); err != nil || got != "v" {
		t.Fatalf("go-redis over TLS: got %q, %v", got, err)
	}

	// A plain client on the TLS port is refused: no reply, closed.
	for _, in := range []string{respCmd("PING"), "GET k\n"} {
		plain := ts.dial(t)
		plain.send(in)
		plain.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(plain.rd)
		if err != nil && !isReset(err) {
			t.Fatalf("plain client on the TLS port: not closed: %v", err)
		}
		if strings.Contains(string(got), "PONG") || strings.Contains(string(got), "over tls") {
			t.Fatalf("plain client on the TLS port was answered: %q", got)
		}
	}
	r.send(respCmd("PING"))
	r.expect("+PONG\r\n")
}

func TestTLSClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	ts := startTLS(t, pki, true)

	ok := ts.dialTLS(t, pki, true)
	ok.send(respCmd("PING"))
	ok.expect("+PONG\r\n")

	// Without a certificate the handshake fails; with TLS 1.3 the client
	// learns it on its first read.
	cfg := &tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"}
	nc, err := tls.Dial("tcp", ts.addr, cfg)
	if err == nil {
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(nc, respCmd("PING"))
		got, err := io.ReadAll(nc)
		if err == nil || strings.Contains(string(got), "PONG") {
			t.Fatalf("client without a certificate: got %q, %v; want the connection refused", got, err)
		}
	}
	ok.send(respCmd("PING"))
	ok.expect("+PONG\r\n")
}

func TestTLSHandshakeTimeout(t *testing.T) {
	pki := newTestPKI(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{pki.server}}
	ts := startOn(t, func(c *Config) { c.TLSHandshakeTimeout = 200 * time.Millisecond },
		func(ln net.Listener) net.Listener { return tls.NewListener(ln, cfg) })
	// A client that connects and never starts the handshake is closed.
	c := ts.dial(t)
	c.closedAfter("")
	r := ts.dialTLS(t, pki, false)
	r.send(respCmd("PING"))
	r.expect("+PONG\r\n")
}

// TestTLSOutputTimeout checks that the write deadline of a TLS connection
// does not break it once the connection is older than the timeout, and that
// a TLS client that reads nothing is closed.
func TestTLSOutputTimeout(t *testing.T) {
	pki := newTestPKI(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{pki.server}}
	ts := startOn(t, func(c *Config) { c.OutputTimeout = 200 * time.Millisecond },
		func(ln net.Listener) net.Listener { return tls.NewListener(ln, cfg) })
	c := ts.dialTLS(t, pki, false)
	c.send(respCmd("SET", "big", strings.Repeat("v", 64<<10)))
	c.expect("+OK\r\n")
	time.Sleep(500 * time.Millisecond)
	c.send(respCmd("PING"))
	c.expect("+PONG\r\n")

	stuck := ts.dialTLS(t, pki, false)
	stuck.send(strings.Repeat(respCmd("GET", "big"), 400))
	deadline := time.Now().Add(10 * time.Second)
	for ts.connected.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the TLS client that does not read is still connected (%d connections)", ts.connected.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.send(respCmd("PING"))
	c.expect("+PONG\r\n")
}
