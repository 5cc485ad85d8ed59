package jetstore

// deadlineHeap orders ack deadlines, earliest first; an entry is stale
// when its message is no longer pending or its deadline moved. It is a
// binary heap on the slice, typed so that pushing an entry (one per
// delivery) does not box it in an interface and allocate.
type deadlineHeap []deadlineEntry

type deadlineEntry struct {
	at  int64
	seq uint64
}

// push adds e.
func (h *deadlineHeap) push(e deadlineEntry) {
	*h = append(*h, e)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if s[parent].at <= s[i].at {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

// pop removes and returns the earliest entry; h is not empty.
func (h *deadlineHeap) pop() deadlineEntry {
	s := *h
	e := s[0]
	n := len(s) - 1
	s[0] = s[n]
	*h = s[:n]
	h.down(0)
	return e
}

// init orders entries appended in any order.
func (h *deadlineHeap) init() {
	for i := len(*h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// down moves the entry at i below the entries earlier than it.
func (h *deadlineHeap) down(i int) {
	s := *h
	for {
		least := i
		if l := 2*i + 1; l < len(s) && s[l].at < s[least].at {
			least = l
		}
		if r := 2*i + 2; r < len(s) && s[r].at < s[least].at {
			least = r
		}
		if least == i {
			return
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
}
