package placement

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/data-cluster/data-cluster/internal/binread"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// ErrDecode reports bytes that are not a table Encode wrote.
var ErrDecode = errors.New("placement: undecodable table")

// codecVersion is the first byte of an encoded table. Decode reads
// version 1 too, which had neither born replicas, nor the virtual nodes,
// the wanted number of groups and the migration, and in which every group
// owned a slot, and version 2, which had neither joining replicas nor a
// wanted number of replicas. Encode writes version 2 for a table that has
// neither, so that nodes that only read version 2 follow it.
const codecVersion = 3

// Encode returns t as bytes that Decode turns back into an equal table:
//
//	version u8 (3, or 2 without wanted replicas) | epoch uvarint | next replica id uvarint
//	nodes uvarint | per node: id bytes | peer address bytes | flags u8 (1: draining)
//	groups uvarint | per group, the metadata group first: replicas uvarint, leaving uvarint |
//	                 per replica, staying then leaving: node index uvarint | Raft id uvarint |
//	                 born uvarint | born × Raft id uvarint |
//	                 version 3: joining uvarint | joining × Raft id uvarint
//	ranges uvarint | per range, ascending: first slot uvarint | last slot uvarint | group uvarint
//	vnodes uvarint | wanted groups uvarint (0: as many as there are)
//	migrating u8 (0 or 1) | if 1: from uvarint | to uvarint | epoch uvarint | ranges uvarint |
//	                        per range: first slot uvarint | last slot uvarint
//	version 3: wanted replicas uvarint (0: the most any group has)
//
// where bytes are a uvarint length and the bytes.
func (t *Table) Encode() []byte {
	version := byte(codecVersion)
	if t.copies == 0 && !slices.ContainsFunc(append(t.all(), &t.meta), func(g *Group) bool { return len(g.Joining) > 0 }) {
		version = 2
	}
	b := []byte{version}
	b = binary.AppendUvarint(b, t.epoch)
	b = binary.AppendUvarint(b, t.nextID)
	b = binary.AppendUvarint(b, uint64(len(t.nodes)))
	for _, n := range t.nodes {
		b = appendBytes(b, n.ID)
		b = appendBytes(b, n.PeerAddr)
		var flags byte
		if n.Draining {
			flags |= 1
		}
		b = append(b, flags)
	}
	b = binary.AppendUvarint(b, uint64(len(t.groups)))
	for _, g := range append([]Group{t.meta}, t.groups...) {
		b = binary.AppendUvarint(b, uint64(len(g.Replicas)))
		b = binary.AppendUvarint(b, uint64(len(g.Leaving)))
		for i, r := range g.Replicas {
			b = binary.AppendUvarint(b, uint64(r))
			b = binary.AppendUvarint(b, g.IDs[i])
		}
		for i, r := range g.Leaving {
			b = binary.AppendUvarint(b, uint64(r))
			b = binary.AppendUvarint(b, g.LeavingIDs[i])
		}
		b = binary.AppendUvarint(b, uint64(len(g.Born)))
		for _, id := range g.Born {
			b = binary.AppendUvarint(b, id)
		}
		if version >= 3 {
			b = binary.AppendUvarint(b, uint64(len(g.Joining)))
			for _, id := range g.Joining {
				b = binary.AppendUvarint(b, id)
			}
		}
	}
	var ranges []Range
	var owners []int
	start := 0
	for s := 1; s <= slot.Count; s++ {
		if s < slot.Count && t.slots[s] == t.slots[start] {
			continue
		}
		ranges = append(ranges, Range{uint16(start), uint16(s - 1)})
		owners = append(owners, int(t.slots[start]))
		start = s
	}
	b = binary.AppendUvarint(b, uint64(len(ranges)))
	for i, r := range ranges {
		b = binary.AppendUvarint(b, uint64(r.Start))
		b = binary.AppendUvarint(b, uint64(r.End))
		b = binary.AppendUvarint(b, uint64(owners[i]))
	}
	b = binary.AppendUvarint(b, uint64(t.vnodes))
	b = binary.AppendUvarint(b, uint64(t.want))
	if t.mig == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(t.mig.From))
		b = binary.AppendUvarint(b, uint64(t.mig.To))
		b = binary.AppendUvarint(b, t.mig.Epoch)
		b = binary.AppendUvarint(b, uint64(len(t.mig.Slots)))
		for _, r := range t.mig.Slots {
			b = binary.AppendUvarint(b, uint64(r.Start))
			b = binary.AppendUvarint(b, uint64(r.End))
		}
	}
	if version >= 3 {
		b = binary.AppendUvarint(b, uint64(t.copies))
	}
	return b
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodedEpoch returns the epoch of the table Encode wrote into b, reading
// only the bytes before it: enough to tell whether b holds a newer table
// than one already decoded, without Decode's cost.
func EncodedEpoch(b []byte) (uint64, error) {
	d := binread.Reader{B: b}
	version := d.U8()
	epoch := d.Uvarint()
	if d.Bad || version < 1 || version > codecVersion {
		return 0, fmt.Errorf("%w: unknown version or no epoch", ErrDecode)
	}
	return epoch, nil
}

