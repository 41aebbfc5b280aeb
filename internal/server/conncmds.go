package server

import (
	"github.com/data-cluster/data-cluster/internal/command"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// connHandler runs a command that acts on the connection. It writes its reply
// to w; when it runs inside EXEC, it must not flush or hold shards. It runs
// on the connection's goroutine.
type connHandler func(s *session, w *resp.Writer, args [][]byte)

// connCommand is a command that acts on the connection: its entry in the
// command table and the handler that runs it, declared together so that
// neither can be missing. A cluster node serves the same entries with its
// own handlers (internal/cluster, conncmd.go).
type connCommand struct {
	spec command.Spec
	run  connHandler
}

// connCommands are the connection commands. Their ACL categories, key
// specs and COMMAND DOCS are Redis's, recorded by name (internal/acl,
// commands_gen.go; internal/command, redisdocs_gen.go).
var connCommands = []connCommand{
	{command.Spec{Name: "ping", Arity: -1, Flags: command.Fast}, (*session).ping},
	{command.Spec{Name: "echo", Arity: 2, Flags: command.Fast}, (*session).echo},
	{command.Spec{Name: "quit", Arity: -1, Flags: command.Fast | command.NoAuth}, (*session).quitCmd},
	{command.Spec{Name: "hello", Arity: -1, Flags: command.Fast | command.NoAuth}, (*session).hello},
	{command.Spec{Name: "auth", Arity: -2, Flags: command.Fast | command.NoAuth}, (*session).auth},
	{command.Spec{Name: "select", Arity: 2, Flags: command.Fast}, (*session).selectCmd},
	{command.Spec{Name: "reset", Arity: 1, Flags: command.Fast | command.NoAuth}, (*session).reset},
	// CLIENT has Redis 7.2's SETINFO and NO-TOUCH beside 7.0's subcommands.
	{command.Spec{Name: "client", Arity: -2, Subs: []command.Sub{{Name: "setinfo", Arity: 4}, {Name: "no-touch", Arity: 3}}}, (*session).client},
	{command.Spec{Name: "command", Arity: -1}, (*session).command},
	{command.Spec{Name: "info", Arity: -1}, (*session).info},
	{command.Spec{Name: "config", Arity: -2, Flags: command.Admin}, (*session).config},
	{command.Spec{Name: "slowlog", Arity: -2, Flags: command.Admin}, (*session).slowlog},
	{command.Spec{Name: "latency", Arity: -2, Flags: command.Admin}, (*session).latencyCmd},
	{command.Spec{Name: "time", Arity: 1, Flags: command.Fast}, (*session).time},
	{command.Spec{Name: "save", Arity: 1, Flags: command.Admin | command.NoMulti}, (*session).save},
	{command.Spec{Name: "bgsave", Arity: -1, Flags: command.Admin}, (*session).bgsave},
	{command.Spec{Name: "lastsave", Arity: 1, Flags: command.Fast | command.Loading | command.Stale}, (*session).lastsave},
	{command.Spec{Name: "shutdown", Arity: -1, Flags: command.Admin | command.NoScript | command.Loading | command.Stale | command.NoMulti | command.AllowBusy}, (*session).shutdown},
	{command.Spec{Name: "function", Arity: -2, Flags: command.NoScript}, (*session).function},
	{command.Spec{Name: "wait", Arity: 3, Flags: command.NoScript}, (*session).wait},
	{command.Spec{Name: "role", Arity: 1, Flags: command.NoScript | command.Loading | command.Stale | command.Fast}, (*session).role},

	// Transactions.
	{command.Spec{Name: "multi", Arity: 1, Flags: command.Fast | command.NoMulti}, (*session).multi},
	{command.Spec{Name: "exec", Arity: 1, Flags: command.NoMulti}, (*session).exec},
	{command.Spec{Name: "discard", Arity: 1, Flags: command.Fast | command.NoMulti}, (*session).discard},
	{command.Spec{Name: "watch", Arity: -2, Flags: command.Fast | command.NoMulti, FirstKey: 1, LastKey: -1, Step: 1}, (*session).watch},
	{command.Spec{Name: "unwatch", Arity: 1, Flags: command.Fast}, (*session).unwatch},

	// A server started without --initial-cluster answers the cluster
	// commands as a Redis without cluster support does. A cluster node
	// serves subcommands of its own beside Redis's (internal/cluster,
	// admin.go).
	{command.Spec{Name: "cluster", Arity: -2, Subs: clusterSubs}, (*session).noCluster},
	{command.Spec{Name: "readonly", Arity: 1, Flags: command.Fast}, (*session).noCluster},
	{command.Spec{Name: "readwrite", Arity: 1, Flags: command.Fast}, (*session).noCluster},
	{command.Spec{Name: "asking", Arity: 1, Flags: command.Fast}, (*session).noCluster},

	// Publish and subscribe (pubsub.go), MONITOR (monitor.go).
	{command.Spec{Name: "subscribe", Arity: -2, Flags: command.PubSub | command.NoScript | command.Loading | command.Stale}, (*session).subscription},
	{command.Spec{Name: "unsubscribe", Arity: -1, Flags: command.PubSub | command.NoScript | command.Loading | command.Stale}, (*session).subscription},
	{command.Spec{Name: "psubscribe", Arity: -2, Flags: command.PubSub | command.NoScript | command.Loading | command.Stale}, (*session).subscription},
	{command.Spec{Name: "punsubscribe", Arity: -1, Flags: command.PubSub | command.NoScript | command.Loading | command.Stale}, (*session).subscription},
	{command.Spec{Name: "ssubscribe", Arity: -2, Flags: command.PubSub | command.NoScript | command.Loading | command.Stale, FirstKey: 1, LastKey: -1, Step: 1}, (*session).subscription},
	{command.Spec{Name: "sunsubscribe", Arity: -1, Flags: command.PubSub | command.NoScript | command.Loading | command.Stale, FirstKey: 1, LastKey: -1, Step: 1}, (*session).subscription},
	{command.Spec{Name: "publish", Arity: 3, Flags: command.PubSub | command.Loading | command.Stale | command.Fast}, (*session).publish},
	{command.Spec{Name: "spublish", Arity: 3, Flags: command.PubSub | command.Loading | command.Stale | command.Fast, FirstKey: 1, LastKey: 1, Step: 1}, (*session).spublish},
	{command.Spec{Name: "pubsub", Arity: -2, Flags: command.PubSub | command.Loading | command.Stale}, (*session).pubsubCmd},
	{command.Spec{Name: "monitor", Arity: 1, Flags: command.Admin | command.NoScript | command.Loading | command.Stale}, (*session).monitor},

	// Lua scripts and functions (script.go).
	{command.Spec{Name: "eval", Arity: -3, Flags: command.Scripting | command.NoScript | command.Stale, KeyArgs: command.EvalKeys}, (*session).eval},
	{command.Spec{Name: "evalsha", Arity: -3, Flags: command.Scripting | command.NoScript | command.Stale, KeyArgs: command.EvalKeys}, (*session).evalsha},
	{command.Spec{Name: "eval_ro", Arity: -3, Flags: command.Scripting | command.NoScript | command.Stale | command.ReadOnly, KeyArgs: command.EvalKeys}, (*session).evalRO},
	{command.Spec{Name: "evalsha_ro", Arity: -3, Flags: command.Scripting | command.NoScript | command.Stale | command.ReadOnly, KeyArgs: command.EvalKeys}, (*session).evalshaRO},
	{command.Spec{Name: "script", Arity: -2, Flags: command.NoScript}, (*session).scriptCmd},

	// ACL (acl.go).
	{command.Spec{Name: "acl", Arity: -2, Flags: command.NoScript | command.Loading | command.Stale}, (*session).aclCmd},

	{command.Spec{Name: "fcall", Arity: -3, Flags: command.Scripting | command.NoScript | command.Stale, KeyArgs: command.EvalKeys}, (*session).fcall},
	{command.Spec{Name: "fcall_ro", Arity: -3, Flags: command.Scripting | command.NoScript | command.Stale | command.ReadOnly, KeyArgs: command.EvalKeys}, (*session).fcallRO},
}

// clusterSubs are the CLUSTER subcommands of a cluster node that Redis
// does not have.
var clusterSubs = []command.Sub{{Name: "status", Arity: 2}, {Name: "move", Arity: 5}, {Name: "setshards", Arity: 3},
	{Name: "setreplicas", Arity: 3}, {Name: "addnode", Arity: 4}, {Name: "rebalance", Arity: 2}}

// connRun holds the handler of each connection command by command ID (nil
// for the other commands). It is filled at initialisation, with the
// entries put in the command table, and only read afterwards.
var connRun []connHandler

func init() {
	specs := make([]*command.Spec, len(connCommands))
	for i := range connCommands {
		specs[i] = &connCommands[i].spec
	}
	command.RegisterConn(specs...)
	connRun = make([]connHandler, command.NumIDs())
	for _, c := range connCommands {
		connRun[c.spec.ID] = c.run
	}
}

func (s *session) noCluster(w *resp.Writer, _ [][]byte) {
	w.AppendError("ERR This instance has cluster support disabled")
}
