// Package placement holds the cluster's placement table: which shard group
// serves each key, and which nodes hold each group's replicas.
//
// A key maps to a Redis Cluster hash slot (package slot), a slot to a shard
// group, and a group to an ordered list of replicas on nodes:
//
//	key --slot.Of--> slot --GroupOf--> group --Groups()[g].Replicas--> nodes
//
// A Table is an immutable value built by New from an epoch, a node list and
// three sizes. Every process that builds a table from the same arguments gets
// the same table, so nodes agree on placement without exchanging it. A
// cluster swaps whole tables, with a higher epoch, rather than editing one.
//
// # Slots to groups
//
// Shard groups are placed on the circle of slots 0..16383 with consistent
// hashing. Group g (0 <= g < shards) has vnodes points; point v sits at slot
//
//	xxhash64("shard-<g>-vnode-<v>") mod 16384
//
// with <g> and <v> in decimal without sign or leading zeros, and xxhash64 the
// XXH64 of github.com/cespare/xxhash/v2 with seed 0: the point names of package
// ring, reduced to the slot circle. When points of several groups fall on the
// same slot, the lowest group keeps it and the others' points there are
// dropped. Slot s belongs to the group of the first point at or after s,
// going clockwise and wrapping from 16383 round to 0.
//
// A point depends only on its group and index, so adding group n leaves the
// points of groups 0..n-1 in place: the only slots that move are those the
// new group takes over. A group whose every point is dropped owns no slot, and
// New rejects such a table. That happens by chance when points are few (more
// virtual nodes make it vanishingly rare) and for the highest groups when
// shards times vnodes far exceeds 16384, as lower groups then win almost every
// slot.
//
// # Groups to nodes
//
// Nodes are sorted by ID and numbered 0..n-1 in that order. With S groups of
// R replicas each, group g starts at node
//
//	start(g) = floor(g*n / S)
//
// and its replicas are the R consecutive nodes start(g), start(g)+1, ...,
// start(g)+R-1, counted modulo n. Replicas[0], the preferred leader, is
// start(g). This gives:
//
//   - distinct replicas within a group, since R <= n;
//   - leaders spread evenly: node j leads the groups g with
//     j <= g*n/S < j+1, that is g in [j*S/n, (j+1)*S/n), an interval of
//     length S/n, which holds floor(S/n) or ceil(S/n) integers;
//   - replicas spread evenly: node j holds a replica of g exactly when
//     start(g) is one of the R nodes j-R+1..j; by the same argument that is
//     floor(R*S/n) or ceil(R*S/n) groups (start(g+S) = start(g)+n, so the
//     count is the same cyclically).
//
// So in both counts the busiest node has at most one more than the idlest.
// Plain round robin, group g on nodes g, g+1, ..., is not enough: with 5
// nodes and 3 groups of 3 replicas it puts 3 replicas on node 2 and 1 on
// node 0.
//
// The slot points and the replica rule above fix where a new cluster's data
// lives and must never change. A running cluster then changes its tables
// one step at a time (change.go): replicas move between nodes, nodes join
// and leave, and every table after the first is the previous one with one
// change and the epoch plus one, decoded by every node from the metadata
// group's log (Encode, Decode).
//
// # Replica ids
//
// Every replica of a group has a Raft id, unique within the group and never
// reused: a replica that leaves and comes back gets a new one, so that no
// vote or log entry of the old one can be taken for the new one's. In the
// first table, node i's replicas have id i+1; later ones are numbered from
// there on by the table.
package placement

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/data-cluster/data-cluster/internal/slot"
)

// Limits on the sizes accepted by New.
const (
	// MaxShards is the largest number of shard groups a table may have.
	MaxShards = 1024
	// MaxVnodes is the largest number of virtual nodes per group.
	MaxVnodes = 4096
)

