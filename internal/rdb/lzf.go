package rdb

import "fmt"

// lzfMaxRatio bounds how many times LZF data expands: a back reference of
// three bytes copies at most 264.
const lzfMaxRatio = 88

// lzfDecompress expands LZF data in into exactly n bytes, checking every
// literal run and back reference against the input and the output.
func lzfDecompress(in []byte, n int) ([]byte, error) {
	if n < 0 || n > len(in)*lzfMaxRatio+lzfMaxRatio {
		return nil, fmt.Errorf("%w: LZF length %d from %d bytes", ErrFormat, n, len(in))
	}
	out := make([]byte, 0, n)
	for ip := 0; ip < len(in); {
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 { // a literal run of ctrl+1 bytes
			run := ctrl + 1
			if ip+run > len(in) || len(out)+run > n {
				return nil, fmt.Errorf("%w: LZF literal past the end", ErrFormat)
			}
			out = append(out, in[ip:ip+run]...)
			ip += run
			continue
		}
		length := ctrl >> 5
		if length == 7 {
			if ip >= len(in) {
				return nil, fmt.Errorf("%w: LZF reference past the end", ErrFormat)
			}
			length += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return nil, fmt.Errorf("%w: LZF reference past the end", ErrFormat)
		}
		ref := len(out) - (ctrl&0x1f)<<8 - 1 - int(in[ip])
		ip++
		length += 2
		if ref < 0 || len(out)+length > n {
			return nil, fmt.Errorf("%w: LZF reference out of range", ErrFormat)
		}
		for i := range length { // byte by byte: the copy may overlap itself
			out = append(out, out[ref+i])
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("%w: LZF data expands to %d bytes, not %d", ErrFormat, len(out), n)
	}
	return out, nil
}
