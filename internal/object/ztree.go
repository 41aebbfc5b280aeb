package object

import "sort"

// zentry is one member of a sorted set held in a ztree: its score and the
// member, whose bytes the ztree's map shares as its key.
type zentry struct {
	score  float64
	member string
}

// zless orders entries as Redis's sorted sets do: by score, then by member
// bytewise.
func zless(a, b *zentry) bool {
	return a.score < b.score || a.score == b.score && a.member < b.member
}

// Node sizes of a ztree. A leaf holds up to zLeafMax entries in one array
// of that capacity, an inner node up to zKidsMax children.
const (
	zLeafMax = 128
	zKidsMax = 64
	// What a node costs besides its arrays: the struct, rounded to its
	// size class.
	znodeBytes  = 96
	zleafBytes  = znodeBytes + zLeafMax*24
	zinnerBytes = znodeBytes + zKidsMax*(8+24)
)

// znode is a node of a ztree: a leaf holding entries in order, or an inner
// node holding children. Every node counts the entries below it, which
// makes finding the entry of a rank, and the rank of an entry, cost
// O(log n). keys[i], for i ≥ 1, is at most every entry of kids[i] and more
// than every entry of kids[i-1]; keys[0] is unused.
type znode struct {
	n     int
	items []zentry
	kids  []*znode
	keys  []zentry
}

func (nd *znode) leaf() bool { return nd.kids == nil }

// ztree is the encoding of a sorted set past the listpack limits: a
// B+tree of entries ordered by (score, member) whose nodes count their
// entries (an order-statistics tree), and a map from member to score. The
// member's bytes are allocated once, shared by the map's key and the
// tree's entry.
type ztree struct {
	root   *znode
	scores map[string]float64
	leaves int   // leaf nodes, each zleafBytes
	inner  int   // inner nodes, each zinnerBytes
	bytes  int64 // members' bytes, at their allocation size
	peak   int   // most members the map has held
}

func newZtree(hint int) *ztree {
	return &ztree{root: newLeaf(), scores: make(map[string]float64, hint), leaves: 1, peak: hint}
}

func newLeaf() *znode { return &znode{items: make([]zentry, 0, zLeafMax)} }

func newInner() *znode {
	return &znode{kids: make([]*znode, 0, zKidsMax), keys: make([]zentry, 0, zKidsMax)}
}

func (t *ztree) len() int { return len(t.scores) }

func (t *ztree) memory() int64 {
	return 64 + int64(t.leaves)*zleafBytes + int64(t.inner)*zinnerBytes + mapBytes(t.peak) + t.bytes
}

// childFor returns the index of the child of inner node nd whose range
// holds e.
func childFor(nd *znode, e *zentry) int {
	// The first key not above e, counting from the end.
	return sort.Search(len(nd.kids)-1, func(i int) bool { return zless(e, &nd.keys[i+1]) })
}

// insert adds e, which must not be present.
func (t *ztree) insert(e zentry) {
	if right, sep := t.insertAt(t.root, e); right != nil {
		root := newInner()
		t.inner++
		root.kids = append(root.kids, t.root, right)
		root.keys = append(root.keys, zentry{}, sep)
		root.n = t.root.n + right.n
		t.root = root
	}
}

