package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/clientcred"
	"github.com/gatehouse-dev/gatehouse/internal/discovery"
	"github.com/gatehouse-dev/gatehouse/internal/federation"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Limits of a private_key_jwt client assertion (RFC 7523 §3).
const (
	// MaxAssertionLifetime is how far ahead of now an assertion's exp may
	// lie: a client signs one just before it asks, so a long-lived one is
	// a stolen one's better prize.
	MaxAssertionLifetime = 5 * time.Minute
	// AssertionLeeway is the clock difference between client and server
	// tolerated on exp, nbf and iat.
	AssertionLeeway = 30 * time.Second
	// maxJTILength bounds the jti kept against replay.
	maxJTILength = 256
	// maxAssertionKeys bounds the keys one assertion without a kid is
	// tried against.
	maxAssertionKeys = 4
)

// AssertionIDs records used client assertion JWT IDs across instances
// (storage.Credentials.UseAssertionID): ErrAlreadyExists for a replay.
type AssertionIDs interface {
	UseAssertionID(ctx context.Context, clientID, jti string, exp time.Time) error
}

// RemoteKeys fetches the keys a client publishes at its jwks_uri (package
// remotekeys): the keys kid names, fetching again, rate-limited, when the
// cached set has none.
type RemoteKeys interface {
	Keys(ctx context.Context, url, kid string) ([]jose.JSONWebKey, error)
}

// assertionFailure is why an assertion failed, for the metric and the
// audit event, and whether it counts as a guess for brute-force protection.
type assertionFailure struct {
	reason string
	guess  bool
}

var (
	failMalformed = assertionFailure{metrics.ReasonInvalidAssertion, true}
	failSignature = assertionFailure{metrics.ReasonInvalidAssertion, true}
	failClaims    = assertionFailure{metrics.ReasonAssertionClaims, false}
	failReplay    = assertionFailure{metrics.ReasonReplayedAssertion, false}
	failUnknown   = assertionFailure{metrics.ReasonUnknownClient, true}
	failDisabled  = assertionFailure{metrics.ReasonDisabledClient, false}
	failMethod    = assertionFailure{metrics.ReasonWrongAuthMethod, false}
)

