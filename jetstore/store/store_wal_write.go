package store

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tidwall/wal"
)

// writable returns why the store takes no writes, if it does not. Caller
// holds wmu.
func (s *walStore) writable() error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	return s.w.failed
}

// WriteError is the error a failed store returns (see ErrFailed) for every
// mutating call until it recovers: Op is what failed ("write", "fsync",
// "fsync dir", "background fsync", "truncate log front", "list segments")
// and Err the failure itself, a *fs.PathError or syscall.Errno for a full
// disk or an I/O error. errors.Is(err, ErrFailed) holds for it, and
// errors.As reaches the failure it wraps.
type WriteError struct {
	Op  string
	Err error
}

func (e *WriteError) Error() string        { return ErrFailed.Error() + ": " + e.Op + ": " + e.Err.Error() }
func (e *WriteError) Is(target error) bool { return target == ErrFailed }
func (e *WriteError) Unwrap() error        { return e.Err }

// fail records the first write failure, after which the store takes no
// more writes until Recover succeeds, and returns it. The caller gets
// the error and reports it; only failures nobody is waiting for (the
// background fsync) are logged here. Caller holds wmu.
func (s *walStore) fail(op string, err error) error {
	if s.w.failed == nil {
		s.w.failed = &WriteError{Op: op, Err: err}
	}
	return s.w.failed
}

// injected returns err, or, when err is nil, what the fault point says op
// returns (see SetFailPoint). Caller holds wmu.
func (s *walStore) injected(op string, err error) error {
	if err == nil && s.failpoint != nil {
		err = s.failpoint(op)
	}
	return err
}

// SetFailPoint installs fp as the fault point of st, a store OpenWAL
// returned, and reports whether st has one (the in-memory store has not).
// It is meant for tests only, of how a store and its callers behave on a
// full disk or an I/O error; production code never calls it.
//
// From then on, each write, fsync or file operation of the store that
// succeeded reports the error fp returns for it instead, as if the
// operation had failed after doing its work; fp returning nil lets it
// succeed. op names the operation as WriteError.Op does: "write",
// "fsync", "fsync dir", "background fsync", "truncate log front". fp runs
// with the store's write lock held and must not call the store. A nil fp
// removes the fault point.
func SetFailPoint(st Store, fp func(op string) error) bool {
	s, ok := st.(*walStore)
	if !ok {
		return false
	}
	s.wmu.Lock()
	s.failpoint = fp
	s.wmu.Unlock()
	return true
}

// writeBlock appends one sealed block as the log's next entry and makes it
// as durable as the sync policy says, or fsyncs it regardless when force is
// set. Caller holds wmu; the caller then adds the block to the index.
//
// On failure the store fails (see fail) with the segment bookkeeping as it
// was before the call: the end of the last good entry. Whatever the failed
// call left in the files (nothing, a torn frame, or the whole entry,
// written but perhaps not durable) was never acknowledged, so it must not
// survive: not even a restart while the store is failed may bring back a
// message its publisher was told was not stored (a retry would store it
// twice). So the failed call cuts the log back to that end at once, which
// takes no space (see cutBack); if that fails too, Recover does it.
func (s *walStore) writeBlock(entry []byte, force bool) error {
	widx := s.idx.next()
	segs, tail := len(s.w.segStarts), s.w.tailBytes
	failed := func(op string, err error) error {
		s.w.segStarts, s.w.tailBytes = s.w.segStarts[:segs], tail
		ferr := s.fail(op, err)
		s.w.torn = true
		if s.cutBack() == nil {
			s.w.torn = false
		}
		return ferr
	}
	l, err := s.useLog()
	if err == nil {
		err = l.Write(widx, entry)
	}
	if err := s.injected("write", err); err != nil {
		return failed("write", err)
	}
	s.w.dirty = true
	if s.trackSegments(widx, len(entry)) {
		if err := s.injected("fsync dir", SyncDir(s.opts.Dir)); err != nil {
			return failed("fsync dir", err)
		}
		// The log keeps the segment it just closed in memory, whole, in
		// case it is read: let it go. A reader still in it loads it
		// again once, from the page cache.
		l.ClearCache()
	}
	if s.opts.Sync == SyncAlways || force {
		if err := s.injected("fsync", s.syncLog(l)); err != nil {
			return failed("fsync", err)
		}
		s.w.dirty = false
	}
	return nil
}

