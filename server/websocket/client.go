package websocket

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/textproto"
	"strings"
)

// The client side, for a gateway's leaf link to a hub's websocket port:
// nats-server tells a leaf node from a client by the path /leafnode, and
// agrees not to have the link mask its frames when asked with
// Nats-No-Masking (frames are then sent as is, as over TLS they are
// already protected; without the agreement they are masked, as RFC 6455
// requires of clients).

// NoMaskingHeader asks a nats-server not to require masked frames.
const NoMaskingHeader = "Nats-No-Masking"

// Client upgrades nc (plain TCP for ws://, TLS for wss://) to a WebSocket
// as a client, with a GET of path on host, and returns it as a byte
// stream: the server's frames in, one binary frame per Write out. The
// caller bounds the handshake with nc's deadline.
func Client(nc net.Conn, host, path string) (*Conn, error) {
	var kb [16]byte
	rand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n" + NoMaskingHeader + ": true\r\n\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	if err != nil {
		return nil, err
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "101" {
		return nil, errors.New("websocket: the server refused the upgrade: " + status)
	}
	if !strings.EqualFold(h.Get("Upgrade"), "websocket") || !hasToken(h.Get("Connection"), "upgrade") ||
		h.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return nil, errors.New("websocket: the server's upgrade response is not a valid one")
	}
	c := newConn(nc, br)
	c.client = true
	c.maskOut = h.Get(NoMaskingHeader) != "true"
	return c, nil
}

// maskedFrame writes p masked with a fresh key after the header h.
// c.wmu is held.
func (c *Conn) maskedFrame(h, p []byte) error {
	var key [4]byte
	rand.Read(key[:])
	h[1] |= 0x80
	b := make([]byte, 0, len(h)+4+len(p))
	b = append(append(b, h...), key[:]...)
	for i, x := range p {
		b = append(b, x^key[i&3])
	}
	_, err := c.nc.Write(b)
	return err
}

// Rewrap puts wrap(transport) under the frames from now on: nats-server
// layers a leaf link's S2 compression beneath its websocket frames, so
// once both sides agree the frames travel inside an S2 stream. Nothing
// may be buffered unread at that point (the hub waits for the link's
// answer), or it is an error.
func (c *Conn) Rewrap(wrap func(net.Conn) net.Conn) error {
	if c.br.Buffered() > 0 {
		return errors.New("websocket: bytes arrived before the transport changed")
	}
	c.wmu.Lock()
	c.nc = wrap(c.nc)
	c.wmu.Unlock()
	c.br = bufio.NewReaderSize(c.nc, 4096)
	return nil
}
