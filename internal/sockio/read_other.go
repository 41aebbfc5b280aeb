//go:build !unix

package sockio

import "errors"

// Supported says that Read reads sockets on this platform: not here.
const Supported = false

// Read is not supported here.
func Read(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }

// ReadRaw is not supported here.
func ReadRaw(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