// trackSegments follows tidwall/wal's segment cycling for an entry of n
// bytes written at WAL index widx and reports whether it created a segment
// file. The log starts a new segment before a write when the newest one is
// already over SegmentSize, and after a write that brings it to
// SegmentSize. Caller holds wmu.
func (s *walStore) trackSegments(widx uint64, n int) bool {
	created := false
	size := int64(s.opts.SegmentSize)
	if s.w.tailBytes > size {
		s.w.segStarts = append(s.w.segStarts, widx)
		s.w.tailBytes = 0
		created = true
	}
	var tmp [binary.MaxVarintLen64]byte
	s.w.tailBytes += int64(binary.PutUvarint(tmp[:], uint64(n)) + n)
	if s.w.tailBytes >= size {
		s.w.segStarts = append(s.w.segStarts, widx+1)
		s.w.tailBytes = 0
		created = true
	}
	return created
}

// readSegments sets segStarts and tailBytes from the directory. Caller
// holds wmu or has the store to itself.
func (s *walStore) readSegments() error {
	segs, err := listSegments(s.opts.Dir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("no segment files in %s", s.opts.Dir)
	}
	starts := make([]uint64, len(segs))
	for i, seg := range segs {
		starts[i] = seg.index
	}
	fi, err := os.Stat(filepath.Join(s.opts.Dir, segs[len(segs)-1].name))
	if err != nil {
		return err
	}
	s.w.segStarts = starts
	s.w.tailBytes = fi.Size()
	return nil
}

