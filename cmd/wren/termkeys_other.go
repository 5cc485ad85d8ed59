//go:build !linux

package main

import "os"

// cbreak is not available here: wren top quits on Ctrl-C only.
func cbreak(*os.File) (restore func(), ok bool) { return nil, false }
