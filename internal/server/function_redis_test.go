package server

import (
	"strconv"
	"testing"
)

// functionLib is loaded before each of functionRedisCases.
const functionLib = "#!lua name=lib\nlocal n = 0\nredis.register_function('t', function(keys, args) n = n + 1 return {type(keys), #keys, #args, keys[1] or 'nil', args[1] or 'nil'} end)\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('set', 'x', 1) end, flags={'no-writes'}}\nredis.register_function{function_name='w', callback=function(keys, args) return redis.call('set', keys[1], 1) end, description='writes'}\nredis.register_function('k', function(keys, args) return KEYS end)\nredis.register_function('e', function(keys, args) return error('boom') end)\nredis.register_function('e2', function(keys, args) return redis.call('nosuch') end)\nredis.register_function('gl', function(keys, args) x = 1 end)\nredis.register_function{function_name='get', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-oom'}, description='reads'}\n"

// functionRedisCases are replies recorded from redis-server 7.0.15; each
// case runs after FUNCTION FLUSH, FLUSHALL, HELLO proto and FUNCTION LOAD
// functionLib. Cases where data-cluster differs are in functionDiffs.
var functionRedisCases = []struct {
	name  string
	proto int
	args  []string
	want  string
}{
	{"load no shebang", 2, []string{"FUNCTION", "LOAD", "return 1"}, "-ERR Missing library metadata\r\n"},
	{"load no name", 2, []string{"FUNCTION", "LOAD", "#!lua\nreturn 1"}, "-ERR Library name was not given\r\n"},
	{"load nothing registered", 2, []string{"FUNCTION", "LOAD", "#!lua name=a\nreturn 1"}, "-ERR No functions registered\r\n"},
	{"load bad meta", 2, []string{"FUNCTION", "LOAD", "#!lua name=a foo=bar\nreturn 1"}, "-ERR Invalid metadata value given: foo=bar\r\n"},
	{"load name twice", 2, []string{"FUNCTION", "LOAD", "#!lua name=a name=b\nx"}, "-ERR Invalid metadata value, name argument was given multiple times\r\n"},
	{"load engine", 2, []string{"FUNCTION", "LOAD", "#!js name=a\nx"}, "-ERR Engine 'js' not found\r\n"},
	{"load empty name", 2, []string{"FUNCTION", "LOAD", "#!lua name=\nx"}, "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
	{"load bad name", 2, []string{"FUNCTION", "LOAD", "#!lua name=a-b\nx"}, "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
	{"load exists", 2, []string{"FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('zz', function() return 1 end)"}, "-ERR Library 'lib' already exists\r\n"},
	{"load replace", 2, []string{"FUNCTION", "LOAD", "REPLACE", "#!lua name=lib\nredis.register_function('zz', function() return 1 end)"}, "$3\r\nlib\r\n"},
	{"load function exists", 2, []string{"FUNCTION", "LOAD", "#!lua name=b\nredis.register_function('t', function() return 1 end)"}, "-ERR Function t already exists\r\n"},
	{"load twice in lib", 2, []string{"FUNCTION", "LOAD", "#!lua name=c\nredis.register_function('g', function() return 1 end) redis.register_function('g', function() return 1 end)"}, "-ERR Error registering functions: ERR Function already exists in the library\r\n"},
	{"load bad function name", 2, []string{"FUNCTION", "LOAD", "#!lua name=c\nredis.register_function('g-x', function() return 1 end)"}, "-ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"},
	{"load bad flag", 2, []string{"FUNCTION", "LOAD", "#!lua name=c\nredis.register_function{function_name='g', callback=function() return 1 end, flags={'bad'}}"}, "-ERR Error registering functions: ERR unknown flag given\r\n"},
	{"load flags not table", 2, []string{"FUNCTION", "LOAD", "#!lua name=c\nredis.register_function{function_name='g', callback=function() return 1 end, flags='no-writes'}"}, "-ERR Error registering functions: ERR flags argument to redis.register_function must be a table representing function flags\r\n"},
	{"load call at load", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.call('ping')"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"},
	{"load callback not function", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function('h', 5)"}, "-ERR Error registering functions: ERR second argument to redis.register_function must be a function\r\n"},
	{"load one non-table arg", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function('h')"}, "-ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).\r\n"},
	{"load no callback", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function{function_name='h'}"}, "-ERR Error registering functions: ERR redis.register_function must get a callback argument\r\n"},
	{"load no function name", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function{callback=function() return 1 end}"}, "-ERR Error registering functions: ERR redis.register_function must get a function name argument\r\n"},
	{"load unknown argument", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function{function_name='h', callback=function() end, foo=1}"}, "-ERR Error registering functions: ERR unknown argument given to redis.register_function\r\n"},
	{"load three args", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function('a','b','c')"}, "-ERR Error registering functions: ERR wrong number of arguments to redis.register_function\r\n"},
	{"load error is missing", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nerror('boom')"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'error'\r\n"},
	{"load KEYS missing", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nlocal x = KEYS"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'KEYS'\r\n"},
	{"load string missing", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nlocal x = string.format"}, "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'\r\n"},
	{"load global write", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nx = 5"}, "-ERR Error registering functions: ERR user_function:2: Attempt to modify a readonly table\r\n"},
	{"load timeout", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nlocal i = 0 while true do i = i + 1 end"}, "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"},
	{"load log", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.log(redis.LOG_DEBUG, 'hi') redis.register_function('h', function() return 1 end)"}, "$1\r\nd\r\n"},
	{"load all flags", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function{function_name='h', callback=function() return 1 end, flags={'no-writes','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}}"}, "$1\r\nd\r\n"},
	{"load number name", 2, []string{"FUNCTION", "LOAD", "#!lua name=d\nredis.register_function(5, function() return 1 end)"}, "$1\r\nd\r\n"},
	{"load option", 2, []string{"FUNCTION", "LOAD", "x", "y"}, "-ERR Unknown option given: x\r\n"},
	{"load arity", 2, []string{"FUNCTION", "LOAD"}, "-ERR wrong number of arguments for 'function|load' command\r\n"},
	{"fcall", 2, []string{"FCALL", "t", "1", "a", "b"}, "*5\r\n$5\r\ntable\r\n:1\r\n:1\r\n$1\r\na\r\n$1\r\nb\r\n"},
	{"fcall no keys", 2, []string{"FCALL", "t", "0"}, "*5\r\n$5\r\ntable\r\n:0\r\n:0\r\n$3\r\nnil\r\n$3\r\nnil\r\n"},
	{"fcall name case", 2, []string{"FCALL", "T", "0"}, "*5\r\n$5\r\ntable\r\n:0\r\n:0\r\n$3\r\nnil\r\n$3\r\nnil\r\n"},
	{"fcall no-writes writes", 2, []string{"FCALL", "ro", "0"}, "-ERR Write commands are not allowed from read-only scripts. script: ro, on @user_function:4.\r\n"},
	{"fcall_ro write flag", 2, []string{"FCALL_RO", "w", "1", "k"}, "-ERR Can not execute a script with write flag using *_ro command.\r\n"},
	{"fcall writes", 2, []string{"FCALL", "w", "1", "k"}, "+OK\r\n"},
	{"fcall_ro", 2, []string{"FCALL_RO", "get", "1", "x"}, "$-1\r\n"},
	{"fcall KEYS missing", 2, []string{"FCALL", "k", "0"}, "-ERR user_function:6: Script attempted to access nonexistent global variable 'KEYS' script: k, on @user_function:6.\r\n"},
	{"fcall error", 2, []string{"FCALL", "e", "0"}, "-ERR user_function:7: boom script: e, on @user_function:7.\r\n"},
	{"fcall unknown command", 2, []string{"FCALL", "e2", "0"}, "-ERR Unknown Redis command called from script script: e2, on @user_function:8.\r\n"},
	{"fcall global write", 2, []string{"FCALL", "gl", "0"}, "-ERR user_function:9: Attempt to modify a readonly table script: gl, on @user_function:9.\r\n"},
	{"fcall not found", 2, []string{"FCALL", "nosuch", "0"}, "-ERR Function not found\r\n"},
	{"fcall not found bad numkeys", 2, []string{"FCALL", "nosuch", "x"}, "-ERR Function not found\r\n"},
	{"fcall bad numkeys", 2, []string{"FCALL", "t", "x"}, "-ERR Bad number of keys provided\r\n"},
	{"fcall negative numkeys", 2, []string{"FCALL", "t", "-1"}, "-ERR Number of keys can't be negative\r\n"},
	{"fcall numkeys leading zero", 2, []string{"FCALL", "t", "01", "k"}, "-ERR Bad number of keys provided\r\n"},
	{"fcall numkeys plus", 2, []string{"FCALL", "t", "+1", "k"}, "-ERR Bad number of keys provided\r\n"},
	{"fcall_ro numkeys minus zero", 2, []string{"FCALL_RO", "t", "-0"}, "-ERR Bad number of keys provided\r\n"},
	{"fcall too many keys", 2, []string{"FCALL", "t", "2", "a"}, "-ERR Number of keys can't be greater than number of args\r\n"},
	{"fcall arity", 2, []string{"FCALL", "t"}, "-ERR wrong number of arguments for 'fcall' command\r\n"},
	{"fcall from script", 2, []string{"EVAL", "return redis.call('fcall', 't', 0)", "0"}, "-ERR This Redis command is not allowed from script script: 30882a75de1a847a73cd866d193b6527bc8042f7, on @user_script:1.\r\n"},
	{"function from script", 2, []string{"EVAL", "return redis.call('function', 'list')", "0"}, "-ERR This Redis command is not allowed from script script: 79f85c3d63467b8be93f58abf6bbb59f5d9401d8, on @user_script:1.\r\n"},
	{"list", 2, []string{"FUNCTION", "LIST"}, "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*8\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n*6\r\n$4\r\nname\r\n$1\r\nk\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ne2\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$3\r\nget\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-oom\r\n*6\r\n$4\r\nname\r\n$1\r\ne\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ngl\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\nt\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n$6\r\nwrites\r\n$5\r\nflags\r\n*0\r\n"},
	{"list resp3", 3, []string{"FUNCTION", "LIST"}, "*1\r\n%3\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*8\r\n%3\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~1\r\n+no-writes\r\n%3\r\n$4\r\nname\r\n$1\r\nk\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$2\r\ne2\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$3\r\nget\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-oom\r\n%3\r\n$4\r\nname\r\n$1\r\ne\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$2\r\ngl\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$1\r\nt\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n$6\r\nwrites\r\n$5\r\nflags\r\n~0\r\n"},
	{"list withcode pattern", 2, []string{"FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "L*"}, "*1\r\n*8\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*8\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n*6\r\n$4\r\nname\r\n$1\r\nk\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ne2\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$3\r\nget\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-oom\r\n*6\r\n$4\r\nname\r\n$1\r\ne\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ngl\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\nt\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n$6\r\nwrites\r\n$5\r\nflags\r\n*0\r\n$12\r\nlibrary_code\r\n$890\r\n#!lua name=lib\nlocal n = 0\nredis.register_function('t', function(keys, args) n = n + 1 return {type(keys), #keys, #args, keys[1] or 'nil', args[1] or 'nil'} end)\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('set', 'x', 1) end, flags={'no-writes'}}\nredis.register_function{function_name='w', callback=function(keys, args) return redis.call('set', keys[1], 1) end, description='writes'}\nredis.register_function('k', function(keys, args) return KEYS end)\nredis.register_function('e', function(keys, args) return error('boom') end)\nredis.register_function('e2', function(keys, args) return redis.call('nosuch') end)\nredis.register_function('gl', function(keys, args) x = 1 end)\nredis.register_function{function_name='get', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-oom'}, description='reads'}\n\r\n"},
	{"list pattern none", 2, []string{"FUNCTION", "LIST", "LIBRARYNAME", "x*"}, "*0\r\n"},
	{"list unknown", 2, []string{"FUNCTION", "LIST", "foo"}, "-ERR Unknown argument foo\r\n"},
	{"list no pattern", 2, []string{"FUNCTION", "LIST", "LIBRARYNAME"}, "-ERR library name argument was not given\r\n"},
	{"list withcode twice", 2, []string{"FUNCTION", "LIST", "withcode", "withcode"}, "-ERR Unknown argument withcode\r\n"},
	{"list libraryname twice", 2, []string{"FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"}, "-ERR Unknown argument LIBRARYNAME\r\n"},
	{"stats", 2, []string{"FUNCTION", "STATS"}, "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:8\r\n"},
	{"stats resp3", 3, []string{"FUNCTION", "STATS"}, "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:8\r\n"},
	{"stats arity", 2, []string{"FUNCTION", "STATS", "x"}, "-ERR wrong number of arguments for 'function|stats' command\r\n"},
	{"delete", 2, []string{"FUNCTION", "DELETE", "lib"}, "+OK\r\n"},
	{"delete not found", 2, []string{"FUNCTION", "DELETE", "LIB"}, "-ERR Library not found\r\n"},
	{"delete arity", 2, []string{"FUNCTION", "DELETE"}, "-ERR wrong number of arguments for 'function|delete' command\r\n"},
	{"flush", 2, []string{"FUNCTION", "FLUSH", "ASYNC"}, "+OK\r\n"},
	{"flush bad", 2, []string{"FUNCTION", "FLUSH", "foo"}, "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"},
	{"kill not busy", 2, []string{"FUNCTION", "KILL"}, "-NOTBUSY No scripts in execution right now.\r\n"},
	{"kill arity", 2, []string{"FUNCTION", "KILL", "x"}, "-ERR wrong number of arguments for 'function|kill' command\r\n"},
	{"dump arity", 2, []string{"FUNCTION", "DUMP", "x"}, "-ERR wrong number of arguments for 'function|dump' command\r\n"},
	{"restore garbage", 2, []string{"FUNCTION", "RESTORE", "garbage"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
	{"restore policy", 2, []string{"FUNCTION", "RESTORE", "x", "BAD"}, "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n"},
	{"restore arity", 2, []string{"FUNCTION", "RESTORE", "x", "FLUSH", "y"}, "-ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.\r\n"},
	{"help", 2, []string{"FUNCTION", "HELP"}, "*40\r\n+FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+LOAD [REPLACE] <FUNCTION CODE>\r\n+    Create a new library with the given library name and code.\r\n+DELETE <LIBRARY NAME>\r\n+    Delete the given library.\r\n+LIST [LIBRARYNAME PATTERN] [WITHCODE]\r\n+    Return general information on all the libraries:\r\n+    * Library name\r\n+    * The engine used to run the Library\r\n+    * Library description\r\n+    * Functions list\r\n+    * Library code (if WITHCODE is given)\r\n+    It also possible to get only function that matches a pattern using LIBRARYNAME argument.\r\n+STATS\r\n+    Return information about the current function running:\r\n+    * Function name\r\n+    * Command used to run the function\r\n+    * Duration in MS that the function is running\r\n+    If no function is running, return nil\r\n+    In addition, returns a list of available engines.\r\n+KILL\r\n+    Kill the current running function.\r\n+FLUSH [ASYNC|SYNC]\r\n+    Delete all the libraries.\r\n+    When called without the optional mode argument, the behavior is determined by the\r\n+    lazyfree-lazy-user-flush configuration directive. Valid modes are:\r\n+    * ASYNC: Asynchronously flush the libraries.\r\n+    * SYNC: Synchronously flush the libraries.\r\n+DUMP\r\n+    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command\r\n+RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]\r\n+    Restore the libraries represented by the given payload, it is possible to give a restore policy to\r\n+    control how to handle existing libraries (default APPEND):\r\n+    * FLUSH: delete all existing libraries.\r\n+    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.\r\n+    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old\r\n+      libraries with the new libraries (notice that even on this option there is a chance of failure\r\n+      in case of functions name collision with another library).\r\n+HELP\r\n+    Prints this help.\r\n"},
	{"unknown subcommand", 2, []string{"FUNCTION", "nosuch"}, "-ERR unknown subcommand 'nosuch'. Try FUNCTION HELP.\r\n"},
	{"function arity", 2, []string{"FUNCTION"}, "-ERR wrong number of arguments for 'function' command\r\n"},
}

// functionDiffs are data-cluster's replies where they differ from Redis
// 7.0.15, by case name; README lists the differences.
var functionDiffs = map[string]string{
	// A library's functions are listed in the order they were registered;
	// Redis lists them in its hash table's order.
	"list":                  "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*8\r\n*6\r\n$4\r\nname\r\n$1\r\nt\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n*6\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n$6\r\nwrites\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\nk\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\ne\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ne2\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ngl\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$3\r\nget\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-oom\r\n",
	"list resp3":            "*1\r\n%3\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*8\r\n%3\r\n$4\r\nname\r\n$1\r\nt\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~1\r\n+no-writes\r\n%3\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n$6\r\nwrites\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$1\r\nk\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$1\r\ne\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$2\r\ne2\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$2\r\ngl\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$3\r\nget\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-oom\r\n",
	"list withcode pattern": "*1\r\n*8\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*8\r\n*6\r\n$4\r\nname\r\n$1\r\nt\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n*6\r\n$4\r\nname\r\n$1\r\nw\r\n$11\r\ndescription\r\n$6\r\nwrites\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\nk\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$1\r\ne\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ne2\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$2\r\ngl\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n*6\r\n$4\r\nname\r\n$3\r\nget\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*2\r\n+no-writes\r\n+allow-oom\r\n$12\r\nlibrary_code\r\n$890\r\n#!lua name=lib\nlocal n = 0\nredis.register_function('t', function(keys, args) n = n + 1 return {type(keys), #keys, #args, keys[1] or 'nil', args[1] or 'nil'} end)\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('set', 'x', 1) end, flags={'no-writes'}}\nredis.register_function{function_name='w', callback=function(keys, args) return redis.call('set', keys[1], 1) end, description='writes'}\nredis.register_function('k', function(keys, args) return KEYS end)\nredis.register_function('e', function(keys, args) return error('boom') end)\nredis.register_function('e2', function(keys, args) return redis.call('nosuch') end)\nredis.register_function('gl', function(keys, args) x = 1 end)\nredis.register_function{function_name='get', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-oom'}, description='reads'}\n\r\n",
}

func TestFunctionRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for _, tc := range functionRedisCases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.raw("FUNCTION", "FLUSH")
			c.raw("FLUSHALL")
			c.raw("HELLO", strconv.Itoa(tc.proto))
			if got := c.raw("FUNCTION", "LOAD", functionLib); got != "$3\r\nlib\r\n" {
				t.Fatalf("FUNCTION LOAD: got %q", got)
			}
			want := tc.want
			if d, ok := functionDiffs[tc.name]; ok {
				want = d
			}
			if got := c.raw(tc.args...); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
