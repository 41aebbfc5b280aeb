package command

// Every Spec in a table gets an ID: a small integer, the same for every Spec
// of the same name (the line protocol's GET and the Redis protocol's GET
// share one), so that per-command counters can live in plain arrays indexed
// by ID. IDs are handed out while the tables are built, at package
// initialisation, and never change; ID 0 belongs to no command, and is the
// ID of a Spec that is not in a table.
var (
	idNames  = []string{""}
	idByName = map[string]int{}
)

// assignID gives s the ID of its name, a new one for a name not seen before.
func assignID(s *Spec) {
	id, ok := idByName[s.Name]
	if !ok {
		id = len(idNames)
		idByName[s.Name] = id
		idNames = append(idNames, s.Name)
	}
	s.ID = id
}

// NumIDs returns one more than the highest command ID: the length of an
// array indexed by ID.
func NumIDs() int { return len(idNames) }

// NameOf returns the name of the commands with ID id, or "" for 0 or an ID
// out of range.
func NameOf(id int) string {
	if id < 0 || id >= len(idNames) {
		return ""
	}
	return idNames[id]
}
