package object

import (
	"math"
	"slices"
	"sort"
)

// zentry is a member of a sorted set with its score: a key of an inner
// node of a ztree, or what one of the ztree's slots holds.
type zentry struct {
	score  float64
	member string
}

// Node sizes of a ztree. A leaf holds up to zLeafMax entries in arrays of
// that capacity, an inner node up to zKidsMax children.
const (
	zLeafMax = 128
	zKidsMax = 64
	// What a node costs besides its arrays: the struct, rounded to its
	// size class.
	znodeBytes  = 112
	zleafBytes  = znodeBytes + zLeafMax*(8+4)
	zinnerBytes = znodeBytes + zKidsMax*(8+24)
)

// znode is a node of a ztree: a leaf holding entries in order, each as its
// score and the id of its slot, or an inner node holding children. Every
// node counts the entries below it, which makes finding the entry of a
// rank, and the rank of an entry, cost O(log n). keys[i], for i ≥ 1, is at
// most every entry of kids[i] and more than every entry of kids[i-1];
// keys[0] is unused.
type znode struct {
	n      int
	scores []float64
	ids    []uint32
	kids   []*znode
	keys   []zentry
}

func (nd *znode) leaf() bool { return nd.kids == nil }

// ztree is the encoding of a sorted set past the listpack limits, in three
// parts: slots, holding each member (its bytes allocated once) and its
// score, numbered by id, in pages of zPage that are never moved (an array
// grown by copying would leave copies behind for the collector, a large
// part of what a growing set costs in resident memory), with removed ids
// reused; an index,
// an open-addressing hash table of ids by member (4 bytes a position, 8
// bits of them the top of the member's hash); and a B+tree of (score,
// id) entries ordered by (score, member) whose nodes count their entries
// (an order-statistics tree). Scores sit in the tree's leaves beside the
// ids, so that ordering entries reads a slot only between equal scores.
// About 65 bytes per member of 16 bytes, where Redis's skiplist and
// dictionary take about 110.
type ztree struct {
	root    *znode
	pages   [][]zentry // the slots, zPage a page
	nslots  int        // slots used or free
	free    []uint32   // ids of free slots, whose score is NaN
	index   posIndex   // the ids of the members
	members int        // how many
	leaves  int        // leaf nodes, each zleafBytes
	inner   int        // inner nodes, each zinnerBytes
	bytes   int64      // members' bytes, at their allocation size
}

func newZtree(hint int) *ztree {
	return &ztree{root: newLeaf(), leaves: 1, index: newPosIndex(hint)}
}

func newLeaf() *znode {
	return &znode{scores: make([]float64, 0, zLeafMax), ids: make([]uint32, 0, zLeafMax)}
}

func newInner() *znode {
	return &znode{kids: make([]*znode, 0, zKidsMax), keys: make([]zentry, 0, zKidsMax)}
}

func (t *ztree) len() int { return t.members }

func (t *ztree) memory() int64 {
	return 96 + int64(t.leaves)*zleafBytes + int64(t.inner)*zinnerBytes +
		int64(len(t.pages))*(24+zPage*24) + int64(cap(t.pages))*24 + int64(cap(t.free))*4 + t.index.bytes() + t.bytes
}

// zPage is the number of slots in a page.
const zPage = 1024

// slot returns the slot of id.
func (t *ztree) slot(id uint32) *zentry { return &t.pages[id/zPage][id%zPage] }

// lookup returns the index slot of member and whether it is there; when
// absent, the slot is the empty one where it would go.
func (t *ztree) lookup(member []byte) (slot int, found bool) {
	return t.index.lookup(hashBytes(member), func(id uint32) bool { return t.slot(id).member == string(member) })
}

// hashAt returns the hash of the member in slot id.
func (t *ztree) hashAt(id uint32) uint64 { return hashString(t.slot(id).member) }

// score returns member's score and whether it is a member.
func (t *ztree) score(member []byte) (float64, bool) {
	pos, ok := t.lookup(member)
	if !ok {
		return 0, false
	}
	return t.slot(t.index.at(pos)).score, true
}

