package object

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// ZSet is a sorted set value: members with a float64 score each, ordered
// by score and then by member bytewise. It is a listpack while small and a
// ztree (an order-statistics B+tree and a hash index of members) past the
// zset limits. Scores are never NaN; callers refuse it. The zero value
// is not usable; call NewZSet or NewZSetFor.
type ZSet struct {
	// lp is the listpack, the entries in order, each its member (length
	// as a varint, bytes) and then its score (8 bytes, IEEE 754, little
	// endian); nil in a tree.
	lp []byte
	n  int
	t  *ztree
}

var _ storage.Object = (*ZSet)(nil)

// EncSkiplist is the OBJECT ENCODING name of a sorted set past the
// listpack limits, as Redis names it; here it is a B+tree.
const EncSkiplist = "skiplist"

// NewZSet returns an empty sorted set in a listpack.
func NewZSet() *ZSet { return &ZSet{lp: []byte{}} }

// NewZSetFor returns an empty sorted set in the encoding Redis's
// zsetTypeCreate picks for about hint members of up to maxLen bytes: a
// listpack within the zset limits, else a tree.
func NewZSetFor(hint, maxLen int) *ZSet {
	l := CurrentLimits()
	if int64(hint) <= l.ZSetMaxListpackEntries && int64(maxLen) <= l.ZSetMaxListpackValue {
		return NewZSet()
	}
	return &ZSet{t: newZtree(hint)}
}

// NewZSetEncoded returns an empty sorted set in the encoding named as
// OBJECT ENCODING names it, or nil for an unknown name.
func NewZSetEncoded(enc string) *ZSet {
	switch enc {
	case EncListpack:
		return NewZSet()
	case EncSkiplist:
		return &ZSet{t: newZtree(0)}
	}
	return nil
}

// Kind returns storage.KindZSet.
func (z *ZSet) Kind() storage.Kind { return storage.KindZSet }

// Encoding returns "listpack" or "skiplist".
func (z *ZSet) Encoding() string {
	if z.t != nil {
		return EncSkiplist
	}
	return EncListpack
}

// Len returns the number of members.
func (z *ZSet) Len() int {
	if z.t != nil {
		return z.t.len()
	}
	return z.n
}

// MemoryUsage returns an estimate of the bytes the sorted set holds.
func (z *ZSet) MemoryUsage() int64 {
	if z.t != nil {
		return 48 + z.t.memory()
	}
	return 48 + int64(cap(z.lp))
}

// Clone returns a deep copy.
func (z *ZSet) Clone() storage.Object {
	if z.t != nil {
		return &ZSet{t: z.t.clone()}
	}
	return &ZSet{lp: bytes.Clone(z.lp), n: z.n}
}

// zlpNext decodes the listpack entry at the start of b.
func zlpNext(b []byte) (member []byte, score float64, rest []byte) {
	member, rest = lpNext(b)
	score = math.Float64frombits(binary.LittleEndian.Uint64(rest))
	return member, score, rest[8:]
}

// zlpFind returns the offset of member's entry in the listpack, its end,
// and its score; off is -1 when member is absent.
func (z *ZSet) zlpFind(member []byte) (off, end int, score float64) {
	b := z.lp
	for off := 0; len(b) > 0; {
		m, s, rest := zlpNext(b)
		next := off + len(b) - len(rest)
		if bytes.Equal(m, member) {
			return off, next, s
		}
		off, b = next, rest
	}
	return -1, 0, 0
}

// Score returns member's score and whether it is a member.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.t != nil {
		return z.t.score(member)
	}
	off, _, s := z.zlpFind(member)
	return s, off >= 0
}

