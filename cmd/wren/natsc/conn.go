// Package natsc is the small NATS client the wren binary's subcommands
// (pub, sub, req, reply, stream, consumer, dlq, replay) use to reach a
// running daemon. It speaks just the client protocol they need, so the
// binary carries no client library: on an arm64 gateway the Go client
// costs about 0.6 MB, more than every operator command together.
//
// One Conn has a read loop that dispatches messages to subscriptions and
// answers the server's PINGs; writes are serialised by a lock.
package natsc

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wrenmq/wren/protocol/nkey"
)

// Options say where and as whom to connect. The names follow the nats CLI.
type Options struct {
	URL      string // nats://[user:pass@]host[:port], tls://..., or host[:port]; comma-separated tries each
	User     string
	Password string
	Token    string
	NkeySeed string // file holding an nkey seed (SU...)
	Creds    string // .creds file: a user JWT and its nkey seed
	TLSCert  string // client certificate (PEM)
	TLSKey   string // its key
	TLSCA    string // CAs that verify the server; default the system's
	TLSFirst bool   // TLS handshake before INFO
	Name     string // client name the server shows in /connz
	Version  string
	Timeout  time.Duration // connecting, TLS and CONNECT; default 5s
}

// ErrNoResponders is a request nobody subscribes to.
var ErrNoResponders = errors.New("no responders available for request")

// ErrTimeout is a request or flush that got no answer in time.
var ErrTimeout = errors.New("timeout")

// Msg is a received message.
type Msg struct {
	Subject string
	Reply   string
	Header  Header
	Data    []byte
	Status  string // the status of a status message ("503", "404", "408"), else ""
	Desc    string // its description
}

// Header holds message headers, keys as sent.
type Header map[string][]string

// Get returns the first value of key.
func (h Header) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Conn is a connection to a server.
type Conn struct {
	nc   net.Conn
	br   *bufio.Reader
	wmu  sync.Mutex
	info serverInfo

	mu      sync.Mutex
	subs    map[string]*Sub
	nextSID int
	pongs   []chan struct{}
	err     error // why the connection ended
	closed  bool
	done    chan struct{}
}

type serverInfo struct {
	ServerID    string `json:"server_id"`
	ServerName  string `json:"server_name"`
	Version     string `json:"version"`
	TLSRequired bool   `json:"tls_required"`
	Headers     bool   `json:"headers"`
	MaxPayload  int    `json:"max_payload"`
	Nonce       string `json:"nonce"`
	LameDuck    bool   `json:"ldm"`
}

// Sub is a subscription; its messages arrive on C until Unsubscribe or
// the connection ends (then C is closed).
type Sub struct {
	C    chan *Msg
	sid  string
	c    *Conn
	gone chan struct{} // closed by Unsubscribe
}

// Connect connects to the first server of o.URL that answers.
func Connect(o Options) (*Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	var errs []string
	for _, u := range strings.Split(o.URL, ",") {
		c, err := connect(o, strings.TrimSpace(u))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err.Error())
	}
	return nil, errors.New(strings.Join(errs, "; "))
}

func connect(o Options, raw string) (*Conn, error) {
	host, useTLS, user, pass, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	if o.User == "" && o.Token == "" && user != "" {
		if pass != "" {
			o.User, o.Password = user, pass
		} else {
			o.Token = user
		}
	}
	conn, err := net.DialTimeout("tcp", host, o.Timeout)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", host, err)
	}
	c := &Conn{nc: conn, subs: make(map[string]*Sub), done: make(chan struct{})}
	if err := c.handshake(o, host, useTLS || o.TLSFirst || o.TLSCert != ""); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", host, err)
	}
	go c.readLoop()
	return c, nil
}

