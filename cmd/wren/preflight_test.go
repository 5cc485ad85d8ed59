package main

import (
	"reflect"
	"testing"

	"github.com/wrenmq/wren/conf"
)

func TestChangedKeys(t *testing.T) {
	run, next := conf.Default(), conf.Default()
	next.JetStream.Sync = conf.SyncInterval
	next.Monitor.Port = 8222
	next.Monitor.Token = "new-secret"
	tests := []struct {
		prefix    string
		run, next any
		want      [][3]string
	}{
		{"jetstream", run.JetStream, next.JetStream, [][3]string{{"jetstream.sync", "always", "interval"}}},
		{"monitor", run.Monitor, next.Monitor, [][3]string{{"monitor.port", "0", "8222"}, {"monitor.token", "(hidden)", "(hidden)"}}},
		{"log", run.Log, next.Log, nil},
	}
	for _, tt := range tests {
		if got := changedKeys(tt.prefix, tt.run, tt.next); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("changedKeys(%s) = %q; want %q", tt.prefix, got, tt.want)
		}
	}
}
