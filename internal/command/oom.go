package command

// OOMError is Redis's reply to a command that needs memory while the server
// is over its maxmemory limit and cannot evict enough.
const OOMError = "OOM command not allowed when used memory > 'maxmemory'."

var lineOOM = []byte(OOMError + "\n")

// MemoryOK makes room in every keyspace c holds, evicting keys by their
// policies, and reports whether each is within its memory limit.
func (c *Ctx) MemoryOK() bool {
	if c.OOM {
		return false
	}
	if c.single != nil {
		return c.single.MakeRoom()
	}
	ok := true
	for _, db := range c.dbs {
		if db != nil && !db.MakeRoom() {
			ok = false
		}
	}
	return ok
}

// RejectOOM is called before a command flagged DenyOOM runs. Unless SkipOOM
// is set, it makes room as MemoryOK does; when a keyspace stays over its
// limit it writes the OOM error (as a line for a command of the line
// protocol) and reports true: the command must not run.
func (c *Ctx) RejectOOM(spec *Spec) bool {
	if c.SkipOOM || c.MemoryOK() {
		return false
	}
	if Line[spec.Name] == spec {
		c.W.AppendRaw(lineOOM)
	} else {
		c.W.AppendError(OOMError)
	}
	return true
}
