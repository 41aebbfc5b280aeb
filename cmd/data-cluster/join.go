package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/data-cluster/data-cluster/internal/cluster"
	"github.com/data-cluster/data-cluster/internal/fsutil"
	"github.com/data-cluster/data-cluster/internal/peer"
	"github.com/data-cluster/data-cluster/internal/placement"
)

// tableFile, in the data directory of a node that joined a running
// cluster, holds the newest placement table it followed: on a restart it
// finds its peers there, since it has no founding flags to compute them
// from.
const tableFile = "TABLE"

// joinRequest is what a node asks a member with --join, and joinAnswer the
// member's answer.
type joinRequest struct {
	NodeID   string `json:"node_id"`
	PeerAddr string `json:"peer_addr"`
	// ClusterID is the id of the cluster the node's data dir belongs to,
	// "" for an empty one: a member of another cluster refuses it.
	ClusterID string `json:"cluster_id"`
}

type joinAnswer struct {
	ClusterID string `json:"cluster_id"`
	Table     []byte `json:"table"`
}

// joinCluster returns the cluster id and table of a node started with
// --join: from its data dir when it joined before, else by asking the
// member at --join (again and again while it cannot be reached, until ctx
// ends), after which the data dir is the node's.
func joinCluster(ctx context.Context, co clusterOptions, ptls *tls.Config, dir string, log *slog.Logger) (string, *placement.Table, error) {
	if id, node, err := readIdentity(dir); err == nil {
		if node != co.nodeID {
			return "", nil, fmt.Errorf("data dir %s belongs to node %s; start it with --node-id %s, or use an empty dir", dir, node, node)
		}
		b, err := os.ReadFile(filepath.Join(dir, tableFile))
		if err != nil {
			return "", nil, fmt.Errorf("data dir %s: %w (a node that joined keeps its table there)", dir, err)
		}
		t, err := placement.Decode(b)
		if err != nil {
			return "", nil, fmt.Errorf("data dir %s: %s: %w", dir, tableFile, err)
		}
		// A member of another cluster says so; one of this cluster knows
		// the node already; one out of reach does not keep it from
		// starting.
		req, _ := json.Marshal(joinRequest{NodeID: co.nodeID, PeerAddr: co.peerAddr, ClusterID: id})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := peer.Join(cctx, co.join, ptls, co.nodeID, req); errors.Is(err, peer.ErrJoin) && strings.Contains(err.Error(), errOtherCluster) {
			return "", nil, fmt.Errorf("%s: %s", co.join, strings.TrimPrefix(err.Error(), peer.ErrJoin.Error()+": "))
		}
		return id, t, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		// A table saved by a join that stopped before it was done.
		if e.Name() != tableFile && e.Name() != tableFile+".tmp" {
			return "", nil, fmt.Errorf("data dir %s holds data that is not a cluster node's; use an empty dir to join", dir)
		}
	}
	req, err := json.Marshal(joinRequest{NodeID: co.nodeID, PeerAddr: co.peerAddr})
	if err != nil {
		return "", nil, err
	}
	var b []byte
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if b, err = peer.Join(ctx, co.join, ptls, co.nodeID, req); err == nil {
			break
		}
		if errors.Is(err, peer.ErrJoin) {
			return "", nil, fmt.Errorf("%s refused to admit this node: %v", co.join, strings.TrimPrefix(err.Error(), peer.ErrJoin.Error()+": "))
		}
		log.Warn("cannot reach the member to join; retrying", "join", co.join, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return "", nil, fmt.Errorf("joining through %s: %w", co.join, ctx.Err())
		case <-time.After(wait):
		}
	}
	var ans joinAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return "", nil, fmt.Errorf("joining through %s: bad answer: %v", co.join, err)
	}
	t, err := placement.Decode(ans.Table)
	if err != nil {
		return "", nil, fmt.Errorf("joining through %s: %v", co.join, err)
	}
	if t.NodeIndex(co.nodeID) < 0 || ans.ClusterID == "" {
		return "", nil, fmt.Errorf("joining through %s: the answer does not admit %s", co.join, co.nodeID)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, tableFile), ans.Table); err != nil {
		return "", nil, err
	}
	// The identity last: a data dir that has it has the table too.
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, identityFile), []byte("cluster="+ans.ClusterID+"\nnode="+co.nodeID+"\n")); err != nil {
		return "", nil, err
	}
	log.Info("admitted to the cluster", "join", co.join, "epoch", t.Epoch(), "nodes", len(t.Nodes()))
	return ans.ClusterID, t, nil
}

