package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wrenmq/wren/auth"
	"github.com/wrenmq/wren/conf"
	"github.com/wrenmq/wren/server"
)

// commandLine names the command line in configuration errors.
const commandLine = "command line"

// loadConfig reads the config file (or takes the built-in defaults when
// there is none), applies the command-line overrides and validates the
// result. Errors are a conf.ErrorList: one line each, with the file, line
// and column when they come from the file.
func loadConfig(f *flags) (*conf.Config, error) {
	cfg := conf.Default()
	if f.configFile != "" {
		var err error
		if cfg, err = conf.Load(f.configFile); err != nil {
			return nil, err
		}
	}
	if len(f.overrides) == 0 {
		return cfg, nil
	}
	f.apply(cfg)
	if err := cfg.Validate(); err != nil {
		var list conf.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				e.File = commandLine
			}
		}
		return nil, err
	}
	return cfg, nil
}

// configError places an error found while building the server options
// (reading a certificate, say) at the config key it concerns.
func configError(f *flags, key string, err error) error {
	e := &conf.Error{File: f.configFile, Key: key, Msg: err.Error()}
	if e.File == "" {
		e.File = commandLine
	}
	return conf.ErrorList{e}
}

// buildOptions turns a validated Config into server options. The Logger is
// left for the caller to set.
func buildOptions(f *flags, cfg *conf.Config) (server.Options, error) {
	l := &cfg.Limits
	o := server.Options{
		Host:             cfg.Host,
		Port:             cfg.Port,
		ServerName:       cfg.ServerName,
		ClientAdvertise:  cfg.ClientAdvertise,
		MaxPayload:       int(l.MaxPayload),
		MaxControlLine:   int(l.MaxControlLine),
		MaxConnections:   l.MaxConnections,
		MaxSubscriptions: l.MaxSubscriptions,
		MaxPending:       l.MaxPending.Int64(),
		PingInterval:     l.PingInterval.Duration(),
		MaxPingsOut:      l.MaxPingsOut,
		WriteDeadline:    l.WriteDeadline.Duration(),
		AuthTimeout:      cfg.Authorization.Timeout.Duration(),
		JetStream:        cfg.JetStream.Enabled,
		Trace:            cfg.Log.Trace,
		SystemAccount:    cfg.SystemAccount,
		SystemUsers:      cfg.SystemUsers(),
		TraceDest:        cfg.MsgTrace.Dest,
		TraceSampling:    cfg.MsgTrace.Sampling,
	}
	if o.ServerName == "" {
		if h, err := os.Hostname(); err == nil && !strings.ContainsAny(h, " \t\r\n") {
			o.ServerName = h
		}
	}
	a, err := buildAuth(cfg)
	if err != nil {
		return o, configError(f, "authorization", err)
	}
	o.Auth = a
	if cfg.TLS.Enabled() {
		tc, key, err := buildTLS(&cfg.TLS)
		if err != nil {
			return o, configError(f, key, err)
		}
		o.TLS = tc
		o.TLSRequired = true
		o.TLSHandshakeFirst = cfg.TLS.HandshakeFirst
		o.TLSTimeout = cfg.TLS.Timeout.Duration()
	}
	return o, nil
}

// buildAuth returns the authenticator for cfg, or nil when no
// authentication is configured.
func buildAuth(cfg *conf.Config) (*auth.Authenticator, error) {
	az := &cfg.Authorization
	if !az.Enabled() {
		return nil, nil
	}
	ac := auth.Config{
		Token:              az.Token,
		DefaultPermissions: permissions(az.DefaultPermissions),
		Timeout:            az.Timeout.Duration(),
		TLSMap:             cfg.TLS.VerifyAndMap,
		NoAuthUser:         az.NoAuthUser,
	}
	if az.User != "" {
		ac.Users = append(ac.Users, auth.User{Name: az.User, Password: az.Password})
	}
	for _, u := range az.Users {
		ac.Users = append(ac.Users, auth.User{
			Name:        u.User,
			Password:    u.Password,
			Nkey:        u.NKey,
			Permissions: permissions(u.Permissions),
		})
	}
	return auth.New(ac)
}

func permissions(p *conf.Permissions) *auth.Permissions {
	if p == nil {
		return nil
	}
	ap := &auth.Permissions{
		Publish:   auth.SubjectPermission{Allow: p.Publish.Allow, Deny: p.Publish.Deny},
		Subscribe: auth.SubjectPermission{Allow: p.Subscribe.Allow, Deny: p.Subscribe.Deny},
	}
	if r := p.AllowResponses; r != nil {
		ap.Response = &auth.ResponsePermission{MaxMsgs: r.Max, Expires: r.Expires.Duration()}
	}
	return ap
}

// buildTLS builds the client listener's TLS configuration. On error it
// also returns the config key at fault.
func buildTLS(t *conf.TLS) (*tls.Config, string, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, "tls.cert_file", fmt.Errorf("load certificate and key: %w", err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, "tls.ca_file", err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "tls.ca_file", fmt.Errorf("no PEM certificate in %s", t.CAFile)
		}
		tc.ClientCAs = pool
	}
	if t.Verify || t.VerifyAndMap {
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, "", nil
}

// certExpired reports an error when the server certificate in tc (from
// buildTLS) is past its NotAfter at now.
func certExpired(tc *tls.Config, certFile string, now time.Time) error {
	if len(tc.Certificates) == 0 || tc.Certificates[0].Leaf == nil {
		return nil
	}
	if end := tc.Certificates[0].Leaf.NotAfter; now.After(end) {
		return fmt.Errorf("certificate %s expired at %s", certFile, end.UTC().Format(time.RFC3339))
	}
	return nil
}
