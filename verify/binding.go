package verify

import (
	"crypto/subtle"
	"fmt"
	"net/http"
)

// checkBinding is [Verifier.VerifyRequest]'s check of what needs the
// request: a token bound to a client certificate (`cnf.x5t#S256`, RFC 8705
// §3) is accepted only when r presents that very certificate (on its TLS
// connection, or in a trusted proxy's header as [Config].ClientCertificates
// says), and with [Config].RequireCertificateBinding a token bound to none
// is refused. It compares the token's thumbprint with the SHA-256 of the
// request's certificate (RFC 8705 §3.1).
func (v *Verifier) checkBinding(c *Claims, r *http.Request) error {
	if c.CertificateThumbprint == "" {
		if v.cfg.RequireCertificateBinding {
			return fmt.Errorf("verify: %w", ErrNotBound)
		}
		return nil
	}
	cert, _, err := v.cfg.ClientCertificates.Certificate(r)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if cert == nil {
		return fmt.Errorf("verify: %w (no client certificate)", ErrCertificate)
	}
	if subtle.ConstantTimeCompare([]byte(Thumbprint(cert)), []byte(c.CertificateThumbprint)) != 1 {
		return fmt.Errorf("verify: %w (another certificate)", ErrCertificate)
	}
	return nil
}
