package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// Token types (the JOSE `typ` header) a Verifier may accept.
const (
	// TypeAccessToken is RFC 9068 §2.1's "at+jwt" (also accepted spelled
	// "application/at+jwt", case-insensitively, RFC 9068 §4).
	TypeAccessToken = "at+jwt"
	// TypeJWT is the `auth0` token dialect's "JWT".
	TypeJWT = "JWT"
)

// Kinds of subject a token is about ([Claims.SubjectType], [Config].Subject).
const (
	// SubjectClient is a client's own token (client credentials): no
	// person is involved, and `sub` names the client (RFC 9068 §2.2).
	SubjectClient = "client"
	// SubjectUser is a person's token (authorization code, refresh): `sub`
	// names the person and `client_id` the application acting for them.
	SubjectUser = "user"
)

// GrantTypeClientCredentials is the `gty` of a client's own token, as
// gatehouse and Auth0 write it.
const GrantTypeClientCredentials = "client-credentials"

// Defaults and limits of [Config].
const (
	DefaultLeeway       = 30 * time.Second
	MaxLeeway           = 5 * time.Minute
	DefaultMaxTokenSize = 8 << 10
	// DefaultJWKSMinAge is a floor against a max-age of 0 or no-cache
	// only: the issuer's max-age is honoured down to it, since the issuer
	// publishes a next key only that long before it signs.
	DefaultJWKSMinAge      = time.Second
	DefaultJWKSMaxAge      = 24 * time.Hour
	DefaultJWKSAge         = 5 * time.Minute // without Cache-Control max-age
	DefaultRefetchInterval = time.Second
)

// DefaultAlgorithms are the algorithms gatehouse signs with.
var DefaultAlgorithms = []string{"RS256", "ES256", "PS256", "EdDSA"}

// asymmetric are the JWS algorithms (RFC 7518 §3.1, RFC 8037) a Verifier
// can be configured with: no "none", no HMAC.
var asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Config configures a [Verifier]. Issuer and Audience are required.
type Config struct {
	// Issuer is compared with `iss` exactly (RFC 9068 §4).
	Issuer string
	// Audience is the API's identifier; `aud` must contain it.
	Audience string
	// JWKSURL is where the keys are; empty means the `jwks_uri` of the
	// issuer's metadata at Issuer (without a trailing slash) +
	// "/.well-known/openid-configuration", whose `issuer` must equal Issuer.
	JWKSURL string
	// Algorithms are the accepted `alg` values (default DefaultAlgorithms);
	// only asymmetric ones are allowed.
	Algorithms []string
	// Types are the accepted `typ` values (default TypeAccessToken only);
	// add TypeJWT for APIs that use the auth0 dialect.
	Types []string
	// Subject, when set to SubjectClient or SubjectUser, accepts only the
	// tokens about that kind of subject ([Claims.SubjectType]); others,
	// and tokens whose kind cannot be told, fail with ErrSubject. Empty
	// accepts both.
	Subject string
	// Leeway is the clock skew allowed on exp, nbf and iat: 0 means
	// DefaultLeeway, negative means none; at most MaxLeeway.
	Leeway time.Duration
	// MaxTokenSize is the longest token accepted, in bytes
	// (default DefaultMaxTokenSize).
	MaxTokenSize int
	// CacheSize is how many verified tokens are remembered until they
	// expire; 0 disables the cache.
	CacheSize int
	// JWKSMinAge and JWKSMaxAge bound how long a fetched key set is used
	// (defaults 1 s and 24 h) whatever its Cache-Control says; without a
	// max-age it is used for DefaultJWKSAge. A JWKSMinAge above the
	// issuer's max-age makes tokens of a newly rotated key fail until the
	// next refetch: gatehouse publishes a next key only its max-age before
	// it signs.
	JWKSMinAge, JWKSMaxAge time.Duration
	// RefetchInterval is the least time between two fetches of the key set
	// caused by an unknown `kid` (default 1 s): a kid the issuer has just
	// started signing with is picked up within it, and a flood of forged
	// kids costs the issuer one request per interval.
	RefetchInterval time.Duration
	// Realm is the realm of the WWW-Authenticate challenge (RFC 6750 §3);
	// default the Audience.
	Realm string
	// HTTPClient fetches the metadata and the keys; nil means a client with
	// a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// InsecureAllowHTTP permits plain-HTTP metadata and JWKS URLs on hosts
	// other than loopback, where anyone on the path can swap the keys.
	InsecureAllowHTTP bool

	// ClientCertificates says where [Verifier.VerifyRequest] and the
	// middleware find the request's TLS client certificate, against which
	// a certificate-bound token (`cnf.x5t#S256`, RFC 8705 §3) is checked:
	// the zero value reads the request's own TLS connection only.
	ClientCertificates CertificateSource
	// RequireCertificateBinding refuses tokens that are not bound to a
	// client certificate (ErrNotBound): the API accepts no bearer tokens.
	RequireCertificateBinding bool
	// Introspection, when set, turns on introspection mode: a token that
	// passes the checks above is also checked with the issuer's
	// introspection endpoint (RFC 7662), so that a revoked token is
	// refused within Introspection.CacheTTL (introspection.go).
	Introspection *Introspection
	// DPoP configures the checking of DPoP-bound tokens' proofs (RFC
	// 9449 §7); they are checked whatever it says, and a DPoP-bound token
	// is never accepted as a bearer token.
	DPoP DPoPConfig
}

