package jetstore

import (
	"encoding/json"
	"sync/atomic"
	"time"
)

// A request the API pool's queue cannot take (request_queue_limit, or
// info_queue_limit for the info lane) is answered at once with 503,
// err_code 10008, "JetStream system temporarily unavailable". nats-server
// answers nothing in that case: it drops every queued request, which
// their clients see as timeouts. What it also does, so does the stream
// layer: a warning in the log and an advisory on
// $JS.EVENT.ADVISORY.API.LIMIT_REACHED with how many requests were
// refused. Both are sent at most once a second while requests are
// refused, with the count of that second; nothing runs otherwise.

const (
	subjAPILimitReached = "$JS.EVENT.ADVISORY.API.LIMIT_REACHED"
	typeAPILimitReached = "io.nats.jetstream.advisory.v1.api_limit_reached"
	apiLimitReport      = time.Second
)

type apiLimitAdvisory struct {
	Type    string    `json:"type"`
	ID      string    `json:"id"`
	Time    time.Time `json:"timestamp"`
	Dropped int64     `json:"dropped"`
}

// apiDrops counts refused requests until the next report.
type apiDrops struct {
	n     atomic.Int64
	armed atomic.Bool
}

// apiLimitReached counts a refused request and makes sure it is
// reported.
func (js *JetStream) apiLimitReached() {
	js.drops.n.Add(1)
	if js.drops.armed.CompareAndSwap(false, true) {
		time.AfterFunc(apiLimitReport, js.reportAPIDrops)
	}
}

// reportAPIDrops logs and advises the requests refused since the last
// report.
func (js *JetStream) reportAPIDrops() {
	js.drops.armed.Store(false)
	n := js.drops.n.Swap(0)
	if n == 0 {
		return
	}
	js.log.Warn("JetStream API request queue full: requests refused with 503",
		"refused", n, "request_queue_limit", js.lim.requestQueue, "info_queue_limit", js.lim.infoQueue)
	b, err := json.Marshal(&apiLimitAdvisory{Type: typeAPILimitReached, ID: newID(), Time: time.Now().UTC(), Dropped: n})
	if err == nil {
		js.bus.Publish(subjAPILimitReached, "", nil, b)
	}
}
