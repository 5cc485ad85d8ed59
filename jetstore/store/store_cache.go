package store

import "container/list"

// blockCache keeps recently decoded blocks by WAL index, least recently
// used first out, within a byte budget. The newest block stays even when
// it alone exceeds the budget, so reading a big block message by message
// decodes it once. Not safe for concurrent use.
type blockCache struct {
	max  int
	size int
	ll   list.List // of *cachedBlock, most recent at the front
	m    map[uint64]*list.Element
}

type cachedBlock struct {
	idx  uint64
	recs *blockRecords
	size int
}

func newBlockCache(max int) *blockCache {
	return &blockCache{max: max, m: make(map[uint64]*list.Element)}
}

func (c *blockCache) get(idx uint64) *blockRecords {
	e, ok := c.m[idx]
	if !ok {
		return nil
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cachedBlock).recs
}

func (c *blockCache) put(idx uint64, recs *blockRecords, size int) {
	if e, ok := c.m[idx]; ok {
		c.ll.MoveToFront(e)
		return
	}
	c.m[idx] = c.ll.PushFront(&cachedBlock{idx: idx, recs: recs, size: size})
	c.size += size
	for c.size > c.max && c.ll.Len() > 1 {
		e := c.ll.Back()
		b := e.Value.(*cachedBlock)
		c.ll.Remove(e)
		delete(c.m, b.idx)
		c.size -= b.size
	}
}
