package placement

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// maxIDLen is the longest node ID accepted.
const maxIDLen = 64

// ParseInitialCluster parses a comma-separated list of id=host:port items,
// such as "n1=127.0.0.1:17001,n2=127.0.0.1:17002", into nodes in the order
// given. IDs are 1 to 64 ASCII letters, digits, '-' or '_'; hosts are IP
// addresses (IPv6 in brackets) or DNS names; ports are 1 to 65535. Spaces are
// not allowed anywhere.
//
// It returns an error wrapping ErrInitialCluster, naming the offending item,
// for an empty string, an empty or malformed item, an invalid ID or address,
// and a duplicate ID or address.
func ParseInitialCluster(s string) ([]Node, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty, want id=host:port[,id=host:port...]", ErrInitialCluster)
	}
	items := strings.Split(s, ",")
	nodes := make([]Node, 0, len(items))
	ids := make(map[string]int, len(items))
	addrs := make(map[string]int, len(items))
	for i, item := range items {
		if item == "" {
			return nil, fmt.Errorf("%w: item %d is empty, want id=host:port", ErrInitialCluster, i+1)
		}
		id, addr, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%w: item %d %q: want id=host:port", ErrInitialCluster, i+1, item)
		}
		n := Node{ID: id, PeerAddr: addr}
		canon, err := checkNode(n)
		if err != nil {
			return nil, fmt.Errorf("%w: item %d %q: %v", ErrInitialCluster, i+1, item, err)
		}
		if j, dup := ids[id]; dup {
			return nil, fmt.Errorf("%w: item %d %q: duplicate node id %q, also in item %d", ErrInitialCluster, i+1, item, id, j+1)
		}
		if j, dup := addrs[canon]; dup {
			return nil, fmt.Errorf("%w: item %d %q: duplicate address %q, also in item %d", ErrInitialCluster, i+1, item, addr, j+1)
		}
		ids[id], addrs[canon] = i, i
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// validNodes checks nodes as ParseInitialCluster does and returns a copy
// sorted by ID. Its errors wrap ErrNodes.
func validNodes(nodes []Node) ([]Node, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: none, want at least 1", ErrNodes)
	}
	addrs := make(map[string]int, len(nodes))
	for i, n := range nodes {
		canon, err := checkNode(n)
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %v", ErrNodes, i, err)
		}
		if j, dup := addrs[canon]; dup {
			return nil, fmt.Errorf("%w: nodes %d and %d: duplicate address %q", ErrNodes, j, i, n.PeerAddr)
		}
		addrs[canon] = i
	}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].ID == sorted[i-1].ID {
			return nil, fmt.Errorf("%w: duplicate node id %q", ErrNodes, sorted[i].ID)
		}
	}
	return sorted, nil
}

// checkNode checks n's ID and address. It returns the address in a canonical
// form, for finding duplicates: lower-case host or normalised IP, and the
// port in decimal without leading zeros.
func checkNode(n Node) (canon string, err error) {
	if !validID(n.ID) {
		return "", fmt.Errorf("invalid node id %q: want 1 to %d letters, digits, '-' or '_'", n.ID, maxIDLen)
	}
	host, port, err := net.SplitHostPort(n.PeerAddr)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: want host:port", n.PeerAddr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", fmt.Errorf("invalid address %q: port %q, want 1 to 65535", n.PeerAddr, port)
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	} else if validHostname(host) {
		host = strings.ToLower(host)
	} else {
		return "", fmt.Errorf("invalid address %q: host %q, want an IP address or a DNS name", n.PeerAddr, host)
	}
	return net.JoinHostPort(host, strconv.FormatUint(p, 10)), nil
}

// validID reports whether id is 1 to maxIDLen ASCII letters, digits, '-' or
// '_'.
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// validHostname reports whether h is a DNS name: at most 253 bytes of
// dot-separated labels of 1 to 63 letters, digits and '-', no label starting
// or ending with '-'. A single final dot is allowed.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := range len(label) {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
