package main

import (
	"os"
	"testing"
)

// Resident memory is read from /proc, which Linux has.
func TestReadMemStatusSelf(t *testing.T) {
	m, err := readMemStatus(os.Getpid())
	if err != nil {
		t.Fatalf("readMemStatus(self): %v", err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS || m.Anon <= 0 || m.Anon > m.RSS {
		t.Errorf("own status is implausible: %+v", m)
	}
}