// Set gives member the score, adding it when absent, and reports whether
// it was added. score must not be NaN. A listpack becomes a tree, as
// Redis's zsetAdd converts it, when a member is added past the entries
// limit or one longer than the value limit arrives.
func (z *ZSet) Set(member []byte, score float64) bool {
	if z.t != nil {
		return z.t.set(member, score)
	}
	off, end, old := z.zlpFind(member)
	if off >= 0 {
		if old == score {
			return false
		}
		z.lp = append(z.lp[:off], z.lp[end:]...)
		z.n--
	} else {
		l := CurrentLimits()
		if int64(z.n+1) > l.ZSetMaxListpackEntries || int64(len(member)) > l.ZSetMaxListpackValue {
			z.Convert()
			return z.t.set(member, score)
		}
	}
	if score == 0 {
		// A listpack keeps no -0: Redis writes a score as text there and
		// reads "-0" back as the integer 0.
		score = 0
	}
	// The offset of the first entry after (score, member).
	at := 0
	for b := z.lp; len(b) > 0; {
		m, s, rest := zlpNext(b)
		if s > score || s == score && bytes.Compare(m, member) > 0 {
			break
		}
		at += len(b) - len(rest)
		b = rest
	}
	size := lpSize(len(member)) + 8
	n := len(z.lp)
	z.lp = reserve(z.lp, size)[:n+size]
	copy(z.lp[at+size:], z.lp[at:n])
	w := binary.PutUvarint(z.lp[at:], uint64(len(member)))
	copy(z.lp[at+w:], member)
	binary.LittleEndian.PutUint64(z.lp[at+w+len(member):], math.Float64bits(score))
	z.n++
	return off < 0
}

// Remove removes member and reports whether it was a member.
func (z *ZSet) Remove(member []byte) bool {
	if z.t != nil {
		return z.t.remove(member)
	}
	off, end, _ := z.zlpFind(member)
	if off < 0 {
		return false
	}
	z.lp = shrink(append(z.lp[:off], z.lp[end:]...))
	z.n--
	return true
}

// Pop removes the member of the lowest rank, or of the highest when last,
// and returns it with its score; the set must not be empty. The member's
// bytes are no longer the set's: they stay valid whatever the set does
// next. It costs O(log n) in a tree, without comparing members.
func (z *ZSet) Pop(last bool) (member []byte, score float64) {
	if z.t != nil {
		m, s := z.t.pop(last)
		return bytesOf(m), s
	}
	off := 0
	if last {
		for b := z.lp; ; {
			_, _, rest := zlpNext(b)
			if len(rest) == 0 {
				off = len(z.lp) - len(b)
				break
			}
			b = rest
		}
	}
	m, score, rest := zlpNext(z.lp[off:])
	member = bytes.Clone(m)
	z.lp = shrink(append(z.lp[:off], rest...))
	z.n--
	return member, score
}

// Convert turns a listpack into a tree; a tree stays as it is.
func (z *ZSet) Convert() {
	if z.t != nil {
		return
	}
	t := newZtree(z.n)
	for b := z.lp; len(b) > 0; {
		m, s, rest := zlpNext(b)
		t.add(string(m), s, -1)
		b = rest
	}
	*z = ZSet{t: t}
}

// Compact turns a tree back into a listpack when it fits the zset limits,
// as Redis's zsetConvertToListpackIfNeeded does. (The commands that store
// a result, ZUNIONSTORE and the like, build it in its final encoding from
// the start with NewZSetFor instead.)
func (z *ZSet) Compact() {
	if z.t == nil {
		return
	}
	l := CurrentLimits()
	if int64(z.t.len()) > l.ZSetMaxListpackEntries {
		return
	}
	var b []byte
	ok := z.t.ascend(z.t.root, 0, func(e *zentry) bool {
		if int64(len(e.member)) > l.ZSetMaxListpackValue {
			return false
		}
		b = lpAppend(b, bytesOf(e.member))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.score+0)) // -0 + 0 is 0
		return true
	})
	if ok {
		if b == nil {
			b = []byte{}
		}
		*z = ZSet{lp: b, n: z.t.len()}
	}
}

// Rank returns the number of members ordered before member, and whether
// it is a member.
func (z *ZSet) Rank(member []byte) (int, bool) {
	if z.t != nil {
		s, ok := z.t.score(member)
		if !ok {
			return 0, false
		}
		return z.t.rank(&zentry{s, string(member)}), true
	}
	r := 0
	for b := z.lp; len(b) > 0; r++ {
		var m []byte
		m, _, b = zlpNext(b)
		if bytes.Equal(m, member) {
			return r, true
		}
	}
	return 0, false
}

