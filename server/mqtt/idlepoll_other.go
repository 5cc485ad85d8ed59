//go:build !linux

package mqtt

// Elsewhere an idle connection keeps its read loop.
type idlePoller struct{}

const (
	parksIdle = false
	idleGrace = 0
)

func (*idlePoller) usable() bool                       { return false }
func (*idlePoller) park(*conn) bool                    { return false }
func (*idlePoller) take(id uint64, expired bool) *conn { return nil }
func (*idlePoller) stop()                              {}
