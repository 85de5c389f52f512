package token

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/dpop"
	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/throttle"
)

// Catalog is the in-memory view the endpoint reads; it never touches storage.
type Catalog interface {
	Snapshot() *catalog.Snapshot
}

// Signer signs a JWT payload with the current key of alg (package keys).
type Signer interface {
	Sign(alg, typ string, payload []byte) (string, error)
}

// Grant is one grant type's part of a token request (RFC 6749 §4). It sees
// an authenticated client that is allowed to use the grant type, and says
// whom the token is about and which audience and scope are asked for; the
// endpoint then checks those and issues the token.
type Grant interface {
	// Type is the grant_type value this Grant handles.
	Type() string
	// Authorize checks the grant-specific parameters.
	Authorize(ctx context.Context, req *Request) (*Authorization, error)
}

// Request is a parsed token request with its authenticated client.
type Request struct {
	*oauth.TokenRequest
	Client *catalog.Client
	// Proof is the request's checked DPoP proof (RFC 9449 §5), nil when it
	// has none: the tokens issued are then bearer tokens.
	Proof *dpop.Proof
	// Bind returns the cnf of an access token for api (nil: /userinfo
	// only), the one step every grant binds its tokens by: the proof's key,
	// and the request's client certificate when the client or the API asks
	// for certificate-bound tokens (RFC 8705 §3); an error when one is
	// needed and the request has none. Nil in a Request made outside the
	// endpoint, which then binds to Proof alone.
	Bind func(api *storage.API) (*Confirmation, error)
}

// Authorization is what a Grant asks the endpoint to issue.
type Authorization struct {
	Subject   string
	Audience  string   // as requested (Auth0 audience); may be empty
	Resources []string // as requested (RFC 8707 resource)
	Scope     string   // as requested, space-separated; empty for all granted
}

// Config configures an Endpoint.
type Config struct {
	Issuer          string
	DefaultAudience string
	Catalog         Catalog
	Signer          Signer
	// Used is told which secret authenticated a client (last_used_at), at
	// most once per secret per second.
	Used   func(secretID string, at time.Time)
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	Grants []Grant
	// TokenReuse gives a client that asks again for the same audience,
	// scope and grant the token it was already issued, while more than half
	// of its lifetime remains, with expires_in lowered to match, for every
	// API; an API's own TokenReuse turns it on for that API alone. It needs
	// a Signer that is also a KeyIDer. Off by default.
	TokenReuse bool
	// ReuseEntries caps the reuse cache (default DefaultReuseEntries).
	ReuseEntries int

	// Audit, if set, is given a token.issued event per token and an
	// auth.failed event per failed client authentication (queued; never
	// written on the request path).
	Audit Auditor
	// Metrics, if set, counts issued tokens and authentication failures.
	Metrics Metrics
	// AuthThrottle, if set, refuses client authentication with 429 before
	// the secret is compared once too many attempts failed from the
	// address (RFC 6749 §2.3.1 brute-force protection; package throttle).
	AuthThrottle *throttle.Auth
	// Quota, if set, limits the tokens minted per client (429 with
	// RateLimit fields once spent; reused tokens are not counted).
	Quota *throttle.Quota[string]
	// APIQuota, if set, limits the tokens minted per client and API.
	APIQuota *throttle.Quota[throttle.ClientAPI]
	// Denylist, if set, keeps token reuse from handing out a token that
	// was revoked (RFC 7009); the endpoint consults it for nothing else.
	Denylist Denylist
	// Federation, if set, verifies the platform tokens of workloads that
	// authenticate with a federated credential (federated.go); nil refuses
	// them.
	Federation Federation
	// Trace, when set, adds the request's OAuth attributes (trace.go) to
	// the span in the request's context; off, the endpoint does no tracing
	// work at all.
	Trace bool
	// ClientCertificate, if set, finds a request's TLS client certificate
	// (mtls.go), for certificate-bound tokens and tls_client_auth /
	// self_signed_tls_client_auth; it is called only for the requests that
	// need it. ClientCAs are the CAs of tls_client_auth certificates.
	ClientCertificate ClientCertificateFunc
	ClientCAs         *x509.CertPool
	// AssertionIDs, if set, records the JWT IDs of private_key_jwt
	// assertions across instances (assertion.go); without it each
	// instance checks replay on its own.
	AssertionIDs AssertionIDs
	// RemoteKeys, if set, reads the keys of clients with a jwks_uri.
	RemoteKeys RemoteKeys
	// JTIEntries caps the in-memory record of assertion JWT IDs (default
	// DefaultJTIEntries).
	JTIEntries int
	// DPoP checks the DPoP proofs of token requests (RFC 9449); nil means
	// a checker with the package's defaults and no server nonces. Its
	// replay cache is this instance's.
	DPoP *dpop.Checker
	// TokenURL is the token endpoint's URL as clients call it, the htu of
	// their proofs (default Issuer + /oauth/token).
	TokenURL string
	// MTLSTokenURL is the token endpoint's mutual-TLS alias (RFC 8705 §5
	// mtls_endpoint_aliases), empty when there is none: clients that call
	// it name it as the htu of their proofs.
	MTLSTokenURL string
}

