package token

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/oauth"
	"github.com/gatehouse-dev/gatehouse/internal/secret"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

// Issuer is a Grant that issues the whole token response itself: the
// user-login grants, whose tokens are about a user, need no client grant,
// and come with refresh and ID tokens. The endpoint calls Issue instead of
// Authorize once the client is authenticated and allowed the grant type.
type Issuer interface {
	Issue(ctx context.Context, req *Request, snap *catalog.Snapshot, now time.Time) (Response, error)
}

// UserStore is what the user-login grants read and write (storage.Storage).
type UserStore interface {
	GetUser(ctx context.Context, userID string) (storage.User, error)
	RedeemAuthCode(ctx context.Context, id, familyID, accessJTI string, at time.Time) (storage.AuthCode, error)
	CreateRefreshFamily(ctx context.Context, f storage.RefreshFamily, first storage.RefreshToken) error
	GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, storage.RefreshFamily, error)
	RotateRefreshToken(ctx context.Context, id string, next storage.RefreshToken, at time.Time) (storage.RefreshFamily, error)
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	Revoke(ctx context.Context, r storage.Revocation) error
}

var _ UserStore = storage.Storage(nil)

// Permissions reads what a person holds of an API through roles and
// direct permissions (storage.Authz).
type Permissions interface {
	UserScopes(ctx context.Context, userID, audience string) ([]string, error)
}

var _ Permissions = storage.Authz(nil)

// Defaults of UserTokens (Auth0's refresh token defaults: 15 days idle,
// 30 days absolute).
const (
	DefaultIDTokenLifetime  = time.Hour
	DefaultUserinfoLifetime = time.Hour
	DefaultRefreshIdle      = 15 * 24 * time.Hour
	DefaultRefreshAbsolute  = 30 * 24 * time.Hour
	// PathUserinfo is the OpenID Connect userinfo endpoint: the audience of
	// a user's access token when no API was asked for.
	PathUserinfo = "/userinfo"
)

// OpenID Connect scopes the user-login grants look at.
const (
	scopeOpenID        = "openid"
	scopeProfile       = "profile"
	scopeEmail         = "email"
	scopeOfflineAccess = "offline_access"
)

var oidcScopes = []string{scopeOpenID, scopeProfile, scopeEmail, scopeOfflineAccess}

// UserTokens issues the tokens of the user-login grants: access tokens
// about a user (sub = user ID, RFC 9068), ID tokens (OIDC Core §2) and
// rotating refresh tokens (RFC 9700 §4.14.2). An access token for an API
// carries what package access allows at the time of the exchange: the
// API's user policy, the client's user grant and, when the API enforces
// policies, the person's permissions.
type UserTokens struct {
	Issuer string
	Store  UserStore
	// Permissions reads people's permissions for APIs that enforce
	// policies; nil: nobody holds any.
	Permissions Permissions
	Signer      Signer
	Rand        io.Reader
	Logger      *slog.Logger
	// IDTokenAlg signs ID tokens (default RS256, OIDC Core §3.1.3.7).
	IDTokenAlg       string
	IDTokenLifetime  time.Duration
	UserinfoLifetime time.Duration // an access token without an API
	RefreshIdle      time.Duration // a refresh token unused this long is dead
	RefreshAbsolute  time.Duration // a family ends this long after the login
	// Audit, if set, records the reuse of a code or a rotated refresh
	// token (package audit).
	Audit interface {
		Audit(ctx context.Context, e storage.AuditEvent) error
	}
}

// reused records a code's or a refresh token's replay.
func (u *UserTokens) reused(ctx context.Context, action, clientID, userID, familyID string, now time.Time) {
	if u.Audit == nil {
		return
	}
	_ = u.Audit.Audit(ctx, storage.AuditEvent{Time: now, Actor: clientID, Action: action, Target: userID,
		Outcome: storage.OutcomeFailure, Details: map[string]string{"family_id": familyID}})
}

