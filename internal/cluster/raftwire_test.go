package cluster

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"weak"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// randomMessage makes a message with each field set or not, as the Raft
// library's messages have them.
func randomMessage(r *rand.Rand) *raftpb.Message {
	u := func() *uint64 {
		if r.IntN(4) == 0 {
			return nil
		}
		return new([]uint64{0, 1, 300, 1 << 40, ^uint64(0)}[r.IntN(5)])
	}
	bs := func() []byte {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte{}
		}
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	m := &raftpb.Message{To: u(), From: u(), Term: u(), LogTerm: u(), Index: u(), Commit: u(),
		RejectHint: u(), Vote: u(), Context: bs()}
	if r.IntN(4) > 0 {
		m.Type = new(raftpb.MessageType(r.IntN(len(raftpb.MessageType_name))))
	}
	if r.IntN(4) > 0 {
		m.Reject = new(r.IntN(2) == 0)
	}
	for range r.IntN(5) {
		e := &raftpb.Entry{Term: u(), Index: u(), Data: bs()}
		if r.IntN(4) > 0 {
			e.Type = new(raftpb.EntryType(r.IntN(len(raftpb.EntryType_name))))
		}
		m.Entries = append(m.Entries, e)
	}
	return m
}

// TestRaftMessageEncoding checks the hand-made encoding against proto's:
// the same bytes, and decoded (without proto) to an equal message.
func TestRaftMessageEncoding(t *testing.T) {
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range 5000 {
		m := randomMessage(r)
		got, err := marshalMessage(m)
		if err != nil {
			t.Fatalf("seed %d, message %d: %v", seed, i, err)
		}
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("seed %d, message %d: %v encoded as\n%x, proto gives\n%x", seed, i, m, got, want)
		}
		d := decodeMessage(got)
		if d == nil {
			t.Fatalf("seed %d, message %d: %v left to proto", seed, i, m)
		}
		if !proto.Equal(d, m) {
			t.Fatalf("seed %d, message %d: decoded %v, want %v", seed, i, d, m)
		}
	}
}

// TestRaftMessageEncodingLeavesTheRestToProto: what the hand-made code does
// not decode is proto's to encode and decode, and comes out the same.
func TestRaftMessageEncodingLeavesTheRestToProto(t *testing.T) {
	snap := &raftpb.Message{Type: new(raftpb.MsgSnap), To: new(uint64(2)),
		Snapshot: &raftpb.Snapshot{Data: []byte("state"), Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(7))}}}
	resp := &raftpb.Message{Type: new(raftpb.MsgStorageAppend), Responses: []*raftpb.Message{{Type: new(raftpb.MsgAppResp)}}}
	unknown := &raftpb.Message{Type: new(raftpb.MsgApp)}
	unknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 5))
	badEnum := protowire.AppendVarint(protowire.AppendTag(nil, msgType, protowire.VarintType), 1000)
	for _, m := range []*raftpb.Message{snap, resp, unknown} {
		b, err := marshalMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := proto.Marshal(m); string(b) != string(want) {
			t.Fatalf("%v encoded as %x, proto gives %x", m, b, want)
		}
		if decodeMessage(b) != nil {
			t.Fatalf("%v decoded without proto", m)
		}
		got, err := unmarshalMessage(b)
		if err != nil || !proto.Equal(got, m) {
			t.Fatalf("%v decoded as %v, %v", m, got, err)
		}
	}
	if decodeMessage(badEnum) != nil {
		t.Fatal("a message type Raft does not define decoded without proto")
	}
	got, err := unmarshalMessage(badEnum)
	want := new(raftpb.Message)
	if werr := proto.Unmarshal(badEnum, want); err != nil || werr != nil || !proto.Equal(got, want) {
		t.Fatalf("a message type Raft does not define: %v, %v; proto gives %v, %v", got, err, want, werr)
	}
}

// FuzzUnmarshalMessage: any bytes decode as proto.Unmarshal decodes them,
// or fail as it does.
func FuzzUnmarshalMessage(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		b, _ := proto.Marshal(randomMessage(r))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unmarshalMessage(b)
		want := new(raftpb.Message)
		werr := proto.Unmarshal(b, want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%x: error %v, proto's %v", b, err, werr)
		}
		if err == nil && !proto.Equal(got, want) {
			t.Fatalf("%x: decoded %v, proto gives %v", b, got, want)
		}
	})
}

// TestRaftMessageDecodeAllocates: an append of one entry, what a loaded
// group sends most, decodes in two allocations (the message, the entry);
// more entries take one more, for their slice.
func TestRaftMessageDecodeAllocates(t *testing.T) {
	entries := func(n int) []*raftpb.Entry {
		var es []*raftpb.Entry
		for i := range n {
			es = append(es, &raftpb.Entry{Term: new(uint64(2)), Index: new(uint64(10 + i)), Data: []byte("entry")})
		}
		return es
	}
	for _, tc := range []struct{ entries, allocs int }{{0, 1}, {1, 2}, {3, 3}} {
		m := &raftpb.Message{Type: new(raftpb.MsgApp), To: new(uint64(2)), From: new(uint64(1)), Term: new(uint64(2)),
			Index: new(uint64(9)), Commit: new(uint64(9)), Entries: entries(tc.entries)}
		b, err := marshalMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		if d := decodeMessage(b); d == nil || !proto.Equal(d, m) {
			t.Fatalf("%d entries: decoded %v, want %v", tc.entries, d, m)
		}
		if got := testing.AllocsPerRun(100, func() { decodeMessage(b) }); got != float64(tc.allocs) {
			t.Errorf("an append of %d entries decodes in %v allocations, want %d", tc.entries, got, tc.allocs)
		}
	}
}

// TestRaftMessageDecodedEntryKeepsNoMessage: Raft's log keeps a follower's
// entries until they are compacted; an entry decoded from an append must
// not keep the message it came in alive with it.
func TestRaftMessageDecodedEntryKeepsNoMessage(t *testing.T) {
	m := &raftpb.Message{Type: new(raftpb.MsgApp), To: new(uint64(2)), From: new(uint64(1)), Term: new(uint64(2)),
		Index: new(uint64(9)), Entries: []*raftpb.Entry{{Term: new(uint64(2)), Index: new(uint64(10)), Data: []byte("entry")}}}
	b, err := marshalMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	d := decodeMessage(b)
	e := d.Entries[0]
	wm := weak.Make(d)
	d = nil
	runtime.GC()
	if wm.Value() != nil {
		t.Error("the decoded message is still alive while its entry is")
	}
	if e.GetIndex() != 10 || string(e.GetData()) != "entry" {
		t.Errorf("the entry kept: %v", e)
	}
}
