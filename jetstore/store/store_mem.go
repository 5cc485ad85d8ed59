package store

import (
	"fmt"
	"slices"
	"sync"
)

// memStore keeps a stream in memory. It follows the Store contract except
// that nothing survives Close.
type memStore struct {
	mu sync.RWMutex
	// msgs[i] holds sequence first+i; a zero Seq marks a deleted message.
	msgs      []StoredMsg
	first     uint64
	last      uint64
	firstTime int64
	lastTime  int64
	bytes     uint64
	deleted   holeSet // sequences in (first, last] whose message was deleted
	closed    bool
}

// NewMemStore returns an empty in-memory Store.
func NewMemStore() Store {
	return &memStore{first: 1}
}

func (s *memStore) Append(msgs []StoredMsg) error {
	if len(msgs) == 0 {
		return nil
	}
	if msgRecordsLen(msgs) > MaxBlockSize {
		return ErrTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for i := range msgs {
		if want := s.last + 1 + uint64(i); msgs[i].Seq != want {
			return fmt.Errorf("%w: got seq %d, want %d", ErrBadSeq, msgs[i].Seq, want)
		}
	}
	empty := len(s.msgs) == 0
	for i := range msgs {
		m := cloneStoredMsg(&msgs[i])
		s.msgs = append(s.msgs, m)
		s.bytes += m.Size()
	}
	s.last = msgs[len(msgs)-1].Seq
	s.lastTime = msgs[len(msgs)-1].Time
	if empty {
		s.firstTime = msgs[0].Time
	}
	return nil
}

// cloneStoredMsg returns m with its header and data copied into one allocation.
func cloneStoredMsg(m *StoredMsg) StoredMsg {
	c := StoredMsg{Seq: m.Seq, Time: m.Time, Subject: m.Subject}
	if n := len(m.Header) + len(m.Data); n > 0 {
		buf := make([]byte, n)
		h := copy(buf, m.Header)
		copy(buf[h:], m.Data)
		if h > 0 {
			c.Header = buf[:h:h]
		}
		if h < n {
			c.Data = buf[h:]
		}
	}
	return c
}

// get returns the stored message at seq. Caller holds mu.
func (s *memStore) get(seq uint64) (*StoredMsg, bool) {
	if seq < s.first || seq > s.last {
		return nil, false
	}
	m := &s.msgs[seq-s.first]
	return m, m.Seq != 0
}

func (s *memStore) Load(seq uint64) (StoredMsg, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return StoredMsg{}, ErrClosed
	}
	m, ok := s.get(seq)
	if !ok {
		return StoredMsg{}, ErrMsgNotFound
	}
	return *m, nil
}

func (s *memStore) Delete(seqs ...uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	for _, seq := range seqs {
		if _, ok := s.get(seq); !ok {
			return fmt.Errorf("%w: seq %d", ErrMsgNotFound, seq)
		}
	}
	for _, seq := range seqs {
		m, _ := s.get(seq)
		s.bytes -= m.Size()
		*m = StoredMsg{}
		s.deleted.add(seq)
	}
	s.advance(s.first)
	return nil
}

func (s *memStore) TruncateFront(first uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if first <= s.first {
		return nil
	}
	if first > s.last+1 {
		s.last = first - 1
	}
	s.advance(first)
	return nil
}

// advance drops everything below first, then moves first past deleted
// messages to the next stored one. Caller holds mu.
func (s *memStore) advance(first uint64) {
	drop := min(first-s.first, uint64(len(s.msgs)))
	for i := range drop {
		if m := &s.msgs[i]; m.Seq != 0 {
			s.bytes -= m.Size()
		}
	}
	for drop < uint64(len(s.msgs)) && s.msgs[drop].Seq == 0 {
		drop++
	}
	s.msgs = s.msgs[drop:]
	s.first = s.last + 1 - uint64(len(s.msgs))
	s.deleted.removeBelow(s.first)
	if len(s.msgs) == 0 {
		s.msgs = nil
		s.firstTime = 0
	} else {
		s.firstTime = s.msgs[0].Time
		if cap(s.msgs) > 1024 && cap(s.msgs) > 4*len(s.msgs) {
			s.msgs = slices.Clone(s.msgs)
		}
	}
}

func (s *memStore) State() StoreState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return StoreState{
		Msgs:       uint64(len(s.msgs)) - s.deleted.len(),
		Bytes:      s.bytes,
		FirstSeq:   s.first,
		LastSeq:    s.last,
		FirstTime:  s.firstTime,
		LastTime:   s.lastTime,
		NumDeleted: int(s.deleted.len()),
	}
}

func (s *memStore) Scan(from uint64, fn func(m StoredMsg) bool) error {
	for seq := from; ; seq++ {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return ErrClosed
		}
		seq = max(seq, s.first)
		for seq <= s.last && s.msgs[seq-s.first].Seq == 0 {
			seq++
		}
		if seq > s.last {
			s.mu.RUnlock()
			return nil
		}
		m := s.msgs[seq-s.first]
		s.mu.RUnlock()
		if !fn(m) {
			return nil
		}
	}
}

func (s *memStore) Count(from, to uint64) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	from, to = max(from, s.first), min(to, s.last)
	if from > to {
		return 0
	}
	return to - from + 1 - s.deleted.countIn(from, to)
}

// Recover has nothing to do: the in-memory store never fails.
func (s *memStore) Recover() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	return nil
}
