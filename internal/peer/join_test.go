package peer

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A node joins: it asks a member, which answers; both add each other as
// peers and connect; the member may later remove it.
func TestJoinAndAddPeer(t *testing.T) {
	lnA := listen(t, "")
	bA := newBoard()
	cfgA := testConfig("a", lnA, nil, bA)
	cfgA.Join = func(from string, req []byte) ([]byte, error) {
		if from != "c" || string(req) != "let me in" {
			return nil, errors.New("unexpected request " + from + " " + string(req))
		}
		return []byte("welcome to test-cluster"), nil
	}
	a := start(t, cfgA, bA)
	got, err := Join(context.Background(), a.addr, nil, "c", []byte("let me in"))
	if err != nil || string(got) != "welcome to test-cluster" {
		t.Fatalf("Join: %q, %v", got, err)
	}

	lnC := listen(t, "")
	bC := newBoard()
	c := start(t, testConfig("c", lnC, map[string]string{"a": a.addr}, bC), bC)
	if err := a.tr.AddPeer("c", c.addr); err != nil {
		t.Fatal(err)
	}
	if err := a.tr.AddPeer("c", c.addr); err != nil {
		t.Fatalf("adding a known peer again: %v", err)
	}
	if err := a.tr.AddPeer("c", "127.0.0.1:1"); !errors.Is(err, ErrConfig) {
		t.Fatalf("adding a known peer at another address: %v", err)
	}
	if err := a.tr.AddPeer("a", c.addr); !errors.Is(err, ErrConfig) {
		t.Fatalf("adding itself: %v", err)
	}
	bA.waitUps(t, "c", 1)
	mustSend(t, a.tr, "c", Frame{Kind: 1, Data: []byte("hello c")})
	bC.waitFrame(t, "a", "hello c")
	mustSend(t, c.tr, "a", Frame{Kind: 1, Data: []byte("hello a")})
	bA.waitFrame(t, "c", "hello a")

	a.tr.RemovePeer("c")
	bA.waitDowns(t, "c", 1)
	if a.tr.Connected("c") || a.tr.Send("c", Frame{Kind: 1, Data: []byte("x")}) {
		t.Fatal("a removed peer is still connected or takes frames")
	}
	bC.waitDowns(t, "a", 1)
	bA.waitLog(t, "peer removed")
}

// A member without a join handler, and one whose handler refuses, answer
// with the reason; nothing else happens on their connections.
func TestJoinRefused(t *testing.T) {
	ln := listen(t, "")
	b := newBoard()
	n := start(t, testConfig("a", ln, nil, b), b)
	if _, err := Join(context.Background(), n.addr, nil, "c", nil); !errors.Is(err, ErrJoin) || !strings.Contains(err.Error(), "no join requests") {
		t.Fatalf("Join without a handler: %v", err)
	}

	ln2 := listen(t, "")
	b2 := newBoard()
	cfg := testConfig("b", ln2, nil, b2)
	cfg.Join = func(string, []byte) ([]byte, error) { return nil, errors.New("node c is already in the cluster") }
	m := start(t, cfg, b2)
	_, err := Join(context.Background(), m.addr, nil, "c", []byte("x"))
	if !errors.Is(err, ErrJoin) || !strings.Contains(err.Error(), "node c is already in the cluster") {
		t.Fatalf("Join refused: %v", err)
	}
	if _, err := Join(context.Background(), m.addr, nil, "", nil); !errors.Is(err, ErrConfig) {
		t.Fatalf("Join without an id: %v", err)
	}
}

// Join runs over mutual TLS like the peers' connections.
func TestJoinTLS(t *testing.T) {
	pki := newTestPKI(t)
	ln := listen(t, "")
	b := newBoard()
	cfg := testConfig("a", ln, nil, b)
	cfg.TLS = pki.config(t, "127.0.0.1")
	cfg.Join = func(from string, req []byte) ([]byte, error) { return append([]byte("ok "), from...), nil }
	n := start(t, cfg, b)
	got, err := Join(context.Background(), n.addr, pki.config(t, "127.0.0.1"), "c", nil)
	if err != nil || string(got) != "ok c" {
		t.Fatalf("Join over TLS: %q, %v", got, err)
	}
	if _, err := Join(context.Background(), n.addr, nil, "c", nil); err == nil {
		t.Fatal("Join in plain TCP to a TLS member succeeded")
	}
}
