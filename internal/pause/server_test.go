package pause_test

// The server declares the connection commands (CLIENT, PING among them)
// and puts them in the command table while it is initialised: linking it
// in makes these tests see every command served.
import _ "github.com/data-cluster/data-cluster/internal/server"