// authenticateAssertion is the one entry point for a client that
// authenticates with a JWT client assertion (RFC 7521 §4.2, RFC 7523 §2.2
// and §3, OIDC Core §9 private_key_jwt). The assertion is parsed with the
// asymmetric algorithms of clientcred.AssertionAlgs only (none and HMAC never parse),
// its iss and sub must both be the client's ID (and equal a client_id the
// body sends), its signature must verify with one of the client's
// private_key_jwt credentials (by kid, or each of a few when it has none)
// or a key at its jwks_uri, and then its claims must hold: aud the issuer
// or the token endpoint URL as the sole audience, exp present, not past and
// at most MaxAssertionLifetime ahead, nbf and iat not in the future, a jti
// not seen before (checkJTI). Every failure is the same invalid_client;
// the reason goes to the metric and the audit event. Brute-force
// protection counts what a guesser controls: a malformed assertion, an
// unknown client or kid and a bad signature, like a wrong secret.
//
// Federated credentials (issue 20 §2) meet private_key_jwt here: an
// assertion whose iss is not its sub — an external issuer's token, such as
// a Kubernetes service account's or a GitHub Actions job's — is a
// federated one, and goes to authenticateFederated (federated.go), told
// apart by its payload before anything is parsed: client_id names the
// client, one of whose federated credentials must accept the token
// (package federation), with the same throttle and the same invalid_client.
func (e *Endpoint) authenticateAssertion(r *http.Request, snap *catalog.Snapshot, req *oauth.TokenRequest, now time.Time) (*catalog.Client, error) {
	if iss, sub := federation.Claimed(req.ClientAssertion); iss != "" && iss != sub {
		// A platform's token: federated.go parses it once, with the
		// algorithms platforms sign with.
		return e.authenticateFederated(r, snap, req.ClientID, req.ClientAssertion, now)
	}
	addr := clientAddr(r)
	tok, err := jwt.ParseSigned(req.ClientAssertion, clientcred.AssertionAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, e.assertionFailed(r, req.ClientID, nil, false, failMalformed, addr, now)
	}
	hdr := tok.Headers[0]
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Subject == "" {
		return nil, e.assertionFailed(r, req.ClientID, nil, false, failMalformed, addr, now)
	}
	if assertionIssuerIsExternal := unverified.Issuer != unverified.Subject; assertionIssuerIsExternal {
		return e.authenticateFederated(r, snap, req.ClientID, req.ClientAssertion, now)
	}
	id := unverified.Subject
	if req.ClientID != "" && req.ClientID != id {
		return nil, e.assertionFailed(r, req.ClientID, nil, false, failClaims, addr, now)
	}
	client, known := snap.Client(id)
	if ok, wait := e.cfg.AuthThrottle.Check(id, addr, now, known); !ok {
		if e.cfg.Metrics != nil {
			e.cfg.Metrics.AuthFailed(metrics.ReasonThrottled)
		}
		return nil, tooManyRequests("too many failed client authentications; retry later", wait)
	}
	switch {
	case !known:
		return nil, e.assertionFailed(r, id, nil, false, failUnknown, addr, now)
	case len(client.AuthCredentials(storage.CredentialPublicKey)) == 0 && client.JWKSURI == "":
		return nil, e.assertionFailed(r, id, client, true, failMethod, addr, now)
	case !typAllowed(hdr):
		return nil, e.assertionFailed(r, id, client, true, failMalformed, addr, now)
	}
	var claims jwt.Claims
	if !e.verifyAssertion(r.Context(), req.ClientAssertion, tok, hdr, client, now, &claims) {
		return nil, e.assertionFailed(r, id, client, true, failSignature, addr, now)
	}
	if client.Disabled {
		return nil, e.assertionFailed(r, id, client, true, failDisabled, addr, now)
	}
	if !e.assertionClaimsHold(&claims, id, now) {
		return nil, e.assertionFailed(r, id, client, true, failClaims, addr, now)
	}
	if !e.checkJTI(r.Context(), id, claims.ID, claims.Expiry.Time()) {
		return nil, e.assertionFailed(r, id, client, true, failReplay, addr, now)
	}
	return client, nil
}

// assertionFailed counts and audits a failed assertion and returns the one
// invalid_client answer (RFC 7521 §4.2.1).
func (e *Endpoint) assertionFailed(r *http.Request, clientID string, client *catalog.Client, known bool, f assertionFailure, addr netip.Addr, now time.Time) error {
	if f.guess && clientID != "" {
		e.cfg.AuthThrottle.Failed(clientID, addr, now, known)
	}
	e.authFailed(r, client, f.reason, addr, now)
	return oauth.InvalidClient("client authentication failed")
}

// typAllowed accepts an assertion typed as RFC 7523bis's
// client-authentication+jwt, as a plain JWT or not at all, and refuses
// every other explicit type (an access token or an ID token presented as
// an assertion, RFC 8725 §3.11).
func typAllowed(h jose.Header) bool {
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	switch strings.TrimPrefix(strings.ToLower(typ), "application/") {
	case "", "jwt", "client-authentication+jwt":
		return true
	}
	return false
}

