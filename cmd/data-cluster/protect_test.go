package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key to
// dir and returns their paths and a pool that trusts the certificate.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "data-cluster test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestProtectionFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := writeCert(t, dir)
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not pem"), 0o600)
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--max-clients", "0"}, nil, "--max-clients"},
		{[]string{"--timeout", "-1"}, nil, "--timeout"},
		{[]string{"--client-output-timeout", "-5"}, nil, "--client-output-timeout"},
		{[]string{"--client-query-buffer-limit", "10"}, nil, "--client-query-buffer-limit"},
		{[]string{"--client-output-buffer-limit", "lots"}, nil, "want a whole number of bytes"},
		{[]string{"--client-output-buffer-limit-normal", "1mb 512kb"}, nil, "want three values"},
		{nil, map[string]string{"DATA_CLUSTER_CLIENT_OUTPUT_BUFFER_LIMIT_NORMAL": "1mb 512kb -1"}, "want 0 to"},
		{[]string{"--maxmemory", "12parsecs"}, nil, "want a whole number of bytes"},
		{[]string{"--maxmemory-policy", "lru"}, nil, "--maxmemory-policy"},
		{[]string{"--maxmemory-samples", "0"}, nil, "--maxmemory-samples"},
		{[]string{"--protected-mode", "maybe"}, nil, "want yes or no"},
		{nil, map[string]string{"DATA_CLUSTER_PROTECTED_MODE": "maybe"}, "DATA_CLUSTER_PROTECTED_MODE"},
		{[]string{"--addr", ""}, nil, "no address to listen on"},
		{[]string{"--tls-cert", cert}, nil, "need --tls-addr"},
		{[]string{"--tls-addr", "127.0.0.1:0"}, nil, "needs --tls-cert and --tls-key"},
		{[]string{"--tls-addr", "nohostport", "--tls-cert", cert, "--tls-key", key}, nil, "--tls-addr"},
		{[]string{"--tls-addr", "127.0.0.1:0", "--tls-cert", junk, "--tls-key", key}, nil, "cannot load --tls-cert"},
		{[]string{"--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--tls-ca", junk}, nil, "holds no PEM certificate"},
		{[]string{"--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--tls-ca", filepath.Join(dir, "none")}, nil, "cannot read --tls-ca"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr testutil.SyncBuffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit status: got %d, want %d (stderr %q)", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestHelpListsProtectionFlags(t *testing.T) {
	var stdout, stderr testutil.SyncBuffer
	run(context.Background(), []string{"--help"}, &stdout, &stderr)
	for _, f := range []string{"-max-clients", "(default 10000)", "-timeout", "-client-query-buffer-limit",
		"-client-output-buffer-limit", "-client-output-timeout", "-requirepass", "-protected-mode", "(default yes)",
		"-maxmemory", "-maxmemory-policy", `(default "noeviction")`, "-maxmemory-samples", "-tls-addr", "-tls-cert",
		"-tls-key", "-tls-ca"} {
		if !strings.Contains(stderr.String(), f) {
			t.Errorf("help does not mention %q", f)
		}
	}
}

// TestRunTLSOnly runs the server with only a TLS listener and a password
// from the environment, and talks to it.
func TestRunTLSOnly(t *testing.T) {
	cert, key, pool := writeCert(t, t.TempDir())
	t.Setenv("DATA_CLUSTER_REQUIREPASS", "pw")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--addr", "", "--tls-addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
			"--maxmemory", "10mb", "--maxmemory-policy", "allkeys-lru"}, &stdout, &stderr)
	}()
	var banner string
	for i := 0; ; i++ {
		if banner = stdout.String(); strings.HasSuffix(banner, "\n") {
			break
		}
		if i == 1000 {
			t.Fatalf("no banner; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(banner, "Server listening on "), " — commands: GET <key> | SET <key> <value> | DELETE <key> | LIST\n")
	nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("banner %q: %v", banner, err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(nc)
	nc.Write([]byte("SET a 1\nAUTH pw\nSET a 1\nGET a\n"))
	for _, want := range []string{"NOAUTH Authentication required.\n", "OK\n", "OK\n", "1\n"} {
		if got, _ := rd.ReadString('\n'); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit status %d, want 0; stderr %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if strings.Contains(stderr.String(), "pw") {
		t.Errorf("the password appears in the log: %q", stderr.String())
	}
}

// TestRunBothListeners runs the plain and the TLS listener together.
func TestRunBothListeners(t *testing.T) {
	cert, key, pool := writeCert(t, t.TempDir())
	tlsAddr := testutil.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--tls-addr", tlsAddr, "--tls-cert", cert, "--tls-key", key}, &stdout, &stderr)
	}()
	for i := 0; !strings.HasSuffix(stdout.String(), "\n"); i++ {
		if i == 1000 {
			t.Fatalf("no banner; stderr %q", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	addr := strings.Fields(stdout.String())[3]
	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	secure, err := tls.Dial("tcp", tlsAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS listener %s: %v; stderr %q", tlsAddr, err, stderr.String())
	}
	defer secure.Close()
	for _, nc := range []net.Conn{plain, secure} {
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		nc.Write([]byte("SET b 2\n"))
		if got, _ := bufio.NewReader(nc).ReadString('\n'); got != "OK\n" {
			t.Fatalf("got %q", got)
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit status %d; stderr %q", code, stderr.String())
	}
}
