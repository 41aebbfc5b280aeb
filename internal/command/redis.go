package command

// RedisVersion is the Redis version whose behaviour the Redis protocol
// follows; HELLO and INFO report it so that clients enable the features they
// know from it.
const RedisVersion = "7.2.0"

//go:generate go run ./internal/gendocs -addr 127.0.0.1:6395 -out redisdocs_gen.go

// Redis is the command table of the Redis protocol.
var Redis = newTable(connCommands, serverCommands, stringCommands, keyCommands, dumpCommands, hashCommands, setCommands, zsetCommands, zsetBlockingCommands, geoCommands, listCommands, listBlockingCommands, streamCommands, memoryCommands, hllCommands, bitCommands)

// connCommands act on the connection and are run by the server; they are
// listed here so that COMMAND and arity checks see every command.
var connCommands = []*Spec{
	{Name: "ping", Arity: -1, Flags: Fast},
	{Name: "echo", Arity: 2, Flags: Fast},
	{Name: "quit", Arity: -1, Flags: Fast | NoAuth},
	{Name: "hello", Arity: -1, Flags: Fast | NoAuth},
	{Name: "auth", Arity: -2, Flags: Fast | NoAuth | NoMulti},
	{Name: "select", Arity: 2, Flags: Fast},
	{Name: "reset", Arity: 1, Flags: Fast | NoAuth},
	{Name: "client", Arity: -2},
	{Name: "command", Arity: -1},
	{Name: "info", Arity: -1},
	{Name: "config", Arity: -2, Flags: Admin},
	{Name: "slowlog", Arity: -2, Flags: Admin},
	{Name: "latency", Arity: -2, Flags: Admin},
	{Name: "time", Arity: 1, Flags: Fast},
	{Name: "save", Arity: 1, Flags: Admin | NoMulti},
	{Name: "bgsave", Arity: -1, Flags: Admin},
	{Name: "lastsave", Arity: 1, Flags: Fast | Loading | Stale},
	{Name: "function", Arity: -2, Flags: NoScript},
	{Name: "multi", Arity: 1, Flags: Fast | NoMulti},
	{Name: "exec", Arity: 1, Flags: NoMulti},
	{Name: "discard", Arity: 1, Flags: Fast | NoMulti},
	{Name: "watch", Arity: -2, Flags: Fast | NoMulti, FirstKey: 1, LastKey: -1, Step: 1},
	{Name: "unwatch", Arity: 1, Flags: Fast | NoMulti},
	{Name: "cluster", Arity: -2},
	{Name: "readonly", Arity: 1, Flags: Fast},
	{Name: "readwrite", Arity: 1, Flags: Fast},
	{Name: "asking", Arity: 1, Flags: Fast},
	{Name: "subscribe", Arity: -2, Flags: PubSub | NoScript | Loading | Stale},
	{Name: "unsubscribe", Arity: -1, Flags: PubSub | NoScript | Loading | Stale},
	{Name: "psubscribe", Arity: -2, Flags: PubSub | NoScript | Loading | Stale},
	{Name: "punsubscribe", Arity: -1, Flags: PubSub | NoScript | Loading | Stale},
	{Name: "ssubscribe", Arity: -2, Flags: PubSub | NoScript | Loading | Stale, FirstKey: 1, LastKey: -1, Step: 1},
	{Name: "sunsubscribe", Arity: -1, Flags: PubSub | NoScript | Loading | Stale, FirstKey: 1, LastKey: -1, Step: 1},
	{Name: "publish", Arity: 3, Flags: PubSub | Loading | Stale | Fast},
	{Name: "spublish", Arity: 3, Flags: PubSub | Loading | Stale | Fast, FirstKey: 1, LastKey: 1, Step: 1},
	{Name: "pubsub", Arity: -2, Flags: PubSub | Loading | Stale},
	{Name: "monitor", Arity: 1, Flags: Admin | NoScript | Loading | Stale},
	{Name: "eval", Arity: -3, Flags: Scripting | NoScript | Stale, KeyArgs: EvalKeys},
	{Name: "evalsha", Arity: -3, Flags: Scripting | NoScript | Stale, KeyArgs: EvalKeys},
	{Name: "eval_ro", Arity: -3, Flags: Scripting | NoScript | Stale | ReadOnly, KeyArgs: EvalKeys},
	{Name: "evalsha_ro", Arity: -3, Flags: Scripting | NoScript | Stale | ReadOnly, KeyArgs: EvalKeys},
	{Name: "script", Arity: -2, Flags: NoScript},
	{Name: "acl", Arity: -2, Flags: NoScript | Loading | Stale},
	{Name: "fcall", Arity: -3, Flags: Scripting | NoScript | Stale, KeyArgs: EvalKeys},
	{Name: "fcall_ro", Arity: -3, Flags: Scripting | NoScript | Stale | ReadOnly, KeyArgs: EvalKeys},
}

// EvalKeys returns the keys of EVAL script numkeys key… arg…: none when
// numkeys is not a valid count.
func EvalKeys(args [][]byte, dst [][]byte) [][]byte {
	if len(args) < 3 {
		return dst
	}
	n, ok := parseCount(args[2])
	if !ok || n > len(args)-3 {
		return dst
	}
	return append(dst, args[3:3+n]...)
}

func parseCount(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func init() {
	for _, s := range connCommands {
		s.Kind = Conn
	}
}