// reindex rebuilds the index for the members there are, with room to
// grow.
func (t *ztree) reindex() {
	id := 0
	t.index.rebuild(t.members, uint32(t.nslots), func() (uint32, uint64, bool) {
		for ; id < t.nslots; id++ {
			if sl := t.slot(uint32(id)); !math.IsNaN(sl.score) { // NaN: a free slot
				id++
				return uint32(id - 1), hashString(sl.member), true
			}
		}
		return 0, 0, false
	})
}

// less reports whether the entry (score, id) orders before e.
func (t *ztree) less(score float64, id uint32, e *zentry) bool {
	return score < e.score || score == e.score && t.slot(id).member < e.member
}

// after reports whether e orders before the entry (score, id).
func (t *ztree) after(e *zentry, score float64, id uint32) bool {
	return e.score < score || e.score == score && e.member < t.slot(id).member
}

// keyLess reports whether a orders before b.
func keyLess(a, b *zentry) bool {
	return a.score < b.score || a.score == b.score && a.member < b.member
}

// childFor returns the index of the child of inner node nd whose range
// holds e.
func childFor(nd *znode, e *zentry) int {
	return sort.Search(len(nd.kids)-1, func(i int) bool { return keyLess(e, &nd.keys[i+1]) })
}

// insert adds the entry of slot id, whose member is not in the tree.
func (t *ztree) insert(id uint32) {
	e := *t.slot(id)
	if right, sep := t.insertAt(t.root, &e, id); right != nil {
		root := newInner()
		t.inner++
		root.kids = append(root.kids, t.root, right)
		root.keys = append(root.keys, zentry{}, sep)
		root.n = t.root.n + right.n
		t.root = root
	}
}

// leafInsert puts (score, id) at position i of leaf nd, which has room.
func leafInsert(nd *znode, i int, score float64, id uint32) {
	nd.scores = append(nd.scores, 0)
	copy(nd.scores[i+1:], nd.scores[i:])
	nd.scores[i] = score
	nd.ids = append(nd.ids, 0)
	copy(nd.ids[i+1:], nd.ids[i:])
	nd.ids[i] = id
}

// insertAt adds e, the entry of slot id, under nd; when nd splits, it
// returns the new node that follows it and the key that separates them.
func (t *ztree) insertAt(nd *znode, e *zentry, id uint32) (*znode, zentry) {
	nd.n++
	if nd.leaf() {
		i := sort.Search(len(nd.ids), func(i int) bool { return t.after(e, nd.scores[i], nd.ids[i]) })
		if len(nd.ids) < zLeafMax {
			leafInsert(nd, i, e.score, id)
			return nil, zentry{}
		}
		// Split where the new entry goes when it goes at an end, so that
		// entries added in order fill their leaves; else in the middle.
		mid := zLeafMax / 2
		switch i {
		case zLeafMax:
			mid = zLeafMax
		case 0:
			mid = 0
		}
		right := newLeaf()
		t.leaves++
		right.scores = append(right.scores, nd.scores[mid:]...)
		right.ids = append(right.ids, nd.ids[mid:]...)
		nd.scores, nd.ids = nd.scores[:mid], nd.ids[:mid]
		if i < mid || i == 0 {
			leafInsert(nd, i, e.score, id)
		} else {
			leafInsert(right, i-mid, e.score, id)
		}
		nd.n, right.n = len(nd.ids), len(right.ids)
		return right, *t.slot(right.ids[0])
	}
	i := childFor(nd, e)
	right, sep := t.insertAt(nd.kids[i], e, id)
	if right == nil {
		return nil, zentry{}
	}
	nd.kids = append(nd.kids, nil)
	copy(nd.kids[i+2:], nd.kids[i+1:])
	nd.kids[i+1] = right
	nd.keys = append(nd.keys, zentry{})
	copy(nd.keys[i+2:], nd.keys[i+1:])
	nd.keys[i+1] = sep
	if len(nd.kids) <= zKidsMax {
		return nil, zentry{}
	}
	mid := len(nd.kids) / 2
	r := newInner()
	t.inner++
	r.kids = append(r.kids, nd.kids[mid:]...)
	r.keys = append(r.keys, nd.keys[mid:]...)
	up := r.keys[0]
	r.keys[0] = zentry{}
	// The spare slot append made past zKidsMax is given back.
	nd.kids = append(make([]*znode, 0, zKidsMax), nd.kids[:mid]...)
	nd.keys = append(make([]zentry, 0, zKidsMax), nd.keys[:mid]...)
	nd.n = 0
	for _, k := range nd.kids {
		nd.n += k.n
	}
	r.n = 0
	for _, k := range r.kids {
		r.n += k.n
	}
	return r, up
}