// Errors returned by New and ParseInitialCluster. They are wrapped with the
// offending values, so compare them with errors.Is.
var (
	// ErrShards reports a number of shard groups below 1 or above MaxShards.
	ErrShards = errors.New("placement: invalid number of shards")
	// ErrReplicas reports a number of replicas per group below 1 or above
	// the number of nodes.
	ErrReplicas = errors.New("placement: invalid number of replicas")
	// ErrVnodes reports a number of virtual nodes below 1 or above
	// MaxVnodes.
	ErrVnodes = errors.New("placement: invalid number of virtual nodes")
	// ErrEmptyGroup reports a shard group that owns no slot because every
	// one of its points fell on a slot taken by a lower group.
	ErrEmptyGroup = errors.New("placement: shard group owns no slot")
	// ErrNodes reports a node list that is empty or holds an invalid ID, an
	// invalid address, or a duplicate ID or address.
	ErrNodes = errors.New("placement: invalid nodes")
	// ErrInitialCluster reports an initial-cluster string that
	// ParseInitialCluster cannot parse.
	ErrInitialCluster = errors.New("placement: invalid initial cluster")
)

// Node is a member of the cluster.
type Node struct {
	// ID names the node: 1 to 64 ASCII letters, digits, '-' or '_', such
	// as "n1". It is unique in the cluster.
	ID string
	// PeerAddr is the host:port on which the node talks to its peers, such
	// as "127.0.0.1:17001". It is unique in the cluster.
	PeerAddr string
	// Draining marks a node being removed: its replicas move to the other
	// nodes, and it gets no new one.
	Draining bool
}

// Group is a shard group: the set of replicas, one per node, that serve the
// slots of one shard through one Raft log.
type Group struct {
	// ID is the group's number, 0..shards-1.
	ID int
	// Replicas are indexes into Table.Nodes of the nodes that hold the
	// group, all distinct. Replicas[0] is the preferred leader.
	Replicas []int
	// IDs are the Raft ids of Replicas, in the same order.
	IDs []uint64
	// Leaving are the nodes whose replicas a move under way takes away
	// (Table.Move), and LeavingIDs their Raft ids; empty when the group is
	// not moving. Until the move ends (Table.Settle) those nodes keep
	// their replicas, which stay members until Raft has removed them.
	Leaving    []int
	LeavingIDs []uint64
	// Born are the Raft ids of the replicas a group added to a running
	// cluster was founded with (AddGroup): they bootstrap it together.
	// Empty for the groups of the first table, whose replicas bootstrap
	// from it.
	Born []uint64
	// Joining are the Raft ids of replicas that a growth under way adds
	// (Table.Grow): they are in Replicas, and stay joining until Raft has
	// made them voters (Table.Settle).
	Joining []uint64
}

// Moving reports whether a move of one of the group's replicas, or the
// addition of one, is under way.
func (g Group) Moving() bool { return len(g.Leaving) > 0 || len(g.Joining) > 0 }

// clone returns a deep copy of g.
func (g Group) clone() Group {
	return Group{ID: g.ID, Replicas: slices.Clone(g.Replicas), IDs: slices.Clone(g.IDs),
		Leaving: slices.Clone(g.Leaving), LeavingIDs: slices.Clone(g.LeavingIDs), Born: slices.Clone(g.Born),
		Joining: slices.Clone(g.Joining)}
}

// Holds reports whether node (an index) holds a replica of g, staying or
// leaving, and returns its Raft id.
func (g Group) Holds(node int) (uint64, bool) {
	if i := slices.Index(g.Replicas, node); i >= 0 {
		return g.IDs[i], true
	}
	if i := slices.Index(g.Leaving, node); i >= 0 {
		return g.LeavingIDs[i], true
	}
	return 0, false
}

// Range is a run of consecutive slots, Start to End inclusive.
type Range struct {
	Start, End uint16
}

// Table is a placement table: an epoch, the nodes, the shard groups with
// their replicas, and the owner of every slot.
//
// A Table is immutable after New and safe for concurrent use by any number of
// goroutines. Methods that return slices return fresh copies.
type Table struct {
	epoch  uint64
	nextID uint64    // the Raft id the next new replica gets
	nodes  []Node    // sorted by ID
	groups []Group   // groups[g].ID == g
	meta   Group     // the metadata group, ID Meta
	ranges [][]Range // ranges[g] are the slots of group g, ascending
	slots  [slot.Count]uint16
	vnodes int        // virtual nodes per group; 0 when not known
	want   int        // the number of groups wanted; 0 for as many as there are
	copies int        // the number of replicas per group wanted; 0 for the most any has
	mig    *Migration // the slots moving between groups, never changed once set
}