func (u *UserTokens) defaults() {
	if u.Rand == nil {
		u.Rand = rand.Reader
	}
	if u.Logger == nil {
		u.Logger = slog.New(slog.DiscardHandler)
	}
	if u.IDTokenAlg == "" {
		u.IDTokenAlg = "RS256"
	}
	if u.IDTokenLifetime <= 0 {
		u.IDTokenLifetime = DefaultIDTokenLifetime
	}
	if u.UserinfoLifetime <= 0 {
		u.UserinfoLifetime = DefaultUserinfoLifetime
	}
	if u.RefreshIdle <= 0 {
		u.RefreshIdle = DefaultRefreshIdle
	}
	if u.RefreshAbsolute <= 0 {
		u.RefreshAbsolute = DefaultRefreshAbsolute
	}
}

// Grants returns the authorization_code and refresh_token grants.
func (u *UserTokens) Grants() []Grant {
	u.defaults()
	return []Grant{AuthorizationCode{u}, RefreshToken{u}}
}

// UserinfoAudience is the audience of access tokens good for /userinfo only.
func (u *UserTokens) UserinfoAudience() string {
	return strings.TrimRight(u.Issuer, "/") + PathUserinfo
}

// AuthorizationCode is the authorization code grant (RFC 6749 §4.1.3 with
// PKCE, RFC 7636 §4.5-4.6).
type AuthorizationCode struct{ u *UserTokens }

// RefreshToken is the refresh token grant (RFC 6749 §6) with rotation.
type RefreshToken struct{ u *UserTokens }

var (
	_ Grant  = AuthorizationCode{}
	_ Issuer = AuthorizationCode{}
	_ Grant  = RefreshToken{}
	_ Issuer = RefreshToken{}
)

// Type returns "authorization_code".
func (AuthorizationCode) Type() string { return storage.GrantAuthorizationCode }

// Type returns "refresh_token".
func (RefreshToken) Type() string { return storage.GrantRefreshToken }

var errIssued = errors.New("the grant issues its own response")

// Authorize is not used: the endpoint calls Issue.
func (AuthorizationCode) Authorize(context.Context, *Request) (*Authorization, error) {
	return nil, oauth.ServerError(errIssued)
}

// Authorize is not used: the endpoint calls Issue.
func (RefreshToken) Authorize(context.Context, *Request) (*Authorization, error) {
	return nil, oauth.ServerError(errIssued)
}

func invalidGrant(desc string) *oauth.Error {
	return &oauth.Error{Code: oauth.CodeInvalidGrant, Description: desc, Status: 400}
}

// Digest is the name under which codes and refresh tokens are stored.
func Digest(v string) string { return base64.RawURLEncoding.EncodeToString(secret.Digest(v)) }