// delete removes e, whose member is in the tree.
func (t *ztree) delete(e *zentry) {
	t.deleteAt(t.root, e)
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
		t.inner--
	}
}

func (t *ztree) deleteAt(nd *znode, e *zentry) {
	nd.n--
	if nd.leaf() {
		i := sort.Search(len(nd.ids), func(i int) bool { return !t.less(nd.scores[i], nd.ids[i], e) })
		copy(nd.scores[i:], nd.scores[i+1:])
		nd.scores = nd.scores[:len(nd.scores)-1]
		copy(nd.ids[i:], nd.ids[i+1:])
		nd.ids = nd.ids[:len(nd.ids)-1]
		return
	}
	i := childFor(nd, e)
	t.deleteAt(nd.kids[i], e)
	t.rebalance(nd, i)
}

// rebalance merges nd.kids[i], after a deletion under it, into a
// neighbour when it is underfull and fits there.
func (t *ztree) rebalance(nd *znode, i int) {
	kid := nd.kids[i]
	size := func(k *znode) int {
		if k.leaf() {
			return len(k.ids)
		}
		return len(k.kids)
	}
	limit := zKidsMax
	if kid.leaf() {
		limit = zLeafMax
	}
	if size(kid) >= limit/4 {
		return
	}
	// An underfull child merges into a neighbour it fits in, or else
	// shares the neighbour's entries or children: a node whose neighbours
	// were all too full to merge with would otherwise stay underfull, an
	// inner node down to one child and a leaf down to none.
	switch {
	case i > 0 && size(nd.kids[i-1])+size(kid) <= limit:
		t.merge(nd, i-1)
	case i+1 < len(nd.kids) && size(nd.kids[i+1])+size(kid) <= limit:
		t.merge(nd, i)
	case i > 0:
		t.share(nd, i-1)
	case i+1 < len(nd.kids):
		t.share(nd, i)
	}
}

// share splits the entries or children of nd.kids[i] and nd.kids[i+1],
// too many for one node, evenly between the two.
func (t *ztree) share(nd *znode, i int) {
	a, b := nd.kids[i], nd.kids[i+1]
	if a.leaf() {
		scores := append(slices.Clip(a.scores), b.scores...)
		ids := append(slices.Clip(a.ids), b.ids...)
		mid := len(ids) / 2
		a.scores, a.ids = append(a.scores[:0], scores[:mid]...), append(a.ids[:0], ids[:mid]...)
		b.scores, b.ids = append(b.scores[:0], scores[mid:]...), append(b.ids[:0], ids[mid:]...)
		a.n, b.n = len(a.ids), len(b.ids)
		nd.keys[i+1] = *t.slot(b.ids[0])
		return
	}
	kids := append(slices.Clip(a.kids), b.kids...)
	keys := append(append(slices.Clip(a.keys), nd.keys[i+1]), b.keys[1:]...)
	mid := len(kids) / 2
	a.kids, a.keys = append(a.kids[:0], kids[:mid]...), append(a.keys[:0], keys[:mid]...)
	clear(a.kids[len(a.kids):cap(a.kids)])
	clear(a.keys[len(a.keys):cap(a.keys)])
	nd.keys[i+1] = keys[mid]
	b.kids = append(b.kids[:0], kids[mid:]...)
	b.keys = append(append(b.keys[:0], zentry{}), keys[mid+1:]...)
	clear(b.kids[len(b.kids):cap(b.kids)])
	clear(b.keys[len(b.keys):cap(b.keys)])
	a.n, b.n = 0, 0
	for _, k := range a.kids {
		a.n += k.n
	}
	for _, k := range b.kids {
		b.n += k.n
	}
}

// popEnd removes the first entry, or the last when last, and returns
// the id of its slot: one walk down the tree's edge, no search.
func (t *ztree) popEnd(last bool) uint32 {
	id := t.popEndAt(t.root, last)
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
		t.inner--
	}
	return id
}

