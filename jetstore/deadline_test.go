package jetstore

import (
	"math"
	"testing"
	"time"
)

func TestDeadlineAt(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name string
		d    time.Duration
		want int64
	}{
		{"zero", 0, now.UnixNano()},
		{"second", time.Second, now.UnixNano() + int64(time.Second)},
		{"max duration saturates", math.MaxInt64, math.MaxInt64},
		{"huge hours saturate", 2562047 * time.Hour, math.MaxInt64},
		{"negative", -time.Second, now.UnixNano() - int64(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deadlineAt(now, tt.d); got != tt.want {
				t.Errorf("deadlineAt(now, %d) = %d; want %d", tt.d, got, tt.want)
			}
		})
	}
}
