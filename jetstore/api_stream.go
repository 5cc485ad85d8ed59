package jetstore

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
	"github.com/wrenmq/wren/protocol"
)

// apiPageSize is how many entries a NAMES or LIST response holds.
const apiPageSize = 256

// maxStreamSubjects bounds the subjects a create or update may give: each
// is checked against every other, on the loop that serves the whole API.
// Streams stored with more still load.
const maxStreamSubjects = 1000

// streamRequest decodes and checks the configuration in a stream create
// or update request for the stream named in the subject.
func streamRequest(name string, data []byte) (StreamConfig, *APIError) {
	var req StreamConfig
	if e := decode(data, &req); e != nil {
		return req, e
	}
	if req.Name == "" {
		req.Name = name
	}
	if req.Name != name {
		return req, errStreamMismatch()
	}
	if len(req.Subjects) > maxStreamSubjects {
		return req, errStreamConfig("a stream can have at most %d subjects", maxStreamSubjects)
	}
	return normalize(req)
}

func (js *JetStream) apiStreamCreate(reply, name string, data []byte) {
	cfg, e := streamRequest(name, data)
	if e != nil {
		js.fail(reply, e)
		return
	}
	st, existed, e := js.addStream(name, cfg)
	if e != nil {
		js.fail(reply, e)
		return
	}
	if existed {
		js.respond(reply, st.info(typeStreamCreate, nil))
		return
	}
	if err := st.start(); err != nil {
		js.fail(reply, errStreamCreate(err))
		return
	}
	js.log.Info("stream created", "stream", name, "subjects", cfg.Subjects, "storage", cfg.Storage)
	js.respond(reply, st.info(typeStreamCreate, nil))
}

// addStream creates and registers a new stream, or returns the existing
// one when it has the same configuration. The lock is released by defer,
// so a panic recovered by dispatch cannot leave it held.
func (js *JetStream) addStream(name string, cfg StreamConfig) (st *stream, existed bool, e *APIError) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.closed {
		return nil, false, errUnavailable()
	}
	if st := js.streams[name]; st != nil {
		if sameConfig(st.cfg(), cfg) {
			return st, true, nil
		}
		return nil, false, errStreamNameExist()
	}
	if js.lim.maxStreams > 0 && len(js.streams) >= js.lim.maxStreams {
		return nil, false, errMaxStreams()
	}
	if e := js.checkOverlap(name, cfg.Subjects); e != nil {
		return nil, false, e
	}
	if e := js.checkStreamLimits(name, cfg); e != nil {
		return nil, false, e
	}
	st, err := createStream(js, cfg)
	if err != nil {
		js.log.Error("create stream", "stream", name, "error", err)
		return nil, false, errStreamCreate(clientError(err))
	}
	js.streams[name] = st
	js.publishStreams()
	return st, false, nil
}

// checkOverlap reports a clash between subjects and another stream's.
// js.mu is held.
func (js *JetStream) checkOverlap(name string, subjects []string) *APIError {
	for other, st := range js.streams {
		if other == name {
			continue
		}
		for _, a := range st.cfg().Subjects {
			for _, b := range subjects {
				if protocol.Overlap(a, b) {
					return errSubjectOverlap()
				}
			}
		}
	}
	return nil
}

// checkStreamUpdate finds the stream and checks that it may take cfg.
func (js *JetStream) checkStreamUpdate(name string, cfg StreamConfig) (*stream, StreamConfig, *APIError) {
	js.mu.RLock()
	defer js.mu.RUnlock()
	st := js.streams[name]
	if st == nil {
		return nil, StreamConfig{}, errStreamNotFound()
	}
	old := st.cfg()
	if err := checkUpdate(old, cfg); err != nil {
		return nil, old, errStreamConfig("%s", err)
	}
	if e := js.checkOverlap(name, cfg.Subjects); e != nil {
		return nil, old, e
	}
	if e := js.checkStreamLimits(name, cfg); e != nil {
		return nil, old, e
	}
	return st, old, nil
}