// Verifier verifies access tokens. It is safe for concurrent use; create one
// per API and share it.
type Verifier struct {
	cfg    Config
	algs   []jose.SignatureAlgorithm
	types  map[string]bool
	leeway time.Duration
	now    func() time.Time
	keys   *keySet
	cache  *tokenCache // nil when disabled
	// intro is nil unless in introspection mode.
	intro *introspector
	dpop  *dpop.Checker
}

// New checks cfg and returns a Verifier. It makes no request; the keys are
// fetched on first use.
func New(cfg Config) (*Verifier, error) {
	var problems []string
	if cfg.Issuer == "" {
		problems = append(problems, "Issuer is empty")
	}
	if cfg.Audience == "" {
		problems = append(problems, "Audience is empty")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL(cfg.JWKSURL, cfg.InsecureAllowHTTP); err != nil {
			problems = append(problems, "JWKSURL: "+err.Error())
		}
	} else if cfg.Issuer != "" {
		if err := checkURL(cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
			problems = append(problems, "Issuer: "+err.Error())
		}
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	v := &Verifier{types: map[string]bool{}}
	for _, a := range cfg.Algorithms {
		if !slices.Contains(asymmetric, a) {
			problems = append(problems, fmt.Sprintf("algorithm %q is not an allowed asymmetric JWS algorithm", a))
			continue
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	if len(cfg.Types) == 0 {
		cfg.Types = []string{TypeAccessToken}
	}
	if cfg.Subject != "" && cfg.Subject != SubjectClient && cfg.Subject != SubjectUser {
		problems = append(problems, fmt.Sprintf("Subject %q must be empty, %q or %q", cfg.Subject, SubjectClient, SubjectUser))
	}
	for _, t := range cfg.Types {
		if t == "" {
			problems = append(problems, "empty token type")
		}
		v.types[normType(t)] = true
	}
	switch {
	case cfg.Leeway > MaxLeeway:
		problems = append(problems, fmt.Sprintf("Leeway %s is over %s", cfg.Leeway, MaxLeeway))
	case cfg.Leeway == 0:
		v.leeway = DefaultLeeway
	case cfg.Leeway > 0:
		v.leeway = cfg.Leeway
	}
	problems = append(problems, checkIntrospection(cfg.Introspection, cfg.InsecureAllowHTTP)...)
	if cfg.MaxTokenSize < 0 || cfg.CacheSize < 0 || cfg.JWKSMinAge < 0 || cfg.JWKSMaxAge < 0 || cfg.RefetchInterval < 0 {
		problems = append(problems, "negative MaxTokenSize, CacheSize, JWKS age or RefetchInterval")
	}
	problems = append(problems, cfg.DPoP.check()...)
	if len(problems) > 0 {
		return nil, errors.New("verify: invalid config: " + strings.Join(problems, "; "))
	}
	if cfg.MaxTokenSize == 0 {
		cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	if cfg.JWKSMinAge == 0 {
		cfg.JWKSMinAge = DefaultJWKSMinAge
	}
	if cfg.JWKSMaxAge == 0 {
		cfg.JWKSMaxAge = DefaultJWKSMaxAge
	}
	cfg.JWKSMaxAge = max(cfg.JWKSMaxAge, cfg.JWKSMinAge)
	if cfg.RefetchInterval == 0 {
		cfg.RefetchInterval = DefaultRefetchInterval
	}
	if cfg.Realm == "" {
		cfg.Realm = cfg.Audience
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	v.now = cfg.Now
	if v.now == nil {
		v.now = time.Now
	}
	v.cfg = cfg
	v.keys = &keySet{cfg: &v.cfg, hc: hc, now: v.now, url: cfg.JWKSURL}
	v.dpop = dpop.NewChecker(dpop.Config{MaxAge: cfg.DPoP.MaxAge, Leeway: cfg.DPoP.Leeway, ReplayEntries: cfg.DPoP.ReplayEntries,
		Nonces: cfg.DPoP.Nonces, Now: v.now})
	if cfg.CacheSize > 0 {
		v.cache = newTokenCache(cfg.CacheSize)
		v.keys.onRemoval = v.cache.clear
	}
	if cfg.Introspection != nil {
		v.intro = newIntrospector(*cfg.Introspection, v.keys, v.now)
	}
	return v, nil
}

// checkURL accepts an absolute https URL, or http on a loopback host (or
// anywhere when insecure is set).
func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("plain http to a non-loopback host (set InsecureAllowHTTP to allow it)")
	}
	return fmt.Errorf("scheme %q, want https", u.Scheme)
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// normType folds a `typ` for comparison: case-insensitive, and the
// "application/" prefix may be left out (RFC 7515 §4.1.9).
func normType(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}

// Claims are the verified claims of an access token (RFC 9068 §2.2).
// Treat them as read-only.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// ClientID is `client_id`; AuthorizedParty is `azp`.
	ClientID        string
	AuthorizedParty string
	// Scope is the space-separated `scope` claim (RFC 9068 §2.2.3).
	Scope string
	// GrantType is `gty` ("client-credentials" for a client's own token).
	GrantType string
	// Permissions is the `permissions` claim of the _authz token dialects
	// (Auth0's RBAC): nil when the token has none.
	Permissions []string
	// ID is `jti`.
	ID                          string
	IssuedAt, NotBefore, Expiry time.Time
	// Type, KeyID and Algorithm are from the JOSE header.
	Type, KeyID, Algorithm string
	// Confirmation is `cnf`: the key a sender-constrained token is bound
	// to (RFC 9449 §6).
	Confirmation Confirmation
	// CertificateThumbprint is `cnf.x5t#S256` (RFC 8705 §3.1): the token
	// is bound to the client certificate of that SHA-256 thumbprint; empty
	// for a bearer token.
	CertificateThumbprint string

	raw json.RawMessage
}

// Scopes returns the scopes of the `scope` claim.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether the token carries scope s.
func (c *Claims) HasScope(s string) bool {
	for f := range strings.FieldsSeq(c.Scope) {
		if f == s {
			return true
		}
	}
	return false
}

// HasAllScopes reports whether the token carries every one of scopes.
func (c *Claims) HasAllScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !c.HasScope(s) {
			return false
		}
	}
	return true
}

// HasAnyScope reports whether the token carries at least one of scopes.
func (c *Claims) HasAnyScope(scopes ...string) bool {
	return slices.ContainsFunc(scopes, c.HasScope)
}

// SubjectType tells whom the token is about: SubjectClient when `gty` is
// "client-credentials" and `sub` names the client (its `client_id`, or
// Auth0's "<client_id>@clients"); SubjectUser when `gty` is anything else
// and `sub` is not the client; "" when the two disagree or `client_id` is
// missing, so that neither kind is assumed.
func (c *Claims) SubjectType() string {
	if c.ClientID == "" || c.Subject == "" {
		return ""
	}
	namesClient := c.Subject == c.ClientID || c.Subject == c.ClientID+"@clients"
	switch {
	case c.GrantType == GrantTypeClientCredentials && namesClient:
		return SubjectClient
	case c.GrantType != GrantTypeClientCredentials && !namesClient:
		return SubjectUser
	}
	return ""
}

// HasPermission reports whether the token grants permission p: the
// `permissions` claim lists it or, for a token without that claim (a
// client's own token, or a dialect without permissions), `scope` does.
func (c *Claims) HasPermission(p string) bool {
	if c.Permissions != nil {
		return slices.Contains(c.Permissions, p)
	}
	return c.HasScope(p)
}

// Decode unmarshals the verified claims set into v, for claims Claims has
// no field for.
func (c *Claims) Decode(v any) error {
	if err := json.Unmarshal(c.raw, v); err != nil {
		return fmt.Errorf("verify: decode claims: %w", err)
	}
	return nil
}

// wireClaims is the JSON claims set.
type wireClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	ClientID  string           `json:"client_id"`
	AZP       string           `json:"azp"`
	Scope     string           `json:"scope"`
	GTY       string           `json:"gty"`
	// Permissions is a pointer so that an empty list is told from none.
	Permissions *[]string `json:"permissions"`
	// Cnf binds the token to a key (RFC 7800): a DPoP key's thumbprint
	// (RFC 9449 §6.1 jkt) or a TLS client certificate's (RFC 8705 §3.1
	// x5t#S256).
	Cnf *wireConfirmation `json:"cnf"`
}

