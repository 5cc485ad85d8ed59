package main

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestCertExpired(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		notAfter time.Time
		wantErr  string
	}{
		{"valid", now.Add(time.Hour), ""},
		{"ends now", now, ""},
		{"expired", now.Add(-time.Second), "certificate c.pem expired at 2030-06-01T11:59:59Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := &tls.Config{Certificates: []tls.Certificate{{Leaf: &x509.Certificate{NotAfter: tt.notAfter}}}}
			err := certExpired(tc, "c.pem", now)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("certExpired(NotAfter %v) = %v; want %q", tt.notAfter, err, tt.wantErr)
			}
		})
	}
	if err := certExpired(&tls.Config{}, "c.pem", now); err != nil {
		t.Errorf("certExpired(no certificate) = %v; want nil", err)
	}
}