// Decode returns the table Encode wrote into b. It checks everything a
// Table promises (valid and distinct nodes, distinct replicas per group
// with distinct non-zero ids below the next one, every slot owned by a
// group and every group owning one) and returns an error wrapping ErrDecode
// otherwise.
func Decode(b []byte) (*Table, error) {
	d := binread.Reader{B: b}
	version := d.U8()
	if d.Bad || version < 1 || version > codecVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrDecode)
	}
	t := &Table{epoch: d.Uvarint(), nextID: d.Uvarint()}
	nn := d.Uvarint()
	if d.Bad || nn == 0 || nn > uint64(len(d.B)) {
		return nil, fmt.Errorf("%w: bad node count", ErrDecode)
	}
	nodes := make([]Node, nn)
	for i := range nodes {
		id, addr, flags := d.Bytes(), d.Bytes(), d.U8()
		nodes[i] = Node{ID: string(id), PeerAddr: string(addr), Draining: flags&1 != 0}
		if flags&^1 != 0 {
			return nil, fmt.Errorf("%w: unknown node flags %#x", ErrDecode, flags)
		}
	}
	if d.Bad {
		return nil, fmt.Errorf("%w: nodes cut short", ErrDecode)
	}
	sorted, err := validNodes(nodes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	if !slices.EqualFunc(sorted, nodes, func(a, b Node) bool { return a == b }) {
		return nil, fmt.Errorf("%w: nodes not sorted by id", ErrDecode)
	}
	t.nodes = nodes
	ng := d.Uvarint()
	if d.Bad || ng == 0 || ng > MaxShards {
		return nil, fmt.Errorf("%w: bad group count", ErrDecode)
	}
	all := make([]Group, ng+1)
	for i := range all {
		gi := i - 1 // the metadata group is Meta, -1
		ns, nl := d.Uvarint(), d.Uvarint()
		if d.Bad || ns == 0 || ns+nl > nn {
			return nil, fmt.Errorf("%w: group %d: bad replica count", ErrDecode, gi)
		}
		g := Group{ID: gi}
		seen := map[int]bool{}
		ids := map[uint64]bool{}
		for i := range ns + nl {
			r, id := d.Uvarint(), d.Uvarint()
			switch {
			case d.Bad || r >= nn || seen[int(r)]:
				return nil, fmt.Errorf("%w: group %d: bad or duplicate replica node", ErrDecode, gi)
			case id == 0 || id >= t.nextID || ids[id]:
				return nil, fmt.Errorf("%w: group %d: bad or duplicate replica id %d", ErrDecode, gi, id)
			}
			seen[int(r)], ids[id] = true, true
			if i < ns {
				g.Replicas, g.IDs = append(g.Replicas, int(r)), append(g.IDs, id)
			} else {
				g.Leaving, g.LeavingIDs = append(g.Leaving, int(r)), append(g.LeavingIDs, id)
			}
		}
		if version >= 2 {
			nb := d.Uvarint()
			if d.Bad || nb > ns+nl {
				return nil, fmt.Errorf("%w: group %d: bad born count", ErrDecode, gi)
			}
			for range nb {
				id := d.Uvarint()
				if d.Bad || id == 0 || id >= t.nextID {
					return nil, fmt.Errorf("%w: group %d: bad born id", ErrDecode, gi)
				}
				g.Born = append(g.Born, id)
			}
		}
		if version >= 3 {
			nj := d.Uvarint()
			if d.Bad || nj > ns {
				return nil, fmt.Errorf("%w: group %d: bad joining count", ErrDecode, gi)
			}
			for range nj {
				id := d.Uvarint()
				if d.Bad || !slices.Contains(g.IDs, id) || slices.Contains(g.Joining, id) {
					return nil, fmt.Errorf("%w: group %d: bad joining id", ErrDecode, gi)
				}
				g.Joining = append(g.Joining, id)
			}
		}
		all[i] = g
	}
	t.meta, t.groups = all[0], all[1:]
	nr := d.Uvarint()
	if d.Bad || nr == 0 || nr > slot.Count {
		return nil, fmt.Errorf("%w: bad range count", ErrDecode)
	}
	t.ranges = make([][]Range, ng)
	next := uint64(0)
	for range nr {
		start, end, g := d.Uvarint(), d.Uvarint(), d.Uvarint()
		if d.Bad || start != next || end < start || end >= slot.Count || g >= ng {
			return nil, fmt.Errorf("%w: bad slot range", ErrDecode)
		}
		for s := start; s <= end; s++ {
			t.slots[s] = uint16(g)
		}
		t.ranges[g] = append(t.ranges[g], Range{uint16(start), uint16(end)})
		next = end + 1
	}
	if next != slot.Count {
		return nil, fmt.Errorf("%w: slots %d to %d have no group", ErrDecode, next, slot.Count-1)
	}
	if version >= 2 {
		if err := t.decodeShards(&d); err != nil {
			return nil, err
		}
	}
	if version >= 3 {
		copies := d.Uvarint()
		if d.Bad || copies > nn {
			return nil, fmt.Errorf("%w: bad wanted replicas", ErrDecode)
		}
		t.copies = int(copies)
	}
	if version < 2 {
		for g, rs := range t.ranges {
			if len(rs) == 0 {
				return nil, fmt.Errorf("%w: group %d owns no slot", ErrDecode, g)
			}
		}
	}
	if len(d.B) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the table", ErrDecode, len(d.B))
	}
	return t, nil
}