func (js *JetStream) apiStreamUpdate(reply, name string, data []byte) {
	cfg, e := streamRequest(name, data)
	if e != nil {
		js.fail(reply, e)
		return
	}
	if cur := js.lookup(name); cur != nil {
		keepDeadLetter(&cfg, cur.cfg(), data)
	}
	st, old, e := js.checkStreamUpdate(name, cfg)
	if e != nil {
		js.fail(reply, e)
		return
	}
	var uerr error
	// Requests run concurrently: the stream may have been deleted since
	// it was looked up, and then its writer runs nothing more.
	ran := st.do(func() {
		st.mu.Lock()
		st.config = cfg
		st.mu.Unlock()
		if err := st.saveMeta(); err != nil {
			uerr = err
			st.mu.Lock()
			st.config = old
			st.mu.Unlock()
			return
		}
		if fmt.Sprint(old.Subjects) != fmt.Sprint(cfg.Subjects) {
			if err := st.resubscribe(cfg.Subjects); err != nil {
				uerr = err
			}
		}
		if cfg.MaxMsgsPerSubject > 0 && (old.MaxMsgsPerSubject <= 0 || cfg.MaxMsgsPerSubject < old.MaxMsgsPerSubject) {
			st.trimAllSubjects(uint64(cfg.MaxMsgsPerSubject))
		}
		st.trimFront(cfg)
		st.notifyConsumers()
	})
	if !ran {
		js.fail(reply, errStreamNotFound())
		return
	}
	if uerr != nil {
		js.log.Error("update stream", "stream", name, "error", uerr)
		js.fail(reply, errStreamUpdate(clientError(uerr)))
		return
	}
	js.log.Info("stream updated", "stream", name)
	js.respond(reply, st.info(typeStreamUpdate, nil))
}

func (js *JetStream) apiStreamInfo(reply, name string, data []byte) {
	var req streamInfoRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	st := js.lookup(name)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	js.respond(reply, st.info(typeStreamInfo, &req))
}

// info builds the stream's StreamInfo.
func (st *stream) info(typ string, req *streamInfoRequest) *StreamInfo {
	state := st.store.State()
	st.mu.RLock()
	si := &StreamInfo{
		Type:    typ,
		Config:  st.config,
		Created: st.created,
		TS:      time.Now().UTC(),
		State: StreamState{
			Msgs:        state.Msgs,
			Bytes:       state.Bytes,
			FirstSeq:    state.FirstSeq,
			LastSeq:     state.LastSeq,
			NumDeleted:  state.NumDeleted,
			NumSubjects: len(st.subjects),
			Consumers:   len(st.consumers),
		},
	}
	if req != nil && req.SubjectsFilter != "" {
		si.State.Subjects = make(map[string]uint64)
		for s, ss := range st.subjects {
			if protocol.MatchLiteral(s, req.SubjectsFilter) {
				si.State.Subjects[s] = ss.msgs
			}
		}
	}
	st.mu.RUnlock()
	if state.LastSeq == 0 && state.Msgs == 0 {
		si.State.FirstSeq = 0 // a stream that never held a message, as nats-server shows it
	}
	if state.FirstTime != 0 {
		si.State.FirstTime = time.Unix(0, state.FirstTime).UTC()
	}
	if state.LastTime != 0 {
		si.State.LastTime = time.Unix(0, state.LastTime).UTC()
	}
	if req != nil && req.DeletedDetails && state.NumDeleted > 0 {
		next := state.FirstSeq
		st.store.Scan(state.FirstSeq, func(m store.StoredMsg) bool {
			for ; next < m.Seq; next++ {
				si.State.Deleted = append(si.State.Deleted, next)
			}
			next = m.Seq + 1
			return true
		})
	}
	return si
}

