package mqtt

import (
	"bytes"
	"sync"
)

// retainedIndex holds the retained message of each subject in a token trie,
// so a subscription finds the retained messages its filter matches by
// walking the levels it names, never by scanning them all.
type retainedIndex struct {
	mu   sync.RWMutex
	root rnode
	n    int
}

type rnode struct {
	next map[string]*rnode
	msg  *message
}

// set stores m as subject's retained message, or clears it when m is nil.
// It reports whether anything changed.
func (ri *retainedIndex) set(subject []byte, m *message) bool {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	n := &ri.root
	path := make([]*rnode, 0, 8)
	for tok, rest := firstToken(subject); ; tok, rest = firstToken(rest) {
		path = append(path, n)
		c := n.next[string(tok)]
		if c == nil {
			if m == nil {
				return false
			}
			if n.next == nil {
				n.next = make(map[string]*rnode)
			}
			c = &rnode{}
			n.next[string(tok)] = c
		}
		n = c
		if rest == nil {
			break
		}
	}
	if m == nil {
		if n.msg == nil {
			return false
		}
		n.msg = nil
		ri.n--
		ri.prune(subject, path)
		return true
	}
	if n.msg == nil {
		ri.n++
	}
	n.msg = m
	return true
}

// prune removes the empty nodes left on subject's path.
func (ri *retainedIndex) prune(subject []byte, path []*rnode) {
	toks := bytes.Split(subject, []byte{'.'})
	for i := len(toks) - 1; i >= 0; i-- {
		parent := path[i]
		c := parent.next[string(toks[i])]
		if c == nil || c.msg != nil || len(c.next) > 0 {
			return
		}
		delete(parent.next, string(toks[i]))
	}
}

// match calls fn for each retained message whose subject matches the NATS
// filter f. As MQTT requires, a wildcard in the first level does not match
// subjects that begin with '$' [MQTT-4.7.2-1].
func (ri *retainedIndex) match(f []byte, fn func(m *message)) {
	ri.mu.RLock()
	defer ri.mu.RUnlock()
	ri.walk(&ri.root, f, true, fn)
}

func (ri *retainedIndex) walk(n *rnode, f []byte, first bool, fn func(m *message)) {
	tok, rest := firstToken(f)
	switch string(tok) {
	case ">":
		for k, c := range n.next {
			if first && len(k) > 0 && k[0] == '$' {
				continue
			}
			all(c, fn)
		}
	case "*":
		for k, c := range n.next {
			if first && len(k) > 0 && k[0] == '$' {
				continue
			}
			ri.step(c, rest, fn)
		}
	default:
		if c := n.next[string(tok)]; c != nil {
			ri.step(c, rest, fn)
		}
	}
}

func (ri *retainedIndex) step(c *rnode, rest []byte, fn func(m *message)) {
	if rest == nil {
		if c.msg != nil {
			fn(c.msg)
		}
		return
	}
	ri.walk(c, rest, false, fn)
}

// all calls fn for every message at or below n.
func all(n *rnode, fn func(m *message)) {
	if n.msg != nil {
		fn(n.msg)
	}
	for _, c := range n.next {
		all(c, fn)
	}
}

// firstToken splits the first token off a subject; rest is nil after the
// last token.
func firstToken(s []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, nil
}
