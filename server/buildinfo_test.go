package server

import (
	"encoding/json"
	"runtime"
	"testing"
)

func TestBuildInfoInInfoAndVarz(t *testing.T) {
	old := Commit
	Commit = "0123456789ab"
	t.Cleanup(func() { Commit = old })
	s := loopServer(t, Options{})

	var info Info
	if err := json.Unmarshal(s.infoJSON(nil), &info); err != nil {
		t.Fatal(err)
	}
	if info.GitCommit != "0123456789ab" || info.Wren != Version || info.GoVersion != runtime.Version() {
		t.Errorf("INFO git_commit, wren_version, go = %q, %q, %q; want %q, %q, %q",
			info.GitCommit, info.Wren, info.GoVersion, "0123456789ab", Version, runtime.Version())
	}
	v := s.Varz()
	if v.GitCommit != "0123456789ab" || v.Target != runtime.GOOS+"/"+runtime.GOARCH || v.Wren != Version {
		t.Errorf("varz git_commit, target, wren_version = %q, %q, %q", v.GitCommit, v.Target, v.Wren)
	}
}

func TestBuildCommitFallback(t *testing.T) {
	old := Commit
	Commit = ""
	t.Cleanup(func() { Commit = old })
	// Without -X, the commit is whatever the go command stamped: a
	// revision, or nothing (tests are built without VCS stamps).
	if got := BuildCommit(); got != stampedRevision() {
		t.Errorf("BuildCommit() = %q; want the stamped revision %q", got, stampedRevision())
	}
}
