package store

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// frame is a tidwall/wal frame around entry.
func frame(entry []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(entry))), entry...)
}

func validEntry(seq uint64) []byte {
	var e blockEncoder
	b, _ := e.seal(appendMsgRecords(e.begin(), testMsgs(seq, 2)), false)
	return bytes.Clone(b)
}

func TestScanFrames(t *testing.T) {
	a, b, c := frame(validEntry(1)), frame(validEntry(3)), frame(validEntry(5))
	ab := append(bytes.Clone(a), b...)
	flipped := bytes.Clone(b)
	flipped[5] ^= 1
	tests := []struct {
		name     string
		data     []byte
		wkeep    int
		wentries int
		werr     bool
	}{
		{"empty", nil, 0, 0, false},
		{"whole", append(bytes.Clone(ab), c...), len(ab) + len(c), 3, false},
		{"torn last", append(bytes.Clone(ab), c[:len(c)-4]...), len(ab), 2, false},
		{"torn length", append(bytes.Clone(ab), 0x80), len(ab), 2, false},
		{"varint overflow", append(bytes.Clone(ab), bytes.Repeat([]byte{0xff}, 11)...), len(ab), 2, false},
		{"zeros", append(bytes.Clone(ab), make([]byte, 4096)...), len(ab), 2, false},
		{"empty entry", append(bytes.Clone(ab), 0), len(ab), 2, false},
		{"bad checksum last", append(bytes.Clone(a), flipped...), len(a), 1, false},
		{"bad checksum then zeros", append(append(bytes.Clone(a), flipped...), 0, 0, 0), len(a), 1, false},
		{"short entry", append(bytes.Clone(ab), frame([]byte{1, 0, 0})...), len(ab), 2, false},
		{"damage then valid", append(append(bytes.Clone(a), flipped...), c...), 0, 0, true},
		{"zeros then valid", append(append(bytes.Clone(a), 0, 0), c...), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, n, err := scanFrames(tt.data)
			if (err != nil) != tt.werr || keep != tt.wkeep || n != tt.wentries {
				t.Fatalf("scanFrames = %d, %d, %v; want %d, %d, error %v", keep, n, err, tt.wkeep, tt.wentries, tt.werr)
			}
		})
	}
}

func TestRepairTailPicksNewestSegment(t *testing.T) {
	dir := t.TempDir()
	good := frame(validEntry(1))
	torn := append(bytes.Clone(good), good[:7]...)
	files := map[string][]byte{
		"00000000000000000001":      torn, // older: not the tail, left alone
		"00000000000000000002":      torn,
		"notes.txt":                 []byte("x"),
		"00000000000000000003.TEMP": torn,
	}
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o640)
	}
	logger, logs := captureLogger()
	if err := repairTail(dir, logger); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{
		"00000000000000000001":      len(torn),
		"00000000000000000002":      len(good),
		"00000000000000000003.TEMP": len(torn),
	} {
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Size() != int64(want) {
			t.Errorf("%s: %d bytes; want %d", name, fi.Size(), want)
		}
	}
	if !strings.Contains(logs.String(), "00000000000000000002") || !strings.Contains(logs.String(), "dropped_bytes=7") {
		t.Errorf("log does not say what was dropped:\n%s", logs)
	}
	if err := repairTail(filepath.Join(dir, "missing"), logger); err != nil {
		t.Errorf("repairTail(missing dir) = %v", err)
	}
}
