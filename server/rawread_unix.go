//go:build unix

package server

import (
	"io"
	"syscall"
)

// rawReadLoop is true where the read loop reads inside the raw read call.
const rawReadLoop = true

func (r *rawReader) call(fd uintptr) bool {
	for {
		r.rb = next(r.rb)
		n, err := readNB(int(fd), r.rb.b)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return false // park on the poller
		}
		if err != nil {
			r.err = err
			return true
		}
		if n == 0 {
			r.err = io.EOF
			return true
		}
		r.n = n
		full := n == len(r.rb.b)
		if r.c.serve(r, n) || r.c.closing() {
			r.exit = true
			return true
		}
		if !full {
			return false // drained: park without reading again
		}
	}
}
