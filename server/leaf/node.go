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
}

// Node runs the links of one gateway to its hubs.
type Node struct {
	srv  *server.Server
	log  *slog.Logger
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
	n := &Node{srv: srv, log: opts.Logger, name: opts.Name, ctx: ctx, cancel: cancel,
		lds: "$LDS." + srv.ID()}
	for i := range opts.Remotes {
		r := opts.Remotes[i].withDefaults()
		n.links = append(n.links, &link{n: n, r: r, idx: i, ldsIn: make(map[string]bool)})
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

// relayLDS tells the other links of a loop-detection subject a hub sent
// (add) or that went with its link, so a hub reachable over two links
// sees its own subject come back and refuses the second: the same
// cluster's messages would otherwise arrive twice.
func (n *Node) relayLDS(from *link, subject string, add bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	line := "LS- " + subject + "\r\n"
	if add {
		line = "LS+ " + subject + "\r\n"
	}
	for _, l := range n.links {
		if l == from {
			continue
		}
		if lc := l.current(); lc != nil {
			lc.Send([]byte(line))
		}
	}
}

// ldsFromOthers returns the loop-detection subjects the other links hold.
func (n *Node) ldsFromOthers(self *link) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, l := range n.links {
		if l == self {
			continue
		}
		l.mu.Lock()
		for s := range l.ldsIn {
			out = append(out, s)
		}
		l.mu.Unlock()
	}
	return out
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
