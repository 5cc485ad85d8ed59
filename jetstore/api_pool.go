package jetstore

import (
	"runtime"
	"strings"
	"sync"

	"github.com/wrenmq/wren/protocol"
)

// API requests are served by a bounded pool of workers, so one client
// looping on a slow request cannot hold up everybody else's. Two lanes
// share it: cheap read-only requests (INFO, STREAM.INFO, CONSUMER.INFO,
// NAMES, LIST) have workers of their own, so a stream's info answers at
// once even while every general worker is busy. Workers start when
// requests arrive and end when their lane is empty: an idle stream layer
// runs none.
const (
	// defaultRequestQueueLimit bounds the requests waiting in each lane
	// unless Config.RequestQueueLimit says otherwise; beyond it a request
	// is answered 503 at once instead of waiting. nats-server allows
	// 10,000; a gateway holds fewer copies of requests of up to
	// max_request_size each.
	defaultRequestQueueLimit = 4096
	// apiInfoWorkers serve the info lane.
	apiInfoWorkers = 2
)

// apiWorkers is how many general workers may run at once: enough to keep
// the cores busy while some wait on a stream's writer, few enough that a
// flood of requests cannot crowd out the streams themselves.
func apiWorkers() int {
	return min(max(4, 2*runtime.GOMAXPROCS(0)), 16)
}

// apiLane is one queue of requests and the workers draining it. The queue
// grows with what waits and is let go once drained, so an idle lane holds
// no memory, whatever its limit.
type apiLane struct {
	max   int // workers
	limit int // queued requests
	work  func(m *protocol.Msg)

	mu      sync.Mutex
	q       []*protocol.Msg
	head    int // q[head:] waits
	running int
	closed  bool
	wg      sync.WaitGroup
}

func newAPILane(workers, limit int, work func(m *protocol.Msg)) *apiLane {
	return &apiLane{max: workers, limit: limit, work: work}
}

// push queues m and makes sure a worker will take it. It reports false
// when the lane is full or closed; m is then not queued.
func (l *apiLane) push(m *protocol.Msg) bool {
	l.mu.Lock()
	if l.closed || len(l.q)-l.head >= l.limit {
		l.mu.Unlock()
		return false
	}
	l.q = append(l.q, m)
	if l.running < l.max {
		l.running++
		l.wg.Add(1)
		go l.serve()
	}
	l.mu.Unlock()
	return true
}

// pop takes the oldest queued request. mu is held.
func (l *apiLane) pop() (*protocol.Msg, bool) {
	if l.head == len(l.q) {
		l.q, l.head = nil, 0
		return nil, false
	}
	m := l.q[l.head]
	l.q[l.head] = nil
	l.head++
	if l.head >= 1024 && l.head*2 >= len(l.q) {
		// Slide what waits to the front, so a lane that never drains
		// does not keep what it served.
		n := copy(l.q, l.q[l.head:])
		clear(l.q[n:])
		l.q, l.head = l.q[:n], 0
	}
	return m, true
}

// serve takes requests until the lane is empty. The check that ends it is
// made under mu, as push's check of running is, so a request queued as it
// ends always finds a worker.
func (l *apiLane) serve() {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		m, ok := l.pop()
		if !ok || l.closed {
			l.running--
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.work(m)
	}
}

// queued returns how many requests wait.
func (l *apiLane) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.q) - l.head
}

// close refuses new requests, drops the queued ones and waits for the
// running ones to finish.
func (l *apiLane) close() {
	l.mu.Lock()
	l.closed = true
	l.q, l.head = nil, 0
	l.mu.Unlock()
	l.wg.Wait()
}

// infoRequest reports whether subject is a read-only request cheap enough
// for the info lane.
func infoRequest(subject []byte) bool {
	op, ok := strings.CutPrefix(string(subject), apiPrefix)
	if !ok {
		return false
	}
	switch {
	case op == "INFO",
		strings.HasPrefix(op, "STREAM.INFO."),
		op == "STREAM.NAMES", op == "STREAM.LIST",
		strings.HasPrefix(op, "CONSUMER.INFO."),
		strings.HasPrefix(op, "CONSUMER.NAMES."),
		strings.HasPrefix(op, "CONSUMER.LIST."):
		return true
	}
	return false
}

// directMiss answers, on the requester's goroutine, a direct get by
// subject for a literal subject the stream does not hold: the subject
// index says so without reading the store, so there is nothing to hand
// off. It reports whether it answered; every other request goes to the
// pool.
func (js *JetStream) directMiss(m *protocol.Msg) bool {
	rest, ok := strings.CutPrefix(string(m.Subject), apiPrefix+"DIRECT.GET.")
	if !ok || len(m.Data) > 0 {
		return false
	}
	name, subj, ok := strings.Cut(rest, ".")
	if !ok || subj == "" || protocol.IsFilter(subj) {
		return false
	}
	st := js.lookup(name)
	if st == nil {
		return false
	}
	st.mu.RLock()
	miss := st.config.AllowDirect && st.subjects[subj] == nil
	st.mu.RUnlock()
	if !miss {
		return false
	}
	js.apiTotal.Add(1)
	hdr := protocol.AppendHeaderEnd(protocol.AppendHeaderStart(nil, 404, "Message Not Found"))
	js.bus.Publish(string(m.Reply), "", hdr, nil)
	return true
}
