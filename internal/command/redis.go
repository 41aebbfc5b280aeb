package command

// RedisVersion is the Redis version whose behaviour the Redis protocol
// follows; HELLO and INFO report it so that clients enable the features they
// know from it.
const RedisVersion = "7.2.0"

//go:generate go run ./internal/gendocs -addr 127.0.0.1:6395 -out redisdocs_gen.go

// Redis is the command table of the Redis protocol. The commands that act
// on the connection are not declared here but by the server, beside their
// handlers, which puts them in the table with RegisterConn.
var Redis = redisTable(serverCommands, stringCommands, keyCommands, dumpCommands, hashCommands, setCommands, zsetCommands, zsetBlockingCommands, geoCommands, listCommands, listBlockingCommands, streamCommands, memoryCommands, hllCommands, bitCommands, sortCommands)

// redisTable makes the Redis table of groups, each command with its
// recorded subcommands.
func redisTable(groups ...[]*Spec) Table {
	t := newTable(groups...)
	for _, s := range t {
		addRecordedSubs(s)
	}
	return t
}

// EvalKeys returns the keys of EVAL script numkeys key… arg…: none when
// numkeys is not a valid count. It is the KeyArgs of the EVAL and FCALL
// family.
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

// RegisterConn puts specs in the Redis table as Conn commands, with their
// IDs: the server declares its connection commands beside their handlers
// and registers them while it is initialised. It must be called only
// during package initialisation, before any goroutine reads the table; a
// name already in the table panics, as a duplicate in a declared table
// does.
func RegisterConn(specs ...*Spec) {
	for _, s := range specs {
		s.Kind = Conn
		addRecordedSubs(s)
		Redis.add(s)
	}
}
