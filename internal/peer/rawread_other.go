//go:build !unix

package peer

import "errors"

// rawReads says that connections are read through a bufio.Reader: file
// descriptors are not read here.
const rawReads = false

func readSocket(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
