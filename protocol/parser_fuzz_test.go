package protocol

import (
	"reflect"
	"testing"
)

// fuzzLimits are the Parser limits the split property is checked under:
// the defaults, and small ones that short fuzz inputs can exceed.
var fuzzLimits = []Parser{{}, {MaxControlLine: 24, MaxPayload: 16}}

func FuzzParseSplit(f *testing.F) {
	f.Add([]byte("PUB foo 5\r\nhello\r\n"), 3, 12)
	f.Add([]byte("SUB foo.* q 1\r\nPING\r\n"), 0, 5)
	for _, tc := range parseCases {
		f.Add([]byte(tc.in), len(tc.in)/3, len(tc.in)*2/3)
	}
	f.Fuzz(func(t *testing.T, in []byte, cut, cut2 int) {
		cut = int(uint(cut) % uint(len(in)+1))
		cut2 = int(uint(cut2) % uint(len(in)+1))
		if cut2 < cut {
			cut, cut2 = cut2, cut
		}
		for _, limits := range fuzzLimits {
			whole, errW := feed(&Parser{MaxControlLine: limits.MaxControlLine, MaxPayload: limits.MaxPayload}, in)
			check := func(how string, chunks ...[]byte) {
				t.Helper()
				split, errS := feed(&Parser{MaxControlLine: limits.MaxControlLine, MaxPayload: limits.MaxPayload}, chunks...)
				if errW != errS || !sameCalls(whole, split) {
					t.Fatalf("limits %d/%d, %s: %v, %v; whole gave %v, %v",
						limits.MaxControlLine, limits.MaxPayload, how, split, errS, whole, errW)
				}
			}
			check("split at cut", in[:cut], in[cut:])
			check("split at cut, cut2", in[:cut], in[cut:cut2], in[cut2:])
		}
	})
}

func sameCalls(a, b []call) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
