package federation

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/internal/remotekeys"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Algorithms are the signature algorithms accepted of an external token:
// asymmetric ones only, never none or an HMAC (RFC 8725 §3.1).
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

const (
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway bounds Config.Leeway.
	MaxLeeway = 2 * time.Minute
	// MaxAssertionBytes bounds the token looked at.
	MaxAssertionBytes = 16 << 10
)

// Checks named by a Failure: the first check that failed.
const (
	FailMalformed   = "malformed"     // not a signed JWT of an accepted algorithm, or too large
	FailIssuer      = "issuer"        // no federated credential of the client names its iss
	FailKeys        = "issuer_keys"   // the issuer's keys could not be fetched
	FailSignature   = "signature"     // no key of the issuer verifies it
	FailExpiry      = "expired"       // no exp, or exp is past
	FailNotBefore   = "not_yet_valid" // nbf or iat is in the future
	FailAudience    = "audience"      // aud lacks the credential's audience
	FailSubject     = "subject"       // sub does not match the credential's
	FailClaims      = "claims"        // a claim condition does not hold
	FailMaxLifetime = "max_lifetime"  // the token lives longer than the credential allows
)

// Failure is why an external token was refused: the check and, when it
// got that far, the credentials that were tried. It holds nothing of the
// token, so it may be logged.
type Failure struct {
	Check       string
	Credentials []string // the IDs of the credentials whose issuer matched
	cause       error
}

func (f *Failure) Error() string {
	msg := "federated assertion refused: " + f.Check
	if len(f.Credentials) > 0 {
		msg += " (credentials " + strings.Join(f.Credentials, ", ") + ")"
	}
	if f.cause != nil {
		msg += ": " + f.cause.Error()
	}
	return msg
}

func (f *Failure) Unwrap() error { return f.cause }

// Config configures a Verifier.
type Config struct {
	// Audience is the aud expected of a credential that names none: the
	// server's issuer identifier.
	Audience string
	// Client fetches discovery documents and JWKS; nil:
	// remotekeys.NewClient(FetchTimeout, InsecureHTTP), which follows no
	// redirect and never connects to a link-local address, nor to a
	// loopback one but under InsecureHTTP.
	Client *http.Client
	// InsecureHTTP lets issuers and JWKS on a loopback host be fetched over
	// plain http, for development and tests.
	InsecureHTTP bool
	// Leeway is the clock skew allowed (default DefaultLeeway, at most
	// MaxLeeway).
	Leeway time.Duration
	// MaxIssuers bounds the issuers whose keys are kept (default
	// DefaultMaxIssuers).
	MaxIssuers int
	// Fetched, if set, is called at every fetch of an issuer's discovery
	// document.
	Fetched func()
	Now     func() time.Time
}

// Verifier checks external tokens against federated credentials. It is
// safe for concurrent use.
type Verifier struct {
	audience string
	leeway   time.Duration
	now      func() time.Time
	cache    *keyCache
}

// New returns a Verifier for cfg.
func New(cfg Config) *Verifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	cfg.Leeway = min(cfg.Leeway, MaxLeeway)
	if cfg.MaxIssuers <= 0 {
		cfg.MaxIssuers = DefaultMaxIssuers
	}
	if cfg.Client == nil {
		cfg.Client = remotekeys.NewClient(FetchTimeout, cfg.InsecureHTTP)
	}
	return &Verifier{
		audience: cfg.Audience, leeway: cfg.Leeway, now: cfg.Now,
		cache: &keyCache{client: cfg.Client, insecure: cfg.InsecureHTTP, now: cfg.Now, maxIssuers: cfg.MaxIssuers,
			jwks: newJWKS(cfg.Client, cfg.InsecureHTTP, cfg.Now, cfg.MaxIssuers), fetches: cfg.Fetched, m: map[string]*discovered{}},
	}
}

// Issuer returns the iss of a compact JWS without verifying anything; see
// Claimed.
func Issuer(token string) string {
	iss, _ := Claimed(token)
	return iss
}

