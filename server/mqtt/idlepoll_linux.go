//go:build linux

package mqtt

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// idlePoller lets an idle connection go without a goroutine. A connection
// whose socket stayed quiet for idleGrace hands its socket to one epoll
// instance per listener and its read loop ends; when the socket becomes
// readable (or is closed, or the keep alive runs out) a new read loop takes
// over. Ten thousand idle devices then cost no goroutine stacks, one
// goroutine waiting in epoll_wait, and one keep-alive timer each.
//
// Ownership: a parked connection is in parked; whoever removes it (the
// poller on an event, the keep-alive timer, closeNow) runs its read loop or
// its end. Nothing else touches the read loop's state meanwhile.
type idlePoller struct {
	once   sync.Once
	ok     bool
	live   atomic.Bool // ok and not closed: read on every read, so no lock
	epfd   int
	wake   [2]int // a pipe that stops the poller
	mu     sync.Mutex
	closed bool
	parked map[uint64]*conn
}

// parksIdle: idle connections give up their goroutine here.
const parksIdle = true

// idleGrace is how long a connection reads nothing before it parks: a busy
// connection keeps its read loop and pays nothing for parking.
const idleGrace = 250 * time.Millisecond

// usable starts the poller on first use and reports whether it runs.
func (p *idlePoller) usable() bool {
	p.once.Do(func() {
		fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		var pp [2]int
		if err := syscall.Pipe2(pp[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
			syscall.Close(fd)
			return
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // key 0: stop
		if err := syscall.EpollCtl(fd, syscall.EPOLL_CTL_ADD, pp[0], &ev); err != nil {
			syscall.Close(fd)
			syscall.Close(pp[0])
			syscall.Close(pp[1])
			return
		}
		p.mu.Lock() // take and stop may look before the poller exists
		p.epfd, p.wake, p.ok = fd, pp, true
		p.parked = make(map[uint64]*conn)
		p.mu.Unlock()
		p.live.Store(true)
		go p.run()
	})
	return p.live.Load()
}

// park hands c's socket to the poller. It returns false when c's read
// loop must go on, true when c belongs to someone else now.
func (p *idlePoller) park(c *conn) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.parked[c.id] = c
	p.mu.Unlock()
	var cerr error
	err := c.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{
			Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
			Fd:     int32(uint32(c.id)), Pad: int32(uint32(c.id >> 32)),
		}
		cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if cerr == syscall.ENOENT { // parked for the first time
			cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
	})
	if err == nil && cerr == nil {
		return true
	}
	// Not registered; unless someone took c meanwhile, it is ours again.
	p.mu.Lock()
	_, mine := p.parked[c.id]
	delete(p.parked, c.id)
	p.mu.Unlock()
	return !mine
}

// take removes a parked connection; nil if it is not parked. With
// expired, only one whose keep alive ran out is taken.
func (p *idlePoller) take(id uint64, expired bool) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.parked[id]
	if c == nil || expired && time.Now().UnixNano() < c.kaDeadline.Load() {
		return nil
	}
	delete(p.parked, id)
	return c
}

func (p *idlePoller) run() {
	evs := make([]syscall.EpollEvent, 64)
	for {
		n, err := syscall.EpollWait(p.epfd, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			p.stopped()
			return
		}
		for _, ev := range evs[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				p.stopped()
				return
			}
			if c := p.take(id, false); c != nil {
				c.resume()
			}
		}
	}
}

// stopped wakes every parked connection (their reads find the socket
// closed, or go on in a read loop) and releases the poller's descriptors.
func (p *idlePoller) stopped() {
	p.mu.Lock()
	p.closed = true
	p.live.Store(false)
	cs := make([]*conn, 0, len(p.parked))
	for id, c := range p.parked {
		cs = append(cs, c)
		delete(p.parked, id)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.resume()
	}
	syscall.Close(p.epfd)
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
}

// stop ends the poller, once every connection is closed.
func (p *idlePoller) stop() {
	p.mu.Lock()
	if p.ok && !p.closed {
		syscall.Write(p.wake[1], []byte{0})
	}
	p.mu.Unlock()
}
