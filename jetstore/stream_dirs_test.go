package jetstore

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wrenmq/wren/jetstore/store"
)

// openAt opens the stream layer on dir with a fake bus.
func openAt(t *testing.T, dir string) *fuzzEnv {
	t.Helper()
	e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
	js, err := Open(e.bus, Config{StoreDir: dir, Sync: SyncAlways, Logger: slog.New(levelLogHandler{&levelLog{}})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { js.Close() })
	e.js = js
	return e
}

func streamsDir(dir string) string { return filepath.Join(dir, "jetstream", "streams") }

// TestOpenSetsBrokenStreamsAside damages stream directories in each way
// a crash or an operator can (configuration missing, truncated, naming
// another stream, directory empty; the log's opener failing or
// panicking) and checks that opening the store serves the intact stream
// with its messages, reports each damaged one with its reason in Health
// and Report, moves its directory into broken/ and lets a stream of the
// same name be created anew.
func TestOpenSetsBrokenStreamsAside(t *testing.T) {
	dir := t.TempDir()
	e := openAt(t, dir)
	names := []string{"GOOD", "MISSING", "TRUNC", "OTHER", "EMPTY", "FAILS", "PANICS"}
	for _, n := range names {
		e.mustOK(t, "STREAM.CREATE."+n, `{"name":"`+n+`","subjects":["`+strings.ToLower(n)+`.>"]}`)
		for range 3 {
			if pa := e.publishOneTo(t, strings.ToLower(n)+".x", nil, []byte("m")); pa.Error != nil {
				t.Fatal(pa.Error)
			}
		}
	}
	e.js.Close()

	sd := streamsDir(dir)
	if err := os.Remove(filepath.Join(sd, "MISSING", "stream.json")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(sd, "TRUNC", "stream.json"))
	os.WriteFile(filepath.Join(sd, "TRUNC", "stream.json"), b[:len(b)/2], 0o640)
	os.WriteFile(filepath.Join(sd, "OTHER", "stream.json"), []byte(strings.Replace(string(b), `"TRUNC"`, `"GOOD"`, 1)), 0o640)
	os.RemoveAll(filepath.Join(sd, "EMPTY"))
	os.Mkdir(filepath.Join(sd, "EMPTY"), 0o750)
	defer func() { openWAL = store.OpenWAL }()
	openWAL = func(o store.Options) (store.Store, error) {
		switch filepath.Base(filepath.Dir(o.Dir)) {
		case "FAILS":
			return nil, errors.New("log corrupt")
		case "PANICS":
			var m map[string]int
			m["x"]++ // what a dependency's bug looks like
		}
		return store.OpenWAL(o)
	}

	e = openAt(t, dir)
	if got := streamNames(e.js); len(got) != 1 || got[0] != "GOOD" {
		t.Fatalf("streams served %v; want [GOOD]", got)
	}
	if s := e.js.lookup("GOOD").store.State(); s.Msgs != 3 {
		t.Fatalf("GOOD holds %d messages; want 3", s.Msgs)
	}
	broken := map[string]BrokenStream{}
	for _, b := range e.js.Broken() {
		broken[b.Name] = b
	}
	health := e.js.Health()
	rep := e.js.Report()
	for _, n := range names[1:] {
		b, ok := broken[n]
		if !ok {
			t.Errorf("%s not reported as set aside; broken = %+v", n, e.js.Broken())
			continue
		}
		if b.Reason == "" || strings.Contains(b.Reason, dir) {
			t.Errorf("%s reason %q; want one without the store's path", n, b.Reason)
		}
		if !strings.HasPrefix(b.MovedTo, filepath.Join(dir, "jetstream", "broken", n+".")) {
			t.Errorf("%s moved to %q; want under broken/", n, b.MovedTo)
		}
		if _, err := os.Stat(b.MovedTo); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		if _, err := os.Stat(filepath.Join(sd, n)); !os.IsNotExist(err) {
			t.Errorf("%s still in streams/: %v", n, err)
		}
		if health == nil || !strings.Contains(health.Error(), `"`+n+`"`) {
			t.Errorf("Health() = %v; want it to name %s", health, n)
		}
	}
	if len(rep.Broken) != len(names)-1 {
		t.Errorf("Report lists %d broken streams; want %d", len(rep.Broken), len(names)-1)
	}
	if !strings.Contains(broken["PANICS"].Reason, "assignment to entry in nil map") {
		t.Errorf("PANICS reason %q; want the panic", broken["PANICS"].Reason)
	}
	// The names are free again.
	openWAL = store.OpenWAL
	e.mustOK(t, "STREAM.CREATE.MISSING", `{"name":"MISSING","subjects":["missing.>"]}`)
}

// TestDeleteAndCreateGoThroughRenames checks that a deleted stream leaves
// streams/ at once and that the trash and an interrupted creation are
// emptied at the next open.
func TestDeleteAndCreateGoThroughRenames(t *testing.T) {
	dir := t.TempDir()
	e := openAt(t, dir)
	long := strings.Repeat("L", 255) // the longest name a stream may have
	for _, n := range []string{"D", long} {
		e.mustOK(t, "STREAM.CREATE."+n, `{"name":"`+n+`","subjects":["d.`+n+`"]}`)
		e.mustOK(t, "STREAM.DELETE."+n, ``)
		if _, err := os.Stat(filepath.Join(streamsDir(dir), n)); !os.IsNotExist(err) {
			t.Fatalf("deleted stream's directory: %v; want gone", err)
		}
	}
	e.js.Close()
	// What a crash leaves: a half-built stream in tmp/, a deleted one in
	// trash/ not yet removed.
	for _, side := range []string{"tmp", "trash"} {
		p := filepath.Join(dir, "jetstream", side, "X.123", "msgs")
		if err := os.MkdirAll(p, 0o750); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(p, "00000000000000000001"), []byte("torn"), 0o640)
	}
	e = openAt(t, dir)
	waitCond(t, "tmp/ and trash/ emptied", func() bool {
		for _, side := range []string{"tmp", "trash"} {
			if ents, _ := os.ReadDir(filepath.Join(dir, "jetstream", side)); len(ents) > 0 {
				return false
			}
		}
		return true
	})
	if n := streamNames(e.js); len(n) != 0 {
		t.Fatalf("streams %v after reopening; want none", n)
	}
}

// streamNames lists the names of the streams js serves, sorted.
func streamNames(js *JetStream) []string {
	var names []string
	for _, st := range js.sortedStreams() {
		names = append(names, st.name)
	}
	return names
}
