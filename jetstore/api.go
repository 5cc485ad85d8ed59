package jetstore

import (
	"encoding/json"
	"runtime/debug"
	"strings"

	"github.com/wrenmq/wren/protocol"
)

// apiPrefix is where the JetStream API lives on the bus.
const apiPrefix = "$JS.API."

// onAPI runs on the publisher's goroutine: it only queues the request, in
// the info lane or the general one. A request the lanes cannot take is
// answered 503 at once.
func (js *JetStream) onAPI(m *protocol.Msg) {
	if len(m.Reply) == 0 {
		return // nobody to answer
	}
	if limit := js.lim.maxRequestSize; limit > 0 && len(m.Data) > limit {
		js.apiTotal.Add(1)
		js.fail(string(m.Reply), errRequestTooLarge(len(m.Data), limit))
		return
	}
	if js.directMiss(m) || js.serveNextInline(m) {
		return
	}
	lane := js.api
	if infoRequest(m.Subject) {
		lane = js.apiInfo
	}
	if !lane.push(m.Clone()) {
		js.apiTotal.Add(1)
		js.fail(string(m.Reply), errUnavailable())
		js.apiLimitReached()
	}
}

// serveAPI serves one queued request on a worker of the pool.
func (js *JetStream) serveAPI(m *protocol.Msg) {
	js.apiTotal.Add(1)
	js.dispatch(m)
}

// dispatch routes one API request by its subject. A request that makes a
// handler panic is answered with an error and logged with its stack; the
// daemon keeps running.
func (js *JetStream) dispatch(m *protocol.Msg) {
	subject := string(m.Subject)
	reply := string(m.Reply)
	defer func() {
		if r := recover(); r != nil {
			js.log.Error("API request failed", "subject", subject, "panic", r, "stack", string(debug.Stack()))
			js.fail(reply, errInternal())
		}
	}()
	op := strings.TrimPrefix(subject, apiPrefix)
	tok := strings.Split(op, ".")
	arg := func(i int) string {
		if i < len(tok) {
			return tok[i]
		}
		return ""
	}
	switch {
	case op == "INFO":
		js.apiAccountInfo(reply)
	case arg(0) == "STREAM":
		switch {
		case arg(1) == "CREATE" && len(tok) == 3:
			js.apiStreamCreate(reply, arg(2), m.Data)
		case arg(1) == "UPDATE" && len(tok) == 3:
			js.apiStreamUpdate(reply, arg(2), m.Data)
		case arg(1) == "INFO" && len(tok) == 3:
			js.apiStreamInfo(reply, arg(2), m.Data)
		case arg(1) == "DELETE" && len(tok) == 3:
			js.apiStreamDelete(reply, arg(2))
		case arg(1) == "PURGE" && len(tok) == 3:
			js.apiStreamPurge(reply, arg(2), m.Data)
		case arg(1) == "NAMES" && len(tok) == 2:
			js.apiStreamNames(reply, m.Data)
		case arg(1) == "LIST" && len(tok) == 2:
			js.apiStreamList(reply, m.Data)
		case arg(1) == "MSG" && arg(2) == "GET" && len(tok) == 4:
			js.apiMsgGet(reply, arg(3), m.Data)
		case arg(1) == "MSG" && arg(2) == "DELETE" && len(tok) == 4:
			js.apiMsgDelete(reply, arg(3), m.Data)
		default:
			js.fail(reply, errUnknownAPI(subject))
		}
	case arg(0) == "DIRECT" && arg(1) == "GET" && len(tok) >= 3:
		subj := ""
		if len(tok) > 3 {
			subj = strings.Join(tok[3:], ".")
		}
		js.apiDirectGet(reply, subject, arg(2), subj, m.Data)
	case arg(0) == "CONSUMER":
		js.consumerAPI(m, tok)
	default:
		js.fail(reply, errUnknownAPI(subject))
	}
}

// respond sends v as a JSON reply.
func (js *JetStream) respond(reply string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		js.log.Error("encode API response", "error", err)
		return
	}
	if err := js.bus.Publish(reply, "", nil, b); err != nil {
		js.log.Debug("send API response", "error", err)
	}
}

// fail sends an error-only response.
func (js *JetStream) fail(reply string, e *APIError) {
	js.apiErrors.Add(1)
	js.respond(reply, &apiResponse{Error: e})
}

// decode unmarshals an optional JSON request body.
func decode(data []byte, v any) *APIError {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errInvalidJSON(err)
	}
	return nil
}

// apiAccountInfo answers $JS.API.INFO.
func (js *JetStream) apiAccountInfo(reply string) {
	st := js.Stats()
	ai := accountInfo{
		Type:      typeAccountInfo,
		Store:     js.storageUsed(),
		Memory:    js.memoryUsed(),
		Streams:   st.Streams,
		Consumers: st.Consumers,
		Limits: accountLimits{
			MaxMemory:    -1,
			MaxStore:     -1,
			MaxStreams:   -1,
			MaxConsumers: -1,
		},
		API: apiStats{Level: apiLevel, Total: js.apiTotal.Load(), Errors: js.apiErrors.Load()},
	}
	if js.lim.maxFile > 0 {
		ai.Limits.MaxStore = js.lim.maxFile
	}
	if js.lim.maxMemory > 0 {
		ai.Limits.MaxMemory = js.lim.maxMemory
	}
	if js.lim.maxStreams > 0 {
		ai.Limits.MaxStreams = js.lim.maxStreams
	}
	if js.lim.maxConsumers > 0 {
		ai.Limits.MaxConsumers = js.lim.maxConsumers
	}
	if js.lim.maxAckPending > 0 {
		ai.Limits.MaxAckPending = js.lim.maxAckPending
	}
	js.respond(reply, &ai)
}
