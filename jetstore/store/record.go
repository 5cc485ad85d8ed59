package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Records are what a block holds once its header, checksum and compression
// are stripped: a sequence of typed records, each starting with its type
// byte.
//
//	msg         1  uvarint seq, varint time, then uvarint length + bytes
//	               for subject, header and data
//	tombstones  2  uvarint count, then count × (uvarint seq, uvarint size)
//	first       3  uvarint first sequence, varint last time
//
// In msg records seq and time are deltas from the previous msg record of
// the same block (the first is a delta from zero), so a batch of
// consecutive messages spends one byte on its sequence and a few on its
// timestamp. A block holds a run of consecutive msg records, or one
// tombstones record, or one first record. Tombstone sequences are
// ascending, each a delta from the one before; size is the deleted
// message's size, so a restart can keep StoreState.Bytes without reading
// the message again. A first record carries the logical first sequence set
// by TruncateFront and the LastTime it must not lose.
const (
	recMsg        byte = 1
	recTombstones byte = 2
	recFirst      byte = 3
)

// delRecord is one tombstone: a deleted message.
type delRecord struct {
	seq  uint64
	size uint64
}

// blockRecords is one decoded block. Msgs' Header and Data alias the decoded
// buffer.
type blockRecords struct {
	msgs     []StoredMsg
	tombs    []delRecord
	hasFirst bool
	first    uint64 // from a first record
	lastTime int64  // from a first record
}

// storedSize is the sum of the sizes of msgs, without record overhead.
func storedSize(msgs []StoredMsg) uint64 {
	var n uint64
	for i := range msgs {
		n += msgs[i].Size()
	}
	return n
}

// msgRecordsLen is the length appendMsgRecords will produce for msgs.
func msgRecordsLen(msgs []StoredMsg) int {
	var n int
	var prevSeq uint64
	var prevTime int64
	var tmp [binary.MaxVarintLen64]byte
	for i := range msgs {
		m := &msgs[i]
		n += 1 + binary.PutUvarint(tmp[:], m.Seq-prevSeq) + binary.PutVarint(tmp[:], m.Time-prevTime)
		for _, l := range [3]int{len(m.Subject), len(m.Header), len(m.Data)} {
			n += binary.PutUvarint(tmp[:], uint64(l)) + l
		}
		prevSeq, prevTime = m.Seq, m.Time
	}
	return n
}

func appendMsgRecords(dst []byte, msgs []StoredMsg) []byte {
	var prevSeq uint64
	var prevTime int64
	for i := range msgs {
		m := &msgs[i]
		dst = append(dst, recMsg)
		dst = binary.AppendUvarint(dst, m.Seq-prevSeq)
		dst = binary.AppendVarint(dst, m.Time-prevTime)
		dst = binary.AppendUvarint(dst, uint64(len(m.Subject)))
		dst = append(dst, m.Subject...)
		dst = binary.AppendUvarint(dst, uint64(len(m.Header)))
		dst = append(dst, m.Header...)
		dst = binary.AppendUvarint(dst, uint64(len(m.Data)))
		dst = append(dst, m.Data...)
		prevSeq, prevTime = m.Seq, m.Time
	}
	return dst
}

// appendTombstoneRecord encodes ts, which must be sorted by seq without
// duplicates.
func appendTombstoneRecord(dst []byte, ts []delRecord) []byte {
	dst = append(dst, recTombstones)
	dst = binary.AppendUvarint(dst, uint64(len(ts)))
	var prev uint64
	for _, t := range ts {
		dst = binary.AppendUvarint(dst, t.seq-prev)
		dst = binary.AppendUvarint(dst, t.size)
		prev = t.seq
	}
	return dst
}

func appendFirstRecord(dst []byte, first uint64, lastTime int64) []byte {
	dst = append(dst, recFirst)
	dst = binary.AppendUvarint(dst, first)
	return binary.AppendVarint(dst, lastTime)
}

// recordReader walks an encoded record buffer. The first error sticks.
type recordReader struct {
	buf []byte
	pos int
	err error
}

func (r *recordReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("record at byte %d: %s", r.pos, fmt.Sprintf(format, args...))
	}
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf[r.pos:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.pos += n
	return v
}

func (r *recordReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.buf[r.pos:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.pos += n
	return v
}

// bytes returns the next length-prefixed field, aliasing the buffer with
// its capacity capped, or nil when empty.
func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)-r.pos) {
		r.fail("field of %d bytes overruns the block", n)
		return nil
	}
	if n == 0 {
		return nil
	}
	end := r.pos + int(n)
	b := r.buf[r.pos:end:end]
	r.pos = end
	return b
}

var errNoRecords = errors.New("block holds no records")

// parseRecords decodes a record buffer. Returned messages alias buf.
func parseRecords(buf []byte) (blockRecords, error) {
	var out blockRecords
	r := recordReader{buf: buf}
	var prevSeq uint64
	var prevTime int64
	var prevSubj string
	for r.err == nil && r.pos < len(buf) {
		typ := buf[r.pos]
		r.pos++
		// A block is a run of msg records, or one tombstones record, or one
		// first record: nothing else is ever written.
		if len(out.tombs) > 0 || out.hasFirst || (len(out.msgs) > 0 && typ != recMsg) {
			r.fail("record type %d after a complete block", typ)
			break
		}
		switch typ {
		case recMsg:
			delta := r.uvarint()
			seq := prevSeq + delta
			if len(out.msgs) > 0 && delta != 1 {
				r.fail("message seq %d does not follow %d", seq, prevSeq)
			} else if len(out.msgs) == 0 && seq == 0 {
				r.fail("message seq 0")
			}
			tm := prevTime + r.varint()
			subj := r.bytes()
			hdr := r.bytes()
			data := r.bytes()
			if r.err == nil {
				// Batches often repeat one subject: share its string.
				if string(subj) != prevSubj {
					prevSubj = string(subj)
				}
				out.msgs = append(out.msgs, StoredMsg{Seq: seq, Time: tm, Subject: prevSubj, Header: hdr, Data: data})
			}
			prevSeq, prevTime = seq, tm
		case recTombstones:
			n := r.uvarint()
			// Each tombstone takes at least two bytes: refuse counts the
			// buffer cannot hold before allocating for them.
			if n == 0 || n > uint64(len(buf)-r.pos)/2 {
				r.fail("bad tombstone count %d", n)
				break
			}
			var prev uint64
			ts := make([]delRecord, 0, n)
			for i := uint64(0); i < n && r.err == nil; i++ {
				d := r.uvarint()
				if d == 0 {
					r.fail("tombstone seqs not ascending")
				}
				prev += d
				ts = append(ts, delRecord{seq: prev, size: r.uvarint()})
			}
			out.tombs = append(out.tombs, ts...)
		case recFirst:
			out.first = r.uvarint()
			out.lastTime = r.varint()
			out.hasFirst = true
		default:
			r.fail("unknown record type %d", typ)
		}
	}
	if r.err != nil {
		return blockRecords{}, r.err
	}
	if len(out.msgs) == 0 && len(out.tombs) == 0 && !out.hasFirst {
		return blockRecords{}, errNoRecords
	}
	return out, nil
}
