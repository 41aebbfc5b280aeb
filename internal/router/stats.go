package router

import (
	"bytes"

	"github.com/data-cluster/data-cluster/internal/cmdstat"
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/shard"
	"github.com/data-cluster/data-cluster/internal/slowlog"
)

// Observe makes the pipeline count the commands it runs itself (those that
// span shards, and those refused with BUSY) with rec, and name c as their
// client in the slow log, here and in the shards. Call it before the first
// Do. id is the client's id, for the clients tracking keys with NOLOOP.
func (p *Pipeline) Observe(rec *cmdstat.Recorder, c slowlog.Client, id int64) {
	p.rec, p.client, p.id = rec, c, id
	for _, b := range p.batches {
		b.Client, b.ClientID = c, id
	}
}

// rejectBusy counts spec as refused with the busy reply, in its counters
// and in the error replies.
func (p *Pipeline) rejectBusy(spec *command.Spec) {
	p.rec.Reject(spec)
	p.rec.Error(bytes.TrimPrefix(p.BusyReply(), []byte("-")))
}

// refused counts commands refused for lack of room.
func (p *Pipeline) refused(cmds []shard.Cmd) {
	for i := range cmds {
		p.rejectBusy(cmds[i].Spec)
	}
}
