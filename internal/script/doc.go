// Package script runs Redis Lua scripts (EVAL, EVALSHA, EVAL_RO,
// EVALSHA_RO) with github.com/yuin/gopher-lua, a Lua 5.1 virtual machine
// written in Go.
//
// A Cache keeps the scripts by SHA1, compiled once; Functions keeps the
// Redis 7 function libraries (FUNCTION LOAD, FCALL; see function.go). An Engine runs them: it
// lends each run a Lua state from a pool, hands the script its KEYS and
// ARGV, and converts values both ways as Redis does. The commands a script
// calls go to a Host, which the server implements over the shards it holds
// for the script; the Engine itself never touches a keyspace.
//
// # Sandbox
//
// Scripts see the base library without dofile, loadfile, require, module,
// getfenv, setfenv, newproxy and print, and the string, table, math,
// coroutine, redis, cjson, bit, struct and cmsgpack libraries. The global
// table and every library table are read-only, as in Redis 7: assigning a
// global fails with "Attempt to modify a readonly table", reading a
// missing one with "Script attempted to access nonexistent global
// variable", and rawset, setmetatable and the table library refuse the
// protected tables, so nothing a script does is seen by the next one.
// loadstring compiles source text only: gopher-lua cannot load bytecode.
//
// # Limits
//
// A run is stopped when SCRIPT KILL asks (if it has not written) or when
// the heap the process uses has grown by more than Config.MaxMemory since
// the run began (sampled every 10 ms while a run lasts longer than that;
// the figure is the process's, so it is an approximate bound). A single
// string built by string.rep is limited to Config.MaxMemory too. The Lua
// stack is bounded by the call-stack and registry sizes of the pool's
// states.
package script
