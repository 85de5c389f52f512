package mtlsauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Kinds of subject alternative name a tls_client_auth client may be
// registered with instead of a subject DN (RFC 8705 §2.1.2).
const (
	SANDNS   = "dns"
	SANURI   = "uri"
	SANIP    = "ip"
	SANEmail = "email"
)

// VerifyChain checks that cert, with the intermediates presented beside it,
// chains to one of roots, is valid at now and may authenticate a TLS client
// (RFC 8705 §2.1: the PKI part of tls_client_auth).
func VerifyChain(cert *x509.Certificate, intermediates []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	if roots == nil {
		return errors.New("no client CA is configured (--tls-client-ca)")
	}
	pool := x509.NewCertPool()
	for _, c := range intermediates {
		pool.AddCert(c)
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

// MatchSAN reports whether cert holds the subject alternative name value of
// kind (RFC 8705 §2.1.2): a DNS name compared case-insensitively, a URI
// compared as a string (RFC 3986 §6.2.1), an IP address compared as an
// address (either textual form), an email address compared exactly but for
// the case of its domain. No wildcard is expanded.
func MatchSAN(cert *x509.Certificate, kind, value string) (bool, error) {
	switch kind {
	case SANDNS:
		for _, d := range cert.DNSNames {
			if strings.EqualFold(d, value) {
				return true, nil
			}
		}
	case SANURI:
		for _, u := range cert.URIs {
			if u.String() == value {
				return true, nil
			}
		}
	case SANIP:
		want, err := netip.ParseAddr(value)
		if err != nil {
			return false, fmt.Errorf("registered IP address %q: %w", value, err)
		}
		for _, ip := range cert.IPAddresses {
			if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap() == want.Unmap() {
				return true, nil
			}
		}
	case SANEmail:
		for _, e := range cert.EmailAddresses {
			if sameEmail(e, value) {
				return true, nil
			}
		}
	default:
		return false, fmt.Errorf("unknown subject alternative name kind %q", kind)
	}
	return false, nil
}

func sameEmail(a, b string) bool {
	al, ad, ok1 := strings.Cut(a, "@")
	bl, bd, ok2 := strings.Cut(b, "@")
	return ok1 && ok2 && al == bl && strings.EqualFold(ad, bd)
}

// Thumbprint is the certificate's x5t#S256 (RFC 8705 §3.1).
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// MatchThumbprint reports whether cert's x5t#S256 is thumbprint, in
// constant time (self_signed_tls_client_auth, RFC 8705 §2.2).
func MatchThumbprint(cert *x509.Certificate, thumbprint string) bool {
	return subtle.ConstantTimeCompare([]byte(Thumbprint(cert)), []byte(thumbprint)) == 1
}
