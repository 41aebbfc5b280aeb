package placement

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseInitialCluster(t *testing.T) {
	tests := []struct {
		in   string
		want []Node
	}{
		{"n1=127.0.0.1:17001", []Node{{ID: "n1", PeerAddr: "127.0.0.1:17001"}}},
		{
			"n1=127.0.0.1:17001,n2=127.0.0.1:17002,n3=127.0.0.1:17003",
			[]Node{{ID: "n1", PeerAddr: "127.0.0.1:17001"}, {ID: "n2", PeerAddr: "127.0.0.1:17002"}, {ID: "n3", PeerAddr: "127.0.0.1:17003"}},
		},
		{"b=h1:1,a=h2:2", []Node{{ID: "b", PeerAddr: "h1:1"}, {ID: "a", PeerAddr: "h2:2"}}}, // order kept
		{"node_A-1=db-1.example.com:65535", []Node{{ID: "node_A-1", PeerAddr: "db-1.example.com:65535"}}},
		{"x=[::1]:7000,y=[2001:db8::1]:7000", []Node{{ID: "x", PeerAddr: "[::1]:7000"}, {ID: "y", PeerAddr: "[2001:db8::1]:7000"}}},
		{"n1=localhost.:1", []Node{{ID: "n1", PeerAddr: "localhost.:1"}}},
		{strings.Repeat("a", 64) + "=h:1", []Node{{ID: strings.Repeat("a", 64), PeerAddr: "h:1"}}},
		{"n1=127.0.0.1:1,n2=127.0.0.2:1,n3=127.0.0.1:2", []Node{{ID: "n1", PeerAddr: "127.0.0.1:1"}, {ID: "n2", PeerAddr: "127.0.0.2:1"}, {ID: "n3", PeerAddr: "127.0.0.1:2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseInitialCluster(tt.in)
			if err != nil {
				t.Fatalf("ParseInitialCluster(%q): got error %v, want nil", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseInitialCluster(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseInitialClusterErrors(t *testing.T) {
	tests := []struct {
		name, in string
		text     string // in the error's message
	}{
		{"empty", "", "empty, want id=host:port"},
		{"empty item", "n1=h:1,,n2=h:2", "item 2 is empty"},
		{"trailing comma", "n1=h:1,", "item 2 is empty"},
		{"no equals", "n1", `item 1 "n1": want id=host:port`},
		{"empty id", "=h:1", `invalid node id ""`},
		{"id too long", strings.Repeat("a", 65) + "=h:1", "invalid node id"},
		{"id with dot", "n.1=h:1", `invalid node id "n.1"`},
		{"id with space", " n1=h:1", `invalid node id " n1"`},
		{"id with high byte", "n\xe91=h:1", "invalid node id"},
		{"no address", "n1=", `invalid address "": want host:port`},
		{"no port", "n1=127.0.0.1", "want host:port"},
		{"empty port", "n1=127.0.0.1:", `port "", want 1 to 65535`},
		{"port zero", "n1=127.0.0.1:0", `port "0", want 1 to 65535`},
		{"port too large", "n1=127.0.0.1:65536", `port "65536"`},
		{"port not a number", "n1=127.0.0.1:http", `port "http"`},
		{"signed port", "n1=127.0.0.1:+1", `port "+1"`},
		{"empty host", "n1=:17001", `host ""`},
		{"bad host", "n1=exa_mple.com:1", `host "exa_mple.com"`},
		{"host label starts with dash", "n1=-a.com:1", `host "-a.com"`},
		{"double equals", "n1=h=1:2", `host "h=1"`},
		{"unbracketed IPv6", "n1=::1:7000", "want host:port"},
		{"duplicate id", "n1=h:1,n2=h:2,n1=h:3", `item 3 "n1=h:3": duplicate node id "n1", also in item 1`},
		{"duplicate address", "n1=h:1,n2=h:1", `item 2 "n2=h:1": duplicate address "h:1", also in item 1`},
		{"duplicate address, other spelling", "n1=Host:1,n2=host:01", `duplicate address "host:01", also in item 1`},
		{"duplicate IPv6", "n1=[::1]:1,n2=[0::1]:1", "duplicate address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := ParseInitialCluster(tt.in)
			if !errors.Is(err, ErrInitialCluster) {
				t.Fatalf("ParseInitialCluster(%q): got nodes %v, error %v, want %v", tt.in, nodes, err, ErrInitialCluster)
			}
			if nodes != nil {
				t.Errorf("ParseInitialCluster(%q): got nodes %v, want nil", tt.in, nodes)
			}
			t.Log(err)
			if msg := err.Error(); !strings.Contains(msg, tt.text) || strings.Contains(msg, "\n") {
				t.Errorf("ParseInitialCluster(%q): got error %q, want one line containing %q", tt.in, msg, tt.text)
			}
		})
	}
}

// FuzzParseInitialCluster checks that whatever ParseInitialCluster accepts,
// New accepts too, and that the nodes print back to a string that parses to
// the same nodes.
func FuzzParseInitialCluster(f *testing.F) {
	for _, s := range []string{
		"",
		"n1=127.0.0.1:17001,n2=127.0.0.1:17002,n3=127.0.0.1:17003",
		"x=[::1]:7000",
		"n1=h:1,n1=h:2",
		"n1=h:1,n2=H:01",
		"n1=,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nodes, err := ParseInitialCluster(s)
		if err != nil {
			if !errors.Is(err, ErrInitialCluster) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseInitialCluster(%q): got error %q, want one line wrapping %v", s, err, ErrInitialCluster)
			}
			return
		}
		items := make([]string, len(nodes))
		for i, n := range nodes {
			items[i] = n.ID + "=" + n.PeerAddr
		}
		if again := strings.Join(items, ","); again != s {
			t.Fatalf("ParseInitialCluster(%q): got nodes %v that print as %q, want the input", s, nodes, again)
		}
		tb, err := New(1, nodes, 1, len(nodes), 1)
		if err != nil {
			t.Fatalf("New(ParseInitialCluster(%q)): got error %v, want nil", s, err)
		}
		for i, n := range tb.Nodes() {
			if got := tb.NodeIndex(n.ID); got != i {
				t.Fatalf("NodeIndex(%q): got %d, want %d", n.ID, got, i)
			}
		}
	})
}
