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

	"github.com/gatehouse-dev/gatehouse/internal/catalog"
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
	realm    string
}

// jwksURL is the address the verifier asks for the keys; the transport
// answers it from memory.
const jwksURL = "http://127.0.0.1/.well-known/jwks.json"

func newAuthenticator(issuer string, keys KeySource, cat Catalog, now func() time.Time) (*authenticator, error) {
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
	return &authenticator{verifier: v, catalog: cat, realm: aud}, nil
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
// belongs to a client that still exists, is enabled and still holds its
// grant for the management API, and carries scope, which that grant still
// gives; it returns the token's client ID. Checking the in-memory catalog
// makes disabling a client or narrowing its grant take effect on
// management tokens already issued within the catalog's sync interval,
// as on the token endpoint, instead of at their expiry. Refusals follow RFC 6750 §3: no token
// is a 401 with a bare challenge, a malformed header 400 invalid_request,
// a bad token 401 invalid_token, a missing scope 403 insufficient_scope.
func (a *authenticator) authorize(ctx context.Context, r *http.Request, scope string) (string, *Error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", a.refuse(http.StatusUnauthorized, "", "Missing authentication: send an access token for "+a.realm+" as Authorization: Bearer TOKEN", "")
	}
	if len(values) > 1 {
		return "", a.refuse(http.StatusBadRequest, "invalid_request", "more than one Authorization header", "")
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	token = strings.TrimLeft(token, " ")
	switch {
	case !strings.EqualFold(scheme, "Bearer"):
		return "", a.refuse(http.StatusUnauthorized, "", "the Authorization header must carry a Bearer token", "")
	case token == "":
		return "", a.refuse(http.StatusBadRequest, "invalid_request", "the Bearer token is empty", "")
	case strings.ContainsAny(token, " \t,"):
		return "", a.refuse(http.StatusBadRequest, "invalid_request", "the Authorization header holds more than a Bearer token", "")
	}
	claims, err := a.verifier.Verify(ctx, token)
	if err != nil {
		if errors.Is(err, verify.ErrKeysUnavailable) { // the keys are in memory: not expected
			return "", &Error{Status: http.StatusServiceUnavailable, Code: CodeServerError, Message: "the signing keys are unavailable", Cause: err}
		}
		return "", a.refuse(http.StatusUnauthorized, CodeInvalidToken, reasonOf(err), "")
	}
	c, ok := a.catalog.Snapshot().Client(claims.ClientID)
	if !ok || c.Disabled {
		return "", a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the client of the access token is disabled or deleted", "")
	}
	g, ok := c.Grant(a.realm)
	if !ok {
		return "", a.refuse(http.StatusUnauthorized, CodeInvalidToken, "the client of the access token no longer has a grant for the management API", "")
	}
	if !claims.HasScope(scope) || !slices.Contains(g.Scope, scope) {
		return "", a.refuse(http.StatusForbidden, CodeInsufficientScope, "Insufficient scope, expected: "+scope, scope)
	}
	return claims.ClientID, nil
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
