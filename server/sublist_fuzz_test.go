package server

import (
	"strings"
	"testing"
)

// fuzzOps reads a fuzzer's bytes as a script of sublist operations.
type fuzzOps struct{ b []byte }

func (o *fuzzOps) next() int {
	if len(o.b) == 0 {
		return 0
	}
	c := o.b[0]
	o.b = o.b[1:]
	return int(c)
}

// subject reads one to four tokens; tokens may be wildcards or empty, so
// the result may be an invalid filter, as the fuzzer likes.
func (o *fuzzOps) subject() string {
	toks := []string{"a", "b", "c", "*", ">", ""}
	n := 1 + o.next()%4
	parts := make([]string, n)
	for i := range parts {
		parts[i] = toks[o.next()%len(toks)]
	}
	return strings.Join(parts, ".")
}

// FuzzSublist runs random inserts, removes and matches against a Sublist
// whose cache is kept warm, and checks every probe subject against the
// brute-force oracle after each operation: a result the cache should have
// dropped shows up as a difference.
func FuzzSublist(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 4, 0, 6, 1, 0})
	f.Add([]byte{0, 2, 0, 3, 1, 0, 1, 2, 4, 0, 0, 2, 3, 4, 2, 6, 2, 0, 5, 5})
	f.Add([]byte{1, 0, 4, 2, 3, 0, 0, 3, 5, 0, 1, 2, 0, 0, 0, 7, 5, 0, 4, 1})
	f.Add([]byte("insert remove match everything, mixed queues and wildcards"))
	f.Fuzz(func(t *testing.T, script []byte) {
		// Each operation checks every probe against the oracle; long
		// scripts only slow the fuzzer (TestSublistRandom runs long ones).
		if len(script) > 96 {
			script = script[:96]
		}
		ops := &fuzzOps{b: script}
		m := newSublistModel(t)
		queues := []string{"", "", "q1", "q2", "q.*"}
		for len(ops.b) > 0 {
			subject := ""
			switch k := ops.next() % 8; {
			case k < 4 || len(m.live) == 0:
				m.insert(ops.subject(), queues[ops.next()%len(queues)])
			case k < 6:
				m.remove(ops.next() % len(m.live))
			case k == 6:
				subject = ops.subject()
			default:
				m.warm()
			}
			m.check(subject)
		}
		m.finish()
	})
}
