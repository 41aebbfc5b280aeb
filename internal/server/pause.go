package server

// waitPause holds the connection while a pause (CLIENT PAUSE, see
// internal/pause) holds a command that writes (writes) or not. Replies to
// the commands before it are sent first. It reports false when the
// connection is closed or stopped meanwhile: the command must not run.
// While paused, the shards neither expire nor evict keys (Pauser.On).
func (c *conn) waitPause(writes bool) bool {
	if !c.s.pause.Holds(writes) || c.onLoop.Load() {
		// On the io_uring loop, the connection left the loop before the
		// command if the pause was in force then (loopLeaves): it began
		// later, and the command is one that was read before it.
		return true
	}
	c.p.Flush()
	if !c.writeOut() {
		return false
	}
	c.paused.Store(true)
	defer c.paused.Store(false)
	return c.s.pause.Wait(writes, c.kicked)
}
