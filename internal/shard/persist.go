package shard

import "github.com/data-cluster/data-cluster/internal/keyspace"

// maxGroup bounds the batches whose replies wait for one commit of the log.
const maxGroup = 64

// AsyncLog is a keyspace.Log whose commits can be made durable by another
// goroutine: a shard whose log implements it writes each group's records and
// goes on running batches while a goroutine of its own waits for the fsync
// and sends the group's replies. wal.Log implements it.
type AsyncLog interface {
	keyspace.Log
	// CommitAsync writes what was recorded since the last commit and
	// returns the position WaitDurable must reach before the replies to
	// the commands recorded so far are sent; wait is false when they may
	// be sent at once. Called by the shard's owner.
	CommitAsync() (pos int64, wait bool)
	// WaitDurable returns once the log is durable up to pos. Called by the
	// shard's reply goroutine, concurrently with the owner, and by a holder
	// that committed the shard's log (router.Pipeline.Release), once it
	// has given the shard back.
	WaitDurable(pos int64)
}

// group is the batches run since the shard's log was last committed, whose
// replies wait for the commit.
type group struct {
	logged  bool
	waiting []*Batch

	// With an AsyncLog: groups waiting for their fsync go to the reply
	// goroutine on out, which gives their slices back on free and closes
	// done when out is closed and drained.
	async AsyncLog
	out   chan durable
	free  chan []*Batch
	done  chan struct{}
}

// durable is a group of batches to answer once the log reaches pos.
type durable struct {
	batches []*Batch
	pos     int64
}

// SetLog makes the shard record every change to its keyspace in l (see
// keyspace.Log). Call it before Run. The replies to a batch are then sent
// only once the log has been committed: the shard runs the batches it finds
// waiting in its queue, commits once for all of them (group commit), and
// sends them back; it also commits before it is handed to a holder, and a
// holder commits before it releases the shard.
//
// When l is an AsyncLog, the wait for durability (an fsync) is left to a
// goroutine of the shard's own, which answers the groups in order once the
// log has reached them; the shard meanwhile runs the next batches, whose
// records the following fsync covers. Run stops that goroutine when it
// returns. A batch marked Durable goes back to its sender at the commit
// instead, which waits for the log itself (Batch.DurableAt).
func (s *Shard) SetLog(l keyspace.Log) {
	s.db.SetLog(l)
	s.group.logged = l != nil
	if a, ok := l.(AsyncLog); ok {
		g := &s.group
		g.async = a
		g.out = make(chan durable, maxGroup)
		g.free = make(chan []*Batch, maxGroup+2)
		g.done = make(chan struct{})
		go replyDurable(a, g.out, g.free, g.done)
	}
}

// reply sends the batches of run back, after the replies to the waiters
// served meanwhile (a parked client has waited longest), or, when the
// shard logs its changes, adds them to the group, which is committed once
// it holds maxGroup batches or the queue holds nothing more to add to it:
// one commit for a run, not one per batch.
func (s *Shard) reply(run []*Batch) {
	served := s.waiters.served
	if !s.group.logged {
		for _, b := range served {
			b.finish()
		}
		for _, b := range run {
			b.finish()
		}
	} else {
		for _, b := range served {
			s.wait(b)
		}
		for _, b := range run {
			s.wait(b)
		}
		if len(s.queue) == 0 && len(s.group.waiting) > 0 {
			s.commit()
		}
	}
	clear(served)
	s.waiters.served = served[:0]
}

// wait adds b to the group waiting for the log's commit.
func (s *Shard) wait(b *Batch) {
	s.group.waiting = append(s.group.waiting, b)
	if len(s.group.waiting) >= maxGroup {
		s.commit()
	}
}

// commit commits the log and sends back the batches waiting for it, or
// hands them to the reply goroutine.
func (s *Shard) commit() {
	g := &s.group
	if !g.logged {
		return
	}
	if g.async == nil {
		s.db.Commit()
		g.send()
		return
	}
	pos, wait := g.async.CommitAsync()
	if !wait || len(g.waiting) == 0 {
		g.send()
		return
	}
	// Batches whose sender waits for the log itself go back now.
	keep := g.waiting[:0]
	for _, b := range g.waiting {
		if b.Durable {
			b.DurableAt = pos
			b.finish()
		} else {
			keep = append(keep, b)
		}
	}
	clear(g.waiting[len(keep):])
	g.waiting = keep
	if len(keep) == 0 {
		return
	}
	g.out <- durable{batches: g.waiting, pos: pos}
	select {
	case g.waiting = <-g.free:
	default:
		g.waiting = make([]*Batch, 0, maxGroup)
	}
}

// send sends back the batches waiting.
func (g *group) send() {
	for i, b := range g.waiting {
		b.finish()
		g.waiting[i] = nil
	}
	g.waiting = g.waiting[:0]
}

// stopLog commits and, with an AsyncLog, waits until the reply goroutine has
// answered everything and stopped. Run calls it before it returns.
func (s *Shard) stopLog() {
	s.commit()
	if s.group.async != nil {
		close(s.group.out)
		<-s.group.done
	}
}

// replyDurable answers the groups received on in once l is durable up to
// them: it takes every group waiting, waits once for the last one, and
// answers them all.
func replyDurable(l AsyncLog, in <-chan durable, free chan<- []*Batch, done chan<- struct{}) {
	defer close(done)
	var ready []durable
	for d := range in {
		ready = append(ready[:0], d)
	more:
		for {
			select {
			case d, ok := <-in:
				if !ok {
					break more
				}
				ready = append(ready, d)
			default:
				break more
			}
		}
		l.WaitDurable(ready[len(ready)-1].pos)
		for i, d := range ready {
			for j, b := range d.batches {
				b.finish()
				d.batches[j] = nil
			}
			select {
			case free <- d.batches[:0]:
			default:
			}
			ready[i] = durable{}
		}
	}
}
