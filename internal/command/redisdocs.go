package command

// RedisInfo returns the COMMAND INFO entry of the command named name
// (lower case) as redis-server 7.0 gives it, in RESP3, and whether there is
// one: commands of this server only (DELETE, LIST) have none.
func RedisInfo(name string) (string, bool) {
	s, ok := redisInfo[name]
	return s, ok
}

// RedisDocs returns the COMMAND DOCS entry of the command named name (lower
// case) as redis-server 7.0 gives it, in RESP3 (a map: summary, since,
// group, complexity, arguments …), and whether there is one.
func RedisDocs(name string) (string, bool) {
	s, ok := redisDocs[name]
	return s, ok
}