func (c *Conn) handshake(o Options, host string, wantTLS bool) error {
	c.nc.SetDeadline(time.Now().Add(o.Timeout))
	defer c.nc.SetDeadline(time.Time{})
	if o.TLSFirst {
		if err := c.startTLS(o, host); err != nil {
			return err
		}
	}
	c.br = bufio.NewReaderSize(c.nc, 32<<10)
	line, err := c.readLine()
	if err != nil {
		return fmt.Errorf("reading INFO: %w", err)
	}
	js, ok := strings.CutPrefix(line, "INFO ")
	if !ok {
		return fmt.Errorf("expected INFO, got %q", line)
	}
	if err := json.Unmarshal([]byte(js), &c.info); err != nil {
		return fmt.Errorf("bad INFO: %w", err)
	}
	if !o.TLSFirst && (wantTLS || c.info.TLSRequired) {
		if err := c.startTLS(o, host); err != nil {
			return err
		}
		c.br = bufio.NewReaderSize(c.nc, 32<<10)
	}
	connect := map[string]any{
		"verbose": false, "pedantic": false, "headers": true, "no_responders": true,
		"protocol": 1, "lang": "wren", "version": o.Version, "name": o.Name, "tls_required": wantTLS,
	}
	if o.User != "" {
		connect["user"], connect["pass"] = o.User, o.Password
	}
	if o.Token != "" {
		connect["auth_token"] = o.Token
	}
	if o.Creds != "" {
		if o.NkeySeed != "" {
			return errors.New("creds and nkey exclude each other: the creds file holds the seed")
		}
		jwt, sig, err := signCreds(o.Creds, c.info.Nonce)
		if err != nil {
			return err
		}
		connect["jwt"], connect["sig"] = jwt, sig
	}
	if o.NkeySeed != "" {
		pub, sig, err := signNonce(o.NkeySeed, c.info.Nonce)
		if err != nil {
			return err
		}
		connect["nkey"], connect["sig"] = pub, sig
	}
	b, _ := json.Marshal(connect)
	if _, err := fmt.Fprintf(c.nc, "CONNECT %s\r\nPING\r\n", b); err != nil {
		return err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return fmt.Errorf("after CONNECT: %w", err)
		}
		verb, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "PONG":
			return nil
		case "-ERR":
			return errors.New(strings.Trim(args, "' "))
		case "PING":
			io.WriteString(c.nc, "PONG\r\n")
		}
	}
}

func (c *Conn) startTLS(o Options, host string) error {
	name, _, _ := net.SplitHostPort(host)
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if o.TLSCA != "" {
		pem, err := os.ReadFile(o.TLSCA)
		if err != nil {
			return fmt.Errorf("tlsca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tlsca: no certificates in %s", o.TLSCA)
		}
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("tlscert/tlskey: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	tc := tls.Client(c.nc, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("TLS: %w", err)
	}
	c.nc = tc
	return nil
}

// signNonce signs the server's nonce with the seed in file.
func signNonce(file, nonce string) (pub, sig string, err error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("nkey: %w", err)
	}
	var seed []byte
	for _, f := range strings.Fields(string(b)) {
		if strings.HasPrefix(f, "SU") {
			seed = []byte(f)
			break
		}
	}
	if seed == nil {
		return "", "", fmt.Errorf("nkey: no user seed (SU...) in %s", file)
	}
	kp, err := nkey.FromSeed(seed)
	if err != nil {
		return "", "", fmt.Errorf("nkey: %w", err)
	}
	defer kp.Wipe()
	return kp.PublicKey(), base64.RawURLEncoding.EncodeToString(kp.Sign([]byte(nonce))), nil
}

