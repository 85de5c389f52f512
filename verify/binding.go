package verify

import (
	"crypto/subtle"
	"fmt"
	"net/http"
)

// VerifyRequest is [Verifier.Verify] for a token presented on r, with the
// checks that need the request: a token bound to a client certificate
// (`cnf.x5t#S256`, RFC 8705 §3) is accepted only when r presents that very
// certificate (on its TLS connection, or in a trusted proxy's header as
// [Config].ClientCertificates says), and with
// [Config].RequireCertificateBinding a token bound to none is refused. The
// middleware calls it; call it yourself when you verify tokens outside the
// middleware, since Verify alone cannot see the certificate.
func (v *Verifier) VerifyRequest(r *http.Request, token string) (*Claims, error) {
	c, err := v.Verify(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if err := v.checkBinding(c, r); err != nil {
		return nil, err
	}
	return c, nil
}

// checkBinding compares the token's certificate thumbprint with the SHA-256
// of the request's client certificate (RFC 8705 §3.1).
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
