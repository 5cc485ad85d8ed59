package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// certNames lists the names under which a client certificate may map to a
// configured user, in the order they are tried: e-mail SANs, DNS SANs, URI
// SANs, the subject as an RFC 2253 distinguished name (Go's
// pkix.Name.String form, e.g. "CN=alice,OU=ops,O=Acme"), and last the
// subject's common name on its own.
func certNames(cert *x509.Certificate) []string {
	names := make([]string, 0, len(cert.EmailAddresses)+len(cert.DNSNames)+len(cert.URIs)+2)
	names = append(names, cert.EmailAddresses...)
	names = append(names, cert.DNSNames...)
	for _, u := range cert.URIs {
		names = append(names, u.String())
	}
	if dn := cert.Subject.String(); dn != "" {
		names = append(names, dn)
	}
	if cn := cert.Subject.CommonName; cn != "" {
		names = append(names, cn)
	}
	return names
}

// mapCert finds the user a verified client certificate chain maps to. The
// chain is trusted as given: the TLS layer has verified it against the
// configured CAs. Only the leaf certificate is looked at.
func (a *Authenticator) mapCert(chain []*x509.Certificate) (*user, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, errors.New("no client certificate")
	}
	names := certNames(chain[0])
	for _, n := range names {
		if u := a.users[n]; u != nil {
			return u, nil
		}
	}
	dn := chain[0].Subject.String()
	return nil, fmt.Errorf("client certificate %q maps to no user", clip(dn))
}
