package websocket

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
)

// maxHead bounds the request head of the upgrade.
const maxHead = 8 << 10

// keyGUID is appended to Sec-WebSocket-Key to make Sec-WebSocket-Accept
// (RFC 6455 section 4.2.2).
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// request is what the listener needs of an upgrade request.
type request struct {
	path       string
	host       string
	origin     string
	key        string
	protocols  []string
	extensions []string // Sec-WebSocket-Extensions values
	version    string
	upgrade    bool
	connection bool
}

// httpError is a refused upgrade: the status line to answer with.
type httpError struct {
	status string
	msg    string
}

func (e *httpError) Error() string { return e.status + ": " + e.msg }

func badRequest(msg string) error { return &httpError{"400 Bad Request", msg} }

// readRequest reads and checks an upgrade request head.
func readRequest(br *bufio.Reader) (*request, error) {
	n := 0
	line := func() (string, error) {
		s, err := br.ReadSlice('\n')
		n += len(s)
		if n > maxHead {
			return "", &httpError{"431 Request Header Fields Too Large", "request head too large"}
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return "", &httpError{"431 Request Header Fields Too Large", "header line too long"}
			}
			return "", err
		}
		return strings.TrimRight(string(s), "\r\n"), nil
	}
	first, err := line()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(first, " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return nil, badRequest("not an HTTP/1.1 request")
	}
	if parts[0] != "GET" {
		return nil, &httpError{"405 Method Not Allowed", "only GET upgrades"}
	}
	r := &request{path: parts[1]}
	if i := strings.IndexByte(r.path, '?'); i >= 0 {
		r.path = r.path[:i]
	}
	for {
		l, err := line()
		if err != nil {
			return nil, err
		}
		if l == "" {
			break
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, badRequest("malformed header line")
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "host":
			r.host = value
		case "origin":
			r.origin = value
		case "upgrade":
			r.upgrade = hasToken(value, "websocket")
		case "connection":
			r.connection = hasToken(value, "upgrade")
		case "sec-websocket-key":
			r.key = value
		case "sec-websocket-version":
			r.version = value
		case "sec-websocket-extensions":
			r.extensions = append(r.extensions, value)
		case "sec-websocket-protocol":
			for _, p := range strings.Split(value, ",") {
				if p = strings.TrimSpace(p); p != "" {
					r.protocols = append(r.protocols, p)
				}
			}
		}
	}
	switch {
	case !r.upgrade || !r.connection:
		return nil, &httpError{"426 Upgrade Required", "not a WebSocket upgrade"}
	case r.version != "13":
		return nil, &httpError{"426 Upgrade Required", "Sec-WebSocket-Version must be 13"}
	}
	if k, err := base64.StdEncoding.DecodeString(r.key); err != nil || len(k) != 16 {
		return nil, badRequest("invalid Sec-WebSocket-Key")
	}
	return r, nil
}

// hasToken reports whether a comma-separated header value holds token,
// without regard to case.
func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// acceptKey is the Sec-WebSocket-Accept for key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + keyGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// response is the 101 answer; protocol is the subprotocol chosen, or "",
// ext the extension accepted, or "".
func response(key, protocol, ext string) []byte {
	b := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b = append(b, acceptKey(key)...)
	if protocol != "" {
		b = append(b, "\r\nSec-WebSocket-Protocol: "...)
		b = append(b, protocol...)
	}
	if ext != "" {
		b = append(b, "\r\nSec-WebSocket-Extensions: "...)
		b = append(b, ext...)
	}
	return append(b, "\r\n\r\n"...)
}

// refusal is the answer to a refused upgrade.
func refusal(e *httpError) []byte {
	return []byte("HTTP/1.1 " + e.status + "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
		itoa(len(e.msg)+1) + "\r\n\r\n" + e.msg + "\n")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
