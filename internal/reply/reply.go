// Package reply holds a connection's replies on their way to the socket,
// so that a reply's bytes are copied once: by the shard, as it writes the
// reply into its buffer. A Queue is the bytes the connection writes itself
// (W) with, spliced between them, slices of the buffers other goroutines
// wrote replies into. The connection hands the Queue to the socket as a
// vectored write (Buffers, a writev on TCP) in order, and resets it.
//
// Short replies are copied into W all the same: below MinSplice bytes a
// copy costs less than one more piece of a vectored write. A run of
// spliced replies that lie one after the other in the same buffer is one
// piece.
//
// A Queue is not safe for concurrent use: it belongs to the goroutine that
// writes one connection's replies.
package reply

import (
	"net"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// DefaultMinSplice is the least length of a reply that a Queue splices
// rather than copies, unless SetMinSplice says otherwise.
const DefaultMinSplice = 1 << 10

// spareBytes bounds the memory of the buffers a Queue keeps for Spare
// once they have been sent: those beyond it are given back. It covers the
// replies a connection holds at once (about 1 MiB over every shard, plus
// one reply each, in buffers grown by doubling), so that a connection that
// keeps asking for large values writes them into the same buffers round
// after round.
const spareBytes = 2 << 20

// Queue is a connection's replies waiting for the socket, in order. The
// zero value is an empty Queue that splices replies of DefaultMinSplice
// bytes or more.
type Queue struct {
	// W receives the replies the connection makes itself; they go out
	// after every reply spliced before them.
	W resp.Writer

	refs   []ref    // spliced slices, in order
	nref   int      // bytes in refs
	held   [][]byte // buffers that refs point into, kept until Reset
	spare  [][]byte // held buffers since sent, for Spare
	spareN int      // their capacity
	vec    net.Buffers
	min    int    // SetMinSplice; 0 for DefaultMinSplice
	epoch  uint64 // Reset count
}

// ref is one spliced slice: it goes out after the first at bytes of W.
type ref struct {
	at int
	b  []byte
}

// SetMinSplice sets the least length of a reply that Splice references
// rather than copies; n <= 0 restores DefaultMinSplice. A TLS connection,
// whose every piece becomes a record of its own, sets it high.
func (q *Queue) SetMinSplice(n int) { q.min = n }

// MinSplice returns the least length of a reply that Splice references.
func (q *Queue) MinSplice() int {
	if q.min <= 0 {
		return DefaultMinSplice
	}
	return q.min
}

// Len returns the bytes waiting: W's and the spliced ones.
func (q *Queue) Len() int { return q.W.Len() + q.nref }

// Spliced returns the bytes that wait as references to other buffers.
func (q *Queue) Spliced() int { return q.nref }

// Splice appends the reply b after the bytes waiting. A b shorter than
// MinSplice is copied; a longer one is referenced, and Splice reports
// true: the caller must then leave b's bytes unchanged while the epoch
// stays the same, until the next Reset (see Keep).
func (q *Queue) Splice(b []byte) bool {
	if len(b) < q.MinSplice() {
		q.W.AppendRaw(b)
		return false
	}
	at := q.W.Len()
	q.nref += len(b)
	if n := len(q.refs); n > 0 && q.refs[n-1].at == at && adjacent(q.refs[n-1].b, b) {
		last := &q.refs[n-1]
		last.b = last.b[:len(last.b)+len(b)]
		return true
	}
	q.refs = append(q.refs, ref{at: at, b: b})
	return true
}

// adjacent reports whether b starts in memory just where a ends.
func adjacent(a, b []byte) bool {
	return len(a) < cap(a) && len(b) > 0 && &a[:len(a)+1][len(a)] == &b[0]
}

// Epoch returns a number that changes with every Reset: a caller that
// spliced part of its buffer at one epoch knows the Queue may still
// reference it while the epoch is the same.
func (q *Queue) Epoch() uint64 { return q.epoch }

// Keep takes buf, a buffer spliced slices may point into, until the next
// Reset; the caller writes its next replies elsewhere (see Spare).
func (q *Queue) Keep(buf []byte) { q.held = append(q.held, buf) }

// Spare returns an empty buffer for replies, one kept by Keep and since
// sent, or nil when there is none.
func (q *Queue) Spare() []byte {
	n := len(q.spare)
	if n == 0 {
		return nil
	}
	b := q.spare[n-1]
	q.spare[n-1] = nil
	q.spare = q.spare[:n-1]
	q.spareN -= cap(b)
	return b[:0]
}

// Own copies the spliced bytes into W, in their places, so that the
// buffers they came from may change before the Queue is sent.
func (q *Queue) Own() {
	if len(q.refs) == 0 {
		return
	}
	var w resp.Writer
	w.SetProto(q.W.Proto())
	own := q.W.Bytes()
	from := 0
	for _, r := range q.refs {
		w.AppendRaw(own[from:r.at])
		w.AppendRaw(r.b)
		from = r.at
	}
	w.AppendRaw(own[from:])
	q.W.Reset()
	q.W.AppendRaw(w.Bytes())
	q.dropRefs()
}

// Buffers returns the bytes waiting, in order, as pieces for one vectored
// write. The result is valid until the next call that changes q; writing
// it (net.Buffers.WriteTo) consumes it, not q.
func (q *Queue) Buffers() net.Buffers {
	v := q.vec[:0]
	own := q.W.Bytes()
	from := 0
	for _, r := range q.refs {
		if r.at > from {
			v = append(v, own[from:r.at])
		}
		v = append(v, r.b)
		from = r.at
	}
	if len(own) > from {
		v = append(v, own[from:])
	}
	q.vec = v
	return v
}

// Reset empties q once its bytes are sent (or dropped): the buffers given
// to Keep become spares.
func (q *Queue) Reset() {
	q.W.Reset()
	q.dropRefs()
	for i, b := range q.held {
		if q.spareN+cap(b) <= spareBytes {
			q.spare = append(q.spare, b)
			q.spareN += cap(b)
		}
		q.held[i] = nil
	}
	q.held = q.held[:0]
	clear(q.vec[:cap(q.vec)])
	q.epoch++
}

func (q *Queue) dropRefs() {
	clear(q.refs)
	q.refs = q.refs[:0]
	q.nref = 0
}

// Trim gives W's memory back when it is empty and larger than max bytes
// (resp.Writer.Trim).
func (q *Queue) Trim(max int) { q.W.Trim(max) }

// SetProto selects the RESP version of the replies W writes.
func (q *Queue) SetProto(v int) { q.W.SetProto(v) }
