package router

import (
	"context"
	"time"

	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// HoldShard takes shard i for a task of the server's own, such as writing a
// snapshot, and returns its keyspace and the function that gives it back,
// which must be called exactly once. The request waits for room in the
// shard's queue (it is not counted against the router's capacity) and then
// for the shard to reach it. It is safe for concurrent use.
func (r *Router) HoldShard(ctx context.Context, i int) (*keyspace.DB, func(), error) {
	s := r.shards[i]
	for {
		for s.Reserve(1) == 0 {
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		done := make(chan *shard.Batch, 1)
		rel := make(chan struct{})
		b := &shard.Batch{Done: done, Release: rel}
		s.Submit(b)
		select {
		case <-done:
			if !b.Refused {
				return s.DB(), func() { rel <- struct{}{} }, nil
			}
			// A busy script has the shard (see shard.Shard.Drain): ask
			// again in a while.
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		case <-ctx.Done():
			// The shard will still reach the request: give it back then.
			go func() {
				if b := <-done; !b.Refused {
					close(rel)
				}
			}()
			return nil, nil, ctx.Err()
		}
	}
}

// Drain has shard i answer every command that reaches it with the error
// msg until stop is closed, while a busy script keeps the shard from its
// queue (see shard.Shard.Drain). It returns when stop is closed.
func (r *Router) Drain(i int, stop <-chan struct{}, msg string) {
	if s, ok := r.shards[i].(*shard.Shard); ok {
		s.Drain(stop, msg)
	}
}

// engine returns the engine of shard i: Engines[i] when given, else a new one.
func (c Config) engine(i int, newEngine func() storage.Engine) storage.Engine {
	if c.Engines != nil {
		return c.Engines[i]
	}
	return newEngine()
}