// Issue redeems an authorization code. The code is used up by the first
// redemption, right or wrong; a second one fails with invalid_grant and
// revokes the refresh tokens the first issued (RFC 6749 §4.1.2, RFC 9700
// §4.2.4).
func (g AuthorizationCode) Issue(ctx context.Context, req *Request, snap *catalog.Snapshot, now time.Time) (Response, error) {
	u := g.u
	if req.Code == "" {
		return Response{}, oauth.InvalidRequest(`parameter "code" is required`)
	}
	if req.Bind != nil && req.Client.CertificateBoundTokens {
		// A request that lacks the certificate is refused before the code
		// is used up, so that the client can retry at the mutual-TLS
		// endpoint (an API's own requirement is known only from the code).
		if _, err := req.Bind(nil); err != nil {
			return Response{}, err
		}
	}
	familyID, err := secret.ID(u.Rand, "rtf_", 24)
	if err != nil {
		return Response{}, oauth.ServerError(err)
	}
	// The access token's jti is chosen before the code is used up and
	// recorded with it, so that a second use of the code can revoke the token
	// its first use issued (RFC 6749 §4.1.2), with or without a family.
	accessJTI, err := secret.ID(u.Rand, "", 22)
	if err != nil {
		return Response{}, oauth.ServerError(err)
	}
	code, err := u.Store.RedeemAuthCode(ctx, Digest(req.Code), familyID, accessJTI, now)
	switch {
	case errors.Is(err, storage.ErrConsumed):
		if code.FamilyID != "" {
			if rerr := u.Store.RevokeRefreshFamily(ctx, code.FamilyID, now); rerr != nil && !errors.Is(rerr, storage.ErrNotFound) {
				return Response{}, oauth.ServerError(rerr)
			}
		}
		if rerr := u.revokeCodeToken(ctx, snap, code, now); rerr != nil {
			return Response{}, oauth.ServerError(rerr)
		}
		u.Logger.Warn("authorization code used twice: its refresh tokens are revoked", "client_id", req.Client.ClientID, "user_id", code.UserID)
		u.reused(ctx, storage.AuditCodeReused, req.Client.ClientID, code.UserID, code.FamilyID, now)
		return Response{}, invalidGrant("the authorization code was already used")
	case errors.Is(err, storage.ErrNotFound):
		return Response{}, invalidGrant("the authorization code is invalid")
	case err != nil:
		return Response{}, oauth.ServerError(err)
	}
	switch {
	case code.ClientID != req.Client.ClientID:
		return Response{}, invalidGrant("the authorization code was issued to another client")
	case !now.Before(code.ExpiresAt):
		return Response{}, invalidGrant("the authorization code expired")
	case !redirectMatches(code.RedirectURI, req.RedirectURI, req.Client):
		return Response{}, invalidGrant("redirect_uri differs from the authorization request's")
	case req.CodeVerifier == "":
		return Response{}, invalidGrant("code_verifier is required (PKCE)")
	case !oauth.VerifyPKCE(code.CodeChallenge, req.CodeVerifier):
		return Response{}, invalidGrant("code_verifier does not match the code_challenge")
	}
	user, err := u.activeUser(ctx, code.UserID)
	if err != nil {
		return Response{}, err
	}
	grant := userGrant{clientID: req.Client.ClientID, user: user, scope: code.Scope, audience: code.Audience,
		authTime: code.AuthTime, nonce: code.Nonce, cnf: confirmation(req.Proof), bind: req.Bind, jti: accessJTI}
	resp, err := u.issue(ctx, snap, req.Client, grant, now)
	if err != nil {
		return Response{}, err
	}
	if slices.Contains(code.Scope, scopeOfflineAccess) && req.Client.AllowsGrant(storage.GrantRefreshToken) && offlineAllowed(snap, code.Audience) {
		f := storage.RefreshFamily{ID: familyID, ClientID: req.Client.ClientID, UserID: user.UserID, Audience: code.Audience,
			Scope: code.Scope, AuthTime: code.AuthTime, CreatedAt: now, ExpiresAt: now.Add(u.RefreshAbsolute), DPoPJKT: refreshBinding(req)}
		rt, tok, err := u.newRefresh(f, now)
		if err != nil {
			return Response{}, err
		}
		rt.AccessJTI, rt.AccessExpiresAt = accessJTI, resp.expiry(now)
		if err := u.Store.CreateRefreshFamily(ctx, f, rt); err != nil {
			return Response{}, oauth.ServerError(err)
		}
		resp.RefreshToken = tok
	}
	return resp, nil
}

// revokeCodeToken puts the access token that the first use of code issued
// on the denylist (RFC 6749 §4.1.2: a code used twice SHOULD revoke the
// tokens issued from it), until that token's expiry: the code's redemption
// plus the API's token lifetime (a minute more, for a clock step).
func (u *UserTokens) revokeCodeToken(ctx context.Context, snap *catalog.Snapshot, code storage.AuthCode, now time.Time) error {
	if code.AccessJTI == "" || code.UsedAt.IsZero() {
		return nil
	}
	lifetime := u.UserinfoLifetime
	if api, ok := snap.API(code.Audience); ok { // none for "" (/userinfo only)
		lifetime = api.TokenLifetime
	}
	exp := code.UsedAt.Add(lifetime + time.Minute)
	if !exp.After(now) {
		return nil
	}
	return u.Store.Revoke(ctx, storage.Revocation{Kind: storage.RevokeToken, Value: code.AccessJTI, Before: now, ExpiresAt: exp})
}

