package mqtt

import (
	"net"
	"sync"
	"syscall"
)

// Idle connections hold no read buffer. On a plain TCP socket the read loop
// waits for the socket to become readable without a buffer, takes one from
// readPool for the read and returns it once the packets in it are handled;
// only bytes of a packet not yet complete stay with the connection, in a
// buffer of their own. Ten thousand idle devices then share the few
// buffers that reads in progress use. TLS and WebSocket connections read
// into a buffer of their own (see readLoop).
const pooledReadBuf = 4096

var readPool = sync.Pool{New: func() any {
	b := make([]byte, pooledReadBuf)
	return &b
}}

// rawOf is nc's socket when reads may wait on it without a buffer, else nil.
func rawOf(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok || !canReadRaw {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// readPooled waits until rc is readable, the read deadline passes or the
// socket is closed, and reads what is there into a buffer of readPool,
// which the caller puts back. At the end of the stream it returns 0 bytes
// and errEOF.
func readPooled(rc syscall.RawConn) (bp *[]byte, n int, err error) {
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		bp = readPool.Get().(*[]byte)
		n, rerr = readFD(fd, *bp)
		if rerr == errWouldBlock {
			readPool.Put(bp)
			bp = nil
			return false // wait until readable
		}
		return true
	})
	if err == nil {
		err = rerr
	}
	if err != nil || n <= 0 {
		if bp != nil {
			readPool.Put(bp)
			bp = nil
		}
		n = 0
		if err == nil {
			err = errEOF
		}
	}
	return bp, n, err
}
