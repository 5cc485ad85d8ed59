package jetstore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// copyTree copies the regular files and directories under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o750)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o640)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConsumerStatePowerCut acks messages of a durable consumer one at a
// time, each confirmed (AckSync) under SyncAlways, recording the state
// log's length at every confirmation. It then builds every state a power
// cut during the next ack's write can leave of the log (nothing of it, cut
// at its first byte, halfway or one byte short, zeros, its second half
// landed without its first, whole) and opens the store on each: every
// confirmed ack must be there (the ack floor at least that far, none of
// them pending again), and opening must not fail or panic.
func TestConsumerStatePowerCut(t *testing.T) {
	dir := t.TempDir()
	e := interestEnv(t, dir, false)
	e.mustOK(t, "STREAM.CREATE.I", `{"name":"I","subjects":["i.>"]}`)
	e.mustOK(t, "CONSUMER.CREATE.I.C", `{"stream_name":"I","config":{"durable_name":"C","ack_policy":"explicit","max_ack_pending":100}}`)
	const n = 8
	for i := range n {
		if pa := e.publishOneTo(t, fmt.Sprint("i.", i), nil, []byte("m")); pa.Error != nil {
			t.Fatal(pa.Error)
		}
	}
	msgs := e.pull(t, "C", n)
	logPath := filepath.Join(dir, "jetstream", "streams", "I", "consumers", "C", consumerLogFile)
	size := func() int {
		fi, err := os.Stat(logPath)
		if err != nil {
			t.Fatal(err)
		}
		return int(fi.Size())
	}
	points := []int{size()}
	for _, m := range msgs {
		e.ackWith(t, m, "+ACK")
		points = append(points, size())
	}
	e.js.Close()
	final, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	states := 0
	for k := 0; k+1 < len(points); k++ {
		from, to := points[k], points[k+1]
		in := final[from:to]
		half := len(in) / 2
		for _, v := range []struct {
			what string
			tail []byte
		}{
			{"nothing of it", nil},
			{"cut at its first byte", in[:1]},
			{"cut halfway", in[:half]},
			{"cut one byte short", in[:len(in)-1]},
			{"zeros", make([]byte, len(in))},
			{"second half landed, first half zeros", append(make([]byte, half), in[half:]...)},
			{"whole", in},
		} {
			states++
			cut := filepath.Join(t.TempDir(), "store")
			copyTree(t, dir, cut)
			b := append(append([]byte(nil), final[:from]...), v.tail...)
			if err := os.WriteFile(filepath.Join(cut, "jetstream", "streams", "I", "consumers", "C", consumerLogFile), b, 0o640); err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("cut after ack %d, %s: panic %v", k, v.what, r)
					}
				}()
				re := interestEnv(t, cut, false)
				defer re.js.Close()
				if bk := re.js.Broken(); len(bk) > 0 {
					t.Fatalf("cut after ack %d, %s: stream set aside: %+v", k, v.what, bk)
				}
				st := re.js.lookup("I")
				c := st.consumer("C")
				if c == nil {
					t.Fatalf("cut after ack %d, %s: consumer gone", k, v.what)
				}
				ci := c.info("")
				if ci.AckFloor.Stream < uint64(k) {
					t.Fatalf("cut after ack %d, %s: ack floor %d; %d acks were confirmed", k, v.what, ci.AckFloor.Stream, k)
				}
				if ci.NumAckPending > n-k {
					t.Fatalf("cut after ack %d, %s: %d pending; at most %d may be", k, v.what, ci.NumAckPending, n-k)
				}
			}()
		}
	}
	t.Logf("%d cut states checked", states)
}
