package mgmt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/access"
	"github.com/gatehouse-dev/gatehouse/internal/admin"
	"github.com/gatehouse-dev/gatehouse/internal/catalog"
	"github.com/gatehouse-dev/gatehouse/internal/storage"
	"github.com/gatehouse-dev/gatehouse/verify"
)

// KeySource publishes the server's public signing keys as a JWKS (package
// keys).
type KeySource interface {
	JWKS() []byte
}

// Catalog is the in-memory view that says whether a token's client still
// exists and is enabled, and that a write waits for (SyncNow) before it is
// answered, so that the next request to this instance sees it.
type Catalog interface {
	Snapshot() *catalog.Snapshot
	SyncNow(ctx context.Context) error
}

var _ Catalog = (*catalog.Catalog)(nil)

// authenticator checks management API tokens in process: verify's checks
// (signature against the server's own keys, typ, iss, aud, exp) over a
// JWKS served from memory, so no request leaves the process.
type authenticator struct {
	verifier *verify.Verifier
	catalog  Catalog
	people   People
	denylist Denylist
	realm    string
}

// Denylist says whether an access token was revoked (revocation.Denylist).
type Denylist interface {
	Revoked(jti, clientID, subject string, iat int64) bool
}

// People is what the authenticator reads of a person whose token calls the
// API: the user, and the permissions the user holds for the management
// API (storage.Users and storage.Authz).
type People interface {
	GetUser(ctx context.Context, userID string) (storage.User, error)
	UserScopes(ctx context.Context, userID, audience string) ([]string, error)
}

// caller is who a request acts as: a client with its own token, or a
// person (UserID) through a client.
type caller struct {
	ClientID string
	UserID   string
}

// context names the caller in ctx for the audit trail.
func (c caller) context(ctx context.Context) context.Context {
	if c.UserID != "" {
		return admin.WithPerson(ctx, c.UserID, c.ClientID)
	}
	return admin.WithActor(ctx, c.ClientID)
}

// jwksURL is the address the verifier asks for the keys; the transport
// answers it from memory.
const jwksURL = "http://127.0.0.1/.well-known/jwks.json"

func newAuthenticator(issuer string, keys KeySource, cat Catalog, people People, denylist Denylist, now func() time.Time) (*authenticator, error) {
	aud := Audience(issuer)
	v, err := verify.New(verify.Config{
		Issuer:   issuer,
		Audience: aud,
		JWKSURL:  jwksURL,
		Types:    []string{verify.TypeAccessToken, verify.TypeJWT},
		// The key set is read from memory: keep it fresh to the second, so
		// a key rotated in by another instance is known at once.
		JWKSMinAge:      time.Second,
		JWKSMaxAge:      time.Second,
		RefetchInterval: time.Second,
		CacheSize:       1024,
		HTTPClient:      &http.Client{Transport: memoryJWKS{keys}},
		Now:             now,
	})
	if err != nil {
		return nil, fmt.Errorf("management API verifier: %w", err)
	}
	return &authenticator{verifier: v, catalog: cat, people: people, denylist: denylist, realm: aud}, nil
}

// memoryJWKS answers every request with the key set, as the server's
// /.well-known/jwks.json would.
type memoryJWKS struct{ keys KeySource }

func (m memoryJWKS) RoundTrip(r *http.Request) (*http.Response, error) {
	body := m.keys.JWKS()
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=1"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

// authorize admits a request whose Bearer token (RFC 6750 §2.1) is valid,
// belongs to a client that still exists and is enabled, and carries scope.
// A client's own token needs the client's grant for the management API to
// still give scope; a person's token is checked by authorizePerson. It
// returns who calls. Checking the in-memory catalog
// makes disabling a client or narrowing its grant take effect on
// management tokens already issued within the catalog's sync interval,
// as on the token endpoint, instead of at their expiry. Refusals follow RFC 6750 §3: no token
// is a 401 with a bare challenge, a malformed header 400 invalid_request,
// a bad token 401 invalid_token, a missing scope 403 insufficient_scope.
func (a *authenticator) authorize(ctx context.Context, r *http.Request, scope string) (caller, *Error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return caller{}, a.refuse(http.StatusUnauthorized, "", "Missing authentication: send an access token for "+a.realm+" as Authorization: Bearer TOKEN", "")
	}
	if len(values) > 1 {
		return caller{}, a.refuse(http.StatusBadRequest, "invalid_request", "more than one Authorization header", "")
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	token = strings.TrimLeft(token, " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer"):
		return caller{}, a.refuse(http.StatusUnauthorized, "", "the Authorization header must carry a Bearer token", "")
	case token == "":
		return caller{}, a.refuse(http.StatusBadRequest, "invalid_request", "the Bearer token is empty", "")
	case strings.ContainsAny(token, " \t,"):
		return caller{}, a.refuse(http.StatusBadRequest, "invalid_request", "the Authorization header holds more than a Bearer token", "")
	}
	return a.check(ctx, token, scope)
}

