package peer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/data-cluster/data-cluster/internal/peer"
)

func ExampleTransport() {
	// Each node binds its listener, then learns the others' addresses.
	lnA, _ := net.Listen("tcp", "127.0.0.1:0")
	lnB, _ := net.Listen("tcp", "127.0.0.1:0")
	addrs := map[string]string{"a": lnA.Addr().String(), "b": lnB.Addr().String()}

	got := make(chan string, 1)
	up := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan error
	var a *peer.Transport
	for id, ln := range map[string]net.Listener{"a": lnA, "b": lnB} {
		cfg := peer.DefaultConfig()
		cfg.ClusterID = "example"
		cfg.NodeID = id
		cfg.Meta = "client address of " + id
		cfg.Listener = ln
		cfg.Peers = map[string]string{}
		for p, addr := range addrs {
			if p != id {
				cfg.Peers[p] = addr
			}
		}
		cfg.Logger = slog.New(slog.DiscardHandler)
		if id == "a" {
			cfg.OnConnect = func(string) { close(up) }
		}
		tr, err := peer.New(cfg, peer.HandlerFunc(func(from string, f peer.Frame) {
			got <- fmt.Sprintf("%s got %q from %s for group %d", id, f.Data, from, f.Group)
		}))
		if err != nil {
			panic(err)
		}
		if id == "a" {
			a = tr
		}
		d := make(chan error, 1)
		done = append(done, d)
		go func() { d <- tr.Run(ctx) }()
	}

	<-up
	a.Send("b", peer.Frame{Kind: 1, Group: 7, Data: []byte("hello")})
	fmt.Println(<-got)
	fmt.Println(a.Meta("b"))
	cancel()
	for _, d := range done {
		<-d
	}
	// Output:
	// b got "hello" from a for group 7
	// client address of b
}

func ExampleNetwork() {
	n := peer.NewNetwork(1)
	defer n.Close()
	got := make(chan string, 1)
	a := n.Join("a", peer.HandlerFunc(func(string, peer.Frame) {}))
	n.Join("b", peer.HandlerFunc(func(from string, f peer.Frame) { got <- fmt.Sprintf("%q from %s", f.Data, from) }))

	n.Isolate("b")
	a.Send("b", peer.Frame{Data: []byte("lost")})
	n.Heal()
	a.Send("b", peer.Frame{Data: []byte("delivered")})
	fmt.Println(<-got)
	fmt.Printf("%+v\n", n.Stats())
	// Output:
	// "delivered" from a
	// {Sent:2 Delivered:1 Dropped:1}
}