func (js *JetStream) apiStreamDelete(reply, name string) {
	st := js.removeStream(name)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	st.close()
	if err := js.trashStream(st.dir); err != nil {
		js.log.Error("delete stream", "stream", name, "error", err)
		js.fail(reply, errStreamDelete(clientError(err)))
		return
	}
	js.log.Info("stream deleted", "stream", name)
	js.respond(reply, &apiResponse{Type: typeStreamDelete, Success: true})
}

func (js *JetStream) apiStreamPurge(reply, name string, data []byte) {
	var req streamPurgeRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	st := js.lookup(name)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	cfg := st.cfg()
	if cfg.DenyPurge {
		js.fail(reply, errPurgeDenied())
		return
	}
	if req.Subject != "" && !protocol.ValidFilter(req.Subject) {
		js.fail(reply, errBadRequest("invalid purge filter"))
		return
	}
	if req.Sequence > 0 && req.Keep > 0 {
		js.fail(reply, errBadRequest("sequence and keep can not both be set"))
		return
	}
	var n uint64
	var err error
	if !st.do(func() {
		n, err = st.purge(req)
		st.notifyConsumers()
	}) {
		js.fail(reply, errStreamNotFound())
		return
	}
	if err != nil {
		js.fail(reply, errStreamPurge(err))
		return
	}
	js.respond(reply, &streamPurgeResponse{Type: typeStreamPurge, Success: true, Purged: n})
}

// removeStream takes the named stream out of the map and returns it.
func (js *JetStream) removeStream(name string) *stream {
	js.mu.Lock()
	defer js.mu.Unlock()
	st := js.streams[name]
	delete(js.streams, name)
	js.publishStreams()
	return st
}

// streamsFor returns the streams a NAMES or LIST request covers.
func (js *JetStream) streamsFor(req listRequest) []*stream {
	all := js.sortedStreams()
	if req.Subject == "" {
		return all
	}
	var out []*stream
	for _, st := range all {
		for _, s := range st.cfg().Subjects {
			if protocol.Overlap(s, req.Subject) {
				out = append(out, st)
				break
			}
		}
	}
	return out
}

func page[T any](list []T, offset int) []T {
	if offset < 0 || offset >= len(list) {
		return nil
	}
	list = list[offset:]
	if len(list) > apiPageSize {
		list = list[:apiPageSize]
	}
	return list
}

func (js *JetStream) apiStreamNames(reply string, data []byte) {
	var req listRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	list := js.streamsFor(req)
	resp := streamNamesResponse{Type: typeStreamNames, Total: len(list), Offset: req.Offset, Limit: apiPageSize, Streams: []string{}}
	for _, st := range page(list, req.Offset) {
		resp.Streams = append(resp.Streams, st.name)
	}
	js.respond(reply, &resp)
}

func (js *JetStream) apiStreamList(reply string, data []byte) {
	var req listRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	list := js.streamsFor(req)
	resp := streamListResponse{Type: typeStreamList, Total: len(list), Offset: req.Offset, Limit: apiPageSize, Streams: []*StreamInfo{}}
	for _, st := range page(list, req.Offset) {
		resp.Streams = append(resp.Streams, st.info("", nil))
	}
	js.respond(reply, &resp)
}

// findMsg looks a message up as a get request asks.
func (st *stream) findMsg(req msgGetRequest) (store.StoredMsg, *APIError) {
	switch {
	case req.Seq > 0 && req.NextFor == "" && req.LastFor == "":
		m, err := st.store.Load(req.Seq)
		if err != nil {
			return m, errNoMessage()
		}
		return m, nil
	case req.LastFor != "":
		best := st.lastBySubject(req.LastFor)
		if best == 0 {
			return store.StoredMsg{}, errNoMessage()
		}
		m, err := st.store.Load(best)
		if err != nil {
			return m, errNoMessage()
		}
		return m, nil
	case req.NextFor != "":
		m, ok := st.nextBySubject(req.NextFor, max(req.Seq, st.store.State().FirstSeq))
		if !ok {
			return m, errNoMessage()
		}
		return m, nil
	}
	return store.StoredMsg{}, errBadRequest("request must give seq, last_by_subj or next_by_subj")
}

