package main

import (
	"net/url"
	"strconv"
	"time"

	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/jetstore"
	"github.com/wrenmq/wren/server"
	"github.com/wrenmq/wren/server/leaf"
)

// remoteLabels names each configured remote for /metrics: the host:port
// of its first URL (never its credentials), with "#n" added when two
// remotes share it, so the label set is fixed by the configuration.
func remoteLabels(l conf.Leafnodes) []string {
	out := make([]string, len(l.Remotes))
	seen := map[string]bool{}
	for i, rc := range l.Remotes {
		name := "remote" + strconv.Itoa(i)
		if len(rc.URLs) > 0 {
			if u, err := url.Parse(rc.URLs[0]); err == nil && u.Host != "" {
				name = u.Host
			}
		}
		if seen[name] {
			name += "#" + strconv.Itoa(i)
		}
		seen[name] = true
		out[i] = name
	}
	return out
}

// uplinkMetrics writes the uplink's series for /metrics: per remote link
// (label remote) its state, reconnects, round-trip time and traffic; per
// forward (labels stream, hub_stream) its cursor, backlog, progress and
// error state; per pull its progress and error state.
func (u *uplink) metrics(l conf.Leafnodes) func(*server.PromWriter) {
	names := remoteLabels(l)
	return func(w *server.PromWriter) {
		z := u.node.Leafz(false)
		links := z.Leafs
		if len(links) > len(names) {
			links = links[:len(names)]
		}
		w.One("wren_leaf_links_connected", server.PromGauge, "Links to hubs that are up.", float64(z.NumLeafs))
		type lseries struct {
			name, typ, help string
			v               func(li *leaf.LeafInfo) float64
		}
		for _, f := range []lseries{
			{"wren_leaf_connected", server.PromGauge, "1 while the link to the remote is up, else 0.", func(li *leaf.LeafInfo) float64 { return b2f(li.Connected) }},
			{"wren_leaf_reconnects_total", server.PromCounter, "Times the link to the remote went down after it had been up, each followed by a reconnect.", func(li *leaf.LeafInfo) float64 { return float64(li.Reconnects) }},
			{"wren_leaf_failed_connects", server.PromGauge, "Failed attempts in a row to reach the remote since its link was last up; 0 while it is up.", func(li *leaf.LeafInfo) float64 {
				if li.Connected {
					return 0
				}
				return float64(li.FailedConnects)
			}},
			{"wren_leaf_rtt_seconds", server.PromGauge, "Round-trip time of the link's last answered PING; 0 while it is down or before the first answer.", func(li *leaf.LeafInfo) float64 {
				d, err := time.ParseDuration(li.RTT)
				if err != nil || !li.Connected {
					return 0
				}
				return d.Seconds()
			}},
			{"wren_leaf_in_messages_total", server.PromCounter, "Messages received from the hub over the current link.", func(li *leaf.LeafInfo) float64 { return float64(li.InMsgs) }},
			{"wren_leaf_out_messages_total", server.PromCounter, "Messages sent to the hub over the current link.", func(li *leaf.LeafInfo) float64 { return float64(li.OutMsgs) }},
			{"wren_leaf_in_bytes_total", server.PromCounter, "Payload bytes received from the hub over the current link.", func(li *leaf.LeafInfo) float64 { return float64(li.InBytes) }},
			{"wren_leaf_out_bytes_total", server.PromCounter, "Payload bytes sent to the hub over the current link.", func(li *leaf.LeafInfo) float64 { return float64(li.OutBytes) }},
		} {
			w.Family(f.name, f.typ, f.help)
			for i := range links {
				w.Sample(f.name, f.v(&links[i]), "remote", names[i])
			}
		}

		fw, pulls := u.statuses()
		type fseries struct {
			name, typ, help string
			v               func(s *jetstore.ForwardStatus) float64
		}
		for _, f := range []fseries{
			{"wren_forward_connected", server.PromGauge, "1 while the hub's last acknowledgement is newer than the forward's last error, else 0.", func(s *jetstore.ForwardStatus) float64 { return b2f(s.Connected) }},
			{"wren_forward_cursor_sequence", server.PromGauge, "Sequence of the last local message the hub acknowledged.", func(s *jetstore.ForwardStatus) float64 { return float64(s.Cursor) }},
			{"wren_forward_waiting_messages", server.PromGauge, "Local messages not yet acknowledged by the hub.", func(s *jetstore.ForwardStatus) float64 { return float64(s.Waiting) }},
			{"wren_forward_waiting_bytes", server.PromGauge, "Bytes of the local messages not yet acknowledged by the hub.", func(s *jetstore.ForwardStatus) float64 { return float64(s.WaitingBytes) }},
			{"wren_forward_in_flight_messages", server.PromGauge, "Messages sent to the hub and awaiting its acknowledgement.", func(s *jetstore.ForwardStatus) float64 { return float64(s.InFlight) }},
			{"wren_forward_forwarded_messages_total", server.PromCounter, "Messages the hub acknowledged since the server started.", func(s *jetstore.ForwardStatus) float64 { return float64(s.Forwarded) }},
			{"wren_forward_duplicates_total", server.PromCounter, "Messages the hub acknowledged as duplicates of ones it held.", func(s *jetstore.ForwardStatus) float64 { return float64(s.Duplicates) }},
			{"wren_forward_resends_total", server.PromCounter, "Messages sent again after their acknowledgement did not arrive.", func(s *jetstore.ForwardStatus) float64 { return float64(s.Resends) }},
			{"wren_forward_over_max_payload_total", server.PromCounter, "Messages found larger than the hub's max_payload; the forward stops at such a one until the limit allows it.", func(s *jetstore.ForwardStatus) float64 { return float64(s.OverMaxPayload) }},
			{"wren_forward_dropped_total", server.PromCounter, "Messages removed from the local stream before the hub had them.", func(s *jetstore.ForwardStatus) float64 { return float64(s.Dropped) }},
			{"wren_forward_error", server.PromGauge, "1 while the forward's last error is newer than the hub's last acknowledgement, else 0.", func(s *jetstore.ForwardStatus) float64 { return b2f(s.LastError != "" && !s.Connected) }},
		} {
			w.Family(f.name, f.typ, f.help)
			for i := range fw {
				w.Sample(f.name, f.v(&fw[i]), "hub_stream", fw[i].HubStream, "stream", fw[i].Stream)
			}
		}
		if len(pulls) == 0 {
			return
		}
		w.Family("wren_pull_stored_messages_total", server.PromCounter, "Hub messages a pull stored in its local stream.")
		for _, p := range pulls {
			w.Sample("wren_pull_stored_messages_total", float64(p.Stored), "hub_stream", p.HubStream, "stream", p.Stream)
		}
		w.Family("wren_pull_error", server.PromGauge, "1 while the pull's last attempt failed, else 0.")
		for _, p := range pulls {
			w.Sample("wren_pull_error", b2f(p.LastError != ""), "hub_stream", p.HubStream, "stream", p.Stream)
		}
	}
}

// statuses is the forwards' and pulls' state.
func (u *uplink) statuses() ([]jetstore.ForwardStatus, []jetstore.PullStatus) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fw := make([]jetstore.ForwardStatus, 0, len(u.forwards))
	for _, f := range u.forwards {
		fw = append(fw, f.Status())
	}
	pl := make([]jetstore.PullStatus, 0, len(u.pulls))
	for _, p := range u.pulls {
		pl = append(pl, p.Status())
	}
	return fw, pl
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
