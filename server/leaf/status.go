package leaf

import (
	"time"
)

// LeafInfo is one link in /leafz, with nats-server's field names.
type LeafInfo struct {
	ID             uint64   `json:"id,omitempty"`
	Name           string   `json:"name"`
	IsSpoke        bool     `json:"is_spoke"`
	Account        string   `json:"account"`
	IP             string   `json:"ip,omitempty"`
	Port           int      `json:"port,omitempty"`
	URL            string   `json:"url,omitempty"`
	Connected      bool     `json:"connected"`
	Since          string   `json:"since,omitempty"`
	RTT            string   `json:"rtt,omitempty"`
	InMsgs         int64    `json:"in_msgs"`
	OutMsgs        int64    `json:"out_msgs"`
	InBytes        int64    `json:"in_bytes"`
	OutBytes       int64    `json:"out_bytes"`
	NumSubs        int      `json:"subscriptions"`
	Subs           []string `json:"subscriptions_list,omitempty"`
	PendingBytes   int      `json:"pending_bytes"`
	OverMaxPayload int64    `json:"over_max_payload,omitempty"`
	Reconnects     int64    `json:"reconnects"`
	FailedConnects int64    `json:"failed_connects"`
	LastError      string   `json:"last_error,omitempty"`
	LastErrorAt    string   `json:"last_error_at,omitempty"`
	Cluster        string   `json:"cluster,omitempty"`
	ServerID       string   `json:"server_id,omitempty"`
	// Compression is the link's compression as nats-server names it
	// ("off" when it carries plain protocol).
	Compression string `json:"compression,omitempty"`
}

// Leafz is the /leafz document.
type Leafz struct {
	ServerID string     `json:"server_id"`
	Now      time.Time  `json:"now"`
	NumLeafs int        `json:"leafnodes"`
	Leafs    []LeafInfo `json:"leafs"`
}

// Leafz describes every configured remote, connected or not; with subs,
// the hub's interest too.
func (n *Node) Leafz(subs bool) *Leafz {
	z := &Leafz{ServerID: n.srv.ID(), Now: time.Now().UTC(), Leafs: []LeafInfo{}}
	for _, l := range n.current() {
		l.mu.Lock()
		li := LeafInfo{Name: l.hub.Name, IsSpoke: true, Account: "$G", URL: l.url,
			Connected: l.connected, Reconnects: l.reconnects, FailedConnects: l.attempts,
			LastError: l.lastErr, Cluster: l.hub.Cluster, ServerID: l.hub.ID}
		if !l.lastErrAt.IsZero() {
			li.LastErrorAt = l.lastErrAt.UTC().Format(time.RFC3339Nano)
		}
		lc := l.lc
		since := l.since
		compression := l.compression
		if compression == compressionNone {
			compression = CompressionOff
		}
		l.mu.Unlock()
		if li.URL == "" && len(l.r.URLs) > 0 {
			li.URL = l.r.URLs[0].Redacted()
		}
		if lc != nil {
			st := lc.Stats(subs)
			li.IP, li.Port, li.Compression = st.IP, st.Port, compression
			li.ID, li.InMsgs, li.OutMsgs, li.InBytes, li.OutBytes = st.Cid, st.InMsgs, st.OutMsgs, st.InBytes, st.OutBytes
			li.NumSubs, li.Subs, li.PendingBytes, li.OverMaxPayload = st.Subscriptions, st.Subs, st.Pending, st.TooBig
			li.RTT = st.RTT.String()
			li.Since = since.UTC().Format(time.RFC3339Nano)
			if li.Connected {
				z.NumLeafs++
			}
		}
		z.Leafs = append(z.Leafs, li)
	}
	return z
}

// Connected reports how many links are up.
func (n *Node) Connected() int {
	c := 0
	for _, l := range n.current() {
		l.mu.Lock()
		if l.connected {
			c++
		}
		l.mu.Unlock()
	}
	return c
}

// MaxPayload is the smallest max_payload among the hubs of the links up
// (from their INFO), 0 when no link is up or none sets one: what a
// message must fit to cross any of them.
func (n *Node) MaxPayload() int {
	m := 0
	for _, l := range n.current() {
		l.mu.Lock()
		if l.connected && l.hub.MaxPayload > 0 && (m == 0 || l.hub.MaxPayload < m) {
			m = l.hub.MaxPayload
		}
		l.mu.Unlock()
	}
	return m
}
