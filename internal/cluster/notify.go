package cluster

// Keyspace notifications on a cluster node.
//
// Any node serves any key, so a subscriber on any node receives the events
// of every key: a group's keyspace publishes the events of the entries it
// applies only on the replica that leads the group (GroupConfig.Notify),
// and that node publishes them as PUBLISH does, to its own subscribers and
// to every other node's (framePublish). Each event is thus sent once, in
// the order the leader applied the entries, with PUBLISH's guarantees: at
// most once, lost to a node cut off meanwhile, and, while leadership moves
// between replicas, possibly lost or sent twice for the entries applied
// around the change. The events of one group come in order; those of
// different groups are not ordered with each other.
//
// notify-keyspace-events is a node's own setting, as in Redis Cluster: the
// node that leads a key's group decides whether its events are published.
// Set the flag alike on every node, or CONFIG SET it on each (config.go).