func (c *Conn) readLine() (string, error) {
	line, err := c.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// ServerName returns the name the server gave in INFO.
func (c *Conn) ServerName() string { return c.info.ServerName }

// MaxPayload returns the server's max_payload.
func (c *Conn) MaxPayload() int { return c.info.MaxPayload }

func (c *Conn) readLoop() {
	err := c.read()
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.closed = true
	subs := c.subs
	c.subs = map[string]*Sub{}
	for _, p := range c.pongs {
		close(p)
	}
	c.pongs = nil
	c.mu.Unlock()
	for _, s := range subs {
		close(s.C)
	}
	close(c.done)
}

func (c *Conn) read() error {
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		verb, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "PING":
			c.write([]byte("PONG\r\n"))
		case "PONG":
			c.mu.Lock()
			if len(c.pongs) > 0 {
				close(c.pongs[0])
				c.pongs = c.pongs[1:]
			}
			c.mu.Unlock()
		case "+OK", "INFO":
		case "-ERR":
			e := errors.New(strings.Trim(args, "' "))
			c.mu.Lock()
			c.err = e
			c.mu.Unlock()
		case "MSG", "HMSG":
			m, sid, err := c.readMsg(strings.ToUpper(verb) == "HMSG", strings.Fields(args))
			if err != nil {
				return err
			}
			c.mu.Lock()
			s := c.subs[sid]
			c.mu.Unlock()
			if s != nil {
				select {
				case s.C <- m:
				case <-s.gone:
				}
			}
		default:
			return fmt.Errorf("unexpected %q from the server", line)
		}
	}
}

// readMsg reads a MSG's or HMSG's payload; args: subject sid [reply]
// [hdrlen] total.
func (c *Conn) readMsg(headers bool, args []string) (*Msg, string, error) {
	need := 3
	if headers {
		need = 4
	}
	if len(args) < need || len(args) > need+1 {
		return nil, "", fmt.Errorf("malformed message line %q", args)
	}
	m := &Msg{Subject: args[0]}
	sid := args[1]
	if len(args) == need+1 {
		m.Reply = args[2]
	}
	total, err := strconv.Atoi(args[len(args)-1])
	if err != nil || total < 0 {
		return nil, "", fmt.Errorf("malformed message line %q", args)
	}
	hdr := 0
	if headers {
		if hdr, err = strconv.Atoi(args[len(args)-2]); err != nil || hdr < 0 || hdr > total {
			return nil, "", fmt.Errorf("malformed message line %q", args)
		}
	}
	buf := make([]byte, total+2)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return nil, "", err
	}
	if headers {
		m.Header, m.Status, m.Desc = ParseHeader(buf[:hdr])
	}
	m.Data = buf[hdr:total]
	return m, sid, nil
}

// ParseHeader parses "NATS/1.0[ status[ desc]]\r\nKey: value\r\n...".
func ParseHeader(b []byte) (Header, string, string) {
	lines := strings.Split(string(b), "\r\n")
	h := Header{}
	var status, desc string
	if f := strings.SplitN(lines[0], " ", 3); len(f) >= 2 {
		status = f[1]
		if len(f) == 3 {
			desc = f[2]
		}
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok && k != "" {
			h[k] = append(h[k], strings.TrimSpace(v))
		}
	}
	return h, status, desc
}

func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// Err returns why the connection ended, or the last -ERR, or nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Publish sends a message; hdr may be nil.
func (c *Conn) Publish(subject, reply string, hdr Header, data []byte) error {
	if c.info.MaxPayload > 0 && len(data) > c.info.MaxPayload {
		return fmt.Errorf("message of %d bytes is over the server's max_payload of %d", len(data), c.info.MaxPayload)
	}
	var b []byte
	if len(hdr) > 0 {
		hb := encodeHeader(hdr)
		b = fmt.Appendf(nil, "HPUB %s %s%d %d\r\n", subject, withSpace(reply), len(hb), len(hb)+len(data))
		b = append(b, hb...)
	} else {
		b = fmt.Appendf(nil, "PUB %s %s%d\r\n", subject, withSpace(reply), len(data))
	}
	b = append(b, data...)
	b = append(b, "\r\n"...)
	return c.write(b)
}

func withSpace(s string) string {
	if s == "" {
		return ""
	}
	return s + " "
}

func encodeHeader(h Header) []byte {
	b := []byte("NATS/1.0\r\n")
	for k, vs := range h {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	return append(b, "\r\n"...)
}

// Subscribe subscribes to subject (in queue group queue, if set); up to
// buffer messages wait in C.
func (c *Conn) Subscribe(subject, queue string, buffer int) (*Sub, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, c.closedErr()
	}
	c.nextSID++
	s := &Sub{C: make(chan *Msg, buffer), sid: strconv.Itoa(c.nextSID), c: c, gone: make(chan struct{})}
	c.subs[s.sid] = s
	c.mu.Unlock()
	return s, c.write(fmt.Appendf(nil, "SUB %s %s%s\r\n", subject, withSpace(queue), s.sid))
}

// Unsubscribe ends the subscription.
func (s *Sub) Unsubscribe() error {
	s.c.mu.Lock()
	_, ok := s.c.subs[s.sid]
	delete(s.c.subs, s.sid)
	s.c.mu.Unlock()
	if !ok {
		return nil
	}
	close(s.gone)
	return s.c.write([]byte("UNSUB " + s.sid + "\r\n"))
}

// Flush waits until the server has processed everything sent so far.
func (c *Conn) Flush(timeout time.Duration) error {
	ch := make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.closedErr()
	}
	c.pongs = append(c.pongs, ch)
	c.mu.Unlock()
	if err := c.write([]byte("PING\r\n")); err != nil {
		return err
	}
	select {
	case <-ch:
		if err := c.Err(); err != nil {
			return err
		}
		return nil
	case <-time.After(timeout):
		return ErrTimeout
	}
}

func (c *Conn) closedErr() error {
	if c.err != nil && !errors.Is(c.err, net.ErrClosed) {
		return fmt.Errorf("connection closed: %w", c.err)
	}
	return errors.New("connection closed")
}

// NewInbox returns a unique reply subject.
func NewInbox() string {
	var b [12]byte
	rand.Read(b[:])
	return "_INBOX." + hex.EncodeToString(b[:])
}

// Request publishes data to subject and waits up to timeout for the first
// reply. A 503 status reply is ErrNoResponders.
func (c *Conn) Request(subject string, hdr Header, data []byte, timeout time.Duration) (*Msg, error) {
	inbox := NewInbox()
	s, err := c.Subscribe(inbox, "", 1)
	if err != nil {
		return nil, err
	}
	defer s.Unsubscribe()
	if err := c.Publish(subject, inbox, hdr, data); err != nil {
		return nil, err
	}
	select {
	case m, ok := <-s.C:
		if !ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			return nil, c.closedErr()
		}
		if m.Status == "503" {
			return nil, ErrNoResponders
		}
		return m, nil
	case <-time.After(timeout):
		if err := c.Err(); err != nil {
			return nil, err
		}
		return nil, ErrTimeout
	}
}

// Done is closed when the connection ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close flushes briefly and closes the connection.
func (c *Conn) Close() {
	c.Flush(time.Second)
	c.mu.Lock()
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.mu.Unlock()
	c.nc.Close()
	<-c.done
}

// ParseURL accepts nats://, tls:// or a bare host[:port] and returns
// host:port (default port 4222), whether TLS was asked for, and any
// credentials in the URL.
func ParseURL(s string) (hostport string, useTLS bool, user, pass string, err error) {
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false, "", "", fmt.Errorf("server URL %q: %w", s, err)
	}
	switch u.Scheme {
	case "nats":
	case "tls":
		useTLS = true
	default:
		return "", false, "", "", fmt.Errorf("server URL %q: want nats:// or tls://", s)
	}
	if u.Hostname() == "" {
		return "", false, "", "", fmt.Errorf("server URL %q has no host", s)
	}
	port := u.Port()
	if port == "" {
		port = "4222"
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	return net.JoinHostPort(u.Hostname(), port), useTLS, user, pass, nil
}
