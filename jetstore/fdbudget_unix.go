//go:build unix

package jetstore

import "syscall"

// fdLimit returns the process's file descriptor limit, 0 when unknown.
// (The Go runtime raises the soft limit to the hard one at start.)
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