// At returns the member of rank i, 0 ≤ i < Len, and its score. The member
// belongs to the set and stays valid until the set changes. It costs
// O(log n) in a tree, O(i) in a listpack.
func (z *ZSet) At(i int) ([]byte, float64) {
	if z.t != nil {
		e := z.t.at(i)
		return bytesOf(e.member), e.score
	}
	b := z.lp
	for ; i > 0; i-- {
		_, _, b = zlpNext(b)
	}
	m, s, _ := zlpNext(b)
	return m, s
}

// Count returns the number of members for which pred is false. pred must
// be false for a first part of the members in order and true for the
// rest (a bound on scores, or on members among equal scores).
func (z *ZSet) Count(pred func(member []byte, score float64) bool) int {
	if z.t != nil {
		return z.t.count(func(e *zentry) bool { return pred(bytesOf(e.member), e.score) })
	}
	r := 0
	for b := z.lp; len(b) > 0; r++ {
		m, s, rest := zlpNext(b)
		if pred(m, s) {
			break
		}
		b = rest
	}
	return r
}

// Ascend calls fn with the members of rank from on, in order, until fn
// returns false. fn must not change the set.
func (z *ZSet) Ascend(from int, fn func(member []byte, score float64) bool) {
	if from >= z.Len() || from < 0 {
		return
	}
	if z.t != nil {
		z.t.ascend(z.t.root, from, func(e *zentry) bool { return fn(bytesOf(e.member), e.score) })
		return
	}
	i := 0
	for b := z.lp; len(b) > 0; i++ {
		m, s, rest := zlpNext(b)
		if i >= from && !fn(m, s) {
			return
		}
		b = rest
	}
}

// Descend calls fn with the members of rank from down to rank 0, until fn
// returns false. fn must not change the set.
func (z *ZSet) Descend(from int, fn func(member []byte, score float64) bool) {
	if from < 0 || z.Len() == 0 {
		return
	}
	from = min(from, z.Len()-1)
	if z.t != nil {
		z.t.descend(z.t.root, from, func(e *zentry) bool { return fn(bytesOf(e.member), e.score) })
		return
	}
	var offs [128]int
	starts := offs[:0]
	for b, off := z.lp, 0; len(b) > 0 && len(starts) <= from; {
		starts = append(starts, off)
		_, _, rest := zlpNext(b)
		off += len(b) - len(rest)
		b = rest
	}
	for i := len(starts) - 1; i >= 0; i-- {
		m, s, _ := zlpNext(z.lp[starts[i]:])
		if !fn(m, s) {
			return
		}
	}
}

// Scan calls fn with members and their scores for one call of ZSCAN from
// cursor, returning the cursor to go on from, 0 when done: a listpack
// whole, in order, as Redis returns it; a tree in the hash order of its
// index, about count members a call, Redis's reverse-binary cursor over
// buckets, so that a member present for a whole iteration is returned at
// least once whatever else is added or removed meanwhile. The order, and
// so the cursors, are those of this process only. fn must not change the
// set.
func (z *ZSet) Scan(cursor uint64, count int, fn func(member []byte, score float64)) uint64 {
	if z.t == nil {
		z.Range(func(m []byte, s float64) bool { fn(m, s); return true })
		return 0
	}
	return z.t.scan(cursor, count, func(e *zentry) { fn(bytesOf(e.member), e.score) })
}

// Range calls fn with every member in order until fn returns false.
func (z *ZSet) Range(fn func(member []byte, score float64) bool) { z.Ascend(0, fn) }

// zscoreBytes returns the 8 bytes that stand for score in log records and
// snapshots.
func zscoreBytes(score float64) []byte {
	return binary.LittleEndian.AppendUint64(make([]byte, 0, 8), math.Float64bits(score))
}

// ZScoreBytes returns the 8 bytes (IEEE 754, little endian) that stand for
// a score in element records and snapshots.
func ZScoreBytes(score float64) []byte { return zscoreBytes(score) }

// ZScoreOf decodes the 8 bytes of a score in element records and
// snapshots; ok is false for any other length and for NaN.
func ZScoreOf(b []byte) (score float64, ok bool) {
	if len(b) != 8 {
		return 0, false
	}
	score = math.Float64frombits(binary.LittleEndian.Uint64(b))
	return score, !math.IsNaN(score)
}
