package conf

import "time"

// Shutdown says how the daemon stops: gracefully on SIGTERM or SIGINT, and
// in lame-duck mode on SIGUSR2 (or wren --signal ldm=PID), which moves
// clients to another server before stopping.
type Shutdown struct {
	// LameDuckDuration is how long lame-duck mode takes to close every
	// client: it stops accepting, tells clients (INFO with ldm) to move to
	// another server, then closes them in batches spread over this time,
	// flushes the stream layer and exits 0. Default 2m, as nats-server.
	LameDuckDuration Duration `toml:"lame_duck_duration"`
	// LameDuckGracePeriod is how long lame-duck mode waits, after telling
	// clients, before it closes the first of them. Default 10s; shorter
	// than LameDuckDuration.
	LameDuckGracePeriod Duration `toml:"lame_duck_grace_period"`
	// DrainTimeout bounds a graceful stop (SIGTERM, SIGINT, or the end of
	// lame-duck mode): clients' queued messages are written and the stream
	// layer is flushed and closed within it. Default 10s.
	DrainTimeout Duration `toml:"drain_timeout"`
}

func defaultShutdown() Shutdown {
	return Shutdown{
		LameDuckDuration:    Duration(2 * time.Minute),
		LameDuckGracePeriod: Duration(10 * time.Second),
		DrainTimeout:        Duration(10 * time.Second),
	}
}

func (v *checker) shutdown(s *Shutdown) {
	v.positive("shutdown.lame_duck_duration", s.LameDuckDuration)
	v.positive("shutdown.drain_timeout", s.DrainTimeout)
	if s.LameDuckGracePeriod < 0 {
		v.add("shutdown.lame_duck_grace_period", "%q is negative", s.LameDuckGracePeriod)
	} else if s.LameDuckDuration > 0 && s.LameDuckGracePeriod >= s.LameDuckDuration {
		v.add("shutdown.lame_duck_grace_period", "%q is not shorter than shutdown.lame_duck_duration (%s)", s.LameDuckGracePeriod, s.LameDuckDuration)
	}
}
