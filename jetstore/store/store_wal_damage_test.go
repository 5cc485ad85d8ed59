package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/wal"
)

func TestWALTornTail(t *testing.T) {
	tests := []struct {
		name     string
		damage   func(data []byte, last int) []byte
		wantLast uint64 // LastSeq after reopening
		wantLog  bool
	}{
		{"cut mid entry", func(d []byte, last int) []byte { return d[:last+(len(d)-last)/2] }, 40, true},
		{"cut inside length", func(d []byte, last int) []byte { return d[:last+1] }, 40, true},
		{"cut last byte", func(d []byte, last int) []byte { return d[:len(d)-1] }, 40, true},
		{"zeros over last entry", func(d []byte, last int) []byte {
			clear(d[last+2:])
			return d
		}, 40, true},
		{"zeros appended", func(d []byte, _ int) []byte { return append(d, make([]byte, 4096)...) }, 50, true},
		{"garbage appended", func(d []byte, _ int) []byte { return append(d, 0x05, 1, 2, 3) }, 50, true},
		{"intact", func(d []byte, _ int) []byte { return d }, 50, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenWAL(Options{Dir: dir, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			appendBatches(t, s, 1, 5, 10)
			s.Close()
			paths := segmentPaths(t, dir)
			path := paths[len(paths)-1]
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			starts := frameStarts(t, data)
			if err := os.WriteFile(path, tt.damage(data, starts[len(starts)-1]), 0o640); err != nil {
				t.Fatal(err)
			}

			logger, logs := captureLogger()
			s2 := openTestWAL(t, Options{Dir: dir, Logger: logger})
			st := s2.State()
			if st.LastSeq != tt.wantLast || st.Msgs != tt.wantLast {
				t.Fatalf("after reopen: %+v; want LastSeq = Msgs = %d", st, tt.wantLast)
			}
			gotLog := strings.Contains(logs.String(), "truncated damaged WAL tail")
			if gotLog != tt.wantLog {
				t.Fatalf("repair logged = %v; want %v; log:\n%s", gotLog, tt.wantLog, logs)
			}
			if tt.wantLog && tt.wantLast == 40 && !strings.Contains(logs.String(), "first_dropped_index=5") {
				t.Errorf("log does not name the dropped entry:\n%s", logs)
			}
			// The log takes writes again and keeps them.
			appendBatches(t, s2, tt.wantLast+1, 1, 10)
			s2.Close()
			s3 := openTestWAL(t, Options{Dir: dir})
			if st := s3.State(); st.LastSeq != tt.wantLast+10 {
				t.Fatalf("after append and reopen: %+v", st)
			}
			for _, m := range testMsgs(1, int(tt.wantLast)+10) {
				got, err := s3.Load(m.Seq)
				if err != nil || !sameMsg(got, m) {
					t.Fatalf("Load(%d) = %+v, %v", m.Seq, got, err)
				}
			}
		})
	}
}

func TestWALDamageBeforeTailIsNotRepaired(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWAL(Options{Dir: dir, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	appendBatches(t, s, 1, 5, 10)
	s.Close()
	path := segmentPaths(t, dir)[0]
	data, _ := os.ReadFile(path)
	starts := frameStarts(t, data)
	data[starts[2]+10] ^= 0x10
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = OpenWAL(Options{Dir: dir, Logger: discardLogger()})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenWAL with a damaged middle entry = %v; want ErrCorrupt", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Fatal("OpenWAL changed a segment it refused to repair")
	}
}

// smallSegOpts makes segments of a few blocks each.
func smallSegOpts(dir string) Options {
	return Options{Dir: dir, SegmentSize: 512, ReadCacheSize: 1, Logger: discardLogger()}
}

func TestWALFlippedBitInOldSegmentOnOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWAL(smallSegOpts(dir))
	if err != nil {
		t.Fatal(err)
	}
	appendBatches(t, s, 1, 40, 5)
	s.Close()
	paths := segmentPaths(t, dir)
	if len(paths) < 4 {
		t.Fatalf("%d segments; want several", len(paths))
	}
	data, _ := os.ReadFile(paths[0])
	data[len(data)/2] ^= 0x01
	os.WriteFile(paths[0], data, 0o640)

	_, err = OpenWAL(smallSegOpts(dir))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "wal entry") ||
		!strings.Contains(err.Error(), filepath.Base(paths[0])) {
		t.Fatalf("OpenWAL = %v; want ErrCorrupt naming the entry and %s", err, filepath.Base(paths[0]))
	}
}

func TestWALFlippedBitWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := openTestWAL(t, smallSegOpts(dir))
	appendBatches(t, s, 1, 40, 5)
	paths := segmentPaths(t, dir)
	data, _ := os.ReadFile(paths[0])
	starts := frameStarts(t, data)
	data[starts[0]+8] ^= 0x40
	os.WriteFile(paths[0], data, 0o640)

	// Read from another old segment so neither the read cache nor the
	// log's segment cache still holds the first one.
	if _, err := s.Load(100); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load(1)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "seq 1") {
		t.Fatalf("Load(1) from a damaged block = %v; want ErrCorrupt naming seq 1", err)
	}
	if err := s.Scan(0, func(StoredMsg) bool { return true }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Scan over a damaged block = %v; want ErrCorrupt", err)
	}
	if err := s.Delete(2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Delete in a damaged block = %v; want ErrCorrupt", err)
	}
	m, err := s.Load(150)
	if err != nil || !sameMsg(m, testMsgs(150, 1)[0]) {
		t.Fatalf("Load(150) = %+v, %v", m, err)
	}
}

func TestWALRejectsHugeDecodedLength(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenWAL(Options{Dir: dir, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	appendBatches(t, s, 1, 3, 10)
	s.Close()

	// A block with a valid checksum whose S2 body claims ~4 GiB.
	l, err := wal.Open(dir, &wal.Options{AllowEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	last, _ := l.LastIndex()
	if err := l.Write(last+1, hugeClaimBlock(0xfffffff0)); err != nil {
		t.Fatal(err)
	}
	l.Close()

	_, err = OpenWAL(Options{Dir: dir, Logger: discardLogger()})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "claims") {
		t.Fatalf("OpenWAL with a block claiming 4 GiB = %v; want ErrCorrupt", err)
	}
}

// hugeClaimBlock is a checksummed S2 block whose length header claims n
// decoded bytes but carries almost nothing.
func hugeClaimBlock(n uint64) []byte {
	b := []byte{blockVersion, blockFlagS2}
	b = binary.AppendUvarint(b, n)
	b = append(b, 0, 0, 0)
	return binary.LittleEndian.AppendUint32(b, crc32c(b))
}

// TestWALRejectsInconsistentBlocks writes well-formed, checksummed blocks
// that contradict the log before them.
func TestWALRejectsInconsistentBlocks(t *testing.T) {
	hdr := func() []byte { return []byte{blockVersion, 0} }
	tests := []struct {
		name  string
		block []byte
		werr  string
	}{
		{"sequence gap", appendMsgRecords(hdr(), testMsgs(12, 2)), "starts at seq 12, want 11"},
		{"sequence repeat", appendMsgRecords(hdr(), testMsgs(10, 2)), "starts at seq 10, want 11"},
		{"tombstone past the end", appendTombstoneRecord(hdr(), []delRecord{{11, 5}}), "beyond last seq 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenWAL(Options{Dir: dir, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			appendBatches(t, s, 1, 1, 10)
			s.Close()
			var e blockEncoder
			entry, _ := e.seal(tt.block, false)
			l, err := wal.Open(dir, &wal.Options{AllowEmpty: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Write(2, entry); err != nil {
				t.Fatal(err)
			}
			l.Close()
			_, err = OpenWAL(Options{Dir: dir, Logger: discardLogger()})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.werr) {
				t.Fatalf("OpenWAL = %v; want ErrCorrupt with %q", err, tt.werr)
			}
		})
	}
}
