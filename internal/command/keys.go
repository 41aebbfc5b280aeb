package command

// keyCommands are the commands on the keyspace: deletion, existence,
// renaming, expiry and iteration.
var keyCommands = []*Spec{}
