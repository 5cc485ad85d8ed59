package jetstore

import (
	"reflect"
	"testing"
	"time"
)

func openMQTTStore(t *testing.T, dir string) (*JetStream, *MQTTStore) {
	t.Helper()
	js, err := Open(newFakeBus(), Config{StoreDir: dir, Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.MQTTStore()
	if err != nil {
		js.Close()
		t.Fatal(err)
	}
	return js, s
}

func syncStore(t *testing.T, s *MQTTStore) {
	t.Helper()
	done := make(chan error, 1)
	s.Sync(func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sync did not complete")
	}
}

func loadAll(t *testing.T, s *MQTTStore, prefix string) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := s.Load(prefix, func(k string, v []byte) { got[k] = string(v) }); err != nil {
		t.Fatal(err)
	}
	return got
}

// The MQTT store keeps the last value of each key across a restart; a
// deleted key is gone; changes are confirmed in order once stored.
func TestMQTTStoreRestart(t *testing.T) {
	dir := t.TempDir()
	js, s := openMQTTStore(t, dir)
	var order []int
	done := make(chan struct{}, 3)
	s.Put("s.a", []byte("1"), func(err error) { order = append(order, 1); done <- struct{}{} })
	s.Put("s.a", []byte("2"), func(err error) { order = append(order, 2); done <- struct{}{} })
	s.Put("s.b", []byte("x"), nil)
	s.Put("m.a.1", []byte("msg"), nil)
	s.Put("m.a.2", []byte("msg2"), nil)
	s.Delete("m.a.1", nil)
	s.Put("r.home.temp", []byte("21"), nil)
	s.Delete("s.b", func(error) { order = append(order, 3); done <- struct{}{} })
	syncStore(t, s)
	for i := 0; i < 3; i++ {
		<-done
	}
	if !reflect.DeepEqual(order, []int{1, 2, 3}) {
		t.Fatalf("confirmations in order %v", order)
	}
	if err := js.Close(); err != nil {
		t.Fatal(err)
	}

	js, s = openMQTTStore(t, dir)
	defer js.Close()
	if got := loadAll(t, s, "s."); !reflect.DeepEqual(got, map[string]string{"s.a": "2"}) {
		t.Errorf("sessions %v", got)
	}
	if got := loadAll(t, s, "m."); !reflect.DeepEqual(got, map[string]string{"m.a.2": "msg2"}) {
		t.Errorf("messages %v", got)
	}
	if got := loadAll(t, s, "r."); !reflect.DeepEqual(got, map[string]string{"r.home.temp": "21"}) {
		t.Errorf("retained %v", got)
	}
	if s.Holds("home.temp") {
		t.Error("the MQTT state stream counts as a stream holding user subjects")
	}
}
