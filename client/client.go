package client

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/dpop"
)

// AuthMethod is how the client authenticates at the token endpoint
// (RFC 6749 §2.3.1, RFC 8414 §2 token_endpoint_auth_methods_supported).
type AuthMethod string

const (
	// AuthPost sends client_id and client_secret in the form body.
	AuthPost AuthMethod = "client_secret_post"
	// AuthBasic sends them with HTTP Basic, each form-URL-encoded first.
	AuthBasic AuthMethod = "client_secret_basic"
	// AuthTLS authenticates with Certificate, issued by a CA the server
	// trusts (RFC 8705 §2.1); client_id goes in the form, no secret.
	AuthTLS AuthMethod = "tls_client_auth"
	// AuthSelfSignedTLS authenticates with Certificate, registered with the
	// server (RFC 8705 §2.2); client_id goes in the form, no secret.
	AuthSelfSignedTLS AuthMethod = "self_signed_tls_client_auth"
)

// Defaults of [Config].
const (
	DefaultRefreshMargin = 5 * time.Minute
	DefaultRefreshJitter = time.Minute
	DefaultMaxAttempts   = 4
	DefaultMinBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff    = 10 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
	DefaultTimeout       = time.Minute
)

// Config configures a [Source]. ClientID, its credential (at least one
// secret, a private key, or an Assertion or AssertionFile), and Issuer or
// TokenURL are required; everything else has a default.
type Config struct {
	// Issuer is the authorization server's issuer identifier. The token
	// endpoint is read from its metadata at
	// Issuer (without a trailing slash) + "/.well-known/openid-configuration",
	// whose "issuer" must equal Issuer exactly (RFC 8414 §3.3).
	Issuer string
	// TokenURL is the token endpoint; when set, Issuer is not consulted.
	TokenURL string

	ClientID string
	// Secrets are the client's secrets, tried in order, starting with the
	// one that last worked (rotation: hold the old and the new secret).
	// AuthTLS and AuthSelfSignedTLS take none.
	Secrets []string
	// Certificate is the client's TLS certificate, presented on the token
	// requests (RFC 8705): it authenticates the client with AuthTLS or
	// AuthSelfSignedTLS, and with any method the server binds the client's
	// tokens to it (cnf.x5t#S256) when the client is registered so. With
	// it, the token endpoint is the issuer's mutual-TLS alias when its
	// metadata has one (mtls_endpoint_aliases, RFC 8705 §5). HTTPClient's
	// Transport, if set, must be an *http.Transport (a clone gets the
	// certificate).
	Certificate *tls.Certificate
	// AuthMethod defaults to AuthPost, or AuthPrivateKeyJWT with a key.
	AuthMethod AuthMethod

	// PrivateKey authenticates with private_key_jwt (RFC 7523 §2.2)
	// instead of a secret: every token request carries a new assertion
	// signed with it (iss and sub the ClientID, aud the Issuer, or the
	// TokenURL without one, a random jti, valid AssertionLifetime). Any
	// crypto.Signer serves (an RSA, P-256 or Ed25519 key, in memory or in a
	// KMS). PrivateKeyFile instead reads a PEM private key (PKCS #8, PKCS #1
	// or SEC 1) once, in New. KeyID is the JWS kid; empty, the key's RFC
	// 7638 thumbprint, which is the kid gatehouse shows for the registered
	// public key. SigningAlg defaults to RS256 for RSA, ES256 for P-256 and
	// EdDSA for Ed25519.
	PrivateKey     crypto.Signer
	PrivateKeyFile string
	KeyID          string
	SigningAlg     string
	// Assertion, instead of Secrets, returns the token the workload's
	// platform gave it (a GitHub Actions OIDC token: see
	// [GitHubActionsToken]), sent as an RFC 7523 §2.2 client_assertion
	// that the server's federated credential for the client accepts. It is
	// called at every fetch, so that each request carries a current token.
	Assertion func(ctx context.Context) (string, error)
	// AssertionFile, instead of Secrets, is a file holding that token (a
	// Kubernetes projected service-account token), read again at every
	// fetch, since the platform replaces it before it expires.
	AssertionFile string

	// Audience is sent as `audience` (Auth0), Resource as `resource`
	// (RFC 8707 §2); either names the API. If both are set they must be equal.
	Audience string
	Resource string
	// Scopes are sent space-separated as `scope` (RFC 6749 §3.3); none asks
	// for every scope the client is granted.
	Scopes []string

	// HTTPClient sends the token and discovery requests; nil means a client
	// with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// RefreshMargin is how long before expiry a token is replaced
	// (default 5 min, at most half the token's lifetime).
	RefreshMargin time.Duration
	// RefreshJitter is the largest random extra margin, so that clients
	// started together do not refresh together (default 1 min, at most a
	// quarter of the lifetime; negative disables the jitter).
	RefreshJitter time.Duration
	// MaxAttempts bounds the requests of one fetch for network errors, 5xx
	// and 429 answers (default 4). Falling back to the next secret does not
	// count as an attempt.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts (defaults 250 ms and 10 s).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After (RFC 9110 §10.2.3) that is
	// waited for; a longer one ends the fetch with the error (default 30 s).
	MaxRetryAfter time.Duration
	// Timeout bounds one fetch, retries included (default 1 min).
	Timeout time.Duration

	// InsecureAllowHTTP permits plain-HTTP endpoints on hosts other than
	// loopback; the client secret then crosses the network in clear text.
	InsecureAllowHTTP bool

	// DPoPKey, when set, binds the tokens to this key (RFC 9449): every
	// token request and every API call through [Transport] carries a DPoP
	// proof signed with it, tokens are used with the DPoP scheme, and a
	// server's nonce is picked up and the request retried once. An ECDSA
	// P-256 key signs ES256, Ed25519 EdDSA, RSA PS256 (or DPoPAlg); any
	// crypto.Signer works (a KMS key). A token response that is not
	// token_type DPoP is refused: the server did not bind the token.
	DPoPKey crypto.Signer
	// DPoPAlg overrides the proof algorithm of an RSA key ("RS256").
	DPoPAlg string
}

