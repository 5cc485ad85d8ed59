package websocket

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
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
	closeBadData  = 1007
	closeTooBig   = 1009
)

// maxFrame bounds one data frame's payload; the protocols above bound
// their own messages, this only refuses absurd lengths.
const maxFrame = 1 << 30

var errProtocol = errors.New("websocket: protocol error")

var errTooBig = errors.New("websocket: compressed message inflates past the limit")

// Conn is an upgraded WebSocket connection as a byte stream: Read returns
// the payloads of the client's data frames in order, whatever their
// boundaries; each Write is sent as one binary frame. Pings are answered and
// a close frame ends the stream with io.EOF. When permessage-deflate was
// negotiated, compressed messages are inflated on read, and writes of
// minDeflate bytes or more are sent compressed.
type Conn struct {
	nc net.Conn
	br *bufio.Reader
	st *stats

	deflate bool   // permessage-deflate negotiated
	maxMsg  uint64 // largest inflated message
	client  bool   // the client side (client.go): frames in are unmasked
	maskOut bool   // the client side masks its frames

	// Read state, owned by the reader.
	remain  uint64
	mask    [4]byte
	maskPos int
	rerr    error
	ctl     [125]byte
	inMsg   bool // a data message's last frame is still to come
	fin     bool // the current data frame ends its message

	// The compressed message being read: the inflater (nil when none)
	// reading zsrc, the bytes it has given, and the compressed bytes it
	// took.
	zr   io.ReadCloser
	zsrc msgSource
	zn   uint64
	zin  uint64

	wmu       sync.Mutex
	hdr       [10]byte
	closeSent bool
	failed    atomic.Bool // a frame was refused: what follows is unread
}

// discardStats counts for connections made without a listener.
var discardStats stats

func newConn(nc net.Conn, br *bufio.Reader) *Conn {
	return &Conn{nc: nc, br: br, st: &discardStats, maxMsg: maxFrame}
}

// Read reads payload bytes of data frames, inflated if compressed.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if c.zr != nil {
			return c.readInflated(p)
		}
		if c.remain > 0 {
			return c.readRaw(p)
		}
		if err := c.nextFrame(); err != nil {
			c.rerr = err
			return 0, err
		}
	}
}

// readInflated reads from the compressed message being read, refusing it
// with 1009 once it inflates past maxMsg, and with 1007 if it is not valid
// DEFLATE data.
func (c *Conn) readInflated(p []byte) (int, error) {
	if left := c.maxMsg - c.zn + 1; uint64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.zr.Read(p)
	c.zn += uint64(n)
	if c.zn > c.maxMsg {
		c.endInflate()
		c.fail(closeTooBig)
		c.rerr = errTooBig
		return 0, c.rerr
	}
	switch {
	case err == io.EOF:
		c.endInflate()
		c.st.inflated.Add(1)
		c.st.inWire.Add(c.zin)
		c.st.inBytes.Add(c.zn)
		err = nil
	case err != nil:
		c.endInflate()
		if c.zsrc.err != nil {
			err = c.zsrc.err
		} else {
			err = c.fail(closeBadData)
		}
		c.rerr = err
	}
	return n, err
}

// endInflate gives the inflater back to the pool.
func (c *Conn) endInflate() {
	flateReaders.Put(c.zr)
	c.zr = nil
}

// msgSource reads a compressed message's payload across its frames, then
// the tail that ends the DEFLATE stream.
type msgSource struct {
	c    *Conn
	tail []byte
	err  error // the error reading frames, not the data's
}

func (s *msgSource) Read(p []byte) (int, error) {
	c := s.c
	for c.remain == 0 {
		if c.fin {
			if len(s.tail) == 0 {
				return 0, io.EOF
			}
			n := copy(p, s.tail)
			s.tail = s.tail[n:]
			return n, nil
		}
		if err := c.nextFrame(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n, err := c.readRaw(p)
	c.zin += uint64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}

// ReadByte makes msgSource a flate.Reader, so that the inflater reads no
// further than the message and needs no buffer of its own.
func (s *msgSource) ReadByte() (byte, error) {
	var b [1]byte
	for {
		n, err := s.Read(b[:])
		if n == 1 {
			return b[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// readRaw reads unmasked payload bytes of the current data frame.
func (c *Conn) readRaw(p []byte) (int, error) {
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
	if masked == c.client { // [RFC 6455 5.1]: client frames are masked, server frames not
		return c.fail(closeProtocol)
	}
	// RSV1 marks a compressed message's first frame [RFC 7692 6].
	compressed := rsv == 0x40 && c.deflate && (op == opText || op == opBinary)
	if rsv != 0 && !compressed {
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
	if !masked {
		c.mask = [4]byte{}
	} else if _, err := io.ReadFull(c.br, c.mask[:]); err != nil {
		return err
	}
	c.maskPos = 0
	switch op {
	case opContinuation, opText, opBinary:
		if n > maxFrame {
			return c.fail(closeTooBig)
		}
		// A continuation continues a message; text and binary begin one.
		if (op == opContinuation) != c.inMsg {
			return c.fail(closeProtocol)
		}
		c.inMsg, c.fin, c.remain = !fin, fin, n
		if compressed {
			c.zsrc = msgSource{c: c, tail: deflateTail}
			c.zr, c.zn, c.zin = getInflater(&c.zsrc), 0, 0
		}
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
	c.failed.Store(true)
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

// Write sends p as one binary frame, compressed when negotiated and p is
// long enough for it to pay.
func (c *Conn) Write(p []byte) (int, error) {
	if c.deflate && len(p) >= minDeflate {
		return c.writeDeflated(p)
	}
	if err := c.writeFrame(opBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

var deflateBufs sync.Pool // *bytes.Buffer

// writeDeflated compresses p and sends it as one frame with RSV1 set, or
// plain if compression does not make it smaller.
func (c *Conn) writeDeflated(p []byte) (int, error) {
	buf, _ := deflateBufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			deflateBufs.Put(buf)
		}
	}()
	op := byte(opBinary)
	z := p
	if deflateMessage(buf, p) == nil && buf.Len() < len(p) {
		op |= 0x40
		z = buf.Bytes()
		c.st.deflated.Add(1)
		c.st.outBytes.Add(uint64(len(p)))
		c.st.outWire.Add(uint64(len(z)))
	}
	if err := c.writeFrame(op, z); err != nil {
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
	if c.maskOut {
		return c.maskedFrame(h, p)
	}
	bufs := net.Buffers{h, p}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// lingerRead bounds what is read and dropped after a refused frame.
const (
	lingerTime  = time.Second
	lingerBytes = 1 << 20
)

// Close sends a normal close frame and closes the connection. After a
// refused frame the client may still be sending: closing at once would
// answer with a TCP reset, which can destroy the close frame (and its
// status code) before the client reads it, so the write side is shut and
// what arrives is dropped for a moment first.
func (c *Conn) Close() error {
	c.sendClose(closeNormal)
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.failed.Load() {
		cw.CloseWrite()
		go func() {
			c.nc.SetReadDeadline(time.Now().Add(lingerTime))
			io.CopyN(io.Discard, c.br, lingerBytes)
			c.nc.Close()
		}()
		return nil
	}
	return c.nc.Close()
}

func (c *Conn) LocalAddr() net.Addr                { return c.nc.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.nc.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.nc.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.nc.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }
