package tests

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy modes.
const (
	proxyPass      = iota // bytes flow both ways
	proxyBlackhole        // bytes are read and dropped both ways: a dead link that stays open
	proxyDropDown         // hub→gateway bytes dropped: the hub stores, its acks never arrive
	proxyRefuse           // new connections are closed at once
)

// tcpProxy is a loopback TCP proxy between a gateway and a hub's leaf
// port that a test can cut and blackhole.
type tcpProxy struct {
	t      testing.TB
	ln     net.Listener
	target atomic.Pointer[string]
	mode   atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, ln: ln}
	p.target.Store(&target)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.mode.Load() == proxyRefuse {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", *p.target.Load())
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c, false)
		go p.pipe(c, up, true)
	}
}

// pipe copies src to dst; down is the hub→gateway direction.
func (p *tcpProxy) pipe(dst, src net.Conn, down bool) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			m := p.mode.Load()
			drop := m == proxyBlackhole || (m == proxyDropDown && down)
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// cut closes every connection through the proxy.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