// verifyAssertion reports whether tok's signature verifies with one of the
// client's private_key_jwt keys, and decodes its claims into claims. A
// kid picks one key; without one, each of the first few keys whose
// algorithm is the header's is tried. A registered credential must be
// active and pinned to the header's algorithm; a jwks_uri key must be
// public, of a type the algorithm signs with, and of a strength
// clientcred accepts.
func (e *Endpoint) verifyAssertion(ctx context.Context, raw string, tok *jwt.JSONWebToken, hdr jose.Header, client *catalog.Client, now time.Time, claims *jwt.Claims) bool {
	tried := 0
	for _, cr := range client.AuthCredentials(storage.CredentialPublicKey) {
		if cr.Key == nil || clientcred.CanonicalAlg(cr.Alg) != clientcred.CanonicalAlg(hdr.Algorithm) || !cr.ActiveAt(now) ||
			hdr.KeyID != "" && hdr.KeyID != cr.KeyID {
			continue
		}
		if verifyClaims(tok, hdr, cr.Key, claims, raw) {
			return true
		}
		if tried++; tried >= maxAssertionKeys {
			return false
		}
	}
	if client.JWKSURI == "" || e.cfg.RemoteKeys == nil {
		return false
	}
	keys, err := e.cfg.RemoteKeys.Keys(ctx, client.JWKSURI, hdr.KeyID)
	if err != nil {
		e.cfg.Logger.Warn("the client's jwks_uri could not be read", "client_id", client.ClientID, "err", err)
		return false
	}
	for _, k := range keys {
		if !k.Valid() || !k.IsPublic() || k.Use != "" && k.Use != "sig" ||
			k.Algorithm != "" && clientcred.CanonicalAlg(k.Algorithm) != clientcred.CanonicalAlg(hdr.Algorithm) ||
			!clientcred.AlgFits(clientcred.CanonicalAlg(hdr.Algorithm), k.Key) || weakRSA(k.Key) {
			continue
		}
		if verifyClaims(tok, hdr, k.Key, claims, raw) {
			return true
		}
		if tried++; tried >= maxAssertionKeys {
			return false
		}
	}
	return false
}

// verifyClaims verifies the signature of tok (whose compact form is raw)
// with key and decodes its claims. go-jose verifies every algorithm but
// RFC 9864's fully-specified Ed25519 (what openid-client v6 sends for an
// Ed25519 key), which is RFC 8037's EdDSA with the curve fixed: its
// signature over the JWS signing input (RFC 7515 §5.2: the two first parts
// as sent) is checked with crypto/ed25519, and the claims then decoded by
// go-jose.
func verifyClaims(tok *jwt.JSONWebToken, hdr jose.Header, key any, claims *jwt.Claims, raw string) bool {
	if hdr.Algorithm != clientcred.AlgEd25519 {
		return tok.Claims(key, claims) == nil
	}
	pub, ok := key.(ed25519.PublicKey)
	dot := strings.LastIndexByte(raw, '.')
	if !ok || dot < 0 {
		return false
	}
	signature, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil || !ed25519.Verify(pub, []byte(raw[:dot]), signature) {
		return false
	}
	return tok.UnsafeClaimsWithoutVerification(claims) == nil
}

func weakRSA(key any) bool {
	k, ok := key.(*rsa.PublicKey)
	return ok && k.N.BitLen() < clientcred.MinRSABits
}

// assertionClaimsHold checks the claims of RFC 7523 §3 with the audience
// rule of draft-ietf-oauth-rfc7523bis (the issuer as the sole audience),
// also accepting the token endpoint URL there (or its mutual-TLS alias,
// RFC 8705 §5), as RFC 7523 §3 and OIDC Core §9 clients send it, and the issuer with or without a trailing slash, as
// Auth0's SDKs send https://DOMAIN/ whatever the issuer's spelling
// (docs/reference/protocol.md says why).
func (e *Endpoint) assertionClaimsHold(c *jwt.Claims, clientID string, now time.Time) bool {
	if c.Issuer != clientID || c.Subject != clientID || len(c.Audience) != 1 {
		return false
	}
	if aud := c.Audience[0]; aud != e.cfg.Issuer && aud != e.tokenURL && aud != e.issuerSlashed && !slices.Contains(e.aliasURLs, aud) {
		return false
	}
	if c.Expiry == nil || c.ID == "" || len(c.ID) > maxJTILength {
		return false
	}
	exp := c.Expiry.Time()
	if !now.Before(exp.Add(AssertionLeeway)) || exp.After(now.Add(MaxAssertionLifetime+AssertionLeeway)) {
		return false
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(AssertionLeeway)) {
		return false
	}
	if c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(AssertionLeeway)) {
		return false
	}
	return true
}

// tokenEndpointURL is the token endpoint's URL as discovery publishes it.
func tokenEndpointURL(issuer string) string {
	return strings.TrimRight(issuer, "/") + discovery.PathToken
}