func (t *ztree) popEndAt(nd *znode, last bool) uint32 {
	nd.n--
	if nd.leaf() {
		k := len(nd.ids) - 1
		if last {
			id := nd.ids[k]
			nd.scores, nd.ids = nd.scores[:k], nd.ids[:k]
			return id
		}
		id := nd.ids[0]
		copy(nd.scores, nd.scores[1:])
		copy(nd.ids, nd.ids[1:])
		nd.scores, nd.ids = nd.scores[:k], nd.ids[:k]
		return id
	}
	i := 0
	if last {
		i = len(nd.kids) - 1
	}
	id := t.popEndAt(nd.kids[i], last)
	t.rebalance(nd, i)
	return id
}

// merge moves the entries or children of nd.kids[i+1] into nd.kids[i] and
// drops it.
func (t *ztree) merge(nd *znode, i int) {
	a, b := nd.kids[i], nd.kids[i+1]
	if a.leaf() {
		a.scores = append(a.scores, b.scores...)
		a.ids = append(a.ids, b.ids...)
		t.leaves--
	} else {
		a.kids = append(a.kids, b.kids...)
		a.keys = append(a.keys, nd.keys[i+1])
		a.keys = append(a.keys, b.keys[1:]...)
		t.inner--
	}
	a.n += b.n
	j := i + 1
	copy(nd.kids[j:], nd.kids[j+1:])
	nd.kids[len(nd.kids)-1] = nil
	nd.kids = nd.kids[:len(nd.kids)-1]
	copy(nd.keys[j:], nd.keys[j+1:])
	nd.keys[len(nd.keys)-1] = zentry{}
	nd.keys = nd.keys[:len(nd.keys)-1]
}

// rank returns the number of entries before e.
func (t *ztree) rank(e *zentry) int {
	r := 0
	nd := t.root
	for !nd.leaf() {
		i := childFor(nd, e)
		for _, k := range nd.kids[:i] {
			r += k.n
		}
		nd = nd.kids[i]
	}
	return r + sort.Search(len(nd.ids), func(i int) bool { return !t.less(nd.scores[i], nd.ids[i], e) })
}

// at returns the slot of the entry of rank i, 0 ≤ i < len.
func (t *ztree) at(i int) *zentry {
	nd := t.root
	for !nd.leaf() {
		for _, k := range nd.kids {
			if i < k.n {
				nd = k
				break
			}
			i -= k.n
		}
	}
	return t.slot(nd.ids[i])
}

// count returns the number of entries for which pred is false; pred must
// be false for a first part of the entries in order and true for the rest.
func (t *ztree) count(pred func(e *zentry) bool) int {
	r := 0
	nd := t.root
	for !nd.leaf() {
		// The last child whose key fails pred: every entry before it fails.
		i := sort.Search(len(nd.kids)-1, func(i int) bool { return pred(&nd.keys[i+1]) })
		for _, k := range nd.kids[:i] {
			r += k.n
		}
		nd = nd.kids[i]
	}
	return r + sort.Search(len(nd.ids), func(i int) bool { return pred(t.slot(nd.ids[i])) })
}

// ascend calls fn with the entries from rank from on, in order, until fn
// returns false; it returns false once fn has.
func (t *ztree) ascend(nd *znode, from int, fn func(e *zentry) bool) bool {
	if nd.leaf() {
		for i := from; i < len(nd.ids); i++ {
			if !fn(t.slot(nd.ids[i])) {
				return false
			}
		}
		return true
	}
	for _, k := range nd.kids {
		if from >= k.n {
			from -= k.n
			continue
		}
		if !t.ascend(k, from, fn) {
			return false
		}
		from = 0
	}
	return true
}

// descend calls fn with the entries from rank from down to rank 0, until
// fn returns false; it returns false once fn has.
func (t *ztree) descend(nd *znode, from int, fn func(e *zentry) bool) bool {
	if nd.leaf() {
		for i := min(from, len(nd.ids)-1); i >= 0; i-- {
			if !fn(t.slot(nd.ids[i])) {
				return false
			}
		}
		return true
	}
	j, start := 0, 0
	for ; j < len(nd.kids)-1 && from >= start+nd.kids[j].n; j++ {
		start += nd.kids[j].n
	}
	for ; j >= 0; j-- {
		k := nd.kids[j]
		if !t.descend(k, min(from-start, k.n-1), fn) {
			return false
		}
		if j > 0 {
			start -= nd.kids[j-1].n
		}
	}
	return true
}

