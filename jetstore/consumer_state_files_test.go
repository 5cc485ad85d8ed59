package jetstore

import (
	"fmt"
	"testing"
)

// TestConsumerStateFileBudget gives ten durable consumers a budget of four
// open state logs: acks on every consumer still reach disk and survive a
// restart, and no more state logs stay open than the budget allows once
// the consumers are idle.
func TestConsumerStateFileBudget(t *testing.T) {
	const consumers, budget = 10, 4
	dir := t.TempDir()
	e := interestEnv(t, dir, false)
	// After Open, which sets the budget from the descriptor limit.
	openStateFiles.SetBudget(budget)
	defer openStateFiles.SetBudget(0)
	e.mustOK(t, "STREAM.CREATE.I", `{"name":"I","subjects":["i.>"]}`)
	for i := range 3 {
		if pa := e.publishOneTo(t, fmt.Sprint("i.", i), nil, []byte("m")); pa.Error != nil {
			t.Fatal(pa.Error)
		}
	}
	for c := range consumers {
		e.mustOK(t, fmt.Sprint("CONSUMER.CREATE.I.C", c), fmt.Sprintf(`{"stream_name":"I","config":{"durable_name":"C%d","ack_policy":"explicit"}}`, c))
	}
	// Two rounds, so that every log is parked and opened again.
	for round := range 2 {
		for c := range consumers {
			m := e.pull(t, fmt.Sprint("C", c), 1)[0]
			e.ackWith(t, m, "+ACK")
		}
		if n := openStateFiles.Open(); n > budget+1 {
			t.Fatalf("round %d: %d state logs open; want at most %d (and the one in use)", round, n, budget)
		}
	}
	e.js.Close()
	if n := openStateFiles.Open(); n != 0 {
		t.Fatalf("%d state logs open after close; want 0", n)
	}
	e = interestEnv(t, dir, false)
	st := e.js.lookup("I")
	for c := range consumers {
		ci := st.consumer(fmt.Sprint("C", c)).info("")
		if ci.AckFloor.Stream != 2 || ci.NumAckPending != 0 {
			t.Fatalf("C%d after restart: ack floor %d, %d pending; want 2, 0", c, ci.AckFloor.Stream, ci.NumAckPending)
		}
	}
}
