package jetstore

import (
	"log/slog"
	"testing"

	"github.com/wrenmq/wren/protocol"
)

// BenchmarkStoreBatch measures one group commit of 100 messages of 128
// bytes on a memory stream, without headers and with a header block the
// stream must read (an unrelated field and Nats-Expected-Stream), on the
// stream's writer goroutine. The store is kept at 10,000 messages.
func BenchmarkStoreBatch(b *testing.B) {
	for _, bc := range []struct {
		name string
		hdr  []byte
	}{
		{"plain", nil},
		{"headers", []byte("NATS/1.0\r\nX-Source: gateway-7\r\nNats-Expected-Stream: B\r\n\r\n")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := &fuzzEnv{bus: newFakeBus(), log: &errorLog{}}
			js, err := Open(e.bus, Config{StoreDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer js.Close()
			e.js = js
			e.mustOK(b, "STREAM.CREATE.B", `{"name":"B","subjects":["b.>"],"storage":"memory","max_msgs":10000}`)
			st := js.lookup("B")
			msgs := make([]*protocol.Msg, 100)
			data := make([]byte, 128)
			for i := range msgs {
				msgs[i] = &protocol.Msg{Subject: []byte("b.sensor.temp"), Header: bc.hdr, Data: data}
			}
			b.ReportAllocs()
			b.ResetTimer()
			st.do(func() {
				for range b.N {
					st.storeBatch(msgs)
				}
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(msgs)), "ns/msg")
		})
	}
}
