package tests

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// opsJSConfig turns the stream layer on in dir.
func opsJSConfig(dir string) string {
	return fmt.Sprintf("\n[jetstream]\nenabled = true\nstore_dir = %q\n", dir+"/js")
}

// knownStreamTraffic leaves a known state behind, through nats.go:
// stream JOBS (dead letters to DLQ) with 10 messages; consumer "w" was
// handed 4, acked 2, terminated 1 (now in DLQ) and holds 1 unacked, so
// 6 are pending; consumer "idle" has all 10 pending.
func knownStreamTraffic(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	dlq := mustCreate(t, js, jetstream.StreamConfig{Name: "DLQ", Subjects: []string{"dlq"}})
	mustCreateRaw(t, nc, `{"name":"JOBS","subjects":["jobs.>"],"dead_letter_stream":"DLQ"}`)
	s, _ := js.Stream(jsCtx(t), "JOBS")
	jsPublishN(t, js, "jobs.a", "j", 10)
	mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "idle", AckPolicy: jetstream.AckExplicitPolicy})
	c := mustConsumer(t, s, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 10 * time.Minute})
	for i := range 4 {
		m := fetchOne(t, c, testTimeout)
		switch i {
		case 0, 1:
			if err := m.DoubleAck(jsCtx(t)); err != nil {
				t.Fatal(err)
			}
		case 2:
			if err := m.TermWithReason("broken"); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitMsgs(t, dlq, 1, 1, 1)
	return nc
}

// promSample is one parsed sample.
type promSamples map[string]float64

// parseProm parses the Prometheus text format strictly enough to catch
// what a scraper rejects: every sample belongs to the family its # TYPE
// line announced, no family appears twice, values parse.
func parseProm(t *testing.T, text string) (promSamples, map[string]string) {
	t.Helper()
	samples := promSamples{}
	types := map[string]string{}
	family := ""
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			t.Fatalf("line %d is empty", n+1)
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if _, dup := types[name]; dup {
				t.Fatalf("line %d: family %s announced twice", n+1, name)
			}
			types[name], family = typ, name
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("line %d has no value: %q", n+1, line)
		}
		series, val := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("line %d: value %q: %v", n+1, val, err)
		}
		name, labels, _ := strings.Cut(series, "{")
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && (types[b] == "histogram" || types[b] == "summary") {
				base = b
			}
		}
		if base != family {
			t.Fatalf("line %d: sample %s outside its family (current %s)", n+1, name, family)
		}
		key := name
		if labels != "" {
			parts := strings.Split(strings.TrimSuffix(labels, "}"), ",")
			sort.Strings(parts)
			key += "{" + strings.Join(parts, ",") + "}"
		}
		if _, dup := samples[key]; dup {
			t.Fatalf("line %d: series %s twice", n+1, key)
		}
		samples[key] = v
	}
	return samples, types
}

// want checks the value of each named series.
func (s promSamples) want(t *testing.T, wants map[string]float64) {
	t.Helper()
	for k, w := range wants {
		got, ok := s[k]
		if !ok {
			t.Errorf("series %s missing", k)
			continue
		}
		if got != w {
			t.Errorf("%s = %v; want %v", k, got, w)
		}
	}
}

func regexpFind(s, re string) bool { return regexp.MustCompile(re).MatchString(s) }
