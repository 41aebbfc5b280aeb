package cluster

import (
	"math"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// A Raft message crosses to a peer in protobuf's encoding of
// raftpb.Message. The messages a loaded group sends most (appends and
// their answers; heartbeats mostly go coalesced, see queueHeartbeat) are
// encoded and decoded here by hand, to the byte what proto.Marshal writes
// and with what proto.Unmarshal would give: protobuf's reflection and its
// allocation of every field apart took about 4 % of the nodes' CPU under
// unpipelined writes, this code about 2.6 % (README). Anything else (a
// snapshot, storage responses, unknown fields, an enum value the Raft
// library does not define, a malformed message) goes through proto itself.

// Field numbers of raftpb.Message and raftpb.Entry (raft.proto).
const (
	msgType, msgTo, msgFrom, msgTerm, msgLogTerm, msgIndex, msgEntries, msgCommit = 1, 2, 3, 4, 5, 6, 7, 8
	msgSnapshot, msgReject, msgRejectHint, msgContext, msgVote, msgResponses      = 9, 10, 11, 12, 13, 14
	entType, entTerm, entIndex, entData                                           = 1, 2, 3, 4
)

// marshalMessage returns m's protobuf encoding, the bytes proto.Marshal
// gives.
func marshalMessage(m *raftpb.Message) ([]byte, error) {
	if m.Snapshot != nil || len(m.Responses) > 0 || len(m.ProtoReflect().GetUnknown()) > 0 {
		return proto.Marshal(m)
	}
	// Room for every varint at its longest: one allocation.
	size := 10*(1+maxVarint) + 1 + maxVarint + len(m.Context)
	for _, e := range m.Entries {
		if len(e.ProtoReflect().GetUnknown()) > 0 {
			return proto.Marshal(m)
		}
		size += 2*(1+maxVarint) + entrySizeMax(e)
	}
	b := make([]byte, 0, size)
	b = appendEnumField(b, msgType, m.Type)
	b = appendUint(b, msgTo, m.To)
	b = appendUint(b, msgFrom, m.From)
	b = appendUint(b, msgTerm, m.Term)
	b = appendUint(b, msgLogTerm, m.LogTerm)
	b = appendUint(b, msgIndex, m.Index)
	for _, e := range m.Entries {
		b = protowire.AppendTag(b, msgEntries, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(entrySize(e)))
		b = appendEnumField(b, entType, e.Type)
		b = appendUint(b, entTerm, e.Term)
		b = appendUint(b, entIndex, e.Index)
		if e.Data != nil {
			b = protowire.AppendTag(b, entData, protowire.BytesType)
			b = protowire.AppendBytes(b, e.Data)
		}
	}
	b = appendUint(b, msgCommit, m.Commit)
	if m.Reject != nil {
		b = protowire.AppendTag(b, msgReject, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(*m.Reject))
	}
	b = appendUint(b, msgRejectHint, m.RejectHint)
	if m.Context != nil {
		b = protowire.AppendTag(b, msgContext, protowire.BytesType)
		b = protowire.AppendBytes(b, m.Context)
	}
	b = appendUint(b, msgVote, m.Vote)
	return b, nil
}

// maxVarint is the longest varint.
const maxVarint = 10

// entrySizeMax bounds the bytes of e's encoding.
func entrySizeMax(e *raftpb.Entry) int { return 4*(1+maxVarint) + len(e.Data) }

// entrySize is the length of e's encoding.
func entrySize(e *raftpb.Entry) int {
	n := 0
	if e.Type != nil {
		n += 1 + protowire.SizeVarint(uint64(int64(*e.Type)))
	}
	if e.Term != nil {
		n += 1 + protowire.SizeVarint(*e.Term)
	}
	if e.Index != nil {
		n += 1 + protowire.SizeVarint(*e.Index)
	}
	if e.Data != nil {
		n += 1 + protowire.SizeBytes(len(e.Data))
	}
	return n
}

func appendUint(b []byte, num protowire.Number, v *uint64) []byte {
	if v == nil {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, *v)
}

func appendEnumField[E ~int32](b []byte, num protowire.Number, v *E) []byte {
	if v == nil {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(int64(*v)))
}

// message is a decoded raftpb.Message with its fields' values, so that one
// allocation holds what proto.Unmarshal allocates field by field.
type message struct {
	m                                                        raftpb.Message
	typ                                                      raftpb.MessageType
	to, from, term, logTerm, index, commit, rejectHint, vote uint64
	reject                                                   bool
	// A message of one entry, as a loaded group's appends mostly are,
	// keeps the slice of it here. The entry itself is allocated apart:
	// Raft's log keeps it for as long as the entry is not compacted, and
	// would keep the whole message with it.
	oneP [1]*raftpb.Entry
}

// entry is a decoded raftpb.Entry with its fields' values.
type entry struct {
	e           raftpb.Entry
	typ         raftpb.EntryType
	term, index uint64
}

// unmarshalMessage decodes b, a Raft message's protobuf encoding, as
// proto.Unmarshal does. The message's entries' data and context alias b.
func unmarshalMessage(b []byte) (*raftpb.Message, error) {
	if m := decodeMessage(b); m != nil {
		return m, nil
	}
	m := new(raftpb.Message)
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeMessage decodes b, or returns nil when b holds anything it leaves
// to proto (see above).
func decodeMessage(b []byte) *raftpb.Message {
	// The first pass checks every field and counts the entries.
	n := 0
	ok := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) bool {
		switch {
		case typ == protowire.BytesType:
			n += b2i(num == msgEntries)
			return num == msgContext || num == msgEntries && validEntry(bs)
		case num == msgType:
			return knownEnum(v, raftpb.MessageType_name)
		}
		return num > msgType && num <= msgVote && num != msgEntries && num != msgSnapshot && num != msgContext
	})
	if !ok {
		return nil
	}
	d := new(message)
	m := &d.m
	var ents []entry
	switch {
	case n == 1:
		ents = make([]entry, 1)
		m.Entries = d.oneP[:0]
	case n > 1:
		ents = make([]entry, n)
		m.Entries = make([]*raftpb.Entry, 0, n)
	}
	eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) bool {
		switch num {
		case msgType:
			d.typ, m.Type = raftpb.MessageType(int32(v)), &d.typ
		case msgTo:
			d.to, m.To = v, &d.to
		case msgFrom:
			d.from, m.From = v, &d.from
		case msgTerm:
			d.term, m.Term = v, &d.term
		case msgLogTerm:
			d.logTerm, m.LogTerm = v, &d.logTerm
		case msgIndex:
			d.index, m.Index = v, &d.index
		case msgEntries:
			e := &ents[len(m.Entries)]
			eachField(bs, e.set)
			m.Entries = append(m.Entries, &e.e)
		case msgCommit:
			d.commit, m.Commit = v, &d.commit
		case msgReject:
			d.reject, m.Reject = protowire.DecodeBool(v), &d.reject
		case msgRejectHint:
			d.rejectHint, m.RejectHint = v, &d.rejectHint
		case msgContext:
			m.Context = bs
		case msgVote:
			d.vote, m.Vote = v, &d.vote
		}
		return true
	})
	return m
}

