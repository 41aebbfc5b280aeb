package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/script"
	"github.com/data-cluster/data-cluster/internal/server"
)

// Function libraries are the same on every node of a cluster, unlike Redis
// Cluster's, which each node keeps apart. The metadata group's key
// "functions" holds them: a version number on the first line, then the
// libraries as a FUNCTION DUMP payload. Until the first change the key is
// absent and there are none.
//
// FUNCTION LOAD, DELETE, FLUSH and RESTORE, on any node, read the key
// linearizably, make the change on a copy of the libraries it holds,
// compiled and run by the node (so a syntax error, a library or function
// name already taken, a bad payload are answered with Redis's errors
// before anything is proposed), and write the result by a compare-and-set
// on the key's digest (changeFunctions). When another change won the race
// meanwhile, the change is made again on the new libraries: each applies
// to the libraries it was checked against, and every node sees the same
// changes in the same order. They are answered once the write is
// committed, and after the node that made it has loaded the result.
//
// Every node's script engine (NodeConfig.Scripts) follows the key: the
// node reads its digest from its own replica of the metadata group, or the
// leader's when it holds none, every fnPoll, and loads a newer version
// whole (followFunctions). A node that joins, or restarts, thus loads the
// libraries the metadata group holds, its snapshots included. What the
// nodes read:
//   - FUNCTION LIST, DUMP and STATS read the key linearizably before they
//     answer from the node's copy: they see every change committed before
//     they were sent, on whichever node (the node's copy alone when the
//     metadata group does not answer);
//   - FCALL of a function the node does not have reads the key
//     linearizably before it answers "Function not found", so a library
//     loaded on any node can be called at once on every node; a library
//     deleted or replaced on another node may still run, with its former
//     code, for up to fnPoll.
//
// FCALL's entry carries its library's code (server.ClusterScript), so a
// group's replicas run what the node the client talked to had, whatever
// they have loaded.
//
// Libraries a node kept in its own data directory before they were the
// cluster's (NodeConfig.Functions) are proposed once, as the cluster's
// first libraries, when the cluster has never had any; otherwise they are
// ignored, with a log line that names them.
const functionsKey = "functions"

// fnPoll is how often a node looks for changes of the libraries.
const fnPoll = 100 * time.Millisecond

// fnPatience bounds the time one change keeps trying its compare-and-set
// while other nodes change the libraries meanwhile; between tries it
// waits a random pause of up to fnBackoff, so that nodes that collided do
// not collide again.
const (
	fnPatience = 5 * time.Second
	fnBackoff  = 20 * time.Millisecond
)

// errFnConflict answers a change of the libraries that kept losing races.
var errFnConflict = errors.New("ERR the function libraries changed meanwhile on another node; try again")

// fnState is the libraries as the metadata group holds them.
type fnState struct {
	version uint64
	codes   []string
	digest  uint64 // of the key; 0 when absent
}

// readFunctions reads the libraries from the metadata group: linearizably
// for mode Read, from the local replica for Stale.
func (n *Node) readFunctions(mode Mode) (fnState, error) {
	v, dg, err := n.readMeta(mode, functionsKey)
	if err != nil || dg == 0 {
		return fnState{}, err
	}
	ver, payload, err := cutVersion(v)
	if err != nil {
		return fnState{}, err
	}
	codes, err := script.DecodeLibs(payload)
	if err != nil {
		return fnState{}, err
	}
	return fnState{version: ver, codes: codes, digest: dg}, nil
}

// syncFunctions brings the node's libraries up to the metadata group's, if
// they are newer than those it has, and returns the key's digest.
func (n *Node) syncFunctions(mode Mode) (uint64, error) {
	st, err := n.readFunctions(mode)
	if err != nil || st.version <= n.fnVersion.Load() {
		return st.digest, err
	}
	f := n.cfg.Scripts.NewFunctions()
	if err := f.LoadAll(st.codes); err != nil {
		n.log.Error("the cluster's function libraries cannot be loaded", "version", st.version, "err", err)
		return 0, err
	}
	n.adoptFunctions(st.version, f)
	return st.digest, nil
}

// adoptFunctions makes f, version version of the cluster's libraries, the
// node's libraries, unless it has a later version already.
func (n *Node) adoptFunctions(version uint64, f *script.Functions) {
	n.fnMu.Lock()
	defer n.fnMu.Unlock()
	if version <= n.fnVersion.Load() {
		return
	}
	n.cfg.Scripts.Funcs.Adopt(f)
	n.fnVersion.Store(version)
}

