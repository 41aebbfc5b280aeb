package command

// stringCommands are the commands on string values.
var stringCommands = []*Spec{}
