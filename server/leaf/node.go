package leaf

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/wrenmq/wren/server"
)

// Options configure a Node.
type Options struct {
	// Name is the gateway's stable, unique name, sent in CONNECT: the hub
	// shows it, and nats-server tells links apart by it.
	Name    string
	Remotes []Remote
	Logger  *slog.Logger
	// OnConnect, when set, is called (on its own goroutine) each time a
	// link is up: the hub answered its first PING.
	OnConnect func()
}

// Node runs the links of one gateway to its hubs.
type Node struct {
	srv  *server.Server
	log  *slog.Logger
	onUp func()
	name string
	lds  string // this gateway's loop-detection subject

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	links []*link
}

// New prepares the links; Start dials them. srv must have had
// TrackInterest called before anything subscribed.
func New(srv *server.Server, opts Options) *Node {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{srv: srv, log: opts.Logger, name: opts.Name, ctx: ctx, cancel: cancel, onUp: opts.OnConnect,
		lds: "$LDS." + srv.ID()}
	for i := range opts.Remotes {
		r := opts.Remotes[i].withDefaults()
		n.links = append(n.links, &link{n: n, r: r, idx: i})
	}
	return n
}

// Start dials every remote; each keeps reconnecting until Close.
func (n *Node) Start() {
	for _, l := range n.links {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			l.run()
		}()
	}
}

// Close drops every link and waits for their goroutines.
func (n *Node) Close() {
	n.cancel()
	n.mu.Lock()
	for _, l := range n.links {
		if lc := l.current(); lc != nil {
			lc.Close("Server Shutdown")
		}
	}
	n.mu.Unlock()
	n.wg.Wait()
}

// yields reports whether l is the link that gives way when the gateway's
// own loop-detection subject comes back: two links reach the same hub
// (or cluster), whose messages would otherwise arrive twice. The newest
// link yields, so the one already serving stays up.
func (n *Node) yields(l *link) bool {
	l.mu.Lock()
	mine := l.since
	l.mu.Unlock()
	for _, o := range n.links {
		if o == l {
			continue
		}
		o.mu.Lock()
		up, since := o.lc != nil, o.since
		o.mu.Unlock()
		if up && (since.Before(mine) || since.Equal(mine) && o.idx < l.idx) {
			return true
		}
	}
	return false
}

// jitter spreads d by ±25%.
func jitter(d time.Duration) time.Duration {
	var b [8]byte
	rand.Read(b[:])
	f := float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53) // [0,1)
	return time.Duration(float64(d) * (0.75 + 0.5*f))
}

// loopDetected reports whether a hub's -ERR says this link closes a loop.
func loopDetected(text string) bool {
	return strings.HasPrefix(text, "Loop detected")
}
