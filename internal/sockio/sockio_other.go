//go:build !unix

package sockio

import "errors"

// Supported says that Read and Write work on this platform: not here.
const Supported = false

// Read is not supported here.
func Read(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }

// Write is not supported here.
func Write(uintptr, []byte) (int, error) { return 0, errors.ErrUnsupported }
