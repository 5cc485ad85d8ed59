package tests

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestJSSmoke(t *testing.T) {
	j := startJS(t, "")
	_, js := jsConnect(t, j)
	ctx := jsCtx(t)
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		ack, err := js.Publish(ctx, "orders.new", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Sequence != uint64(i+1) {
			t.Fatalf("seq %d want %d", ack.Sequence, i+1)
		}
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 {
		t.Fatalf("msgs %d", info.State.Msgs)
	}
	m, err := s.GetMsg(ctx, 3)
	if err != nil || string(m.Data) != "hello" {
		t.Fatal(m, err)
	}
}