// redirectMatches: RFC 6749 §4.1.3: redirect_uri must be given, and be
// identical, if the authorization request gave it; when it did not, the
// token request may omit it or name a registered one.
func redirectMatches(stored, given string, c *catalog.Client) bool {
	if stored != "" {
		return given == stored
	}
	return given == "" || slices.Contains(c.RedirectURIs, given)
}

// Issue rotates a refresh token: the presented one is used up and a new
// one returned, within the family's absolute lifetime. Presenting a used
// one again revokes the family (RFC 9700 §4.14.2).
func (g RefreshToken) Issue(ctx context.Context, req *Request, snap *catalog.Snapshot, now time.Time) (Response, error) {
	u := g.u
	if req.RefreshToken == "" {
		return Response{}, oauth.InvalidRequest(`parameter "refresh_token" is required`)
	}
	id := Digest(req.RefreshToken)
	tok, fam, err := u.Store.GetRefreshToken(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Response{}, invalidGrant("the refresh token is invalid")
	case err != nil:
		return Response{}, oauth.ServerError(err)
	}
	switch {
	case fam.ClientID != req.Client.ClientID:
		return Response{}, invalidGrant("the refresh token was issued to another client")
	case !fam.RevokedAt.IsZero():
		return Response{}, invalidGrant("the refresh token was revoked")
	case !tok.UsedAt.IsZero():
		if err := u.Store.RevokeRefreshFamily(ctx, fam.ID, now); err != nil {
			return Response{}, oauth.ServerError(err)
		}
		u.Logger.Warn("refresh token reused: its family is revoked", "client_id", fam.ClientID, "user_id", fam.UserID)
		u.reused(ctx, storage.AuditRefreshReused, fam.ClientID, fam.UserID, fam.ID, now)
		return Response{}, invalidGrant("the refresh token was already used; every token of its login is revoked")
	case !now.Before(tok.ExpiresAt):
		return Response{}, invalidGrant("the refresh token expired (unused for too long)")
	case !now.Before(fam.ExpiresAt):
		return Response{}, invalidGrant("the refresh token expired (the login is too old)")
	case fam.DPoPJKT != "" && (req.Proof == nil || req.Proof.JKT != fam.DPoPJKT):
		// RFC 9449 §5: checked before the token is used up, so that a
		// thief without the key cannot spend it either.
		return Response{}, invalidGrant("the refresh token is bound to a DPoP key: send a DPoP proof signed with that key")
	}
	scope := fam.Scope
	if req.Scope != "" { // RFC 6749 §6: a narrower scope, never a wider one
		scope = nil
		for _, s := range strings.Split(req.Scope, " ") {
			if s == "" || slices.Contains(scope, s) {
				continue
			}
			if !slices.Contains(fam.Scope, s) {
				return Response{}, oauth.InvalidScope("the scope " + quote(s) + " was not granted with the refresh token")
			}
			scope = append(scope, s)
		}
	}
	user, err := u.activeUser(ctx, fam.UserID)
	if err != nil {
		return Response{}, err
	}
	// The tokens are made before the refresh token is used up: a failure
	// to make them (a policy that no longer allows them, the signer, the
	// database) leaves the presented token as it was, so that the client's
	// retry is not taken for a replay that revokes the login.
	accessJTI, err := secret.ID(u.Rand, "", 22)
	if err != nil {
		return Response{}, oauth.ServerError(err)
	}
	resp, err := u.issue(ctx, snap, req.Client, userGrant{clientID: fam.ClientID, user: user, scope: scope, audience: fam.Audience,
		authTime: fam.AuthTime, cnf: confirmation(req.Proof), bind: req.Bind, jti: accessJTI}, now)
	if err != nil {
		return Response{}, err
	}
	next, value, err := u.newRefresh(fam, now)
	if err != nil {
		return Response{}, err
	}
	next.AccessJTI, next.AccessExpiresAt = accessJTI, resp.expiry(now)
	switch _, err := u.Store.RotateRefreshToken(ctx, id, next, now); {
	case errors.Is(err, storage.ErrConsumed), errors.Is(err, storage.ErrRevoked):
		// Another request rotated it first: the tokens just made are
		// dropped, never sent.
		return Response{}, invalidGrant("the refresh token was already used; every token of its login is revoked")
	case err != nil:
		return Response{}, oauth.ServerError(err)
	}
	resp.RefreshToken = value
	return resp, nil
}

