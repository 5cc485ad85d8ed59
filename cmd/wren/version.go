package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/wrenmq/wren/server"
)

// commit is set at build time with -ldflags "-X main.commit=...".
var commit = ""

func buildCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func printVersion() {
	fmt.Printf("wren %s (commit %s, %s, %s/%s)\n", server.Version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
