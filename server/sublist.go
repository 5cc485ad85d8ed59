package server

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/wrenmq/wren/protocol"
)

// ErrInvalidSubject is returned by Sublist.Insert for a subject that is not a
// valid filter, or a queue name that is not a valid literal.
var ErrInvalidSubject = errors.New("invalid subject")

// maxCache bounds the number of cached match results.
const maxCache = 1024

// maxTokens is how many tokens are split without allocating.
const maxTokens = 32

// queueGroup is the members of one queue group that match a subject.
type queueGroup struct {
	name string
	subs []*subscription
}

// matchResult is what a subject matches: plain subscribers each get a copy;
// each queue group gets one copy, delivered to one of its members. A result
// is immutable once published: updates build a new one.
type matchResult struct {
	psubs []*subscription
	qsubs []queueGroup
}

func (r *matchResult) empty() bool { return len(r.psubs) == 0 && len(r.qsubs) == 0 }

var emptyResult = &matchResult{}

type sublistLevel struct {
	nodes    map[string]*sublistNode
	pwc, fwc *sublistNode
	up       *sublistNode // the node this level hangs from; nil for the root
}

type sublistNode struct {
	next  *sublistLevel
	psubs subSet
	qsubs map[string]map[*subscription]struct{}
	// up and token locate the node for pruning: the level holding it and
	// its key there ("*" and ">" for the wildcard nodes).
	up    *sublistLevel
	token string
}

func (n *sublistNode) isEmpty() bool {
	return n.psubs.len() == 0 && len(n.qsubs) == 0 && (n.next == nil || n.next.isEmpty())
}

func (l *sublistLevel) isEmpty() bool {
	return len(l.nodes) == 0 && l.pwc == nil && l.fwc == nil
}

// Sublist is the subject index: a trie of subject tokens with '*' and '>'
// nodes per level, fronted by a bounded cache of match results. Every change
// bumps a generation counter, so connections can keep a lock-free cache of
// their own and drop it when the generation moves.
type Sublist struct {
	mu    sync.RWMutex
	root  *sublistLevel
	cache map[string]*matchResult
	count int
	genid atomic.Uint64

	matches, hits, inserts, removes atomic.Uint64
}

// NewSublist returns an empty index.
func NewSublist() *Sublist {
	return &Sublist{root: &sublistLevel{}, cache: make(map[string]*matchResult)}
}

// tokenize splits s on '.' into buf's backing array when it fits.
func tokenize(s string, buf *[maxTokens]string) []string {
	toks := buf[:0]
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			toks = append(toks, s[start:i])
			start = i + 1
		}
	}
	return append(toks, s[start:])
}

// Insert adds sub to the index.
func (s *Sublist) Insert(sub *subscription) error {
	if !protocol.ValidFilter(sub.subject) || (sub.queue != "" && !protocol.ValidLiteral(sub.queue)) {
		return ErrInvalidSubject
	}
	var tb [maxTokens]string
	toks := tokenize(sub.subject, &tb)

	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.root
	var n *sublistNode
	for i, t := range toks {
		switch {
		case t == "*":
			if l.pwc == nil {
				l.pwc = &sublistNode{up: l, token: "*"}
			}
			n = l.pwc
		case t == ">" && i == len(toks)-1:
			if l.fwc == nil {
				l.fwc = &sublistNode{up: l, token: ">"}
			}
			n = l.fwc
		default:
			if l.nodes == nil {
				l.nodes = make(map[string]*sublistNode)
			}
			n = l.nodes[t]
			if n == nil {
				n = &sublistNode{up: l, token: t}
				l.nodes[t] = n
			}
		}
		if i < len(toks)-1 {
			if n.next == nil {
				n.next = &sublistLevel{up: n}
			}
			l = n.next
		}
	}
	if sub.queue == "" {
		if !n.psubs.add(sub) {
			return nil
		}
	} else {
		if n.qsubs == nil {
			n.qsubs = make(map[string]map[*subscription]struct{})
		}
		set := n.qsubs[sub.queue]
		if set == nil {
			set = make(map[*subscription]struct{})
			n.qsubs[sub.queue] = set
		}
		if _, dup := set[sub]; dup {
			return nil
		}
		set[sub] = struct{}{}
	}
	sub.node = n
	s.count++
	s.inserts.Add(1)
	s.invalidate(sub.subject)
	return nil
}

// Remove takes sub out of the index; it reports whether sub was there.
func (s *Sublist) Remove(sub *subscription) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.removeLocked(sub) {
		return false
	}
	s.invalidate(sub.subject)
	return true
}

// RemoveBatch takes subs out of the index under one lock, invalidating the
// result cache once: a closing connection's subscriptions leave at the
// cost of their trie walks, however many there are and however full the
// cache is. It returns those that were in the index, in subs' backing
// array.
func (s *Sublist) RemoveBatch(subs []*subscription) []*subscription {
	removed := subs[:0]
	if len(subs) == 0 {
		return removed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wild := false
	for _, sub := range subs {
		if !s.removeLocked(sub) {
			continue
		}
		removed = append(removed, sub)
		if protocol.IsFilter(sub.subject) {
			wild = true
		} else if !wild {
			delete(s.cache, sub.subject)
		}
	}
	if len(removed) == 0 {
		return removed
	}
	s.genid.Add(1)
	if wild {
		clear(s.cache)
	}
	return removed
}

// removeLocked takes sub out of the trie; s.mu is held. The caller
// invalidates the cache. It starts from the node sub was inserted at and
// prunes upwards, so it costs no walk from the root.
func (s *Sublist) removeLocked(sub *subscription) bool {
	n := sub.node
	if n == nil {
		return false
	}
	if sub.queue == "" {
		if !n.psubs.remove(sub) {
			return false
		}
	} else {
		q := n.qsubs[sub.queue]
		if _, ok := q[sub]; !ok {
			return false
		}
		delete(q, sub)
		if len(q) == 0 {
			delete(n.qsubs, sub.queue)
		}
	}
	sub.node = nil
	// Prune empty nodes and levels bottom-up.
	for nd := n; nd != nil; {
		if nd.next != nil && nd.next.isEmpty() {
			nd.next = nil
		}
		if !nd.isEmpty() {
			break
		}
		lv := nd.up
		switch nd {
		case lv.pwc:
			lv.pwc = nil
		case lv.fwc:
			lv.fwc = nil
		default:
			delete(lv.nodes, nd.token)
		}
		nd = lv.up
	}
	s.count--
	s.removes.Add(1)
	return true
}

// invalidateScanMax is the largest cache invalidate scans for the subjects
// a wildcard filter matches. A fuller cache is cleared instead: matching
// every cached subject against the filter costs far more than clearing the
// map (with a full cache, 100,000 wildcard subscriptions took seconds to
// remove), and every change drops the connections' own caches anyway, so
// the shared one refills from the subjects in use.
const invalidateScanMax = 64

// invalidate drops cached results the filter may affect. s.mu is held.
func (s *Sublist) invalidate(filter string) {
	s.genid.Add(1)
	if !protocol.IsFilter(filter) {
		delete(s.cache, filter)
		return
	}
	if len(s.cache) > invalidateScanMax {
		clear(s.cache)
		return
	}
	for subj := range s.cache {
		if protocol.MatchLiteral(subj, filter) {
			delete(s.cache, subj)
		}
	}
}

// Match returns what subject matches. The result must not be modified.
func (s *Sublist) Match(subject string) *matchResult {
	return s.match(subject)
}

// matchBytes is Match for a byte slice; it allocates only on a cache miss.
func (s *Sublist) matchBytes(subject []byte) *matchResult {
	s.matches.Add(1)
	s.mu.RLock()
	r, ok := s.cache[string(subject)]
	s.mu.RUnlock()
	if ok {
		s.hits.Add(1)
		return r
	}
	return s.match(string(subject))
}

// transient returns b as a string without copying, for a call that keeps
// nothing of it (matchInto keeps only subscriptions and the index's own
// queue names).
func transient(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// matchInto fills r with what subject matches, reusing r's slices and
// bypassing the cache: for subjects that are never cached (see cacheable),
// matched once each, so that matching them allocates nothing.
func (s *Sublist) matchInto(subject string, r *matchResult) {
	clear(r.psubs)
	r.psubs = r.psubs[:0]
	for i := range r.qsubs {
		clear(r.qsubs[i].subs)
	}
	clear(r.qsubs)
	r.qsubs = r.qsubs[:0]
	s.matches.Add(1)
	var tb [maxTokens]string
	toks := tokenize(subject, &tb)
	for _, t := range toks {
		if t == "" {
			return
		}
	}
	s.mu.RLock()
	matchLevel(s.root, toks, r)
	s.mu.RUnlock()
}

func (s *Sublist) match(subject string) *matchResult {
	var tb [maxTokens]string
	toks := tokenize(subject, &tb)
	for _, t := range toks {
		if t == "" {
			// An empty token ("", "a.", "a..b") matches nothing. The trie
			// would let a wildcard match it, and then the result could not
			// be evicted: invalidate relies on protocol.MatchLiteral, which
			// never matches empty tokens.
			return emptyResult
		}
	}
	s.mu.RLock()
	if r, ok := s.cache[subject]; ok {
		s.mu.RUnlock()
		return r
	}
	gen := s.genid.Load()
	r := &matchResult{}
	matchLevel(s.root, toks, r)
	s.mu.RUnlock()
	if r.empty() {
		r = emptyResult
	}

	if !cacheable(subject) {
		return r
	}
	s.mu.Lock()
	if s.genid.Load() == gen {
		if len(s.cache) >= maxCache {
			// Evict an arbitrary eighth; map iteration order is random.
			n := maxCache / 8
			for k := range s.cache {
				delete(s.cache, k)
				if n--; n == 0 {
					break
				}
			}
		}
		s.cache[subject] = r
	}
	s.mu.Unlock()
	return r
}

// inboxPrefix starts the reply subjects clients make up, one per request
// (and per JetStream publish); ackPrefix (client.go) the reply subject of
// each message a JetStream consumer delivers, which its ack is published
// to. Each is used about once, so caching their results would only push
// useful entries out, and cost an eviction per message.
const inboxPrefix = "_INBOX."

// cacheable reports whether a match result for subject is worth caching.
func cacheable[T string | []byte](subject T) bool {
	return !hasPrefix(subject, inboxPrefix) && !hasPrefix(subject, ackPrefix)
}

func hasPrefix[T string | []byte](s T, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

func matchLevel(l *sublistLevel, toks []string, r *matchResult) {
	for i, t := range toks {
		if l == nil {
			return
		}
		if l.fwc != nil {
			addNode(l.fwc, r)
		}
		if l.pwc != nil {
			if i == len(toks)-1 {
				addNode(l.pwc, r)
			} else {
				matchLevel(l.pwc.next, toks[i+1:], r)
			}
		}
		n := l.nodes[t]
		if n == nil {
			return
		}
		if i == len(toks)-1 {
			addNode(n, r)
			return
		}
		l = n.next
	}
}

func addNode(n *sublistNode, r *matchResult) {
	r.psubs = n.psubs.appendTo(r.psubs)
	for name, q := range n.qsubs {
		gi := -1
		for i := range r.qsubs {
			if r.qsubs[i].name == name {
				gi = i
				break
			}
		}
		if gi < 0 {
			r.qsubs = append(r.qsubs, queueGroup{name: name})
			gi = len(r.qsubs) - 1
		}
		for sub := range q {
			r.qsubs[gi].subs = append(r.qsubs[gi].subs, sub)
		}
	}
}

// Count returns the number of subscriptions in the index.
func (s *Sublist) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// SublistStats are counters for monitoring.
type SublistStats struct {
	Subscriptions int
	Cached        int
	Inserts       uint64
	Removes       uint64
	Matches       uint64
	CacheHits     uint64
}

// Stats returns the index's counters.
func (s *Sublist) Stats() SublistStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return SublistStats{
		Subscriptions: s.count,
		Cached:        len(s.cache),
		Inserts:       s.inserts.Load(),
		Removes:       s.removes.Load(),
		Matches:       s.matches.Load(),
		CacheHits:     s.hits.Load(),
	}
}