// newRefresh makes the next refresh token of family f: it dies when unused
// for RefreshIdle, and never outlives the family.
func (u *UserTokens) newRefresh(f storage.RefreshFamily, now time.Time) (storage.RefreshToken, string, error) {
	var b [32]byte
	if _, err := io.ReadFull(u.Rand, b[:]); err != nil {
		return storage.RefreshToken{}, "", oauth.ServerError(fmt.Errorf("read randomness: %w", err))
	}
	value := base64.RawURLEncoding.EncodeToString(b[:])
	exp := now.Add(u.RefreshIdle)
	if f.ExpiresAt.Before(exp) {
		exp = f.ExpiresAt
	}
	return storage.RefreshToken{ID: Digest(value), FamilyID: f.ID, CreatedAt: now, ExpiresAt: exp}, value, nil
}

// activeUser returns the user, or invalid_grant when the user is gone or
// disabled.
func (u *UserTokens) activeUser(ctx context.Context, id string) (storage.User, error) {
	user, err := u.Store.GetUser(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, invalidGrant("the user no longer exists")
	}
	if err != nil {
		return storage.User{}, oauth.ServerError(err)
	}
	if user.Disabled {
		return storage.User{}, invalidGrant("the user is disabled")
	}
	return user, nil
}

// userGrant is what a user allowed a client.
type userGrant struct {
	clientID string
	user     storage.User
	scope    []string
	audience string
	authTime time.Time
	nonce    string
	cnf      *Confirmation // the DPoP key the access token is bound to
	// bind, when set, decides cnf once the API is known (Request.Bind).
	bind func(api *storage.API) (*Confirmation, error)
	// jti, when set, is the access token's, chosen by the grant so that it
	// can be recorded with the code or refresh token (revocation); otherwise
	// issue draws one.
	jti string
}

// UserClaims are the claims of a user's access token (RFC 9068 §2.2).
type UserClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience any    `json:"aud"` // a string, or [API, userinfo] (RFC 9068 §3)
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	AuthTime int64  `json:"auth_time,omitempty"`
	ClientID string `json:"client_id"`
	AZP      string `json:"azp"`
	JTI      string `json:"jti"`
	Scope    string `json:"scope,omitempty"`
	// Permissions, in the _authz dialects, are the token's scopes of the
	// API: each one a permission the person holds (Auth0's permissions).
	Permissions *[]string `json:"permissions,omitempty"`
	// Cnf binds the token to a key (RFC 9449 §6); nil for a bearer token.
	Cnf *Confirmation `json:"cnf,omitempty"`
}

