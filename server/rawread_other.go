//go:build !unix

package server

// rawReadLoop is false where a socket's raw read call does not follow the
// Unix readiness model (Windows); the read loop then reads through the
// connection.
const rawReadLoop = false

// call is never used where rawReadLoop is false.
func (r *rawReader) call(uintptr) bool {
	r.exit = true
	return true
}
