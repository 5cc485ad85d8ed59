package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/wrenmq/wren/protocol/nkey"
)

// runNkey implements "wren nkey": it makes a user nkey pair, writes the
// seed (the secret) to --out with mode 0600, or prints it when there is no
// --out, and prints the public key for the config file.
func runNkey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wren nkey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the seed to this file (mode 0600) instead of printing it")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: wren nkey [--out <file>]

Makes a user nkey pair. The seed (starting with "SU") is the client's secret:
give it to the client (nats.go: nats.NkeyOptionFromSeed, nats CLI: --nkey).
The public key (starting with "U") goes into the server configuration:

  [[authorization.users]]
  nkey = "U..."

Without --out the seed is printed first, then the public key.
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("nkey: unexpected argument %q", fs.Arg(0))
	}
	kp, err := nkey.CreateUser()
	if err != nil {
		return fmt.Errorf("nkey: %w", err)
	}
	defer kp.Wipe()
	seed, pub := kp.Seed(), kp.PublicKey()
	if *out == "" {
		fmt.Fprintf(stdout, "%s\n%s\n", seed, pub)
		return nil
	}
	if err := writeSeed(*out, seed); err != nil {
		return fmt.Errorf("nkey: %w", err)
	}
	fmt.Fprintln(stdout, pub)
	fmt.Fprintf(stderr, "seed written to %s (keep it secret); add the public key to the config:\n\n  [[authorization.users]]\n  nkey = %q\n", *out, pub)
	return nil
}

// writeSeed creates path with mode 0600, whatever the umask, and refuses
// to overwrite an existing file.
func writeSeed(path string, seed []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; remove it or choose another --out", path)
		}
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(seed, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