// readIdentity returns the cluster and node a data dir belongs to.
func readIdentity(dir string) (clusterID, node string, err error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "cluster="); ok {
			clusterID = v
		} else if v, ok := strings.CutPrefix(line, "node="); ok {
			node = v
		}
	}
	if clusterID == "" || node == "" {
		return "", "", fmt.Errorf("%s: not a cluster node's identity file", filepath.Join(dir, identityFile))
	}
	return clusterID, node, nil
}

// errOtherCluster starts the refusal of a node from another cluster.
const errOtherCluster = "joining the wrong cluster"

// joinHandler answers the join requests a node's peer port receives.
type joinHandler struct {
	node      *cluster.Node
	clusterID string
}

// handle admits the node that asks, if it may join.
func (h joinHandler) handle(from string, b []byte) ([]byte, error) {
	var req joinRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, fmt.Errorf("undecodable join request: %v", err)
	}
	switch {
	case req.NodeID != from:
		return nil, fmt.Errorf("join request of %q sent as %q", req.NodeID, from)
	case !nodeIDPattern.MatchString(req.NodeID):
		return nil, fmt.Errorf("invalid node id %q: use 1 to 64 letters, digits, '-' or '_'", req.NodeID)
	case req.ClusterID != "" && req.ClusterID != h.clusterID:
		return nil, fmt.Errorf("%s: the node's data dir belongs to cluster %s, this is %s", errOtherCluster, req.ClusterID, h.clusterID)
	}
	if _, _, err := net.SplitHostPort(req.PeerAddr); err != nil {
		return nil, fmt.Errorf("invalid peer address %q: %v", req.PeerAddr, err)
	}
	t, err := h.node.Admit(req.NodeID, req.PeerAddr)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "placement: invalid change: "))
	}
	return json.Marshal(joinAnswer{ClusterID: h.clusterID, Table: t.Encode()})
}

// tableFollower keeps the transport's peers those of the newest table the
// node follows and, for a node that joined, the table in its data dir.
type tableFollower struct {
	self string
	log  *slog.Logger
	file string // "" for a founding node, which computes its table from its flags

	mu    sync.Mutex
	tr    *peer.Transport
	epoch uint64
}

// setTransport starts following with tr, whose peers are t's.
func (f *tableFollower) setTransport(tr *peer.Transport, t *placement.Table) {
	f.mu.Lock()
	f.tr, f.epoch = tr, t.Epoch()
	f.mu.Unlock()
}

// table follows t, unless a newer one was followed already.
func (f *tableFollower) table(t *placement.Table) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Epoch() <= f.epoch || f.tr == nil {
		return
	}
	f.epoch = t.Epoch()
	in := map[string]bool{}
	for _, n := range t.Nodes() {
		in[n.ID] = true
		if n.ID != f.self {
			if err := f.tr.AddPeer(n.ID, n.PeerAddr); err != nil {
				f.log.Error("adding a peer", "peer", n.ID, "err", err)
			}
		}
	}
	for id := range f.tr.Stats() {
		if !in[id] {
			f.tr.RemovePeer(id)
		}
	}
	if f.file != "" {
		if err := fsutil.WriteFileAtomic(f.file, t.Encode()); err != nil {
			f.log.Error("saving the placement table", "file", f.file, "err", err)
		}
	}
}
