// Package server is Wren's core broker: it accepts connections that speak the
// NATS client protocol, keeps the subject index, and delivers messages.
//
// It imports only protocol and auth. It never imports jetstore: the stream
// layer is a client of the broker through the in-process connection (see
// InProc), wired by cmd/wren.
//
// Lock order (outer to inner): Server.auth.mu (read while a CONNECT is
// checked, write while Reload swaps the authenticator) -> Server.mu ->
// client.mu; the interest tracker's lock (Server.interest.mu, taken after a
// subscription changed, with no other lock held) -> a leaf link's client.mu.
// The subject index lock (Sublist.mu) is never held while a client
// lock is taken, the locks inside auth's Checker and ReplyTracker are leaves,
// and no lock is ever held across socket I/O or an in-process handler call.
// The monitoring server's lock (httpServer.mu) and the /metrics hooks' lock
// are leaves; /healthz takes no lock at all (its check is an atomic
// pointer), so no client can hold it up.
// A traced message's msgTrace.mu is a leaf too: it is taken only to append
// an event, never while taking another lock. So are the heap watch's
// memWatch.mu (taken under Server.mu by Shutdown) and the owner identity
// cache's ownerCache.mu.
//
// Memory is returned to the OS after spikes by memrelease.go (connections
// closing in numbers) and memwatch.go (any heap growth): the latter runs
// on the runtime's finalizer goroutine after a garbage collection and on
// timers while collections continue, never while the daemon is idle.
//
// The system account (sysaccount.go) and message tracing (msgtrace.go)
// cost nothing while off: Server.sys is nil and no header asks for a
// trace, and the connection paths test that before calling into them.
// While the system account is on, $SYS subjects are its own: other
// clients' publishes there reach nobody (but their requests about their
// own account are answered), and what the server publishes there reaches
// only system users.
package server
