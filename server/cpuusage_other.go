//go:build !unix

package server

import "time"

// processCPU is not measured here: /varz and STATSZ report 0.
func processCPU() (time.Duration, bool) { return 0, false }
