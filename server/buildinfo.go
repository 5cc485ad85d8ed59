package server

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Commit is the source revision the binary was built from; the release
// build sets it with -ldflags "-X github.com/wrenmq/wren/server.Commit=...".
// When unset, the revision the go command stamped (a build inside a git
// work tree) is used.
var Commit = ""

// Target is the platform the binary was built for, as GOOS/GOARCH.
const Target = runtime.GOOS + "/" + runtime.GOARCH

// stampedRevision is the VCS revision the go command recorded, if any.
var stampedRevision = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
})

// BuildCommit returns Commit, or the stamped revision, or "" if neither is
// known.
func BuildCommit() string {
	if Commit != "" {
		return Commit
	}
	return stampedRevision()
}
