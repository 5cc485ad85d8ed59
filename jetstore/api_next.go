package jetstore

import (
	"runtime/debug"
	"strings"
	"unsafe"

	"github.com/wrenmq/wren/protocol"
)

// nextPrefix is where pull requests arrive:
// $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>.
const nextPrefix = apiPrefix + "CONSUMER.MSG.NEXT."

// serveNextInline serves a pull request (CONSUMER.MSG.NEXT) on the
// publisher's goroutine instead of queueing it for the API workers: it
// only parses the small request and leaves it in the consumer's inbox,
// which never blocks, so a Fetch costs one hand-off (to the consumer)
// instead of two. It reports false for any other subject, which then
// takes the queued path.
func (js *JetStream) serveNextInline(m *protocol.Msg) bool {
	subject := unsafe.String(unsafe.SliceData(m.Subject), len(m.Subject))
	rest, ok := strings.CutPrefix(subject, nextPrefix)
	if !ok {
		return false
	}
	stream, name, ok := strings.Cut(rest, ".")
	if !ok || stream == "" || name == "" || strings.IndexByte(name, '.') >= 0 {
		return false // the queued path answers it as the API does
	}
	js.apiTotal.Add(1)
	reply := string(m.Reply)
	defer func() {
		if r := recover(); r != nil {
			js.log.Error("API request failed", "subject", string(m.Subject), "panic", r, "stack", string(debug.Stack()))
			js.fail(reply, errInternal())
		}
	}()
	js.apiNext(reply, stream, name, m.Data, m.Sender, true)
	return true
}
