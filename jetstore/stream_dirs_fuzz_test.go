package jetstore

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

// streamDirFiles are the files of a stream directory the fuzz target
// replaces, in the order of its inputs.
var streamDirFiles = []string{
	"stream.json",
	"msgs/00000000000000000001",
	"consumers/C/consumer.json",
	"consumers/C/state.snap",
	"consumers/C/state.log",
}

var (
	seedDirOnce  sync.Once
	seedDirFiles [][]byte
)

// seedStreamDir returns the files of a real stream F with messages and a
// durable consumer C that acked some of them.
func seedStreamDir(t testing.TB) [][]byte {
	seedDirOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wren-fuzz-seed-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
		js, err := Open(e.bus, Config{StoreDir: dir, Sync: SyncAlways})
		if err != nil {
			t.Fatal(err)
		}
		e.js = js
		e.mustOK(t, "STREAM.CREATE.F", `{"name":"F","subjects":["f.>"],"max_msgs_per_subject":3,"allow_msg_ttl":true}`)
		e.mustOK(t, "CONSUMER.CREATE.F.C", `{"stream_name":"F","config":{"durable_name":"C","ack_policy":"explicit"}}`)
		for i := range 8 {
			e.publishOneTo(t, "f."+string(rune('a'+i%3)), []byte("NATS/1.0\r\nNats-Msg-Id: "+string(rune('a'+i))+"\r\n\r\n"), []byte("data"))
		}
		js.Close()
		for _, f := range streamDirFiles {
			b, _ := os.ReadFile(filepath.Join(dir, "jetstream", "streams", "F", f))
			seedDirFiles = append(seedDirFiles, b)
		}
	})
	return seedDirFiles
}

// FuzzStreamDir opens a stream directory whose files hold what the fuzzer
// gives (configuration, log segment, consumer configuration and state):
// opening must return a stream or an error within seconds, never panic,
// and a stream it returns must read back and close.
func FuzzStreamDir(f *testing.F) {
	seed := seedStreamDir(f)
	f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	f.Add(seed[0][:len(seed[0])/2], seed[1], seed[2], seed[3], seed[4])
	f.Add(seed[0], seed[1][:len(seed[1])-3], seed[2], seed[3][:5], seed[4])
	f.Add(seed[0], make([]byte, len(seed[1])), seed[2], seed[3], append(seed[4], 0xff, 0, 0, 0))
	f.Add([]byte(`{"config":{"name":"F","storage":"memory"}}`), []byte{}, []byte(`{}`), []byte{}, []byte{})
	f.Add([]byte(`{"config":{"name":"G"}}`), []byte("\x00\x00\x00"), []byte(`{"name":"C"}`), []byte{1}, []byte{2})
	f.Fuzz(func(t *testing.T, cfg, seg, ccfg, snap, clog []byte) {
		base := t.TempDir()
		js := &JetStream{bus: newFakeBus(), log: slog.New(slog.DiscardHandler), dir: filepath.Join(base, "streams"), streams: map[string]*stream{}, quit: make(chan struct{})}
		js.lim = resolveLimits(Config{MaxStorage: -1}, base)
		dir := filepath.Join(js.dir, "F")
		for i, b := range [][]byte{cfg, seg, ccfg, snap, clog} {
			p := filepath.Join(dir, streamDirFiles[i])
			if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			st, err := openStream(js, dir)
			if err != nil {
				if err.Error() == "" {
					t.Error("an error without text")
				}
				return
			}
			state := st.store.State()
			var n uint64
			if err := st.store.Scan(state.FirstSeq, func(store.StoredMsg) bool { n++; return true }); err == nil && n != state.Msgs {
				t.Errorf("scan read %d messages; state says %d", n, state.Msgs)
			}
			st.close()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("opening, reading and closing the stream took more than 10s:\n%s", buf[:runtime.Stack(buf, true)])
		}
	})
}
