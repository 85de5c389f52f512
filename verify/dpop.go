package verify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// Confirmation is a token's `cnf` claim (RFC 7800 §3.1): the key it is
// bound to. JKT is the SHA-256 thumbprint of a DPoP key (RFC 9449 §6.1);
// empty for a bearer token.
type Confirmation struct {
	JKT string
}

// Bound reports whether the token is bound to a DPoP key.
func (c Confirmation) Bound() bool { return c.JKT != "" }

// check reports what is wrong with c.
func (c DPoPConfig) check() []string {
	var problems []string
	if c.MaxAge < 0 || c.Leeway < 0 || c.ReplayEntries < 0 {
		problems = append(problems, "negative DPoP MaxAge, Leeway or ReplayEntries")
	}
	if c.Leeway > MaxLeeway {
		problems = append(problems, fmt.Sprintf("DPoP Leeway %s is over %s", c.Leeway, MaxLeeway))
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			problems = append(problems, fmt.Sprintf("DPoP BaseURL %q must be scheme://host[:port]", c.BaseURL))
		}
	}
	return problems
}

// wireConfirmation is `cnf` on the wire.
type wireConfirmation struct {
	JKT string `json:"jkt"`
	X5T string `json:"x5t#S256"`
}

// DPoPConfig configures the checking of DPoP proofs (RFC 9449 §7). The
// zero value checks them with the package dpop defaults and no nonces.
type DPoPConfig struct {
	// MaxAge and Leeway bound a proof's iat (defaults dpop.DefaultMaxAge
	// and dpop.DefaultLeeway).
	MaxAge, Leeway time.Duration
	// ReplayEntries bounds the verifier's replay cache of proofs' jti
	// (default dpop.DefaultReplayEntries); a full cache refuses proofs
	// (503) rather than forget one.
	ReplayEntries int
	// Nonces, when set, requires proofs to carry one of its nonces (RFC
	// 9449 §9): refused proofs are answered `use_dpop_nonce` with a
	// DPoP-Nonce header.
	Nonces *dpop.Nonces
	// BaseURL, when set, is scheme://host[:port] as clients reach the API
	// (behind a reverse proxy), the start of the htu a proof must name;
	// the request's path follows it. Empty: https when the request came
	// over TLS, else http, and the request's Host.
	BaseURL string
}

// ErrDPoPBound and its peers are the DPoP reasons [Verifier.Verify],
// [Verifier.VerifyDPoP] and [Verifier.VerifyRequest] refuse a request for;
// a proof's own reason (a dpop.Err*) is wrapped too.
var (
	// ErrDPoPBound: a DPoP-bound token was presented as a bearer token
	// (RFC 9449 §7.2), without the proof that would make it usable.
	ErrDPoPBound = errors.New("the access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof")
	// ErrNotDPoPBound: a bearer token was presented with the DPoP scheme.
	ErrNotDPoPBound = errors.New("the access token is not DPoP-bound: send it with the Bearer scheme")
	// ErrDPoPProof: the DPoP proof is missing or invalid (RFC 9449 §7.1
	// invalid_dpop_proof); errors.Is also matches the dpop.Err* reason.
	ErrDPoPProof = errors.New("the DPoP proof is invalid")
	// ErrDPoPNonce: the proof lacks the API's current nonce (use_dpop_nonce).
	ErrDPoPNonce = errors.New("the DPoP proof must carry the current nonce")
	// ErrNoToken: the request carries no access token ([Verifier.VerifyRequest]).
	ErrNoToken = errors.New("the request carries no access token")
	// ErrAuthorization: the Authorization header is malformed
	// ([Verifier.VerifyRequest]; RFC 6750 §3.1 invalid_request).
	ErrAuthorization = errors.New("the Authorization header is malformed")
)

// proofReasons are package dpop's reasons, the error_description of an
// invalid_dpop_proof.
var proofReasons = []error{
	dpop.ErrMissing, dpop.ErrMalformed, dpop.ErrType, dpop.ErrAlgorithm, dpop.ErrKey, dpop.ErrSignature, dpop.ErrMethod,
	dpop.ErrURL, dpop.ErrIssuedAt, dpop.ErrReplay, dpop.ErrTokenHash, dpop.ErrKeyMismatch, dpop.ErrReplayFull,
}

// proofReason is the dpop reason err wraps, else ErrDPoPProof.
func proofReason(err error) error {
	for _, r := range proofReasons {
		if errors.Is(err, r) {
			return r
		}
	}
	return ErrDPoPProof
}