// New returns the placement table of epoch epoch for nodes, with shards shard
// groups of replicas replicas each and vnodes points per group on the slot
// circle, as the package documentation describes. nodes may come in any
// order; New sorts a copy by ID and does not keep nodes.
//
// New returns an error wrapping ErrNodes for an empty node list, an invalid
// or duplicate ID or address; ErrShards unless 1 <= shards <= MaxShards;
// ErrReplicas unless 1 <= replicas <= len(nodes); ErrVnodes unless
// 1 <= vnodes <= MaxVnodes; and ErrEmptyGroup if some group ends up with no
// slot.
func New(epoch uint64, nodes []Node, shards, replicas, vnodes int) (*Table, error) {
	sorted, err := validNodes(nodes)
	if err != nil {
		return nil, err
	}
	switch {
	case shards < 1 || shards > MaxShards:
		return nil, fmt.Errorf("%w: %d, want 1 to %d", ErrShards, shards, MaxShards)
	case replicas < 1 || replicas > len(sorted):
		return nil, fmt.Errorf("%w: %d, want 1 to %d (the number of nodes)", ErrReplicas, replicas, len(sorted))
	case vnodes < 1 || vnodes > MaxVnodes:
		return nil, fmt.Errorf("%w: %d, want 1 to %d", ErrVnodes, vnodes, MaxVnodes)
	}

	t := &Table{epoch: epoch, nodes: sorted, vnodes: vnodes}
	if err := t.placeSlots(shards, vnodes); err != nil {
		return nil, err
	}

	t.groups = placeReplicas(len(sorted), shards, replicas)
	t.meta = Group{ID: Meta}
	for i := range sorted {
		t.meta.Replicas = append(t.meta.Replicas, i)
		t.meta.IDs = append(t.meta.IDs, uint64(i)+1)
	}
	t.nextID = uint64(len(sorted)) + 1
	return t, nil
}

// placeReplicas returns shards groups of replicas replicas each on n nodes,
// by the rule of the package documentation. It requires 1 <= replicas <= n.
func placeReplicas(n, shards, replicas int) []Group {
	groups := make([]Group, shards)
	for g := range groups {
		start := g * n / shards
		rs := make([]int, replicas)
		ids := make([]uint64, replicas)
		for i := range rs {
			rs[i] = (start + i) % n
			ids[i] = uint64(rs[i]) + 1
		}
		groups[g] = Group{ID: g, Replicas: rs, IDs: ids}
	}
	return groups
}

// noPoint marks a slot that holds no point in placeSlots.
const noPoint = 0xffff

// placeSlots fills t.slots and t.ranges for shards groups of vnodes points.
func (t *Table) placeSlots(shards, vnodes int) error {
	// Mark each point's slot with the lowest group that has a point there.
	points := &t.slots
	for s := range points {
		points[s] = noPoint
	}
	var buf []byte
	for g := shards - 1; g >= 0; g-- {
		for v := range vnodes {
			buf = pointName(buf[:0], g, v)
			points[xxhash.Sum64(buf)%slot.Count] = uint16(g)
		}
	}

	// Walk the circle backwards: each slot takes the owner of the nearest
	// point at or after it. Slots after the last point wrap round to the
	// first point.
	first := noPoint
	for _, g := range points {
		if g != noPoint {
			first = int(g)
			break
		}
	}
	owner := uint16(first)
	for s := slot.Count - 1; s >= 0; s-- {
		if points[s] != noPoint {
			owner = points[s]
		}
		points[s] = owner
	}

	t.rangesFromSlots(shards)
	for g, rs := range t.ranges {
		if len(rs) == 0 {
			// Few points collide by chance: more of them make a total loss
			// unlikely. Points beyond the number of slots crowd the
			// circle, and the lower groups win every crowded slot.
			advice := "use more virtual nodes"
			if shards*vnodes > slot.Count {
				advice = fmt.Sprintf("use fewer virtual nodes: %d groups × %d = %d points crowd %d slots",
					shards, vnodes, shards*vnodes, slot.Count)
			}
			return fmt.Errorf("%w: group %d of %d: lower groups took every slot its %d virtual nodes fall on; %s",
				ErrEmptyGroup, g, shards, vnodes, advice)
		}
	}
	return nil
}