// decodeShards reads what version 2 added after the slot ranges.
func (t *Table) decodeShards(d *binread.Reader) error {
	vnodes, want := d.Uvarint(), d.Uvarint()
	if d.Bad || vnodes > MaxVnodes || want > MaxShards {
		return fmt.Errorf("%w: bad virtual nodes or wanted groups", ErrDecode)
	}
	t.vnodes, t.want = int(vnodes), int(want)
	switch flag := d.U8(); {
	case d.Bad || flag > 1:
		return fmt.Errorf("%w: bad migration flag", ErrDecode)
	case flag == 0:
		return nil
	}
	from, to, epoch, nr := d.Uvarint(), d.Uvarint(), d.Uvarint(), d.Uvarint()
	ng := uint64(len(t.groups))
	if d.Bad || from >= ng || to >= ng || from == to || epoch > t.epoch || nr == 0 || nr > slot.Count {
		return fmt.Errorf("%w: bad migration", ErrDecode)
	}
	m := &Migration{From: int(from), To: int(to), Epoch: epoch}
	for range nr {
		start, end := d.Uvarint(), d.Uvarint()
		if d.Bad || end < start || end >= slot.Count {
			return fmt.Errorf("%w: bad migrating slots", ErrDecode)
		}
		for s := start; s <= end; s++ {
			if uint64(t.slots[s]) != from {
				return fmt.Errorf("%w: migrating slot %d is not group %d's", ErrDecode, s, from)
			}
		}
		m.Slots = append(m.Slots, Range{uint16(start), uint16(end)})
	}
	t.mig = m
	return nil
}