// VerifyDPoP checks a DPoP-bound token and its proof (RFC 9449 §7.1): the
// token as Verify does, then the proof for a request of method to url
// (htm, htu), for this token (ath), signed by the key the token is bound
// to (cnf.jkt), issued within the iat window and never seen before by
// this Verifier (jti). A token also bound to a client certificate is
// refused (ErrCertificate): VerifyDPoP does not see the request's
// certificate ([Verifier.VerifyRequest] does).
func (v *Verifier) VerifyDPoP(ctx context.Context, token, proof, method, reqURL string) (*Claims, error) {
	c, err := v.verifyDPoP(ctx, token, proof, method, reqURL)
	if err != nil {
		return nil, err
	}
	if c.CertificateThumbprint != "" {
		return nil, fmt.Errorf("verify: %w (VerifyDPoP cannot see the request's certificate: use VerifyRequest)", ErrCertificate)
	}
	return c, nil
}

// verifyDPoP is VerifyDPoP without the refusal of certificate-bound
// tokens, whose binding the caller checks (checkBinding).
func (v *Verifier) verifyDPoP(ctx context.Context, token, proof, method, reqURL string) (*Claims, error) {
	c, err := v.verifyActive(ctx, token)
	if err != nil {
		return nil, err
	}
	if !c.Confirmation.Bound() {
		return nil, fmt.Errorf("verify: %w", ErrNotDPoPBound)
	}
	if _, err := v.dpop.Check(proof, dpop.Expect{Method: method, URL: reqURL, AccessToken: token, JKT: c.Confirmation.JKT}); err != nil {
		if errors.Is(err, dpop.ErrUseNonce) {
			return nil, fmt.Errorf("verify: %w", ErrDPoPNonce)
		}
		return nil, fmt.Errorf("verify: %w: %w", ErrDPoPProof, err)
	}
	return c, nil
}

// VerifyRequest checks the access token of r whatever its scheme:
// `Authorization: Bearer` for a bearer token (a DPoP-bound one is refused
// with ErrDPoPBound), `Authorization: DPoP` with exactly one DPoP header
// for a DPoP-bound token (VerifyDPoP). A request without a token is
// ErrNoToken. A token bound to a TLS client certificate (`cnf.x5t#S256`,
// RFC 8705 §3) is accepted only when r presents that certificate
// (checkBinding): call VerifyRequest, not Verify, for such tokens.
func (v *Verifier) VerifyRequest(r *http.Request) (*Claims, error) {
	c, _, err := v.verifyRequest(r)
	return c, err
}

// verifyRequest is VerifyRequest that also tells whether the request used
// the DPoP scheme.
func (v *Verifier) verifyRequest(r *http.Request) (*Claims, bool, error) {
	a, problem := authorization(r.Header.Values("Authorization"))
	switch {
	case problem != "":
		return nil, false, fmt.Errorf("verify: %w: %s", ErrAuthorization, problem)
	case a.token == "":
		return nil, false, fmt.Errorf("verify: %w", ErrNoToken)
	case !a.dpop:
		c, err := v.verifyBearer(r.Context(), a.token)
		if err == nil {
			err = v.checkBinding(c, r)
		}
		if err != nil {
			return nil, false, err
		}
		return c, false, nil
	}
	proofs := r.Header.Values(dpop.Header)
	switch len(proofs) {
	case 0:
		return nil, true, fmt.Errorf("verify: %w: %w", ErrDPoPProof, dpop.ErrMissing)
	case 1:
	default:
		return nil, true, fmt.Errorf("verify: %w: %w (%d DPoP headers, want one)", ErrDPoPProof, dpop.ErrMalformed, len(proofs))
	}
	c, err := v.verifyDPoP(r.Context(), a.token, proofs[0], r.Method, v.requestURL(r))
	if err == nil {
		err = v.checkBinding(c, r)
	}
	if err != nil {
		return nil, true, err
	}
	return c, true, nil
}

// requestURL is the URL of r as a proof's htu names it.
func (v *Verifier) requestURL(r *http.Request) string {
	base := v.cfg.DPoP.BaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimRight(base, "/") + r.URL.EscapedPath()
}

// dpopAlgs is the algs attribute of the DPoP challenge (RFC 9449 §7.1).
var dpopAlgs = strings.Join(dpop.Algorithms, " ")

// credentials is the token of an Authorization header and its scheme.
type credentials struct {
	token string
	dpop  bool // the DPoP scheme (RFC 9449 §7.1), else Bearer (RFC 6750 §2.1)
}

// authorization extracts the token of an "Authorization: Bearer" or
// "Authorization: DPoP" header. No header, or another scheme, is no token;
// a malformed header is a problem.
func authorization(values []string) (credentials, string) {
	if len(values) == 0 {
		return credentials{}, ""
	}
	if len(values) > 1 {
		return credentials{}, "more than one Authorization header"
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	var c credentials
	switch {
	case strings.EqualFold(scheme, "Bearer"):
	case strings.EqualFold(scheme, dpop.Scheme):
		c.dpop = true
	default:
		return credentials{}, ""
	}
	c.token = strings.TrimLeft(rest, " ")
	switch {
	case c.token == "":
		return credentials{}, "the " + scheme + " token is empty"
	case strings.ContainsAny(c.token, " \t,"):
		return credentials{}, "the Authorization header holds more than a " + scheme + " token"
	}
	return c, ""
}
