package server

// scriptDiffs are the replies data-cluster gives where it differs from
// Redis 7.0.15, by case name; README lists the differences.
var scriptDiffs = map[string]string{
	// gopher-lua words its runtime and syntax errors its own way.
	"arith error":     "-ERR user_script:1: cannot perform add operation between number and table script: 8ab7d53c27e34dc602fbe3688d99968c695c98e4, on @user_script:1.\r\n",
	"compile error":   "-ERR Error compiling script (new function): user_script:1: syntax error near '+'\r\n",
	"pcall lua error": "*2\r\n$-1\r\n$16\r\nuser_script:1: x\r\n",
	// struct and cmsgpack are not provided.
	"struct":          "-ERR user_script:1: Script attempted to access nonexistent global variable 'struct' script: e5644f515eee6086cd523173f4344e042bc48962, on @user_script:1.\r\n",
	"struct str":      "-ERR user_script:1: Script attempted to access nonexistent global variable 'struct' script: c729a1bde6f4742bc6275f8730279f4a00594e71, on @user_script:1.\r\n",
	"cmsgpack":        "-ERR user_script:1: Script attempted to access nonexistent global variable 'cmsgpack' script: 32801b9b2bfa14f0e49a391f324f023f683ac186, on @user_script:1.\r\n",
	"cmsgpack unpack": "-ERR user_script:1: Script attempted to access nonexistent global variable 'cmsgpack' script: 737f9af622e439d84f814fb57186e70bde3b73e3, on @user_script:1.\r\n",
	"cmsgpack map":    "-ERR user_script:1: Script attempted to access nonexistent global variable 'cmsgpack' script: 627f940bb6cdbc86e778e7e94e4378c1af03eefc, on @user_script:1.\r\n",
}
