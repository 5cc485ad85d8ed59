package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// notifySignals starts catching the signals the daemon answers. It is
// called before the daemon says it started, so a SIGHUP sent as soon as
// it has (systemctl reload right after start) reloads rather than kills
// it.
func notifySignals() chan os.Signal {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}, platformSignals...)...)
	return sigs
}

// serveSignals runs the daemon until it is told to stop, and stops it:
//
//	SIGHUP          reload the configuration file
//	SIGUSR1         reopen the log file (after logrotate moved it)
//	SIGUSR2         lame-duck mode, then stop (exit 0)
//	SIGINT, SIGTERM graceful stop within shutdown.drain_timeout
func (d *daemon) serveSignals(sigs chan os.Signal) error {
	defer signal.Stop(sigs)
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			d.reload()
		case sigReopen:
			d.reopenLog()
		case sigLameDuck:
			return d.lameDuck(sigs)
		default:
			d.log.Info("shutting down", "signal", sig.String())
			return d.shutdown()
		}
	}
	return d.shutdown()
}

// lameDuck moves the clients away over shutdown.lame_duck_duration, then
// stops. SIGINT or SIGTERM meanwhile cut it short into a graceful stop.
func (d *daemon) lameDuck(sigs <-chan os.Signal) error {
	sd := d.cfg.Shutdown
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.srv.LameDuck(ctx, sd.LameDuckDuration.Duration(), sd.LameDuckGracePeriod.Duration())
	}()
	for {
		select {
		case <-done:
			cancel()
			d.log.Info("shutting down after lame duck mode")
			return d.shutdown()
		case sig := <-sigs:
			switch sig {
			case sigReopen:
				d.reopenLog()
			case syscall.SIGINT, syscall.SIGTERM:
				d.log.Info("shutting down during lame duck mode", "signal", sig.String())
				cancel()
				<-done
				return d.shutdown()
			}
		}
	}
}

func (d *daemon) reopenLog() {
	if d.logf == nil {
		d.log.Info("SIGUSR1: logging to standard error, no log file to reopen")
		return
	}
	if err := d.logf.reopen(); err != nil {
		d.log.Error("reopening the log file failed; still writing to the old one", "file", d.logf.path, "error", err)
		return
	}
	d.log.Info("log file reopened", "file", d.logf.path)
}

// The signals wren --signal sends, by the names nats-server uses.
var signalNames = map[string]syscall.Signal{
	"ldm":    sigLameDuck,
	"reopen": sigReopen,
	"reload": syscall.SIGHUP,
	"stop":   syscall.SIGTERM,
	"term":   syscall.SIGTERM,
	"quit":   syscall.SIGINT,
	"kill":   syscall.SIGKILL,
}

// runSignal is `wren --signal <name>[=<pid or pid file>]`: it signals a
// running daemon. Without a pid it looks for the one other process named
// wren.
func runSignal(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, `Usage: wren --signal <signal>[=<pid>|=<pid file>]

Sends a signal to a running wren daemon. Without a pid, the only other
running process named wren is signalled.

Signals:
  ldm      lame duck mode: move clients away, then stop (SIGUSR2)
  reopen   reopen the log file (SIGUSR1)
  reload   reload the configuration (SIGHUP)
  stop     graceful stop (SIGTERM)
  quit     graceful stop (SIGINT)
  kill     stop at once (SIGKILL)

Examples:
  wren --signal ldm=4711
  wren --signal reopen=/run/wren.pid
`)
		if len(args) != 1 {
			return errors.New("--signal takes one argument")
		}
		return nil
	}
	name, target, _ := strings.Cut(args[0], "=")
	sig, ok := signalNames[name]
	if !ok {
		return fmt.Errorf("unknown signal %q; expected ldm, reopen, reload, stop, quit or kill", name)
	}
	pid, err := signalTarget(target)
	if err != nil {
		return err
	}
	if err := sendSignal(pid, sig); err != nil {
		return fmt.Errorf("signal %s to pid %d: %w", name, pid, err)
	}
	fmt.Fprintf(stdout, "sent %s (%s) to pid %d\n", name, sig, pid)
	return nil
}

// signalTarget reads a pid, a pid file, or (empty) finds the daemon.
func signalTarget(target string) (int, error) {
	if target == "" {
		return findDaemon()
	}
	if pid, err := strconv.Atoi(target); err == nil {
		if pid <= 0 {
			return 0, fmt.Errorf("bad pid %d", pid)
		}
		return pid, nil
	}
	b, err := os.ReadFile(target)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds no pid", target)
	}
	return pid, nil
}

// findDaemon returns the pid of the only other process named wren.
func findDaemon() (int, error) {
	self := os.Getpid()
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	var found []int
	for _, p := range comms {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != "wren" {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pid != self {
			found = append(found, pid)
		}
	}
	switch len(found) {
	case 0:
		return 0, errors.New("no running wren process found; give its pid: --signal <signal>=<pid>")
	case 1:
		return found[0], nil
	default:
		return 0, fmt.Errorf("%d wren processes are running %v; give one pid: --signal <signal>=<pid>", len(found), found)
	}
}