// Source is a client-credentials token source (RFC 6749 §4.4) with a cache.
// It is safe for concurrent use; create it once and share it.
type Source struct {
	cfg   Config
	hc    *http.Client
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func() float64

	mu        sync.Mutex
	tokenURL  string     // resolved token endpoint
	tok       *entry     // the cached token, nil if none
	flight    *call      // the fetch in flight, nil if none
	retryAt   time.Time  // no background refresh before this after a failure
	preferred int        // index of the secret that last worked
	key       *keySigner // private_key_jwt's, nil with secrets
	dpop      *dpopState // nil without Config.DPoPKey
}

// entry is a cached token and when to replace it.
type entry struct {
	token       *oauth2.Token
	fetched     time.Time
	refreshAt   time.Time // early refresh from here on
	usableUntil time.Time // served until here
}

// call is one fetch that callers wait on.
type call struct {
	done chan struct{}
	tok  *entry
	err  error
}

// New checks cfg and returns a Source. It makes no request.
func New(cfg Config) (*Source, error) {
	var problems []string
	if cfg.ClientID == "" {
		problems = append(problems, "ClientID is empty")
	}
	var key *keySigner
	hasKey := cfg.PrivateKey != nil || cfg.PrivateKeyFile != ""
	hasAssertion := cfg.Assertion != nil || cfg.AssertionFile != ""
	certAuth := cfg.AuthMethod == AuthTLS || cfg.AuthMethod == AuthSelfSignedTLS
	switch kinds := countSet(len(cfg.Secrets) > 0, hasKey, cfg.Assertion != nil, cfg.AssertionFile != "", certAuth); {
	case certAuth && cfg.Certificate == nil:
		problems = append(problems, fmt.Sprintf("AuthMethod %s needs a Certificate", cfg.AuthMethod))
	case certAuth && len(cfg.Secrets) > 0:
		problems = append(problems, fmt.Sprintf("AuthMethod %s takes no Secrets", cfg.AuthMethod))
	case kinds == 0:
		problems = append(problems, "no Secrets, PrivateKey, Assertion or AssertionFile")
	case len(cfg.Secrets) > 0 && hasKey:
		problems = append(problems, "Secrets and a private key exclude each other")
	case kinds > 1:
		problems = append(problems, "more than one of Secrets, a private key, Assertion, AssertionFile and a certificate AuthMethod")
	case hasAssertion && cfg.AuthMethod != "":
		problems = append(problems, "AuthMethod is for secrets, keys and certificates; an assertion is sent in the body")
	}
	if hasKey {
		var err error
		if key, err = newKeySigner(&cfg); err != nil {
			problems = append(problems, err.Error())
		}
		if cfg.AuthMethod == "" {
			cfg.AuthMethod = AuthPrivateKeyJWT
		}
	}
	for i, s := range cfg.Secrets {
		if s == "" {
			problems = append(problems, fmt.Sprintf("secret %d is empty", i))
		}
	}
	switch {
	case cfg.TokenURL != "":
		if err := checkEndpoint(cfg.TokenURL, cfg.InsecureAllowHTTP); err != nil {
			problems = append(problems, "TokenURL: "+err.Error())
		}
	case cfg.Issuer != "":
		if err := checkEndpoint(cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
			problems = append(problems, "Issuer: "+err.Error())
		}
	default:
		problems = append(problems, "neither Issuer nor TokenURL is set")
	}
	if cfg.Audience != "" && cfg.Resource != "" && cfg.Audience != cfg.Resource {
		problems = append(problems, "Audience and Resource differ")
	}
	switch cfg.AuthMethod {
	case "":
		cfg.AuthMethod = AuthPost
	case AuthPost, AuthBasic:
		if key != nil {
			problems = append(problems, fmt.Sprintf("AuthMethod %q needs Secrets, not a private key", cfg.AuthMethod))
		}
	case AuthPrivateKeyJWT:
		if cfg.PrivateKey == nil && cfg.PrivateKeyFile == "" {
			problems = append(problems, "AuthMethod private_key_jwt needs PrivateKey or PrivateKeyFile")
		}
	case AuthTLS, AuthSelfSignedTLS:
	default:
		problems = append(problems, fmt.Sprintf("unknown AuthMethod %q", cfg.AuthMethod))
	}
	var signer *dpop.Signer
	if cfg.DPoPKey != nil {
		var err error
		if signer, err = dpop.NewSigner(cfg.DPoPKey, cfg.DPoPAlg); err != nil {
			problems = append(problems, "DPoPKey: "+strings.TrimPrefix(err.Error(), "dpop: "))
		}
	}
	if cfg.MaxAttempts < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRetryAfter < 0 || cfg.Timeout < 0 || cfg.RefreshMargin < 0 {
		problems = append(problems, "negative MaxAttempts, backoff, MaxRetryAfter, Timeout or RefreshMargin")
	}
	if len(problems) > 0 {
		return nil, errors.New("client: invalid config: " + strings.Join(problems, "; "))
	}
	hc, err := withCertificate(cfg.HTTPClient, cfg.Certificate)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, errors.New("client: invalid config: " + strings.Join(problems, "; "))
	}
	cfg.Secrets = append([]string(nil), cfg.Secrets...)
	if certAuth {
		cfg.Secrets = []string{""} // one attempt, without a secret
	}
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.RefreshMargin, DefaultRefreshMargin)
	def(&cfg.RefreshJitter, DefaultRefreshJitter)
	def(&cfg.MinBackoff, DefaultMinBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.MaxRetryAfter, DefaultMaxRetryAfter)
	def(&cfg.Timeout, DefaultTimeout)
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.AssertionFile != "" {
		cfg.Assertion = readAssertionFile(cfg.AssertionFile)
	}
	s := &Source{cfg: cfg, hc: hc, now: cfg.Now, sleep: sleepCtx, rand: defaultRand, tokenURL: cfg.TokenURL, key: key}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if signer != nil {
		signer.Now = s.now
		s.dpop = &dpopState{signer: signer, nonces: map[string]string{}}
	}
	return s, nil
}