// alsoNeeds refuses, 403 insufficient_scope, a request whose token does
// not carry scope beside its route's, for what (a part of the body that
// needs more than the route's scope).
func (h *Handler) alsoNeeds(r *http.Request, scope, what string) *Error {
	if _, err := h.auth.authorize(r.Context(), r, scope); err != nil {
		if err.Status == http.StatusForbidden {
			err.Message = what + ": " + err.Message
		}
		return err
	}
	return nil
}

// check admits a bearer token that is valid, belongs to a client that
// still exists and is enabled, and carries scope (see authorize).
func (a *authenticator) check(ctx context.Context, token, scope string) (caller, *Error) {
	claims, err := a.verifier.Verify(ctx, token)
	if err != nil {
		if errors.Is(err, verify.ErrKeysUnavailable) { // the keys are in memory: not expected
			return caller{}, &Error{Status: http.StatusServiceUnavailable, Code: CodeServerError, Message: "the signing keys are unavailable", Cause: err}
		}
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, reasonOf(err), "")
	}
	if a.denylist != nil && a.denylist.Revoked(claims.ID, claims.ClientID, claims.Subject, claims.IssuedAt.Unix()) {
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the access token was revoked", "")
	}
	snap := a.catalog.Snapshot()
	c, ok := snap.Client(claims.ClientID)
	if !ok || c.Disabled {
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the client of the access token is disabled or deleted", "")
	}
	switch claims.SubjectType() {
	case verify.SubjectClient:
	case verify.SubjectUser:
		return a.authorizePerson(ctx, snap, c, claims, scope)
	default:
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the access token names neither its client nor a user as its subject", "")
	}
	g, ok := c.Grant(a.realm)
	if !ok {
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the client of the access token no longer has a grant for the management API", "")
	}
	if !claims.HasScope(scope) || !slices.Contains(g.Scope, scope) {
		return caller{}, a.insufficient(scope)
	}
	return caller{ClientID: claims.ClientID}, nil
}

// authorizePerson admits a person's token (RFC 9700 §2.3): the management
// API's user policy must let the token's client obtain people's tokens
// with scope (package access), the person must still exist, be enabled
// and hold scope as a permission for the management API, directly or
// through a role, and the token must carry it. The caller is the person
// acting through the client.
func (a *authenticator) authorizePerson(ctx context.Context, snap *catalog.Snapshot, c *catalog.Client, claims *verify.Claims, scope string) (caller, *Error) {
	api, ok := snap.API(a.realm)
	if !ok {
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the management API accepts no tokens about users", "")
	}
	ceiling, err := access.UserCeiling(api, c)
	if err != nil {
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the management API accepts no tokens about users through this client: "+err.Error(), "")
	}
	if !claims.HasScope(scope) || !slices.Contains(ceiling, scope) {
		return caller{}, a.insufficient(scope)
	}
	u, err := a.people.GetUser(ctx, claims.Subject)
	switch {
	case errors.Is(err, storage.ErrNotFound) || err == nil && u.Disabled:
		return caller{}, a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the user of the access token is disabled or deleted", "")
	case err != nil:
		return caller{}, &Error{Status: http.StatusServiceUnavailable, Code: CodeServerError, Message: "the user could not be read", Cause: err}
	}
	held, err := a.people.UserScopes(ctx, u.UserID, a.realm)
	if err != nil {
		return caller{}, &Error{Status: http.StatusServiceUnavailable, Code: CodeServerError, Message: "the user's permissions could not be read", Cause: err}
	}
	if !slices.Contains(held, scope) {
		return caller{}, a.refuse(http.StatusForbidden, CodeInsufficientScope, "Insufficient permissions, expected: "+scope, scope)
	}
	return caller{ClientID: claims.ClientID, UserID: u.UserID}, nil
}

func (a *authenticator) insufficient(scope string) *Error {
	return a.refuse(http.StatusForbidden, CodeInsufficientScope, "Insufficient scope, expected: "+scope, scope)
}

// reasonOf is the sentence verify's refusal says, without its context.
func reasonOf(err error) string {
	for _, r := range []error{verify.ErrTooLarge, verify.ErrAlgorithm, verify.ErrType, verify.ErrUnknownKey,
		verify.ErrSignature, verify.ErrExpired, verify.ErrNotYetValid, verify.ErrIssuedInFuture,
		verify.ErrIssuer, verify.ErrAudience} {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	return verify.ErrMalformed.Error()
}

// refuse builds an RFC 6750 §3 refusal: the challenge (with the error code
// and, for insufficient_scope, the scope needed) and Auth0's body.
func (a *authenticator) refuse(status int, code, msg, scope string) *Error {
	ch := "Bearer realm=" + strconv.Quote(a.realm)
	if code != "" {
		ch += ", error=" + strconv.Quote(code) + ", error_description=" + strconv.Quote(challengeSafe(msg))
	}
	if scope != "" {
		ch += ", scope=" + strconv.Quote(scope)
	}
	return &Error{Status: status, Code: code, Message: msg, Challenge: ch}
}

// challengeSafe keeps the characters RFC 6750 §3 allows in
// error_description: printable ASCII but '"' and '\'.
func challengeSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
