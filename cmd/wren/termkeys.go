package main

import "os"

// quitKeys reads single keys from the terminal on f and reports q (or Q)
// on the channel it returns; nil, and no reading, when f is not a
// terminal (a pipe, a script). restore gives the terminal back.
func quitKeys(f *os.File) (quit <-chan struct{}, restore func()) {
	restore, ok := cbreak(f)
	if !ok {
		return nil, func() {}
	}
	ch := make(chan struct{}, 1)
	go func() {
		var b [1]byte
		for {
			n, err := f.Read(b[:])
			if err != nil {
				return
			}
			if n == 1 && (b[0] == 'q' || b[0] == 'Q') {
				ch <- struct{}{}
				return
			}
		}
	}()
	return ch, restore
}
