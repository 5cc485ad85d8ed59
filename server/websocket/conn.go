package websocket

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Frame opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// Close status codes sent.
const (
	closeNormal   = 1000
	closeProtocol = 1002
	closeTooBig   = 1009
)

// maxFrame bounds one data frame's payload; the protocols above bound
// their own messages, this only refuses absurd lengths.
const maxFrame = 1 << 30

var errProtocol = errors.New("websocket: protocol error")

// Conn is an upgraded WebSocket connection as a byte stream: Read returns
// the payloads of the client's data frames in order, whatever their
// boundaries; each Write is sent as one binary frame. Pings are answered and
// a close frame ends the stream with io.EOF.
type Conn struct {
	nc net.Conn
	br *bufio.Reader

	// Read state, owned by the reader.
	remain  uint64
	mask    [4]byte
	maskPos int
	rerr    error
	ctl     [125]byte

	wmu       sync.Mutex
	hdr       [10]byte
	closeSent bool
}

func newConn(nc net.Conn, br *bufio.Reader) *Conn { return &Conn{nc: nc, br: br} }

// Read reads payload bytes of data frames.
func (c *Conn) Read(p []byte) (int, error) {
	for c.remain == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if err := c.nextFrame(); err != nil {
			c.rerr = err
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	want := uint64(len(p))
	if want > c.remain {
		want = c.remain
	}
	n, err := c.br.Read(p[:want])
	for i := 0; i < n; i++ {
		p[i] ^= c.mask[c.maskPos&3]
		c.maskPos++
	}
	c.remain -= uint64(n)
	if err != nil {
		c.rerr = err
	}
	return n, err
}

// nextFrame reads frame headers, handling control frames, until a data
// frame with a payload to read begins.
func (c *Conn) nextFrame() error {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return err
	}
	fin, rsv, op := h[0]&0x80 != 0, h[0]&0x70, h[0]&0x0f
	masked, l7 := h[1]&0x80 != 0, uint64(h[1]&0x7f)
	if rsv != 0 || !masked { // [RFC 6455 5.1]: client frames are masked
		return c.fail(closeProtocol)
	}
	n := l7
	switch l7 {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if _, err := io.ReadFull(c.br, c.mask[:]); err != nil {
		return err
	}
	c.maskPos = 0
	switch op {
	case opContinuation, opText, opBinary:
		if n > maxFrame {
			return c.fail(closeTooBig)
		}
		c.remain = n
		return nil
	case opClose, opPing, opPong:
		if !fin || n > 125 {
			return c.fail(closeProtocol)
		}
		b := c.ctl[:n]
		if _, err := io.ReadFull(c.br, b); err != nil {
			return err
		}
		for i := range b {
			b[i] ^= c.mask[i&3]
		}
		switch op {
		case opPing:
			c.writeFrame(opPong, b)
		case opClose:
			code := uint16(closeNormal)
			if len(b) >= 2 {
				code = binary.BigEndian.Uint16(b)
			}
			c.sendClose(code)
			return io.EOF
		}
		return nil
	}
	return c.fail(closeProtocol)
}

// fail sends a close frame with code and ends the stream.
func (c *Conn) fail(code uint16) error {
	c.sendClose(code)
	return errProtocol
}

func (c *Conn) sendClose(code uint16) {
	c.wmu.Lock()
	sent := c.closeSent
	c.closeSent = true
	c.wmu.Unlock()
	if !sent {
		var b [2]byte
		binary.BigEndian.PutUint16(b[:], code)
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.writeFrameAlways(opClose, b[:])
	}
}

// Write sends p as one binary frame.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.writeFrame(opBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

var errClosed = errors.New("websocket: close sent")

func (c *Conn) writeFrame(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return errClosed
	}
	return c.frameLocked(op, p)
}

func (c *Conn) writeFrameAlways(op byte, p []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.frameLocked(op, p)
}

func (c *Conn) frameLocked(op byte, p []byte) error {
	h := c.hdr[:2]
	h[0] = 0x80 | op
	switch n := len(p); {
	case n < 126:
		h[1] = byte(n)
	case n < 1<<16:
		h[1] = 126
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h[1] = 127
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	bufs := net.Buffers{h, p}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// Close sends a normal close frame and closes the connection.
func (c *Conn) Close() error {
	c.sendClose(closeNormal)
	return c.nc.Close()
}

func (c *Conn) LocalAddr() net.Addr                { return c.nc.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.nc.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.nc.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.nc.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }
