package server

import (
	"fmt"
	"strings"
	"testing"
)

// benchSublist returns an index of 10,000 literal subscriptions in a
// 100×100 tree plus a few wildcards, with the cache warm for probes.
func benchSublist(b *testing.B) *Sublist {
	b.Helper()
	sl := NewSublist()
	for i := range 100 {
		for j := range 100 {
			if err := sl.Insert(slSub(fmt.Sprintf("t%d.s%d.c.d", i, j), "")); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, f := range []string{"a.b.c.d", "a.*.c.d", "a.>", "*.*.*.d"} {
		if err := sl.Insert(slSub(f, "")); err != nil {
			b.Fatal(err)
		}
	}
	return sl
}

var matchCases = []struct{ name, subj string }{
	{"literal", "a.b.c.d"},    // four filters, one of them literal
	{"wildcard", "a.x.c.d"},   // three wildcard filters
	{"miss", "z.z.z.z"},       // nothing
	{"deep", "t42.s17.c.d"},   // one literal among 10,000, one wildcard
	{"tokens", "a.b.c.d.e.f"}, // past the literal tree, into '>'
}

func BenchmarkSublistMatch(b *testing.B) {
	sl := benchSublist(b)
	for _, bc := range matchCases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sl.Match(bc.subj)
			}
		})
	}
	// The walk a cache miss pays, without the cache.
	for _, bc := range matchCases {
		b.Run("trie/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var tb [maxTokens]string
			toks := tokenize(bc.subj, &tb)
			for b.Loop() {
				var r matchResult
				sl.mu.RLock()
				matchLevel(sl.root, toks, &r)
				sl.mu.RUnlock()
			}
		})
	}
	// Many read loops missing their own caches at once: the shared
	// cache's read lock is the contended part.
	b.Run("parallel/literal", func(b *testing.B) {
		b.ReportAllocs()
		subj := []byte("a.b.c.d")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sl.matchBytes(subj)
			}
		})
	})
}

func BenchmarkSublistInsertRemove(b *testing.B) {
	for _, bc := range []struct{ name, filter, queue string }{
		{"literal", "t7.s7.c.new", ""},
		{"wildcard", "t7.*.c.>", ""},
		{"queue", "t7.s7.c.d", "q"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sl := benchSublist(b)
			// A full result cache, as a busy server has: a wildcard change
			// has to visit every entry.
			for i := range maxCache {
				sl.Match(fmt.Sprintf("t%d.s%d.c.d", i%100, i/100))
			}
			sub := slSub(bc.filter, bc.queue)
			b.ReportAllocs()
			for b.Loop() {
				if err := sl.Insert(sub); err != nil {
					b.Fatal(err)
				}
				if !sl.Remove(sub) {
					b.Fatal("Remove = false")
				}
			}
		})
	}
}

// BenchmarkPubDeliver parses one PUB of 128 bytes and delivers it to every
// subscriber's outbound buffer, as a read loop does for each message.
func BenchmarkPubDeliver(b *testing.B) {
	payload := strings.Repeat("x", 128)
	for _, bc := range []struct {
		name  string
		subs  int
		queue string
		hdr   bool
	}{
		{"subs=1", 1, "", false},
		{"subs=10", 10, "", false},
		{"subs=10/queue", 10, "q", false},
		{"subs=1/headers", 1, "", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := loopServer(b, Options{})
			connect := ""
			if bc.hdr {
				connect = `{"headers":true,"verbose":false}`
			}
			pub := loopClient(b, s, connect)
			subs := make([]*client, bc.subs)
			for i := range subs {
				subs[i] = loopClient(b, s, connect)
				op := "SUB bench.subject 1\r\n"
				if bc.queue != "" {
					op = "SUB bench.subject " + bc.queue + " 1\r\n"
				}
				send(b, subs[i], op)
			}
			msg := []byte("PUB bench.subject " + fmt.Sprint(len(payload)) + "\r\n" + payload + "\r\n")
			if bc.hdr {
				const h = "NATS/1.0\r\nA: b\r\n\r\n"
				msg = fmt.Appendf(nil, "HPUB bench.subject %d %d\r\n%s%s\r\n", len(h), len(h)+len(payload), h, payload)
			}
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range subs {
					c.out.reset()
				}
				if err := pub.parser.Parse(msg, pub); err != nil {
					b.Fatal(err)
				}
				pub.pc.flush()
			}
		})
	}
}

// BenchmarkPubDeliverLarge delivers one PUB of 16 KiB to four TCP
// subscribers' queues, with the payload shared from the read buffer (as
// the read loop does) and copied into each queue (as before, and as for
// payloads under shareMin): the copies saved are the difference.
func BenchmarkPubDeliverLarge(b *testing.B) {
	const size = 16 << 10
	msg := []byte("PUB bench.large " + fmt.Sprint(size) + "\r\n" + strings.Repeat("x", size) + "\r\n")
	for _, shared := range []bool{true, false} {
		b.Run(map[bool]string{true: "shared", false: "copied"}[shared], func(b *testing.B) {
			s := loopServer(b, Options{})
			pub := loopClient(b, s, "")
			subs := make([]*client, 4)
			for i := range subs {
				subs[i] = loopClient(b, s, "")
				subs[i].raw = idleRaw{}
				send(b, subs[i], "SUB bench.large 1\r\n")
			}
			rb := getReadBuf(64 << 10)
			n := copy(rb.b, msg)
			b.SetBytes(int64(len(subs) * size))
			b.ReportAllocs()
			for b.Loop() {
				for _, c := range subs {
					c.out.reset()
				}
				if shared {
					pub.pc.rb = rb
				}
				if err := pub.parser.Parse(rb.b[:n], pub); err != nil {
					b.Fatal(err)
				}
				pub.pc.rb = nil
				pub.pc.flush()
			}
		})
	}
}