// Verify checks token as the package documentation describes and returns
// its claims; in introspection mode ([Config].Introspection) it then asks
// the issuer whether the token is still active. Errors wrap one of the
// Err* reasons. A DPoP-bound token is refused (ErrDPoPBound): it is good
// only with its proof ([Verifier.VerifyDPoP]). A token bound to a client
// certificate is refused (ErrCertificate): it is good only with that
// certificate, which Verify does not see ([Verifier.VerifyRequest]), and
// so with [Config].RequireCertificateBinding every token is (ErrNotBound).
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verifyBearer(ctx, token)
	if err != nil {
		return nil, err
	}
	switch {
	case c.CertificateThumbprint != "":
		return nil, fmt.Errorf("verify: %w (Verify cannot see the request's certificate: use VerifyRequest)", ErrCertificate)
	case v.cfg.RequireCertificateBinding:
		return nil, fmt.Errorf("verify: %w", ErrNotBound)
	}
	return c, nil
}

// verifyBearer is Verify without the refusal of certificate-bound tokens,
// whose binding the caller checks (checkBinding).
func (v *Verifier) verifyBearer(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verifyActive(ctx, token)
	if err != nil {
		return nil, err
	}
	if c.Confirmation.Bound() {
		return nil, fmt.Errorf("verify: %w", ErrDPoPBound)
	}
	return c, nil
}

