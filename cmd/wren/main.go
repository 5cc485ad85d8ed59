// Command wren is Wren's daemon: a NATS-protocol pub/sub broker with an
// optional durable stream layer.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "version":
			printVersion()
			return
		}
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "wren:", err)
		os.Exit(1)
	}
}
