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

	mu      sync.Mutex
	links   []*link
	started bool
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
		n.links = append(n.links, n.newLink(opts.Remotes[i], i))
	}
	return n
}

func (n *Node) newLink(r Remote, idx int) *link {
	l := &link{n: n, r: r.withDefaults(), idx: idx, done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(n.ctx)
	return l
}

// Start dials every remote; each keeps reconnecting until Close.
func (n *Node) Start() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.started = true
	for _, l := range n.links {
		n.start(l)
	}
}

// start runs l's goroutine. n.mu is held.
func (n *Node) start(l *link) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer close(l.done)
		l.run()
	}()
}

// current returns the links now configured.
func (n *Node) current() []*link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.links
}

// Reload makes the links those of remotes: a remote whose Key matches a
// running link's keeps that link, up and untouched; the links of remotes
// no longer there (or changed) are closed, and new ones dialled. It
// reports how many links were kept, added and closed.
func (n *Node) Reload(remotes []Remote) (kept, added, removed int) {
	n.mu.Lock()
	old := n.links
	used := make([]bool, len(old))
	next := make([]*link, 0, len(remotes))
	for i, r := range remotes {
		var l *link
		for j, o := range old {
			if !used[j] && r.Key != "" && o.r.Key == r.Key {
				l, used[j] = o, true
				break
			}
		}
		if l == nil {
			l = n.newLink(r, i)
			if n.started {
				n.start(l)
			}
			added++
		} else {
			kept++
		}
		l.mu.Lock()
		l.idx = i
		l.mu.Unlock()
		next = append(next, l)
	}
	n.links = next
	started := n.started
	n.mu.Unlock()
	for j, o := range old {
		if !used[j] {
			removed++
			o.stop("Leafnode Remote Removed", started)
		}
	}
	return kept, added, removed
}

// Close drops every link and waits for their goroutines.
func (n *Node) Close() {
	n.cancel()
	for _, l := range n.current() {
		if lc := l.current(); lc != nil {
			lc.Close("Server Shutdown")
		}
	}
	n.wg.Wait()
}

// yields reports whether l is the link that gives way when the gateway's
// own loop-detection subject comes back: two links reach the same hub
// (or cluster), whose messages would otherwise arrive twice. The newest
// link yields, so the one already serving stays up.
func (n *Node) yields(l *link) bool {
	l.mu.Lock()
	mine, idx := l.since, l.idx
	l.mu.Unlock()
	for _, o := range n.current() {
		if o == l {
			continue
		}
		o.mu.Lock()
		up, since, oidx := o.lc != nil, o.since, o.idx
		o.mu.Unlock()
		if up && (since.Before(mine) || since.Equal(mine) && oidx < idx) {
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
