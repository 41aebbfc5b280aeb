//go:build !unix

package fsutil

import "os"

// Lock does nothing where flock is not available.
func Lock(*os.File) error { return nil }