// changeFunctions makes change on a copy of the cluster's current
// libraries and writes the result, if they are still the ones read, trying
// again while another node changed them meanwhile, for up to fnPatience.
// The node's own changes are made one at a time, so that they never
// collide with each other. change's error (Redis's reply) is returned as
// it is; the others are errorText's.
func (n *Node) changeFunctions(change func(f *script.Functions) error) error {
	n.fnChange.Lock()
	defer n.fnChange.Unlock()
	end := time.Now().Add(fnPatience)
	for try := 0; try == 0 || time.Now().Before(end); try++ {
		if try > 0 {
			time.Sleep(rand.N(fnBackoff))
		}
		st, err := n.readFunctions(Read)
		if err != nil {
			return asReply(err)
		}
		f := n.cfg.Scripts.NewFunctions()
		if err := f.LoadAll(st.codes); err != nil {
			return err
		}
		if err := change(f); err != nil {
			return err
		}
		next := strconv.FormatUint(st.version+1, 10) + "\n" + string(f.Dump())
		ok, err := n.swapMeta(functionsKey, st.digest, next)
		if err != nil {
			return asReply(err)
		}
		if ok {
			n.adoptFunctions(st.version+1, f)
			return nil
		}
	}
	return errFnConflict
}

// asReply is err with errorText's text, as a client is answered.
func asReply(err error) error { return errors.New(errorText(err)) }

// followFunctions keeps the node's libraries those of the cluster until
// ctx is done; once the node agrees with the cluster it first offers the
// libraries of an older data directory (offerFunctions).
func (n *Node) followFunctions(ctx context.Context) {
	t := time.NewTicker(fnPoll)
	defer t.Stop()
	offered := len(n.cfg.Functions) == 0
	var seen uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.agreed.Load() {
			continue
		}
		if !offered {
			if _, err := n.offerFunctions(n.cfg.Functions); err != nil {
				continue
			}
			offered = true
		}
		// The digest alone, until it changes.
		reply, err := n.call(n.meta, Stale, []string{string(cmdDigest), functionsKey})
		if dg, ok := parseIntReply(reply); err != nil || !ok || uint64(dg) == seen {
			continue
		}
		if dg, err := n.syncFunctions(Stale); err == nil {
			seen = dg
		}
	}
}

// offerFunctions proposes codes, the libraries this node kept in its data
// directory before they were the cluster's, as the cluster's first ones
// when the cluster has never had any, and reports whether it did; when it
// has, they are ignored with a log line.
func (n *Node) offerFunctions(codes []string) (bool, error) {
	f := n.cfg.Scripts.NewFunctions()
	if err := f.LoadAll(codes); err != nil {
		n.log.Error("the function libraries of this node's data directory are ignored: they do not load", "err", err)
		return false, nil
	}
	names := make([]string, 0, len(codes))
	for _, l := range f.Libraries() {
		names = append(names, l.Name)
	}
	ok, err := n.swapMeta(functionsKey, 0, "1\n"+string(f.Dump()))
	switch {
	case err != nil:
		return false, err
	case ok:
		n.adoptFunctions(1, f)
		n.log.Info("the function libraries of this node's data directory are now the cluster's", "libraries", names)
	default:
		n.log.Warn("the function libraries of this node's data directory are ignored: the cluster has its own", "libraries", names)
	}
	return ok, nil
}

// functions makes FUNCTION LOAD, DELETE, FLUSH and RESTORE changes of the
// cluster's libraries (server.FunctionChanger).
type functions struct{ n *Node }

var _ server.FunctionChanger = functions{}

// Load implements server.FunctionChanger.
func (fc functions) Load(code string, replace bool) (*script.Library, error) {
	var lib *script.Library
	err := fc.n.changeFunctions(func(f *script.Functions) (err error) {
		lib, err = f.Load(code, replace)
		return err
	})
	return lib, err
}

// Delete implements server.FunctionChanger.
func (fc functions) Delete(name string) error {
	return fc.n.changeFunctions(func(f *script.Functions) error { return f.Delete(name) })
}

// Flush implements server.FunctionChanger.
func (fc functions) Flush() error {
	return fc.n.changeFunctions(func(f *script.Functions) error { return f.Flush() })
}

// Restore implements server.FunctionChanger.
func (fc functions) Restore(payload []byte, policy script.RestorePolicy) error {
	return fc.n.changeFunctions(func(f *script.Functions) error { return f.Restore(payload, policy) })
}

// fnNotFound is FCALL's answer for a function no library has.
const fnNotFound = "ERR Function not found"

// freshFunctions brings the node's libraries up to the cluster's, read
// linearizably, and reports whether they changed.
func (n *Node) freshFunctions() bool {
	if !n.agreed.Load() {
		return false
	}
	was := n.fnVersion.Load()
	n.syncFunctions(Read)
	return n.fnVersion.Load() != was
}

// function answers FUNCTION: its changes are the cluster's, LIST, DUMP and
// STATS read the cluster's libraries linearizably first (functions.go).
func (c *clientConn) function(w *resp.Writer, args [][]byte) {
	if len(args) > 1 {
		switch strings.ToLower(string(args[1])) {
		case "list", "dump", "stats":
			c.s.node.freshFunctions()
		}
	}
	server.FunctionCommand(c.s.node.cfg.Scripts, functions{c.s.node}, w, args)
}