func (s *walStore) Append(msgs []StoredMsg) error {
	if len(msgs) == 0 {
		return nil
	}
	n := msgRecordsLen(msgs)
	if n > MaxBlockSize {
		return ErrTooLarge
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	for i := range msgs {
		if want := s.st.last + 1 + uint64(i); msgs[i].Seq != want {
			return fmt.Errorf("%w: got seq %d, want %d", ErrBadSeq, msgs[i].Seq, want)
		}
	}
	buf := slices.Grow(s.w.enc.begin(), n+blockTrailerLen)
	entry, err := s.w.enc.seal(appendMsgRecords(buf, msgs), s.opts.Compression == CompressS2)
	if err != nil {
		return err
	}
	err = s.writeBlock(entry, false)
	s.w.enc.trim()
	if err != nil {
		return err
	}
	live := storedSize(msgs)
	last := &msgs[len(msgs)-1]
	s.mu.Lock()
	s.idx.push(msgs[0].Seq, uint32(live))
	if s.st.first > s.st.last {
		s.st.firstTime = msgs[0].Time
	}
	s.st.last = last.Seq
	s.st.lastTime = last.Time
	s.st.bytes += live
	s.mu.Unlock()
	return nil
}

func (s *walStore) Delete(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	ts := make([]delRecord, len(seqs))
	for i, seq := range seqs {
		widx, err := s.locate(seq)
		if err == ErrMsgNotFound {
			return fmt.Errorf("%w: seq %d", ErrMsgNotFound, seq)
		} else if err != nil {
			return err
		}
		m, err := s.msgAt(widx, seq)
		if err != nil {
			return fmt.Errorf("delete seq %d: %w", seq, err)
		}
		ts[i] = delRecord{seq: seq, size: m.Size()}
	}
	// Where FirstSeq moves if the first message goes.
	first := s.st.first
	for {
		next := s.deleted.nextAbsent(first)
		if _, found := slices.BinarySearch(seqs, next); found {
			next++
		}
		if next == first {
			break
		}
		first = next
	}
	firstTime, err := s.firstTimeAt(first)
	if err != nil {
		return err
	}
	entry, err := s.w.enc.seal(appendTombstoneRecord(s.w.enc.begin(), ts), s.opts.Compression == CompressS2)
	if err != nil {
		return err
	}
	err = s.writeBlock(entry, false)
	s.w.enc.trim()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idx.push(s.st.last+1, 0)
	for _, t := range ts {
		s.deleted.add(t.seq)
		s.idx.live[s.idx.find(t.seq)] -= uint32(t.size)
		s.st.bytes -= t.size
	}
	s.advanceFirst(first, firstTime)
	s.mu.Unlock()
	s.compact()
	return nil
}

// firstTimeAt returns the time of message first, or 0 when first is past
// the end. Caller holds wmu.
func (s *walStore) firstTimeAt(first uint64) (int64, error) {
	if first == s.st.first {
		return s.st.firstTime, nil
	}
	if first > s.st.last {
		return 0, nil
	}
	widx, err := s.locate(first)
	if err != nil {
		return 0, err
	}
	m, err := s.msgAt(widx, first)
	if err != nil {
		return 0, fmt.Errorf("load new first seq %d: %w", first, err)
	}
	return m.Time, nil
}

// advanceFirst moves FirstSeq to first, which is stored or past the end,
// and forgets the blocks and deletes below it. Caller holds wmu and mu.
func (s *walStore) advanceFirst(first uint64, firstTime int64) {
	if first == s.st.first {
		return
	}
	s.st.first = first
	s.st.firstTime = firstTime
	s.deleted.removeBelow(first)
	if first > s.st.last {
		s.idx.trim(len(s.idx.keys))
	} else {
		s.idx.trim(s.idx.find(first))
	}
}

func (s *walStore) TruncateFront(first uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if first <= s.st.first {
		return nil
	}
	last := max(s.st.last, first-1)
	var removed, partial uint64 // bytes dropped; of which in block p
	p := -1
	switch {
	case s.st.first > s.st.last: // already empty
	case first > s.st.last:
		removed = s.st.bytes
	default:
		p = s.idx.find(first)
		removed = s.idx.liveBetween(0, p)
		recs, err := s.readBlock(s.idx.base + uint64(p))
		if err != nil {
			return fmt.Errorf("truncate front to %d: %w", first, err)
		}
		for i := range recs.msgs {
			m := &recs.msgs[i]
			if m.Seq >= s.st.first && m.Seq < first && !s.deleted.contains(m.Seq) {
				partial += m.Size()
			}
		}
		removed += partial
	}
	newFirst := last + 1
	if first <= s.st.last {
		newFirst = s.deleted.nextAbsent(first)
	}
	firstTime, err := s.firstTimeAt(newFirst)
	if err != nil {
		return err
	}
	entry, err := s.w.enc.seal(appendFirstRecord(s.w.enc.begin(), first, s.st.lastTime), false)
	if err != nil {
		return err
	}
	if err := s.writeBlock(entry, false); err != nil {
		return err
	}
	s.mu.Lock()
	s.st.last = last
	s.idx.push(last+1, 0)
	if p >= 0 {
		s.idx.live[p] -= uint32(partial)
	}
	s.st.bytes -= removed
	s.advanceFirst(newFirst, firstTime)
	s.mu.Unlock()
	s.compact()
	return nil
}

// compact removes segment files that hold only blocks below FirstSeq. It
// first writes and fsyncs a first marker, so that the log left behind
// still says where the stream starts even though the block it begins with
// may hold older messages. reclaim copies the part of the segment it cuts
// into, so compact waits for a whole segment to free. A failure here
// leaves the call that triggered it done but stops further writes. Caller
// holds wmu.
func (s *walStore) compact() {
	if len(s.w.segStarts) < 2 || s.w.segStarts[1] > s.idx.base {
		return
	}
	entry, err := s.w.enc.seal(appendFirstRecord(s.w.enc.begin(), s.st.first, s.st.lastTime), false)
	if err == nil {
		err = s.writeBlock(entry, true)
	}
	if err != nil {
		return
	}
	s.mu.Lock()
	s.idx.push(s.st.last+1, 0)
	s.mu.Unlock()
	if err := s.injected("truncate log front", s.reclaim(s.idx.base)); err != nil {
		s.fail("truncate log front", err)
		return
	}
	if err := s.readSegments(); err != nil {
		s.fail("list segments", err)
	}
}

// syncLog fsyncs the log's newest segment. Caller holds wmu.
func (s *walStore) syncLog(l *wal.Log) error {
	if s.w.syncOf != l {
		s.w.syncOf, s.w.syncFn = l, l.Sync
	}
	return timedSync(func() error { return Disk.SyncWith(s.opts.Dir, s.w.syncFn) })
}

// syncLoop fsyncs the log every SyncEvery while there are unsynced writes.
func (s *walStore) syncLoop() {
	defer close(s.syncDone)
	t := time.NewTicker(s.opts.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.wmu.Lock()
			// A log with unsynced writes is never parked.
			s.lmu.Lock()
			l := s.log
			s.lmu.Unlock()
			if s.w.dirty && s.w.failed == nil && l != nil {
				if err := s.injected("background fsync", s.syncLog(l)); err != nil {
					// Nobody waits for this one: say it here. What the
					// interval wrote may not be on disk; the next write
					// returns the failure.
					s.opts.Logger.Error("jetstore: background fsync failed; the store takes no writes until it recovers",
						"dir", s.opts.Dir, "err", err)
					s.fail("background fsync", err)
				} else {
					s.w.dirty = false
				}
			}
			s.wmu.Unlock()
		}
	}
}
