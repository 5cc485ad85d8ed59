//go:build !linux

package server

import (
	"errors"
	"net"
	"syscall"
)

// maxIovecs is 0 where the read loop never writes for others.
const maxIovecs = 0

type writeNow struct {
	rest       net.Buffers
	restChunks []*chunk
}

// writev is only done on Linux; elsewhere the write loop writes.
func (*writeNow) writev(syscall.RawConn, [][]byte) (int, error) { return 0, nil }

// writevAll is only done on Linux; elsewhere the write loop uses the net
// package (maxIovecs is 0).
func (*writeNow) writevAll(syscall.RawConn, [][]byte) error { return errors.ErrUnsupported }
