package server

import (
	"context"
	"encoding/json"
	"log/slog"
)

// Protocol tracing (log.trace): every operation a client sends is logged
// at debug level with the connection id, and so is every -ERR the server
// sends. The read loop hands the parser a tracer instead of the client
// itself while tracing is on, so the untraced path costs one check per
// read, not per message. Credentials in CONNECT are never logged.

// tracer logs each operation, then hands it to the client.
type tracer struct{ c *client }

func (c *client) tracing() bool { return c.srv.lim().trace && c.kind == kindClient }

func (t tracer) log(op string, args ...any) {
	t.c.srv.log.Debug("<- "+op, append([]any{"cid", t.c.cid}, args...)...)
}

// Connect logs CONNECT without its credentials.
func (t tracer) Connect(opts []byte) error {
	shown := "(not JSON)"
	var m map[string]any
	if json.Unmarshal(opts, &m) == nil {
		for _, k := range []string{"pass", "auth_token", "sig", "jwt"} {
			if _, ok := m[k]; ok {
				m[k] = "[redacted]"
			}
		}
		if b, err := json.Marshal(m); err == nil {
			shown = string(b)
		}
	}
	t.log("CONNECT", "opts", shown)
	return t.c.Connect(opts)
}

func (t tracer) Pub(subject, reply, header, payload []byte) error {
	op := "PUB"
	attrs := []any{"subject", string(subject)}
	if reply != nil {
		attrs = append(attrs, "reply", string(reply))
	}
	if header != nil {
		op = "HPUB"
		attrs = append(attrs, "header_bytes", len(header))
	}
	t.log(op, append(attrs, "bytes", len(payload))...)
	return t.c.Pub(subject, reply, header, payload)
}

func (t tracer) Sub(subject, queue, sid []byte) error {
	attrs := []any{"subject", string(subject), "sid", string(sid)}
	if queue != nil {
		attrs = append(attrs, "queue", string(queue))
	}
	t.log("SUB", attrs...)
	return t.c.Sub(subject, queue, sid)
}

func (t tracer) Unsub(sid []byte, max int64) error {
	t.log("UNSUB", "sid", string(sid), "max", max)
	return t.c.Unsub(sid, max)
}

func (t tracer) Ping() error { t.log("PING"); return t.c.Ping() }
func (t tracer) Pong() error { t.log("PONG"); return t.c.Pong() }

// traceErr logs an -ERR sent to c while tracing is on.
func (c *client) traceErr(text string) {
	if c.tracing() {
		c.srv.log.Debug("-> -ERR", "cid", c.cid, "error", text)
	}
}

// logClosed logs a connection's end: at debug level when the client left
// or the server stopped, at info level for every other reason (slow
// consumer, protocol error, stale connection, authentication).
func (c *client) logClosed() {
	if c.kind != kindClient {
		return
	}
	c.mu.Lock()
	reason, name := c.reason, c.opts.Name
	out := c.outMsgs
	c.mu.Unlock()
	level := slog.LevelInfo
	switch reason {
	case reasonClientClosed, reasonShutdown, reasonLameDuck:
		level = slog.LevelDebug
	}
	c.srv.log.Log(context.Background(), level, "client connection closed", "cid", c.cid, "remote", c.remote(), "name", name,
		"reason", reason, "in_msgs", c.inMsgs.Load(), "out_msgs", out)
}
