package leaf

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wrenmq/wren/protocol"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/websocket"
)

// loopDelay is how long a link waits after the hub found it closes a
// loop, as nats-server does.
const loopDelay = 30 * time.Second

// link is one remote: it dials its URLs in turn and serves one connection
// at a time.
type link struct {
	n      *Node
	r      Remote
	ctx    context.Context // ends when the node closes or a reload drops the link
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu         sync.Mutex
	idx        int
	lc         *server.LeafConn
	url        string
	hub        hubInfo
	connected  bool // the hub answered our first PING
	since      time.Time
	lastErr    string
	lastErrAt  time.Time
	attempts   int64 // failed connects in a row
	reconnects int64
	ldsIn      map[string]bool
	// learned are the hub cluster's other leaf ports, from the
	// leafnode_urls of its INFO: tried after the configured URLs, so a
	// gateway configured with one node of a cluster fails over to the
	// others.
	learned []*url.URL
	// compression is the current connection's mode, nats-server's name.
	compression string
}

// hubInfo is what Wren reads from the hub's INFO.
type hubInfo struct {
	ID          string   `json:"server_id"`
	Name        string   `json:"server_name"`
	Version     string   `json:"version"`
	Nonce       string   `json:"nonce"`
	TLSRequired bool     `json:"tls_required"`
	Headers     bool     `json:"headers"`
	Cluster     string   `json:"cluster"`
	Domain      string   `json:"domain"`
	CID         uint64   `json:"client_id"`
	OnConnect   bool     `json:"info_on_connect"`
	LeafURLs    []string `json:"leafnode_urls"`
	MaxPayload  int      `json:"max_payload"`
	Compression string   `json:"compression"`
}

func (l *link) current() *server.LeafConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lc
}

