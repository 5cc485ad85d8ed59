//go:build !unix

package main

import "time"

// clientCPU is not measured here; the report shows "-".
func clientCPU() time.Duration { return 0 }
