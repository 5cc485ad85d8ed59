package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
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
	"time"

	"github.com/wrenmq/wren/server"
)

// The admin subcommands (replay) talk to a running daemon with one request.
// They speak just enough of the client protocol for that here, so the
// daemon's binary carries no client library: on an arm64 gateway the Go
// client costs about 0.6 MB, over the size budget.

// errNoResponders is a request nobody subscribes to.
var errNoResponders = errors.New("no responders available for request")

// requestOpts is where and as whom to connect.
type requestOpts struct {
	url               string // nats://[user:pass@]host[:port], tls://..., or host[:port]
	user, pass, token string
	name              string
	tlsCA             string        // PEM file of the CAs that verify a TLS server; default the system's
	dialTimeout       time.Duration // connecting, TLS and CONNECT; default 5s
}

// natsRequest publishes data to subject with a fresh reply inbox and
// returns the reply's payload, within timeout after connecting.
func natsRequest(o requestOpts, subject string, data []byte, timeout time.Duration) ([]byte, error) {
	host, useTLS, urlUser, urlPass, err := parseServerURL(o.url)
	if err != nil {
		return nil, err
	}
	if o.user == "" && o.token == "" && urlUser != "" {
		if urlPass != "" {
			o.user, o.pass = urlUser, urlPass
		} else {
			o.token = urlUser
		}
	}
	if o.dialTimeout <= 0 {
		o.dialTimeout = 5 * time.Second
	}
	var conn net.Conn
	conn, err = net.DialTimeout("tcp", host, o.dialTimeout)
	if err != nil {
		return nil, err
	}
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(o.dialTimeout))
	br := bufio.NewReader(conn)
	line, err := readProtoLine(br)
	if err != nil {
		return nil, fmt.Errorf("reading INFO: %w", err)
	}
	infoJSON, ok := strings.CutPrefix(line, "INFO ")
	if !ok {
		return nil, fmt.Errorf("expected INFO, got %q", line)
	}
	var info struct {
		TLSRequired bool `json:"tls_required"`
	}
	if err := json.Unmarshal([]byte(infoJSON), &info); err != nil {
		return nil, fmt.Errorf("bad INFO: %w", err)
	}
	if useTLS || info.TLSRequired {
		name, _, _ := net.SplitHostPort(host)
		cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
		if o.tlsCA != "" {
			pem, err := os.ReadFile(o.tlsCA)
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no certificates in %s", o.tlsCA)
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		conn = tc
		br = bufio.NewReader(conn)
	}
	connect, _ := json.Marshal(map[string]any{
		"verbose": false, "pedantic": false, "headers": true, "no_responders": true,
		"protocol": 1, "lang": "wren", "version": server.Version, "name": o.name,
		"user": o.user, "pass": o.pass, "auth_token": o.token,
	})
	var nonce [8]byte
	rand.Read(nonce[:])
	inbox := "_INBOX.wren." + hex.EncodeToString(nonce[:])
	var out bytes.Buffer
	fmt.Fprintf(&out, "CONNECT %s\r\nSUB %s 1\r\nPUB %s %s %d\r\n", connect, inbox, subject, inbox, len(data))
	out.Write(data)
	out.WriteString("\r\nPING\r\n")
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(out.Bytes()); err != nil {
		return nil, err
	}
	for {
		line, err := readProtoLine(br)
		if err != nil {
			return nil, err
		}
		verb, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "PING":
			if _, err := io.WriteString(conn, "PONG\r\n"); err != nil {
				return nil, err
			}
		case "PONG", "+OK", "INFO":
		case "-ERR":
			return nil, errors.New(strings.Trim(args, "' "))
		case "MSG", "HMSG":
			return readReply(br, strings.ToUpper(verb) == "HMSG", strings.Fields(args))
		default:
			return nil, fmt.Errorf("unexpected %q from the server", line)
		}
	}
}

// readReply reads the payload of a MSG or HMSG whose arguments are args;
// a 503 status header means no one answered.
func readReply(br *bufio.Reader, headers bool, args []string) ([]byte, error) {
	if len(args) < 3 {
		return nil, fmt.Errorf("malformed message line %q", args)
	}
	total, err := strconv.Atoi(args[len(args)-1])
	if err != nil || total < 0 {
		return nil, fmt.Errorf("malformed message line %q", args)
	}
	hdr := 0
	if headers {
		if len(args) < 4 {
			return nil, fmt.Errorf("malformed message line %q", args)
		}
		if hdr, err = strconv.Atoi(args[len(args)-2]); err != nil || hdr < 0 || hdr > total {
			return nil, fmt.Errorf("malformed message line %q", args)
		}
	}
	buf := make([]byte, total+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, err
	}
	if headers {
		status := strings.Fields(strings.SplitN(string(buf[:hdr]), "\r\n", 2)[0])
		if len(status) >= 2 && status[1] == "503" {
			return nil, errNoResponders
		}
	}
	return buf[hdr:total], nil
}

// readProtoLine reads one CRLF-terminated protocol line, without the CRLF.
func readProtoLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// parseServerURL accepts nats://, tls:// or a bare host[:port] and returns
// host:port (default port 4222), whether TLS was asked for, and any
// credentials in the URL.
func parseServerURL(s string) (hostport string, useTLS bool, user, pass string, err error) {
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
