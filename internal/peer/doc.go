// Package peer carries frames between the nodes of a cluster: one TCP
// connection per pair of nodes, optionally under mutual TLS, carrying both
// directions.
//
// Transport is the real thing; Network (memnet.go) is an in-memory stand-in
// with partitions, loss and delay for deterministic tests of the layers above.
// Both implement Sender and deliver to a Handler.
//
// # Connections
//
// Of two nodes, the one whose ID sorts lower (plain string comparison) dials
// and the other accepts, so a pair never holds two connections. The dialer
// redials with a backoff (50 ms doubling to 1 s by default) for as long as the
// transport runs. When an acceptor is handed a new connection from a peer it
// already has one with, the new one replaces the old (the old one is most
// likely dead without either side having noticed yet).
//
// # Handshake
//
// After TLS, if configured, the dialer sends a hello and the acceptor answers
// with a reply. Strings are a 1-byte length followed by that many bytes, so
// no field is longer than 255 bytes.
//
//	hello:  magic "dcpeer" | version 2 (1 byte) | cluster ID | from ID | to ID | meta
//	reply:  magic "dcpeer" | version 2 (1 byte) | status (1 byte) | text
//
// The acceptor checks the magic, the version, the cluster ID, that "to" is
// itself, that "from" is a configured peer and that "from" sorts lower than
// itself. Status 0 accepts, and the text is the acceptor's meta; status 1
// refuses, and the text says why. Both sides log a refusal with the remote
// address and close the connection. Input without the magic is closed
// without a reply. The whole handshake, TLS included, must complete within
// Config.HandshakeTimeout.
//
// The version also names what the frames may carry: version 2 is version
// 1's wire format with Raft entries a node of version 1 cannot apply (a
// leader's writes batched into one entry), so that nodes of the two
// refuse each other at the handshake rather than replicate logs one of
// them would apply differently.
//
// # Frames
//
// After the handshake both sides send frames, all numbers big endian:
//
//	offset  size  field
//	0       4     n: the number of bytes that follow (5 + payload length)
//	4       1     kind
//	5       4     group
//	9       n-5   payload
//
// A frame whose payload exceeds Config.MaxFrame, or whose n is below 5, ends
// the connection; the dialer then reconnects. Frames are delivered to the
// Handler in the order they were sent on one connection. Frames queued but
// not yet written when a connection ends are lost: the layer above (Raft)
// retransmits.
package peer
