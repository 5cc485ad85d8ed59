//go:build !linux

package main

// dropStartPages does nothing where the code pages are not known.
func dropStartPages() int64 { return 0 }