// set gives member the score, adding it when absent, and reports whether
// it was added.
func (t *ztree) set(member []byte, score float64) bool {
	pos, ok := t.lookup(member)
	if ok {
		id := t.index.at(pos)
		s := t.slot(id)
		if s.score == score {
			return false
		}
		t.delete(s)
		s.score = score
		t.insert(id)
		return false
	}
	t.add(string(member), score, pos)
	return true
}

// add adds member, absent, with the score; pos is where lookup said it
// goes in the index, or -1 to look again.
func (t *ztree) add(member string, score float64, pos int) {
	var id uint32
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		id = uint32(t.nslots)
		if t.nslots%zPage == 0 {
			t.pages = append(t.pages, make([]zentry, zPage))
		}
		t.nslots++
	}
	*t.slot(id) = zentry{score, member}
	if t.index.grows(id) {
		t.reindex()
		pos = -1
	}
	if pos < 0 {
		pos, _ = t.lookup(bytesOf(member))
	}
	t.index.set(pos, hashString(member), id)
	t.members++
	t.bytes += allocBytes(len(member))
	t.insert(id)
}

// remove removes member and reports whether it was present.
func (t *ztree) remove(member []byte) bool {
	pos, ok := t.lookup(member)
	if !ok {
		return false
	}
	id := t.index.at(pos)
	t.delete(t.slot(id))
	t.index.remove(pos, t.hashAt)
	t.release(id)
	return true
}

// pop removes the member of the lowest rank, or of the highest when last,
// and returns it with its score; the tree must not be empty. The tree is
// walked down its edge and the index is searched for the slot's id, so
// that nothing is compared but ids.
func (t *ztree) pop(last bool) (member string, score float64) {
	id := t.popEnd(last)
	s := t.slot(id)
	member, score = s.member, s.score
	pos, _ := t.index.lookup(hashString(member), func(x uint32) bool { return x == id })
	t.index.remove(pos, t.hashAt)
	t.release(id)
	return member, score
}

// release frees slot id, whose member has left the tree and the index.
func (t *ztree) release(id uint32) {
	t.bytes -= allocBytes(len(t.slot(id).member))
	*t.slot(id) = zentry{score: math.NaN()} // free, as no member's score is NaN
	t.free = append(t.free, id)
	t.members--
	if t.members == 0 {
		// An emptied tree lets its slots go.
		t.pages, t.nslots, t.free = nil, 0, nil
	}
}

// clone returns a deep copy made by copying each part as it is, in time
// linear in the members with no hashing or comparing: a snapshot clones
// every collection while it holds its shard. Members' strings are shared,
// as they never change.
func (t *ztree) clone() *ztree {
	c := *t
	c.pages = make([][]zentry, len(t.pages))
	for i, p := range t.pages {
		c.pages[i] = slices.Clone(p)
	}
	c.free = slices.Clone(t.free)
	c.index = t.index.clone()
	c.root = cloneNode(t.root)
	return &c
}

// cloneNode returns a deep copy of nd and the nodes below it, each array
// at its node's full capacity.
func cloneNode(nd *znode) *znode {
	c := &znode{n: nd.n}
	if nd.leaf() {
		c.scores = append(make([]float64, 0, zLeafMax), nd.scores...)
		c.ids = append(make([]uint32, 0, zLeafMax), nd.ids...)
		return c
	}
	c.kids = make([]*znode, len(nd.kids), zKidsMax)
	for i, k := range nd.kids {
		c.kids[i] = cloneNode(k)
	}
	c.keys = append(make([]zentry, 0, zKidsMax), nd.keys...)
	return c
}

// scan calls fn with the members of the index's home slots from cursor
// on, about count a call (posIndex.scan), and returns the cursor to go on
// from, 0 at the end.
func (t *ztree) scan(cursor uint64, count int, fn func(e *zentry)) uint64 {
	return t.index.scan(cursor, count, t.hashAt, func(id uint32) { fn(t.slot(id)) })
}