// issue mints the access token and, for openid, the ID token. The token
// carries the OpenID Connect scopes the user consented to and, of the
// API's scopes consented to, those package access allows now.
func (u *UserTokens) issue(ctx context.Context, snap *catalog.Snapshot, client *catalog.Client, g userGrant, now time.Time) (Response, error) {
	aud, alg, typ, lifetime := u.UserinfoAudience(), "RS256", TypeAccessToken, u.UserinfoLifetime
	var allowed []string
	var permissions *[]string
	var api *storage.API
	if g.audience != "" {
		var ok bool
		if api, ok = snap.API(g.audience); !ok {
			return Response{}, invalidGrant("the API " + quote(g.audience) + " no longer exists")
		}
		aud, alg, lifetime = api.Identifier, api.SigningAlg, api.TokenLifetime
		if storage.Auth0Dialect(api.TokenDialect) {
			typ = TypeJWT
		}
		var err error
		if allowed, err = u.allowed(ctx, api, client, g); err != nil {
			return Response{}, err
		}
		if storage.AuthzDialect(api.TokenDialect) {
			p := append([]string{}, allowed...)
			permissions = &p
		}
	}
	if g.bind != nil {
		cnf, err := g.bind(api)
		if err != nil {
			return Response{}, err
		}
		g.cnf = cnf
	}
	if err := requireBinding(client, api, g.cnf); err != nil {
		return Response{}, err
	}
	var scope []string
	for _, s := range g.scope {
		if slices.Contains(oidcScopes, s) || slices.Contains(allowed, s) {
			scope = append(scope, s)
		}
	}
	jti := g.jti
	if jti == "" {
		var err error
		if jti, err = secret.ID(u.Rand, "", 22); err != nil {
			return Response{}, oauth.ServerError(err)
		}
	}
	var audience any = aud
	if aud != u.UserinfoAudience() && slices.Contains(scope, scopeOpenID) {
		// The token also reads /userinfo, as Auth0's do.
		audience = []string{aud, u.UserinfoAudience()}
	}
	claims := UserClaims{Issuer: u.Issuer, Subject: g.user.UserID, Audience: audience, IssuedAt: now.Unix(), Expiry: now.Add(lifetime).Unix(),
		AuthTime: unixOrZero(g.authTime), ClientID: g.clientID, AZP: g.clientID, JTI: jti, Scope: strings.Join(scope, " "), Permissions: permissions, Cnf: g.cnf}
	payload, err := json.Marshal(claims)
	if err != nil {
		return Response{}, oauth.ServerError(err)
	}
	at, err := u.Signer.Sign(alg, typ, payload)
	if err != nil {
		return Response{}, oauth.ServerError(fmt.Errorf("sign access token: %w", err))
	}
	resp := Response{AccessToken: at, TokenType: tokenType(g.cnf), ExpiresIn: int64(lifetime / time.Second), Scope: strings.Join(scope, " "), audience: aud}
	if slices.Contains(scope, scopeOpenID) {
		if resp.IDToken, err = u.idToken(g, scope, at, now); err != nil {
			return Response{}, oauth.ServerError(err)
		}
	}
	return resp, nil
}

// expiry is the exp of the access token of r, issued at now (token
// lifetimes are whole seconds).
func (r Response) expiry(now time.Time) time.Time {
	return now.Add(time.Duration(r.ExpiresIn) * time.Second)
}

