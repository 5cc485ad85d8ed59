package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// hostileValues are JSON values that do not belong where the mutator puts
// them: wrong types, out-of-range and negative numbers, nulls, nesting.
var hostileValues = []string{
	`null`, `-1`, `0`, `1`, `-0`, `1.5`, `1e309`, `-1e309`, `1e-400`,
	`9223372036854775807`, `9223372036854775808`, `-9223372036854775809`,
	`18446744073709551615`, `18446744073709551616`, `99999999999999999999999999999`,
	`""`, `"x"`, `"\u0000"`, `"\ud800"`, `"` + strings.Repeat("s", 10000) + `"`,
	`"*"`, `">"`, `"a..b"`, `" "`, `"$JS.API.>"`,
	`true`, `false`, `{}`, `[]`, `[null]`, `["a",1,null,{}]`, `{"a":{"b":{"c":[1]}}}`,
	strings.Repeat(`[`, 500) + strings.Repeat(`]`, 500),
	strings.Repeat(`{"a":`, 300) + `1` + strings.Repeat(`}`, 300),
}

// jsMutator makes hostile request bodies from valid templates.
type jsMutator struct{ r *rand.Rand }

// body returns a request body derived from template: often valid JSON
// with wrong values, sometimes broken JSON, sometimes random bytes.
func (m jsMutator) body(template string) []byte {
	r := m.r
	switch r.IntN(10) {
	case 0:
		return randomBytes(r, r.IntN(200))
	case 1:
		return []byte(hostileValues[r.IntN(len(hostileValues))])
	case 2: // broken JSON: truncated or with a byte changed
		b := []byte(template)
		if r.IntN(2) == 0 {
			return b[:r.IntN(len(b)+1)]
		}
		b[r.IntN(len(b))] = byte(r.IntN(256))
		return b
	case 3:
		return []byte(template)
	}
	var v any
	if err := json.Unmarshal([]byte(template), &v); err != nil {
		panic(fmt.Sprintf("template %s: %v", template, err))
	}
	for range 1 + r.IntN(3) {
		v = m.mutate(v, 0)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// mutate changes one thing in v: a field's value, a new field, a removed
// field, or an element of a list; it may descend into nested objects.
func (m jsMutator) mutate(v any, depth int) any {
	r := m.r
	hostile := json.RawMessage(hostileValues[r.IntN(len(hostileValues))])
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) == 0 || r.IntN(6) == 0 {
			x["zz"+strconv.Itoa(r.IntN(3))] = hostile
			return x
		}
		k := keys[r.IntN(len(keys))]
		switch r.IntN(5) {
		case 0:
			delete(x, k)
		case 1, 2:
			if depth < 3 {
				x[k] = m.mutate(x[k], depth+1)
				return x
			}
			x[k] = hostile
		default:
			x[k] = hostile
		}
		return x
	case []any:
		if len(x) > 0 && r.IntN(2) == 0 {
			x[r.IntN(len(x))] = hostile
			return x
		}
		return append(x, hostile)
	}
	return hostile
}

// keptMsg is an acknowledged message the attack must not lose.
type keptMsg struct {
	seq     uint64
	subject string
	data    []byte
	id      string
}

// publishKept stores n messages on subjects prefix.0 to prefix.2, each
// with a Nats-Msg-Id, and returns them as acknowledged.
func publishKept(t testing.TB, js jetstream.JetStream, prefix string, n int) []keptMsg {
	t.Helper()
	ctx := jsCtx(t)
	var kept []keptMsg
	for i := range n {
		m := &nats.Msg{Subject: prefix + "." + strconv.Itoa(i%3), Header: nats.Header{}, Data: []byte("kept message " + strconv.Itoa(i))}
		m.Header.Set("Nats-Msg-Id", "keep-"+strconv.Itoa(i))
		pa, err := js.PublishMsg(ctx, m)
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		kept = append(kept, keptMsg{seq: pa.Sequence, subject: m.Subject, data: m.Data, id: "keep-" + strconv.Itoa(i)})
	}
	return kept
}

// checkKept fails unless stream name holds the kept messages unchanged
// and, with only, nothing else.
func checkKept(t testing.TB, js jetstream.JetStream, name string, kept []keptMsg, only bool) {
	t.Helper()
	ctx := jsCtx(t)
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s info: %v", name, err)
	}
	if st := info.State; only && (st.Msgs != uint64(len(kept)) || st.FirstSeq != kept[0].seq || st.LastSeq != kept[len(kept)-1].seq) {
		t.Fatalf("stream %s: %d messages %d..%d; want %d messages %d..%d", name,
			st.Msgs, st.FirstSeq, st.LastSeq, len(kept), kept[0].seq, kept[len(kept)-1].seq)
	}
	for _, k := range kept {
		m, err := s.GetMsg(ctx, k.seq)
		if err != nil {
			t.Fatalf("stream %s seq %d: %v", name, k.seq, err)
		}
		if m.Subject != k.subject || !bytes.Equal(m.Data, k.data) || m.Header.Get("Nats-Msg-Id") != k.id {
			t.Fatalf("stream %s seq %d = %s %q %q; want %s %q %q", name, k.seq, m.Subject, m.Data, m.Header.Get("Nats-Msg-Id"), k.subject, k.data, k.id)
		}
	}
}

// apiReply is the part of every JetStream API reply the tests check.
type apiReply struct {
	Type  string `json:"type"`
	Error *struct {
		Code        *int    `json:"code"`
		ErrCode     *int    `json:"err_code"`
		Description *string `json:"description"`
	} `json:"error"`
}

// checkAPIJSON checks that b is a typed response or a complete error, and
// not the error the dispatcher sends after recovering from a panic.
func checkAPIJSON(b []byte) error {
	var r apiReply
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	if r.Error == nil {
		if r.Type == "" {
			return fmt.Errorf("no error and no type")
		}
		return nil
	}
	e := r.Error
	if e.Code == nil || *e.Code < 400 || *e.Code > 599 || e.ErrCode == nil || *e.ErrCode <= 0 || e.Description == nil || *e.Description == "" {
		return fmt.Errorf("incomplete error")
	}
	if strings.Contains(*e.Description, "internal error") {
		return fmt.Errorf("a handler failed (panic recovered)")
	}
	return nil
}

// hostileAccountCheck round-trips an account info request through the
// jetstream client: the API still answers real clients.
func hostileAccountCheck(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("account info: %v", err)
	}
}