// run connects, serves and reconnects until the node closes.
func (l *link) run() {
	ctx := l.ctx
	delay := l.r.Reconnect
	next, loops := 0, 0
	for ctx.Err() == nil {
		urls := l.urls()
		u := urls[next%len(urls)]
		next++
		start := time.Now()
		err := l.serve(ctx, u)
		if ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		served := l.connected
		l.connected, l.lc = false, nil
		if served {
			l.reconnects++
			l.attempts = 0
		} else {
			l.attempts++
		}
		l.setErr(err)
		l.mu.Unlock()
		if served {
			l.n.log.Warn("leafnode connection closed", "remote", u.Redacted(), "error", errText(err), "after", time.Since(start).Round(time.Millisecond).String())
			delay = l.r.Reconnect
		} else if l.attempts == 1 || l.attempts%10 == 0 {
			l.n.log.Warn("leafnode connect failed", "remote", u.Redacted(), "error", errText(err), "attempts", l.attempts)
		} else {
			l.n.log.Debug("leafnode connect failed", "remote", u.Redacted(), "error", errText(err), "attempts", l.attempts)
		}
		wait := jitter(delay)
		var le *loopError
		if errors.As(err, &le) {
			// The first report may be the hub still holding this
			// gateway's previous connection to it (a link redialled at
			// once, a remote changed by a reload): tried again soon.
			// A loop reported again is one: the loop delay.
			if loops++; loops > 1 {
				wait = loopDelay
			}
		} else {
			loops = 0
		}
		if !served || next%len(urls) == 0 {
			if !served {
				delay *= 2
				if delay > l.r.ReconnectMax {
					delay = l.r.ReconnectMax
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// urls are the configured URLs, then the learned ones.
func (l *link) urls() []*url.URL {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.learned) == 0 {
		return l.r.URLs
	}
	return append(append([]*url.URL(nil), l.r.URLs...), l.learned...)
}

// maxLearned bounds the leaf ports kept from a hub's INFO.
const maxLearned = 32

// learn keeps the leaf ports ("host:port") a hub announced that are not
// configured already, with the scheme and credentials of u, the URL that
// reached it, as nats-server's leaf does. l.mu is held.
func (l *link) learn(u *url.URL, hostports []string) {
	if u.Scheme == "ws" || u.Scheme == "wss" {
		return // leafnode_urls are leaf ports, not websocket ones
	}
	for _, hp := range hostports {
		if len(l.learned) >= maxLearned {
			return
		}
		if _, _, err := net.SplitHostPort(hp); err != nil {
			continue
		}
		known := false
		for _, k := range l.r.URLs {
			known = known || k.Host == hp
		}
		for _, k := range l.learned {
			known = known || k.Host == hp
		}
		if !known {
			l.learned = append(l.learned, &url.URL{Scheme: u.Scheme, User: u.User, Host: hp})
			l.n.log.Debug("leafnode learned a hub URL", "url", hp)
		}
	}
}

// stop ends the link for good and waits for its goroutine, if it was
// started.
func (l *link) stop(reason string, started bool) {
	l.cancel()
	if lc := l.current(); lc != nil {
		lc.Close(reason)
	}
	if started {
		<-l.done
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// setErr records why the last connection ended. l.mu is held.
func (l *link) setErr(err error) {
	if err != nil {
		l.lastErr, l.lastErrAt = err.Error(), time.Now()
	}
}

// loopError is a hub's report that the link closes a loop.
type loopError struct{ text string }

func (e *loopError) Error() string { return e.text }

// hubError is an -ERR from the hub.
type hubError struct{ text string }

func (e *hubError) Error() string { return "hub: " + e.text }

// serve dials u, does the handshake and serves the connection until it
// ends.
func (l *link) serve(ctx context.Context, u *url.URL) error {
	ws := u.Scheme == "ws" || u.Scheme == "wss"
	host := u.Host
	if u.Port() == "" {
		port := "7422"
		switch u.Scheme {
		case "ws":
			port = "80"
		case "wss":
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: l.r.DialTimeout}
	dialed := time.Now()
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetKeepAlivePeriod(30 * time.Second)
	}
	// The socket itself, not nc, which the TLS handshake below replaces:
	// closing it ends a TLS connection over it too.
	sock := nc
	stop := context.AfterFunc(ctx, func() { sock.Close() })
	defer stop()
	deadline := time.Now().Add(l.r.DialTimeout)
	nc.SetDeadline(deadline)
	if ws {
		// A hub's websocket port: TLS first for wss, then the upgrade,
		// to the path that tells nats-server a leaf node is calling.
		if u.Scheme == "wss" || l.r.TLS != nil {
			if nc, err = l.tlsClient(ctx, nc, u); err != nil {
				return err
			}
		}
		wc, err := websocket.Client(nc, u.Host, strings.TrimSuffix(u.Path, "/")+"/leafnode")
		if err != nil {
			nc.Close()
			return err
		}
		nc = wc
	}
	br := bufio.NewReaderSize(nc, 32<<10)
	line, err := br.ReadSlice('\n')
	if err != nil {
		nc.Close()
		return fmt.Errorf("reading INFO: %w", err)
	}
	var info hubInfo
	if !hasVerb(line, "INFO") || json.Unmarshal(trimLine(line[4:]), &info) != nil {
		nc.Close()
		return errors.New("hub sent no INFO: not a NATS leaf port?")
	}
	if info.CID == 0 || (info.LeafURLs == nil && !info.OnConnect) {
		nc.Close()
		return errors.New("connected to a port that is not a leaf node port")
	}
	rtt := time.Since(dialed) // the TCP handshake and the INFO: s2_auto's measure
	if !ws && (l.r.TLS != nil || u.Scheme == "tls" || info.TLSRequired) {
		if nc, err = l.tlsClient(ctx, nc, u); err != nil {
			return err
		}
		br = bufio.NewReaderSize(nc, 32<<10)
	}
	compression, cnc, err := l.negotiateCompression(nc, &info, rtt)
	if err != nil {
		nc.Close()
		return fmt.Errorf("compression: %w", err)
	}
	if _, isWS := cnc.(*websocket.Conn); cnc != nc || isWS && compresses(compression) {
		// Both sides compress from here on; the hub says so again in a
		// compressed INFO, with its nonce.
		nc = cnc
		br = bufio.NewReaderSize(nc, 32<<10)
		line, err := br.ReadSlice('\n')
		var again hubInfo
		if err != nil || !hasVerb(line, "INFO") || json.Unmarshal(trimLine(line[4:]), &again) != nil {
			nc.Close()
			return fmt.Errorf("%w (%v)", errNoCompressedInfo, err)
		}
		if again.LeafURLs == nil {
			again.LeafURLs = info.LeafURLs
		}
		info = again
	}
	// Protocol 3 tells the hub the gateway takes part in message tracing
	// (nats-server's MsgTraceProto): it forwards traced messages, trace-only
	// ones included, and the gateway reports its own trace event.
	cn := leafConnect{Version: server.Version, ID: l.n.srv.ID(), Name: l.n.name, Headers: true, Proto: 3,
		DenyPub: l.r.DenyImports, Compress: compression}
	if err := l.r.credentials(&cn, u, []byte(info.Nonce)); err != nil {
		nc.Close()
		return err
	}
	js, _ := json.Marshal(&cn)
	out := append(append([]byte("CONNECT "), js...), "\r\nPING\r\n"...)
	pinged := time.Now()
	if _, err := nc.Write(out); err != nil {
		nc.Close()
		return err
	}
	nc.SetDeadline(time.Time{})

	opts := server.LeafOptions{Name: info.Name, PingInterval: l.r.PingInterval, MaxPingsOut: l.r.MaxPingsOut, MaxPayload: info.MaxPayload}
	deny := l.r.DenyImports
	opts.Announce = func(subject string) bool { return !deniedFilter(subject, deny) }
	if ex := l.r.DenyExports; len(ex) > 0 {
		opts.Export = func(subject []byte) bool { return !denied(subject, ex) }
	}
	lc, err := l.n.srv.AttachLeaf(nc, opts)
	if err != nil {
		nc.Close()
		return err
	}
	l.mu.Lock()
	l.lc, l.url, l.hub, l.since, l.compression = lc, u.Redacted(), info, time.Now(), compression
	l.learn(u, info.LeafURLs)
	l.mu.Unlock()
	lc.Send([]byte("LS+ " + l.n.lds + "\r\n"))
	lc.Start()
	err = l.read(br, lc, nc, u, deadline, pinged)
	reason := "Client Closed"
	if err != nil {
		reason = err.Error()
	}
	if r := lc.Closed(); r != "" && err != nil {
		err = fmt.Errorf("%s (%w)", r, err)
	}
	lc.Close(reason)
	return err
}

// tlsClient secures nc with the remote's TLS settings; nc is closed on
// failure.
func (l *link) tlsClient(ctx context.Context, nc net.Conn, u *url.URL) (net.Conn, error) {
	cfg := &tls.Config{}
	if l.r.TLS != nil {
		cfg = l.r.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// maxHubPayload bounds what a hub may send in one message.
const maxHubPayload = 64 << 20

// read serves the hub's protocol until the connection ends.
func (l *link) read(br *bufio.Reader, lc *server.LeafConn, nc net.Conn, u *url.URL, pongBy, pinged time.Time) error {
	var buf, ctl []byte
	var qa [8][]byte
	// The first PONG must come within the handshake's deadline: a hub
	// that refuses the credentials says so and closes instead.
	nc.SetReadDeadline(pongBy)
	first := true
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return errors.New("protocol line from hub too long")
			}
			return err
		}
		line = trimLine(line)
		switch {
		case hasVerb(line, "PING"):
			lc.Send(protocol.PongLine)
		case hasVerb(line, "PONG"):
			lc.Pong()
			if first {
				first = false
				lc.SetRTT(time.Since(pinged)) // the handshake's PING
				nc.SetReadDeadline(time.Time{})
				l.mu.Lock()
				l.connected = true
				l.mu.Unlock()
				l.n.log.Info("leafnode connection established", "remote", u.Redacted(), "hub", l.hub.Name)
				if f := l.n.onUp; f != nil {
					go f()
				}
			}
		case hasVerb(line, "+OK"):
		case hasVerb(line, "-ERR"):
			text := unquote(string(trimLine(line[4:])))
			if loopDetected(text) {
				return &loopError{text}
			}
			return &hubError{text}
		case hasVerb(line, "INFO"):
			var info hubInfo
			if json.Unmarshal(trimLine(line[4:]), &info) == nil && len(info.LeafURLs) > 0 {
				l.mu.Lock()
				l.hub.LeafURLs = info.LeafURLs
				l.learn(u, info.LeafURLs)
				l.mu.Unlock()
			}
		case hasVerb(line, "LS+"):
			if err := l.hubSub(lc, fields(line[3:], qa[:0])); err != nil {
				return err
			}
		case hasVerb(line, "LS-"):
			f := fields(line[3:], qa[:0])
			if len(f) == 0 {
				return errors.New("bad LS- from hub")
			}
			if hasPrefix(f[0], "$LDS.") {
				continue
			}
			var q []byte
			if len(f) > 1 {
				q = f[1]
			}
			lc.Unsub(f[0], q)
		case hasVerb(line, "LMSG"), hasVerb(line, "HMSG"):
			// The line lives in the reader's buffer, which reading the
			// payload may slide over: the subject, reply and queues must
			// be parsed from a copy.
			ctl = append(ctl[:0], line...)
			m, err := parseMsgArgs(ctl[4:], hasVerb(ctl, "HMSG"), qa[:0])
			if err != nil {
				return err
			}
			if m.size > maxHubPayload {
				return errors.New("message from hub over the payload limit")
			}
			if cap(buf) < m.size+2 {
				buf = make([]byte, m.size+2)
			}
			b := buf[:m.size+2]
			if _, err := io.ReadFull(br, b); err != nil {
				return err
			}
			var hdr []byte
			if m.hdr >= 0 {
				hdr = b[:m.hdr]
			}
			if !denied(m.subject, l.r.DenyImports) {
				lc.Msg(m.subject, m.reply, m.queues, hdr, b[m.hdr:m.size])
			}
		default:
			return fmt.Errorf("unknown protocol from hub: %.40q", line)
		}
		if br.Buffered() == 0 {
			lc.Flush()
		}
	}
}

// hubSub handles an LS+ from the hub.
func (l *link) hubSub(lc *server.LeafConn, f [][]byte) error {
	if len(f) != 1 && len(f) != 3 {
		return errors.New("bad LS+ from hub")
	}
	subj := f[0]
	if hasPrefix(subj, "$LDS.") {
		// A hub's own subject is only for its side; the gateway's coming
		// back means another of its links reaches the same hub.
		if string(subj) == l.n.lds && l.n.yields(l) {
			return &loopError{"Loop detected: another link of this gateway reaches the same hub; delaying reconnect for 30s"}
		}
		return nil
	}
	if deniedFilter(string(subj), l.r.DenyExports) {
		return nil
	}
	var q []byte
	w := 1
	if len(f) == 3 {
		q = f[1]
		w = atoi(f[2])
		if w < 1 {
			w = 1
		}
	}
	if err := lc.Sub(subj, q, w); err != nil {
		l.n.log.Debug("hub interest ignored", "subject", string(subj), "error", err)
	}
	return nil
}