// Claimed returns the iss and sub of a compact JWS without verifying
// anything, so that the token endpoint can tell a federated assertion (iss
// is an external issuer, sub a workload) from a private_key_jwt one (iss
// and sub are the client's ID) before it parses either. It decodes the
// payload alone; Verify checks everything. Both are "" for what is not a
// JWS with string claims.
func Claimed(token string) (iss, sub string) {
	if len(token) > MaxAssertionBytes {
		return "", ""
	}
	_, rest, ok := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sig, ".") {
		return "", ""
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", ""
	}
	var c struct {
		Issuer  string `json:"iss"`
		Subject string `json:"sub"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "", ""
	}
	return c.Issuer, c.Subject
}

// Verify checks token against the credentials of one client and returns the
// credential it satisfies, or a *Failure. The issuer's keys are fetched only
// when one of creds names the token's iss.
func (v *Verifier) Verify(ctx context.Context, creds []storage.FederatedCredential, token string) (*storage.FederatedCredential, error) {
	if len(token) > MaxAssertionBytes {
		return nil, &Failure{Check: FailMalformed, cause: errors.New("the token is too large")}
	}
	tok, err := jwt.ParseSigned(token, Algorithms)
	if err != nil {
		return nil, &Failure{Check: FailMalformed, cause: errors.New("not a JWS of an accepted algorithm")}
	}
	iss := Issuer(token)
	var candidates []*storage.FederatedCredential
	var ids []string
	needClaims := false
	for i := range creds {
		if creds[i].Issuer == iss && iss != "" {
			needClaims = needClaims || len(creds[i].Claims) > 0
			candidates = append(candidates, &creds[i])
			ids = append(ids, creds[i].ID)
		}
	}
	if len(candidates) == 0 {
		return nil, &Failure{Check: FailIssuer}
	}
	keys, err := v.cache.keys(ctx, iss, tok.Headers[0].KeyID)
	if err != nil {
		return nil, &Failure{Check: FailKeys, Credentials: ids, cause: err}
	}
	payload, ok := verifySignature(tok, keys)
	if !ok {
		return nil, &Failure{Check: FailSignature, Credentials: ids}
	}
	var std jwt.Claims
	var all map[string]any // for the claim conditions only
	malformed := json.Unmarshal(payload, &std) != nil || std.Issuer != iss
	if needClaims && !malformed {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber()
		malformed = dec.Decode(&all) != nil
	}
	if malformed {
		return nil, &Failure{Check: FailMalformed, Credentials: ids, cause: errors.New("the claims do not decode")}
	}
	now := v.now()
	if err := v.checkTimes(&std, now); err != nil {
		err.Credentials = ids
		return nil, err
	}
	var first *Failure
	for _, fc := range candidates {
		check := v.match(fc, &std, all, now)
		if check == "" {
			return fc, nil
		}
		if first == nil {
			first = &Failure{Check: check, Credentials: ids}
		}
	}
	return nil, first
}

// verifySignature returns the payload of tok verified by one of keys: the
// one its kid names, or, without a kid, each key that fits the algorithm
// in turn.
func verifySignature(tok *jwt.JSONWebToken, keys []jose.JSONWebKey) ([]byte, bool) {
	h := tok.Headers[0]
	for i := range keys {
		k := &keys[i]
		if h.KeyID != "" && k.KeyID != h.KeyID || k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		var raw json.RawMessage
		if tok.Claims(k.Key, &raw) == nil {
			return raw, true
		}
	}
	return nil, false
}

// checkTimes checks exp (required), nbf and iat against now with the leeway
// (RFC 7519 §4.1.4, §4.1.5, §4.1.6).
func (v *Verifier) checkTimes(c *jwt.Claims, now time.Time) *Failure {
	switch {
	case c.Expiry == nil || !now.Before(c.Expiry.Time().Add(v.leeway)):
		return &Failure{Check: FailExpiry}
	case c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time()):
		return &Failure{Check: FailNotBefore}
	case c.IssuedAt != nil && now.Add(v.leeway).Before(c.IssuedAt.Time()):
		return &Failure{Check: FailNotBefore}
	}
	return nil
}

// match returns the first check of fc that the verified token fails, or "".
func (v *Verifier) match(fc *storage.FederatedCredential, c *jwt.Claims, all map[string]any, now time.Time) string {
	aud := fc.Audience
	if aud == "" {
		aud = v.audience
	}
	if aud == "" || !slices.Contains(c.Audience, aud) {
		return FailAudience
	}
	if !MatchSubject(fc.Subject, c.Subject) {
		return FailSubject
	}
	for path, want := range fc.Claims {
		if got, ok := claimValue(all, path); !ok || got != want {
			return FailClaims
		}
	}
	if c.Expiry.Time().Sub(now) > MaxLifetime(fc)+v.leeway {
		return FailMaxLifetime
	}
	return ""
}
