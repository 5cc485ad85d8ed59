// Command wren is Wren's daemon: a NATS-protocol pub/sub broker with an
// optional durable stream layer. The same binary carries the operator's
// commands (pub, sub, req, reply, stream, consumer, dlq, top, replay).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// commands are the subcommands, by their first argument.
var commands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"nkey":     runNkey,
	"replay":   runReplay,
	"pub":      runPub,
	"sub":      runSub,
	"req":      runReq,
	"request":  runReq,
	"reply":    runReply,
	"stream":   runStream,
	"consumer": runConsumer,
	"dlq":      runDLQ,
	"top":      runTop,
}

func main() {
	var err error
	cmd := ""
	switch {
	case len(os.Args) > 1 && os.Args[1] == "version":
		printVersion()
	case len(os.Args) > 1 && commands[os.Args[1]] != nil:
		cmd = os.Args[1]
		err = commands[cmd](os.Args[2:], os.Stdout, os.Stderr)
	case len(os.Args) > 1 && isSignalFlag(os.Args[1]):
		args := os.Args[2:]
		if _, v, ok := strings.Cut(os.Args[1], "="); ok {
			args = []string{v}
		}
		err = runSignal(args, os.Stdout, os.Stderr)
	default:
		err = run(os.Args[1:], os.Stdout, os.Stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		// One line per problem, each naming where it is.
		for line := range strings.SplitSeq(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "wren:", line)
		}
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "wren: see wren %s --help\n", strings.TrimSpace(cmd+" "+subcommandOf(cmd)))
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// subcommandOf returns the verb of a grouped command (stream ls, ...).
func subcommandOf(cmd string) string {
	switch cmd {
	case "stream", "consumer", "dlq":
		if len(os.Args) > 2 && !strings.HasPrefix(os.Args[2], "-") {
			return os.Args[2]
		}
	}
	return ""
}

// isSignalFlag reports whether arg is --signal (or -sl, as nats-server).
func isSignalFlag(arg string) bool {
	name, _, _ := strings.Cut(arg, "=")
	return name == "--signal" || name == "-signal" || name == "-sl" || name == "--sl"
}
