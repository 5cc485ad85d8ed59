package server

// subSet is the plain subscribers of one subject-index node. Most nodes
// have exactly one (a device's own topic, a service's inbox), so it is held
// inline and a map is made only for a second: ten thousand devices each
// subscribed to a topic of their own would otherwise carry ten thousand
// one-entry maps, about 280 bytes each. The zero value is empty.
type subSet struct {
	one  *subscription
	more map[*subscription]struct{}
}

func (s *subSet) len() int {
	n := len(s.more)
	if s.one != nil {
		n++
	}
	return n
}

// add puts sub in the set; false if it was there already.
func (s *subSet) add(sub *subscription) bool {
	if s.has(sub) {
		return false
	}
	if s.one == nil {
		s.one = sub
		return true
	}
	if s.more == nil {
		s.more = make(map[*subscription]struct{})
	}
	s.more[sub] = struct{}{}
	return true
}

func (s *subSet) has(sub *subscription) bool {
	if s.one == sub {
		return true
	}
	_, ok := s.more[sub]
	return ok
}

// remove takes sub out of the set; false if it was not there.
func (s *subSet) remove(sub *subscription) bool {
	if s.one == sub {
		s.one = nil
		return true
	}
	if _, ok := s.more[sub]; !ok {
		return false
	}
	delete(s.more, sub)
	if len(s.more) == 0 {
		s.more = nil
	}
	return true
}

// appendTo appends the set's subscribers to dst.
func (s *subSet) appendTo(dst []*subscription) []*subscription {
	if s.one != nil {
		dst = append(dst, s.one)
	}
	for sub := range s.more {
		dst = append(dst, sub)
	}
	return dst
}
