package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// apiErrCode returns the JetStream err_code carried by err, or 0.
func apiErrCode(err error) jetstream.ErrorCode {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode
	}
	return 0
}

// wantAPIErr fails unless err carries the JetStream error code want.
func wantAPIErr(t testing.TB, what string, err error, want jetstream.ErrorCode) {
	t.Helper()
	if got := apiErrCode(err); got != want {
		t.Fatalf("%s: err = %v (err_code %d); want err_code %d", what, err, got, want)
	}
}

// mustCreate creates a stream and fails the test on error.
func mustCreate(t testing.TB, js jetstream.JetStream, cfg jetstream.StreamConfig) jetstream.Stream {
	t.Helper()
	s, err := js.CreateStream(jsCtx(t), cfg)
	if err != nil {
		t.Fatalf("CreateStream(%s): %v", cfg.Name, err)
	}
	return s
}

// mustPublish publishes and fails the test unless the ack has seq want
// (want 0 accepts any sequence).
func mustPublish(t testing.TB, js jetstream.JetStream, subject, data string, want uint64, opts ...jetstream.PublishOpt) *jetstream.PubAck {
	t.Helper()
	ack, err := js.Publish(jsCtx(t), subject, []byte(data), opts...)
	if err != nil {
		t.Fatalf("Publish(%s, %q): %v", subject, data, err)
	}
	if want != 0 && ack.Sequence != want {
		t.Fatalf("Publish(%s, %q) seq = %d; want %d", subject, data, ack.Sequence, want)
	}
	return ack
}

// mustInfo returns a stream's info.
func mustInfo(t testing.TB, s jetstream.Stream, opts ...jetstream.StreamInfoOpt) *jetstream.StreamInfo {
	t.Helper()
	info, err := s.Info(jsCtx(t), opts...)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	return info
}

// stateSummary is the part of a stream's state the tests compare.
type stateSummary struct {
	Msgs, FirstSeq, LastSeq uint64
	NumSubjects             uint64
	NumDeleted              int
}

func summarize(st jetstream.StreamState) stateSummary {
	return stateSummary{
		Msgs: st.Msgs, FirstSeq: st.FirstSeq, LastSeq: st.LastSeq,
		NumSubjects: st.NumSubjects, NumDeleted: st.NumDeleted,
	}
}

// wantState fails unless the stream's state summary is want.
func wantState(t testing.TB, s jetstream.Stream, want stateSummary) *jetstream.StreamInfo {
	t.Helper()
	info := mustInfo(t, s)
	if got := summarize(info.State); got != want {
		t.Fatalf("stream %s state = %+v; want %+v", info.Config.Name, got, want)
	}
	return info
}

// waitState polls the stream's info until its summary is want.
func waitState(t testing.TB, s jetstream.Stream, want stateSummary) {
	t.Helper()
	waitUntil(t, func() error {
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if got := summarize(info.State); got != want {
			return fmt.Errorf("state = %+v; want %+v", got, want)
		}
		return nil
	})
}

// apiResult is the generic shape of a JetStream API response.
type apiResult struct {
	Error *jetstream.APIError `json:"error"`
	Total int                 `json:"total"`
	Limit int                 `json:"limit"`
	raw   []byte
}

// rawAPI sends body to $JS.API.<op> and decodes the reply.
func rawAPI(t testing.TB, nc *nats.Conn, op string, body any) apiResult {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	m, err := nc.Request("$JS.API."+op, b, defaultReqTimeout)
	if err != nil {
		t.Fatalf("request $JS.API.%s: %v", op, err)
	}
	r := apiResult{raw: m.Data}
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("$JS.API.%s reply %q: %v", op, m.Data, err)
	}
	return r
}

// code returns the response's err_code, or 0 on success.
func (r apiResult) code() jetstream.ErrorCode {
	if r.Error == nil {
		return 0
	}
	return r.Error.ErrorCode
}

// defaultReqTimeout bounds a raw request in these tests.
const defaultReqTimeout = 5 * time.Second

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }

// natsMsg builds a message with header fields given as key, value pairs.
func natsMsg(subject, data string, kv ...string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Data = []byte(data)
	for i := 0; i+1 < len(kv); i += 2 {
		m.Header.Add(kv[i], kv[i+1])
	}
	return m
}
