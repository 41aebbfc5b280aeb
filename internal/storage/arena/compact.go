package arena

import (
	"cmp"
	"slices"
)

const (
	// minSweepGarbage is the garbage below which no sweep starts, however
	// small the engine.
	minSweepGarbage = 16 << 10

	// stepSlots is how many slots a sweep visits in every Set or Delete,
	// plus more in proportion to the garbage the call made, so that a sweep
	// ends before the garbage made meanwhile reaches half of what the sweep
	// reclaims; but never more than maxStepSlots.
	stepSlots    = 64
	maxStepSlots = 8192

	// stepBytes is how many bytes a sweep copies at most in one call, or
	// eight times the garbage the call made if that is more.
	stepBytes = 64 << 10
)

// sweep is the state of compaction: which chunks are being evacuated and how
// far the walk over the slots has come.
type sweep struct {
	sweeping   bool
	sweepPos   uint32   // next slot to visit
	reclaim    int64    // garbage in the marked chunks when the sweep started
	sweeps     int      // sweeps started
	candidates []uint32 // scratch for startSweep
}

// maintain runs compaction after a Set or Delete that turned garbage bytes
// of shared chunks into garbage: it starts a sweep when garbage passes a
// quarter of the chunk bytes, and moves a running sweep on by a bounded
// step.
func (e *Engine) maintain(garbage int) {
	if !e.sweeping {
		g := e.garbage()
		if g < minSweepGarbage || 4*g <= e.chunkBytes || !e.startSweep() {
			return
		}
	}
	e.step(garbage)
}

// startSweep marks chunks for evacuation and reports whether it marked any.
// It takes the chunks that are at least a quarter garbage, those with the
// least live data first, up to a budget of live bytes to copy: an eighth of
// the live bytes, or one large chunk. The current chunk is a candidate too,
// counting only the entries written so far; when marked, it is retired.
func (e *Engine) startSweep() bool {
	cands := e.candidates[:0]
	for c := range e.chunks {
		ch := &e.chunks[c]
		if ch.b == nil || ch.huge {
			continue
		}
		used := cap(ch.b)
		if c == e.cur {
			used = len(ch.b)
		}
		if 4*(used-ch.live) >= cap(ch.b) {
			cands = append(cands, uint32(c))
		}
	}
	// Least live per byte of capacity first.
	slices.SortFunc(cands, func(a, b uint32) int {
		ca, cb := &e.chunks[a], &e.chunks[b]
		return cmp.Compare(int64(ca.live)*int64(cap(cb.b)), int64(cb.live)*int64(cap(ca.b)))
	})
	budget := max(maxChunk, e.chunkLive/8)
	marked := false
	var copied, reclaim int64
	for _, c := range cands {
		ch := &e.chunks[c]
		if marked && copied+int64(ch.live) > budget {
			break
		}
		if int(c) == e.cur {
			e.retire()
			if ch.b == nil {
				continue // it held nothing live and is gone
			}
		}
		ch.evac = true
		marked = true
		copied += int64(ch.live)
		reclaim += int64(cap(ch.b) - ch.live)
	}
	e.candidates = cands[:0]
	if marked {
		e.sweeping, e.sweepPos, e.reclaim = true, 0, reclaim
		e.sweeps++
	}
	return marked
}

// step moves the running sweep on: it visits slots, copying the entries it
// finds in marked chunks to the current chunk, until it has visited enough
// slots or copied enough bytes for a call that made garbage bytes of
// garbage. A marked chunk is released once its last live entry has left it;
// when the walk reaches the last slot, every marked chunk has been.
func (e *Engine) step(garbage int) {
	visits := int(min(maxStepSlots, stepSlots+2*int64(garbage)*int64(e.nslots)/max(e.reclaim, 1)))
	budget := max(stepBytes, 8*garbage)
	for visits > 0 && budget > 0 && e.sweepPos < e.nslots {
		// The slots of one page; moving entries changes no page.
		base := e.sweepPos &^ pageMask
		page := e.pages[base>>pageShift]
		j := int(e.sweepPos & pageMask)
		end := min(len(page), j+visits)
		visits -= end - j
		for ; j < end && budget > 0; j++ {
			s := page[j]
			if s == 0 {
				continue
			}
			loc := e.locOf(s)
			c, off := splitLoc(loc)
			if !e.chunks[c].evac {
				continue
			}
			k, v := e.entry(loc)
			e.setLoc(base+uint32(j), s, e.put(k, v, typedAt(e.chunks[c].b[off:])))
			size := entrySize(e.chunks[c].b[off:])
			e.release(c, size)
			budget -= size
		}
		e.sweepPos = base + uint32(j)
	}
	if e.sweepPos >= e.nslots {
		e.sweeping = false
	}
}