// allowed returns the API scopes of g that a person's token for api
// through client may carry now (package access), or invalid_grant when the
// API's user policy or the client's user grant no longer lets the client
// obtain the person's tokens for it: the code or refresh token is then
// good for nothing (RFC 6749 §5.2).
func (u *UserTokens) allowed(ctx context.Context, api *storage.API, client *catalog.Client, g userGrant) ([]string, error) {
	var held []string
	if api.EnforcePolicies && u.Permissions != nil {
		var err error
		if held, err = u.Permissions.UserScopes(ctx, g.user.UserID, api.Identifier); err != nil {
			return nil, oauth.ServerError(fmt.Errorf("read the permissions of user %s: %w", g.user.UserID, err))
		}
	}
	scope, err := access.UserScopes(api, client, g.scope, held)
	if err != nil {
		return nil, invalidGrant("the client may no longer obtain tokens about users for " + quote(api.Identifier) + ": " + err.Error())
	}
	return scope, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// IDClaims are the ID token's claims (OIDC Core §2, §3.1.3.6, §5.1).
type IDClaims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Audience      string `json:"aud"`
	Expiry        int64  `json:"exp"`
	IssuedAt      int64  `json:"iat"`
	AuthTime      int64  `json:"auth_time,omitempty"`
	Nonce         string `json:"nonce,omitempty"`
	AZP           string `json:"azp"`
	AtHash        string `json:"at_hash"`
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// idToken signs the ID token: aud is the client, at_hash the left half of
// the access token's hash with the ID token's algorithm's hash (OIDC Core
// §3.1.3.6), profile and email claims by scope (§5.4).
func (u *UserTokens) idToken(g userGrant, scope []string, accessToken string, now time.Time) (string, error) {
	h := hashFor(u.IDTokenAlg)
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	c := IDClaims{
		Issuer: u.Issuer, Subject: g.user.UserID, Audience: g.clientID, Expiry: now.Add(u.IDTokenLifetime).Unix(), IssuedAt: now.Unix(),
		AuthTime: unixOrZero(g.authTime), Nonce: g.nonce, AZP: g.clientID, AtHash: base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]),
	}
	c.Name, c.Email, c.EmailVerified = ProfileClaims(g.user, scope)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	tok, err := u.Signer.Sign(u.IDTokenAlg, TypeJWT, payload)
	if err != nil {
		return "", fmt.Errorf("sign id token: %w", err)
	}
	return tok, nil
}

// ProfileClaims returns the standard claims a scope releases (OIDC Core
// §5.4): name for profile, email and email_verified for email.
func ProfileClaims(user storage.User, scope []string) (name, email string, verified *bool) {
	if slices.Contains(scope, scopeProfile) {
		name = user.Name
	}
	if slices.Contains(scope, scopeEmail) {
		v := user.EmailVerified
		email, verified = user.Email, &v
	}
	return name, email, verified
}

// hashFor is the hash of at_hash for a JWS algorithm (OIDC Core §3.1.3.6;
// SHA-512 for Ed25519, as OpenID Connect's errata set it).
func hashFor(alg string) hash.Hash {
	if alg == "EdDSA" {
		return sha512.New()
	}
	return sha256.New()
}

// publicClient returns the client of a request that sends only a client_id
// (token_endpoint_auth_method none, RFC 7591 §2; OAuth 2.1 §2.4): allowed
// for a public client registered so, for the user-login grants only. A
// public client asking for client_credentials, and a confidential client
// without its secret, go on to fail authentication.
func publicClient(snap *catalog.Snapshot, req *oauth.TokenRequest) (*catalog.Client, bool) {
	if req.AuthMethod != oauth.AuthNone || req.ClientID == "" || req.ClientSecret != "" {
		return nil, false
	}
	if req.GrantType != storage.GrantAuthorizationCode && req.GrantType != storage.GrantRefreshToken {
		return nil, false
	}
	c, ok := snap.Client(req.ClientID)
	if !ok || c.Disabled || c.TokenEndpointAuthMethod != storage.AuthMethodNone {
		return nil, false
	}
	return c, true
}

// refreshBinding is the DPoP key a new refresh token family is bound to:
// a public client's proof key (RFC 9449 §5); none for a confidential
// client, whose refresh tokens its own authentication already binds.
func refreshBinding(req *Request) string {
	if req.Proof == nil || req.Client.TokenEndpointAuthMethod != storage.AuthMethodNone {
		return ""
	}
	return req.Proof.JKT
}

// offlineAllowed reports whether a login for the audience may get a
// refresh token: always for /userinfo alone, for an API when it allows
// offline access (Auth0's allow_offline_access).
func offlineAllowed(snap *catalog.Snapshot, audience string) bool {
	if audience == "" {
		return true
	}
	api, ok := snap.API(audience)
	return ok && api.AllowOfflineAccess
}
