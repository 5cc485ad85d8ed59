package jetstore

import (
	"encoding/json"
	"testing"
	"time"
)

var pullJSONSamples = []string{
	`{"batch":100,"expires":5000000000}`,
	`{"batch":1000,"expires":30000000000,"idle_heartbeat":15000000000}`,
	`{"batch":10,"max_bytes":4096,"no_wait":true}`,
	` { "batch" : 5 , "no_wait" : false } `,
	`{}`,
	`{"batch":-1}`,
	`{"batch":-0}`,
	`{"batch":01}`,
	`{"batch":1.5}`,
	`{"batch":1e2}`,
	`{"batch":"5"}`,
	`{"batch":null}`,
	`{"Batch":7}`,
	`{"batch":7,"batch":8}`,
	`{"batch":99999999999999999999}`,
	`{"expires":9223372036854775807}`,
	`{"group":"A","batch":3}`,
	`{"batch":3,}`,
	`{"batch":3}x`,
	`{"no_wait":truex}`,
	`{"ba\u0074ch":4}`,
	`{"batch":4`,
	`[1]`,
	``,
}

// The hand-read pull request agrees with encoding/json: the same fields,
// and an error where encoding/json gives one.
func TestParsePullJSONAgrees(t *testing.T) {
	for _, s := range pullJSONSamples {
		checkPullJSON(t, []byte(s))
	}
}

func checkPullJSON(t *testing.T, data []byte) {
	t.Helper()
	var want pullRequestJSON
	wantErr := json.Unmarshal(data, &want)
	var got pullRequestJSON
	gotErr := parsePullJSON(data, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%q: error %v; encoding/json says %v", data, gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("%q: error %q; encoding/json says %q", data, gotErr, wantErr)
		}
		return
	}
	if got != want {
		t.Fatalf("%q: %+v; encoding/json reads %+v", data, got, want)
	}
}

func FuzzParsePullJSON(f *testing.F) {
	for _, s := range pullJSONSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkPullJSON(t, data)
	})
}

// A Fetch's request is read without allocating.
func TestParsePullJSONAllocs(t *testing.T) {
	data := []byte(`{"batch":100,"expires":5000000000,"idle_heartbeat":1000000000}`)
	var j pullRequestJSON
	if n := testing.AllocsPerRun(100, func() { parsePullJSON(data, &j) }); n != 0 {
		t.Errorf("%v allocations per pull request; want 0", n)
	}
	if j.Batch != 100 || j.Expires != 5*time.Second || j.Heartbeat != time.Second {
		t.Errorf("read %+v", j)
	}
}

func BenchmarkParsePullJSON(b *testing.B) {
	data := []byte(`{"batch":100,"expires":5000000000}`)
	b.ReportAllocs()
	for b.Loop() {
		var j pullRequestJSON
		parsePullJSON(data, &j)
	}
}

func BenchmarkParsePullJSONGeneric(b *testing.B) {
	data := []byte(`{"batch":100,"expires":5000000000}`)
	b.ReportAllocs()
	for b.Loop() {
		var j pullRequestJSON
		json.Unmarshal(data, &j)
	}
}