// defaultRand is the random source of backoff and refresh jitter.
var defaultRand = rand.Float64

// checkEndpoint accepts an absolute https URL, or http on a loopback host
// (or anywhere when insecure is set).
func checkEndpoint(raw string, insecure bool) error {
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

// Token returns a valid access token; it implements oauth2.TokenSource.
func (s *Source) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext returns a valid access token, from the cache when it can.
//
// A cached token is served until shortly before it expires. From its
// refresh time on (RefreshMargin plus jitter before expiry) one caller
// fetches a new one while the others keep getting the cached token; if that
// fetch fails, the caller too gets the cached token, and the next refresh is
// tried after a pause. Without a usable token every caller waits for the
// same single fetch, or for its ctx. Errors from the token endpoint are
// [*Error] values.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	now := s.now()
	if e := s.tok; e != nil && now.Before(e.usableUntil) {
		if now.Before(e.refreshAt) || now.Before(s.retryAt) || s.flight != nil {
			s.mu.Unlock()
			return copyToken(e.token), nil
		}
		c := s.startLocked(ctx)
		s.mu.Unlock()
		select {
		case <-c.done:
			if c.err == nil {
				return copyToken(c.tok.token), nil
			}
		case <-ctx.Done():
		}
		return copyToken(e.token), nil // still valid
	}
	c := s.flight
	if c == nil {
		c = s.startLocked(ctx)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return nil, c.err
		}
		return copyToken(c.tok.token), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Invalidate drops the cached token if it is accessToken and was fetched at
// least a few seconds ago, and reports whether it did; the next call fetches
// a new one. The age limit keeps an API that refuses every token from
// turning each of its requests into a token request.
func (s *Source) Invalidate(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil || s.tok.token.AccessToken != accessToken || s.now().Sub(s.tok.fetched) < minInvalidateAge {
		return false
	}
	s.tok = nil
	return true
}

// minInvalidateAge is how old a token must be for Invalidate to drop it.
const minInvalidateAge = 5 * time.Second

func copyToken(t *oauth2.Token) *oauth2.Token {
	c := *t
	return &c
}

// startLocked starts a fetch whose result every caller shares. The fetch is
// detached from ctx's cancellation (callers leave with their own ctx) and
// bounded by Config.Timeout. s.mu must be held.
func (s *Source) startLocked(ctx context.Context) *call {
	c := &call{done: make(chan struct{})}
	s.flight = c
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	go func() {
		defer cancel()
		tok, err := s.fetch(fctx)
		s.mu.Lock()
		c.tok, c.err = tok, err
		s.flight = nil
		if err == nil {
			s.tok, s.retryAt = tok, time.Time{}
		} else {
			pause := s.cfg.MaxBackoff
			var oe *Error
			if errors.As(err, &oe) && oe.RetryAfter > pause {
				pause = oe.RetryAfter
			}
			s.retryAt = s.now().Add(pause)
		}
		s.mu.Unlock()
		close(c.done)
	}()
	return c
}

// sleepCtx waits d or until ctx ends; it fails at once when ctx's deadline
// comes before d has passed.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