// validEntry reports whether b is an entry entry.set decodes.
func validEntry(b []byte) bool {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) bool {
		if typ == protowire.BytesType {
			return num == entData
		}
		return num == entType && knownEnum(v, raftpb.EntryType_name) || num == entTerm || num == entIndex
	})
}

// set decodes a field of an entry validEntry accepted.
func (e *entry) set(num protowire.Number, _ protowire.Type, v uint64, bs []byte) bool {
	switch num {
	case entType:
		e.typ, e.e.Type = raftpb.EntryType(int32(v)), &e.typ
	case entTerm:
		e.term, e.e.Term = v, &e.term
	case entIndex:
		e.index, e.e.Index = v, &e.index
	case entData:
		e.e.Data = bs
	}
	return true
}

// eachField calls f with every field of b, a varint's value in v and a
// length-delimited field's bytes in bs, and reports whether every field
// was one of those two kinds, well formed, and f returned true for it.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) bool) bool {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return false
		}
		b = b[l:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, l = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, l = protowire.ConsumeBytes(b)
			bs = bs[:len(bs):len(bs)] // an append to it must not reach the next field
		default:
			return false
		}
		if l < 0 || !f(num, typ, v, bs) {
			return false
		}
		b = b[l:]
	}
	return true
}

// knownEnum reports whether v, a varint, is a value of a closed enum whose
// names are names: proto.Unmarshal keeps any other value as an unknown
// field.
func knownEnum(v uint64, names map[int32]string) bool {
	i := int64(v)
	if i < math.MinInt32 || i > math.MaxInt32 {
		return false
	}
	_, ok := names[int32(i)]
	return ok
}
