// Package leaf is the leaf-node link from a Wren gateway to a NATS hub: it
// dials a hub's leaf port (a stock nats-server accepts it), announces the
// gateway's interest with LS+/LS-, carries messages both ways as LMSG/HMSG
// (queue forms included), detects loops with "$LDS." subjects, pings, and
// reconnects with backoff and jitter, forever, across the remote's URLs.
//
// It imports server, server/websocket (for ws:// and wss:// remotes) and
// protocol only. The broker side of a link is a
// server.LeafConn: a dead or slow link never blocks local publishers or
// local delivery, because the broker only ever queues for it.
package leaf
