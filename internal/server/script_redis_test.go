package server

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"
)

// scriptRedisCases are replies recorded from redis-server 7.0.15 (each case
// runs after FLUSHALL and HELLO proto). Cases where data-cluster differs
// are listed in scriptDiffs.
var scriptRedisCases = []struct {
	name  string
	proto int
	args  []string
	want  string
}{
	{"number", 2, []string{"EVAL", "return 3.99", "0"}, ":3\r\n"},
	{"negnumber", 2, []string{"EVAL", "return -3.99", "0"}, ":-3\r\n"},
	{"string", 2, []string{"EVAL", "return 'hello'", "0"}, "$5\r\nhello\r\n"},
	{"true", 2, []string{"EVAL", "return true", "0"}, ":1\r\n"},
	{"false", 2, []string{"EVAL", "return false", "0"}, "$-1\r\n"},
	{"nil", 2, []string{"EVAL", "return nil", "0"}, "$-1\r\n"},
	{"table", 2, []string{"EVAL", "return {1,2,3,'x',{4,5}}", "0"}, "*5\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n*2\r\n:4\r\n:5\r\n"},
	{"table nil stop", 2, []string{"EVAL", "return {1,2,nil,4}", "0"}, "*2\r\n:1\r\n:2\r\n"},
	{"table hash ignored", 2, []string{"EVAL", "return {1,2,a=3}", "0"}, "*2\r\n:1\r\n:2\r\n"},
	{"status table", 2, []string{"EVAL", "return {ok='FINE'}", "0"}, "+FINE\r\n"},
	{"error table", 2, []string{"EVAL", "return {err='MYERR bad thing'}", "0"}, "-MYERR bad thing\r\n"},
	{"error_reply", 2, []string{"EVAL", "return redis.error_reply('MYERR x')", "0"}, "-MYERR x\r\n"},
	{"error_reply no code", 2, []string{"EVAL", "return redis.error_reply('x')", "0"}, "-ERR x\r\n"},
	{"error_reply lower code", 2, []string{"EVAL", "return redis.error_reply('my err')", "0"}, "-my err\r\n"},
	{"error_reply dash", 2, []string{"EVAL", "return redis.error_reply('-MY err')", "0"}, "-MY err\r\n"},
	{"error_reply field", 2, []string{"EVAL", "return redis.error_reply('x y').err", "0"}, "$3\r\nx y\r\n"},
	{"error_reply no args", 2, []string{"EVAL", "return redis.error_reply()", "0"}, "-ERR wrong number or type of arguments\r\n"},
	{"status_reply number", 2, []string{"EVAL", "return redis.status_reply(5)", "0"}, "-ERR wrong number or type of arguments\r\n"},
	{"error table no code", 2, []string{"EVAL", "return {err='oops'}", "0"}, "-oops\r\n"},
	{"status_reply", 2, []string{"EVAL", "return redis.status_reply('PONG')", "0"}, "+PONG\r\n"},
	{"nested status", 2, []string{"EVAL", "return {1,{ok='A'},{err='B c'}}", "0"}, "*3\r\n:1\r\n+A\r\n-B c\r\n"},
	{"empty table", 2, []string{"EVAL", "return {}", "0"}, "*0\r\n"},
	{"float table", 2, []string{"EVAL", "return {1.5, -2.7}", "0"}, "*2\r\n:1\r\n:-2\r\n"},
	{"huge number", 2, []string{"EVAL", "return 1e20", "0"}, ":-9223372036854775808\r\n"},
	{"keys argv", 2, []string{"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "2", "k1", "k2", "a1", "a2"}, "*6\r\n$2\r\nk1\r\n$2\r\nk2\r\n$2\r\na1\r\n$2\r\na2\r\n:2\r\n:2\r\n"},
	{"int reply", 2, []string{"EVAL", "return type(redis.call('incr','c'))", "0"}, "$6\r\nnumber\r\n"},
	{"int reply value", 2, []string{"EVAL", "return redis.call('incrby','c', 5)", "0"}, ":5\r\n"},
	{"bulk", 2, []string{"EVAL", "redis.call('set','s','v'); return {type(redis.call('get','s')), redis.call('get','s')}", "0"}, "*2\r\n$6\r\nstring\r\n$1\r\nv\r\n"},
	{"nil bulk", 2, []string{"EVAL", "return {type(redis.call('get','nokey')), tostring(redis.call('get','nokey'))}", "0"}, "*2\r\n$7\r\nboolean\r\n$5\r\nfalse\r\n"},
	{"status reply", 2, []string{"EVAL", "local r = redis.call('set','s','v'); return {type(r), r['ok']}", "0"}, "*2\r\n$5\r\ntable\r\n$2\r\nOK\r\n"},
	{"status passthrough", 2, []string{"EVAL", "return redis.call('set','s','v')", "0"}, "+OK\r\n"},
	{"array reply", 2, []string{"EVAL", "redis.call('rpush','l','a','b','c'); return redis.call('lrange','l',0,-1)", "0"}, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"},
	{"array with nil", 2, []string{"EVAL", "redis.call('set','a','1'); return redis.call('mget','a','nokey','a')", "0"}, "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n1\r\n"},
	{"array with nil len", 2, []string{"EVAL", "redis.call('set','a','1'); return #redis.call('mget','a','nokey','a')", "0"}, ":3\r\n"},
	{"pcall error", 2, []string{"EVAL", "local r = redis.pcall('incr','s','x'); return {type(r), r['err']}", "0"}, "*2\r\n$5\r\ntable\r\n$58\r\nERR Wrong number of args calling Redis command from script\r\n"},
	{"pcall wrongtype", 2, []string{"EVAL", "redis.call('set','s','v'); local r = redis.pcall('lpush','s','x'); return r['err']", "0"}, "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{"pcall passthrough", 2, []string{"EVAL", "redis.call('set','s','v'); return redis.pcall('lpush','s','x')", "0"}, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
	{"call wrongtype", 2, []string{"EVAL", "redis.call('set','s','v'); return redis.call('lpush','s','x')", "0"}, "-WRONGTYPE Operation against a key holding the wrong kind of value script: 7ba23a0ccbe345c94ab1c0e894db081618daadc3, on @user_script:1.\r\n"},
	{"call unknown", 2, []string{"EVAL", "return redis.call('nosuch')", "0"}, "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n"},
	{"pcall unknown", 2, []string{"EVAL", "return redis.pcall('nosuch')", "0"}, "-ERR Unknown Redis command called from script\r\n"},
	// Lua's pcall returns the message of an error table (Redis 7's
	// luaRedisPcall): redis.call's errors, error({err=…}).
	{"lua pcall of call", 2, []string{"EVAL", "redis.call('set','s','x'); local ok, e = pcall(redis.call, 'incr', 's'); return {tostring(ok), type(e), e}", "0"}, "*3\r\n$5\r\nfalse\r\n$6\r\nstring\r\n$43\r\nERR value is not an integer or out of range\r\n"},
	{"lua pcall of call unknown", 2, []string{"EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return e", "0"}, "$44\r\nERR Unknown Redis command called from script\r\n"},
	{"lua pcall of error table", 2, []string{"EVAL", "local ok, e = pcall(function() error({err='x'}) end); return {type(e), e}", "0"}, "*2\r\n$6\r\nstring\r\n$1\r\nx\r\n"},
	{"lua pcall of other table", 2, []string{"EVAL", "local ok, e = pcall(function() error({foo='x'}) end); return type(e)", "0"}, "$5\r\ntable\r\n"},
	{"lua pcall of string error", 2, []string{"EVAL", "local ok, e = pcall(function() error('boom') end); return e", "0"}, "$19\r\nuser_script:1: boom\r\n"},
	{"lua pcall success", 2, []string{"EVAL", "redis.call('set','s','x'); return {pcall(redis.call, 'get', 's')}", "0"}, "*2\r\n:1\r\n$1\r\nx\r\n"},
	{"lua pcall of nil", 2, []string{"EVAL", "return {pcall(nil)}", "0"}, "*2\r\n$-1\r\n$27\r\nattempt to call a nil value\r\n"},
	{"lua pcall into error_reply", 2, []string{"EVAL", "redis.call('set','s','x'); local ok, e = pcall(redis.call, 'incr', 's'); return redis.error_reply(e)", "0"}, "-ERR value is not an integer or out of range\r\n"},
	{"call no args", 2, []string{"EVAL", "return redis.call()", "0"}, "-ERR Please specify at least one argument for this redis lib call script: 0a907e1429221a4d85516cab7fd219a82a9439d8, on @user_script:1.\r\n"},
	{"call bad arg type", 2, []string{"EVAL", "return redis.call('get', {})", "0"}, "-ERR Lua redis lib command arguments must be strings or integers script: 4368e88f98d93af9caf358186e5fbf273374ee91, on @user_script:1.\r\n"},
	{"call number arg", 2, []string{"EVAL", "redis.call('set', 'n', 3.5); return redis.call('get','n')", "0"}, "$3\r\n3.5\r\n"},
	{"call wrong arity", 2, []string{"EVAL", "return redis.call('get')", "0"}, "-ERR Wrong number of args calling Redis command from script script: f187dee77f607f7cff00bbabc9df38507582c78d, on @user_script:1.\r\n"},
	{"call not allowed", 2, []string{"EVAL", "return redis.call('subscribe','x')", "0"}, "-ERR This Redis command is not allowed from script script: 2f334966be3d5602175118691c9d198b0a695e53, on @user_script:1.\r\n"},
	{"call publish", 2, []string{"EVAL", "return redis.call('publish','ch','m')", "0"}, ":0\r\n"},
	{"call spublish", 2, []string{"EVAL", "return redis.call('spublish','ch','m')", "1", "k"}, ":0\r\n"},
	{"call pubsub", 2, []string{"EVAL", "return redis.call('pubsub','numsub','a')", "0"}, "*2\r\n$1\r\na\r\n:0\r\n"},
	{"call info", 2, []string{"EVAL", "return type(redis.call('info','server'))", "0"}, "$6\r\nstring\r\n"},
	{"call info resp3", 2, []string{"EVAL", "redis.setresp(3); return redis.call('info','server').verbatim_string.format", "0"}, "$3\r\ntxt\r\n"},
	{"call command", 2, []string{"EVAL", "return redis.call('command','info','get')[1][1]", "0"}, "$3\r\nget\r\n"},
	{"call lastsave", 2, []string{"EVAL", "return type(redis.call('lastsave'))", "0"}, "$6\r\nnumber\r\n"},
	{"call slowlog", 2, []string{"EVAL", "return redis.call('slowlog','reset')", "1", "k"}, "+OK\r\n"},
	{"call select", 2, []string{"EVAL", "return redis.call('select','0')", "0"}, "+OK\r\n"},
	{"call select leading zero", 2, []string{"EVAL", "return redis.pcall('select','00')", "0"}, "-ERR value is not an integer or out of range\r\n"},
	{"call select range", 2, []string{"EVAL", "return redis.pcall('select','16')", "0"}, "-ERR DB index is out of range\r\n"},
	{"eval_ro publish", 2, []string{"EVAL_RO", "return redis.pcall('publish','ch','m')", "0"}, "-ERR Write commands are not allowed from read-only scripts.\r\n"},
	{"call config", 2, []string{"EVAL", "return redis.pcall('config','get','x')", "0"}, "-ERR This Redis command is not allowed from script\r\n"},
	{"call eval", 2, []string{"EVAL", "return redis.call('eval','return 1','0')", "0"}, "-ERR This Redis command is not allowed from script script: 1e5046f3a9119d3dc9cf5824428b6d9fedd305d2, on @user_script:1.\r\n"},
	{"sha1hex", 2, []string{"EVAL", "return redis.sha1hex('abc')", "0"}, "$40\r\na9993e364706816aba3e25717850c26c9cd0d89d\r\n"},
	{"sha1hex empty", 2, []string{"EVAL", "return redis.sha1hex('')", "0"}, "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"},
	{"log", 2, []string{"EVAL", "return redis.log(redis.LOG_WARNING, 'hi')", "0"}, "$-1\r\n"},
	{"log consts", 2, []string{"EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "0"}, "*4\r\n:0\r\n:1\r\n:2\r\n:3\r\n"},
	{"set_repl", 2, []string{"EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"}, "$-1\r\n"},
	{"replicate_commands", 2, []string{"EVAL", "return redis.replicate_commands()", "0"}, ":1\r\n"},
	{"repl consts", 2, []string{"EVAL", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"}, "*5\r\n:0\r\n:1\r\n:2\r\n:2\r\n:3\r\n"},
	{"setresp bad", 2, []string{"EVAL", "return redis.setresp(4)", "0"}, "-ERR RESP version must be 2 or 3. script: 921c0a48021d97dfd5884aeea41875972c7804d9, on @user_script:1.\r\n"},
	{"setresp resp2 reply", 2, []string{"EVAL", "redis.setresp(3); return redis.call('hgetall','nokey')", "0"}, "*0\r\n"},
	{"runtime error", 2, []string{"EVAL", "error('boom')", "0"}, "-ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.\r\n"},
	{"runtime error table", 2, []string{"EVAL", "error({err='MY custom'})", "0"}, "-MY custom script: 784d3ae9e6566ecb57138d89d618d989007a9bc6, on @user_script:1.\r\n"},
	{"nonexistent global", 2, []string{"EVAL", "return foo", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'foo' script: 47e30a5d10d5694f99208f9adc4fe3bf2450edbd, on @user_script:1.\r\n"},
	{"create global", 2, []string{"EVAL", "x = 1", "0"}, "-ERR user_script:1: Attempt to modify a readonly table script: 34bce5f775de97f557a34088509c8bfe1ea17e52, on @user_script:1.\r\n"},
	{"arith error", 2, []string{"EVAL", "return 1 + {}", "0"}, "-ERR user_script:1: attempt to perform arithmetic on a table value script: 8ab7d53c27e34dc602fbe3688d99968c695c98e4, on @user_script:1.\r\n"},
	{"compile error", 2, []string{"EVAL", "return 1 +", "0"}, "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"},
	{"error line 2", 2, []string{"EVAL", "local a = 1\nerror('two')", "0"}, "-ERR user_script:2: two script: 993cf434b5be4bfc3c78f7d22dfbdac965af84d8, on @user_script:2.\r\n"},
	{"call error line 3", 2, []string{"EVAL", "local a = 1\n\nreturn redis.call('nosuch')", "0"}, "-ERR Unknown Redis command called from script script: 04e25a7420381d2432213939cdc5e2cc837a9f79, on @user_script:3.\r\n"},
	{"numkeys negative", 2, []string{"EVAL", "return 1", "-1"}, "-ERR Number of keys can't be negative\r\n"},
	{"numkeys too many", 2, []string{"EVAL", "return 1", "3", "a"}, "-ERR Number of keys can't be greater than number of args\r\n"},
	{"numkeys not int", 2, []string{"EVAL", "return 1", "x"}, "-ERR value is not an integer or out of range\r\n"},
	{"numkeys leading zero", 2, []string{"EVAL", "return 1", "01", "k"}, "-ERR value is not an integer or out of range\r\n"},
	{"numkeys plus", 2, []string{"EVAL", "return 1", "+1", "k"}, "-ERR value is not an integer or out of range\r\n"},
	{"numkeys minus zero", 2, []string{"EVAL_RO", "return 1", "-0"}, "-ERR value is not an integer or out of range\r\n"},
	{"evalsha numkeys leading zero", 2, []string{"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "01", "k"}, "-ERR value is not an integer or out of range\r\n"},
	{"evalsha noscript", 2, []string{"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
	{"evalsha short", 2, []string{"EVALSHA", "abc", "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
	{"eval_ro write", 2, []string{"EVAL_RO", "return redis.call('set','a','b')", "1", "a"}, "-ERR Write commands are not allowed from read-only scripts. script: ff967d0ae0e68b4f9e360fa91c54598bc25ad9b6, on @user_script:1.\r\n"},
	{"eval_ro read", 2, []string{"EVAL_RO", "return redis.call('get','a')", "1", "a"}, "$-1\r\n"},
	{"eval_ro pcall write", 2, []string{"EVAL_RO", "return redis.pcall('set','a','b')", "1", "a"}, "-ERR Write commands are not allowed from read-only scripts.\r\n"},
	{"shebang", 2, []string{"EVAL", "#!lua flags=no-writes\nreturn redis.call('get','a')", "0"}, "$-1\r\n"},
	{"shebang no flags", 2, []string{"EVAL", "#!lua\nreturn redis.call('set','a','b')", "0"}, "+OK\r\n"},
	{"shebang no-writes write", 2, []string{"EVAL", "#!lua flags=no-writes\nreturn redis.call('set','a','b')", "0"}, "-ERR Write commands are not allowed from read-only scripts. script: 6acb400a50fe96e33eca4e0af6e9dcfb21193726, on @user_script:2.\r\n"},
	{"shebang bad flag", 2, []string{"EVAL", "#!lua flags=bogus\nreturn 1", "0"}, "-ERR Unexpected flag in script shebang: bogus\r\n"},
	{"shebang bad option", 2, []string{"EVAL", "#!lua name=x\nreturn 1", "0"}, "-ERR Unknown lua shebang option: name=x\r\n"},
	{"shebang bad engine", 2, []string{"EVAL", "#!luax\nreturn 1", "0"}, "-ERR Unexpected engine in script shebang: #!luax\r\n"},
	{"shebang one line", 2, []string{"EVAL", "#!lua return 1", "0"}, "-ERR Invalid script shebang\r\n"},
	{"shebang eval_ro", 2, []string{"EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"}, ":1\r\n"},
	{"shebang eval_ro write flag", 2, []string{"EVAL_RO", "#!lua\nreturn 1", "0"}, "-ERR Can not execute a script with write flag using *_ro command.\r\n"},
	{"acl_check_cmd", 2, []string{"EVAL", "return redis.acl_check_cmd('get','x')", "0"}, ":1\r\n"},
	{"acl_check_cmd unknown", 2, []string{"EVAL", "return redis.acl_check_cmd('nosuch')", "0"}, "-ERR Invalid command passed to redis.acl_check_cmd() script: d2491587bab5149c93be0dce4426f7a06ba9e1a1, on @user_script:1.\r\n"},
	{"breakpoint", 2, []string{"EVAL", "return redis.breakpoint()", "0"}, "$-1\r\n"},
	{"debug", 2, []string{"EVAL", "return redis.debug('x')", "0"}, "$-1\r\n"},
	{"os", 2, []string{"EVAL", "return os.execute('ls')", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'os' script: a02af08239ed61491298a6ebafe9687b2ef8ffc9, on @user_script:1.\r\n"},
	{"io", 2, []string{"EVAL", "return io.open('/etc/passwd')", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'io' script: ff0ec78aec759b1d6c55ba7924645033bbb8f413, on @user_script:1.\r\n"},
	{"loadfile", 2, []string{"EVAL", "return loadfile('/etc/passwd')", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile' script: 8181c73f82053dc8e1283bc3c394504159a4bcbb, on @user_script:1.\r\n"},
	{"dofile", 2, []string{"EVAL", "return dofile('/etc/passwd')", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'dofile' script: 08c011fe391ccf0f929e4157315420760f61e767, on @user_script:1.\r\n"},
	{"require", 2, []string{"EVAL", "return require('os')", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'require' script: 8fe85786fe331195d8ab1970d6604d7c86966bc8, on @user_script:1.\r\n"},
	{"getfenv", 2, []string{"EVAL", "return getfenv(1)", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'getfenv' script: 5eb9d20cf6c2c6d827af3de90ae5034f19d0c63c, on @user_script:1.\r\n"},
	{"setfenv", 2, []string{"EVAL", "return setfenv(1, {})", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'setfenv' script: ff114e556bdc5f935d013e6f0f6638471454568b, on @user_script:1.\r\n"},
	{"setmetatable G", 2, []string{"EVAL", "setmetatable(_G, nil)", "0"}, "-ERR Attempt to modify a readonly table script: 22fdd3b51da2d4bc6703d71d651cd782d8e5a35f, on @user_script:1.\r\n"},
	{"rawset G", 2, []string{"EVAL", "rawset(_G, 'x', 1)", "0"}, "-ERR Attempt to modify a readonly table script: e2c706419da183d6229a1230c3be09cc32cdeee0, on @user_script:1.\r\n"},
	{"string modify", 2, []string{"EVAL", "string.x = 1", "0"}, "-ERR user_script:1: Attempt to modify a readonly table script: c3eb0a2a15b3d4790b323c4104029c1ae425a769, on @user_script:1.\r\n"},
	{"redis modify", 2, []string{"EVAL", "redis.call = nil", "0"}, "-ERR user_script:1: Attempt to modify a readonly table script: 2786c35ed73d3860851cf52e0b5dfbbc0bdb4803, on @user_script:1.\r\n"},
	{"loadstring bytecode", 2, []string{"EVAL", "return {loadstring(string.char(27)..'Lua')}", "0"}, "*0\r\n"},
	{"loadstring text", 2, []string{"EVAL", "return loadstring('return 7')()", "0"}, ":7\r\n"},
	{"debug", 2, []string{"EVAL", "return debug.getinfo(1)", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'debug' script: 46a716d4ada1b67be64bd3ab8a2d6e03214f34dc, on @user_script:1.\r\n"},
	{"newproxy", 2, []string{"EVAL", "return type(newproxy)", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'newproxy' script: 2db8cbf73e97a4b7d8d1a7ce472bf57302f0f369, on @user_script:1.\r\n"},
	{"G type", 2, []string{"EVAL", "return type(_G)", "0"}, "$5\r\ntable\r\n"},
	{"module", 2, []string{"EVAL", "return module", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'module' script: 2803774b6b78613fcfa3f4ce44070f589e937542, on @user_script:1.\r\n"},
	{"collectgarbage", 2, []string{"EVAL", "return type(collectgarbage)", "0"}, "$8\r\nfunction\r\n"},
	{"print", 2, []string{"EVAL", "return type(print)", "0"}, "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: 296aa29e565df267b5e30e498f3872c9f9e8e8cc, on @user_script:1.\r\n"},
	{"gcinfo", 2, []string{"EVAL", "return type(gcinfo)", "0"}, "$8\r\nfunction\r\n"},
	{"coroutine", 2, []string{"EVAL", "return type(coroutine)", "0"}, "$5\r\ntable\r\n"},
	{"cjson encode", 2, []string{"EVAL", "return cjson.encode({1,2,'x'})", "0"}, "$9\r\n[1,2,\"x\"]\r\n"},
	{"cjson encode obj", 2, []string{"EVAL", "return cjson.encode({a=1})", "0"}, "$7\r\n{\"a\":1}\r\n"},
	{"cjson decode", 2, []string{"EVAL", "local t = cjson.decode('{\"a\":[1,2,{\"b\":true}],\"c\":\"d\"}'); return {t.a[1], t.a[3].b, t.c}", "0"}, "*3\r\n:1\r\n:1\r\n$1\r\nd\r\n"},
	{"cjson decode float", 2, []string{"EVAL", "return cjson.decode('[1.5]')[1] * 2", "0"}, ":3\r\n"},
	{"cjson encode float", 2, []string{"EVAL", "return cjson.encode({1.5, 100, -3, 1e20})", "0"}, "$18\r\n[1.5,100,-3,1e+20]\r\n"},
	{"cjson encode string", 2, []string{"EVAL", "return cjson.encode('a\"b\\\\c\\n/')", "0"}, "$13\r\n\"a\\\"b\\\\c\\n\\/\"\r\n"},
	{"cjson null", 2, []string{"EVAL", "return cjson.encode(cjson.decode('[null]'))", "0"}, "$6\r\n[null]\r\n"},
	{"cjson empty", 2, []string{"EVAL", "return cjson.encode({})", "0"}, "$2\r\n{}\r\n"},
	{"bit", 2, []string{"EVAL", "return {bit.band(12,10), bit.bor(12,10), bit.bxor(12,10), bit.bnot(0), bit.lshift(1,4), bit.rshift(-1,28), bit.arshift(-256,4), bit.tobit(2^32+5)}", "0"}, "*8\r\n:8\r\n:14\r\n:6\r\n:-1\r\n:16\r\n:15\r\n:-16\r\n:5\r\n"},
	{"bit tohex", 2, []string{"EVAL", "return {bit.tohex(255), bit.tohex(255, 2), bit.tohex(-1), bit.tohex(255, -4)}", "0"}, "*4\r\n$8\r\n000000ff\r\n$2\r\nff\r\n$8\r\nffffffff\r\n$4\r\n00FF\r\n"},
	{"struct", 2, []string{"EVAL", "return {struct.pack('>I2', 258), struct.size('>I4i2'), struct.unpack('>I2', struct.pack('>I2', 258))}", "0"}, "*4\r\n$2\r\n\x01\x02\r\n:6\r\n:258\r\n:3\r\n"},
	{"struct str", 2, []string{"EVAL", "return {struct.unpack('<i4i4', struct.pack('<i4i4', -5, 7))}", "0"}, "*3\r\n:-5\r\n:7\r\n:9\r\n"},
	{"cmsgpack", 2, []string{"EVAL", "return cmsgpack.pack({1,2,3})", "0"}, "$4\r\n\x93\x01\x02\x03\r\n"},
	{"cmsgpack unpack", 2, []string{"EVAL", "return cmsgpack.unpack(cmsgpack.pack({1,'a',{2}}))", "0"}, "*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n"},
	{"cmsgpack map", 2, []string{"EVAL", "return cmsgpack.pack({a=1})", "0"}, "$4\r\n\x81\xa1a\x01\r\n"},
	{"string lib", 2, []string{"EVAL", "return {string.format('%d-%s', 5, 'x'), string.rep('ab', 3), string.upper('a'), ('x'):len()}", "0"}, "*4\r\n$3\r\n5-x\r\n$6\r\nababab\r\n$1\r\nA\r\n:1\r\n"},
	{"math lib", 2, []string{"EVAL", "return {math.floor(3.7), math.max(1,5), math.huge > 0}", "0"}, "*3\r\n:3\r\n:5\r\n:1\r\n"},
	{"table lib", 2, []string{"EVAL", "local t = {3,1,2}; table.sort(t); return table.concat(t, ',')", "0"}, "$5\r\n1,2,3\r\n"},
	{"tostring number", 2, []string{"EVAL", "return tostring(3.0)", "0"}, "$1\r\n3\r\n"},
	{"tonumber", 2, []string{"EVAL", "return tonumber('0x10')", "0"}, ":16\r\n"},
	{"unpack", 2, []string{"EVAL", "return {unpack({1,2})}", "0"}, "*2\r\n:1\r\n:2\r\n"},
	{"resp3 double", 3, []string{"EVAL", "redis.setresp(3); return redis.call('zscore','nz','a')", "0"}, "_\r\n"},
	{"resp3 map from hgetall", 2, []string{"EVAL", "redis.setresp(3); redis.call('hset','h','f','v'); local r = redis.call('hgetall','h'); return {type(r), type(r['map']), r['map']['f']}", "0"}, "*3\r\n$5\r\ntable\r\n$5\r\ntable\r\n$1\r\nv\r\n"},
	{"resp3 map passthrough", 3, []string{"EVAL", "redis.setresp(3); redis.call('hset','h','f','v'); return redis.call('hgetall','h')", "0"}, "%1\r\n$1\r\nf\r\n$1\r\nv\r\n"},
	{"resp3 map passthrough resp2", 2, []string{"EVAL", "redis.setresp(3); redis.call('hset','h','f','v'); return redis.call('hgetall','h')", "0"}, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n"},
	{"resp3 double value", 2, []string{"EVAL", "redis.setresp(3); redis.call('zadd','z','1.5','a'); local r = redis.call('zscore','z','a'); return {type(r), r['double']}", "0"}, "*2\r\n$5\r\ntable\r\n:1\r\n"},
	{"resp3 double passthrough", 3, []string{"EVAL", "redis.setresp(3); redis.call('zadd','z','1.5','a'); return redis.call('zscore','z','a')", "0"}, ",1.5\r\n"},
	{"resp3 double passthrough resp2", 2, []string{"EVAL", "redis.setresp(3); redis.call('zadd','z','1.5','a'); return redis.call('zscore','z','a')", "0"}, "$3\r\n1.5\r\n"},
	{"resp3 set", 2, []string{"EVAL", "redis.setresp(3); redis.call('sadd','st','a'); local r = redis.call('smembers','st'); return {type(r['set']), r['set']['a']}", "0"}, "*2\r\n$5\r\ntable\r\n:1\r\n"},
	{"resp3 set passthrough", 3, []string{"EVAL", "redis.setresp(3); redis.call('sadd','st','a'); return redis.call('smembers','st')", "0"}, "~1\r\n$1\r\na\r\n"},
	{"resp3 nil", 2, []string{"EVAL", "redis.setresp(3); local r = redis.call('get','nokey'); return {type(r), tostring(r)}", "0"}, "*2\r\n$3\r\nnil\r\n$3\r\nnil\r\n"},
	{"resp3 nil passthrough", 3, []string{"EVAL", "redis.setresp(3); return redis.call('get','nokey')", "0"}, "_\r\n"},
	{"resp3 bool out", 3, []string{"EVAL", "return {double=1.5}", "0"}, ",1.5\r\n"},
	{"resp3 bool out2", 2, []string{"EVAL", "return {double=1.5}", "0"}, "$3\r\n1.5\r\n"},
	{"resp3 map out", 3, []string{"EVAL", "return {map={a=1}}", "0"}, "%1\r\n$1\r\na\r\n:1\r\n"},
	{"resp3 set out", 3, []string{"EVAL", "return {set={a=true}}", "0"}, "~1\r\n$1\r\na\r\n"},
	{"resp3 true", 3, []string{"EVAL", "return true", "0"}, ":1\r\n"},
	{"resp3 false", 3, []string{"EVAL", "return false", "0"}, "_\r\n"},
	{"resp3 nil ret", 3, []string{"EVAL", "return nil", "0"}, "_\r\n"},
	{"resp3 big_number", 3, []string{"EVAL", "return {big_number='123'}", "0"}, "(123\r\n"},
	{"blocking in script", 2, []string{"EVAL", "return redis.call('blpop','nolist', 0)", "0"}, "-ERR This Redis command is not allowed from script script: 1a3439041d20f7b3b7f1f8dec7f31f581bb93ead, on @user_script:1.\r\n"},
	{"blocking in script2", 2, []string{"EVAL", "redis.call('rpush','l','x'); return redis.call('blpop','l', 0)", "0"}, "-ERR This Redis command is not allowed from script script: 7417457c546b32366b0405c3185fe18424cda972, on @user_script:1.\r\n"},
	{"time", 2, []string{"EVAL", "return type(redis.call('time'))", "0"}, "$5\r\ntable\r\n"},
	{"ping", 2, []string{"EVAL", "return redis.call('ping')", "0"}, "+PONG\r\n"},
	{"tostring int reply", 2, []string{"EVAL", "return tostring(redis.call('incrby','c','10'))", "0"}, "$2\r\n10\r\n"},
	{"float truncation", 2, []string{"EVAL", "return {1.9, -1.9, 2^53}", "0"}, "*3\r\n:1\r\n:-1\r\n:9007199254740992\r\n"},
	{"argv number conv", 2, []string{"EVAL", "return ARGV[1] + 1", "0", "41"}, ":42\r\n"},
	{"string with nul", 2, []string{"EVAL", "return 'a\\0b'", "0"}, "$3\r\na\x00b\r\n"},
	{"return function", 2, []string{"EVAL", "return function() end", "0"}, "$-1\r\n"},
	{"error object number", 2, []string{"EVAL", "error(5)", "0"}, "-ERR user_script:1: 5 script: 007feaf5de074afe3398416376e34525ad911752, on @user_script:1.\r\n"},
	{"error no message", 2, []string{"EVAL", "error()", "0"}, "-ERR nil script: aca90d914519fdb9825352bdc0befb59f7c8510f, on @user_script:1.\r\n"},
	{"pcall lua error", 2, []string{"EVAL", "return {pcall(error, 'x')}", "0"}, "*2\r\n$-1\r\n$1\r\nx\r\n"},
	{"assert", 2, []string{"EVAL", "assert(false, 'nope')", "0"}, "-ERR user_script:1: nope script: d4cc92a22fc175f3fec70070eafe0c7e2a24bd2f, on @user_script:1.\r\n"},
}

// readRESP reads one whole reply and returns its bytes.
func readRESP(rd *bufio.Reader) (string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return line, err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
	switch line[0] {
	case '$', '=', '!':
		if n < 0 {
			return line, nil
		}
		buf := make([]byte, n+2)
		_, err := io.ReadFull(rd, buf)
		return line + string(buf), err
	case '*', '~', '>', '%':
		if line[0] == '%' {
			n *= 2
		}
		out := line
		for range n {
			s, err := readRESP(rd)
			out += s
			if err != nil {
				return out, err
			}
		}
		return out, nil
	}
	return line, nil
}

// raw sends one RESP command and returns its reply's bytes.
func (c *client) raw(args ...string) string {
	c.t.Helper()
	c.send(respCmd(args...))
	s, err := readRESP(c.rd)
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, s)
	}
	return s
}

func TestScriptRedisReplies(t *testing.T) {
	ts := start(t, nil)
	c := ts.dial(t)
	for _, tc := range scriptRedisCases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.raw("FLUSHALL")
			c.raw("HELLO", strconv.Itoa(tc.proto))
			want := tc.want
			if d, ok := scriptDiffs[tc.name]; ok {
				want = d
			}
			if got := c.raw(tc.args...); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
