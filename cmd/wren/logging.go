package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/wrenmq/wren/conf"
)

// newLogger builds the daemon's logger from the log section. Its level is
// level, so a reload can change it; file and format are fixed until a
// restart. The returned log file is nil when logging to standard error;
// the returned function closes it, if any.
func newLogger(l conf.Log, level *slog.LevelVar) (*slog.Logger, *logFile, func(), error) {
	var w io.Writer = os.Stderr
	closeFn := func() {}
	var lf *logFile
	if l.File != "" {
		var err error
		if lf, err = openLogFile(l.File); err != nil {
			return nil, nil, nil, fmt.Errorf("log.file: %w", err)
		}
		w = lf
		closeFn = func() { lf.Close() }
	}
	ho := &slog.HandlerOptions{Level: level}
	if !l.Time {
		ho.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
	}
	var h slog.Handler
	if l.Format == conf.FormatJSON {
		h = slog.NewJSONHandler(w, ho)
	} else {
		h = slog.NewTextHandler(w, ho)
	}
	return slog.New(h), lf, closeFn, nil
}
