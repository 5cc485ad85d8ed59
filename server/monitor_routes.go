package server

import (
	"log/slog"
	"net/url"
	"sync"
)

// lateRoutes are the monitoring endpoints of parts wired beside the
// broker, which register them once they run (possibly after the
// monitoring port opened): the leaf links' /leafz, the forwards' /uplinkz.
var lateRoutes = []string{"/leafz", "/uplinkz"}

// extraRoutes holds what SetMonitorRoute registered.
type extraRoutes struct {
	mu     sync.Mutex
	routes map[string]func(url.Values) any
}

// SetMonitorRoute serves the JSON of f at path (one of /leafz and
// /uplinkz) on the monitoring port.
func (s *Server) SetMonitorRoute(path string, f func(url.Values) any) {
	s.extra.mu.Lock()
	defer s.extra.mu.Unlock()
	if s.extra.routes == nil {
		s.extra.routes = make(map[string]func(url.Values) any)
	}
	s.extra.routes[path] = f
}

// addLateRoutes adds the late endpoints to routes; until registered they
// answer 404 as a nats-server without the feature would.
func (s *Server) addLateRoutes(routes map[string]httpRoute) {
	for _, path := range lateRoutes {
		routes[path] = func(q url.Values) httpReply {
			s.extra.mu.Lock()
			f := s.extra.routes[path]
			s.extra.mu.Unlock()
			if f == nil {
				return jsonReply(404, map[string]string{"error": path + " is not enabled: no leafnodes.remotes configured"})
			}
			return jsonReply(200, f(q))
		}
	}
}

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }
