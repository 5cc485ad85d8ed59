package jetstore

import (
	"errors"
	"io/fs"
	"syscall"
	"time"

	"github.com/wrenmq/wren/jetstore/store"
)

// A stream whose store fails a write (the disk is full, an I/O error)
// keeps serving what it holds, reads and consumers alike, and answers
// every publish with a store error (503, err_code 10077, "storage write
// failed: no space left on device") instead of a PubAck, until a write
// succeeds again. Nothing refused is stored, so a client that retries
// never creates a duplicate. The failure is logged once when it starts
// and once when it ends, not per message.
//
// The store refuses writes after a failure (ErrFailed) because the disk
// may then hold less than memory. To take writes again without a
// restart, the stream asks the store to recover (Store.Recover: cut the
// log back to the last acknowledged entry and reopen it), at most once
// per retry interval, which doubles from faultRetryMin to faultRetryMax
// while recovery or the write after it keeps failing. A publish or the
// stream's one-second tick triggers the attempt, so publishes resume
// within about faultRetryMax of space being freed.

const (
	faultRetryMin = 100 * time.Millisecond
	faultRetryMax = 2 * time.Second
)

// storeFault is a stream's state while its store fails writes. Only the
// stream's writer goroutine touches it.
type storeFault struct {
	err      error  // the latest failure
	cause    string // what publishers are told
	since    time.Time
	refused  uint64 // publishes answered with the failure
	retryAt  time.Time
	wait     time.Duration
	reopened bool   // the store recovered; writes may be tried
	recovErr string // the last recovery failure logged
}

// storeWritable returns nil when a store write may be tried now, or the
// failure that keeps the store from taking writes. While the store is
// failed it tries, once per retry interval, to recover it. Writer
// goroutine.
func (st *stream) storeWritable(now time.Time) error {
	f := st.fault
	if f == nil || f.reopened {
		return nil
	}
	if now.Before(f.retryAt) {
		return f.err
	}
	f.wait = min(2*f.wait, faultRetryMax)
	f.retryAt = now.Add(f.wait)
	if err := st.store.Recover(); err != nil {
		if msg := err.Error(); msg != f.recovErr {
			f.recovErr = msg
			st.js.log.Warn("stream store cannot take writes yet", "stream", st.name, "error", err)
		}
		return f.err
	}
	f.reopened = true
	return nil
}

// storeFailed notes that the store write op failed with err and returns
// the answer for the publishers it concerns. A failure of the store
// itself (ErrFailed) starts or continues a fault, logged once; any other
// error is a bug worth a line of its own. Writer goroutine.
func (st *stream) storeFailed(op string, err error, now time.Time) *APIError {
	if !errors.Is(err, store.ErrFailed) {
		st.js.log.Error(op, "stream", st.name, "error", err)
		return errStoreFailed(err)
	}
	cause := failureCause(err)
	f := st.fault
	if f == nil {
		f = &storeFault{since: now, wait: faultRetryMin, retryAt: now.Add(faultRetryMin)}
		st.fault = f
		st.js.log.Error("stream store write failed; publishes are refused until a write succeeds again",
			"stream", st.name, "op", op, "error", err)
	}
	f.err, f.cause, f.reopened = err, cause, false
	st.faultSeen.Store(&cause)
	return errStorageWrite(cause)
}

// storeError is what monitoring shows while the store fails writes, as
// publishers are told it; "" while it takes them. Any goroutine.
func (st *stream) storeError() string {
	if cause := st.faultSeen.Load(); cause != nil {
		return storageError(*cause).Error()
	}
	return ""
}

// storeRefused returns the answer for publishers while the store takes no
// writes, and counts them.
func (st *stream) storeRefused(n int) *APIError {
	st.fault.refused += uint64(n)
	st.refusedTotal.Add(uint64(n))
	return errStorageWrite(st.fault.cause)
}

// storeOK ends a fault once a store write succeeded. Writer goroutine.
func (st *stream) storeOK(now time.Time) {
	f := st.fault
	if f == nil {
		return
	}
	st.fault = nil
	st.faultSeen.Store(nil)
	st.js.log.Info("stream store writable again", "stream", st.name,
		"down_for", now.Sub(f.since).Round(time.Millisecond), "refused_publishes", f.refused)
}

// failureCause names what failed in words a client can act on: the
// operating system's message (no space left on device, file too large,
// input/output error), without the server's paths.
func failureCause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var we *store.WriteError
	if errors.As(err, &we) {
		return we.Err.Error()
	}
	return err.Error()
}

// clientError is err as an API client may see it: a failed file
// operation says what failed (storage write failed: no space left on
// device) without the server's paths; other errors are unchanged. The
// server's log has the whole error.
func clientError(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return storageError(errno.Error())
	}
	return err
}

// storageError is what an API operation that writes to the store (purge,
// message delete) fails with while the store takes no writes.
func storageError(cause string) error {
	return errors.New("storage write failed: " + cause)
}
