package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// Loading a single server's data. A server run without cluster flags
// keeps its keys in its data dir; restarted as the only founding node of a
// cluster, it writes every key through the group that owns the key's slot,
// as entries of this command, which clients cannot send:
//
//	"\x00load" data   set the keys of data: count uvarint | count × snapshot entry
//
// Until it has written them all the node answers every command that needs
// data with LOADING, as Redis does while it reads its files, and admits no
// other node, so nobody reads or writes a key meanwhile. Each entry
// replaces the keys it carries: a load interrupted by a crash is done
// again from the start and writes the same values.
var cmdLoad = []byte("\x00load")

// ErrLoading reports a change refused while the node loads a single
// server's data.
var ErrLoading = errors.New("cluster: the node is loading a single server's data; try again once it has finished")

// Loading reports whether the node is loading a single server's data.
func (n *Node) Loading() bool { return n.loading.Load() }

// SetLoading sets whether the node is loading a single server's data (see
// Load); a node started to load one sets it before it serves clients.
func (n *Node) SetLoading(on bool) { n.loading.Store(on) }

// Load batches: at most this many keys, or about this many bytes.
const (
	loadBatchKeys  = 1024
	loadBatchBytes = 1 << 20
)

// Load writes every key of src through the group that owns its slot, and
// returns how many it wrote. A batch whose outcome is unknown, or that
// found no leader, is sent again; it stops at the first error reply, or
// when ctx is done.
func (n *Node) Load(ctx context.Context, src storage.Scanner) (int, error) {
	type batch struct {
		buf   []byte
		count int
	}
	batches := map[int]*batch{}
	send := func(g int, b *batch) error {
		data := binary.AppendUvarint(nil, uint64(b.count))
		data = append(data, b.buf...)
		b.buf, b.count = b.buf[:0], 0
		return n.loadCall(ctx, g, data)
	}
	total := 0
	var err error
	var cursor uint64
	for {
		cursor = src.Scan(cursor, func(k, v []byte, obj storage.Object, at int64) bool {
			g := n.Table().GroupOfKey(k)
			b := batches[g]
			if b == nil {
				b = &batch{}
				batches[g] = b
			}
			b.buf = appendEntry(b.buf, k, v, obj, at)
			b.count++
			total++
			if b.count >= loadBatchKeys || len(b.buf) >= loadBatchBytes {
				err = send(g, b)
			}
			return err == nil
		})
		if err != nil {
			return total, err
		}
		if cursor == 0 {
			break
		}
	}
	for g, b := range batches {
		if b.count > 0 {
			if err := send(g, b); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// loadCall writes one batch of keys to group g, again while it fails
// without an answer.
func (n *Node) loadCall(ctx context.Context, g int, data []byte) error {
	cmd := [][][]byte{{cmdLoad, data}}
	for {
		if ctx.Err() != nil || n.closed.Load() {
			return ErrStopped
		}
		ch := make(chan error, 1)
		var reply []byte
		n.Do(g, &Request{Cmds: cmd, Proto: 2, Mode: Write, Done: func(r []byte, _ []int, err error) {
			reply = bytes.Clone(r)
			ch <- err
		}})
		err := <-ch
		switch {
		case err == nil && string(reply) == "+OK\r\n":
			return nil
		case err == nil:
			return fmt.Errorf("cluster: loading keys into group %d: %w", g, replyError("load", reply))
		}
		n.log.Debug("loading keys failed; retrying", "group", g, "err", err)
		select {
		case <-ctx.Done():
			return ErrStopped
		case <-time.After(n.cfg.Group.Tick):
		}
	}
}
