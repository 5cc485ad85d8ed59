//go:build !unix

package mqtt

import (
	"errors"
	"io"
)

// Elsewhere every connection reads into a buffer of its own.
const canReadRaw = false

var (
	errWouldBlock = errors.New("would block")
	errEOF        = io.EOF
)

func readFD(uintptr, []byte) (int, error) { return 0, errWouldBlock }
