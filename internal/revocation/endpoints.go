package revocation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/internal/token"
)

// Authenticator is the token endpoint's one client-authentication step
// (token.Endpoint.Authenticate).
type Authenticator interface {
	Authenticate(r *http.Request, req *oauth.TokenRequest, public bool) (*catalog.Client, *catalog.Snapshot, error)
}

var _ Authenticator = (*token.Endpoint)(nil)

// Store is what the endpoints read and write (storage.Storage).
type Store interface {
	Revoke(ctx context.Context, r storage.Revocation) error
	GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, storage.RefreshFamily, error)
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
}

var _ Store = storage.Storage(nil)

// Signer signs the JWT introspection responses (package keys).
type Signer interface {
	Sign(alg, typ string, payload []byte) (string, error)
}

// Auditor queues audit events (package audit).
type Auditor interface {
	Audit(ctx context.Context, e storage.AuditEvent) error
}

// Token type hints (RFC 7009 §2.1, RFC 7662 §2.1).
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// Config configures the revocation and introspection endpoints.
type Config struct {
	Issuer string
	Auth   Authenticator
	// Verifier checks the signature and issuer of access tokens against
	// the server's published keys.
	Verifier *oidc.Verifier
	Store    Store
	Denylist *Denylist
	Rights   *Rights
	// Signer and SigningAlg sign JWT introspection responses (RFC 9701;
	// SigningAlg defaults to RS256).
	Signer     Signer
	SigningAlg string
	Audit      Auditor // optional
	Now        func() time.Time
	Logger     *slog.Logger
}

// Endpoints serves /oauth/revoke (Revoke) and /oauth/introspect
// (Introspect).
type Endpoints struct{ cfg Config }

// New returns the endpoints of cfg.
func New(cfg Config) *Endpoints {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SigningAlg == "" {
		cfg.SigningAlg = "RS256"
	}
	return &Endpoints{cfg: cfg}
}

// request parses a revocation or introspection request as a token request
// (the same parser: method, content type, size, duplicates, credential
// placement) and authenticates its client.
func (e *Endpoints) request(r *http.Request, public bool) (*oauth.TokenRequest, *catalog.Client, *catalog.Snapshot, error) {
	req, err := oauth.ParseTokenRequest(r)
	if err != nil {
		return nil, nil, nil, err
	}
	client, snap, err := e.cfg.Auth.Authenticate(r, req, public)
	if err != nil {
		return nil, nil, nil, err
	}
	if req.Token == "" {
		return nil, nil, nil, oauth.InvalidRequest(`parameter "token" is required`)
	}
	return req, client, snap, nil
}

// looksLikeJWT tells an access token (a compact JWS) from a refresh token
// (43 base64url characters) by its shape; the hint only orders the search
// (RFC 7009 §2.1), and the shapes never overlap.
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

// accessClaims verifies an access token's signature and issuer (not its
// expiry) and returns its claims and its raw payload.
func (e *Endpoints) accessClaims(tok string) (oidc.Claims, []byte, bool) {
	c, err := e.cfg.Verifier.Verify(tok, time.Time{})
	if err != nil {
		return oidc.Claims{}, nil, false
	}
	parts := strings.SplitN(tok, ".", 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return oidc.Claims{}, nil, false
	}
	return c, payload, true
}

// clientOf is the client an access token was issued to (RFC 9068 §2.2
// client_id, else azp).
func clientOf(c oidc.Claims) string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return c.AZP
}

// jtiOf reads the jti claim, which oidc.Claims does not carry.
func jtiOf(payload []byte) string {
	var c struct {
		JTI string `json:"jti"`
	}
	_ = json.Unmarshal(payload, &c)
	return c.JTI
}

// notYours is RFC 7009 §2.1's refusal of a token issued to another client.
func notYours() *oauth.Error {
	return &oauth.Error{Code: "unauthorized_client", Description: "the token was not issued to this client", Status: http.StatusBadRequest}
}
