package store

import (
	"errors"
	"fmt"

	"github.com/tidwall/wal"
)

// load rebuilds the in-memory view by reading every block of the log once:
// the block index, the deleted set, FirstSeq (the highest first marker,
// moved past deleted messages), LastSeq, times and bytes. It checks that
// sequences run on from block to block. Called by OpenWAL before the store
// is shared.
func (s *walStore) load() error {
	if err := s.readSegments(); err != nil {
		return err
	}
	firstIdx, err := s.log.FirstIndex()
	if err != nil {
		return err
	}
	lastIdx, err := s.log.LastIndex()
	if err != nil {
		return err
	}
	s.idx.base = firstIdx
	var (
		marker   uint64 // highest first marker
		floor    uint64 // first sequence of the first message block
		last     uint64
		lastTime int64
		seen     bool // a message block or marker came before
	)
	for widx := firstIdx; widx <= lastIdx; widx++ {
		data, err := s.log.Read(widx)
		if errors.Is(err, wal.ErrCorrupt) {
			return fmt.Errorf("%w: wal entry %d in %s: segment frames are damaged", ErrCorrupt, widx, s.segmentName(widx))
		} else if err != nil {
			return fmt.Errorf("read wal entry %d: %w", widx, err)
		}
		recs, _, err := decodeBlock(data)
		if err == nil {
			err = checkBlockSeqs(&recs, seen, last)
		}
		if err != nil {
			return fmt.Errorf("%w: wal entry %d in %s: %v", ErrCorrupt, widx, s.segmentName(widx), err)
		}
		for _, t := range recs.tombs {
			if t.seq < marker || !s.deleted.add(t.seq) {
				continue
			}
			if p := s.idx.find(t.seq); p >= 0 {
				s.idx.live[p] -= uint32(min(t.size, uint64(s.idx.live[p])))
			}
		}
		if recs.hasFirst {
			marker = max(marker, recs.first)
			if recs.first > last+1 {
				last = recs.first - 1
			}
			lastTime = recs.lastTime
			seen = true
		}
		key := last + 1
		var live uint64
		if n := len(recs.msgs); n > 0 {
			if !seen {
				floor = recs.msgs[0].Seq
			}
			key = recs.msgs[0].Seq
			live = storedSize(recs.msgs)
			last = recs.msgs[n-1].Seq
			lastTime = recs.msgs[n-1].Time
			seen = true
		}
		s.idx.push(key, uint32(live))
	}

	first := max(marker, floor, 1)
	if first > last+1 {
		last = first - 1
	}
	first = s.deleted.nextAbsent(first)
	s.deleted.removeBelow(first)
	s.st = walState{first: first, last: last, lastTime: lastTime}
	if first > last {
		s.idx.trim(len(s.idx.keys))
		return nil
	}
	p := s.idx.find(first)
	if p < 0 {
		return fmt.Errorf("%w: no block holds first seq %d", ErrCorrupt, first)
	}
	s.idx.trim(p)
	// The first block may begin below FirstSeq: count only what it still
	// holds.
	recs, err := s.readBlock(s.idx.base)
	if err != nil {
		return err
	}
	var live uint64
	for i := range recs.msgs {
		m := &recs.msgs[i]
		if m.Seq >= first && !s.deleted.contains(m.Seq) {
			live += m.Size()
		}
		if m.Seq == first {
			s.st.firstTime = m.Time
		}
	}
	s.idx.live[0] = uint32(live)
	s.st.bytes = s.idx.liveBetween(0, len(s.idx.live))
	return nil
}

// checkBlockSeqs checks a block against the log read so far: messages
// continue from last (the first message block of a log may start
// anywhere), and tombstones name written sequences.
func checkBlockSeqs(recs *blockRecords, seen bool, last uint64) error {
	if len(recs.msgs) > 0 && seen && recs.msgs[0].Seq != last+1 {
		return fmt.Errorf("block starts at seq %d, want %d", recs.msgs[0].Seq, last+1)
	}
	for _, t := range recs.tombs {
		if t.seq > last {
			return fmt.Errorf("tombstone for seq %d beyond last seq %d", t.seq, last)
		}
	}
	return nil
}

// segmentName names the segment file holding WAL index widx, for error
// messages. Caller holds wmu or has the store to itself.
func (s *walStore) segmentName(widx uint64) string {
	name := "?"
	for _, start := range s.w.segStarts {
		if start > widx {
			break
		}
		name = fmt.Sprintf("%020d", start)
	}
	return name
}
