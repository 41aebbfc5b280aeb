package acl_test

// The server declares the connection commands (AUTH, CLIENT, CONFIG,
// SUBSCRIBE, EVAL …) and puts them in the command table while it is
// initialised: linking it in makes the ACL tests see every command served.
import _ "github.com/data-cluster/data-cluster/internal/server"