// verify is the offline check: the token's signature and claims, checked
// here, without introspection and without the refusal of bound tokens.
func (v *Verifier) verify(ctx context.Context, token string) (*Claims, error) {
	if len(token) > v.cfg.MaxTokenSize {
		return nil, fmt.Errorf("verify: %w (%d bytes, at most %d)", ErrTooLarge, len(token), v.cfg.MaxTokenSize)
	}
	now := v.now()
	var sum [32]byte
	if v.cache != nil {
		sum = sha256.Sum256([]byte(token))
		if c, ok := v.cache.get(sum, now); ok {
			cp := *c
			return &cp, nil
		}
	}
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil {
		return nil, v.parseError(token)
	}
	h := tok.Headers[0]
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !v.types[normType(typ)] {
		return nil, fmt.Errorf("verify: %w (typ %q)", ErrType, typ)
	}
	if h.KeyID == "" {
		return nil, fmt.Errorf("verify: %w (no kid)", ErrUnknownKey)
	}
	key, err := v.keys.key(ctx, h.KeyID, h.Algorithm)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := tok.Claims(key, &raw); err != nil {
		return nil, fmt.Errorf("verify: %w", ErrSignature)
	}
	var w wireClaims
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("verify: %w: claims: %v", ErrMalformed, err)
	}
	c := &Claims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, ClientID: w.ClientID, AuthorizedParty: w.AZP,
		Scope: w.Scope, GrantType: w.GTY, ID: w.ID, Type: typ, KeyID: h.KeyID, Algorithm: h.Algorithm, raw: raw,
	}
	if w.Permissions != nil {
		c.Permissions = append([]string{}, *w.Permissions...)
	}
	if w.Cnf != nil {
		c.Confirmation.JKT = w.Cnf.JKT
		c.CertificateThumbprint = w.Cnf.X5T
	}
	if err := v.checkClaims(c, &w, now); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(sum, c, c.Expiry.Add(v.leeway), now)
		cp := *c
		c = &cp
	}
	return c, nil
}

