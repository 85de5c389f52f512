package oidc

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/mtlsauth"
)

// Confirmation is an access token's cnf claim: the DPoP key's thumbprint
// (RFC 9449 §6.1) and the client certificate's (RFC 8705 §3.1).
type Confirmation struct {
	JKT string `json:"jkt"`
	X5T string `json:"x5t#S256"`
}

// dpopToken returns the token of an "Authorization: DPoP" header (RFC
// 9449 §7.1), or "".
func dpopToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 5 && strings.EqualFold(h[:5], dpop.Scheme+" ") {
		return strings.TrimSpace(h[5:])
	}
	return ""
}

// checkBinding holds a DPoP-bound token (cnf.jkt) to its proof, as an API
// does (RFC 9449 §7.1): it must come with the DPoP scheme and one proof of
// this request, this token and its key; a bearer token must not come with
// the DPoP scheme. It writes the refusal and reports false.
func (u *Userinfo) checkBinding(w http.ResponseWriter, r *http.Request, tok string, c Claims, isDPoP bool) bool {
	if c.Cnf != nil && c.Cnf.X5T != "" && !u.certificateMatches(r, c.Cnf.X5T) {
		desc := "the access token is certificate-bound: present its TLS client certificate at the mutual-TLS endpoint (mtls_endpoint_aliases)"
		if isDPoP {
			dpopError(w, "", "invalid_token", desc)
		} else {
			bearerError(w, http.StatusUnauthorized, "invalid_token", desc)
		}
		return false
	}
	bound := c.Cnf != nil && c.Cnf.JKT != ""
	switch {
	case !bound && !isDPoP:
		return true
	case !bound:
		dpopError(w, "", "invalid_token", "the access token is not DPoP-bound: send it with the Bearer scheme")
		return false
	case !isDPoP:
		dpopError(w, "", "invalid_token", "the access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof")
		return false
	case u.DPoP == nil:
		dpopError(w, "", "invalid_token", "DPoP-bound tokens are not accepted here")
		return false
	}
	proofs := r.Header.Values(dpop.Header)
	if len(proofs) != 1 {
		dpopError(w, "", dpop.CodeInvalidProof, "one DPoP proof is required")
		return false
	}
	_, err := u.DPoP.Check(proofs[0], dpop.Expect{Method: r.Method, URL: u.URL, AccessToken: tok, JKT: c.Cnf.JKT})
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		dpopError(w, u.DPoP.Nonces().Current(u.now()), dpop.CodeUseNonce, err.Error())
		return false
	case err != nil:
		dpopError(w, "", dpop.CodeInvalidProof, err.Error())
		return false
	}
	return true
}

// dpopError answers 401 with an RFC 9449 §7.1 challenge and, when given,
// the nonce to use.
func dpopError(w http.ResponseWriter, nonce, code, desc string) {
	if nonce != "" {
		w.Header().Set(dpop.NonceHeader, nonce)
	}
	challengeError(w, `DPoP algs="`+strings.Join(dpop.Algorithms, " ")+`"`, http.StatusUnauthorized, code, desc)
}

// certificateMatches reports whether the request presents the client
// certificate whose SHA-256 thumbprint is x5t (RFC 8705 §3): a
// certificate-bound token is worth nothing without it.
func (u *Userinfo) certificateMatches(r *http.Request, x5t string) bool {
	if u.ClientCertificate == nil {
		return false
	}
	cert, _, err := u.ClientCertificate(r)
	if err != nil || cert == nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(mtlsauth.Thumbprint(cert)), []byte(x5t)) == 1
}
