package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// A block is one WAL entry: everything one Append, Delete or TruncateFront
// call wrote, checked and compressed as a unit.
//
//	byte 0        version, blockVersion
//	byte 1        flags: blockFlagS2 when the body is S2-compressed; the
//	              other bits are zero
//	bytes 2..n-4  body: records (see record.go), or their S2 block encoding
//	last 4 bytes  CRC-32C (Castagnoli) of bytes 0..n-4, little endian
const (
	blockVersion    = 1
	blockFlagS2     = 1 << 0
	blockHeaderLen  = 2
	blockTrailerLen = 4
	blockMinLen     = blockHeaderLen + blockTrailerLen
)

// blockEncoder builds blocks in reusable buffers. Not safe for concurrent
// use.
type blockEncoder struct {
	buf  []byte
	comp []byte
}

// keepBufCap is the buffer capacity an encoder keeps between blocks; a
// larger buffer left by an unusually big batch is released.
const keepBufCap = 1 << 20

// begin returns a buffer holding a block header; append records to it and
// pass it to seal.
func (e *blockEncoder) begin() []byte {
	return append(e.buf[:0], blockVersion, 0)
}

// seal compresses the records in buf when asked and worthwhile, appends the
// checksum and returns the finished block, valid until the next begin.
// It returns ErrTooLarge when the records exceed MaxBlockSize.
func (e *blockEncoder) seal(buf []byte, compress bool) ([]byte, error) {
	e.buf = buf
	if len(buf)-blockHeaderLen > MaxBlockSize {
		return nil, ErrTooLarge
	}
	if compress {
		body := buf[blockHeaderLen:]
		n := s2.MaxEncodedLen(len(body))
		if cap(e.comp) < n {
			e.comp = make([]byte, n)
		}
		c := s2.Encode(e.comp[:n], body)
		if len(c) < len(body) {
			buf = append(buf[:blockHeaderLen], c...)
			buf[1] |= blockFlagS2
		}
	}
	buf = binary.LittleEndian.AppendUint32(buf, Checksum(buf))
	e.buf = buf
	return buf, nil
}

// trim drops buffers grown past keepBufCap.
func (e *blockEncoder) trim() {
	if cap(e.buf) > keepBufCap {
		e.buf = nil
	}
	if cap(e.comp) > keepBufCap {
		e.comp = nil
	}
}

// entryChecksumOK reports whether entry is long enough to be a block and
// its checksum matches. It does not look further.
func entryChecksumOK(entry []byte) bool {
	if len(entry) < blockMinLen {
		return false
	}
	n := len(entry) - blockTrailerLen
	return Checksum(entry[:n]) == binary.LittleEndian.Uint32(entry[n:])
}

var errChecksum = errors.New("checksum mismatch")

// decodeBlock verifies and decodes one WAL entry. The records alias entry
// or a buffer decodeBlock allocates; decoded is the size of the records'
// encoding, for cache accounting. Errors describe the damage and do not
// wrap ErrCorrupt: callers add where it was found.
func decodeBlock(entry []byte) (recs blockRecords, decoded int, err error) {
	if len(entry) < blockMinLen {
		return blockRecords{}, 0, fmt.Errorf("block of %d bytes is shorter than %d", len(entry), blockMinLen)
	}
	if !entryChecksumOK(entry) {
		return blockRecords{}, 0, errChecksum
	}
	if v := entry[0]; v != blockVersion {
		return blockRecords{}, 0, fmt.Errorf("unknown block version %d", v)
	}
	flags := entry[1]
	if flags&^blockFlagS2 != 0 {
		return blockRecords{}, 0, fmt.Errorf("unknown block flags %#x", flags)
	}
	body := entry[blockHeaderLen : len(entry)-blockTrailerLen]
	if flags&blockFlagS2 != 0 {
		n, err := s2.DecodedLen(body)
		if err != nil {
			return blockRecords{}, 0, fmt.Errorf("s2 length: %v", err)
		}
		if n > MaxBlockSize {
			return blockRecords{}, 0, fmt.Errorf("block claims %d decoded bytes, over the %d limit", n, MaxBlockSize)
		}
		dec, err := s2.Decode(make([]byte, n), body)
		if err != nil {
			return blockRecords{}, 0, fmt.Errorf("s2 decode: %v", err)
		}
		body = dec
	} else if len(body) > MaxBlockSize {
		return blockRecords{}, 0, fmt.Errorf("block of %d bytes is over the %d limit", len(body), MaxBlockSize)
	}
	recs, err = parseRecords(body)
	if err != nil {
		return blockRecords{}, 0, err
	}
	return recs, len(body), nil
}