// checkClaims checks iss, aud, exp, nbf and iat (RFC 9068 §4, RFC 7519
// §4.1) and the claims RFC 9068 §2.2 requires.
func (v *Verifier) checkClaims(c *Claims, w *wireClaims, now time.Time) error {
	if w.Expiry == nil || w.IssuedAt == nil || w.Subject == "" {
		return fmt.Errorf("verify: %w: exp, iat or sub missing", ErrMalformed)
	}
	c.Expiry, c.IssuedAt = w.Expiry.Time(), w.IssuedAt.Time()
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time()
	}
	if c.Issuer != v.cfg.Issuer {
		return fmt.Errorf("verify: %w", ErrIssuer)
	}
	if !slices.Contains(c.Audience, v.cfg.Audience) {
		return fmt.Errorf("verify: %w", ErrAudience)
	}
	if !now.Before(c.Expiry.Add(v.leeway)) {
		return fmt.Errorf("verify: %w", ErrExpired)
	}
	if w.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore) {
		return fmt.Errorf("verify: %w", ErrNotYetValid)
	}
	if now.Add(v.leeway).Before(c.IssuedAt) {
		return fmt.Errorf("verify: %w", ErrIssuedInFuture)
	}
	if v.cfg.Subject != "" && c.SubjectType() != v.cfg.Subject {
		return fmt.Errorf("verify: %w (want a %s's token)", ErrSubject, v.cfg.Subject)
	}
	return nil
}

// parseError explains why go-jose refused to parse token: an algorithm not
// on the list, or anything else.
func (v *Verifier) parseError(token string) error {
	head, _, ok := strings.Cut(token, ".")
	if ok {
		if raw, err := base64.RawURLEncoding.DecodeString(head); err == nil {
			var h struct {
				Alg string `json:"alg"`
			}
			d := json.NewDecoder(bytes.NewReader(raw))
			if d.Decode(&h) == nil && h.Alg != "" && !slices.Contains(v.algs, jose.SignatureAlgorithm(h.Alg)) {
				return fmt.Errorf("verify: %w (%q)", ErrAlgorithm, h.Alg)
			}
		}
	}
	return fmt.Errorf("verify: %w", ErrMalformed)
}
