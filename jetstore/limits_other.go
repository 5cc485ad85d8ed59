//go:build !linux

package jetstore

// systemMemory is unknown here: the default memory limit falls back to
// fallbackMemory's share.
func systemMemory() int64 { return 0 }

// diskFree is unknown here: file streams get no default limit.
func diskFree(string) int64 { return 0 }