// Endpoint serves POST /oauth/token.
type Endpoint struct {
	cfg    Config
	grants map[string]Grant
	mint   *minter
	reuse  *reuseCache // nil when the signer cannot tell its current key
	kids   KeyIDer
	uses   *useThrottle
	// tokenURL is the token endpoint's URL as clients call it: an audience
	// a client assertion may name and the htu of DPoP proofs; jtis the
	// used assertion IDs; dpop checks proofs, and a full replay cache asks
	// clients to retry after dpopRetry.
	tokenURL  string
	aliasURLs []string // the mutual-TLS alias of tokenURL, also an htu of proofs
	jtis      *jtiCache
	dpop      *dpop.Checker
	dpopRetry time.Duration
	// issuerSlashed is the issuer with a trailing slash added, or removed
	// when it has one: an audience a client assertion may also name, as
	// Auth0's SDKs send https://DOMAIN/ (assertionClaimsHold).
	issuerSlashed string
}

// NewEndpoint returns the token endpoint for cfg.
func NewEndpoint(cfg Config) *Endpoint {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Used == nil {
		cfg.Used = func(string, time.Time) {}
	}
	e := &Endpoint{cfg: cfg, grants: map[string]Grant{}, mint: newMinter(cfg.Issuer, cfg.Signer, cfg.Rand), uses: newUseThrottle(cfg.Used),
		tokenURL: cfg.TokenURL, jtis: newJTICache(cfg.JTIEntries), dpop: cfg.DPoP, dpopRetry: 5 * time.Second}
	if e.dpop == nil {
		e.dpop = dpop.NewChecker(dpop.Config{Now: cfg.Now})
	}
	if e.tokenURL == "" {
		e.tokenURL = tokenEndpointURL(cfg.Issuer)
	}
	if cfg.MTLSTokenURL != "" {
		e.aliasURLs = []string{cfg.MTLSTokenURL}
	}
	if e.issuerSlashed = cfg.Issuer + "/"; strings.HasSuffix(cfg.Issuer, "/") {
		e.issuerSlashed = strings.TrimSuffix(cfg.Issuer, "/")
	}
	for _, g := range cfg.Grants {
		e.grants[g.Type()] = g
	}
	if k, ok := cfg.Signer.(KeyIDer); ok {
		e.reuse, e.kids = newReuseCache(cfg.ReuseEntries), k
		e.reuse.denylist = cfg.Denylist
	} else if cfg.TokenReuse {
		e.cfg.Logger.Warn("token reuse is off: the signer cannot tell its current key")
	}
	return e
}