func (js *JetStream) apiMsgGet(reply, name string, data []byte) {
	var req msgGetRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	st := js.lookup(name)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	m, e := st.findMsg(req)
	if e != nil {
		js.fail(reply, e)
		return
	}
	js.respond(reply, &msgGetResponse{Type: typeMsgGet, Message: &storedMsgJSON{
		Subject: m.Subject, Sequence: m.Seq, Header: m.Header, Data: m.Data, Time: time.Unix(0, m.Time).UTC(),
	}})
}

func (js *JetStream) apiMsgDelete(reply, name string, data []byte) {
	var req msgDeleteRequest
	if e := decode(data, &req); e != nil {
		js.fail(reply, e)
		return
	}
	st := js.lookup(name)
	if st == nil {
		js.fail(reply, errStreamNotFound())
		return
	}
	if st.cfg().DenyDelete {
		js.fail(reply, errMsgDeleteDenied())
		return
	}
	var n uint64
	var err error
	if !st.do(func() { n, err = st.deleteSeqs([]uint64{req.Seq}) }) {
		js.fail(reply, errStreamNotFound())
		return
	}
	switch {
	case err != nil:
		js.fail(reply, errMsgDelete(err))
	case n == 0:
		js.fail(reply, errMsgDelete(errors.New("no message found")))
	default:
		js.respond(reply, &apiResponse{Type: typeMsgDelete, Success: true})
	}
}

// apiDirectGet answers a direct get: the message itself, with headers
// saying where it came from, or a 404 status.
func (js *JetStream) apiDirectGet(reply, subject, name, lastFor string, data []byte) {
	st := js.lookup(name)
	var req msgGetRequest
	var m store.StoredMsg
	var e *APIError
	if st == nil || !st.cfg().AllowDirect {
		// nats-server subscribes to a stream's direct get subject only
		// while allow_direct is on, so the requester hears that nobody
		// answers.
		js.noResponders(reply, subject)
		return
	}
	switch {
	case lastFor != "":
		if len(data) > 0 {
			e = errBadRequest("a direct get by subject takes no body")
			break
		}
		m, e = st.findMsg(msgGetRequest{LastFor: lastFor})
	default:
		if e = decode(data, &req); e == nil {
			m, e = st.findMsg(req)
		}
	}
	if e != nil {
		code, desc := 404, "Message Not Found"
		if e.Code == 400 {
			code, desc = 400, e.Description
		}
		hdr := protocol.AppendHeaderEnd(protocol.AppendHeaderStart(nil, code, desc))
		js.bus.Publish(reply, "", hdr, nil)
		return
	}
	hdr := protocol.AppendHeaderStart(nil, 0, "")
	hdr = protocol.AppendHeaderField(hdr, "Nats-Stream", name)
	hdr = protocol.AppendHeaderField(hdr, "Nats-Subject", m.Subject)
	hdr = protocol.AppendHeaderField(hdr, "Nats-Sequence", strconv.FormatUint(m.Seq, 10))
	hdr = protocol.AppendHeaderField(hdr, "Nats-Time-Stamp", time.Unix(0, m.Time).UTC().Format(time.RFC3339Nano))
	protocol.HeaderFields(m.Header, func(k, v []byte) bool {
		hdr = protocol.AppendHeaderField(hdr, string(k), string(v))
		return true
	})
	hdr = protocol.AppendHeaderEnd(hdr)
	js.bus.Publish(reply, "", hdr, m.Data)
}

// noResponders sends reply the 503 status a publisher that opted in gets
// when nothing subscribes to subject.
func (js *JetStream) noResponders(reply, subject string) {
	hdr := protocol.AppendHeaderStart(nil, 503, "")
	hdr = protocol.AppendHeaderField(hdr, "Nats-Subject", subject)
	js.bus.Publish(reply, "", protocol.AppendHeaderEnd(hdr), nil)
}