// pointName appends to dst the bytes whose hash places point v of group g:
// "shard-<g>-vnode-<v>" in decimal. This format fixes which group owns every
// slot and must never change.
func pointName(dst []byte, g, v int) []byte {
	dst = append(dst, "shard-"...)
	dst = strconv.AppendInt(dst, int64(g), 10)
	dst = append(dst, "-vnode-"...)
	dst = strconv.AppendInt(dst, int64(v), 10)
	return dst
}

// Epoch returns the table's epoch. A cluster replaces a table only with one
// of a higher epoch.
func (t *Table) Epoch() uint64 { return t.epoch }

// Nodes returns the nodes sorted by ID. Node indexes used throughout the
// table are positions in this slice.
func (t *Table) Nodes() []Node { return slices.Clone(t.nodes) }

// Groups returns the shard groups in order of ID, so that Groups()[g].ID == g.
func (t *Table) Groups() []Group {
	gs := make([]Group, len(t.groups))
	for i, g := range t.groups {
		gs[i] = g.clone()
	}
	return gs
}

// Meta is the group number of the metadata group, which holds the tables
// themselves. In a new cluster every node holds a replica of it.
const Meta = -1

// MetaGroup returns the metadata group.
func (t *Table) MetaGroup() Group { return t.meta.clone() }

// GroupOf returns the shard group that owns slot s. It panics unless
// s < slot.Count. It does not allocate.
func (t *Table) GroupOf(s uint16) int { return int(t.slots[s]) }

// GroupOfKey returns the shard group that owns key's slot, slot.Of(key). It
// does not allocate.
func (t *Table) GroupOfKey(key []byte) int { return int(t.slots[slot.Of(key)]) }

// Ranges returns the slots of group as maximal runs of consecutive slots in
// ascending order. Slots that wrap round from 16383 to 0 form two ranges. It
// panics unless 0 <= group < len(Groups()).
func (t *Table) Ranges(group int) []Range { return slices.Clone(t.ranges[group]) }

// NodeIndex returns the index in Nodes of the node with ID id, or -1 if there
// is none.
func (t *Table) NodeIndex(id string) int {
	i, ok := slices.BinarySearchFunc(t.nodes, id, func(n Node, id string) int { return cmp.Compare(n.ID, id) })
	if !ok {
		return -1
	}
	return i
}

// ReplicaID returns the Raft id of node nodeIndex's replica of group (Meta
// for the metadata group),
// staying or leaving, or 0 when the node holds none. It panics unless group
// and nodeIndex are in range.
func (t *Table) ReplicaID(group, nodeIndex int) uint64 {
	if group == Meta {
		id, _ := t.meta.Holds(nodeIndex)
		return id
	}
	if group < 0 || group >= len(t.groups) {
		panic(fmt.Sprintf("placement: ReplicaID: group %d out of range [0, %d)", group, len(t.groups)))
	}
	if nodeIndex < 0 || nodeIndex >= len(t.nodes) {
		panic(fmt.Sprintf("placement: ReplicaID: node index %d out of range [0, %d)", nodeIndex, len(t.nodes)))
	}
	id, _ := t.groups[group].Holds(nodeIndex)
	return id
}

// NodeName returns the 40-character Redis Cluster node name of the node with
// ID id: the lower-case hex SHA-1 of the ID. It is the same on every run and
// every machine, so CLUSTER SLOTS and CLUSTER NODES name a node stably.
func NodeName(id string) string {
	sum := sha1.Sum([]byte(id))
	return hex.EncodeToString(sum[:])
}
