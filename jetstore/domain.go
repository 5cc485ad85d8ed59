package jetstore

import (
	"fmt"

	"github.com/wrenmq/wren/protocol"
)

// A JetStream domain (Config.Domain, nats-server's jetstream.domain) names
// the gateway's stream layer for clients elsewhere: across a leaf link, a
// hub client reaches it as $JS.<domain>.API.> (nats.go's
// jetstream.NewWithDomain), while local clients keep using $JS.API.>.
// Requests on the domain's prefix are served as the same request on
// $JS.API; answers go to the request's reply subject, which the hub's
// interest carries back.

// subscribeDomain serves $JS.<domain>.API.> as $JS.API.>.
func (js *JetStream) subscribeDomain(domain string) (func(), error) {
	prefix := "$JS." + domain + ".API."
	if !protocol.ValidLiteral(prefix + "INFO") {
		return nil, fmt.Errorf("jetstore: %q is not a JetStream domain name", domain)
	}
	return js.bus.Subscribe(prefix+">", "", func(m *protocol.Msg) {
		rest := m.Subject[len(prefix):]
		dm := *m
		dm.Subject = append(append(make([]byte, 0, len(apiPrefix)+len(rest)), apiPrefix...), rest...)
		js.onAPI(&dm)
	})
}
