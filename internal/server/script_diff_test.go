package server

// scriptDiffs are the replies data-cluster gives where it differs from
// Redis 7.0.15, by case name; README lists the differences.
var scriptDiffs = map[string]string{
	// gopher-lua words its runtime and syntax errors its own way.
	"arith error":     "-ERR user_script:1: cannot perform add operation between number and table script: 8ab7d53c27e34dc602fbe3688d99968c695c98e4, on @user_script:1.\r\n",
	"compile error":   "-ERR Error compiling script (new function): user_script:1: syntax error near '+'\r\n",
	"pcall lua error": "*2\r\n$-1\r\n$16\r\nuser_script:1: x\r\n",
}
