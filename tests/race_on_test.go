//go:build race

package tests

// raceBuild is set when the race detector is on: it allocates beside the
// code, and sync.Pool drops items at random, so allocation counts mean nothing.
const raceBuild = true