// insertAt adds e under nd; when nd splits, it returns the new node that
// follows it and the key that separates them.
func (t *ztree) insertAt(nd *znode, e zentry) (*znode, zentry) {
	nd.n++
	if nd.leaf() {
		i := sort.Search(len(nd.items), func(i int) bool { return zless(&e, &nd.items[i]) })
		if len(nd.items) < zLeafMax {
			nd.items = append(nd.items, zentry{})
			copy(nd.items[i+1:], nd.items[i:])
			nd.items[i] = e
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
		right.items = append(right.items, nd.items[mid:]...)
		clear(nd.items[mid:])
		nd.items = nd.items[:mid]
		if i < mid || i == 0 {
			nd.items = append(nd.items, zentry{})
			copy(nd.items[i+1:], nd.items[i:])
			nd.items[i] = e
		} else {
			j := i - mid
			right.items = append(right.items, zentry{})
			copy(right.items[j+1:], right.items[j:])
			right.items[j] = e
		}
		nd.n, right.n = len(nd.items), len(right.items)
		return right, right.items[0]
	}
	i := childFor(nd, &e)
	right, sep := t.insertAt(nd.kids[i], e)
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
	clear(nd.kids[mid:])
	clear(nd.keys[mid:])
	nd.kids, nd.keys = nd.kids[:mid], nd.keys[:mid]
	// The spare slot append made past zKidsMax is given back.
	nd.kids = append(make([]*znode, 0, zKidsMax), nd.kids...)
	nd.keys = append(make([]zentry, 0, zKidsMax), nd.keys...)
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

// delete removes e, which must be present, and returns the member as the
// tree held it.
func (t *ztree) delete(e zentry) string {
	m := t.deleteAt(t.root, &e)
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
		t.inner--
	}
	return m
}

func (t *ztree) deleteAt(nd *znode, e *zentry) string {
	nd.n--
	if nd.leaf() {
		i := sort.Search(len(nd.items), func(i int) bool { return !zless(&nd.items[i], e) })
		m := nd.items[i].member
		copy(nd.items[i:], nd.items[i+1:])
		nd.items[len(nd.items)-1] = zentry{}
		nd.items = nd.items[:len(nd.items)-1]
		return m
	}
	i := childFor(nd, e)
	kid := nd.kids[i]
	m := t.deleteAt(kid, e)
	size := func(k *znode) int {
		if k.leaf() {
			return len(k.items)
		}
		return len(k.kids)
	}
	limit := zKidsMax
	if kid.leaf() {
		limit = zLeafMax
	}
	if size(kid) >= limit/4 {
		return m
	}
	// An underfull child merges into a neighbour it fits in. An empty one
	// always fits, and every inner node but a root being collapsed has
	// two children or more, so no node stays empty.
	switch {
	case i > 0 && size(nd.kids[i-1])+size(kid) <= limit:
		t.merge(nd, i-1)
	case i+1 < len(nd.kids) && size(nd.kids[i+1])+size(kid) <= limit:
		t.merge(nd, i)
	}
	return m
}

// merge moves the entries or children of nd.kids[i+1] into nd.kids[i] and
// drops it.
func (t *ztree) merge(nd *znode, i int) {
	a, b := nd.kids[i], nd.kids[i+1]
	if a.leaf() {
		a.items = append(a.items, b.items...)
		t.leaves--
	} else {
		a.kids = append(a.kids, b.kids...)
		a.keys = append(a.keys, nd.keys[i+1])
		a.keys = append(a.keys, b.keys[1:]...)
		t.inner--
	}
	a.n += b.n
	t.dropKid(nd, i+1)
}

// dropKid removes child j ≥ 1 of nd with its key.
func (t *ztree) dropKid(nd *znode, j int) {
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
	return r + sort.Search(len(nd.items), func(i int) bool { return !zless(&nd.items[i], e) })
}

// at returns the entry of rank i, 0 ≤ i < len.
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
	return &nd.items[i]
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
	return r + sort.Search(len(nd.items), func(i int) bool { return pred(&nd.items[i]) })
}

// ascend calls fn with the entries from rank from on, in order, until fn
// returns false; it returns false once fn has.
func (t *ztree) ascend(nd *znode, from int, fn func(e *zentry) bool) bool {
	if nd.leaf() {
		for i := from; i < len(nd.items); i++ {
			if !fn(&nd.items[i]) {
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
		for i := min(from, len(nd.items)-1); i >= 0; i-- {
			if !fn(&nd.items[i]) {
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
	old, ok := t.scores[string(member)]
	if ok {
		if old == score {
			return false
		}
		m := t.delete(zentry{old, string(member)}) // the shared bytes
		t.insert(zentry{score, m})
		t.scores[m] = score
		return false
	}
	m := string(member)
	t.bytes += allocBytes(len(m))
	t.scores[m] = score
	t.peak = max(t.peak, len(t.scores))
	t.insert(zentry{score, m})
	return true
}

// remove removes member and reports whether it was present.
func (t *ztree) remove(member []byte) bool {
	score, ok := t.scores[string(member)]
	if !ok {
		return false
	}
	delete(t.scores, string(member))
	t.bytes -= allocBytes(len(member))
	t.delete(zentry{score, string(member)})
	return true
}

func (t *ztree) clone() *ztree {
	c := newZtree(t.len())
	t.ascend(t.root, 0, func(e *zentry) bool {
		c.scores[e.member] = e.score // strings are immutable: sharing is safe
		c.insert(*e)
		return true
	})
	c.bytes = t.bytes
	return c
}
