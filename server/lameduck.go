package server

import (
	"context"
	"time"

	"github.com/wrenmq/wren/protocol"
)

// Lame-duck mode moves clients to another server before this one stops:
// it stops accepting, sends every client an INFO with "ldm": true (clients
// that know other servers prepare to move; nats.go calls its lame-duck
// handler), waits a grace period, then closes the clients in batches
// spread over the rest of the duration, each closed as at shutdown (what
// is queued for it is written first). A client that reconnects finds the
// listener gone and goes to the next server in its list. In-process
// connections (the stream layer) stay: the caller shuts down afterwards.

const reasonLameDuck = "Server Lame Duck Mode"

// ldmStep is the shortest pause between two batches of closes.
const ldmStep = 10 * time.Millisecond

// InLameDuckMode reports whether LameDuck has begun.
func (s *Server) InLameDuckMode() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ldm
}

// LameDuck puts the server in lame-duck mode and returns once every socket
// client is closed, or when ctx ends. Grace is the wait before the first
// close; the closes are spread over the rest of duration. Call Shutdown
// afterwards.
func (s *Server) LameDuck(ctx context.Context, duration, grace time.Duration) {
	s.mu.Lock()
	if s.ldm || s.shutdown {
		s.mu.Unlock()
		return
	}
	s.ldm = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close() // the accept loop sees net.ErrClosed and ends
	}
	clients := s.socketClients()
	s.log.Info("entering lame duck mode; clients are told to move and will be closed", "clients", len(clients), "duration", duration.String(), "grace_period", grace.String())
	for _, c := range clients {
		info := protocol.AppendInfo(nil, s.infoJSON(c))
		c.mu.Lock()
		if !c.closed {
			c.out.add(info)
		}
		slow := c.overPending()
		c.mu.Unlock()
		if slow {
			c.slowConsumer()
			continue
		}
		c.signal()
	}
	if !sleepCtx(ctx, grace) {
		return
	}
	// Whoever arrived before the listener closed is closed too.
	clients = s.socketClients()
	spread := duration - grace
	batches := len(clients)
	if most := int(spread / ldmStep); batches > most {
		batches = max(most, 1)
	}
	var pause time.Duration
	if batches > 0 {
		pause = spread / time.Duration(batches)
	}
	per := 1
	if batches > 0 {
		per = (len(clients) + batches - 1) / batches
	}
	for i := 0; i < len(clients); i += per {
		for _, c := range clients[i:min(i+per, len(clients))] {
			c.closeConn(reasonLameDuck, true)
		}
		if i+per < len(clients) && !sleepCtx(ctx, pause) {
			return
		}
	}
	s.log.Info("lame duck mode closed every client", "clients", len(clients))
}

// socketClients returns the open client connections (not in-process ones).
func (s *Server) socketClients() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		if c.kind == kindClient {
			list = append(list, c)
		}
	}
	return list
}

// sleepCtx waits d, reporting false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
