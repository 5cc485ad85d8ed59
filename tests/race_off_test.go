//go:build !race

package tests

// raceBuild is set when the race detector is on (race_on_test.go).
const raceBuild = false