// Response is the successful token response (RFC 6749 §5.1). Scope is always
// present, empty when the grant carries no scope (docs/reference/protocol.md).
type Response struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	// RefreshToken and IDToken come from the user-login grants only
	// (RFC 6749 §5.1, OIDC Core §3.1.3.3).
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// audience is the API the access token is for (the userinfo audience
	// for a user token without one), for the endpoint's metrics and audit;
	// it is not part of the response.
	audience string
	// proof is the request's DPoP proof: the response then carries the
	// next DPoP-Nonce when the server requires nonces.
	proof *dpop.Proof
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := e.handle(r)
	if err != nil {
		if e.cfg.Trace {
			traceError(r, err)
		}
		oauth.WriteError(w, e.cfg.Logger, err)
		return
	}
	e.withNonce(w, resp.proof)
	writeResponse(w, &resp)
}

// Shared header values of every token response (RFC 6749 §5.1); net/http
// only reads them.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
)

// respPool holds response body buffers.
var respPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeResponse writes resp as oauth.WriteJSON would, byte for byte, with
// the no-store headers, without reflection.
func writeResponse(w http.ResponseWriter, resp *Response) {
	bp := respPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"access_token":`...)
	b = appendString(b, resp.AccessToken, "")
	b = append(b, `,"token_type":`...)
	b = appendString(b, resp.TokenType, "")
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, resp.ExpiresIn, 10)
	b = append(b, `,"scope":`...)
	b = appendString(b, resp.Scope, "")
	if resp.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = appendString(b, resp.RefreshToken, "")
	}
	if resp.IDToken != "" {
		b = append(b, `,"id_token":`...)
		b = appendString(b, resp.IDToken, "")
	}
	b = append(b, "}\n"...)
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	*bp = b
	respPool.Put(bp)
}

func (e *Endpoint) handle(r *http.Request) (Response, error) {
	treq, err := oauth.ParseTokenRequest(r)
	if err != nil {
		return Response{}, err
	}
	if e.cfg.Trace {
		e.traceGrantType(r, treq.GrantType)
	}
	snap := e.cfg.Catalog.Snapshot()
	now := e.cfg.Now()
	rc := requestCert{get: e.cfg.ClientCertificate}
	client, err := e.authenticate(r, snap, treq, &rc, now)
	if err != nil {
		return Response{}, err
	}
	if e.cfg.Trace {
		traceClient(r, client.ClientID)
	}
	if treq.GrantType == "" {
		return Response{}, oauth.InvalidRequest(`parameter "grant_type" is required`)
	}
	grant, ok := e.grants[treq.GrantType]
	if !ok {
		return Response{}, oauth.UnsupportedGrantType("grant type " + quote(treq.GrantType) + " is not supported")
	}
	if !client.AllowsGrant(treq.GrantType) {
		return Response{}, oauth.UnauthorizedClient("the client is not allowed to use grant type " + quote(treq.GrantType))
	}
	proof, err := e.checkProof(r)
	if err != nil {
		return Response{}, err
	}
	if is, ok := grant.(Issuer); ok { // the user-login grants
		if e.cfg.Trace {
			traceRequestedAudience(r, snap, treq)
		}
		lrc := rc // a copy, so that only this branch moves it to the heap (the bearer path's rc stays on the stack)
		bind := func(api *storage.API) (*Confirmation, error) { return e.confirmation(r, &lrc, client, api, proof) }
		resp, err := is.Issue(r.Context(), &Request{TokenRequest: treq, Client: client, Proof: proof, Bind: bind}, snap, now)
		if err != nil {
			return Response{}, err
		}
		e.issued(r, client, resp.audience, resp.Scope, resp.AccessToken, false, now)
		resp.proof = proof
		return resp, nil
	}
	authz, err := grant.Authorize(r.Context(), &Request{TokenRequest: treq, Client: client, Proof: proof})
	if err != nil {
		return Response{}, err
	}
	api, scope, err := e.authorize(snap, client, authz)
	if e.cfg.Trace && api != nil {
		traceAudience(r, api.Identifier)
	}
	if err != nil {
		return Response{}, err
	}
	cnf, err := e.confirmation(r, &rc, client, api, proof)
	if err != nil {
		return Response{}, err
	}
	if err := requireBinding(client, api, cnf); err != nil {
		return Response{}, err
	}
	typ := tokenType(cnf)
	var key reuseKey
	var kid string
	reuse := e.reuse != nil && (e.cfg.TokenReuse || api.TokenReuse)
	if reuse {
		key = reuseKey{clientID: client.ClientID, subject: authz.Subject, audience: api.Identifier, scope: scope, grantType: treq.GrantType}
		if cnf != nil {
			key.cnf = *cnf
		}
		kid, _ = e.kids.CurrentKeyID(api.SigningAlg)
		if tok, remaining, ok := e.reuse.get(key, client, api, kid, now.Unix()); ok {
			e.issued(r, client, api.Identifier, scope, tok, true, now)
			return Response{AccessToken: tok, TokenType: typ, ExpiresIn: remaining, Scope: scope, proof: proof}, nil
		}
	}
	if err := e.checkQuota(client, api, now); err != nil {
		return Response{}, err
	}
	tok, err := e.mint.mint(api, client.ClientID, authz.Subject, scope, treq.GrantType, cnf, now)
	if err != nil {
		return Response{}, oauth.ServerError(err)
	}
	lifetime := int64(api.TokenLifetime / time.Second)
	if reuse && kid != "" {
		e.reuse.put(key, &reuseEntry{token: tok, iat: now.Unix(), exp: now.Unix() + lifetime, client: client, api: api, kid: kid}, now.Unix())
	}
	e.issued(r, client, api.Identifier, scope, tok, false, now)
	return Response{AccessToken: tok, TokenType: typ, ExpiresIn: lifetime, Scope: scope, proof: proof}, nil
}

// dummyDigest is compared against when the client is unknown, so that an
// unknown client and a wrong secret cost the same.
var dummyDigest = secret.Digest("gatehouse-unknown-client")

// authenticate is the one client-authentication step (RFC 6749 §2.3.1):
// unknown client, wrong, expired or not-yet-active secret, disabled client
// and a method the client is not registered for (RFC 7591 §2) all answer
// the same invalid_client after the same work. Brute-force protection comes
// first: a client_id and address (or an address) with too many failed
// guesses is answered 429 before any secret is compared; only failures
// whose secret matched none of the client's count as guesses.
func (e *Endpoint) authenticate(r *http.Request, snap *catalog.Snapshot, req *oauth.TokenRequest, rc *requestCert, now time.Time) (*catalog.Client, error) {
	fail := func(desc string) error {
		err := oauth.InvalidClient(desc)
		if req.AuthMethod == oauth.AuthClientSecretBasic {
			err.Challenge = `Basic realm="gatehouse", charset="UTF-8"`
		}
		return err
	}
	if req.AuthMethod == oauth.AuthPrivateKeyJWT {
		return e.authenticateAssertion(r, snap, req, now)
	}
	if req.AuthMethod == oauth.AuthNone && req.ClientID != "" && e.cfg.ClientCertificate != nil {
		if c, handled, err := e.authenticateCertificate(r, snap, req, rc, now); handled {
			return c, err
		}
	}
	if c, ok := publicClient(snap, req); ok {
		return c, nil
	}
	addr := clientAddr(r)
	if req.ClientID == "" || req.AuthMethod == oauth.AuthNone {
		e.authFailed(r, nil, metrics.ReasonMissingCredentials, addr, now)
		return nil, fail("client authentication is required (HTTP Basic or client_id and client_secret in the body)")
	}
	client, known := snap.Client(req.ClientID)
	if ok, wait := e.cfg.AuthThrottle.Check(req.ClientID, addr, now, known); !ok {
		if e.cfg.Metrics != nil {
			e.cfg.Metrics.AuthFailed(metrics.ReasonThrottled)
		}
		return nil, tooManyRequests("too many failed client authentications; retry later", wait)
	}
	digest := secret.Digest(req.ClientSecret)
	var matched *storage.Secret
	inactive := false
	if known {
		for i := range client.Secrets {
			s := &client.Secrets[i]
			if secret.Equal(s.Hash, digest) {
				if s.ActiveAt(now) {
					matched = s
				} else {
					inactive = true
				}
			}
		}
	} else {
		secret.Equal(dummyDigest, digest)
	}
	if matched == nil || client.Disabled || !methodAllowed(client, req.AuthMethod) {
		var reason string
		switch {
		case !known:
			reason = metrics.ReasonUnknownClient
		case matched == nil && inactive:
			reason = metrics.ReasonInactiveSecret
		case matched == nil:
			reason = metrics.ReasonInvalidSecret
		case client.Disabled:
			reason = metrics.ReasonDisabledClient
		default:
			reason = metrics.ReasonWrongAuthMethod
		}
		if matched == nil && !inactive { // a guess: the secret is none of the client's
			e.cfg.AuthThrottle.Failed(req.ClientID, addr, now, known)
		}
		if !known {
			client = nil
		}
		e.authFailed(r, client, reason, addr, now)
		return nil, fail("client authentication failed")
	}
	e.uses.record(matched.ID, now)
	return client, nil
}

// authorize resolves the audience to an API, checks the client's grant for
// it and computes the scope to issue (docs/reference/protocol.md). Once the audience is a
// registered API, that API comes back with any later error too.
func (e *Endpoint) authorize(snap *catalog.Snapshot, client *catalog.Client, a *Authorization) (*storage.API, string, error) {
	aud := a.Audience
	switch len(a.Resources) {
	case 0:
	case 1:
		if err := oauth.ValidResource(a.Resources[0]); err != nil {
			return nil, "", err
		}
		if aud != "" && aud != a.Resources[0] {
			return nil, "", oauth.InvalidRequest("audience and resource name different APIs")
		}
		aud = a.Resources[0]
	default:
		return nil, "", oauth.InvalidTarget("only one resource may be requested")
	}
	if aud == "" {
		aud = e.cfg.DefaultAudience
	}
	if aud == "" {
		return nil, "", oauth.InvalidRequest(`parameter "audience" is required`)
	}
	api, ok := snap.API(aud)
	if !ok {
		return nil, "", oauth.InvalidTarget("the audience " + quote(aud) + " is not a registered API")
	}
	if access.ClientPolicy(api) == storage.PolicyDenyAll {
		return api, "", oauth.AccessDenied("The API " + quote(aud) + " accepts no client credentials tokens")
	}
	grant, ok := client.Grant(aud)
	if !ok {
		return api, "", oauth.AccessDenied("Client " + quote(client.ClientID) + " is not authorized to access " + quote(aud))
	}
	scope, err := narrowScope(a.Scope, grant.Scope)
	if err != nil {
		return api, "", err
	}
	return api, scope, nil
}

// narrowScope implements the scope rule of docs/reference/protocol.md on RFC 6749 §3.3 scope
// strings: no request means every granted scope; a request yields the granted
// subset, in request order, or invalid_scope when that subset is empty.
func narrowScope(requested string, granted []string) (string, error) {
	if requested == "" {
		return strings.Join(granted, " "), nil
	}
	var out []string
	for _, s := range strings.Split(requested, " ") {
		if s == "" {
			continue
		}
		if !validScopeToken(s) {
			return "", oauth.InvalidScope("the scope " + quote(s) + " is malformed")
		}
		for _, g := range granted {
			if g == s && !contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return "", oauth.InvalidScope("none of the requested scopes is granted to the client for this audience")
	}
	return strings.Join(out, " "), nil
}

// validScopeToken checks RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// quote writes s in double quotes for error descriptions, keeping it short.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return `"` + s + `"`
}
