package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/wrenmq/wren/conf"
)

// tempStoreDir is where streams go when -js is given with no config file
// and no store directory, as nats-server -js uses a temporary directory:
// a user who is not root can try streams without preparing a directory.
func tempStoreDir() string {
	return filepath.Join(os.TempDir(), "wren", "jetstream")
}

// useTempStore reports whether the stream layer is on with nothing naming
// its directory: no config file and no -sd on the command line.
func useTempStore(f *flags, cfg *conf.Config) bool {
	if !cfg.JetStream.Enabled || f.configFile != "" {
		return false
	}
	for _, o := range f.overrides {
		if o.set.key == "jetstream.store_dir" {
			return false
		}
	}
	return true
}

// logTempStore says that streams are in a temporary directory.
func logTempStore(log *slog.Logger, dir string) {
	log.Warn("no store directory given: streams are kept in a temporary directory and may not survive a reboot; pass -sd <dir> or set jetstream.store_dir",
		"store_dir", dir)
}

// preflight is what --check proves beyond the file itself: the store
// directory can be created and written, and the listening ports are
// free. Every problem is reported, each at its key.
func preflight(f *flags, cfg *conf.Config) error {
	var errs conf.ErrorList
	var notes []string
	add := func(key string, err error) {
		file := f.configFile
		if file == "" {
			file = commandLine
		}
		errs = append(errs, &conf.Error{File: file, Key: key, Msg: err.Error()})
	}
	if cfg.JetStream.Enabled {
		if err := writableDir(cfg.JetStream.StoreDir); err != nil {
			add("jetstream.store_dir", err)
		}
	}
	for _, l := range []struct {
		key  string
		host string
		port int
		on   bool
	}{
		{"port", cfg.Host, cfg.Port, true},
		{"monitor.port", cfg.Monitor.Host, cfg.Monitor.Port, cfg.Monitor.Enabled()},
		{"mqtt.port", cfg.MQTT.Host, cfg.MQTT.Port, cfg.MQTT.Enabled()},
		{"websocket.port", cfg.WebSocket.Host, cfg.WebSocket.Port, cfg.WebSocket.Enabled()},
	} {
		if !l.on || l.port <= 0 {
			continue // off, or a free port picked at start
		}
		addr := net.JoinHostPort(l.host, strconv.Itoa(l.port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if l.key == "port" && runningWren(addr) {
				// Checking the file of the daemon that runs: its own
				// port is no conflict.
				notes = append(notes, fmt.Sprintf("port %d is in use by a running wren", l.port))
				continue
			}
			add(l.key, fmt.Errorf("not free: %w", err))
			continue
		}
		ln.Close()
	}
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "note:", n)
	}
	if f.configFile != "" && len(errs) > 0 {
		if data, err := os.ReadFile(f.configFile); err == nil {
			conf.Locate(f.configFile, data, errs)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// runningWren reports whether a Wren daemon answers on addr (its INFO
// carries wren_version).
func runningWren(addr string) bool {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReaderSize(c, 4096).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "INFO ") && strings.Contains(line, `"wren_version"`)
}

// writableDir creates dir if needed and proves a file can be written and
// synced in it.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cannot create the store directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".wren-check-*")
	if err != nil {
		return fmt.Errorf("the store directory is not writable: %w", err)
	}
	name := f.Name()
	_, err = f.Write([]byte("wren"))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	os.Remove(name)
	if err != nil {
		return fmt.Errorf("cannot write to the store directory: %w", err)
	}
	return nil
}

// changedKeys lists the keys, by full path (jetstream.sync), whose values
// differ between the running and the new section, with both values.
func changedKeys(prefix string, running, next any) [][3]string {
	var out [][3]string
	var walk func(path string, a, b reflect.Value)
	walk = func(path string, a, b reflect.Value) {
		if a.Kind() == reflect.Struct {
			t := a.Type()
			for i := range t.NumField() {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
				if name == "" || name == "-" {
					continue
				}
				walk(path+"."+name, a.Field(i), b.Field(i))
			}
			return
		}
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			was, now := fmt.Sprint(a.Interface()), fmt.Sprint(b.Interface())
			switch a.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
				// Lists (leaf remotes, users) may hold credentials.
				was, now = "(list)", "(changed list)"
			}
			if secretKey(path) {
				was, now = "(hidden)", "(hidden)"
			}
			out = append(out, [3]string{path, was, now})
		}
	}
	walk(prefix, reflect.ValueOf(running), reflect.ValueOf(next))
	return out
}

// secretKey reports whether a key holds a secret that logs must not show.
func secretKey(path string) bool {
	for _, w := range []string{"token", "password", "pass", "secret", "key"} {
		if strings.HasSuffix(path, w) || strings.HasSuffix(path, "_"+w) {
			return true
		}
	}
	return false
}
