// Command wren is Wren's daemon: a NATS-protocol pub/sub broker with an
// optional durable stream layer.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "version":
		printVersion()
	case len(os.Args) > 1 && os.Args[1] == "nkey":
		err = runNkey(os.Args[2:], os.Stdout, os.Stderr)
	case len(os.Args) > 1 && os.Args[1] == "replay":
		err = runReplay(os.Args[2:], os.Stdout, os.Stderr)
	case len(os.Args) > 1 && isSignalFlag(os.Args[1]):
		args := os.Args[2:]
		if _, v, ok := strings.Cut(os.Args[1], "="); ok {
			args = []string{v}
		}
		err = runSignal(args, os.Stdout, os.Stderr)
	default:
		err = run(os.Args[1:], os.Stdout, os.Stderr)
	}
	if err != nil {
		// One line per problem, each naming where it is.
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "wren:", line)
		}
		os.Exit(1)
	}
}

// isSignalFlag reports whether arg is --signal (or -sl, as nats-server).
func isSignalFlag(arg string) bool {
	name, _, _ := strings.Cut(arg, "=")
	return name == "--signal" || name == "-signal" || name == "-sl" || name == "--sl"
}
