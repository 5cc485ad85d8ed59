package store

import "sort"

// blockIndex maps sequences to the WAL entries (blocks) holding them. It
// keeps 12 bytes per block: the block's key and the bytes of its messages
// still stored.
//
// A block's key is its first message's sequence, or, for a block without
// messages (tombstones, a first marker), LastSeq+1 when it was written.
// Keys never decrease, and a message block shares its key only with the
// message-less blocks written just before it, so the last block whose key
// is <= seq is the one holding seq.
type blockIndex struct {
	base uint64   // WAL index of keys[0]
	keys []uint64 // per block, in WAL order
	live []uint32 // per block, bytes of its messages still stored
}

// next is the WAL index the next block will get.
func (x *blockIndex) next() uint64 { return x.base + uint64(len(x.keys)) }

func (x *blockIndex) push(key uint64, live uint32) {
	x.keys = append(x.keys, key)
	x.live = append(x.live, live)
}

// find returns the position of the block holding seq, or -1 when seq is
// below every key.
func (x *blockIndex) find(seq uint64) int {
	return sort.Search(len(x.keys), func(i int) bool { return x.keys[i] > seq }) - 1
}

// liveBetween sums live over positions [from, to).
func (x *blockIndex) liveBetween(from, to int) uint64 {
	var n uint64
	for _, l := range x.live[from:to] {
		n += uint64(l)
	}
	return n
}

// trim forgets the blocks before position i, which hold nothing stored.
func (x *blockIndex) trim(i int) {
	x.base += uint64(i)
	x.keys = x.keys[i:]
	x.live = x.live[i:]
}
